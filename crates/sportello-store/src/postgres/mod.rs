//! The PostgreSQL store, for several server processes sharing one database. Every method is one
//! transaction at READ COMMITTED; what must not interleave is serialised by row locks (the
//! audit chain's head row, a client's row before its balance is read, deliveries claimed with
//! `FOR UPDATE SKIP LOCKED`), and every change of a request is an optimistic `version` check.
//!
//! This file holds [`PgStore`], connecting, and the [`Store`] implementation, whose methods
//! delegate to the topic modules below (the same split as the SQLite store's).

mod accounts;
mod audit;
mod backoffice;
mod ceiling;
mod files;
mod gauges;
mod history;
mod keys;
mod ledger;
mod outbox;
mod providers;
mod requests;
mod retention;
pub mod scratch;
mod secrets;
mod sla;
mod subjects;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
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

/// Connections per process when the configuration does not say.
pub const DEFAULT_POOL_SIZE: u32 = 10;

pub struct PgStore {
    pool: PgPool,
    keyring: Arc<Keyring>,
    /// The key of the keyed hash used for lookups by codice fiscale.
    lookup: DataKey,
    /// The key of the audit chain's links.
    chain: ChainKey,
}

impl PgStore {
    /// Connects to a `postgres://` (or `postgresql://`) URL with at most `pool_size` connections
    /// and applies the migrations. Processes starting together are safe: the migrations run
    /// under an advisory lock, and the installation secrets are created once.
    pub async fn open_url(
        url: &str,
        pool_size: u32,
        keyring: Arc<Keyring>,
    ) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(pool_size.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
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
        let chain = ChainKey::new(load_or_create_secret(&pool, &keyring, "audit").await?);
        Ok(PgStore {
            pool,
            keyring,
            lookup,
            chain,
        })
    }
}

crate::delegate::delegate_store!(PgStore);
