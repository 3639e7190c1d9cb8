//! The PostgreSQL store, for several server processes sharing one database. Every method is one
//! transaction at READ COMMITTED; what must not interleave is serialised by row locks (the
//! audit chain's head row, a client's row before its balance is read, deliveries claimed with
//! `FOR UPDATE SKIP LOCKED`), and every change of a request is an optimistic `version` check.
//!
//! This file holds [`PgStore`] and connecting; the queries are in `sql/`, shared with SQLite,
//! and `dialect` says where PostgreSQL differs.

#[macro_use]
mod dialect;
mod ceiling;
pub mod scratch;
// Compiled once per backend on purpose: the queries are written once (see `sql/mod.rs`).
#[allow(clippy::duplicate_mod)]
#[path = "../sql/mod.rs"]
mod sql;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::audit::ChainKey;
use crate::crypto::{DataKey, Keyring};
use crate::StoreError;

type Db = sqlx::Postgres;
type This = PgStore;

/// Connections per process when the configuration does not say.
pub const DEFAULT_POOL_SIZE: u32 = 10;

pub struct PgStore {
    pool: PgPool,
    keyring: Arc<Keyring>,
    /// The key of the keyed hash used for lookups by codice fiscale.
    lookup: DataKey,
    /// The key of the audit chain's links.
    chain: Arc<ChainKey>,
    /// The writers of request creations, batching a client's concurrent ones into one commit.
    group: sql::group_commit::GroupCommit,
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
        let (lookup, chain) = sql::open_secrets(&pool, &keyring).await?;
        let chain = Arc::new(chain);
        Ok(PgStore {
            group: sql::group_commit::GroupCommit::spawn(pool.clone(), chain.clone()),
            pool,
            keyring,
            lookup,
            chain,
        })
    }
}
