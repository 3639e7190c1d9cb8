-- The practice's file (issue 17 §6): when the request's provider first downloaded its
-- fascicolo (NULL: never). With `retention_requires_export`, the retention pass keeps a live
-- processed request's personal data until this is set.
ALTER TABLE requests ADD COLUMN fascicolo_at BIGINT;

-- The SLA dashboard's list of requests waiting for their export, and the retention pass's
-- filter, read processed live requests not yet exported.
CREATE INDEX requests_awaiting_fascicolo ON requests (closed_at)
    WHERE status = 'visura_evasa' AND fascicolo_at IS NULL AND purged_at IS NULL;
