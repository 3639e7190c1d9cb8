-- The back office: people who log in with a password (admins and operators), their sessions,
-- failed logins (for the lock-out) and the notes operators leave on a request.

CREATE TABLE admins (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    email      TEXT NOT NULL UNIQUE,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

-- One password per account (`admin:<id>` or `operator:<id>`): the argon2id PHC string only.
CREATE TABLE passwords (
    account    TEXT PRIMARY KEY,
    phc        TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Only the SHA-256 of the session id is kept; the cookie holds the id itself.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    csrf         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account);

-- Failed logins by the SHA-256 of the normalised e-mail (the address itself is not kept here).
CREATE TABLE login_failures (
    email_hash TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email_hash, at);

-- Notes between operators; the body is sealed with the request's data key.
CREATE TABLE request_notes (
    id         TEXT PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES requests(id),
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- Insertion order: the tie-breaker of listings within one second.
    seq        BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX request_notes_request ON request_notes (request_id, created_at);

-- The optional TOTP second factor: a random key wrapped by the master key (bound to the
-- account), from which the shared secret is derived; `enabled_at` is NULL while being set up.
CREATE TABLE totp_keys (
    account    TEXT PRIMARY KEY,
    key_id     TEXT NOT NULL,
    wrapped    BYTEA NOT NULL,
    enabled_at BIGINT
);
