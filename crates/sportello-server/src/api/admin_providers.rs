//! The admin API's providers: a provider's party data, its privacy notice and its mandate
//! template. Each text edit adds a version and answers the warnings of the paperwork checks
//! (`avvisi`): the save happens anyway.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Serialize;
use sportello_domain::party::RawParty;
use sportello_store::PaperKind;
use utoipa::ToSchema;

use super::fornitori::Testo;
use super::ok;
use crate::auth::AdminCaller;
use crate::body::members::{Member, Members, Read, Shape};
use crate::body::BodyLimit;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, JsonShape};
use crate::service::parties;
use crate::state::AppState;
use crate::wire::Fornitore;

/// The body of `PUT /admin/providers/{id}`.
pub struct PartyBody;

impl Shape for PartyBody {
    const MEMBERS: &'static [(&'static str, Read)] = &[
        ("denominazione", Read::Value),
        ("tipo", Read::Value),
        ("codice_fiscale", Read::Value),
        ("sede", Read::Value),
        ("email", Read::Value),
        ("pec", Read::Value),
        ("telefono", Read::Value),
        ("mandato_fes_accettato", Read::Value),
    ];
}

impl JsonShape for PartyBody {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

/// The body of `PUT /admin/providers/{id}/informativa` and `…/mandato`.
pub struct TextBody;

impl Shape for TextBody {
    const MEMBERS: &'static [(&'static str, Read)] = &[("testo", Read::Value)];
}

impl JsonShape for TextBody {
    const LIMIT: BodyLimit = BodyLimit::Paperwork;
}

/// A member that must be a string or null (absent).
fn text<'a>(members: &'a Members, name: &str) -> ApiResult<Option<&'a str>> {
    match members.get(name) {
        None | Some(Member::Null) => Ok(None),
        Some(Member::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(ApiError::invalid_member(
            name,
            "string_required",
            "a string is required",
        )),
    }
}

/// Replaces a provider's party data.
///
/// `{"denominazione", "tipo": "CAF"|"Patronato", "codice_fiscale", "sede": {"indirizzo",
/// "comune", "provincia"}, "email", "pec", "telefono", "mandato_fes_accettato"}`:
/// denominazione, tipo and codice fiscale (11 digits or 16 characters, checked) are required,
/// the rest may be null. `mandato_fes_accettato` (boolean; absent keeps the current value, false
/// at first) says whether the provider counts a mandate accepted on the person's page with an
/// e-mailed code (a *firma elettronica semplice*) as signed. Recorded in the audit trail.
/// Answers the provider as clients see it.
#[utoipa::path(put, path = "/admin/providers/{id}", tag = "admin",
    params(("id" = String, Path, description = "The provider's id")),
    request_body(content = Object, description = "The party data"),
    responses(
        (status = 200, description = "The provider", body = inline(crate::envelope::Envelope<Fornitore>)),
        (status = 400, description = "an invalid member, named in `dettagli` (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such provider (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 915]))),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    admin: AdminCaller,
    Path(id): Path<String>,
    JsonBody(body, _): JsonBody<PartyBody>,
) -> ApiResult<Response> {
    let sede = match body.get("sede") {
        None | Some(Member::Null) => None,
        Some(Member::Object(o)) => Some(o),
        Some(_) => {
            return Err(ApiError::invalid_member(
                "sede",
                "object_required",
                "sede is an object: {indirizzo, comune, provincia}",
            ))
        }
    };
    let in_sede = |name: &str| -> ApiResult<Option<&str>> {
        match sede.and_then(|o| o.get(name)) {
            None | Some(Member::Null) => Ok(None),
            Some(Member::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::invalid_member(
                name,
                "string_required",
                "a string is required",
            )),
        }
    };
    let raw = RawParty {
        denominazione: text(&body, "denominazione")?,
        tipo: text(&body, "tipo")?,
        codice_fiscale: text(&body, "codice_fiscale")?,
        indirizzo: in_sede("indirizzo")?,
        comune: in_sede("comune")?,
        provincia: in_sede("provincia")?,
        email: text(&body, "email")?,
        pec: text(&body, "pec")?,
        telefono: text(&body, "telefono")?,
    };
    let fes = match body.get("mandato_fes_accettato") {
        None | Some(Member::Null) => None,
        Some(Member::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(ApiError::invalid_member(
                "mandato_fes_accettato",
                "boolean_required",
                "mandato_fes_accettato is true or false",
            ))
        }
    };
    let actor = format!("admin:{}", admin.token.id);
    let provider = parties::update(&state, &id, &raw, fes, &actor, admin.source.clone()).await?;
    Ok(ok(Fornitore::of(&provider)))
}

/// A saved version of a notice or mandate, and what it seems to lack.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersioneSalvata {
    #[serde(flatten)]
    pub testo: Testo,
    /// The mandatory items the text seems to lack (GDPR art. 13 for a notice, DM 193/2008
    /// art. 4 for a mandate) and unknown placeholders; a heuristic, never a refusal.
    pub avvisi: Vec<String>,
}

async fn save(
    state: &AppState,
    admin: &AdminCaller,
    id: &str,
    kind: PaperKind,
    body: &Members,
) -> ApiResult<Response> {
    let testo = text(body, "testo")?
        .ok_or_else(|| ApiError::invalid_member("testo", "testo_required", "testo is required"))?;
    let actor = format!("admin:{}", admin.token.id);
    let saved = parties::save_text(state, id, kind, testo, &actor, admin.source.clone()).await?;
    Ok(ok(VersioneSalvata {
        testo: Testo {
            versione: saved.document.versione,
            testo: saved.document.testo,
        },
        avvisi: saved.avvisi,
    }))
}

/// Saves a new version of a provider's privacy notice.
///
/// `{"testo": "…"}` (at most 50,000 characters). The answer's `avvisi` names each GDPR art. 13
/// item the text seems to lack; the version is saved anyway. Requests routed from now on record
/// this version. Recorded in the audit trail.
#[utoipa::path(put, path = "/admin/providers/{id}/informativa", tag = "admin",
    params(("id" = String, Path, description = "The provider's id")),
    request_body(content = Object, description = "{\"testo\": \"…\"}"),
    responses(
        (status = 200, description = "The new version", body = inline(crate::envelope::Envelope<VersioneSalvata>)),
        (status = 400, description = "testo missing, empty or too long (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such provider (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 915]))),
    security(("bearer" = [])))]
pub async fn informativa(
    State(state): State<AppState>,
    admin: AdminCaller,
    Path(id): Path<String>,
    JsonBody(body, _): JsonBody<TextBody>,
) -> ApiResult<Response> {
    save(&state, &admin, &id, PaperKind::Informativa, &body).await
}

/// Saves a new version of a provider's mandate template.
///
/// `{"testo": "…"}` with placeholders `{{nome}}`, `{{cognome}}`, `{{codice_fiscale}}`,
/// `{{servizio}}`, `{{data}}`, `{{richiesta}}`, `{{fornitore}}`, `{{fornitore_codice_fiscale}}`,
/// `{{sede}}`. The answer's `avvisi` names each item of DM 193/2008 art. 4 the text seems to
/// lack and each unknown placeholder; the version is saved anyway. Recorded in the audit trail.
#[utoipa::path(put, path = "/admin/providers/{id}/mandato", tag = "admin",
    params(("id" = String, Path, description = "The provider's id")),
    request_body(content = Object, description = "{\"testo\": \"…\"}"),
    responses(
        (status = 200, description = "The new version", body = inline(crate::envelope::Envelope<VersioneSalvata>)),
        (status = 400, description = "testo missing, empty or too long (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such provider (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 915]))),
    security(("bearer" = [])))]
pub async fn mandato(
    State(state): State<AppState>,
    admin: AdminCaller,
    Path(id): Path<String>,
    JsonBody(body, _): JsonBody<TextBody>,
) -> ApiResult<Response> {
    save(&state, &admin, &id, PaperKind::Mandato, &body).await
}

/// One version of a provider's notice or mandate, as the list shows it (never its text).
#[derive(Debug, Serialize, ToSchema)]
pub struct Versione {
    /// `informativa` (the privacy notice) or `mandato` (the mandate template).
    pub documento: String,
    /// 1, 2, … per provider and documento; the highest is the current one.
    pub versione: i64,
    /// When it was saved (Unix seconds).
    pub timestamp: i64,
    /// Who saved it: `admin:<token id>` through this API, the back-office account, `cli`, or
    /// `system` (the demo's texts).
    pub autore: String,
    /// What the text seems to lack (as when it was saved: the checks read the stored text).
    pub avvisi: Vec<String>,
}

/// Every version of a provider's notice and mandate.
///
/// The notice's versions, then the mandate's, each newest first; the texts are left out (read
/// one with `GET /admin/providers/{id}/informativa/{versione}` or `…/mandato/{versione}`).
#[utoipa::path(get, path = "/admin/providers/{id}/versioni", tag = "admin",
    params(("id" = String, Path, description = "The provider's id")),
    responses(
        (status = 200, description = "The versions", body = inline(crate::envelope::Envelope<Vec<Versione>>)),
        (status = 404, description = "no such provider (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914]))),
    security(("bearer" = [])))]
pub async fn versioni(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let list: Vec<Versione> = parties::versions(&state, &id)
        .await?
        .into_iter()
        .map(|v| Versione {
            documento: v.kind.as_db().to_string(),
            versione: v.versione,
            timestamp: v.created_at,
            autore: v.created_by,
            avvisi: v.avvisi,
        })
        .collect();
    Ok(ok(list))
}

/// A version number from the path: a positive integer, else a named 400.
fn version_number(raw: &str) -> ApiResult<i64> {
    raw.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| {
        ApiError::invalid_member(
            "versione",
            "versione_invalid",
            "a version is a positive integer",
        )
    })
}

async fn past(state: &AppState, id: &str, kind: PaperKind, versione: &str) -> ApiResult<Response> {
    let saved = parties::version(state, id, kind, version_number(versione)?).await?;
    Ok(ok(VersioneSalvata {
        testo: Testo {
            versione: saved.document.versione,
            testo: saved.document.testo,
        },
        avvisi: saved.avvisi,
    }))
}

/// One version of a provider's privacy notice.
///
/// Any version, current or past (a request records the version it was shown), with the
/// warnings of the GDPR art. 13 checks.
#[utoipa::path(get, path = "/admin/providers/{id}/informativa/{versione}", tag = "admin",
    params(("id" = String, Path, description = "The provider's id"),
           ("versione" = i64, Path, description = "The version, 1, 2, …")),
    responses(
        (status = 200, description = "The version", body = inline(crate::envelope::Envelope<VersioneSalvata>)),
        (status = 400, description = "versione is not a positive integer (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such provider or version (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 915]))),
    security(("bearer" = [])))]
pub async fn informativa_versione(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path((id, versione)): Path<(String, String)>,
) -> ApiResult<Response> {
    past(&state, &id, PaperKind::Informativa, &versione).await
}

/// One version of a provider's mandate template.
///
/// Any version, current or past (a request records the version it was shown), with the
/// warnings of the DM 193/2008 art. 4 checks and its unknown placeholders.
#[utoipa::path(get, path = "/admin/providers/{id}/mandato/{versione}", tag = "admin",
    params(("id" = String, Path, description = "The provider's id"),
           ("versione" = i64, Path, description = "The version, 1, 2, …")),
    responses(
        (status = 200, description = "The version", body = inline(crate::envelope::Envelope<VersioneSalvata>)),
        (status = 400, description = "versione is not a positive integer (915)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such provider or version (914)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([914, 915]))),
    security(("bearer" = [])))]
pub async fn mandato_versione(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path((id, versione)): Path<(String, String)>,
) -> ApiResult<Response> {
    past(&state, &id, PaperKind::Mandato, &versione).await
}
