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
