//! The client's use cases: create, read, list, update, cancel a request.

use sportello_domain::catalog::Service;
use sportello_domain::fields::codice_fiscale::CodiceFiscale;
use sportello_domain::fields::{self, FieldType, FieldValue};
use sportello_domain::pricing;
use sportello_domain::status::{Action, Status};
use sportello_domain::submission::{self, Submission, SubmissionError};
use sportello_store::crypto::DataKey;
use sportello_store::ids;
use sportello_store::ledger::Transaction;
use sportello_store::{
    FileKind, FileRecord, HistoryEntry, IdempotencyRecord, NewRequest, RequestFilter,
    RequestRecord, StoreError, StoredValue,
};
use std::collections::BTreeMap;

use super::body::{CreateBody, UpdateBody};
use super::tenancy::find_own;
use super::{enter, field_context, mutate, sla, transition, Change};
use crate::auth::ClientCaller;
use crate::envelope::{Detail, Envelope};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Richiesta;

pub fn service<'a>(state: &'a AppState, hash: &str) -> ApiResult<&'a Service> {
    state.catalog.get(hash).ok_or_else(ApiError::wrong_hash)
}

pub fn submission_details(e: SubmissionError) -> Vec<Detail> {
    let mut out: Vec<Detail> = e
        .invalid
        .into_iter()
        .map(|p| Detail {
            campo: p.campo,
            codice: p.code.to_string(),
            messaggio: p.message,
        })
        .collect();
    out.extend(e.missing.into_iter().map(|campo| Detail {
        campo,
        codice: "required".into(),
        messaggio: "missing: needed to complete the request".into(),
    }));
    out.extend(e.unknown.into_iter().map(|campo| Detail {
        campo,
        codice: "unknown_field".into(),
        messaggio: "not a field of this service".into(),
    }));
    out
}

/// Writes the files of a valid submission to blob storage and returns the stored values.
async fn store_values(
    state: &AppState,
    data_key: &DataKey,
    request_id: &str,
    submission: Submission,
    now: i64,
) -> ApiResult<(BTreeMap<String, StoredValue>, Vec<FileRecord>)> {
    let mut values = BTreeMap::new();
    let mut files = Vec::new();
    for (index, value) in submission.values {
        let key = format!("${index}");
        match value {
            FieldValue::Text(t) => {
                values.insert(key, StoredValue::Text(t));
            }
            FieldValue::File(upload) => {
                let file_id = ids::short_id("f");
                let blob_key = format!("requests/{request_id}/{file_id}");
                let record = FileRecord {
                    id: file_id.clone(),
                    request_id: request_id.to_string(),
                    kind: FileKind::Input,
                    campo: Some(key.clone()),
                    name: upload.name,
                    mime: upload.kind.mime().to_string(),
                    size: upload.bytes.len() as u64,
                    sha256: ids::sha256_hex(&upload.bytes),
                    blob_key: blob_key.clone(),
                    created_at: now,
                };
                state
                    .blobs
                    .put_sealed(&blob_key, data_key, &upload.bytes)
                    .await?;
                files.push(record);
                values.insert(key, StoredValue::File { file: file_id });
            }
        }
    }
    Ok((values, files))
}

/// Who a request is about: the codici fiscali (and partite IVA) among its values, normalised
/// so that an omocode variant names the same person.
fn subjects(service: &Service, submission: &Submission) -> Vec<String> {
    submission
        .values
        .iter()
        .filter_map(|(index, value)| {
            let tipo = service.field(*index)?.tipo;
            match (tipo, value) {
                (
                    FieldType::CodiceFiscale
                    | FieldType::CodiceFiscalePersonaFisica
                    | FieldType::PartitaIva,
                    FieldValue::Text(code),
                ) => Some(subject_key(code)),
                _ => None,
            }
        })
        .collect()
}

/// The form of a codice fiscale the lookup index keys on.
pub fn subject_key(code: &str) -> String {
    match CodiceFiscale::parse(code) {
        Ok(cf) => cf.canonical().as_str().to_string(),
        Err(_) => code.trim().to_ascii_uppercase(),
    }
}

fn raw_values(values: &BTreeMap<String, String>) -> BTreeMap<String, StoredValue> {
    values
        .iter()
        .map(|(k, v)| (k.clone(), StoredValue::Text(v.clone())))
        .collect()
}

fn raw_strings(values: &BTreeMap<String, StoredValue>) -> BTreeMap<String, String> {
    values
        .iter()
        .filter_map(|(k, v)| match v {
            StoredValue::Text(t) => Some((k.clone(), t.clone())),
            StoredValue::File { .. } => None,
        })
        .collect()
}

/// What `POST /richiesta` answers: the envelope JSON, kept as text so an idempotent retry gets
/// the very same bytes.
pub async fn create(
    state: &AppState,
    caller: &ClientCaller,
    body: CreateBody,
    idempotency: Option<(String, String)>,
) -> ApiResult<String> {
    // Keys are per client and per environment: a live retry never replays a test answer.
    let mode = if caller.token.live { "live" } else { "test" };
    let idempotency = idempotency.map(|(key, sha)| (format!("{mode}:{key}"), sha));
    if let Some((key, body_sha)) = &idempotency {
        if let Some(found) = state.store.find_idempotency(&caller.client.id, key).await? {
            return replay(found, body_sha);
        }
    }
    if let Some(url) = body
        .callback_data
        .as_ref()
        .and_then(|c| c.get("url"))
        .and_then(|u| u.as_str())
    {
        super::deliveries::check_scheme(state, url, "callback_data.url")?;
    }
    let service = service(state, &body.hash_visura)?;
    let quote = pricing::quote(service, &body.opzioni)
        .map_err(|u| ApiError::validation(250, super::wallet::unknown_options(u)))?;
    let now = state.clock.now();
    let id = ids::request_id(now);
    let data_key = DataKey::generate();
    let submission = if body.submit {
        let checked = submission::check(service, &body.json_visura, &field_context(state))
            .map_err(|e| ApiError::validation(250, submission_details(e)))?;
        Some(checked)
    } else {
        // A draft keeps what a submission could hold, no more (it is stored as it is).
        submission::check_draft(service, &body.json_visura, &field_context(state))
            .map_err(|e| ApiError::validation(250, submission_details(e)))?;
        None
    };
    let mut record = RequestRecord {
        id: id.clone(),
        client_id: caller.client.id.clone(),
        hash_visura: service.hash_visura.clone(),
        hash_requested: body.hash_visura.clone(),
        status: Status::Draft,
        live: caller.token.live,
        provider_id: None,
        operator_id: None,
        fields: BTreeMap::new(),
        opzioni: body.opzioni.clone(),
        prezzo_visura: service.prezzo_visura,
        prezzo_totale: quote.imponibile(),
        price: Some(quote.clone()),
        email_target: body.email_target.clone(),
        callback_data: body.callback_data.clone(),
        esito_codice: "0".into(),
        esito_info: "OK".into(),
        motivo_annullamento: None,
        integrazione: None,
        timestamp_stati: BTreeMap::from([("in_ricerca".to_string(), now)]),
        document: None,
        created_at: now,
        updated_at: now,
        closed_at: None,
        purged_at: None,
        version: 1,
        due_at: None,
        sla_paused_at: None,
        overdue_at: None,
        informativa_versione: None,
        mandato_versione: None,
        invito: None,
        invito_hash: None,
        consensi: Vec::new(),
    };
    if body.submit {
        enter(&mut record, Status::InErogazione, now);
    }
    // Routed at creation, drafts included: the client knows its provider (and the paperwork it
    // will sign) before submitting.
    let fornitore = super::parties::route(state, &mut record)
        .await?
        .map(|p| crate::wire::Fornitore::of(&p));
    if body.test {
        // Validate and price only: nothing is stored, nothing charged.
        let mut rendered = Richiesta::render(&record, service, &caller.client.owner_email);
        rendered.id = None;
        rendered.fornitore = fornitore;
        return Ok(serde_json::to_string(&Envelope::ok(rendered)).unwrap_or_default());
    }
    // Live submissions are paid from the wallet; test ones and drafts are not (a draft is
    // debited when submitted).
    let charged = caller.token.live && body.submit;
    if charged {
        super::wallet::precheck(state, &caller.client.id, &quote).await?;
    }
    let who = submission
        .as_ref()
        .map(|sub| subjects(service, sub))
        .unwrap_or_default();
    let files = match submission {
        Some(sub) => {
            let (values, files) = store_values(state, &data_key, &id, sub, now).await?;
            record.fields = values;
            let calendar = sla::calendar_for(state, record.provider_id.as_deref()).await?;
            sla::start_clock(&mut record, service, &calendar, now);
            files
        }
        None => {
            record.fields = raw_values(&body.json_visura);
            Vec::new()
        }
    };
    let mut rendered = Richiesta::render(&record, service, &caller.client.owner_email);
    rendered.fornitore = fornitore;
    let response = serde_json::to_string(&Envelope::ok(rendered)).unwrap_or_default();
    let history = HistoryEntry {
        request_id: id.clone(),
        at: now,
        status: record.status,
        action: if body.submit { "submit" } else { "open" }.into(),
        actor: caller.actor(),
        note: None,
        source: caller.source.clone(),
    };
    let key_record = idempotency.as_ref().map(|(key, sha)| IdempotencyRecord {
        client_id: caller.client.id.clone(),
        key: key.clone(),
        body_sha256: sha.clone(),
        request_id: id.clone(),
        response: response.clone(),
        created_at: now,
    });
    let debit =
        charged.then(|| Transaction::debit(&id, &caller.client.id, quote, now, &caller.actor()));
    match state
        .store
        .insert_request(NewRequest {
            request: &record,
            key: &data_key,
            files: &files,
            history: &history,
            idempotency: key_record.as_ref(),
            debit: debit.as_ref(),
            subjects: &who,
        })
        .await
    {
        Ok(()) => Ok(response),
        Err(e @ StoreError::InsufficientCredit { .. }) => {
            // Nothing was created: these files belong to no request.
            for f in &files {
                let _ = state.blobs.delete(&f.blob_key).await;
            }
            Err(e.into())
        }
        Err(StoreError::Conflict(_)) => {
            // Another attempt with the same key won the race: answer what it answered.
            for f in &files {
                let _ = state.blobs.delete(&f.blob_key).await;
            }
            let (key, sha) = idempotency.unwrap_or_default();
            match state
                .store
                .find_idempotency(&caller.client.id, &key)
                .await?
            {
                Some(found) => replay(found, &sha),
                None => Err(ApiError::busy()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

fn replay(found: IdempotencyRecord, body_sha: &str) -> ApiResult<String> {
    if found.body_sha256 == body_sha {
        Ok(found.response)
    } else {
        Err(ApiError::idempotency_mismatch())
    }
}

pub async fn render(
    state: &AppState,
    caller: &ClientCaller,
    r: &RequestRecord,
) -> ApiResult<Richiesta> {
    let service = state.catalog.get(&r.hash_visura).ok_or_else(|| {
        tracing::error!(request = %r.id, "request of a service missing from the catalog");
        ApiError::internal()
    })?;
    let mut rendered = Richiesta::render(r, service, &caller.client.owner_email);
    extend(state, r, &mut rendered).await?;
    Ok(rendered)
}

/// What a stored request's answer holds besides its own row: its provider and the documents
/// supplied beyond the form. Every full rendering (client, operator, callback) goes through
/// here.
pub async fn extend(
    state: &AppState,
    r: &RequestRecord,
    rendered: &mut Richiesta,
) -> ApiResult<()> {
    let files = state.store.list_files(&r.id).await?;
    extend_with(state, r, &files, rendered).await
}

/// [`extend`], for a caller that has the request's files at hand.
pub async fn extend_with(
    state: &AppState,
    r: &RequestRecord,
    files: &[sportello_store::FileRecord],
    rendered: &mut Richiesta,
) -> ApiResult<()> {
    rendered.fornitore = super::parties::fornitore(state, r.provider_id.as_deref()).await?;
    rendered.documenti = crate::wire::DocumentoFornito::list(files);
    rendered.invito = invito(state, r);
    Ok(())
}

/// The request's invitation as answers show it, its `stato` as of now.
pub fn invito(state: &AppState, r: &RequestRecord) -> Option<crate::wire::Invito> {
    r.invito.as_ref().map(|inv| {
        crate::wire::Invito::of(
            inv,
            r,
            state.limits.invito_giorni_dopo_chiusura,
            state.clock.now(),
        )
    })
}

pub async fn get(state: &AppState, caller: &ClientCaller, id: &str) -> ApiResult<Richiesta> {
    if !ids::is_request_id(id) {
        return Err(ApiError::invalid_id(201));
    }
    let r = find_own(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(202, id))?;
    render(state, caller, &r).await
}

pub struct ListQuery {
    pub statuses: Vec<Status>,
    pub hash_visura: Option<String>,
    pub page: u32,
    pub per_page: u32,
}

pub async fn list(
    state: &AppState,
    caller: &ClientCaller,
    q: ListQuery,
) -> ApiResult<Vec<Richiesta>> {
    let hash = match &q.hash_visura {
        Some(h) => Some(service(state, h)?.hash_visura.clone()),
        None => None,
    };
    let filter = RequestFilter {
        client_id: Some(caller.client.id.clone()),
        live: Some(caller.token.live),
        statuses: q.statuses,
        hash_visura: hash,
        limit: q.per_page,
        offset: q.page.saturating_sub(1).saturating_mul(q.per_page),
        ..RequestFilter::default()
    };
    let mut providers = super::parties::Directory::default();
    let mut out = Vec::new();
    for r in state.store.list_requests(&filter).await? {
        let service = state.catalog.get(&r.hash_visura).ok_or_else(|| {
            tracing::error!(request = %r.id, "request of a service missing from the catalog");
            ApiError::internal()
        })?;
        let mut rendered = Richiesta::render(&r, service, &caller.client.owner_email);
        rendered.fornitore = providers.get(state, r.provider_id.as_deref()).await?;
        out.push(rendered);
    }
    Ok(out)
}

/// `PUT /richiesta/{_id}`: edit or submit a draft, or answer a request for integration.
pub async fn update(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
    body: UpdateBody,
) -> ApiResult<Richiesta> {
    if !ids::is_request_id(id) {
        return Err(ApiError::invalid_id(201));
    }
    let current = find_own(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(228, id))?;
    let service = service(state, &current.hash_visura)?.clone();
    if current.purged_at.is_some() && !current.status.is_final() {
        // An expired draft, or a test request after its day: its values are gone.
        return Err(ApiError::purged());
    }
    let now = state.clock.now();
    let ctx = field_context(state);
    // The machine says what this PUT is: a draft's edit (or submission), or the answer to an
    // integration request; on anything else it refuses (400/239).
    let put = transition(&current, false, Action::Update)?;
    let updated = match put.status {
        Status::Draft => {
            let mut values = match &body.json_visura {
                Some(whole) => whole.clone(),
                None => raw_strings(&current.fields),
            };
            for (k, v) in &body.dotted {
                match v {
                    Some(v) => values.insert(k.clone(), v.clone()),
                    None => values.remove(k),
                };
            }
            if body.submit == Some(true) {
                let sub = submission::check(&service, &values, &ctx)
                    .map_err(|e| ApiError::validation(229, submission_details(e)))?;
                let key = super::data_key(state, id).await?;
                let who = subjects(&service, &sub);
                let (stored, files) = store_values(state, &key, id, sub, now).await?;
                // Routed at creation; a draft older than that (or of a service nobody offered
                // then) is routed now.
                let mut routed = current.clone();
                if routed.provider_id.is_none() {
                    super::parties::route(state, &mut routed).await?;
                }
                let provider = routed.provider_id.clone();
                let calendar = sla::calendar_for(state, provider.as_deref()).await?;
                let email = body.email_target.clone();
                let submitted = mutate(state, id, |r| {
                    // Asked again on what is there now: a draft submitted or cancelled since it
                    // was read is answered as if the PUT had come later (400/239), not as a
                    // conflict, since the client cannot tell the two apart.
                    transition(r, false, Action::Update)?;
                    let outcome = transition(r, false, Action::Submit)?;
                    r.fields = stored.clone();
                    r.provider_id = provider.clone();
                    r.informativa_versione = routed.informativa_versione;
                    r.mandato_versione = routed.mandato_versione;
                    sla::start_clock(r, &service, &calendar, now);
                    if let Some(e) = &email {
                        r.email_target = e.clone();
                    }
                    enter(r, outcome.status, now);
                    Ok(Change {
                        files: files.clone(),
                        history: Some(history(r, "submit", caller)),
                    })
                })
                .await;
                if submitted.is_err() {
                    // Lost to a concurrent change: these files belong to no request.
                    for f in &files {
                        let _ = state.blobs.delete(&f.blob_key).await;
                    }
                }
                let submitted = submitted?;
                state.store.index_subjects(id, &who).await?;
                submitted
            } else {
                submission::check_draft(&service, &values, &ctx)
                    .map_err(|e| ApiError::validation(229, submission_details(e)))?;
                let raw = raw_values(&values);
                let email = body.email_target.clone();
                mutate(state, id, |r| {
                    transition(r, false, Action::Update)?;
                    transition(r, false, Action::EditDraft)?;
                    r.fields = raw.clone();
                    if let Some(e) = &email {
                        r.email_target = e.clone();
                    }
                    r.updated_at = now;
                    Ok(Change {
                        files: Vec::new(),
                        history: None,
                    })
                })
                .await?
            }
        }
        _ => supply_integration(state, caller, &current, &service, body, now).await?,
    };
    render(state, caller, &updated).await
}

/// The client answers an operator's request for integration: the values asked for must be in
/// this PUT; they are validated, merged, and the request goes back to the queue.
async fn supply_integration(
    state: &AppState,
    caller: &ClientCaller,
    current: &sportello_store::RequestRecord,
    service: &Service,
    body: UpdateBody,
    now: i64,
) -> ApiResult<RequestRecord> {
    let ctx = field_context(state);
    let mut supplied: BTreeMap<String, String> = body.json_visura.clone().unwrap_or_default();
    for (k, v) in &body.dotted {
        if let Some(v) = v {
            supplied.insert(k.clone(), v.clone());
        }
    }
    supplied.retain(|_, v| !v.trim().is_empty());
    let (valid, mut problems) = validate_values(service, &supplied, &ctx);
    let docs_pending = current
        .integrazione
        .as_ref()
        .is_some_and(|i| !super::supporting::outstanding(i).is_empty());
    if let Some(asked) = &current.integrazione {
        if docs_pending && supplied.is_empty() {
            // Nothing to merge: what is missing is documents, which come another way.
            for d in super::supporting::outstanding(asked) {
                problems.push(Detail {
                    campo: format!("documenti.{}", d.codice),
                    codice: "required".into(),
                    messaggio: "the operator asked for this document: send it with POST /richiesta/{_id}/documenti".into(),
                });
            }
        }
        // Fields answered by an earlier PUT need not be sent again.
        let asked_campi: &[String] = if asked.campi_at.is_some() {
            &[]
        } else {
            &asked.campi
        };
        for campo in asked_campi {
            if !supplied.contains_key(campo) {
                problems.push(Detail {
                    campo: campo.clone(),
                    codice: "required".into(),
                    messaggio: "the operator asked for this value".into(),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(229, problems));
    }
    let key = super::data_key(state, &current.id).await?;
    let supplied_values = Submission { values: valid };
    let who = subjects(service, &supplied_values);
    let (stored, files) = store_values(state, &key, &current.id, supplied_values, now).await?;
    let email = body.email_target.clone();
    let calendar = sla::calendar_for(state, current.provider_id.as_deref()).await?;
    let supplied = mutate(state, &current.id, |r| {
        transition(r, false, Action::SupplyIntegration)?;
        for (k, v) in &stored {
            r.fields.insert(k.clone(), v.clone());
        }
        if let Some(e) = &email {
            r.email_target = e.clone();
        }
        // Whether documents are still awaited is read from what is stored now, so an upload
        // that landed meanwhile counts.
        if let Some(i) = r.integrazione.as_mut() {
            i.campi_at = Some(now);
        }
        r.updated_at = now;
        let entry = match super::supporting::back_to_queue(r, &calendar, caller, now)? {
            Some(done) => done,
            // The fields are in; the request waits for the documents still asked.
            None => history(r, "supply_fields", caller),
        };
        Ok(Change {
            files: files.clone(),
            history: Some(entry),
        })
    })
    .await;
    if supplied.is_err() {
        // Lost to a concurrent change: these files belong to no request.
        for f in &files {
            let _ = state.blobs.delete(&f.blob_key).await;
        }
    }
    let supplied = supplied?;
    state.store.index_subjects(&current.id, &who).await?;
    Ok(supplied)
}

/// Each value of `values` (`$n` → raw) checked by its field's type, as a submission checks it:
/// the valid ones by field index, and a detail for each unknown or refused one.
pub(crate) fn validate_values(
    service: &Service,
    values: &BTreeMap<String, String>,
    ctx: &fields::Context,
) -> (BTreeMap<u32, FieldValue>, Vec<Detail>) {
    let mut problems = Vec::new();
    let mut valid = BTreeMap::new();
    for (key, raw) in values {
        let field = key
            .strip_prefix('$')
            .and_then(|n| n.parse::<u32>().ok())
            .and_then(|n| service.field(n));
        match field {
            None => problems.push(Detail {
                campo: key.clone(),
                codice: "unknown_field".into(),
                messaggio: "not a field of this service".into(),
            }),
            Some(f) => match fields::validate(f.tipo, &f.nome, raw, ctx) {
                Ok(v) => {
                    valid.insert(f.index, v);
                }
                Err(e) => problems.push(Detail {
                    campo: key.clone(),
                    codice: e.code.to_string(),
                    messaggio: e.message,
                }),
            },
        }
    }
    (valid, problems)
}

/// A history entry of the client's.
pub(crate) fn history(r: &RequestRecord, action: &str, caller: &ClientCaller) -> HistoryEntry {
    HistoryEntry {
        request_id: r.id.clone(),
        at: r.updated_at,
        status: r.status,
        action: action.into(),
        actor: caller.actor(),
        note: None,
        source: caller.source.clone(),
    }
}

/// `DELETE /richiesta/{_id}`: cancels what no operator has taken yet.
pub async fn cancel(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
    motivo: Option<String>,
) -> ApiResult<Richiesta> {
    if !ids::is_request_id(id) {
        return Err(ApiError::invalid_id(201));
    }
    find_own(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(202, id))?;
    let now = state.clock.now();
    let updated = mutate(state, id, |r| {
        let outcome = transition(r, false, Action::ClientCancel)?;
        r.motivo_annullamento = Some(
            motivo
                .clone()
                .unwrap_or_else(|| "annullata dal cliente".to_string()),
        );
        enter(r, outcome.status, now);
        Ok(Change::recorded(history(r, "client_cancel", caller)))
    })
    .await?;
    render(state, caller, &updated).await
}
