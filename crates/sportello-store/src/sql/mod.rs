//! The store's queries, written once for both backends.
//!
//! This directory is compiled twice: `sqlite/mod.rs` and `postgres/mod.rs` each include it as
//! their `sql` module, after naming their database (`Db`), their store (`This`) and their
//! dialect. The dialect is the short list of places where the two SQLs really differ: SQL
//! fragments as macros (`row_order!`, `greatest!`, `skip_locked!`, `for_update!`, `json_int!`),
//! usable inside `concat!` so every query stays a `&'static str`, and a few hooks for what is
//! not one fragment (the set-up lock, how a writing transaction starts, row and advisory locks,
//! how many writer lanes the group commit of creations has, the checkpoint after a purge).
//! Everything else is the SQL
//! both accept: `$N` placeholders, `ON CONFLICT`, `CAST`, `COUNT(*) FILTER (WHERE …)`.
//!
//! Each topic module implements the topic trait of the same name (`crate::Accounts`, …) for
//! `This`; `Store` is their sum, so no method is forwarded by hand.

mod accounts;
mod audit;
mod backoffice;
pub(super) mod creation;
mod files;
pub(super) mod group_commit;
mod history;
mod keys;
mod ledger;
mod metrics;
mod outbox;
mod providers;
mod requests;
mod retention;
mod sla;
mod subjects;

use super::{dialect, Db, This};
use crate::audit::ChainKey;
use crate::crypto::{DataKey, Keyring};
use crate::rows::wrapped_from;
use crate::StoreError;

type Tx<'c> = sqlx::Transaction<'c, Db>;
type Pool = sqlx::Pool<Db>;

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// A statement with its binds, as `sqlx::query` makes it.
type Statement<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// The most rows one multi-row statement carries (a power of two).
const MAX_ROWS: usize = 256;

/// `rows` cut into runs: up to eight rows in one, more in runs whose lengths are powers of two,
/// longest first (78 rows: 64, 8, 6). Each length is one statement text, so a connection's
/// statement cache holds at most thirteen texts per multi-row statement, whatever the batch
/// sizes: an uncached text costs PostgreSQL a second round trip (parse, then execute).
pub(super) fn runs<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let len = if rest.len() <= 8 {
            rest.len()
        } else {
            (1usize << (usize::BITS - 1 - rest.len().leading_zeros())).min(MAX_ROWS)
        };
        let (run, tail) = rest.split_at(len);
        rest = tail;
        Some(run)
    })
}

/// `($1, $2), ($3, $4)`: the placeholders of `rows` rows of `columns` values each.
fn placeholders(columns: usize, rows: usize) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(row * columns + column + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Counts the statements a writer runs, for `sportello bench`'s cost per creation.
#[derive(Default)]
pub(crate) struct Counter(std::sync::atomic::AtomicU64);

impl Counter {
    fn add(&self, n: u64) {
        self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// `{head} VALUES (…), (…) {tail}` over `rows`, one statement per run (see [`runs`]), each row
/// bound by `bind` in the order of `head`'s columns; the rows the statements return
/// (`RETURNING`), in order.
async fn insert_rows<T>(
    tx: &mut Tx<'_>,
    counter: &Counter,
    head: &str,
    tail: &str,
    rows: &[T],
    bind: impl for<'q> Fn(Statement<'q>, &'q T) -> Result<Statement<'q>, StoreError>,
) -> Result<Vec<<Db as sqlx::Database>::Row>, StoreError> {
    // The columns are those between the first parentheses of `head`.
    let columns = head
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(list, _)| list.split(',').count())
        .unwrap_or(0);
    let mut out = Vec::new();
    for run in runs(rows) {
        let sql = format!("{head} VALUES {} {tail}", placeholders(columns, run.len()));
        let mut q = sqlx::query(&sql);
        for row in run {
            q = bind(q, row)?;
        }
        counter.add(1);
        out.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(out)
}

/// What a store needs once its migrations ran: a master key that opens every wrapped key (a
/// wrong one must stop the start, not turn every later read into an error), then the
/// installation's lookup key and audit chain key.
pub(super) async fn open_secrets(
    pool: &Pool,
    keyring: &Keyring,
) -> Result<(DataKey, ChainKey), StoreError> {
    let key_ids: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT key_id FROM request_keys UNION SELECT key_id FROM secrets \
         UNION SELECT key_id FROM totp_keys",
    )
    .fetch_all(pool)
    .await?;
    if let Some(unknown) = key_ids.iter().find(|id| !keyring.knows(id)) {
        return Err(StoreError::Crypto(crate::crypto::CryptoError::UnknownKey(
            unknown.clone(),
        )));
    }
    let lookup = load_or_create_secret(pool, keyring, "lookup").await?;
    let chain = ChainKey::new(load_or_create_secret(pool, keyring, "audit").await?);
    Ok((lookup, chain))
}

/// An installation secret, created on first use and kept wrapped by the master key, so it
/// rotates with the data keys and is never in the clear on disk.
async fn load_or_create_secret(
    pool: &Pool,
    keyring: &Keyring,
    name: &str,
) -> Result<DataKey, StoreError> {
    let context = format!("secret:{name}");
    let fresh = DataKey::generate();
    let wrapped = keyring.wrap(&fresh, &context);
    // Two processes starting at once: the first insert wins and both read it back.
    sqlx::query(
        "INSERT INTO secrets (name, key_id, wrapped) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(&wrapped.key_id)
    .bind(&wrapped.bytes)
    .execute(pool)
    .await?;
    let row = sqlx::query("SELECT key_id, wrapped FROM secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await?;
    Ok(keyring.unwrap(&wrapped_from(&row)?, &context)?)
}

#[cfg(test)]
mod tests {
    use super::{placeholders, runs};

    #[test]
    fn rows_go_in_few_runs_of_few_lengths() {
        let lengths = |n: usize| runs(&vec![0; n]).map(<[_]>::len).collect::<Vec<_>>();
        assert_eq!(lengths(0), Vec::<usize>::new());
        assert_eq!(lengths(3), [3]);
        assert_eq!(lengths(8), [8]);
        assert_eq!(lengths(78), [64, 8, 6]);
        assert_eq!(lengths(600), [256, 256, 64, 16, 8]);
    }

    #[test]
    fn placeholders_number_every_value_of_every_row() {
        assert_eq!(placeholders(2, 2), "($1, $2), ($3, $4)");
        assert_eq!(placeholders(1, 1), "($1)");
    }
}
