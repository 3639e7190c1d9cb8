//! Requests: inserting (with key, files, history and idempotency record), reading, listing
//! and the optimistic update; and idempotency look-ups.

use sqlx::Row;

use super::files::insert_files;
use super::group_commit::{Creation, Work};
use super::history::insert_history;
use super::keys;
use super::subjects::subject_hashes;
use super::SqliteStore;
use crate::model::*;
use crate::rows::{request_from, to_json};
use crate::sealing::{context, seal_request, Sealed, REQUEST_SELECT};
use crate::StoreError;

pub(super) type Statement<'q> =
    sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds, in this order, the columns a request may change over its life, from `status` to
/// `version`, then the SLA's: the INSERT and the UPDATE list them the same way.
pub(super) fn bind_changeable<'q>(
    q: Statement<'q>,
    r: &'q RequestRecord,
    sealed: &'q Sealed,
) -> Result<Statement<'q>, StoreError> {
    Ok(q.bind(r.status.as_db())
        .bind(&r.provider_id)
        .bind(&r.operator_id)
        .bind(&sealed.fields)
        .bind(to_json(&r.opzioni)?)
        .bind(&r.prezzo_visura)
        .bind(&r.prezzo_totale)
        .bind(&sealed.email_target)
        .bind(&sealed.callback_data)
        .bind(&r.esito_codice)
        .bind(&r.esito_info)
        .bind(&sealed.motivo_annullamento)
        .bind(&sealed.integrazione)
        .bind(to_json(&r.timestamp_stati)?)
        .bind(&sealed.document)
        .bind(r.updated_at)
        .bind(r.version)
        .bind(r.due_at)
        .bind(r.sla_paused_at)
        .bind(r.overdue_at))
}

/// Sealing and hashing happen here, on the caller's task; the writing, in the group commit's
/// batch.
pub(super) async fn insert_request(
    store: &SqliteStore,
    new: NewRequest<'_>,
) -> Result<(), StoreError> {
    let r = new.request;
    let creation = Creation {
        sealed: seal_request(new.key, r)?,
        price: r.price.as_ref().map(serde_json::to_string).transpose()?,
        wrapped: store.keyring.wrap(new.key, &r.id),
        request: r.clone(),
        key: new.key.clone(),
        files: new.files.to_vec(),
        history: new.history.clone(),
        idempotency: new.idempotency.cloned(),
        debit: new.debit.cloned(),
        subjects: subject_hashes(store, new.subjects),
    };
    store.group.submit(Work::Create(Box::new(creation))).await
}

pub(super) async fn get_request(
    store: &SqliteStore,
    id: &str,
) -> Result<Option<RequestRecord>, StoreError> {
    sqlx::query(&format!("{REQUEST_SELECT} WHERE r.id = ?"))
        .bind(id)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(|row| request_from(&store.keyring, row))
        .transpose()
}

pub(super) async fn list_requests(
    store: &SqliteStore,
    f: &RequestFilter,
) -> Result<Vec<RequestRecord>, StoreError> {
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!("{REQUEST_SELECT} WHERE 1 = 1"));
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
        q.push(
            " ORDER BY (r.overdue_at IS NULL) ASC, (r.due_at IS NULL) ASC, r.due_at ASC,
              r.created_at ASC, r.rowid ASC",
        );
    } else if f.oldest_first {
        // `id` is a second plus random bytes: within one second, insertion order is `rowid`.
        q.push(" ORDER BY r.created_at ASC, r.rowid ASC");
    } else {
        q.push(" ORDER BY r.created_at DESC, r.rowid DESC");
    }
    q.push(" LIMIT ").push_bind(i64::from(f.limit.max(1)));
    q.push(" OFFSET ").push_bind(i64::from(f.offset));
    q.build()
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(|row| request_from(&store.keyring, row))
        .collect()
}

pub(super) async fn update_request(
    store: &SqliteStore,
    r: &RequestRecord,
    files: &[FileRecord],
    history: Option<&HistoryEntry>,
    ledger: Option<&crate::ledger::Transaction>,
) -> Result<bool, StoreError> {
    // Read before the transaction, which must start with its write (SQLite cannot upgrade a
    // read transaction once another writer committed). The data key of a request never
    // changes; only its wrapping does.
    let key = keys::data_key(store, &r.id)
        .await?
        .ok_or_else(|| StoreError::Purged(r.id.clone()))?;
    let sealed = seal_request(&key, r)?;
    let mut tx = store.pool.begin().await?;
    let update = sqlx::query(
        "UPDATE requests SET status = ?, provider_id = ?, operator_id = ?, fields = ?, opzioni = ?,
            prezzo_visura = ?, prezzo_totale = ?, email_target = ?, callback_data = ?, esito_codice = ?,
            esito_info = ?, motivo_annullamento = ?, integrazione = ?, timestamp_stati = ?, document = ?,
            updated_at = ?, version = ?, due_at = ?, sla_paused_at = ?, overdue_at = ?,
            closed_at = CASE WHEN ? THEN COALESCE(closed_at, ?) ELSE NULL END
         WHERE id = ? AND version = ? AND purged_at IS NULL",
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
        insert_history(&mut tx, &store.chain, &key, h).await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn find_idempotency(
    store: &SqliteStore,
    client_id: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM idempotency_keys WHERE client_id = ? AND key = ?")
        .bind(client_id)
        .bind(key)
        .fetch_optional(&store.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let request_id: String = row.try_get("request_id")?;
    let data_key = keys::data_key(store, &request_id)
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
