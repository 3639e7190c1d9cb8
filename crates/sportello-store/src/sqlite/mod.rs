//! The embedded SQLite store (WAL mode, full fsync on commit: an acknowledged write survives
//! `kill -9` and power loss).
//!
//! This file holds [`SqliteStore`], opening and connecting; the queries are in `sql/`, shared
//! with PostgreSQL, and `dialect` says where SQLite differs.

#[macro_use]
mod dialect;
mod ceiling;
// Compiled once per backend on purpose: the queries are written once (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::audit::ChainKey;
use crate::crypto::{DataKey, Keyring};
use crate::StoreError;

type Db = sqlx::Sqlite;
type This = SqliteStore;

/// The settings every connection of the store uses; the commit ceiling of `sportello bench`
/// measures with the same ones, so its ratio compares like with like.
pub(crate) fn durable(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        // Deleted content is overwritten, so a purged key cannot be read back from free pages.
        .pragma("secure_delete", "ON")
}

pub struct SqliteStore {
    pool: SqlitePool,
    keyring: Arc<Keyring>,
    /// The key of the keyed hash used for lookups by codice fiscale.
    lookup: DataKey,
    /// The key of the audit chain's links.
    chain: Arc<ChainKey>,
    /// The one writer of request creations, batching concurrent ones into one commit.
    group: sql::group_commit::GroupCommit,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies the migrations.
    pub async fn open(path: &Path, keyring: Arc<Keyring>) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)?;
            }
        }
        Self::connect(durable(SqliteConnectOptions::new().filename(path)), keyring).await
    }

    /// Opens a database given as a `sqlite:` URL.
    pub async fn open_url(url: &str, keyring: Arc<Keyring>) -> Result<SqliteStore, StoreError> {
        Self::connect(durable(SqliteConnectOptions::from_str(url)?), keyring).await
    }

    async fn connect(
        options: SqliteConnectOptions,
        keyring: Arc<Keyring>,
    ) -> Result<SqliteStore, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let (lookup, chain) = sql::open_secrets(&pool, &keyring).await?;
        let chain = Arc::new(chain);
        Ok(SqliteStore {
            group: sql::group_commit::GroupCommit::spawn(pool.clone(), chain.clone()),
            pool,
            keyring,
            lookup,
            chain,
        })
    }
}
