-- Events and their deliveries (the outbox). An event is written in the same transaction as
-- the history entry it comes from; its deliveries (callback, webhook, e-mail) in the same
-- transaction too, so a change is never committed without its notifications, nor the reverse.

-- Append-only: what happened to a request, in the order it happened.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    request_id TEXT NOT NULL REFERENCES requests(id),
    client_id  TEXT NOT NULL REFERENCES clients(id),
    type       TEXT NOT NULL,
    -- The request's state when it happened.
    status     TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX events_request ON events (request_id, seq);

-- One row per event and destination. The target itself (URL, address) is not copied here: it
-- is personal-ish data sealed in the request (or the client's settings) and read at send time.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events(id),
    request_id      TEXT NOT NULL REFERENCES requests(id),
    client_id       TEXT NOT NULL REFERENCES clients(id),
    kind            TEXT NOT NULL CHECK (kind IN ('callback', 'webhook', 'email')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    -- Retries stop once an attempt would fall past window_start + the configured maximum age;
    -- a replay opens a new window.
    window_start    INTEGER NOT NULL,
    last_error      TEXT,
    last_status     INTEGER,
    last_attempt_at INTEGER,
    delivered_at    INTEGER,
    -- The lease: a worker owns the row until lease_until. SQLite claims with one
    -- UPDATE … RETURNING; PostgreSQL will use SELECT … FOR UPDATE SKIP LOCKED on the same columns.
    lease_owner     TEXT,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_request ON deliveries (request_id, created_at);
CREATE INDEX deliveries_client ON deliveries (client_id, created_at);

-- A client's default webhook endpoint. Its signing secrets live in `secrets` (wrapped by the
-- master key) as `webhook:<client>` and, during a rotation, `webhook_previous:<client>`.
CREATE TABLE client_webhooks (
    client_id      TEXT PRIMARY KEY REFERENCES clients(id),
    url            TEXT,
    -- Until when the previous secret still signs (two signatures during a rotation).
    previous_until INTEGER
);
