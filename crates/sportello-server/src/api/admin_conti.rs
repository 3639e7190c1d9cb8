//! The admin API's money: wallets, top-ups and adjustments, any client's statement, a
//! provider's settlement, the check of the books.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Serialize;
use sportello_domain::pricing::from_cents;
use sportello_store::ledger::{Kind, PostKey};
use utoipa::ToSchema;

use super::conto::{conto_of, csv, statement_response, Conto, Format, FormatParams};
use super::ok;
use crate::auth::AdminCaller;
use crate::body::members::{Member, Read, Shape};
use crate::body::BodyLimit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonShape, Query, RawJson};
use crate::service::statements::{self, Month, Settlement, Statement};
use crate::service::wallet;
use crate::state::AppState;
use crate::wire::{money, Money};

/// A client's wallet.
///
/// The balance and the calls not yet billed, as the client sees them at `GET /conto`.
#[utoipa::path(get, path = "/admin/clients/{id}/wallet", tag = "admin",
    params(("id" = String, Path, description = "The client's id")),
    responses(
        (status = 200, description = "The wallet", body = inline(crate::envelope::Envelope<Conto>)),
        (status = 404, description = "no such client (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914]))),
    security(("bearer" = [])))]
pub async fn wallet(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(conto_of(&state, &id).await?))
}

/// A posted top-up or adjustment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Movement {
    pub id: i64,
    pub timestamp: i64,
    pub tipo: String,
    pub importo: Money,
    pub motivo: String,
    /// The balance after it.
    pub saldo: Money,
}

/// The body of a top-up or an adjustment.
pub struct Funding;

impl Shape for Funding {
    const MEMBERS: &'static [(&'static str, Read)] =
        &[("importo", Read::Value), ("motivo", Read::Value)];
}

impl JsonShape for Funding {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

async fn fund(
    state: &AppState,
    admin: &AdminCaller,
    kind: Kind,
    client_id: &str,
    headers: &HeaderMap,
    raw: RawJson<Funding>,
) -> ApiResult<Response> {
    let key = super::richiesta::idempotency_key(headers)?;
    let body = &raw.members;
    let importo = match body.get("importo") {
        Some(Member::String(s)) => s.clone(),
        Some(Member::Number(n)) => n.to_string(),
        _ => {
            return Err(ApiError::invalid_member(
                "importo",
                "invalid_amount",
                "an amount of euro is required (`50`, `\"12.30\"`)",
            ))
        }
    };
    let motivo = body.get("motivo").and_then(Member::as_str).unwrap_or("");
    let actor = format!("admin:{}", admin.token.id);
    // The same key for another client or the other movement is another request.
    let key = key.map(|key| PostKey {
        fingerprint: sportello_store::ids::sha256_hex(
            format!("{}\n{client_id}\n{}", kind.as_db(), raw.sha256).as_bytes(),
        ),
        key,
    });
    let funded = wallet::fund(
        state,
        kind,
        client_id,
        &importo,
        motivo,
        &actor,
        admin.source.clone(),
        key,
    )
    .await?;
    let t = funded.transaction;
    Ok(ok(Movement {
        id: t.id,
        timestamp: t.at,
        tipo: t.kind.as_db().to_string(),
        importo: money(from_cents(t.wallet_effect())),
        motivo: t.reason.unwrap_or_default(),
        saldo: money(from_cents(funded.balance_after)),
    }))
}

/// Records money received from a client.
///
/// `{"importo": "50.00", "motivo": "bonifico 123"}`: a positive amount of euro with at most two
/// decimals and a reason; written to the ledger and the audit trail. With an `Idempotency-Key`
/// header, a retry with the same body gets the very same answer and credits nothing.
#[utoipa::path(post, path = "/admin/clients/{id}/topup", tag = "admin",
    params(("id" = String, Path, description = "The client's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first answer")),
    request_body(content = Object, description = "importo (positive euro, at most two decimals), motivo (required)"),
    responses(
        (status = 200, description = "The top-up", body = inline(crate::envelope::Envelope<Movement>)),
        (status = 400, description = "invalid importo or motivo (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such client (914)", body = crate::envelope::ErrorEnvelope),
        (status = 422, description = "Idempotency-Key reused with another body (908)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([908, 909, 914, 915]))),
    security(("bearer" = [])))]
pub async fn topup(
    State(state): State<AppState>,
    admin: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: RawJson<Funding>,
) -> ApiResult<Response> {
    fund(&state, &admin, Kind::Topup, &id, &headers, raw).await
}

/// Corrects a client's balance.
///
/// `{"importo": "-5.00", "motivo": "…"}`: either sign, at most two decimals, with a reason; written
/// to the ledger and the audit trail. With an `Idempotency-Key` header, a retry with the same
/// body gets the very same answer and moves nothing.
#[utoipa::path(post, path = "/admin/clients/{id}/adjustment", tag = "admin",
    params(("id" = String, Path, description = "The client's id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first answer")),
    request_body(content = Object, description = "importo (euro, either sign, at most two decimals), motivo (required)"),
    responses(
        (status = 200, description = "The adjustment", body = inline(crate::envelope::Envelope<Movement>)),
        (status = 400, description = "invalid importo or motivo (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such client (914)", body = crate::envelope::ErrorEnvelope),
        (status = 422, description = "Idempotency-Key reused with another body (908)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([908, 909, 914, 915]))),
    security(("bearer" = [])))]
pub async fn adjustment(
    State(state): State<AppState>,
    admin: AdminCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
    raw: RawJson<Funding>,
) -> ApiResult<Response> {
    fund(&state, &admin, Kind::Adjustment, &id, &headers, raw).await
}

/// Any client's statement for a month.
///
/// The same document as the client's `GET /conto/estratti/{mese}`; `?formato=csv` for CSV.
#[utoipa::path(get, path = "/admin/clients/{id}/statements/{mese}", tag = "admin",
    params(("id" = String, Path, description = "The client's id"),
           ("mese" = String, Path, description = "The month, YYYY-MM (UTC)"), FormatParams),
    responses(
        (status = 200, description = "The statement (JSON, or CSV with formato=csv)", body = inline(crate::envelope::Envelope<Statement>)),
        (status = 404, description = "no such client (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 915]))),
    security(("bearer" = [])))]
pub async fn statement(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path((id, mese)): Path<(String, String)>,
    Query(p): Query<FormatParams>,
) -> ApiResult<Response> {
    let format = p.format()?;
    let month = Month::parse(&mese)?;
    let s = statements::statement(&state, &id, month).await?;
    Ok(statement_response(s, format))
}

/// What a provider processed in a month.
///
/// The live requests the provider closed as processed in the month, with their taxable amounts and
/// sums per service, for settlement; `?formato=csv` for CSV.
#[utoipa::path(get, path = "/admin/providers/{id}/settlements/{mese}", tag = "admin",
    params(("id" = String, Path, description = "The provider's id"),
           ("mese" = String, Path, description = "The month, YYYY-MM (UTC)"), FormatParams),
    responses(
        (status = 200, description = "The settlement (JSON, or CSV with formato=csv)", body = inline(crate::envelope::Envelope<Settlement>)),
        (status = 404, description = "no such provider (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 915]))),
    security(("bearer" = [])))]
pub async fn settlement(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path((id, mese)): Path<(String, String)>,
    Query(p): Query<FormatParams>,
) -> ApiResult<Response> {
    let format = p.format()?;
    let month = Month::parse(&mese)?;
    let s = statements::settlement(&state, &id, month).await?;
    Ok(match format {
        Format::Json => ok(s),
        Format::Csv => csv(
            &format!("liquidazione-{}-{}.csv", s.fornitore.id, s.mese),
            statements::settlement_csv(&s),
        ),
    })
}

/// The check of the books.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerCheck {
    pub in_pareggio: bool,
    pub transazioni: u64,
    pub scritture: u64,
    /// The sum of every leg, in euro: zero when the books balance.
    pub totale: Money,
    pub problemi: Vec<String>,
}

/// Verifies the books.
///
/// Verifies the ledger: every transaction balances, every debit and refund belongs to a live
/// request, no submitted live request lacks its debit.
#[utoipa::path(get, path = "/admin/ledger/verify", tag = "admin",
    responses((status = 200, description = "The result", body = inline(crate::envelope::Envelope<LedgerCheck>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn verify(State(state): State<AppState>, _admin: AdminCaller) -> ApiResult<Response> {
    let c = state.store.check_ledger().await?;
    Ok(ok(LedgerCheck {
        in_pareggio: c.balanced(),
        transazioni: c.transactions,
        scritture: c.entries,
        totale: money(from_cents(c.total)),
        problemi: c.problems,
    }))
}
