-- The lock-out counts attempts, not just failures: an attempt is recorded (reserved) before its
-- password is hashed, so parallel guesses see each other, and deleted when it succeeds. Each
-- counts against the e-mail typed and against the caller's network (`source_hash`, NULL when
-- unknown); a success stops the e-mail's earlier failures counting against it by clearing
-- their `email_hash`, so they still count against their sources. Reservations of one key are
-- serialised by a transaction-scoped advisory lock (see `postgres/backoffice.rs`).
CREATE TABLE login_attempts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email_hash  TEXT,
    source_hash TEXT,
    at          BIGINT NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email_hash, at);
CREATE INDEX login_attempts_source ON login_attempts (source_hash, at);

INSERT INTO login_attempts (email_hash, at) SELECT email_hash, at FROM login_failures;
DROP TABLE login_failures;

-- A TOTP code is accepted once (RFC 6238 §5.2): the last time step accepted per account.
ALTER TABLE totp_keys ADD COLUMN last_step BIGINT;
