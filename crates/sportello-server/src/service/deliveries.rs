//! The delivery log and replays (a client sees its own requests' deliveries; an admin any), and
//! the clients' webhook settings (endpoint, signing secret rotation).

use serde::Serialize;
use sportello_store::{DeliveryFilter, DeliveryRecord, DeliveryStatus, Replay, ReplayLimit};
use utoipa::ToSchema;

use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::outbox::{signing, ROTATION_GRACE_SECS};
use crate::state::AppState;

/// How often one delivery may be replayed, by its client and admins together. A replay makes
/// a call to a URL (or an e-mail to an address) the client chose: without a bound, a free test
/// token could have Sportello call a third party as often as it likes.
pub const REPLAY_LIMIT: ReplayLimit = ReplayLimit {
    max: 3,
    window_secs: 3600,
};

/// One delivery as the log shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Consegna {
    pub id: String,
    /// `request.processed`, `request.submitted`, … (see the README).
    pub evento: String,
    pub id_evento: String,
    /// The request's `_id`.
    pub richiesta: String,
    /// `callback` (the request's `callback_data`), `webhook` (the client's endpoint), `email`.
    pub canale: String,
    /// `pending`, `delivered` or `failed`.
    pub stato: String,
    pub tentativi: i64,
    pub ultimo_errore: Option<String>,
    /// The receiver's HTTP status at the last attempt.
    pub ultimo_codice_http: Option<i64>,
    pub ultimo_tentativo: Option<i64>,
    /// When the next attempt is due (null once delivered or failed).
    pub prossimo_tentativo: Option<i64>,
    pub consegnata: Option<i64>,
    pub creata: i64,
}

impl From<DeliveryRecord> for Consegna {
    fn from(d: DeliveryRecord) -> Consegna {
        Consegna {
            prossimo_tentativo: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            id: d.id,
            evento: d.event_type,
            id_evento: d.event_id,
            richiesta: d.request_id,
            canale: d.kind.as_str().to_string(),
            stato: d.status.as_str().to_string(),
            tentativi: d.attempts,
            ultimo_errore: d.last_error,
            ultimo_codice_http: d.last_status,
            ultimo_tentativo: d.last_attempt_at,
            consegnata: d.delivered_at,
            creata: d.created_at,
        }
    }
}

pub fn parse_status(raw: Option<&str>) -> ApiResult<Option<DeliveryStatus>> {
    raw.map(|s| {
        DeliveryStatus::parse(s.trim())
            .ok_or_else(|| ApiError::bad_query("stato must be pending, delivered or failed"))
    })
    .transpose()
}

pub async fn list(state: &AppState, filter: DeliveryFilter) -> ApiResult<Vec<Consegna>> {
    Ok(state
        .store
        .list_deliveries(&filter)
        .await?
        .into_iter()
        .map(Consegna::from)
        .collect())
}

/// The client's deliveries; with `request_id`, only that request's (another client's request
/// does not exist for it).
pub async fn list_own(
    state: &AppState,
    caller: &ClientCaller,
    mut filter: DeliveryFilter,
) -> ApiResult<Vec<Consegna>> {
    if let Some(id) = &filter.request_id {
        if super::tenancy::find_own(state, caller, id).await?.is_none() {
            return Err(ApiError::not_found("no such request"));
        }
    }
    filter.client_id = Some(caller.client.id.clone());
    // A test token sees test requests only, a live token live ones, as for the requests.
    filter.live = Some(caller.token.live);
    list(state, filter).await
}

/// Sends a delivery again now, even after its attempts ran out; at most [`REPLAY_LIMIT`] times
/// an hour (429/918 beyond, with `Retry-After`).
pub async fn replay(
    state: &AppState,
    id: &str,
    client: Option<&ClientCaller>,
) -> ApiResult<Consegna> {
    let found = state
        .store
        .get_delivery(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such delivery"))?;
    if let Some(caller) = client {
        // Visible only through a request the caller can see (same client, same environment).
        if super::tenancy::find_own(state, caller, &found.request_id)
            .await?
            .is_none()
        {
            return Err(ApiError::not_found("no such delivery"));
        }
    }
    let now = state.clock.now();
    match state
        .store
        .replay_delivery(&found.id, now, &REPLAY_LIMIT)
        .await?
    {
        Replay::Done => {}
        Replay::NotFound => return Err(ApiError::not_found("no such delivery")),
        Replay::Limited { retry_at } => {
            let wait = u64::try_from(retry_at.saturating_sub(now)).unwrap_or(0);
            return Err(ApiError::too_many_replays(REPLAY_LIMIT.max, wait.max(1)));
        }
    }
    let d = state
        .store
        .get_delivery(&found.id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such delivery"))?;
    Ok(d.into())
}

/// A client's webhook settings, without the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookInfo {
    pub client: String,
    pub url: Option<String>,
    /// Until when the secret before the last rotation still signs (two signatures meanwhile).
    pub segreto_precedente_fino: Option<i64>,
}

/// A new secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    pub client: String,
    /// `whsec_…`: verify `webhook-signature` with it (see the README).
    pub segreto: String,
    pub segreto_precedente_fino: Option<i64>,
}

/// Callback and webhook URLs are `https` unless the server allows plain `http`; refused when
/// given, so the client learns it at once rather than from a failed delivery.
pub fn check_scheme(state: &AppState, url: &str, campo: &str) -> ApiResult<()> {
    let plain = url
        .get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"));
    if plain && !state.limits.allow_http_callbacks {
        return Err(ApiError::invalid_member(
            campo,
            "callback_url_insecure",
            "the URL must be https (this server does not call plain http)",
        ));
    }
    Ok(())
}

async fn existing_client(state: &AppState, client_id: &str) -> ApiResult<()> {
    state
        .store
        .get_client(client_id)
        .await?
        .map(|_| ())
        .ok_or_else(|| ApiError::not_found("no such client"))
}

pub async fn webhook(state: &AppState, client_id: &str) -> ApiResult<WebhookInfo> {
    existing_client(state, client_id).await?;
    let s = state.store.webhook_settings(client_id).await?;
    Ok(WebhookInfo {
        client: s.client_id,
        url: s.url,
        segreto_precedente_fino: s.previous_until.filter(|u| *u > state.clock.now()),
    })
}

/// Sets (or, with None, removes) the client's default endpoint. The URL is checked for shape
/// here; its addresses are checked at every call.
pub async fn set_webhook(
    state: &AppState,
    client_id: &str,
    url: Option<&str>,
) -> ApiResult<WebhookInfo> {
    existing_client(state, client_id).await?;
    if let Some(u) = url {
        let parsed = url::Url::parse(u).ok().filter(|p| {
            matches!(p.scheme(), "https" | "http") && p.host().is_some() && u.len() <= 2048
        });
        if parsed.is_none() {
            return Err(ApiError::invalid_member(
                "url",
                "webhook_url_invalid",
                "url must be an absolute http(s) URL of at most 2048 characters",
            ));
        }
        check_scheme(state, u, "url")?;
    }
    state.store.set_webhook_url(client_id, url).await?;
    webhook(state, client_id).await
}

/// A new signing secret; the previous one keeps signing for a day, so receivers can switch.
pub async fn rotate_secret(state: &AppState, client_id: &str) -> ApiResult<NewSecret> {
    existing_client(state, client_id).await?;
    let until = state.clock.now().saturating_add(ROTATION_GRACE_SECS);
    let key = state
        .store
        .rotate_webhook_secret(client_id, Some(until))
        .await?;
    let info = webhook(state, client_id).await?;
    Ok(NewSecret {
        client: client_id.to_string(),
        segreto: signing::display_secret(key.expose()),
        segreto_precedente_fino: info.segreto_precedente_fino,
    })
}
