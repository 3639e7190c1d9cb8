-- The person's own page (issue 18). A request keeps its current invitation (sealed JSON: it
-- holds the person's address, the pending code's keyed hash, the device's session hash), the
-- SHA-256 of the link's secret to find it by (the secret itself is never stored), and what the
-- person agreed to (`consensi`, plain JSON: nothing personal, kept after the purge).
ALTER TABLE requests ADD COLUMN invito TEXT;
ALTER TABLE requests ADD COLUMN invito_hash TEXT;
ALTER TABLE requests ADD COLUMN consensi TEXT;
CREATE UNIQUE INDEX requests_invito_hash ON requests (invito_hash) WHERE invito_hash IS NOT NULL;

-- Whether a provider counts an on-screen acceptance (firma elettronica semplice) as the signed
-- mandate.
ALTER TABLE providers ADD COLUMN mandato_fes_accettato INTEGER NOT NULL DEFAULT 0;

-- E-mails to the invited person are deliveries of a fourth kind, `persona`. SQLite cannot
-- change a CHECK constraint in place, so the table is rebuilt with the same columns and
-- indexes. `delivery_replays` refers to it by name: the foreign keys are checked at the commit,
-- when the new table carries the name and every id again.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE deliveries_new (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events(id),
    request_id      TEXT NOT NULL REFERENCES requests(id),
    client_id       TEXT NOT NULL REFERENCES clients(id),
    kind            TEXT NOT NULL CHECK (kind IN ('callback', 'webhook', 'email', 'persona')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    window_start    INTEGER NOT NULL,
    last_error      TEXT,
    last_status     INTEGER,
    last_attempt_at INTEGER,
    delivered_at    INTEGER,
    lease_owner     TEXT,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL
);
INSERT INTO deliveries_new
    SELECT id, event_id, request_id, client_id, kind, status, attempts, next_attempt_at,
        window_start, last_error, last_status, last_attempt_at, delivered_at, lease_owner,
        lease_until, created_at
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_request ON deliveries (request_id, created_at);
CREATE INDEX deliveries_client ON deliveries (client_id, created_at);
