//! `GET /visure`, `GET /visure/{hash_visura}`.

use axum::extract::{Path, State};
use axum::response::Response;

use super::ok;
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::{Visura, VisuraSummary};

/// The catalog.
#[utoipa::path(get, path = "/visure", tag = "catalogo",
    responses((status = 200, description = "Every service", body = inline(crate::envelope::Envelope<Vec<VisuraSummary>>))),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, _caller: ClientCaller) -> Response {
    let items: Vec<VisuraSummary> = state
        .catalog
        .services()
        .iter()
        .map(|s| VisuraSummary {
            nome_visura: s.nome_visura.clone(),
            nome_categoria: s.nome_categoria.clone(),
            hash_visura: s.hash_visura.clone(),
        })
        .collect();
    ok(items)
}

/// One service: its fields, `validazione`, options, prices.
#[utoipa::path(get, path = "/visure/{hash_visura}", tag = "catalogo",
    params(("hash_visura" = String, Path, description = "The service's hash (or an alias)")),
    responses(
        (status = 200, description = "The service", body = inline(crate::envelope::Envelope<Visura>)),
        (status = 400, description = "wrong hash_visura (error 200)", body = crate::envelope::ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _caller: ClientCaller,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    let service = state.catalog.get(&hash).ok_or_else(ApiError::wrong_hash)?;
    Ok(ok(Visura::from_service(service, &hash)))
}
