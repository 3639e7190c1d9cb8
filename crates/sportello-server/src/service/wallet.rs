//! Wallets: the money a request moves (its debit when submitted, its refund when cancelled),
//! top-ups and adjustments by admins, balances. The ledger itself is the store's; the rule of
//! which state change moves money lives here, in one function ([`follows`]).
//!
//! Test-mode requests never touch money.

use sportello_domain::pricing::{self, Quote};
use sportello_domain::status::Status;
use sportello_store::audit::AuditEvent;
use sportello_store::ledger::{Funds, Keyed, Kind, PostKey, Transaction};
use sportello_store::{HistoryEntry, RequestRecord};

use crate::envelope::Detail;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The ledger transaction a change of a request brings with it, if any: submitting a live draft
/// debits its price; cancelling a submitted live request refunds it (it was not processed: a
/// processed request is final and cannot be cancelled).
pub fn follows(
    before: Status,
    after: &RequestRecord,
    history: Option<&HistoryEntry>,
) -> Option<Transaction> {
    if !after.live || before == after.status {
        return None;
    }
    let price = after.price.clone()?;
    let actor = history.map_or("system", |h| h.actor.as_str());
    let at = after.updated_at;
    match (before, after.status) {
        (Status::Draft, Status::Annullata) => None,
        (Status::Draft, _) => Some(Transaction::debit(
            &after.id,
            &after.client_id,
            price,
            at,
            actor,
        )),
        (b, Status::Annullata) if b != Status::Annullata => Some(Transaction::refund(
            &after.id,
            &after.client_id,
            price,
            at,
            actor,
        )),
        _ => None,
    }
}

/// Refuses early, before files are written, when the wallet cannot pay `price`. The store checks
/// again inside the transaction that debits: this only saves work.
pub async fn precheck(state: &AppState, client_id: &str, price: &Quote) -> ApiResult<()> {
    let required = pricing::to_cents(price.totale());
    let balance = state.store.balance(client_id, None).await?;
    if balance < required {
        return Err(ApiError::insufficient_credit(balance, required));
    }
    Ok(())
}

/// An admin puts money in (`Topup`, positive) or corrects the balance (`Adjustment`, either
/// sign); `reason` is required and recorded with the transaction and in the audit trail. The
/// answer carries the wallet's balance right after the movement, read in its transaction.
///
/// Under an `Idempotency-Key` (`key`), as `POST /richiesta` takes one: the first call posts; a
/// retry with the same key and the same request (`fingerprint`: which client, which movement,
/// which body) gets the same movement and balance back and posts nothing; the same key with
/// another request is refused (422/908). The key is kept in the database, so it holds across
/// processes and restarts.
#[allow(clippy::too_many_arguments)]
pub async fn fund(
    state: &AppState,
    kind: Kind,
    client_id: &str,
    amount: &str,
    reason: &str,
    actor: &str,
    source: Option<String>,
    key: Option<PostKey>,
) -> ApiResult<Funded> {
    let (mut t, audit) = funding(state, kind, client_id, amount, reason, actor, source).await?;
    let Some(key) = key else {
        let posted = state
            .store
            .post(&t, Funds::NotRequired, Some(&audit))
            .await?;
        t.id = posted.id;
        return Ok(Funded {
            transaction: t,
            balance_after: posted.balance_after,
        });
    };
    match state.store.post_keyed(&t, &audit, &key).await? {
        Keyed::Posted { id, balance_after } => {
            t.id = id;
            Ok(Funded {
                transaction: t,
                balance_after,
            })
        }
        Keyed::Replayed {
            transaction,
            balance_after,
        } => Ok(Funded {
            transaction: *transaction,
            balance_after,
        }),
        Keyed::KeyReused => Err(ApiError::idempotency_mismatch()),
    }
}

/// A top-up or an adjustment and the wallet's balance right after it.
pub struct Funded {
    pub transaction: Transaction,
    pub balance_after: i64,
}

/// The checked transaction of a top-up or an adjustment, and its audit entry.
async fn funding(
    state: &AppState,
    kind: Kind,
    client_id: &str,
    amount: &str,
    reason: &str,
    actor: &str,
    source: Option<String>,
) -> ApiResult<(Transaction, AuditEvent)> {
    if state.store.get_client(client_id).await?.is_none() {
        return Err(ApiError::not_found("no such client"));
    }
    let euro = pricing::parse_amount(amount)
        .map_err(|m| ApiError::invalid_member("importo", "invalid_amount", m))?;
    if kind == Kind::Topup && euro.is_sign_negative() {
        return Err(ApiError::invalid_member(
            "importo",
            "negative_topup",
            "a top-up is positive; take money out with an adjustment",
        ));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 || reason.chars().any(char::is_control) {
        return Err(ApiError::invalid_member(
            "motivo",
            "invalid_reason",
            "a reason of 1 to 500 characters, without control characters, is required",
        ));
    }
    let cents = pricing::to_cents(euro);
    let now = state.clock.now();
    let t = Transaction::funding(kind, client_id, cents, reason, now, actor);
    let audit = AuditEvent {
        at: now,
        actor: actor.to_string(),
        action: format!("wallet_{}", kind.as_db()),
        request_id: None,
        detail: format!("client {client_id}: {cents} cents"),
        source,
    };
    Ok((t, audit))
}

/// Options the service does not offer, as `details` (412/250 on `POST /richiesta`).
pub fn unknown_options(unknown: Vec<pricing::UnknownOption>) -> Vec<Detail> {
    unknown
        .into_iter()
        .map(|u| Detail {
            campo: format!("opzioni.{}", u.0),
            codice: "unknown_option".into(),
            messaggio: "this service offers no such option".into(),
        })
        .collect()
}
