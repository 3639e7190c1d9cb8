-- Each wallet's balance, kept by a trigger as ledger entries are appended: reading a balance
-- (twice per paid request creation) costs one row instead of a sum over the client's whole
-- history. Only wallets: a running total of a shared account (revenue, VAT) would be one row
-- every transaction writes. `ledger verify` checks these against the entries.
CREATE TABLE wallet_balances (
    account TEXT PRIMARY KEY,
    balance INTEGER NOT NULL
);

INSERT INTO wallet_balances (account, balance)
    SELECT account, SUM(amount) FROM ledger_entries
    WHERE substr(account, 1, 7) = 'wallet:' GROUP BY account;

CREATE TRIGGER ledger_entries_wallet_balance AFTER INSERT ON ledger_entries
WHEN substr(NEW.account, 1, 7) = 'wallet:'
BEGIN
    INSERT INTO wallet_balances (account, balance) VALUES (NEW.account, NEW.amount)
    ON CONFLICT (account) DO UPDATE SET balance = balance + excluded.balance;
END;
