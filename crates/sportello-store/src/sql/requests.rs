//! Requests: inserting (with key, files, history and idempotency record), reading, listing
//! and the optimistic update; and idempotency look-ups.

use async_trait::async_trait;
use sqlx::Row;

use super::creation::{bind_changeable, Creation};
use super::files::insert_files;
use super::group_commit::Work;
use super::history::insert_history;
use super::{Db, This};
use crate::model::*;
use crate::rows::request_from;
use crate::sealing::{context, seal_request, REQUEST_SELECT};
use crate::Keys;
use crate::StoreError;

#[async_trait]
impl crate::Requests for This {
    /// Sealing and hashing happen here, on the caller's task; the writing, in a batch of the
    /// group commit, with the creations of others.
    async fn insert_request(&self, new: NewRequest<'_>) -> Result<(), StoreError> {
        let creation = Creation::seal(self, new)?;
        self.group.submit(Work::Create(Box::new(creation))).await
    }

    async fn get_request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
        sqlx::query(&format!("{REQUEST_SELECT} WHERE r.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|row| request_from(&self.keyring, row))
            .transpose()
    }

    async fn list_requests(&self, f: &RequestFilter) -> Result<Vec<RequestRecord>, StoreError> {
        let mut q = sqlx::QueryBuilder::<Db>::new(format!("{REQUEST_SELECT} WHERE 1 = 1"));
        if let Some(client) = &f.client_id {
            q.push(" AND r.client_id = ").push_bind(client.clone());
        }
        if let Some(live) = f.live {
            q.push(" AND r.live = ").push_bind(live);
        }
        if let Some(queue) = &f.provider_queue {
            q.push(" AND (r.provider_id = ")
                .push_bind(queue.provider_id.clone());
            q.push(" OR (r.provider_id IS NULL AND r.hash_visura IN (");
            let mut list = q.separated(", ");
            list.push_bind(String::new());
            for s in &queue.services {
                list.push_bind(s.clone());
            }
            q.push(")))");
        }
        if !f.statuses.is_empty() {
            q.push(" AND r.status IN (");
            let mut list = q.separated(", ");
            for s in &f.statuses {
                list.push_bind(s.as_db());
            }
            q.push(")");
        }
        if let Some(hash) = &f.hash_visura {
            q.push(" AND r.hash_visura = ").push_bind(hash.clone());
        }
        if let Some(op) = &f.operator_id {
            q.push(" AND r.operator_id = ").push_bind(op.clone());
        }
        if f.unassigned {
            q.push(" AND r.operator_id IS NULL");
        }
        match f.overdue {
            Some(true) => {
                q.push(" AND r.overdue_at IS NOT NULL");
            }
            Some(false) => {
                q.push(" AND r.overdue_at IS NULL");
            }
            None => {}
        }
        if f.by_due {
            // Overdue first, then the nearest due time; requests without one (submitted before SLA
            // existed) after those that have one.
            q.push(concat!(
                " ORDER BY (r.overdue_at IS NULL) ASC, (r.due_at IS NULL) ASC, r.due_at ASC,
                 r.created_at ASC, r.",
                row_order!(),
                " ASC"
            ));
        } else if f.oldest_first {
            // `id` is a second plus random bytes: within one second, insertion order is the row's.
            q.push(concat!(
                " ORDER BY r.created_at ASC, r.",
                row_order!(),
                " ASC"
            ));
        } else {
            q.push(concat!(
                " ORDER BY r.created_at DESC, r.",
                row_order!(),
                " DESC"
            ));
        }
        q.push(" LIMIT ").push_bind(i64::from(f.limit.max(1)));
        q.push(" OFFSET ").push_bind(i64::from(f.offset));
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| request_from(&self.keyring, row))
            .collect()
    }

    async fn update_request(
        &self,
        r: &RequestRecord,
        files: &[FileRecord],
        history: Option<&HistoryEntry>,
        ledger: Option<&crate::ledger::Transaction>,
    ) -> Result<bool, StoreError> {
        // Read before the transaction, which must start with its write (SQLite cannot upgrade a
        // read transaction once another writer committed). The data key of a request never
        // changes; only its wrapping does.
        let key = self
            .data_key(&r.id)
            .await?
            .ok_or_else(|| StoreError::Purged(r.id.clone()))?;
        let sealed = seal_request(&key, r)?;
        let mut tx = self.pool.begin().await?;
        let update = sqlx::query(
            "UPDATE requests SET status = $1, provider_id = $2, operator_id = $3, fields = $4,
             opzioni = $5, prezzo_visura = $6, prezzo_totale = $7, email_target = $8,
             callback_data = $9, esito_codice = $10, esito_info = $11,
             motivo_annullamento = $12, integrazione = $13, timestamp_stati = $14,
             document = $15, updated_at = $16, version = $17, due_at = $18,
             sla_paused_at = $19, overdue_at = $20,
             informativa_versione = $21, mandato_versione = $22,
             invito = $23, invito_hash = $24, consensi = $25,
             closed_at = CASE WHEN $26 THEN COALESCE(closed_at, $27) ELSE NULL END
             WHERE id = $28 AND version = $29 AND purged_at IS NULL",
        );
        let done = bind_changeable(update, r, &sealed)?
            .bind(r.status.is_final())
            .bind(r.updated_at)
            .bind(&r.id)
            .bind(r.version - 1)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let Some(t) = ledger {
            let funds = if t.wallet_effect() < 0 {
                crate::ledger::Funds::Required
            } else {
                crate::ledger::Funds::NotRequired
            };
            super::ledger::post_in(&mut tx, t, funds).await?;
        }
        insert_files(&mut tx, &key, files).await?;
        if let Some(h) = history {
            insert_history(&mut tx, &self.chain, &key, h).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn find_by_invitation(
        &self,
        invito_hash: &str,
    ) -> Result<Option<RequestRecord>, StoreError> {
        sqlx::query(&format!("{REQUEST_SELECT} WHERE r.invito_hash = $1"))
            .bind(invito_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|row| request_from(&self.keyring, row))
            .transpose()
    }

    async fn find_idempotency(
        &self,
        client_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM idempotency_keys WHERE client_id = $1 AND key = $2")
            .bind(client_id)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let request_id: String = row.try_get("request_id")?;
        let data_key = self
            .data_key(&request_id)
            .await?
            .ok_or_else(|| StoreError::Purged(request_id.clone()))?;
        let sealed: String = row.try_get("response")?;
        Ok(Some(IdempotencyRecord {
            client_id: row.try_get("client_id")?,
            key: row.try_get("key")?,
            body_sha256: row.try_get("body_sha256")?,
            response: data_key.open_text(&context(&request_id, "idempotency"), &sealed)?,
            request_id,
            created_at: row.try_get("created_at")?,
        }))
    }
}
