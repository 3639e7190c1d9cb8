//! The operator API, under `/operator`: the queue of the operator's provider and the actions on
//! a request. The back office will sit on the same service functions.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ok, paging, parse_statuses};
use crate::auth::OperatorCaller;
use crate::error::ApiResult;
use crate::extract::{JsonBody, Query};
use crate::service::operator::{self, OperatorRequest, QueueItem, StateCount};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct QueueParams {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
    /// `in_erogazione`, `in_attesa_integrazione`, … comma-separated; default: every open state.
    pub stato: Option<String>,
    pub hash_visura: Option<String>,
    /// `me` (taken by me) or `none` (not taken yet).
    pub assigned: Option<String>,
    /// `true`: only requests the escalation job marked overdue; `false`: only the others.
    pub overdue: Option<bool>,
}

/// The provider's queue.
///
/// Overdue first, then by due time, then oldest first; filters by state, service, assignment (`me`,
/// `none`) and `overdue`.
#[utoipa::path(get, path = "/operator/requests", tag = "operatore", params(QueueParams),
    responses((status = 200, description = "The queue", body = inline(crate::envelope::Envelope<Vec<QueueItem>>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn queue(
    State(state): State<AppState>,
    op: OperatorCaller,
    Query(p): Query<QueueParams>,
) -> ApiResult<Response> {
    let (page, per_page) = paging(p.page, p.per_page, state.limits.max_page_size);
    let items = operator::queue(
        &state,
        &op,
        operator::QueueQuery {
            statuses: parse_statuses(p.stato.as_deref())?,
            hash_visura: p.hash_visura,
            assigned: p.assigned,
            overdue: p.overdue,
            page,
            per_page,
        },
    )
    .await?;
    Ok(ok(items))
}

/// The queue counted per state.
///
/// With how many of each state are overdue.
#[utoipa::path(get, path = "/operator/counts", tag = "operatore",
    responses((status = 200, description = "Per state", body = inline(crate::envelope::Envelope<Vec<StateCount>>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn counts(State(state): State<AppState>, op: OperatorCaller) -> ApiResult<Response> {
    Ok(ok(operator::counts(&state, &op).await?))
}

/// One request of the provider, for working it.
///
/// Its inputs (by the catalog's names, in `ordine` order), files, results, history and SLA. Reading
/// it is recorded in the audit trail.
#[utoipa::path(get, path = "/operator/requests/{id}", tag = "operatore",
    params(("id" = String, Path)),
    responses((status = 200, description = "The request", body = inline(crate::envelope::Envelope<OperatorRequest>)),
        (status = 404, description = "no such request for this provider (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914]))),
    security(("bearer" = [])))]
pub async fn detail(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(operator::detail(&state, &op, &id).await?))
}

/// Takes a request.
///
/// From now on it is this operator's; of two operators racing, the loser gets 409/907.
#[utoipa::path(post, path = "/operator/requests/{id}/claim", tag = "operatore",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "Taken", body = inline(crate::envelope::Envelope<OperatorRequest>)),
        (status = 409, description = "already taken, or not in a state that allows it (907)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request for this provider (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([907, 913, 914]))),
    security(("bearer" = [])))]
pub async fn claim(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(operator::claim(&state, &op, &id).await?))
}

/// Gives a request back to the queue.
///
/// Only the operator who took it can release it.
#[utoipa::path(post, path = "/operator/requests/{id}/release", tag = "operatore",
    params(("id" = String, Path)),
    responses((status = 200, description = "Released", body = inline(crate::envelope::Envelope<OperatorRequest>)),
        (status = 404, description = "no such request for this provider (914)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "not allowed in the request's state, or taken by another operator (907)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([907, 913, 914]))),
    security(("bearer" = [])))]
pub async fn release(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(operator::release(&state, &op, &id).await?))
}

/// Asks the client for more.
///
/// `{"messaggio": "…", "campi": ["$5"], "documenti": [{"codice": "contratto_locazione",
/// "descrizione": "…"}]}`: the request waits for the client (`in_attesa_integrazione`) and the SLA
/// clock stops until the client has answered: the fields with `PUT /richiesta/{id}`, each
/// document with `POST /richiesta/{id}/documenti`. A document of the service's checklist may be
/// asked by its `codice` alone (its description is the checklist's); at most 20.
#[utoipa::path(post, path = "/operator/requests/{id}/integration", tag = "operatore",
    params(("id" = String, Path)), request_body = Object,
    responses((status = 200, description = "Waiting for the client", body = inline(crate::envelope::Envelope<OperatorRequest>)),
        (status = 400, description = "an invalid member (915); `details` names it", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request for this provider (914)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "not allowed in the request's state, or taken by another operator (907)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([907, 913, 914, 915]))),
    security(("bearer" = [])))]
pub async fn ask_integration(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path(id): Path<String>,
    JsonBody(body, _): JsonBody<operator::AskIntegration>,
) -> ApiResult<Response> {
    let input = operator::AskIntegration::from_members(body)?;
    Ok(ok(operator::ask_integration(&state, &op, &id, input).await?))
}

/// Attaches a result file.
///
/// `{"nome": "esito.pdf", "file": "<base64 or data: URL>"}`; PDF, JPEG or PNG, checked by its bytes
/// (412/229 otherwise).
#[utoipa::path(post, path = "/operator/requests/{id}/results", tag = "operatore",
    params(("id" = String, Path)), request_body = Object,
    responses((status = 200, description = "Attached", body = inline(crate::envelope::Envelope<OperatorRequest>)),
        (status = 400, description = "an invalid member (915); `details` names it", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request for this provider (914)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "not allowed in the request's state, or taken by another operator (907)", body = crate::envelope::ErrorEnvelope),
        (status = 412, description = "the file is not a PDF, JPEG or PNG, or is too large (229); `details` says why", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([229, 907, 913, 914, 915]))),
    security(("bearer" = [])))]
pub async fn attach_result(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path(id): Path<String>,
    JsonBody(body, _): JsonBody<operator::ResultFile>,
) -> ApiResult<Response> {
    let input = operator::ResultFile::from_members(body)?;
    Ok(ok(operator::attach_result(&state, &op, &id, input).await?))
}

/// Closes a request as processed.
///
/// "Visura evasa": needs at least one result, builds the result archive and notifies the client.
/// Body `{"esito": {"codice": "0", "info": "OK"}}` (optional). A practice whose service needs the
/// person's signed mandate (`mandato_richiesto`) is refused with 409/922 while it holds none
/// (neither the form's copy nor a document `mandato`): ask for it with an integration.
#[utoipa::path(post, path = "/operator/requests/{id}/close", tag = "operatore",
    params(("id" = String, Path)), request_body = Object,
    responses((status = 200, description = "Closed", body = inline(crate::envelope::Envelope<OperatorRequest>)),
        (status = 400, description = "an invalid member (915); `details` names it", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request for this provider (914)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "not allowed in the request's state, or taken by another operator (907); the mandate is missing (922)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([907, 913, 914, 915, 922]))),
    security(("bearer" = [])))]
pub async fn close(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path(id): Path<String>,
    JsonBody(body, _): JsonBody<operator::Close>,
) -> ApiResult<Response> {
    let input = operator::Close::from_members(body)?;
    Ok(ok(operator::close(&state, &op, &id, input).await?))
}

/// Cancels a request.
///
/// `{"motivo": "…"}` (required): the request is cancelled, a live one refunded, and the client
/// notified.
#[utoipa::path(post, path = "/operator/requests/{id}/cancel", tag = "operatore",
    params(("id" = String, Path)), request_body = Object,
    responses((status = 200, description = "Cancelled", body = inline(crate::envelope::Envelope<OperatorRequest>)),
        (status = 400, description = "an invalid member (915); `details` names it", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request for this provider (914)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "not allowed in the request's state, or taken by another operator (907)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([907, 913, 914, 915]))),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path(id): Path<String>,
    JsonBody(body, _): JsonBody<operator::Cancel>,
) -> ApiResult<Response> {
    let input = operator::Cancel::from_members(body)?;
    Ok(ok(operator::cancel(&state, &op, &id, input).await?))
}

/// An input or result file, streamed.
///
/// Decrypted on the fly; the download is recorded in the audit trail.
#[utoipa::path(get, path = "/operator/requests/{id}/files/{file_id}", tag = "operatore",
    params(("id" = String, Path), ("file_id" = String, Path)),
    responses((status = 200, description = "The file"),
        (status = 404, description = "no such request or file for this provider (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 917]))),
    security(("bearer" = [])))]
pub async fn file(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path((id, file_id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (f, stream) = operator::file(&state, &op, &id, &file_id).await?;
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&f.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(f.size));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The practice's file, as a zip.
///
/// For the provider's own archive: every file of the request under its kind's folder
/// (`input/`, `result/`, …), the result archive (`documento.zip`), the filled mandate
/// (`mandato.pdf`, when the provider has one) and `fascicolo.pdf` (the request's data, status,
/// history, the privacy notice and mandate versions it was shown, its audit entries; in
/// Italian, A4). Streamed (no `Content-Length`); a stored file found damaged after the first
/// byte cuts the answer short. Recorded in the audit trail (`download_fascicolo`) and as the
/// provider's export of the request, which retention waits for (`retention_requires_export`).
/// 410/917 once the request's personal data is purged.
#[utoipa::path(get, path = "/operator/requests/{id}/fascicolo", tag = "operatore",
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "The case file", content_type = "application/zip"),
        (status = 404, description = "no such request for this provider (914)", body = crate::envelope::ErrorEnvelope),
        (status = 410, description = "the request's personal data was purged (917)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 917]))),
    security(("bearer" = [])))]
pub async fn fascicolo(
    State(state): State<AppState>,
    op: OperatorCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let archive = crate::service::fascicolo::fascicolo(&state, &op, &id).await?;
    Ok(zip_response(
        crate::service::archive::stream(&state.blobs, archive),
        &format!("fascicolo-{id}.zip"),
    ))
}

/// A streamed zip as an attachment named `name` (ASCII, no quotes: an id and a fixed word).
pub(crate) fn zip_response(
    body: futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>>,
    name: &str,
) -> Response {
    let mut response = (StatusCode::OK, Body::from_stream(body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
