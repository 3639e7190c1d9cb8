-- SLA: the due time fixed at submission on the provider's working calendar, the instant its
-- clock stopped to wait for the client (null while it runs), and when the escalation job found
-- it overdue (set once).
ALTER TABLE requests ADD COLUMN due_at BIGINT;
ALTER TABLE requests ADD COLUMN sla_paused_at BIGINT;
ALTER TABLE requests ADD COLUMN overdue_at BIGINT;

-- The escalation job's scan: open requests with a running clock, not yet marked.
CREATE INDEX requests_sla_due ON requests (due_at)
    WHERE due_at IS NOT NULL AND overdue_at IS NULL AND closed_at IS NULL;
