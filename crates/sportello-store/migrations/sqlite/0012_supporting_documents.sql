-- Documents beyond the form (a lease, bank balances, the signed mandate) are request files of
-- a third kind, `supporting`, named by their codice in `campo`. SQLite cannot change a CHECK
-- constraint in place, so the table is rebuilt with the same columns and index.
CREATE TABLE request_files_new (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests(id),
    kind        TEXT NOT NULL CHECK (kind IN ('input', 'result', 'supporting')),
    campo       TEXT,
    name        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    blob_key    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
INSERT INTO request_files_new
    SELECT id, request_id, kind, campo, name, mime, size, sha256, blob_key, created_at
    FROM request_files;
DROP TABLE request_files;
ALTER TABLE request_files_new RENAME TO request_files;
CREATE INDEX request_files_request ON request_files (request_id, kind, created_at);
