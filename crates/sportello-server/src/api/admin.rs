//! The admin API, under `/admin`: reading the audit trail, the SLA dashboard, a person's data.

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ok;
use crate::auth::AdminCaller;
use crate::body::members::{Member, Read, Shape};
use crate::body::BodyLimit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, JsonShape, Query};
use crate::service::audit;
use crate::service::sla::{self, Dashboard};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditParams {
    /// Entries after this sequence number (default 0: from the start).
    pub after: Option<i64>,
    /// At most this many (default 100, at most the configured page size).
    pub limit: Option<u32>,
    /// Only the entries about this request.
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    pub seq: i64,
    pub timestamp: i64,
    pub attore: String,
    pub azione: String,
    pub richiesta: Option<String>,
    pub dettaglio: String,
    pub origine: Option<String>,
    pub hash: String,
    pub hash_precedente: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditCheck {
    pub integro: bool,
    pub voci_verificate: u64,
    /// The chain verified under the installation's audit key (HMAC-SHA256): nobody without the
    /// master key can have rewritten an entry and re-chained the ones after it.
    pub con_chiave: bool,
    /// The first entry linked with the key (1: all of them); the entries before it were made by
    /// a version without the key, with plain SHA-256 links, and are held by it.
    pub con_chiave_dalla_voce: Option<i64>,
    /// The first broken entry, when the chain is not intact.
    pub prima_voce_alterata: Option<i64>,
    pub motivo: Option<String>,
}

/// The audit trail.
///
/// Oldest first, from `after`, at most `limit` entries, optionally about one request: who, what,
/// which request, when, from where — never the data itself.
#[utoipa::path(get, path = "/admin/audit", tag = "admin", params(AuditParams),
    responses((status = 200, description = "Entries", body = inline(crate::envelope::Envelope<Vec<AuditItem>>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Query(p): Query<AuditParams>,
) -> ApiResult<Response> {
    let limit = p
        .limit
        .unwrap_or(100)
        .clamp(1, state.limits.max_page_size.max(1));
    let entries = state
        .store
        .audit_entries(p.after.unwrap_or(0).max(0), limit, p.request_id.as_deref())
        .await?;
    let items: Vec<AuditItem> = entries
        .into_iter()
        .map(|e| AuditItem {
            seq: e.seq,
            timestamp: e.event.at,
            attore: e.event.actor,
            azione: e.event.action,
            richiesta: e.event.request_id,
            dettaglio: e.event.detail,
            origine: e.event.source,
            hash: e.hash,
            hash_precedente: e.prev_hash,
        })
        .collect();
    Ok(ok(items))
}

/// Verifies the audit chain.
///
/// Recomputes every entry's keyed hash (HMAC-SHA256 under the installation's audit key) and link
/// to the previous one and names the first broken entry.
#[utoipa::path(get, path = "/admin/audit/verify", tag = "admin",
    responses((status = 200, description = "The result", body = inline(crate::envelope::Envelope<AuditCheck>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn verify(State(state): State<AppState>, _admin: AdminCaller) -> ApiResult<Response> {
    let check = match audit::verify(&state).await.map_err(ApiError::from)? {
        Ok(v) => AuditCheck {
            integro: true,
            voci_verificate: v.entries,
            con_chiave: true,
            con_chiave_dalla_voce: Some(v.keyed_from),
            prima_voce_alterata: None,
            motivo: None,
        },
        Err(b) => AuditCheck {
            integro: false,
            voci_verificate: 0,
            con_chiave: false,
            con_chiave_dalla_voce: None,
            prima_voce_alterata: Some(b.seq),
            motivo: Some(b.reason.to_string()),
        },
    };
    Ok(ok(check))
}

/// The SLA dashboard.
///
/// The SLA dashboard: per provider and service, open requests, those due today, the overdue ones,
/// and the median time from submission to "Visura evasa".
#[utoipa::path(get, path = "/admin/sla", tag = "admin",
    responses((status = 200, description = "The dashboard", body = inline(crate::envelope::Envelope<Dashboard>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn sla_dashboard(
    State(state): State<AppState>,
    _admin: AdminCaller,
) -> ApiResult<Response> {
    Ok(ok(sla::dashboard(&state).await?))
}

/// The body of `POST /admin/subjects/export`.
pub struct SubjectBody;

impl Shape for SubjectBody {
    const MEMBERS: &'static [(&'static str, Read)] = &[("codice_fiscale", Read::Value)];
}

impl JsonShape for SubjectBody {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

/// A person's data (GDPR art. 15 and 20), as a zip.
///
/// `{"codice_fiscale": "…"}` (a codice fiscale, or a partita IVA; in the body, never in a URL):
/// every request about that person, found through the keyed hash index, as `indice.json` and
/// per request `<id>/richiesta.json` (the request as the API renders it, its fields by the
/// catalog's labels, its history) with its files. None found is not an error: the zip then
/// holds only `indice.json`, saying so. Each request exported is recorded in the audit trail
/// (`export_subject`), and the export by its count; never the codice fiscale.
#[utoipa::path(post, path = "/admin/subjects/export", tag = "admin",
    request_body(content = Object, description = "codice_fiscale (required)"),
    responses(
        (status = 200, description = "The person's data", content_type = "application/zip"),
        (status = 400, description = "codice_fiscale missing or invalid (915)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([915]))),
    security(("bearer" = [])))]
pub async fn export_subject(
    State(state): State<AppState>,
    admin: AdminCaller,
    JsonBody(members, _): JsonBody<SubjectBody>,
) -> ApiResult<Response> {
    let Some(Member::String(code)) = members.get("codice_fiscale") else {
        return Err(ApiError::invalid_member(
            "codice_fiscale",
            "string_required",
            "a string is required",
        ));
    };
    let export = crate::service::subjects::export(
        &state,
        format!("admin:{}", admin.token.id),
        admin.source.clone(),
        code,
    )
    .await?;
    Ok(super::operator::zip_response(
        crate::service::archive::stream(&state.blobs, export.archive),
        "dati-interessato.zip",
    ))
}
