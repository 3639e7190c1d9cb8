//! Where PostgreSQL's SQL differs from SQLite's (see `sql/mod.rs`): the fragments, then the
//! hooks. Several processes share the database at READ COMMITTED, so what must not interleave
//! takes a row lock or an advisory lock.

use sqlx::PgPool;

use super::PgStore;
use crate::setup_lock::{SetupLock, ADVISORY_KEY};
use crate::StoreError;

type Tx<'c> = sqlx::Transaction<'c, sqlx::Postgres>;

/// The column that orders rows inserted within the same second: an identity column, as
/// PostgreSQL has no `rowid`.
macro_rules! row_order {
    () => {
        "seq"
    };
}

/// The larger of two values.
macro_rules! greatest {
    () => {
        "GREATEST"
    };
}

/// Rows another worker is claiming are skipped, not waited for.
macro_rules! skip_locked {
    () => {
        " FOR UPDATE SKIP LOCKED"
    };
}

/// The row's lock, until the commit.
macro_rules! for_update {
    () => {
        " FOR UPDATE"
    };
}

/// An integer member of a JSON text column.
macro_rules! json_int {
    ($column:literal, $member:literal) => {
        concat!("(", $column, "::jsonb ->> '", $member, "')::BIGINT")
    };
}

/// Waits for the set-up lock on a connection of its own, taken out of the pool: the lock lives
/// as long as that session, while the set-up itself runs on the pool's connections.
pub(super) async fn setup_lock(store: &PgStore) -> Result<SetupLock, StoreError> {
    let mut conn = store.pool.acquire().await?.detach();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(ADVISORY_KEY)
        .execute(&mut conn)
        .await?;
    Ok(SetupLock { held: Some(conn) })
}

/// An ordinary transaction: what it counts is serialised by `serialize` or a row lock.
pub(super) async fn begin_write(pool: &PgPool) -> Result<Tx<'static>, StoreError> {
    Ok(pool.begin().await?)
}

/// Takes the transaction-scoped advisory lock on `key` in the lock class `class`: under READ
/// COMMITTED, two transactions counting rows of the same key would otherwise both see the
/// count before either inserts.
pub(super) async fn serialize(tx: &mut Tx<'_>, class: i32, key: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(class)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Locks the client's row until the commit. NO KEY UPDATE, because the transaction's inserts
/// already hold the row's KEY SHARE lock (foreign keys), as may a racing one: FOR UPDATE would
/// deadlock the two.
pub(super) async fn lock_client(tx: &mut Tx<'_>, client_id: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT id FROM clients WHERE id = $1 FOR NO KEY UPDATE")
        .bind(client_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Locks the rows of `clients` (sorted, distinct) until the commit, in their order, so two
/// transactions locking several never wait for each other in a circle. Returns how many
/// statements it ran. The balances are read by a later statement: under READ COMMITTED a
/// statement that waited for a lock still sees its joined rows as they were when it began.
pub(super) async fn lock_clients(tx: &mut Tx<'_>, clients: &[&str]) -> Result<u64, StoreError> {
    let mut statements = 0;
    for run in super::sql::runs(clients) {
        let mut q =
            sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT id FROM clients WHERE id IN (");
        let mut list = q.separated(", ");
        for id in run {
            list.push_bind(*id);
        }
        q.push(") ORDER BY id FOR NO KEY UPDATE");
        q.build().execute(&mut **tx).await?;
        statements += 1;
    }
    Ok(statements)
}

/// Writer lanes of the group commit: clients are spread over them (a client always on the same
/// one), so batches of different clients commit in parallel while each holds one connection.
pub(super) const WRITER_LANES: usize = 4;

/// The deleted key's old row version stays in the table's pages until VACUUM reclaims them
/// (autovacuum does, in time); the WAL keeps it until its segments are recycled. Nothing to
/// force here.
pub(super) async fn after_key_purge(_pool: &PgPool) -> Result<(), StoreError> {
    Ok(())
}
