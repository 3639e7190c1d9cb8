//! The embedded SQLite store (WAL mode, full fsync on commit: an acknowledged write survives
//! `kill -9` and power loss).
//!
//! This file holds [`SqliteStore`], opening and connecting, and the [`Store`] implementation,
//! whose methods delegate to the topic modules below.

mod accounts;
mod audit;
mod backoffice;
mod ceiling;
mod files;
mod gauges;
mod group_commit;
mod history;
mod keys;
mod ledger;
mod outbox;
mod providers;
mod requests;
mod retention;
mod secrets;
mod sla;
mod subjects;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::audit::{AuditEntry, AuditEvent, ChainKey};
use crate::crypto::{DataKey, Keyring};
use crate::model::*;
use crate::outbox::*;
use crate::{AdminRecord, NoteRecord, SessionRecord};
use crate::{Store, StoreError};
use secrets::load_or_create_secret;

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
    group: group_commit::GroupCommit,
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
        // A wrong master key must stop the start, not turn every later read into an error.
        let key_ids: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT key_id FROM request_keys UNION SELECT key_id FROM secrets \
             UNION SELECT key_id FROM totp_keys",
        )
        .fetch_all(&pool)
        .await?;
        if let Some(unknown) = key_ids.iter().find(|id| !keyring.knows(id)) {
            return Err(StoreError::Crypto(crate::crypto::CryptoError::UnknownKey(
                unknown.clone(),
            )));
        }
        let lookup = load_or_create_secret(&pool, &keyring, "lookup").await?;
        let chain = Arc::new(ChainKey::new(
            load_or_create_secret(&pool, &keyring, "audit").await?,
        ));
        Ok(SqliteStore {
            group: group_commit::GroupCommit::spawn(pool.clone(), chain.clone()),
            pool,
            keyring,
            lookup,
            chain,
        })
    }
}

crate::delegate::delegate_store!(SqliteStore);
