//! What a client may read about a provider: its current privacy notice, which holds no personal
//! data and which the person is shown before giving theirs.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::ok;
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::service::parties;
use crate::state::AppState;

/// One version of a provider's notice or mandate.
#[derive(Debug, Serialize, ToSchema)]
pub struct Testo {
    /// 1, 2, …: each edit adds a version.
    pub versione: i64,
    pub testo: String,
}

/// A provider's privacy notice.
///
/// Extension: the current version of the GDPR art. 13 notice of the provider (`fornitore.id` of
/// a request). 404 when the provider is unknown or has no notice yet.
#[utoipa::path(get, path = "/fornitori/{id}/informativa", tag = "richieste",
    params(("id" = String, Path, description = "The provider's id (`fornitore.id`)")),
    responses(
        (status = 200, description = "The current notice", body = inline(crate::envelope::Envelope<Testo>)),
        (status = 404, description = "no such provider, or no notice (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914]))),
    security(("bearer" = [])))]
pub async fn informativa(
    State(state): State<AppState>,
    _caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let doc = parties::informativa(&state, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("the provider has no privacy notice yet"))?;
    Ok(ok(Testo {
        versione: doc.versione,
        testo: doc.testo,
    }))
}
