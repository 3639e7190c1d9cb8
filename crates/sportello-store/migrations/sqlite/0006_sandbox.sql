-- Test (sandbox) requests are purged a day after creation, whatever their state: the retention
-- pass finds them through this index without scanning live requests.
CREATE INDEX requests_tests_to_purge ON requests (created_at) WHERE live = 0 AND purged_at IS NULL;
