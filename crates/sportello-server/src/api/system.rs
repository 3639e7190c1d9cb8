//! Health, and the answers for routes and methods that do not exist.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::ok;
use crate::error::ApiError;
use crate::state::AppState;

/// Liveness and a cheap database check.
#[utoipa::path(get, path = "/healthz", tag = "sistema",
    responses((status = 200, description = "Up"), (status = 500, description = "The database does not answer")))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.list_providers().await {
        Ok(_) => ok(serde_json::json!({"status": "ok", "servizi": state.catalog.services().len()})),
        Err(e) => ApiError::from(e).into_response(),
    }
}

pub async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
