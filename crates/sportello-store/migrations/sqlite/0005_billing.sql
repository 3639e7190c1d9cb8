-- Money: what each request costs, the ledger (append-only, double-entry), metered API calls.
-- Amounts are integer cents.

-- The request's price lines as priced at creation (JSON); NULL on requests older than billing.
ALTER TABLE requests ADD COLUMN price TEXT;

-- One business event each: a request's debit or refund, a top-up, an adjustment, a day's fees.
CREATE TABLE ledger_transactions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('debit', 'refund', 'topup', 'adjustment', 'fees')),
    client_id  TEXT NOT NULL REFERENCES clients(id),
    request_id TEXT REFERENCES requests(id),
    -- The UTC day (YYYY-MM-DD) whose calls a 'fees' transaction bills, and how many.
    day        TEXT,
    calls      INTEGER,
    -- Who: client:<id>/token:<id>, operator:<id>, admin:<who>, system:<job>.
    actor      TEXT NOT NULL,
    -- Why, for top-ups and adjustments (never personal data).
    reason     TEXT,
    -- The invoice lines it bills (JSON), for statements.
    lines      TEXT NOT NULL
);
-- A request is debited once and refunded at most once; a client's day of calls is billed once.
CREATE UNIQUE INDEX ledger_once_per_request ON ledger_transactions (request_id, kind)
    WHERE request_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_fees_once_per_day ON ledger_transactions (client_id, day)
    WHERE kind = 'fees';
CREATE INDEX ledger_transactions_client ON ledger_transactions (client_id, at, id);

-- The legs of each transaction; they sum to zero. Accounts: wallet:<client_id> (what the
-- platform owes the client: its balance), revenue:services, revenue:fees, vat:payable (VAT
-- owed to the State), funding:topups (money received), funding:adjustments.
CREATE TABLE ledger_entries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    transaction_id INTEGER NOT NULL REFERENCES ledger_transactions(id),
    account        TEXT NOT NULL,
    amount         INTEGER NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (account, transaction_id);
CREATE INDEX ledger_entries_transaction ON ledger_entries (transaction_id);

-- Append-only: a correction is a new transaction, never an edit.
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;

-- Metered calls not yet billed: counters flushed from memory, billed once their day is over.
CREATE TABLE call_counters (
    client_id TEXT NOT NULL REFERENCES clients(id),
    day       TEXT NOT NULL,
    calls     INTEGER NOT NULL,
    PRIMARY KEY (client_id, day)
);
