//! Requests: inserting (with key, files, history and idempotency record), reading, listing
//! and the optimistic update; and idempotency look-ups.

use sqlx::Row;

use super::files::insert_files;
use super::history::insert_history;
use super::keys;
use super::PgStore;
use crate::model::*;
use crate::rows::{request_from, to_json};
use crate::sealing::{context, seal_request, Sealed, REQUEST_SELECT};
use crate::StoreError;

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

type Statement<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds, in this order, the columns a request may change over its life, from `status` to
/// `version`, then the SLA's: the INSERT and the UPDATE list them the same way.
fn bind_changeable<'q>(
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

pub(super) async fn insert_request(store: &PgStore, new: NewRequest<'_>) -> Result<(), StoreError> {
    let (r, key) = (new.request, new.key);
    let sealed = seal_request(key, r)?;
    let price = r.price.as_ref().map(serde_json::to_string).transpose()?;
    let wrapped = store.keyring.wrap(key, &r.id);
    let mut tx = store.pool.begin().await?;
    let insert = sqlx::query(
        "INSERT INTO requests (id, client_id, hash_visura, hash_requested, live, created_at,
            status, provider_id, operator_id, fields, opzioni, prezzo_visura, prezzo_totale,
            email_target, callback_data, esito_codice, esito_info, motivo_annullamento,
            integrazione, timestamp_stati, document, updated_at, version,
            due_at, sla_paused_at, overdue_at, price)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27)",
    )
    .bind(&r.id)
    .bind(&r.client_id)
    .bind(&r.hash_visura)
    .bind(&r.hash_requested)
    .bind(r.live)
    .bind(r.created_at);
    bind_changeable(insert, r, &sealed)?
        .bind(&price)
        .execute(&mut *tx)
        .await?;
    // The debit's balance check locks the client's row (see `ledger::post_in`).
    if let Some(t) = new.debit {
        super::ledger::post_in(&mut tx, t, crate::ledger::Funds::Required).await?;
    }
    sqlx::query("INSERT INTO request_keys (request_id, key_id, wrapped) VALUES ($1, $2, $3)")
        .bind(&r.id)
        .bind(&wrapped.key_id)
        .bind(&wrapped.bytes)
        .execute(&mut *tx)
        .await?;
    insert_files(&mut tx, key, new.files).await?;
    insert_history(&mut tx, &store.chain, key, new.history).await?;
    if let Some(k) = new.idempotency {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (client_id, key, body_sha256, request_id, response, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&k.client_id)
        .bind(&k.key)
        .bind(&k.body_sha256)
        .bind(&k.request_id)
        .bind(key.seal_text(&context(&k.request_id, "idempotency"), &k.response))
        .bind(k.created_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if unique_violation(&e) => {
                return Err(StoreError::Conflict("idempotency key already used".into()))
            }
            other => {
                other?;
            }
        }
    }
    super::subjects::index_in(&mut tx, &store.lookup, r.id.as_str(), new.subjects).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn get_request(
    store: &PgStore,
    id: &str,
) -> Result<Option<RequestRecord>, StoreError> {
    sqlx::query(&format!("{REQUEST_SELECT} WHERE r.id = $1"))
        .bind(id)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(|row| request_from(&store.keyring, row))
        .transpose()
}

pub(super) async fn list_requests(
    store: &PgStore,
    f: &RequestFilter,
) -> Result<Vec<RequestRecord>, StoreError> {
    let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(format!("{REQUEST_SELECT} WHERE 1 = 1"));
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
              r.created_at ASC, r.seq ASC",
        );
    } else if f.oldest_first {
        // `id` is a second plus random bytes: within one second, insertion order is `seq`.
        q.push(" ORDER BY r.created_at ASC, r.seq ASC");
    } else {
        q.push(" ORDER BY r.created_at DESC, r.seq DESC");
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
    store: &PgStore,
    r: &RequestRecord,
    files: &[FileRecord],
    history: Option<&HistoryEntry>,
    ledger: Option<&crate::ledger::Transaction>,
) -> Result<bool, StoreError> {
    // The data key of a request never changes (only its wrapping does): read it first.
    let key = keys::data_key(store, &r.id)
        .await?
        .ok_or_else(|| StoreError::Purged(r.id.clone()))?;
    let sealed = seal_request(&key, r)?;
    let mut tx = store.pool.begin().await?;
    let update = sqlx::query(
        "UPDATE requests SET status = $1, provider_id = $2, operator_id = $3, fields = $4, opzioni = $5,
            prezzo_visura = $6, prezzo_totale = $7, email_target = $8, callback_data = $9, esito_codice = $10,
            esito_info = $11, motivo_annullamento = $12, integrazione = $13, timestamp_stati = $14, document = $15,
            updated_at = $16, version = $17, due_at = $18, sla_paused_at = $19, overdue_at = $20,
            closed_at = CASE WHEN $21 THEN COALESCE(closed_at, $22) ELSE NULL END
         WHERE id = $23 AND version = $24 AND purged_at IS NULL",
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
    store: &PgStore,
    client_id: &str,
    key: &str,
) -> Result<Option<IdempotencyRecord>, StoreError> {
    let row = sqlx::query("SELECT * FROM idempotency_keys WHERE client_id = $1 AND key = $2")
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
