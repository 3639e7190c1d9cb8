//! The client's money: `GET /visure/{hash}/preventivo` (a quote), `GET /conto` (the wallet),
//! `GET /conto/estratti/{mese}` (the monthly statement, JSON or CSV).

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sportello_domain::pricing;
use utoipa::ToSchema;

use super::ok;
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::service::statements::{self, ChiamateDaFatturare, Month, Party, Statement};
use crate::service::wallet;
use crate::state::AppState;
use crate::wire::{money, Money, Prezzo};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct QuoteParams {
    /// The chosen options, comma-separated (`opzione_0,opzione_1`), as `opzioni` names them in
    /// `POST /richiesta`.
    pub opzioni: Option<String>,
}

/// `GET /visure/{hash}/preventivo`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preventivo {
    pub hash_visura: String,
    pub nome_visura: String,
    pub opzioni: Vec<String>,
    #[serde(flatten)]
    pub prezzo: Prezzo,
    pub valuta: String,
}

/// A quote for a service.
///
/// What a request with these options would cost, line by line with VAT, without creating it.
#[utoipa::path(get, path = "/visure/{hash_visura}/preventivo", tag = "conto",
    params(("hash_visura" = String, Path, description = "The service's hash (or an alias)"), QuoteParams),
    responses(
        (status = 200, description = "The quote", body = inline(crate::envelope::Envelope<Preventivo>)),
        (status = 400, description = "wrong hash_visura (200), an option the service does not offer (912)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([200]))),
    security(("bearer" = [])))]
pub async fn quote(
    State(state): State<AppState>,
    _caller: ClientCaller,
    Path(hash): Path<String>,
    Query(p): Query<QuoteParams>,
) -> ApiResult<Response> {
    let service = state.catalog.get(&hash).ok_or_else(ApiError::wrong_hash)?;
    let opzioni: Vec<String> = p
        .opzioni
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let q = pricing::quote(service, &opzioni).map_err(|u| {
        ApiError::bad_query("the service offers no such option")
            .with_details(wallet::unknown_options(u))
    })?;
    Ok(ok(Preventivo {
        hash_visura: hash,
        nome_visura: service.nome_visura.clone(),
        opzioni,
        prezzo: Prezzo::from_quote(&q),
        valuta: "EUR".into(),
    }))
}

/// `GET /conto`: the wallet.
#[derive(Debug, Serialize, ToSchema)]
pub struct Conto {
    pub cliente: Party,
    /// The prepaid balance, in euro: what live requests and API calls are paid from.
    pub saldo: Money,
    /// Calls counted and not yet billed (each day is billed once it is over).
    pub chiamate_da_fatturare: Vec<ChiamateDaFatturare>,
}

pub async fn conto_of(state: &AppState, client_id: &str) -> ApiResult<Conto> {
    let client = state
        .store
        .get_client(client_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such client"))?;
    Ok(Conto {
        saldo: money(pricing::from_cents(
            state.store.balance(client_id, None).await?,
        )),
        chiamate_da_fatturare: statements::unbilled(state, client_id).await?,
        cliente: Party {
            id: client.id,
            nome: client.name,
        },
    })
}

impl Conto {
    /// What a test token sees: the sandbox, where nothing is paid and no call is metered. The
    /// live wallet is not its to read (a test token is the one handed to developers).
    pub fn sandbox(caller: &ClientCaller) -> Conto {
        Conto {
            cliente: Party {
                id: caller.client.id.clone(),
                nome: caller.client.name.clone(),
            },
            saldo: money(rust_decimal::Decimal::ZERO),
            chiamate_da_fatturare: Vec::new(),
        }
    }
}

/// The caller's wallet.
///
/// The prepaid balance live requests and API calls are paid from, and the calls counted but not yet
/// billed (each day is billed once it is over). With a test token, the sandbox's: the same shape,
/// a balance of 0 and no calls (test requests and calls are never paid).
#[utoipa::path(get, path = "/conto", tag = "conto",
    responses((status = 200, description = "The wallet", body = inline(crate::envelope::Envelope<Conto>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn conto(State(state): State<AppState>, caller: ClientCaller) -> ApiResult<Response> {
    if !caller.token.live {
        return Ok(ok(Conto::sandbox(&caller)));
    }
    Ok(ok(conto_of(&state, &caller.client.id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FormatParams {
    /// `json` (default) or `csv`.
    pub formato: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl FormatParams {
    pub fn format(&self) -> ApiResult<Format> {
        match self.formato.as_deref().map(str::trim) {
            None | Some("") | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some(_) => Err(ApiError::bad_query("formato must be json or csv")),
        }
    }
}

/// A CSV download.
pub fn csv(filename: &str, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

pub fn statement_response(s: Statement, format: Format) -> Response {
    match format {
        Format::Json => ok(s),
        Format::Csv => csv(
            &format!("estratto-{}-{}.csv", s.cliente.id, s.mese),
            statements::statement_csv(&s),
        ),
    }
}

/// The caller's statement for a month.
///
/// The caller's statement for a month: every request debited with its lines, refunds, fees,
/// top-ups, adjustments, VAT totals, opening and closing balance.
#[utoipa::path(get, path = "/conto/estratti/{mese}", tag = "conto",
    params(("mese" = String, Path, description = "The month, YYYY-MM (UTC)"), FormatParams),
    responses(
        (status = 200, description = "The statement (JSON, or CSV with formato=csv)", body = inline(crate::envelope::Envelope<Statement>)),
        (status = 400, description = "malformed month (915) or formato (912)", body = crate::envelope::ErrorEnvelope),
        (status = 403, description = "a test token (904): statements list live requests", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([915]))),
    security(("bearer" = [])))]
pub async fn estratto(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(mese): Path<String>,
    Query(p): Query<FormatParams>,
) -> ApiResult<Response> {
    if !caller.token.live {
        return Err(ApiError::live_only("a statement"));
    }
    let format = p.format()?;
    let month = Month::parse(&mese)?;
    let s = statements::statement(&state, &caller.client.id, month).await?;
    Ok(statement_response(s, format))
}
