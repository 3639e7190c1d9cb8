//! Health, and the answers for routes and methods that do not exist.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::ok;
use crate::error::ApiError;
use crate::state::AppState;

/// Liveness.
///
/// 200 when the process and its database answer. No token, never rate-limited.
#[utoipa::path(get, path = "/healthz", tag = "sistema",
    responses((status = 200, description = "Up: `{status, servizi}`", body = Object),
        (status = 500, description = "The database does not answer: 999 in the error envelope")),
    extensions(("x-error-codes" = json!([]))))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.list_providers().await {
        Ok(_) => ok(serde_json::json!({"status": "ok", "servizi": state.catalog.services().len()})),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Readiness.
///
/// The database answers and the file store takes a write: a load balancer sends traffic only to
/// a process that answers 200 here. No token, never rate-limited.
#[utoipa::path(get, path = "/readyz", tag = "sistema",
    responses((status = 200, description = "Ready: database and file store answer", body = Object),
              (status = 503, description = "Not ready (919): `message` names what does not answer", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([919]))))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if let Err(e) = state.store.list_providers().await {
        tracing::warn!(error = %e, "readiness: database");
        return ApiError::not_ready("the database").into_response();
    }
    if let Err(e) = state.blobs.probe().await {
        tracing::warn!(error = %e, "readiness: file store");
        return ApiError::not_ready("the file store").into_response();
    }
    ok(serde_json::json!({"database": "ok", "files": "ok"}))
}

pub async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
