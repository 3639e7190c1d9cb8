//! The admin API of the outbox: every delivery, replays, and the clients' webhook endpoints
//! and signing secrets.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use sportello_store::DeliveryFilter;

use super::{ok, paging};
use crate::auth::AdminCaller;
use crate::body::members::{Member, Read, Shape};
use crate::body::BodyLimit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, JsonShape, Query};
use crate::service::deliveries::{self, Consegna, NewSecret, WebhookInfo};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeliveriesParams {
    pub client: Option<String>,
    pub richiesta: Option<String>,
    /// `pending`, `delivered` or `failed`.
    pub stato: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Every delivery.
///
/// Callbacks, webhooks and e-mails of every client, newest first; filters by request and state.
#[utoipa::path(get, path = "/admin/deliveries", tag = "admin", params(DeliveriesParams),
    responses((status = 200, description = "A page of deliveries", body = inline(crate::envelope::Envelope<Vec<Consegna>>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Query(p): Query<DeliveriesParams>,
) -> ApiResult<Response> {
    let (page, per_page) = paging(p.page, p.per_page, state.limits.max_page_size);
    let filter = DeliveryFilter {
        client_id: p.client,
        live: None,
        request_id: p.richiesta,
        status: deliveries::parse_status(p.stato.as_deref())?,
        limit: per_page,
        offset: (page - 1).saturating_mul(per_page),
    };
    Ok(ok(deliveries::list(&state, filter).await?))
}

/// Sends any delivery again now.
///
/// Even after its attempts ran out; the worker sends it on its next pass. At most 3 replays of one
/// delivery an hour, the client's and the admins' together: beyond, 429/918 with `Retry-After`.
#[utoipa::path(post, path = "/admin/deliveries/{id}/replay", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 200, description = "The delivery, due now", body = inline(crate::envelope::Envelope<Consegna>)),
        (status = 404, description = "no such delivery (914)", body = crate::envelope::ErrorEnvelope),
        (status = 429, description = "replayed 3 times in the last hour already (918); `Retry-After` says when the next is allowed", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 918]))),
    security(("bearer" = [])))]
pub async fn replay(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(deliveries::replay(&state, &id, None).await?))
}

/// A client's webhook settings.
///
/// Its default endpoint and whether a previous signing secret is still valid; the secret itself is
/// never shown again.
#[utoipa::path(get, path = "/admin/clients/{id}/webhook", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 200, description = "The settings", body = inline(crate::envelope::Envelope<WebhookInfo>)),
        (status = 404, description = "no such client (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914]))),
    security(("bearer" = [])))]
pub async fn webhook(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(deliveries::webhook(&state, &id).await?))
}

/// The body of `PUT /admin/clients/{id}/webhook`.
pub struct WebhookEndpoint;

impl Shape for WebhookEndpoint {
    const MEMBERS: &'static [(&'static str, Read)] = &[("url", Read::Value)];
}

impl JsonShape for WebhookEndpoint {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

/// Sets a client's webhook endpoint.
///
/// `{"url": "https://…"}`, or `{"url": null}` to remove it. The URL is checked by the SSRF guard
/// (400/915 otherwise).
#[utoipa::path(put, path = "/admin/clients/{id}/webhook", tag = "admin",
    params(("id" = String, Path)),
    request_body(content = Object, description = "{\"url\": \"https://…\" | null}"),
    responses((status = 200, description = "The settings", body = inline(crate::envelope::Envelope<WebhookInfo>)),
        (status = 400, description = "invalid url (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such client (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 915]))),
    security(("bearer" = [])))]
pub async fn set_webhook(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
    JsonBody(body, _): JsonBody<WebhookEndpoint>,
) -> ApiResult<Response> {
    let url = match body.get("url") {
        Some(Member::String(u)) => Some(u.trim().to_string()),
        Some(Member::Null) => None,
        _ => {
            return Err(ApiError::invalid_member(
                "url",
                "webhook_url_required",
                "url is required: a URL, or null to remove the endpoint",
            ))
        }
    };
    Ok(ok(
        deliveries::set_webhook(&state, &id, url.as_deref()).await?
    ))
}

/// Rotates a client's signing secret.
///
/// The new secret is shown once; the previous one still signs for 24 hours, so the client can
/// switch without losing a callback.
#[utoipa::path(post, path = "/admin/clients/{id}/webhook/secret", tag = "admin",
    params(("id" = String, Path)),
    responses((status = 200, description = "The new secret", body = inline(crate::envelope::Envelope<NewSecret>)),
        (status = 404, description = "no such client (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914]))),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(deliveries::rotate_secret(&state, &id).await?))
}
