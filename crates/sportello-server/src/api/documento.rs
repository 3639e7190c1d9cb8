//! `GET /documento/{_id}` (base64 JSON, as the commercial API) and
//! `GET /documento/{_id}/download` (the same zip, streamed).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

use crate::auth::ClientCaller;
use crate::error::ApiResult;
use crate::service::documents;
use crate::state::AppState;
use crate::wire::Documento;

/// The result of a processed request.
///
/// `{nome, dimensione, file, sha256}`: `file` is the base64 of a zip of the result documents, as in
/// the commercial API. Before the request is processed, 422/247; after its retention period,
/// 410/917.
#[utoipa::path(get, path = "/documento/{id}", tag = "documenti",
    params(("id" = String, Path, description = "The request's `_id`")),
    responses(
        (status = 200, description = "The result archive, base64", body = inline(crate::envelope::Envelope<Documento>)),
        (status = 404, description = "no such request (244)", body = crate::envelope::ErrorEnvelope),
        (status = 422, description = "document not yet available (247)", body = crate::envelope::ErrorEnvelope),
        (status = 400, description = "Invalid id (243)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([243, 244, 247, 917]))),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = documents::get(&state, &caller, &id).await?;
    let mut response = (StatusCode::OK, Body::from_stream(d.body)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(d.length));
    Ok(response)
}

/// The result archive, streamed.
///
/// The archive as `application/zip`, with `Content-Length` and its SHA-256 (hex in
/// `X-Checksum-Sha256`, RFC 9530 form in `Repr-Digest`).
#[utoipa::path(get, path = "/documento/{id}/download", tag = "documenti",
    params(("id" = String, Path, description = "The request's `_id`")),
    responses(
        (status = 200, description = "The zip archive", content_type = "application/zip"),
        (status = 422, description = "document not yet available (247)", body = crate::envelope::ErrorEnvelope),
        (status = 400, description = "Invalid id (243)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request (244)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([243, 244, 247, 917]))),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let d = documents::download(&state, &caller, &id).await?;
    let digest = hex::decode(&d.sha256)
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
        .unwrap_or_default();
    let mut response = (StatusCode::OK, Body::from_stream(d.stream)).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(d.size));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", d.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&d.sha256) {
        h.insert("x-checksum-sha256", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("sha-256=:{digest}:")) {
        h.insert("repr-digest", v);
    }
    Ok(response)
}
