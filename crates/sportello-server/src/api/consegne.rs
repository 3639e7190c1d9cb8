//! The client's delivery log, `GET /consegne`, and `POST /consegne/{id}/ripeti` (an extension:
//! the commercial API has no such routes).

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use sportello_store::DeliveryFilter;

use super::{ok, paging};
use crate::auth::ClientCaller;
use crate::error::ApiResult;
use crate::extract::Query;
use crate::service::deliveries::{self, Consegna};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ConsegneParams {
    /// Only this request's deliveries (its `_id`).
    pub richiesta: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub stato: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// The deliveries of the caller's requests.
///
/// Callbacks, webhooks and e-mails, newest first, with their attempts and next attempt; filter by
/// `richiesta` and `stato` (`pending`, `delivered`, `failed`).
#[utoipa::path(get, path = "/consegne", tag = "consegne", params(ConsegneParams),
    responses((status = 200, description = "A page of deliveries", body = inline(crate::envelope::Envelope<Vec<Consegna>>)),
        (status = 404, description = "no such request (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914]))),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ClientCaller,
    Query(p): Query<ConsegneParams>,
) -> ApiResult<Response> {
    let (page, per_page) = paging(p.page, p.per_page, state.limits.max_page_size);
    let filter = DeliveryFilter {
        client_id: None,
        live: None,
        request_id: p.richiesta,
        status: deliveries::parse_status(p.stato.as_deref())?,
        limit: per_page,
        offset: (page - 1).saturating_mul(per_page),
    };
    Ok(ok(deliveries::list_own(&state, &caller, filter).await?))
}

/// Sends a delivery again now.
///
/// Even after its attempts ran out; the delivery is due at once and the worker sends it on its next
/// pass. At most 3 replays of one delivery an hour: beyond, 429/918 with `Retry-After`.
#[utoipa::path(post, path = "/consegne/{id}/ripeti", tag = "consegne",
    params(("id" = String, Path)),
    responses((status = 200, description = "The delivery, due now", body = inline(crate::envelope::Envelope<Consegna>)),
        (status = 404, description = "no such delivery (914)", body = crate::envelope::ErrorEnvelope),
        (status = 429, description = "replayed 3 times in the last hour already (918); `Retry-After` says when the next is allowed", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 918]))),
    security(("bearer" = [])))]
pub async fn replay(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(deliveries::replay(&state, &id, Some(&caller)).await?))
}
