//! A request's creation, written once: sealed on the caller's task ([`Creation::seal`]), then
//! written inside the transaction of a group commit ([`write`]; see `group_commit.rs`), each
//! inside a savepoint.

use super::files::insert_files;
use super::history::insert_history;
use super::{unique_violation, Db, This, Tx};
use crate::audit::ChainKey;
use crate::columns::to_json;
use crate::crypto::{DataKey, WrappedKey};
use crate::model::*;
use crate::sealing::{context, seal_request, Sealed};
use crate::StoreError;

/// A request creation, sealed and ready to write.
pub(crate) struct Creation {
    pub request: RequestRecord,
    pub sealed: Sealed,
    pub price: Option<String>,
    pub key: DataKey,
    pub wrapped: WrappedKey,
    pub files: Vec<FileRecord>,
    pub history: HistoryEntry,
    pub idempotency: Option<IdempotencyRecord>,
    pub debit: Option<crate::ledger::Transaction>,
    /// Keyed hashes of the codes the request is about.
    pub subjects: Vec<String>,
}

impl Creation {
    /// The sealing and hashing, done before any lock is taken.
    pub(crate) fn seal(store: &This, new: NewRequest<'_>) -> Result<Creation, StoreError> {
        let r = new.request;
        Ok(Creation {
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
        })
    }
}

/// What the index stores of each code: its keyed hash, never the code.
pub(crate) fn subject_hashes(store: &This, codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| store.lookup.keyed_hash(c)).collect()
}

/// Writes `c` inside `tx`; on an error the caller undoes the transaction (or its savepoint).
pub(crate) async fn write(
    tx: &mut Tx<'_>,
    chain: &ChainKey,
    c: &Creation,
) -> Result<(), StoreError> {
    let r = &c.request;
    let insert = sqlx::query(
        "INSERT INTO requests (id, client_id, hash_visura, hash_requested, live, created_at,
            status, provider_id, operator_id, fields, opzioni, prezzo_visura, prezzo_totale,
            email_target, callback_data, esito_codice, esito_info, motivo_annullamento,
            integrazione, timestamp_stati, document, updated_at, version,
            due_at, sla_paused_at, overdue_at, informativa_versione, mandato_versione,
            invito, invito_hash, consensi, price)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
            $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)",
    )
    .bind(&r.id)
    .bind(&r.client_id)
    .bind(&r.hash_visura)
    .bind(&r.hash_requested)
    .bind(r.live)
    .bind(r.created_at);
    bind_changeable(insert, r, &c.sealed)?
        .bind(&c.price)
        .execute(&mut **tx)
        .await?;
    // The balance is read under the lock `ledger::post_in` takes (PostgreSQL: the client's
    // row; SQLite: the write lock, held since the INSERT above), so two creations of one client
    // are checked one after the other, as if serial, in one batch or not.
    if let Some(t) = &c.debit {
        super::ledger::post_in(tx, t, crate::ledger::Funds::Required).await?;
    }
    sqlx::query("INSERT INTO request_keys (request_id, key_id, wrapped) VALUES ($1, $2, $3)")
        .bind(&r.id)
        .bind(&c.wrapped.key_id)
        .bind(&c.wrapped.bytes)
        .execute(&mut **tx)
        .await?;
    insert_files(tx, &c.key, &c.files).await?;
    insert_history(tx, chain, &c.key, &c.history).await?;
    if let Some(k) = &c.idempotency {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys
             (client_id, key, body_sha256, request_id, response, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&k.client_id)
        .bind(&k.key)
        .bind(&k.body_sha256)
        .bind(&k.request_id)
        .bind(
            c.key
                .seal_text(&context(&k.request_id, "idempotency"), &k.response),
        )
        .bind(k.created_at)
        .execute(&mut **tx)
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
    index(tx, &r.id, &c.subjects).await
}

/// Indexes the keyed hashes of a request's subjects inside `tx`.
pub(crate) async fn index(
    tx: &mut Tx<'_>,
    request_id: &str,
    hashes: &[String],
) -> Result<(), StoreError> {
    for hash in hashes {
        sqlx::query(
            "INSERT INTO request_subjects (request_id, subject) VALUES ($1, $2) ON CONFLICT
             DO NOTHING",
        )
        .bind(request_id)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

type Statement<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// Binds, in this order, the columns a request may change over its life, from `status` to
/// `version`, then the SLA's, then the paperwork versions shown, then the invitation and the consents: the INSERT and the UPDATE list
/// them the same way.
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
        .bind(r.prezzo_visura.to_string())
        .bind(r.prezzo_totale.to_string())
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
        .bind(r.overdue_at)
        .bind(r.informativa_versione)
        .bind(r.mandato_versione)
        .bind(&sealed.invito)
        .bind(&r.invito_hash)
        .bind(to_json(&r.consensi)?))
}
