//! Health, and the answers for routes and methods that do not exist.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::ok;
use crate::error::ApiError;
use crate::state::AppState;

/// Liveness.
///
/// 200 whenever the process answers: it reads nothing, not even the database, so an orchestrator
/// that restarts what fails this probe does not restart every process when the database blinks
/// (that is what `/readyz` is for). No token, never rate-limited.
#[utoipa::path(get, path = "/healthz", tag = "sistema",
    responses((status = 200, description = "Up: `{status, servizi}`", body = Object)),
    extensions(("x-error-codes" = json!([]))))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    ok(serde_json::json!({"status": "ok", "servizi": state.catalog.services().len()}))
}

/// How long one readiness probe's outcome answers `/readyz`. A probe writes and removes an
/// object in the file store: reused, any number of pollers cost one probe per this many seconds.
pub const READINESS_TTL: Duration = Duration::from_secs(3);

/// The last readiness probe of this process and when it was made.
#[derive(Default)]
pub struct Readiness {
    last: Mutex<Option<(Instant, Result<(), &'static str>)>>,
}

impl Readiness {
    /// The outcome of a probe at most [`READINESS_TTL`] old. Callers arriving while a probe runs
    /// wait for it (the lock is held across it) and share its outcome.
    async fn check(&self, state: &AppState) -> Result<(), &'static str> {
        let mut last = self.last.lock().await;
        if let Some((at, outcome)) = *last {
            if at.elapsed() < READINESS_TTL {
                return outcome;
            }
        }
        let outcome = probe(state).await;
        *last = Some((Instant::now(), outcome));
        outcome
    }
}

/// What does not answer, if anything.
async fn probe(state: &AppState) -> Result<(), &'static str> {
    if let Err(e) = state.store.list_providers().await {
        tracing::warn!(error = %e, "readiness: database");
        return Err("the database");
    }
    if let Err(e) = state.blobs.probe().await {
        tracing::warn!(error = %e, "readiness: file store");
        return Err("the file store");
    }
    Ok(())
}

/// Readiness.
///
/// The database answers and the file store takes a write: a load balancer sends traffic only to
/// a process that answers 200 here. The outcome is reused for 3 seconds (callers meanwhile share
/// one probe). No token; rate-limited per address like every route but `/healthz`.
#[utoipa::path(get, path = "/readyz", tag = "sistema",
    responses((status = 200, description = "Ready: database and file store answer", body = Object),
              (status = 503, description = "Not ready (919): `message` names what does not answer", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([919]))))]
pub async fn readyz(
    State(state): State<AppState>,
    Extension(readiness): Extension<Arc<Readiness>>,
) -> Response {
    match readiness.check(&state).await {
        Ok(()) => ok(serde_json::json!({"database": "ok", "files": "ok"})),
        Err(what) => ApiError::not_ready(what).into_response(),
    }
}

pub async fn not_found() -> ApiError {
    ApiError::route_not_found()
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
