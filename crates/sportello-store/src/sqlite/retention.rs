//! Retention: finding closed requests (and forgotten drafts) past their time and purging their
//! personal data.

use super::audit::append_audit;
use super::SqliteStore;
use crate::audit::AuditEvent;
use crate::model::*;
use crate::StoreError;

pub(super) async fn expired(
    store: &SqliteStore,
    hash_visura: &str,
    closed_before: i64,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM requests WHERE hash_visura = ? AND closed_at < ? AND purged_at IS NULL
         ORDER BY closed_at LIMIT ?",
    )
    .bind(hash_visura)
    .bind(closed_before)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?)
}

pub(super) async fn expired_tests(
    store: &SqliteStore,
    created_before: i64,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM requests WHERE live = 0 AND purged_at IS NULL AND created_at < ?
         ORDER BY created_at LIMIT ?",
    )
    .bind(created_before)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?)
}

pub(super) async fn expired_drafts(
    store: &SqliteStore,
    updated_before: i64,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM requests WHERE status = 'draft' AND purged_at IS NULL AND updated_at < ?
         ORDER BY updated_at LIMIT ?",
    )
    .bind(updated_before)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?)
}

pub(super) async fn purge_request(
    store: &SqliteStore,
    id: &str,
    at: i64,
    actor: &str,
) -> Result<Option<Purged>, StoreError> {
    let mut tx = store.pool.begin().await?;
    let done = sqlx::query(
        "UPDATE requests SET fields = '', email_target = NULL, callback_data = NULL,
            motivo_annullamento = NULL, integrazione = NULL, document = NULL, purged_at = ?,
            version = version + 1
         WHERE id = ? AND purged_at IS NULL",
    )
    .bind(at)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(None);
    }
    let mut blob_keys: Vec<String> =
        sqlx::query_scalar("SELECT blob_key FROM request_files WHERE request_id = ?")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
    blob_keys.push(format!("requests/{id}/documento.zip"));
    sqlx::query("UPDATE request_files SET name = '' WHERE request_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE request_history SET note = NULL WHERE request_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO request_history (request_id, at, status, action, actor, note)
         SELECT id, ?, status, 'purge', ?, NULL FROM requests WHERE id = ?",
    )
    .bind(at)
    .bind(actor)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    append_audit(
        &mut tx,
        &store.chain,
        &AuditEvent {
            at,
            actor: actor.to_string(),
            action: "purge".into(),
            request_id: Some(id.to_string()),
            detail: String::new(),
            source: None,
        },
    )
    .await?;
    sqlx::query("DELETE FROM idempotency_keys WHERE request_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM request_subjects WHERE request_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM request_keys WHERE request_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    // Old page images of the key stay in the WAL until a checkpoint copies the pages back
    // and truncates it.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&store.pool)
        .await?;
    Ok(Some(Purged {
        request_id: id.to_string(),
        blob_keys,
    }))
}
