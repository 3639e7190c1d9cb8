//! Documents beyond the form: what a CAF or Patronato needs besides the service's fields (a
//! lease, the household's bank balances, the person's signed mandate). An operator asks for
//! them by `codice` in an integration request; the client supplies them with
//! `POST /richiesta/{_id}/documenti` (or up front, from the service's checklist). Each is a
//! request file of kind `supporting` whose `campo` is its codice, checked and sealed like every
//! file.
//!
//! A request waiting for an integration goes back to the queue once every field and every
//! document asked has arrived: the fields by the client's `PUT`, the documents each by its own
//! upload, in any order. Each asked document records the file that answered it in the same
//! write as the file ([`sportello_store::AskedDocument::fornito`]), and the write that brings
//! the last missing piece moves the request ([`back_to_queue`]): two uploads racing each other
//! are serialised by the request's version, so neither is missed.

use bytes::Bytes;
use futures::Stream;
use sportello_domain::catalog::Service;
use sportello_domain::checklist::{self, MANDATO, MANDATO_FES};
use sportello_domain::status::{Action, Status};
use sportello_store::{ids, FileKind, FileRecord, HistoryEntry, Integration, RequestRecord};

use super::tenancy::find_own;
use super::upload::{self, Sealed};
use super::{enter, mutate, requests, sla, transition, Change};
use crate::auth::ClientCaller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Richiesta;

/// The documents asked in `integration` that no file has answered yet. A document supplied
/// before the question (up front, or for an earlier integration) does not answer it.
pub fn outstanding(integration: &Integration) -> Vec<&sportello_store::AskedDocument> {
    integration
        .documenti
        .iter()
        .filter(|d| d.fornito.is_none())
        .collect()
}

/// Whether everything asked in the request's integration has been supplied.
fn complete(r: &RequestRecord) -> bool {
    r.status == Status::InAttesaIntegrazione
        && r.integrazione.as_ref().is_some_and(|i| {
            (i.campi.is_empty() || i.campi_at.is_some()) && outstanding(i).is_empty()
        })
}

/// Sends a waiting request whose integration is now [`complete`] back to the queue, as the
/// client's answer (`supply_integration`, with its event and callback); `None` when something
/// is still missing.
pub fn back_to_queue(
    r: &mut RequestRecord,
    calendar: &sportello_domain::calendar::Calendar,
    caller: &ClientCaller,
    now: i64,
) -> ApiResult<Option<sportello_store::HistoryEntry>> {
    if !complete(r) {
        return Ok(None);
    }
    let outcome = transition(r, false, Action::SupplyIntegration)?;
    sla::restart_clock(r, calendar, now);
    r.integrazione = None;
    enter(r, outcome.status, now);
    Ok(Some(requests::history(r, "supply_integration", caller)))
}

/// Whether a request's files hold the person's signed mandate: a copy in the form's mandate
/// field (the catalog's `persona.mandato`, an input file named by its `$n`) or a supplied
/// document `mandato` — or, where the provider accepts one (`fes_accepted`), the record of an
/// on-screen acceptance, `mandato_fes`. The one rule, read over `(kind, campo)` pairs so the queue
/// can apply it to the rows one query found for a whole page. A submitted request holds an input
/// file row for each file field, and an integration only adds rows, so its files say what its
/// fields do.
pub fn holds_mandate<'a>(
    service: &Service,
    fes_accepted: bool,
    files: impl IntoIterator<Item = (FileKind, &'a str)>,
) -> bool {
    let copy = service.persona.mandato.map(|n| format!("${n}"));
    files.into_iter().any(|(kind, campo)| match kind {
        FileKind::Supporting => campo == MANDATO || (fes_accepted && campo == MANDATO_FES),
        FileKind::Input => copy.as_deref() == Some(campo),
        FileKind::Result => false,
    })
}

/// Whether closing the request as processed must wait for the mandate. Test requests are
/// worked by the sandbox, which simulates a provider and closes them without one.
pub fn mandate_missing(
    service: &Service,
    fes_accepted: bool,
    r: &RequestRecord,
    files: &[FileRecord],
) -> bool {
    let named = files
        .iter()
        .filter_map(|f| Some((f.kind, f.campo.as_deref()?)));
    service.mandato_richiesto && r.live && !holds_mandate(service, fes_accepted, named)
}

/// Whether the provider a request is routed to counts an on-screen acceptance as the mandate.
pub async fn fes_accepted(state: &AppState, provider_id: Option<&str>) -> ApiResult<bool> {
    let Some(id) = provider_id else {
        return Ok(false);
    };
    Ok(state
        .store
        .get_provider(id)
        .await?
        .is_some_and(|p| p.party.mandato_fes_accettato))
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
    if codice == MANDATO_FES && caller.person.is_none() {
        // Only the person's page makes this record, after their code: a client sending one
        // would claim an acceptance nobody gave.
        return Err(ApiError::invalid_member(
            "codice",
            "codice_reserved",
            "mandato_fes is recorded by the person's page when they accept the mandate; send a signed copy as mandato",
        ));
    }
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
    // The calendar restarts the SLA clock if this document completes an integration.
    let calendar = sla::calendar_for(state, t.request.provider_id.as_deref()).await?;
    let recorded = mutate(state, &id, |r| {
        transition(r, false, Action::SupplyDocument)?;
        r.updated_at = now;
        if r.status == Status::InAttesaIntegrazione {
            if let Some(asked) = r.integrazione.as_mut().and_then(|i| {
                i.documenti
                    .iter_mut()
                    .find(|d| d.codice == t.codice && d.fornito.is_none())
            }) {
                asked.fornito = Some(file.id.clone());
            }
        }
        let entry = match back_to_queue(r, &calendar, caller, now)? {
            Some(done) => done,
            None => requests::history(r, "supply_document", caller),
        };
        Ok(Change {
            files: vec![file.clone()],
            history: Some(HistoryEntry {
                // The codice is a slug the operator or the catalog chose, never personal data.
                note: Some(t.codice.clone()),
                ..entry
            }),
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
    requests::render(state, caller, &recorded).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_domain::catalog::Catalog;

    #[test]
    fn an_on_screen_acceptance_is_the_mandate_only_where_the_provider_accepts_one() {
        let catalog = Catalog::embedded().expect("the embedded catalog");
        let isee = catalog
            .get("38934ffe45179c4d5b88e2a6b849799a")
            .expect("ISEE");
        let fes = [(FileKind::Supporting, MANDATO_FES)];
        assert!(!holds_mandate(isee, false, fes));
        assert!(holds_mandate(isee, true, fes));
        // A signed copy counts everywhere, as the document or as the form's copy ($7).
        for accepted in [false, true] {
            assert!(holds_mandate(
                isee,
                accepted,
                [(FileKind::Supporting, MANDATO)]
            ));
            assert!(holds_mandate(isee, accepted, [(FileKind::Input, "$7")]));
            assert!(!holds_mandate(
                isee,
                accepted,
                [(FileKind::Result, MANDATO)]
            ));
            assert!(!holds_mandate(isee, accepted, [(FileKind::Input, "$5")]));
        }
    }
}
