//! Where SQLite's SQL differs from PostgreSQL's (see `sql/mod.rs`): the fragments, then the
//! hooks. The database belongs to one process and has one writer at a time, so the locks
//! PostgreSQL needs are, here, the write lock a transaction takes with its first write.

use sqlx::SqlitePool;

use super::SqliteStore;
use crate::setup_lock::SetupLock;
use crate::StoreError;

type Tx<'c> = sqlx::Transaction<'c, sqlx::Sqlite>;

/// The column that orders rows inserted within the same second: the implicit `rowid`.
macro_rules! row_order {
    () => {
        "rowid"
    };
}

/// The larger of two values (`MAX` with two arguments is a scalar function in SQLite).
macro_rules! greatest {
    () => {
        "MAX"
    };
}

/// Nothing to add: one writer at a time, and the claim is one statement.
macro_rules! skip_locked {
    () => {
        ""
    };
}

/// Nothing to add: the transaction took the write lock when it began (`begin_write`).
macro_rules! for_update {
    () => {
        ""
    };
}

/// An integer member of a JSON text column.
macro_rules! json_int {
    ($column:literal, $member:literal) => {
        concat!("json_extract(", $column, ", '$.", $member, "')")
    };
}

/// Nothing to wait for: the embedded database belongs to one process (several share a
/// PostgreSQL database instead).
pub(super) async fn setup_lock(_store: &SqliteStore) -> Result<SetupLock, StoreError> {
    Ok(SetupLock { held: None })
}

/// A transaction that counts, then writes: `BEGIN IMMEDIATE` holds the database's write lock
/// from its first statement, so no other connection counts between our count and our write (a
/// deferred transaction would also fail to upgrade its read once another writer committed).
pub(super) async fn begin_write(pool: &SqlitePool) -> Result<Tx<'static>, StoreError> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Nothing to take: the transaction holds the write lock (`begin_write`).
pub(super) async fn serialize(_tx: &mut Tx<'_>, _class: i32, _key: &str) -> Result<(), StoreError> {
    Ok(())
}

/// Nothing to take: the transaction has written, so it holds the write lock until its commit.
pub(super) async fn lock_client(_tx: &mut Tx<'_>, _client_id: &str) -> Result<(), StoreError> {
    Ok(())
}

/// Nothing to take: the group commit's transaction began with the write lock (`begin_write`).
pub(super) async fn lock_clients(_tx: &mut Tx<'_>, _clients: &[&str]) -> Result<u64, StoreError> {
    Ok(0)
}

/// One writer: SQLite has one write lock, so a second lane would only wait for it.
pub(super) const WRITER_LANES: usize = 1;

/// Old page images of a purged key stay in the WAL until a checkpoint copies the pages back and
/// truncates it (`secure_delete` already overwrites the freed pages of the database file).
pub(super) async fn after_key_purge(pool: &SqlitePool) -> Result<(), StoreError> {
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(pool)
        .await?;
    Ok(())
}
