//! `POST /richiesta`, `GET /richiesta`, `GET|PUT|DELETE /richiesta/{_id}`, the mandate to sign
//! (`GET /richiesta/{_id}/mandato`), documents beyond the form (`POST /richiesta/{_id}/documenti`),
//! and the search routes, which no service of ours offers.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{ok, paging, parse_statuses, raw_json};
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query, RawJson};
use crate::service::{body, mandate, requests, supporting, tenancy};
use crate::state::AppState;
use crate::wire::{Richiesta, RichiestaSummary};

/// The `Idempotency-Key` header (also taken by the admins' top-ups and adjustments).
pub(crate) fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255)
        .ok_or_else(|| {
            ApiError::bad_header("Idempotency-Key must be 1 to 255 visible ASCII characters")
        })?;
    Ok(Some(key.to_string()))
}

/// Creates a request.
///
/// Submits `json_visura` for the service `hash_visura` (with `state: 0`, opens an editable draft
/// instead; with `test: true`, only validates and prices). Every field is checked by type and the
/// `validazione` expression is evaluated: a refusal is 412/250 with `details` naming each `$n`. A
/// live submission debits the wallet (402/211 when it cannot). Optional: `opzioni` (`{"opzione_0":
/// true}`), `callback_data` `{url, method, field, data}`, `email_target`. With an `Idempotency-Key`
/// header, a retry with the same body gets the very same answer and creates nothing.
#[utoipa::path(post, path = "/richiesta", tag = "richieste",
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body return the first answer")),
    request_body(content = Object, description = "hash_visura, json_visura, state, test, callback_data, email_target, opzioni"),
    responses(
        (status = 200, description = "The request", body = inline(crate::envelope::Envelope<Richiesta>)),
        (status = 400, description = "wrong hash_visura (200), invalid e-mail (209), malformed body (905)", body = crate::envelope::ErrorEnvelope),
        (status = 412, description = "validation failed (250); `details` names each field", body = crate::envelope::ErrorEnvelope),
        (status = 422, description = "Idempotency-Key reused with another body (908)", body = crate::envelope::ErrorEnvelope),
        (status = 428, description = "hash_visura required (204)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([200, 204, 209, 211, 250, 908, 909, 913, 915]))),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: ClientCaller,
    headers: HeaderMap,
    raw: RawJson<body::Create>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    let parsed = body::parse_create(raw.members)?;
    let idem = key.map(|k| (k, raw.sha256));
    let text = requests::create(&state, &caller, parsed, idem).await?;
    Ok(raw_json(text))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// 1-based page number.
    pub page: Option<u32>,
    /// Page size (default 100, at most the configured maximum).
    pub per_page: Option<u32>,
    /// Filter by `stato_richiesta` ("In erogazione" or `in_erogazione`), comma-separated.
    pub stato: Option<String>,
    pub hash_visura: Option<String>,
}

/// The caller's requests.
///
/// Newest first, paged (`page`, `per_page`), filtered by `stato` and `hash_visura`. Unlike the
/// commercial API, no requests is an empty list, not a 404.
#[utoipa::path(get, path = "/richiesta", tag = "richieste", params(ListParams),
    responses((status = 200, description = "A page of requests", body = inline(crate::envelope::Envelope<Vec<RichiestaSummary>>))),
    extensions(("x-error-codes" = json!([]))),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: ClientCaller,
    Query(p): Query<ListParams>,
) -> ApiResult<Response> {
    let (page, per_page) = paging(p.page, p.per_page, state.limits.max_page_size);
    let items = requests::list(
        &state,
        &caller,
        requests::ListQuery {
            statuses: parse_statuses(p.stato.as_deref())?,
            hash_visura: p.hash_visura,
            page,
            per_page,
        },
    )
    .await?;
    let summaries: Vec<RichiestaSummary> = items.iter().map(Richiesta::summary).collect();
    Ok(ok(summaries))
}

/// One request.
///
/// Its state (`stato_richiesta`, `timestamp_stati`), inputs, options, prices, SLA due time and,
/// once processed, `esito`. Another client's request answers 404, as one that does not exist.
#[utoipa::path(get, path = "/richiesta/{id}", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    responses(
        (status = 200, description = "The request", body = inline(crate::envelope::Envelope<Richiesta>)),
        (status = 400, description = "Invalid id (201)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request (202)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([201, 202]))),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(ok(requests::get(&state, &caller, &id).await?))
}

/// Supplies a document beyond the form.
///
/// What a CAF or Patronato needs besides the form: a document an operator asked for in
/// `integrazione.documenti`, or one of the service's checklist (`GET /visure/{hash}`,
/// `documenti`) sent up front. JSON `{"codice": "contratto_locazione", "file": "<base64, a data:
/// URL, or name|data:…>"}`, or `multipart/form-data` with the parts `codice` then `file`
/// (streamed, never whole in memory). PDF, JPEG or PNG, checked by its bytes like every file
/// (412/229 otherwise) and sealed. Allowed while the request is a draft, in progress or waiting
/// for an integration; 409/921 once closed or cancelled. When it is the last thing an
/// integration asked for, the request goes back to the queue (`request.integration_supplied`).
/// The answer is the request, listing the documents in `documenti` (never their content).
#[utoipa::path(post, path = "/richiesta/{id}/documenti", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    request_body(content = Object, description = "codice, file (JSON), or the multipart parts codice and file"),
    responses(
        (status = 200, description = "The request, with the document listed", body = inline(crate::envelope::Envelope<Richiesta>)),
        (status = 400, description = "Invalid id (201); codice or file missing or invalid (915); unreadable body (905)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request (202)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "the request is closed or cancelled (921)", body = crate::envelope::ErrorEnvelope),
        (status = 412, description = "the file is not a PDF, JPEG or PNG, or is too large (229)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([201, 202, 229, 905, 906, 913, 915, 917, 921]))),
    security(("bearer" = [])))]
pub async fn add_document(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let answer = if multipart {
        let unreadable = |_| ApiError::malformed("the multipart body could not be read");
        let mut parts = Multipart::from_request(req, &state)
            .await
            .map_err(|_| ApiError::malformed("the multipart body could not be read"))?;
        let mut codice = None;
        loop {
            let Some(part) = parts.next_field().await.map_err(unreadable)? else {
                return Err(ApiError::invalid_member(
                    "file",
                    "required",
                    "the part file is required (after the part codice)",
                ));
            };
            match part.name() {
                Some("codice") => codice = Some(part.text().await.map_err(unreadable)?),
                Some("file") => {
                    let codice = codice.ok_or_else(|| {
                        ApiError::invalid_member(
                            "codice",
                            "required",
                            "the part codice is required, before the part file",
                        )
                    })?;
                    let name = part.file_name().unwrap_or_default().to_string();
                    break supporting::supply_stream(&state, &caller, &id, &codice, &name, part)
                        .await?;
                }
                _ => {}
            }
        }
    } else {
        let JsonBody(members, _) =
            JsonBody::<body::SupplyDocument>::from_request(req, &state).await?;
        let sent = body::SupplyDocument::from_members(members)?;
        supporting::supply_text(&state, &caller, &id, &sent.codice, &sent.file).await?
    };
    Ok(ok(answer))
}

/// The mandate to sign, as a PDF.
///
/// The assigned provider's mandate ("mandato di assistenza e rappresentanza") at the version the
/// request recorded when it was routed, prefilled with the person's name, surname and codice
/// fiscale from the fields the catalog's `[persona]` names (a missing one prints as
/// `[nome mancante]`), with a box for place, date and signature, then the provider's privacy
/// notice at the version recorded. A4, text extractable, "Pagina N di M" on every page. Reading
/// the person's data is recorded in the audit trail. 409/920 while the request has no provider
/// or its provider has no mandate text; 410/917 once its personal data is destroyed.
#[utoipa::path(get, path = "/richiesta/{id}/mandato", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    responses(
        (status = 200, description = "The mandate and privacy notice", content_type = "application/pdf"),
        (status = 400, description = "Invalid id (201)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request (202)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([201, 202, 917, 920]))),
    security(("bearer" = [])))]
pub async fn mandato(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let bytes = mandate::mandate(&state, &caller, &id).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    // The id only: a file name is kept in download folders and logs, personal data is not.
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"mandato-{id}.pdf\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// Edits or submits a draft, or answers a request for integration.
///
/// Send `json_visura` whole or single `"json_visura.$n"` members, `email_target`, and `state: 1` to
/// submit a draft (validated as `POST /richiesta` is, 412/229 on a refusal). A request waiting for
/// integration (`in_attesa_integrazione`) takes the fields the operator asked for and goes back to
/// the queue.
#[utoipa::path(put, path = "/richiesta/{id}", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    request_body(content = Object, description = "state, json_visura (whole) or \"json_visura.$n\" members, email_target"),
    responses(
        (status = 200, description = "The request", body = inline(crate::envelope::Envelope<Richiesta>)),
        (status = 400, description = "already closed (239)", body = crate::envelope::ErrorEnvelope),
        (status = 404, description = "no such request (228)", body = crate::envelope::ErrorEnvelope),
        (status = 412, description = "invalid input (229)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([201, 209, 211, 228, 229, 239, 907, 913, 915]))),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
    JsonBody(members, _): JsonBody<body::Update>,
) -> ApiResult<Response> {
    let parsed = body::parse_update(members)?;
    Ok(ok(requests::update(&state, &caller, &id, parsed).await?))
}

/// Cancels a request.
///
/// A draft, or a submitted request no operator has taken yet; a live request's debit is refunded.
/// Body `{"motivo": "…"}` (optional). Once an operator has taken it, 409/907.
#[utoipa::path(delete, path = "/richiesta/{id}", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    request_body(content = Object, description = "motivo (optional): why the request is cancelled"),
    responses(
        (status = 200, description = "The cancelled request", body = inline(crate::envelope::Envelope<Richiesta>)),
        (status = 404, description = "no such request (202)", body = crate::envelope::ErrorEnvelope),
        (status = 409, description = "not cancellable in its state (907)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([201, 202, 907, 913, 915]))),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
    JsonBody(members, _): JsonBody<body::Cancel>,
) -> ApiResult<Response> {
    let motivo = body::parse_motivo(&members)?;
    Ok(ok(requests::cancel(&state, &caller, &id, motivo).await?))
}

/// Adds a search (not offered).
///
/// The commercial API's search step. No service of this catalog has `ricerca`, so a request of the
/// caller answers 409/222.
#[utoipa::path(post, path = "/richiesta/{id}", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    responses((status = 409, description = "no search for this request (222)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([219, 222, 228]))),
    security(("bearer" = [])))]
pub async fn add_search(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    if !sportello_store::ids::is_request_id(&id) {
        return Err(ApiError::invalid_id(219));
    }
    tenancy::find_own(&state, &caller, &id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(228, &id))?;
    Err(ApiError::no_search())
}

/// Chooses a search result (not offered).
///
/// The commercial API's search step. No service of this catalog has `ricerca`, so a request of the
/// caller answers 409/230.
#[utoipa::path(put, path = "/richiesta/{id}/ricerche", tag = "richieste",
    params(("id" = String, Path, description = "The request's `_id`")),
    responses((status = 409, description = "nothing to choose (230)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([228, 230]))),
    security(("bearer" = [])))]
pub async fn choose_search(
    State(state): State<AppState>,
    caller: ClientCaller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    tenancy::find_own(&state, &caller, &id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(228, &id))?;
    Err(ApiError::no_search_results())
}
