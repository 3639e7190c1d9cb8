-- Sportello schema, SQLite flavour. Timestamps are Unix seconds (UTC).

CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    owner_email TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE providers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Which provider works which service (canonical hash_visura).
CREATE TABLE provider_services (
    provider_id TEXT NOT NULL REFERENCES providers(id),
    hash_visura TEXT NOT NULL,
    PRIMARY KEY (provider_id, hash_visura)
);

CREATE TABLE operators (
    id          TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES providers(id),
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    disabled    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);

-- Bearer tokens: only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL CHECK (role IN ('client', 'operator', 'admin')),
    client_id   TEXT REFERENCES clients(id),
    operator_id TEXT REFERENCES operators(id),
    label       TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    live        INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL
);

CREATE TABLE requests (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL REFERENCES clients(id),
    hash_visura           TEXT NOT NULL,
    hash_requested        TEXT NOT NULL,
    status                TEXT NOT NULL,
    live                  INTEGER NOT NULL,
    provider_id           TEXT REFERENCES providers(id),
    operator_id           TEXT REFERENCES operators(id),
    fields                TEXT NOT NULL,
    opzioni               TEXT NOT NULL,
    prezzo_visura         TEXT NOT NULL,
    prezzo_totale         TEXT NOT NULL,
    email_target          TEXT,
    callback_data         TEXT,
    esito_codice          TEXT NOT NULL,
    esito_info            TEXT NOT NULL,
    motivo_annullamento   TEXT,
    integrazione          TEXT,
    timestamp_stati       TEXT NOT NULL,
    document              TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    -- When it reached a final state; retention runs from here.
    closed_at             INTEGER,
    -- When its personal data was destroyed.
    purged_at             INTEGER,
    version               INTEGER NOT NULL
);
CREATE INDEX requests_retention ON requests (hash_visura, closed_at) WHERE purged_at IS NULL;
CREATE INDEX requests_client ON requests (client_id, created_at DESC, id DESC);
CREATE INDEX requests_queue ON requests (status, provider_id, created_at);

CREATE TABLE request_files (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES requests(id),
    kind        TEXT NOT NULL CHECK (kind IN ('input', 'result')),
    campo       TEXT,
    name        TEXT NOT NULL,
    mime        TEXT NOT NULL,
    size        INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    blob_key    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX request_files_request ON request_files (request_id, kind, created_at);

-- Who moved a request where, and when.
CREATE TABLE request_history (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL REFERENCES requests(id),
    at         INTEGER NOT NULL,
    status     TEXT NOT NULL,
    action     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    note       TEXT
);
CREATE INDEX request_history_request ON request_history (request_id, seq);

-- POST /richiesta with an Idempotency-Key: the first answer is replayed.
CREATE TABLE idempotency_keys (
    client_id     TEXT NOT NULL REFERENCES clients(id),
    key           TEXT NOT NULL,
    body_sha256   TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    response      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (client_id, key)
);

-- Each request's data key, wrapped by a master key (see crypto.rs). Deleting the row destroys
-- the request's personal data and files, wherever copies of them lie.
CREATE TABLE request_keys (
    request_id TEXT PRIMARY KEY REFERENCES requests(id),
    key_id     TEXT NOT NULL,
    wrapped    BLOB NOT NULL
);
CREATE INDEX request_keys_key ON request_keys (key_id);

-- The audit trail: append-only and hash-chained. Each entry's hash covers its content and the
-- previous entry's hash, so changing or removing an entry breaks every link after it.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    request_id TEXT,
    detail     TEXT NOT NULL,
    source     TEXT,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_log_request ON audit_log (request_id, seq);

-- The head of the chain; updating it first serialises writers (one row, one lock).
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Installation secrets (the key of the keyed hash for lookups), wrapped by the master key.
CREATE TABLE secrets (
    name    TEXT PRIMARY KEY,
    key_id  TEXT NOT NULL,
    wrapped BLOB NOT NULL
);

-- Who a request is about, as an HMAC of the codice fiscale: "all requests of this person" for
-- erasure requests, without the plain code ever being stored.
CREATE TABLE request_subjects (
    request_id TEXT NOT NULL REFERENCES requests(id),
    subject    TEXT NOT NULL,
    PRIMARY KEY (request_id, subject)
);
CREATE INDEX request_subjects_subject ON request_subjects (subject);
