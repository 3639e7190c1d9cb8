//! Clients, API tokens and operators.

use super::SqliteStore;
use crate::model::*;
use crate::rows::{client_from, operator_from, to_json, token_from};
use crate::setup_lock::SetupLock;
use crate::StoreError;

/// Nothing to wait for: the embedded database belongs to one process (several share a
/// PostgreSQL database instead).
pub(super) async fn setup_lock(_store: &SqliteStore) -> Result<SetupLock, StoreError> {
    Ok(SetupLock { held: None })
}

pub(super) async fn create_client(store: &SqliteStore, c: &ClientRecord) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO clients (id, name, owner_email, created_at) VALUES (?, ?, ?, ?)")
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.owner_email)
        .bind(c.created_at)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn get_client(
    store: &SqliteStore,
    id: &str,
) -> Result<Option<ClientRecord>, StoreError> {
    sqlx::query("SELECT * FROM clients WHERE id = ?")
        .bind(id)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(client_from)
        .transpose()
}

pub(super) async fn list_clients(store: &SqliteStore) -> Result<Vec<ClientRecord>, StoreError> {
    sqlx::query("SELECT * FROM clients ORDER BY created_at, id")
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(client_from)
        .collect()
}

pub(super) async fn create_token(
    store: &SqliteStore,
    t: &TokenRecord,
    secret_hash: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tokens (id, secret_hash, role, client_id, operator_id, label, scopes, live, expires_at, revoked_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&t.id)
    .bind(secret_hash)
    .bind(t.role.as_str())
    .bind(&t.client_id)
    .bind(&t.operator_id)
    .bind(&t.label)
    .bind(to_json(&t.scopes)?)
    .bind(t.live)
    .bind(t.expires_at)
    .bind(t.revoked_at)
    .bind(t.created_at)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn find_token(
    store: &SqliteStore,
    secret_hash: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    sqlx::query("SELECT * FROM tokens WHERE secret_hash = ?")
        .bind(secret_hash)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(token_from)
        .transpose()
}

pub(super) async fn revoke_token(
    store: &SqliteStore,
    id: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?")
        .bind(at)
        .bind(id)
        .execute(&store.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn list_tokens(store: &SqliteStore) -> Result<Vec<TokenRecord>, StoreError> {
    sqlx::query("SELECT * FROM tokens ORDER BY created_at, id")
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(token_from)
        .collect()
}

pub(super) async fn create_operator(
    store: &SqliteStore,
    o: &OperatorRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO operators (id, provider_id, name, email, disabled, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&o.id)
    .bind(&o.provider_id)
    .bind(&o.name)
    .bind(&o.email)
    .bind(o.disabled)
    .bind(o.created_at)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn get_operator(
    store: &SqliteStore,
    id: &str,
) -> Result<Option<OperatorRecord>, StoreError> {
    sqlx::query("SELECT * FROM operators WHERE id = ?")
        .bind(id)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(operator_from)
        .transpose()
}

pub(super) async fn list_operators(store: &SqliteStore) -> Result<Vec<OperatorRecord>, StoreError> {
    sqlx::query("SELECT * FROM operators ORDER BY created_at, id")
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(operator_from)
        .collect()
}
