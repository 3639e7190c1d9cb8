//! `GET /visure`, `GET /visure/{hash_visura}`, `GET /visure/{hash_visura}/schema`.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sportello_domain::catalog::Service;
use sportello_domain::form_schema::SchemaLimits;

use super::ok;
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Limits};
use crate::wire::{Visura, VisuraSummary};

/// The catalog.
///
/// Every service this installation offers, as `{nome_visura, nome_categoria, hash_visura}`. The
/// `hash_visura` identifies a service in every other call.
#[utoipa::path(get, path = "/visure", tag = "catalogo",
    responses((status = 200, description = "Every service", body = inline(crate::envelope::Envelope<Vec<VisuraSummary>>))),
    extensions(("x-error-codes" = json!([]))),
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

/// One service: its form, options and prices.
///
/// `json_struttura.campi` lists the fields `$0…$n` with `nome`, `tipo`, `null`, `ordine` and
/// `istruzioni`; `validazione` says which combinations of fields are enough; `opzioni` the paid
/// options; also prices, turnaround (`tempi_lavorazione`) and retention (`conservazione_giorni`).
/// `documenti` is the service's checklist: the documents its provider needs beyond the form
/// (`codice`, `descrizione`, `obbligatorio`, `note`), always present, `[]` when there are none;
/// `mandato_richiesto` says whether a request cannot be closed without the person's signed mandate.
/// An alias hash of the commercial catalogue answers with the hash used.
#[utoipa::path(get, path = "/visure/{hash_visura}", tag = "catalogo",
    params(("hash_visura" = String, Path, description = "The service's hash (or an alias)")),
    responses(
        (status = 200, description = "The service", body = inline(crate::envelope::Envelope<Visura>)),
        (status = 400, description = "wrong hash_visura (error 200)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([200]))),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _caller: ClientCaller,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    let service = state.catalog.get(&hash).ok_or_else(ApiError::wrong_hash)?;
    Ok(ok(Visura::from_service(service, &hash)))
}

/// A service's form as a JSON Schema.
///
/// A service's form (`json_visura`) as a JSON Schema 2020-12 document: the `$n` fields with their
/// types and patterns, and `validazione` as `anyOf` of `required` sets. A client can check its
/// input with any JSON Schema validator before sending it. The server checks more (check
/// characters, that a comune exists, a file's content): each field lists those under
/// `x-server-checks`.
#[utoipa::path(get, path = "/visure/{hash_visura}/schema", tag = "catalogo",
    params(("hash_visura" = String, Path, description = "The service's hash (or an alias)")),
    responses(
        (status = 200, description = "The JSON Schema of the service's `json_visura` (also in this document's components, as `json_visura_<hash_visura>`)",
            content_type = "application/schema+json", body = Object),
        (status = 400, description = "wrong hash_visura (error 200)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([200]))),
    security(("bearer" = [])))]
pub async fn schema(
    State(state): State<AppState>,
    _caller: ClientCaller,
    Path(hash): Path<String>,
) -> ApiResult<Response> {
    let service = state.catalog.get(&hash).ok_or_else(ApiError::wrong_hash)?;
    let body = form_schema(service, &state.limits);
    Ok((
        [(header::CONTENT_TYPE, "application/schema+json")],
        axum::Json(body),
    )
        .into_response())
}

/// The schema of `service`'s form as this installation's limits make it.
pub fn form_schema(service: &Service, limits: &Limits) -> serde_json::Value {
    sportello_domain::form_schema::form_schema(
        service,
        SchemaLimits {
            max_text_chars: limits.max_text_chars,
            max_file_bytes: limits.max_file_bytes,
        },
        &format!("urn:sportello:json_visura:{}", service.hash_visura),
    )
}
