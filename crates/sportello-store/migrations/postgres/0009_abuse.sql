-- Limits on what our own features can be made to do (issue 15, "abuse through our own
-- features"): a keyed audit chain, replays counted per delivery, idempotent top-ups and
-- adjustments, expiring drafts.

-- The audit chain is keyed (HMAC-SHA256 under the installation secret `audit`, wrapped by the
-- master key) from this entry on; the entries before it keep their plain SHA-256 links. Fixed
-- here, at the upgrade, and never moved by the server: the first keyed entry's MAC covers the
-- hash of the last plain one, so the plain prefix cannot be rewritten either.
ALTER TABLE audit_head ADD COLUMN keyed_from BIGINT NOT NULL DEFAULT 1;
UPDATE audit_head SET keyed_from = seq + 1;

-- Replays of a delivery (`POST /consegne/{id}/ripeti`, `POST /admin/deliveries/{id}/replay`),
-- counted in the database so every process sees the same count; rows older than the window
-- are deleted as new ones come.
CREATE TABLE delivery_replays (
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    at          BIGINT NOT NULL
);
CREATE INDEX delivery_replays_delivery ON delivery_replays (delivery_id, at);

-- An admin's `Idempotency-Key` on a top-up or an adjustment: the transaction it posted and the
-- balance right after it, so a retry gets the first answer and posts nothing.
CREATE TABLE ledger_idempotency (
    key            TEXT PRIMARY KEY,
    fingerprint    TEXT NOT NULL,
    transaction_id BIGINT NOT NULL REFERENCES ledger_transactions(id),
    balance_after  BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);

-- Drafts lose their personal data `draft_retention_days` after their last change: the
-- retention pass finds them through this index.
CREATE INDEX requests_drafts_to_purge ON requests (updated_at)
    WHERE status = 'draft' AND purged_at IS NULL;
