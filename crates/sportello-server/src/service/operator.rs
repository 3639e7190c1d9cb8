//! The operator's use cases: the queue of its provider, taking a request, asking for
//! integration, attaching results, closing, cancelling.

use bytes::Bytes;
use futures::Stream;
use serde::Serialize;
use sportello_domain::status::{Action, Refusal, Status};
use sportello_store::{
    ids, FileKind, FileRecord, HistoryEntry, Integration, ProviderQueue, RequestFilter,
    RequestRecord, StoredValue,
};
use utoipa::ToSchema;

use super::tenancy::load;
use super::{documents, enter, mutate, sla, supporting, transition, upload, Change};
use crate::auth::OperatorCaller;
use crate::body::operator::Invalid;
pub use crate::body::operator::{AskIntegration, AskedDocument, Cancel, Close, Esito, ResultFile};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Richiesta;

/// A line of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub id: String,
    pub hash_visura: String,
    pub nome_visura: String,
    pub stato_richiesta: String,
    pub cliente: String,
    pub operatore: Option<String>,
    pub opzioni: Vec<String>,
    pub timestamp_creation: i64,
    pub timestamp_last_update: i64,
    pub live: bool,
    /// The SLA due time (Unix seconds); it moves while the client is asked for more.
    pub scadenza: Option<i64>,
    /// Marked overdue by the escalation job while open (listed first).
    pub scaduta: bool,
    /// The client chose the `urgenza` option (a shorter target).
    pub urgente: bool,
    /// Working seconds left until `scadenza` on the provider's calendar, negative once past it;
    /// frozen while the client is asked for more; None once closed or without a due time.
    pub secondi_lavorativi_residui: Option<i64>,
}

/// How many requests of the provider's queue are in one state.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateCount {
    /// `in_erogazione`, `in_attesa_integrazione`, …
    pub stato: String,
    pub stato_richiesta: String,
    pub totale: u64,
    /// Of which marked overdue by the escalation job.
    pub scadute: u64,
}

/// One request as an operator sees it: the client's view plus the inputs.
#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorRequest {
    pub richiesta: Richiesta,
    pub cliente: String,
    pub provider_id: Option<String>,
    pub operatore: Option<String>,
    /// The fields in the catalog's `ordine`.
    pub campi: Vec<CampoValore>,
    pub risultati: Vec<FileInfo>,
    pub storia: Vec<Passaggio>,
    /// Due time, time left in working seconds, whether the clock is stopped.
    pub sla: sla::SlaView,
    /// The service needs the person's signed mandate and the request holds none (neither the
    /// form's copy nor a document `mandato`): it cannot be closed as processed yet.
    pub mandato_mancante: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampoValore {
    pub campo: String,
    pub nome: String,
    pub tipo: String,
    pub valore: Option<String>,
    pub file: Option<FileInfo>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileInfo {
    pub id: String,
    pub nome: String,
    pub mime: String,
    pub dimensione: u64,
    pub sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Passaggio {
    pub timestamp: i64,
    pub stato: String,
    pub azione: String,
    pub attore: String,
    pub nota: Option<String>,
}

fn file_info(f: &FileRecord) -> FileInfo {
    FileInfo {
        id: f.id.clone(),
        nome: f.name.clone(),
        mime: f.mime.clone(),
        dimensione: f.size,
        sha256: f.sha256.clone(),
    }
}

fn mine(op: &OperatorCaller, r: &RequestRecord) -> ApiResult<()> {
    match &r.operator_id {
        Some(o) if *o == op.operator.id => Ok(()),
        Some(_) => Err(ApiError::refused(Refusal::HeldByAnother)),
        None => Err(ApiError::refused(Refusal::TakeFirst)),
    }
}

fn history(
    r: &RequestRecord,
    op: &OperatorCaller,
    action: &str,
    note: Option<String>,
) -> HistoryEntry {
    HistoryEntry {
        request_id: r.id.clone(),
        at: r.updated_at,
        status: r.status,
        action: action.into(),
        actor: op.actor(),
        note,
        source: op.source.clone(),
    }
}

pub struct QueueQuery {
    pub statuses: Vec<Status>,
    pub hash_visura: Option<String>,
    /// `me`, `none` or everything.
    pub assigned: Option<String>,
    /// Only overdue requests (true) or only the others (false).
    pub overdue: Option<bool>,
    pub page: u32,
    pub per_page: u32,
}

pub async fn queue(
    state: &AppState,
    op: &OperatorCaller,
    q: QueueQuery,
) -> ApiResult<Vec<QueueItem>> {
    let statuses: Vec<Status> = if q.statuses.is_empty() {
        vec![
            Status::InErogazione,
            Status::InAttesaIntegrazione,
            Status::DatiDisponibili,
        ]
    } else {
        q.statuses
    };
    // Operators never see drafts: asking only for them is an empty queue, not an unfiltered one.
    let statuses: Vec<Status> = statuses
        .into_iter()
        .filter(|s| *s != Status::Draft)
        .collect();
    if statuses.is_empty() {
        return Ok(Vec::new());
    }
    // A filter that cannot be applied is refused rather than silently dropped.
    let hash_visura = match q.hash_visura.as_deref() {
        Some(h) => Some(
            state
                .catalog
                .get(h)
                .ok_or_else(|| ApiError::bad_query("unknown hash_visura"))?
                .hash_visura
                .clone(),
        ),
        None => None,
    };
    if !matches!(q.assigned.as_deref(), None | Some("me" | "none")) {
        return Err(ApiError::bad_query("assigned must be me or none"));
    }
    let filter = RequestFilter {
        provider_queue: Some(ProviderQueue {
            provider_id: op.provider.id.clone(),
            services: op.provider.services.clone(),
        }),
        statuses,
        hash_visura,
        operator_id: (q.assigned.as_deref() == Some("me")).then(|| op.operator.id.clone()),
        unassigned: q.assigned.as_deref() == Some("none"),
        overdue: q.overdue,
        by_due: true,
        limit: q.per_page,
        offset: q.page.saturating_sub(1).saturating_mul(q.per_page),
        ..RequestFilter::default()
    };
    let mut out = Vec::new();
    // Every request listed is this provider's (or not yet routed, counted on the national
    // calendar as the request page does).
    let calendar = sla::calendar_for(state, Some(&op.provider.id)).await?;
    let national = state.calendars.national();
    let now = state.clock.now();
    // A page holds many requests of few clients: each client's name is read once.
    let mut names: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for r in state.store.list_requests(&filter).await? {
        let Some(service) = state.catalog.get(&r.hash_visura) else {
            continue;
        };
        let cliente = match names.get(&r.client_id) {
            Some(name) => name.clone(),
            None => {
                let name = state
                    .store
                    .get_client(&r.client_id)
                    .await?
                    .map(|c| c.name)
                    .unwrap_or_default();
                names.insert(r.client_id.clone(), name.clone());
                name
            }
        };
        out.push(QueueItem {
            id: r.id.clone(),
            hash_visura: r.hash_visura.clone(),
            nome_visura: service.nome_visura.clone(),
            stato_richiesta: r.status.stato_richiesta().to_string(),
            cliente,
            operatore: r.operator_id.clone(),
            opzioni: r
                .opzioni
                .iter()
                .filter_map(|o| service.option(o).map(|o| o.tipo.clone()))
                .collect(),
            timestamp_creation: r.created_at,
            timestamp_last_update: r.updated_at,
            live: r.live,
            scadenza: r.due_at,
            // The escalation job's mark, as the order and the `overdue` filter use it.
            scaduta: r.overdue_at.is_some() && !r.status.is_final(),
            urgente: sla::is_urgent(service, &r),
            secondi_lavorativi_residui: sla::working_seconds_left(
                &r,
                if r.provider_id.is_some() {
                    &calendar
                } else {
                    national
                },
                now,
            ),
        });
    }
    Ok(out)
}

/// The provider's queue counted per state (every state but drafts), with the overdue ones.
pub async fn counts(state: &AppState, op: &OperatorCaller) -> ApiResult<Vec<StateCount>> {
    let counts = state
        .store
        .queue_counts(&ProviderQueue {
            provider_id: op.provider.id.clone(),
            services: op.provider.services.clone(),
        })
        .await?;
    Ok(Status::ALL
        .into_iter()
        .filter(|s| *s != Status::Draft)
        .map(|s| {
            let c = counts.iter().find(|c| c.status == s);
            StateCount {
                stato: s.as_db().to_string(),
                stato_richiesta: s.stato_richiesta().to_string(),
                totale: c.map_or(0, |c| c.total),
                scadute: c.map_or(0, |c| c.overdue),
            }
        })
        .collect())
}

pub async fn detail(state: &AppState, op: &OperatorCaller, id: &str) -> ApiResult<OperatorRequest> {
    let r = load(state, op, id).await?;
    super::audit::record(
        state,
        op.actor(),
        "read_personal_data",
        id,
        String::new(),
        op.source.clone(),
    )
    .await?;
    render(state, &r).await
}

async fn render(state: &AppState, r: &RequestRecord) -> ApiResult<OperatorRequest> {
    let service = state
        .catalog
        .get(&r.hash_visura)
        .ok_or_else(ApiError::internal)?;
    let client = state
        .store
        .get_client(&r.client_id)
        .await?
        .ok_or_else(ApiError::internal)?;
    let files = state.store.list_files(&r.id).await?;
    let campi = service
        .fields_in_order()
        .into_iter()
        .map(|f| {
            let key = f.key();
            let (valore, file) = match r.fields.get(&key) {
                Some(StoredValue::Text(t)) => (Some(t.clone()), None),
                Some(StoredValue::File { file }) => {
                    (None, files.iter().find(|x| x.id == *file).map(file_info))
                }
                None => (None, None),
            };
            CampoValore {
                campo: key,
                nome: f.nome.clone(),
                tipo: f.tipo.as_str().to_string(),
                valore,
                file,
            }
        })
        .collect();
    let storia = state
        .store
        .history(&r.id)
        .await?
        .into_iter()
        .map(|h| Passaggio {
            timestamp: h.at,
            stato: h.status.stato_richiesta().to_string(),
            azione: h.action,
            attore: h.actor,
            nota: h.note,
        })
        .collect();
    let mut richiesta = Richiesta::render(r, service, &client.owner_email);
    super::requests::extend_with(state, r, &files, &mut richiesta).await?;
    Ok(OperatorRequest {
        mandato_mancante: supporting::mandate_missing(
            service,
            supporting::fes_accepted(state, r.provider_id.as_deref()).await?,
            r,
            &files,
        ),
        richiesta,
        cliente: client.name,
        provider_id: r.provider_id.clone(),
        operatore: r.operator_id.clone(),
        campi,
        risultati: files
            .iter()
            .filter(|f| f.kind == FileKind::Result)
            .map(file_info)
            .collect(),
        storia,
        sla: sla::view(state, r, service).await?,
    })
}

pub async fn claim(state: &AppState, op: &OperatorCaller, id: &str) -> ApiResult<OperatorRequest> {
    load(state, op, id).await?;
    let now = state.clock.now();
    let r = mutate(state, id, |r| {
        transition(r, false, Action::Claim)?;
        r.operator_id = Some(op.operator.id.clone());
        r.provider_id = Some(op.provider.id.clone());
        r.updated_at = now;
        Ok(Change::recorded(history(r, op, "claim", None)))
    })
    .await?;
    render(state, &r).await
}

pub async fn release(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
) -> ApiResult<OperatorRequest> {
    load(state, op, id).await?;
    let now = state.clock.now();
    let r = mutate(state, id, |r| {
        mine(op, r)?;
        transition(r, false, Action::Release)?;
        r.operator_id = None;
        r.updated_at = now;
        Ok(Change::recorded(history(r, op, "release", None)))
    })
    .await?;
    render(state, &r).await
}

/// Asks the client for more data: a message and, optionally, which fields are missing or wrong.
pub async fn ask_integration(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    input: AskIntegration,
) -> ApiResult<OperatorRequest> {
    let current = load(state, op, id).await?;
    let service = state
        .catalog
        .get(&current.hash_visura)
        .ok_or_else(ApiError::internal)?;
    let known = |key: &String| {
        key.strip_prefix('$')
            .and_then(|n| n.parse::<u32>().ok())
            .and_then(|n| service.field(n))
            .is_some()
    };
    if !input.campi.iter().all(known) {
        return Err(Invalid::UnknownCampo.into());
    }
    let AskIntegration {
        messaggio,
        campi,
        documenti,
    } = input;
    let documenti = documenti
        .into_iter()
        .map(|d| {
            let descrizione = d
                .descrizione
                .or_else(|| service.documento(&d.codice).map(|c| c.descrizione.clone()))
                .ok_or(Invalid::DocumentoDescrizione)?;
            Ok(sportello_store::AskedDocument {
                codice: d.codice,
                descrizione,
                fornito: None,
            })
        })
        .collect::<Result<Vec<_>, Invalid>>()?;
    let now = state.clock.now();
    let r = mutate(state, id, |r| {
        mine(op, r)?;
        let outcome = transition(r, false, Action::AskIntegration)?;
        sla::stop_clock(r, now);
        r.integrazione = Some(Integration {
            messaggio: messaggio.clone(),
            campi: campi.clone(),
            documenti: documenti.clone(),
            at: now,
            campi_at: None,
        });
        enter(r, outcome.status, now);
        Ok(Change::recorded(history(
            r,
            op,
            "ask_integration",
            Some(messaggio.clone()),
        )))
    })
    .await?;
    render(state, &r).await
}

/// Attaches one result file: `{"nome": "esito.pdf", "file": "<base64 or data: URL>"}`.
pub async fn attach_result(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    input: ResultFile,
) -> ApiResult<OperatorRequest> {
    let (key, file_id, blob_key) = before_result(state, op, id).await?;
    let ResultFile { nome, file } = input;
    let sealed = upload::seal_text(state, &key, &blob_key, &file, nome.as_deref()).await?;
    record_result(
        state,
        op,
        id,
        result_record(id, file_id, blob_key, sealed, state),
    )
    .await
}

/// Attaches one result file read as a stream (the back office's multipart upload), with the
/// same checks as [`attach_result`]'s; nothing is stored when one fails.
pub async fn attach_result_stream<S, E>(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    file_name: &str,
    body: S,
) -> ApiResult<OperatorRequest>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let (key, file_id, blob_key) = before_result(state, op, id).await?;
    let sealed = upload::seal_stream(state, &key, &blob_key, file_name, body).await?;
    let record = result_record(id, file_id, blob_key.clone(), sealed, state);
    let recorded = record_result(state, op, id, record).await;
    if recorded.is_err() {
        upload::discard(state, &blob_key).await;
    }
    recorded
}

/// Whether the operator may attach a result now; the data key and where the file goes.
async fn before_result(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
) -> ApiResult<(sportello_store::crypto::DataKey, String, String)> {
    let current = load(state, op, id).await?;
    mine(op, &current)?;
    transition(&current, false, Action::AttachResult)?;
    let key = super::data_key(state, id).await?;
    let file_id = ids::short_id("f");
    let blob_key = format!("requests/{id}/{file_id}");
    Ok((key, file_id, blob_key))
}

fn result_record(
    id: &str,
    file_id: String,
    blob_key: String,
    sealed: upload::Sealed,
    state: &AppState,
) -> FileRecord {
    FileRecord {
        id: file_id,
        request_id: id.to_string(),
        kind: FileKind::Result,
        campo: None,
        name: sealed.name,
        mime: sealed.mime,
        size: sealed.size,
        sha256: sealed.sha256,
        blob_key,
        created_at: state.clock.now(),
    }
}

/// Records a result file already sealed in the store, if the request still takes one.
async fn record_result(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    record: FileRecord,
) -> ApiResult<OperatorRequest> {
    let now = record.created_at;
    let r = mutate(state, id, |r| {
        mine(op, r)?;
        transition(r, false, Action::AttachResult)?;
        r.updated_at = now;
        Ok(Change {
            files: vec![record.clone()],
            history: Some(history(r, op, "attach_result", None)),
        })
    })
    .await?;
    render(state, &r).await
}

/// Closes as processed ("Visura evasa"): the result archive is built and the client can
/// download it.
pub async fn close(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    input: Close,
) -> ApiResult<OperatorRequest> {
    let current = load(state, op, id).await?;
    mine(op, &current)?;
    let Esito { codice, info } = input.esito;
    let files = state.store.list_files(id).await?;
    let results: Vec<FileRecord> = files
        .iter()
        .filter(|f| f.kind == FileKind::Result)
        .cloned()
        .collect();
    transition(&current, !results.is_empty(), Action::Close)?;
    let service = state
        .catalog
        .get(&current.hash_visura)
        .ok_or_else(ApiError::internal)?;
    let fes = supporting::fes_accepted(state, current.provider_id.as_deref()).await?;
    if supporting::mandate_missing(service, fes, &current, &files) {
        return Err(ApiError::refused(Refusal::MandateMissing));
    }
    let document = documents::build_archive(state, id, &results).await?;
    let now = state.clock.now();
    let has_results = !results.is_empty();
    let r = mutate(state, id, |r| {
        mine(op, r)?;
        let outcome = transition(r, has_results, Action::Close)?;
        r.document = Some(document.clone());
        r.esito_codice = codice.clone();
        r.esito_info = info.clone();
        r.integrazione = None;
        // The commercial API stamps both on completion; its SDK hands the document over in
        // either state.
        enter(r, Status::DatiDisponibili, now);
        enter(r, outcome.status, now);
        Ok(Change::recorded(history(r, op, "close", None)))
    })
    .await?;
    render(state, &r).await
}

pub async fn cancel(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    input: Cancel,
) -> ApiResult<OperatorRequest> {
    load(state, op, id).await?;
    let Cancel { motivo } = input;
    let now = state.clock.now();
    let r = mutate(state, id, |r| {
        let outcome = transition(r, false, Action::OperatorCancel)?;
        r.motivo_annullamento = Some(motivo.clone());
        r.integrazione = None;
        enter(r, outcome.status, now);
        Ok(Change::recorded(history(
            r,
            op,
            "cancel",
            Some(motivo.clone()),
        )))
    })
    .await?;
    render(state, &r).await
}

/// One input or result file of a visible request, streamed.
pub async fn file(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    file_id: &str,
) -> ApiResult<(
    FileRecord,
    futures::stream::BoxStream<'static, Result<Bytes, sportello_store::StoreError>>,
)> {
    load(state, op, id).await?;
    let f = state
        .store
        .list_files(id)
        .await?
        .into_iter()
        .find(|f| f.id == file_id)
        .ok_or_else(|| ApiError::not_found("no such file"))?;
    let key = super::data_key(state, id).await?;
    super::audit::record(
        state,
        op.actor(),
        "download_file",
        id,
        format!("file {}", f.id),
        op.source.clone(),
    )
    .await?;
    let stream = state.blobs.stream_opened(&f.blob_key, &key).await?;
    Ok((f, stream))
}
