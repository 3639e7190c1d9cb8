-- Documents beyond the form (a lease, bank balances, the signed mandate) are request files of
-- a third kind, `supporting`, named by their codice in `campo`.
ALTER TABLE request_files DROP CONSTRAINT request_files_kind_check;
ALTER TABLE request_files ADD CONSTRAINT request_files_kind_check
    CHECK (kind IN ('input', 'result', 'supporting'));
