-- Each wallet's balance, kept by a trigger as ledger entries are appended: reading a balance
-- (twice per paid request creation) costs one row instead of a sum over the client's whole
-- history. Only wallets: a running total of a shared account (revenue, VAT) would be one row
-- every transaction locks. `ledger verify` checks these against the entries.
CREATE TABLE wallet_balances (
    account TEXT PRIMARY KEY,
    balance BIGINT NOT NULL
);

INSERT INTO wallet_balances (account, balance)
    SELECT account, SUM(amount) FROM ledger_entries
    WHERE left(account, 7) = 'wallet:' GROUP BY account;

CREATE FUNCTION ledger_wallet_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO wallet_balances (account, balance) VALUES (NEW.account, NEW.amount)
    ON CONFLICT (account) DO UPDATE SET balance = wallet_balances.balance + EXCLUDED.balance;
    RETURN NULL;
END;
$$;

CREATE TRIGGER ledger_entries_wallet_balance AFTER INSERT ON ledger_entries
    FOR EACH ROW WHEN (left(NEW.account, 7) = 'wallet:')
    EXECUTE FUNCTION ledger_wallet_balance();
