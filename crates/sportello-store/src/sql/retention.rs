//! Retention: finding closed requests (and forgotten drafts) past their time and purging their
//! personal data.

use async_trait::async_trait;
use sqlx::Row;

use super::audit::append_audit;
use super::{dialect, This};
use crate::audit::AuditEvent;
use crate::model::*;
use crate::StoreError;

#[async_trait]
impl crate::Retention for This {
    async fn expired(
        &self,
        hash_visura: &str,
        closed_before: i64,
        requires_export: bool,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        // The held condition is the one `awaiting_fascicolo` lists.
        Ok(sqlx::query_scalar(
            "SELECT id FROM requests WHERE hash_visura = $1 AND closed_at < $2 AND purged_at IS NULL
             AND NOT ($3 AND live AND status = 'visura_evasa' AND provider_id IS NOT NULL
                      AND fascicolo_at IS NULL)
             ORDER BY closed_at LIMIT $4",
        )
        .bind(hash_visura)
        .bind(closed_before)
        .bind(requires_export)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn record_fascicolo(&self, event: &AuditEvent) -> Result<bool, StoreError> {
        let Some(id) = event.request_id.as_deref() else {
            return Ok(false);
        };
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE requests SET fascicolo_at = COALESCE(fascicolo_at, $1)
             WHERE id = $2 AND purged_at IS NULL",
        )
        .bind(event.at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        append_audit(&mut tx, &self.chain, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn awaiting_fascicolo(&self, limit: u32) -> Result<Vec<AwaitingFascicolo>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, hash_visura, provider_id, closed_at FROM requests
             WHERE live AND status = 'visura_evasa' AND provider_id IS NOT NULL
             AND fascicolo_at IS NULL AND purged_at IS NULL AND closed_at IS NOT NULL
             ORDER BY closed_at, id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AwaitingFascicolo {
                    request_id: row.try_get("id")?,
                    hash_visura: row.try_get("hash_visura")?,
                    provider_id: row.try_get("provider_id")?,
                    closed_at: row.try_get("closed_at")?,
                })
            })
            .collect()
    }

    async fn expired_tests(
        &self,
        created_before: i64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM requests WHERE NOT live AND purged_at IS NULL AND created_at < $1
             ORDER BY created_at LIMIT $2",
        )
        .bind(created_before)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn expired_drafts(
        &self,
        updated_before: i64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
        "SELECT id FROM requests WHERE status = 'draft' AND purged_at IS NULL AND updated_at < $1
         ORDER BY updated_at LIMIT $2",
    )
    .bind(updated_before)
    .bind(i64::from(limit))
    .fetch_all(&self.pool)
    .await?)
    }

    async fn purge_request(
        &self,
        id: &str,
        at: i64,
        actor: &str,
    ) -> Result<Option<Purged>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE requests SET fields = '', email_target = NULL, callback_data = NULL,
             motivo_annullamento = NULL, integrazione = NULL, document = NULL, invito = NULL,
             invito_hash = NULL, purged_at = $1,
             version = version + 1
             WHERE id = $2 AND purged_at IS NULL",
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
            sqlx::query_scalar("SELECT blob_key FROM request_files WHERE request_id = $1")
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
        blob_keys.push(format!("requests/{id}/documento.zip"));
        sqlx::query("UPDATE request_files SET name = '' WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE request_history SET note = NULL WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO request_history (request_id, at, status, action, actor, note)
             SELECT id, $1, status, 'purge', $2, NULL FROM requests WHERE id = $3",
        )
        .bind(at)
        .bind(actor)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            &self.chain,
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
        sqlx::query("DELETE FROM idempotency_keys WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM request_subjects WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM request_keys WHERE request_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        dialect::after_key_purge(&self.pool).await?;
        Ok(Some(Purged {
            request_id: id.to_string(),
            blob_keys,
        }))
    }
}
