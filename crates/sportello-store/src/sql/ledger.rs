//! The ledger: posting a transaction inside the caller's transaction (so a request and
//! its debit commit together), balances, the statement's reads, the metered-call counters, and
//! the check that the books balance.
//!
//! The tables refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL): triggers in
//! `0005_billing.sql`.

use async_trait::async_trait;
use sqlx::Row;
use std::collections::BTreeMap;

use super::audit::append_audit;
use super::{dialect, insert_rows, unique_violation, Counter, This, Tx};
use crate::audit::AuditEvent;
use crate::ledger::{wallet, Check, Entry, Funds, Keyed, PostKey, Posted, Transaction};
use crate::model::ProcessedRequest;
use crate::rows::{processed_from, transaction_from};
use crate::StoreError;

#[async_trait]
impl crate::Ledger for This {
    async fn post(
        &self,
        t: &Transaction,
        funds: Funds,
        audit: Option<&AuditEvent>,
    ) -> Result<Posted, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id = post_in(&mut tx, t, funds).await?;
        if let Some(a) = audit {
            append_audit(&mut tx, &self.chain, a).await?;
        }
        let balance_after = balance_in(&mut tx, &t.client_id).await?;
        tx.commit().await?;
        Ok(Posted { id, balance_after })
    }

    /// A top-up or an adjustment under an `Idempotency-Key`: the key's row is written in the same
    /// transaction as the posting, so a retry after any crash finds both or neither. Two first
    /// attempts racing: the loser's insert of the key fails on the primary key (on PostgreSQL it
    /// waits for the winner's commit first), its transaction is rolled back whole, and it answers
    /// from the winner's row.
    async fn post_keyed(
        &self,
        t: &Transaction,
        audit: &AuditEvent,
        key: &PostKey,
    ) -> Result<Keyed, StoreError> {
        if let Some(found) = keyed(self, key).await? {
            return Ok(found);
        }
        let mut tx = self.pool.begin().await?;
        let id = post_in(&mut tx, t, Funds::NotRequired).await?;
        append_audit(&mut tx, &self.chain, audit).await?;
        let balance_after = balance_in(&mut tx, &t.client_id).await?;
        let inserted = sqlx::query(
            "INSERT INTO ledger_idempotency (key, fingerprint, transaction_id, balance_after,
             created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.key)
        .bind(&key.fingerprint)
        .bind(id)
        .bind(balance_after)
        .bind(t.at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                Ok(Keyed::Posted { id, balance_after })
            }
            Err(e) if unique_violation(&e) => {
                tx.rollback().await?;
                keyed(self, key)
                    .await?
                    .ok_or_else(|| StoreError::Conflict("idempotency key already used".into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn balance(&self, client_id: &str, before: Option<i64>) -> Result<i64, StoreError> {
        let Some(before) = before else {
            return Ok(sqlx::query_scalar(CURRENT_BALANCE)
                .bind(wallet(client_id))
                .fetch_one(&self.pool)
                .await?);
        };
        Ok(sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM ledger_entries e
             JOIN ledger_transactions t ON t.id = e.transaction_id
             WHERE e.account = $1 AND t.at < $2",
        )
        .bind(wallet(client_id))
        .bind(before)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Transactions with their legs, oldest first: of one client (or all) with `from <= at < to`.
    async fn transactions(
        &self,
        client_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<Transaction>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM ledger_transactions
             WHERE (CAST($1 AS TEXT) IS NULL OR client_id = $1) AND at >= $2 AND at < $3
             ORDER BY at, id",
        )
        .bind(client_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<Transaction> = rows
            .iter()
            .map(transaction_from)
            .collect::<Result<_, _>>()?;
        if out.is_empty() {
            return Ok(out);
        }
        let mut legs: BTreeMap<i64, Vec<Entry>> = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT e.transaction_id, e.account, e.amount FROM ledger_entries e
             JOIN ledger_transactions t ON t.id = e.transaction_id
             WHERE (CAST($1 AS TEXT) IS NULL OR t.client_id = $1) AND t.at >= $2 AND t.at < $3
             ORDER BY e.id",
        )
        .bind(client_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            legs.entry(row.try_get("transaction_id")?)
                .or_default()
                .push(Entry {
                    account: row.try_get("account")?,
                    amount: row.try_get("amount")?,
                });
        }
        for t in &mut out {
            t.entries = legs.remove(&t.id).unwrap_or_default();
        }
        Ok(out)
    }

    /// Adds metered calls to their counters, then bills every counter of a day before `today`: one
    /// fees transaction per client and day, the counter removed, all in one transaction.
    async fn record_calls(
        &self,
        calls: &[(String, String, u64)],
        today: &str,
        at: i64,
    ) -> Result<Vec<Transaction>, StoreError> {
        let mut tx = self.pool.begin().await?;
        for (client, day, n) in calls {
            sqlx::query(
                "INSERT INTO call_counters (client_id, day, calls) VALUES ($1, $2, $3)
                 ON CONFLICT (client_id, day) DO UPDATE SET calls = call_counters.calls +
                 excluded.calls",
            )
            .bind(client)
            .bind(day)
            .bind(i64::try_from(*n).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        // Calls counted just before midnight can reach the database after their day was billed (by
        // this node's previous flush or another node's): they go on today's line, not on a second
        // line for a closed day. Several late days of one client are summed first: one statement
        // may not update the same counter twice.
        const LATE: &str = "day < $1 AND EXISTS (SELECT 1 FROM ledger_transactions t
                            WHERE t.kind = 'fees' AND t.client_id = call_counters.client_id AND t.day =
                            call_counters.day)";
        sqlx::query(&format!(
            "INSERT INTO call_counters (client_id, day, calls)
             SELECT client_id, $1, CAST(SUM(calls) AS BIGINT) FROM call_counters WHERE {LATE}
             GROUP BY client_id
             ON CONFLICT (client_id, day) DO UPDATE SET calls = call_counters.calls + excluded.calls"
        ))
        .bind(today)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!("DELETE FROM call_counters WHERE {LATE}"))
            .bind(today)
            .execute(&mut *tx)
            .await?;
        let due =
            sqlx::query("DELETE FROM call_counters WHERE day < $1 RETURNING client_id, day, calls")
                .bind(today)
                .fetch_all(&mut *tx)
                .await?;
        let mut billed = Vec::new();
        for row in due {
            let client: String = row.try_get("client_id")?;
            let day: String = row.try_get("day")?;
            let n: i64 = row.try_get("calls")?;
            let mut t = Transaction::fees(&client, &day, u64::try_from(n).unwrap_or(0), at);
            t.id = post_in(&mut tx, &t, Funds::NotRequired).await?;
            billed.push(t);
        }
        tx.commit().await?;
        Ok(billed)
    }

    /// Calls counted but not yet billed, per day.
    async fn unbilled_calls(&self, client_id: &str) -> Result<Vec<(String, u64)>, StoreError> {
        sqlx::query("SELECT day, calls FROM call_counters WHERE client_id = $1 ORDER BY day")
            .bind(client_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let calls: i64 = row.try_get("calls")?;
                Ok((row.try_get("day")?, u64::try_from(calls).unwrap_or(0)))
            })
            .collect()
    }

    /// The books balance: every transaction's legs sum to zero, so does the whole ledger; every
    /// debit and refund belongs to a live request of its client, a refund follows a debit of the
    /// same amount, and no submitted live request lacks its debit.
    async fn check_ledger(&self) -> Result<Check, StoreError> {
        let mut c = Check {
            transactions: sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM ledger_transactions")
                .fetch_one(&self.pool)
                .await?
                .try_into()
                .unwrap_or(0),
            entries: sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM ledger_entries")
                .fetch_one(&self.pool)
                .await?
                .try_into()
                .unwrap_or(0),
            total: sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM ledger_entries",
            )
            .fetch_one(&self.pool)
            .await?,
            problems: Vec::new(),
        };
        let unbalanced = sqlx::query(
        "SELECT t.id, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS s FROM ledger_transactions t
         LEFT JOIN ledger_entries e ON e.transaction_id = t.id
         GROUP BY t.id HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2",
    )
    .fetch_all(&self.pool)
    .await?;
        for row in unbalanced {
            let id: i64 = row.try_get("id")?;
            let s: i64 = row.try_get("s")?;
            c.problems.push(format!(
                "transaction {id}: legs sum to {s} cents or are missing"
            ));
        }
        let wrong_owner = sqlx::query_scalar::<_, i64>(
            "SELECT t.id FROM ledger_transactions t LEFT JOIN requests r ON r.id = t.request_id
             WHERE t.kind IN ('debit', 'refund')
             AND (r.id IS NULL OR r.client_id != t.client_id OR NOT r.live)",
        )
        .fetch_all(&self.pool)
        .await?;
        for id in wrong_owner {
            c.problems.push(format!(
                "transaction {id}: not the debit or refund of a live request of its client"
            ));
        }
        let refunds = sqlx::query(
            "SELECT f.request_id,
             (SELECT CAST(SUM(ABS(amount)) AS BIGINT) FROM ledger_entries WHERE
             transaction_id = f.id) AS f_abs,
             (SELECT CAST(SUM(ABS(amount)) AS BIGINT) FROM ledger_entries WHERE
             transaction_id = d.id) AS d_abs,
             d.id AS debit
             FROM ledger_transactions f
             LEFT JOIN ledger_transactions d ON d.request_id = f.request_id AND d.kind = 'debit'
             WHERE f.kind = 'refund'",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in refunds {
            let request: String = row.try_get("request_id")?;
            let debit: Option<i64> = row.try_get("debit")?;
            let f_abs: Option<i64> = row.try_get("f_abs")?;
            let d_abs: Option<i64> = row.try_get("d_abs")?;
            if debit.is_none() || f_abs != d_abs {
                c.problems.push(format!(
                    "request {request}: refunded without a debit of the same amount"
                ));
            }
        }
        let undebited = sqlx::query_scalar::<_, String>(concat!(
            "SELECT r.id FROM requests r
             WHERE r.live AND r.price IS NOT NULL AND ",
            json_int!("r.timestamp_stati", "in_erogazione"),
            " IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM ledger_transactions t
             WHERE t.request_id = r.id AND t.kind = 'debit')"
        ))
        .fetch_all(&self.pool)
        .await?;
        for id in undebited {
            c.problems
                .push(format!("request {id}: submitted live without a debit"));
        }
        let drifted = sqlx::query_scalar::<_, String>(
            "SELECT COALESCE(w.account, b.account) FROM
             (SELECT account, CAST(SUM(amount) AS BIGINT) AS s FROM ledger_entries
             WHERE substr(account, 1, 7) = 'wallet:' GROUP BY account) w
             FULL OUTER JOIN wallet_balances b ON b.account = w.account
             WHERE w.s IS NULL OR b.balance IS NULL OR w.s != b.balance",
        )
        .fetch_all(&self.pool)
        .await?;
        for account in drifted {
            c.problems.push(format!(
                "{account}: the kept balance differs from the sum of its entries"
            ));
        }
        Ok(c)
    }

    /// Live requests of `provider_id` closed as processed with `from <= closed_at < to`.
    async fn processed(
        &self,
        provider_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ProcessedRequest>, StoreError> {
        sqlx::query(
            "SELECT id, client_id, hash_visura, closed_at, price, prezzo_totale FROM requests
             WHERE provider_id = $1 AND status = 'visura_evasa' AND live
             AND closed_at >= $2 AND closed_at < $3 ORDER BY closed_at, id",
        )
        .bind(provider_id)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(processed_from)
        .collect()
    }
}

async fn balance_in(tx: &mut Tx<'_>, client_id: &str) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(CURRENT_BALANCE)
        .bind(wallet(client_id))
        .fetch_one(&mut **tx)
        .await?)
}

/// The running balance the `ledger_entries_wallet_balance` trigger keeps (0007); a wallet with
/// no entries yet has none.
const CURRENT_BALANCE: &str =
    "SELECT COALESCE((SELECT balance FROM wallet_balances WHERE account = $1), 0)";

/// Writes `t` inside `tx`. When `funds` is `Required`, the client is locked before its balance
/// is read (`dialect::lock_client`), so the balance cannot change before the commit: of two
/// debits racing for the same money, the second one waits for the first to commit, then sees it.
pub(super) async fn post_in(
    tx: &mut Tx<'_>,
    t: &Transaction,
    funds: Funds,
) -> Result<i64, StoreError> {
    let sum: i64 = t.entries.iter().map(|e| e.amount).sum();
    if sum != 0 {
        return Err(StoreError::Corrupt(format!(
            "an unbalanced {} transaction ({sum} cents) was refused",
            t.kind.as_db()
        )));
    }
    let inserted = sqlx::query(
        "INSERT INTO ledger_transactions (at, kind, client_id, request_id, day, calls,
         actor, reason, lines)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(t.at)
    .bind(t.kind.as_db())
    .bind(&t.client_id)
    .bind(&t.request_id)
    .bind(&t.day)
    .bind(t.calls)
    .bind(&t.actor)
    .bind(&t.reason)
    .bind(serde_json::to_string(&t.lines)?)
    .fetch_one(&mut **tx)
    .await;
    let id: i64 = match inserted {
        Ok(row) => row.try_get("id")?,
        Err(e) if unique_violation(&e) => {
            return Err(StoreError::Conflict(format!(
                "{} already recorded",
                t.kind.as_db()
            )))
        }
        Err(e) => return Err(e.into()),
    };
    if funds == Funds::Required {
        let effect = t.wallet_effect();
        if effect < 0 {
            // Under the client's lock: the value is current until the commit.
            dialect::lock_client(tx, &t.client_id).await?;
            let balance = balance_in(tx, &t.client_id).await?;
            if balance + effect < 0 {
                return Err(StoreError::InsufficientCredit {
                    balance,
                    required: -effect,
                });
            }
        }
    }
    for e in &t.entries {
        sqlx::query(
            "INSERT INTO ledger_entries (transaction_id, account, amount) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(&e.account)
        .bind(e.amount)
        .execute(&mut **tx)
        .await?;
    }
    Ok(id)
}

/// What an earlier use of `key` posted, if any.
async fn keyed(store: &This, key: &PostKey) -> Result<Option<Keyed>, StoreError> {
    let Some(row) = sqlx::query(
        "SELECT fingerprint, transaction_id, balance_after FROM ledger_idempotency WHERE key = $1",
    )
    .bind(&key.key)
    .fetch_optional(&store.pool)
    .await?
    else {
        return Ok(None);
    };
    let fingerprint: String = row.try_get("fingerprint")?;
    if fingerprint != key.fingerprint {
        return Ok(Some(Keyed::KeyReused));
    }
    let id: i64 = row.try_get("transaction_id")?;
    let balance_after: i64 = row.try_get("balance_after")?;
    let row = sqlx::query("SELECT * FROM ledger_transactions WHERE id = $1")
        .bind(id)
        .fetch_one(&store.pool)
        .await?;
    let mut transaction = transaction_from(&row)?;
    for leg in sqlx::query(
        "SELECT account, amount FROM ledger_entries WHERE transaction_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&store.pool)
    .await?
    {
        transaction.entries.push(Entry {
            account: leg.try_get("account")?,
            amount: leg.try_get("amount")?,
        });
    }
    Ok(Some(Keyed::Replayed {
        transaction: Box::new(transaction),
        balance_after,
    }))
}

/// Writes `debits` (each of a request; balanced and funded, checked by the caller under the
/// clients' locks) in two statements, one for the transactions and one for all their legs.
pub(super) async fn insert_debits(
    tx: &mut Tx<'_>,
    counter: &Counter,
    debits: &[&Transaction],
) -> Result<(), StoreError> {
    let inserted = insert_rows(
        tx,
        counter,
        "INSERT INTO ledger_transactions (at, kind, client_id, request_id, day, calls,
         actor, reason, lines)",
        "RETURNING id, request_id",
        debits,
        |q, t| {
            Ok(q.bind(t.at)
                .bind(t.kind.as_db())
                .bind(&t.client_id)
                .bind(&t.request_id)
                .bind(&t.day)
                .bind(t.calls)
                .bind(&t.actor)
                .bind(&t.reason)
                .bind(serde_json::to_string(&t.lines)?))
        },
    )
    .await
    .map_err(|e| match e {
        StoreError::Database(e) if unique_violation(&e) => {
            StoreError::Conflict("debit already recorded".into())
        }
        e => e,
    })?;
    // The order of returned rows is not promised: each is matched by its request.
    let mut ids = std::collections::HashMap::with_capacity(inserted.len());
    for row in &inserted {
        let request: Option<String> = row.try_get("request_id")?;
        ids.insert(request, row.try_get::<i64, _>("id")?);
    }
    let mut legs = Vec::new();
    for t in debits {
        let id = *ids
            .get(&t.request_id)
            .ok_or_else(|| StoreError::Corrupt("a debit's transaction was not returned".into()))?;
        legs.extend(t.entries.iter().map(|e| (id, e)));
    }
    insert_rows(
        tx,
        counter,
        "INSERT INTO ledger_entries (transaction_id, account, amount)",
        "",
        &legs,
        |q, (id, e)| Ok(q.bind(*id).bind(&e.account).bind(e.amount)),
    )
    .await?;
    Ok(())
}
