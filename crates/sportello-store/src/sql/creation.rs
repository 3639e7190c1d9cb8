//! A request's creation, written once: sealed on the caller's task ([`Creation::seal`]), then
//! written with the other works of a group commit's batch ([`write`]; see `group_commit.rs`):
//! each table gets one multi-row statement for the whole batch.

use sqlx::Row;
use std::collections::{HashMap, HashSet};

use super::audit::append_audits;
use super::files::insert_file_rows;
use super::group_commit::Work;
use super::history::{audit_event, insert_history_rows};
use super::outbox::{record_events, Change};
use super::{dialect, insert_rows, Counter, Db, Statement, This, Tx};
use crate::audit::{AuditEvent, ChainKey};
use crate::columns::to_json;
use crate::crypto::{DataKey, WrappedKey};
use crate::ledger::Transaction;
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

/// The insert of a request's row: its columns, in the order [`bind_request`] binds them.
const REQUEST_INSERT: &str =
    "INSERT INTO requests (id, client_id, hash_visura, hash_requested, live, created_at,
            status, provider_id, operator_id, fields, opzioni, prezzo_visura, prezzo_totale,
            email_target, callback_data, esito_codice, esito_info, motivo_annullamento,
            integrazione, timestamp_stati, document, updated_at, version,
            due_at, sla_paused_at, overdue_at, informativa_versione, mandato_versione,
            invito, invito_hash, consensi, price)";

/// Binds the columns of [`REQUEST_INSERT`] for `c`.
fn bind_request<'q>(q: Statement<'q>, c: &'q Creation) -> Result<Statement<'q>, StoreError> {
    let r = &c.request;
    let q = q
        .bind(&r.id)
        .bind(&r.client_id)
        .bind(&r.hash_visura)
        .bind(&r.hash_requested)
        .bind(r.live)
        .bind(r.created_at);
    Ok(bind_changeable(q, r, &c.sealed)?.bind(&c.price))
}

/// Why a batch was not written whole.
pub(crate) enum Unwritten {
    /// Some idempotency keys were already taken (by another work of the batch or an earlier
    /// creation) while other works of the batch were refused for credit that a loser may have
    /// seemed to use: written one by one instead, each learns its own outcome.
    Split,
    /// A statement failed: the transaction (or savepoint) must be undone.
    Failed(StoreError),
}

impl From<StoreError> for Unwritten {
    fn from(e: StoreError) -> Self {
        Unwritten::Failed(e)
    }
}

impl From<sqlx::Error> for Unwritten {
    fn from(e: sqlx::Error) -> Self {
        Unwritten::Failed(e.into())
    }
}

/// Writes `works` inside `tx` with one statement per table for all of them (a few more when a
/// batch's size is not a power of two, see `runs`), and says what became of each, in order:
/// written, or refused (no credit, an idempotency key already taken) with nothing of it
/// written. The refusals are decided as if the works were written one after the other in
/// their order, as the savepoint per work of the old group commit did.
///
/// Nothing is locked but the clients with a debit (PostgreSQL; SQLite's transaction holds the
/// write lock), then, by the last statements, the audit chain's head: every writer shares that
/// row, so it is held for as short a time as the batch allows, from its last statements to the
/// commit.
pub(crate) async fn write(
    tx: &mut Tx<'_>,
    counter: &Counter,
    chain: &ChainKey,
    works: &[&Work],
) -> Result<Vec<Result<(), StoreError>>, Unwritten> {
    let mut outcomes: Vec<Result<(), StoreError>> = works.iter().map(|_| Ok(())).collect();
    let creations: Vec<(usize, &Creation)> = works
        .iter()
        .enumerate()
        .filter_map(|(i, w)| match w {
            Work::Create(c) => Some((i, c.as_ref())),
            Work::Subjects { .. } => None,
        })
        .collect();
    let accounts = read_clients(tx, counter, &creations).await?;

    // Credit, checked in the batch's order against the balance read under the lock.
    let mut balances: HashMap<&str, i64> = accounts
        .iter()
        .map(|(id, a)| (id.as_str(), a.balance))
        .collect();
    for (i, c) in &creations {
        let Some(t) = &c.debit else { continue };
        let sum: i64 = t.entries.iter().map(|e| e.amount).sum();
        if sum != 0 {
            outcomes[*i] = Err(StoreError::Corrupt(format!(
                "an unbalanced {} transaction ({sum} cents) was refused",
                t.kind.as_db()
            )));
            continue;
        }
        let effect = t.wallet_effect();
        let balance = balances.entry(t.client_id.as_str()).or_insert(0);
        if effect < 0 && *balance + effect < 0 {
            outcomes[*i] = Err(StoreError::InsufficientCredit {
                balance: *balance,
                required: -effect,
            });
            continue;
        }
        *balance += effect;
    }

    // Idempotency keys, before anything else is written: the first of a batch to claim a key
    // gets it, as the first of its callers would.
    let keyed: Vec<(usize, &Creation, &IdempotencyRecord)> = creations
        .iter()
        .filter(|(i, _)| outcomes[*i].is_ok())
        .filter_map(|(i, c)| c.idempotency.as_ref().map(|k| (*i, *c, k)))
        .collect();
    if !keyed.is_empty() {
        let won: HashSet<String> = insert_rows(
            tx,
            counter,
            "INSERT INTO idempotency_keys
             (client_id, key, body_sha256, request_id, response, created_at)",
            "ON CONFLICT DO NOTHING RETURNING request_id",
            &keyed,
            |q, (_, c, k)| {
                Ok(q.bind(&k.client_id)
                    .bind(&k.key)
                    .bind(&k.body_sha256)
                    .bind(&k.request_id)
                    .bind(
                        c.key
                            .seal_text(&context(&k.request_id, "idempotency"), &k.response),
                    )
                    .bind(k.created_at))
            },
        )
        .await?
        .iter()
        .map(|row| row.try_get("request_id"))
        .collect::<Result<_, _>>()?;
        let lost: Vec<usize> = keyed
            .iter()
            .filter(|(_, _, k)| !won.contains(&k.request_id))
            .map(|(i, _, _)| *i)
            .collect();
        if !lost.is_empty() && outcomes.iter().any(Result::is_err) {
            return Err(Unwritten::Split);
        }
        for i in lost {
            outcomes[i] = Err(StoreError::Conflict("idempotency key already used".into()));
        }
    }

    let written: Vec<&Creation> = creations
        .iter()
        .filter(|(i, _)| outcomes[*i].is_ok())
        .map(|(_, c)| *c)
        .collect();
    insert_rows(tx, counter, REQUEST_INSERT, "", &written, |q, c| {
        bind_request(q, c)
    })
    .await?;
    let debits: Vec<&Transaction> = written.iter().filter_map(|c| c.debit.as_ref()).collect();
    super::ledger::insert_debits(tx, counter, &debits).await?;
    insert_rows(
        tx,
        counter,
        "INSERT INTO request_keys (request_id, key_id, wrapped)",
        "",
        &written,
        |q, c| {
            Ok(q.bind(&c.request.id)
                .bind(&c.wrapped.key_id)
                .bind(&c.wrapped.bytes))
        },
    )
    .await?;
    let files: Vec<(&DataKey, &FileRecord)> = written
        .iter()
        .flat_map(|c| c.files.iter().map(|f| (&c.key, f)))
        .collect();
    insert_file_rows(tx, counter, &files).await?;
    let histories: Vec<(&DataKey, &HistoryEntry)> =
        written.iter().map(|c| (&c.key, &c.history)).collect();
    insert_history_rows(tx, counter, &histories).await?;
    let changes: Vec<Change<'_>> = written
        .iter()
        .map(|c| Change {
            history: &c.history,
            client_id: &c.request.client_id,
            callback: c.sealed.callback_data.is_some(),
            email: c.sealed.email_target.is_some(),
            webhook: accounts
                .get(&c.request.client_id)
                .is_some_and(|a| a.webhook),
            person: c.request.invito_hash.is_some(),
        })
        .collect();
    record_events(tx, counter, &changes).await?;
    let subjects: Vec<(&str, &String)> = written
        .iter()
        .flat_map(|c| c.subjects.iter().map(|s| (c.request.id.as_str(), s)))
        .chain(works.iter().flat_map(|w| {
            match w {
                Work::Subjects { request_id, hashes } => hashes
                    .iter()
                    .map(|s| (request_id.as_str(), s))
                    .collect::<Vec<_>>(),
                Work::Create(_) => Vec::new(),
            }
        }))
        .collect();
    insert_rows(
        tx,
        counter,
        "INSERT INTO request_subjects (request_id, subject)",
        "ON CONFLICT DO NOTHING",
        &subjects,
        |q, (request_id, subject)| Ok(q.bind(*request_id).bind(*subject)),
    )
    .await?;
    // Last: from here to the commit, every other writer of the chain waits.
    let links: Vec<AuditEvent> = written.iter().map(|c| audit_event(&c.history)).collect();
    append_audits(tx, counter, chain, &links).await?;
    Ok(outcomes)
}

/// Locks the clients of `creations` that pay (`dialect::lock_clients`): all at once, in one
/// order, so that two transactions locking several clients never wait for each other in a
/// circle, and before the audit chain's head, as every other writer of both does.
pub(crate) async fn lock_payers<'c>(
    tx: &mut Tx<'_>,
    counter: &Counter,
    creations: impl Iterator<Item = &'c Creation>,
) -> Result<(), StoreError> {
    let mut paying: Vec<&str> = creations
        .filter(|c| c.debit.is_some())
        .map(|c| c.request.client_id.as_str())
        .collect();
    paying.sort_unstable();
    paying.dedup();
    counter.add(dialect::lock_clients(tx, &paying).await?);
    Ok(())
}

/// What a batch needs of its clients' rows.
struct Account {
    balance: i64,
    /// Whether the client has a webhook endpoint (a delivery per event goes there).
    webhook: bool,
}

/// Locks the clients with a debit in `creations` (`dialect::lock_clients`), then reads every
/// client's balance and whether it has a webhook endpoint, in a statement of its own so that
/// it sees what a transaction it waited for committed.
async fn read_clients(
    tx: &mut Tx<'_>,
    counter: &Counter,
    creations: &[(usize, &Creation)],
) -> Result<HashMap<String, Account>, StoreError> {
    lock_payers(tx, counter, creations.iter().map(|(_, c)| *c)).await?;
    let mut clients: Vec<&str> = creations
        .iter()
        .map(|(_, c)| c.request.client_id.as_str())
        .collect();
    clients.sort_unstable();
    clients.dedup();
    let mut out = HashMap::with_capacity(clients.len());
    for run in super::runs(&clients) {
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "SELECT c.id, CAST(COALESCE(b.balance, 0) AS BIGINT) AS balance,
             EXISTS (SELECT 1 FROM client_webhooks w WHERE w.client_id = c.id
             AND w.url IS NOT NULL) AS webhook
             FROM clients c LEFT JOIN wallet_balances b ON b.account = 'wallet:' || c.id
             WHERE c.id IN (",
        );
        let mut list = q.separated(", ");
        for id in run {
            list.push_bind(*id);
        }
        q.push(")");
        counter.add(1);
        for row in q.build().fetch_all(&mut **tx).await? {
            out.insert(
                row.try_get("id")?,
                Account {
                    balance: row.try_get("balance")?,
                    webhook: row.try_get("webhook")?,
                },
            );
        }
    }
    Ok(out)
}

/// Binds, in this order, the columns a request may change over its life, from `status` to
/// `version`, then the SLA's, then the paperwork versions shown, then the invitation and the
/// consents: the INSERT and the UPDATE list them the same way.
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
