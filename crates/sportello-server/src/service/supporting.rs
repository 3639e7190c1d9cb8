//! Documents beyond the form: what a CAF or Patronato needs besides the service's fields (a
//! lease, the household's bank balances, the person's signed mandate). An operator asks for
//! them by `codice` in an integration request; the client supplies them with
//! `POST /richiesta/{_id}/documenti` (or up front, from the service's checklist). Each is a
//! request file of kind `supporting` whose `campo` is its codice, checked and sealed like every
//! file.
//!
//! A request waiting for an integration goes back to the queue once every field and every
//! document asked has arrived: the fields by the client's `PUT`, the documents each by its own
//! upload, in any order. That last step is its own transaction ([`back_to_queue_if_complete`]),
//! taken after each of those writes, so two uploads racing each other cannot both miss it.

use bytes::Bytes;
use futures::Stream;
use sportello_domain::catalog::Service;
use sportello_domain::checklist::{self, MANDATO};
use sportello_domain::status::{Action, Status};
use sportello_store::{ids, FileKind, FileRecord, Integration, RequestRecord, StoredValue};

use super::tenancy::find_own;
use super::upload::{self, Sealed};
use super::{enter, mutate, requests, sla, transition, Change};
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Richiesta;

/// The documents asked in `integration` that have not arrived since it was asked: one supplied
/// earlier (up front, or for a previous integration) does not answer a new request for it.
pub fn outstanding<'a>(
    integration: &'a Integration,
    files: &[FileRecord],
) -> Vec<&'a sportello_store::AskedDocument> {
    integration
        .documenti
        .iter()
        .filter(|d| {
            !files.iter().any(|f| {
                f.kind == FileKind::Supporting
                    && f.campo.as_deref() == Some(d.codice.as_str())
                    && f.created_at >= integration.at
            })
        })
        .collect()
}

/// Whether everything asked in the request's integration has been supplied.
fn complete(r: &RequestRecord, files: &[FileRecord]) -> bool {
    r.status == Status::InAttesaIntegrazione
        && r.integrazione.as_ref().is_some_and(|i| {
            (i.campi.is_empty() || i.campi_at.is_some()) && outstanding(i, files).is_empty()
        })
}

/// Whether the request holds the person's signed mandate: a file in the form's mandate field
/// (the catalog's `persona.mandato`) or a supplied document `mandato`.
pub fn has_mandate(service: &Service, r: &RequestRecord, files: &[FileRecord]) -> bool {
    let in_form = service.persona.mandato.is_some_and(|n| {
        matches!(
            r.fields.get(&format!("${n}")),
            Some(StoredValue::File { .. })
        )
    });
    in_form
        || files
            .iter()
            .any(|f| f.kind == FileKind::Supporting && f.campo.as_deref() == Some(MANDATO))
}

/// Whether closing the request as processed must wait for the mandate. Test requests are
/// worked by the sandbox, which simulates a provider and closes them without one.
pub fn mandate_missing(service: &Service, r: &RequestRecord, files: &[FileRecord]) -> bool {
    service.mandato_richiesto && r.live && !has_mandate(service, r, files)
}

/// A document's codice as sent: a slug, or 400/915 naming `codice`.
fn codice(raw: &str) -> ApiResult<String> {
    let c = raw.trim();
    if checklist::is_codice(c) {
        return Ok(c.to_string());
    }
    Err(ApiError::invalid_member(
        "codice",
        "codice_invalid",
        "codice must be 1 to 64 characters of a-z, 0-9 and _ (like contratto_locazione)",
    ))
}

/// Where a supplied document goes, once the request is known to take it.
struct Target {
    request: RequestRecord,
    key: sportello_store::crypto::DataKey,
    file_id: String,
    blob_key: String,
    codice: String,
}

async fn target(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
    codice_sent: &str,
) -> ApiResult<Target> {
    if !ids::is_request_id(id) {
        return Err(ApiError::invalid_id(201));
    }
    let request = find_own(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(202, id))?;
    transition(&request, false, Action::SupplyDocument)?;
    let codice = codice(codice_sent)?;
    if request.purged_at.is_some() {
        return Err(ApiError::purged());
    }
    let key = super::data_key(state, id).await?;
    let file_id = ids::short_id("f");
    let blob_key = format!("requests/{id}/{file_id}");
    Ok(Target {
        request,
        key,
        file_id,
        blob_key,
        codice,
    })
}

/// `POST /richiesta/{_id}/documenti` with JSON: `{"codice", "file"}`, the file as in
/// `json_visura` (base64, a `data:` URL, optionally `name|` before it).
pub async fn supply_text(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
    codice: &str,
    file: &str,
) -> ApiResult<Richiesta> {
    let t = target(state, caller, id, codice).await?;
    let sealed = upload::seal_text(state, &t.key, &t.blob_key, file, None).await?;
    record(state, caller, t, sealed).await
}

/// `POST /richiesta/{_id}/documenti` as multipart: the file streamed into the store.
pub async fn supply_stream<S, E>(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
    codice: &str,
    file_name: &str,
    body: S,
) -> ApiResult<Richiesta>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let t = target(state, caller, id, codice).await?;
    let sealed = upload::seal_stream(state, &t.key, &t.blob_key, file_name, body).await?;
    record(state, caller, t, sealed).await
}

async fn record(
    state: &AppState,
    caller: &ClientCaller,
    t: Target,
    sealed: Sealed,
) -> ApiResult<Richiesta> {
    let now = state.clock.now();
    let id = t.request.id.clone();
    let file = FileRecord {
        id: t.file_id,
        request_id: id.clone(),
        kind: FileKind::Supporting,
        campo: Some(t.codice.clone()),
        name: sealed.name,
        mime: sealed.mime,
        size: sealed.size,
        sha256: sealed.sha256,
        blob_key: t.blob_key.clone(),
        created_at: now,
    };
    let recorded = mutate(state, &id, |r| {
        transition(r, false, Action::SupplyDocument)?;
        r.updated_at = now;
        let mut entry = requests::history(r, "supply_document", caller);
        // The codice is a slug the operator or the catalog chose, never personal data.
        entry.note = Some(t.codice.clone());
        Ok(Change {
            files: vec![file.clone()],
            history: Some(entry),
        })
    })
    .await;
    let recorded = match recorded {
        Ok(r) => r,
        Err(e) => {
            upload::discard(state, &t.blob_key).await;
            return Err(e);
        }
    };
    super::audit::record(
        state,
        caller.actor(),
        "supply_document",
        &id,
        format!("documento {}", t.codice),
        caller.source.clone(),
    )
    .await?;
    let r = back_to_queue_if_complete(state, caller, recorded).await?;
    requests::render(state, caller, &r).await
}

/// Sends a request waiting for an integration back to the queue once everything asked has
/// arrived (with the event and callback of a supplied integration); otherwise leaves it.
pub async fn back_to_queue_if_complete(
    state: &AppState,
    caller: &ClientCaller,
    r: RequestRecord,
) -> ApiResult<RequestRecord> {
    let files = state.store.list_files(&r.id).await?;
    if !complete(&r, &files) {
        return Ok(r);
    }
    let calendar = sla::calendar_for(state, r.provider_id.as_deref()).await?;
    let now = state.clock.now();
    mutate(state, &r.id, |r| {
        if !complete(r, &files) {
            // Someone else completed it (or the operator cancelled) meanwhile: nothing to add.
            return Ok(Change {
                files: Vec::new(),
                history: None,
            });
        }
        let outcome = transition(r, false, Action::SupplyIntegration)?;
        sla::restart_clock(r, &calendar, now);
        r.integrazione = None;
        enter(r, outcome.status, now);
        Ok(Change::recorded(requests::history(
            r,
            "supply_integration",
            caller,
        )))
    })
    .await
}
