//! The request page and the operator's actions on it. Every action calls the operator use case
//! of the service layer, the same one the operator API calls: the rules live there.

use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sportello_domain::checklist::MANDATO;
use sportello_domain::status::Status;
use std::collections::HashMap;

use super::page::{duration, html, see_other, when, FormData, FromForm, PageError, PageResult};
use super::session::{CsrfForm, Staff};
use super::Nav;
use crate::service::{notes, operator};
use crate::state::AppState;

pub struct Field {
    pub campo: String,
    pub nome: String,
    pub valore: Option<String>,
    /// (file id, name, size in bytes)
    pub file: Option<(String, String, u64)>,
    pub richiesto: bool,
}

pub struct Step {
    pub quando: String,
    pub stato: String,
    pub azione: String,
    pub chi: String,
    pub nota: Option<String>,
}

/// A document asked in the pending integration, and whether a file with its codice arrived
/// since it was asked (one supplied earlier does not answer a new request for it). The service
/// records the answering file on the stored integration; the operator's view does not carry
/// it, so the page compares times, which agrees but for a file sent in the very second the
/// question was asked.
pub struct AskedDocument {
    pub codice: String,
    pub descrizione: String,
    pub fornito: bool,
}

/// A document supplied beyond the form, with the checklist's description when the service
/// lists its codice.
pub struct SuppliedDocument {
    pub id: String,
    pub codice: String,
    pub descrizione: Option<String>,
    pub nome: String,
    pub dimensione: u64,
    pub quando: String,
}

/// One entry of the service's checklist, offered in the integration form.
pub struct ChecklistEntry {
    pub codice: String,
    pub descrizione: String,
    pub obbligatorio: bool,
    pub note: Option<String>,
}

pub struct Note {
    pub quando: String,
    pub chi: String,
    pub testo: String,
}

#[derive(Template)]
#[template(path = "backoffice/request.html")]
struct RequestPage {
    nav: Nav,
    id: String,
    servizio: String,
    cliente: String,
    stato: String,
    assegnata: String,
    creata: String,
    opzioni: Vec<String>,
    campi: Vec<Field>,
    risultati: Vec<(String, String, u64)>,
    storia: Vec<Step>,
    note: Vec<Note>,
    integrazione: Option<String>,
    documenti_chiesti: Vec<AskedDocument>,
    documenti: Vec<SuppliedDocument>,
    /// What the person agreed to on their page: when, and what.
    consensi: Vec<(String, String)>,
    /// The person's invitation, in words (None: never invited).
    invito: Option<String>,
    checklist: Vec<ChecklistEntry>,
    mandato_mancante: bool,
    /// The pending integration already asks for the mandate: no second click.
    mandato_chiesto: bool,
    esito: Option<String>,
    motivo: Option<String>,
    notice: Option<&'static str>,
    scadenza: Option<String>,
    residuo: Option<String>,
    sospesa: bool,
    scaduta: bool,
    urgente: bool,
    can_claim: bool,
    mine: bool,
    open: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct Done {
    pub fatto: Option<String>,
}

fn notice(key: Option<&str>) -> Option<&'static str> {
    Some(match key? {
        "presa" => "Hai preso in carico la richiesta.",
        "rilasciata" => "La richiesta è tornata in coda.",
        "integrazione" => "Integrazione chiesta al cliente: la richiesta attende la sua risposta.",
        "risultato" => "File di risultato caricato.",
        "chiusa" => "Richiesta chiusa come evasa: il cliente può scaricare il risultato.",
        "annullata" => "Richiesta annullata.",
        "nota" => "Nota aggiunta.",
        "mandato" => "Mandato chiesto al cliente: la richiesta attende il documento firmato.",
        _ => return None,
    })
}

/// How the page names who did something, without showing token ids.
fn who(actor: &str, names: &HashMap<String, String>) -> String {
    match actor.split_once(':') {
        Some(("operator", id)) => names.get(id).cloned().unwrap_or_else(|| "operatore".into()),
        Some(("client", _)) => "cliente".into(),
        Some(("admin", _)) => "amministratore".into(),
        _ if actor == "system" => "sistema".into(),
        _ => actor.into(),
    }
}

fn azione(action: &str) -> String {
    match action {
        "submit" => "inviata dal cliente",
        "claim" => "presa in carico",
        "release" => "rilasciata",
        "ask_integration" => "integrazione chiesta",
        "supply_integration" => "integrazione fornita",
        "supply_document" => "documento fornito dal cliente",
        "supply_fields" => "campi forniti dal cliente",
        "attach_result" => "risultato allegato",
        "close" => "chiusa",
        "cancel" => "annullata",
        "purge" => "dati cancellati",
        "reassign" => "riassegnata ad altro fornitore",
        "overdue" => "scaduta",
        other => other,
    }
    .to_string()
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> PageResult {
    let op = staff.operator()?;
    // Recorded in the audit trail as a read of personal data before anything is shown.
    let r = operator::detail(&state, &op, &id).await?;
    let names: HashMap<String, String> = state
        .store
        .list_operators()
        .await?
        .into_iter()
        .filter(|o| o.provider_id == op.provider.id)
        .map(|o| (o.id, o.name))
        .collect();
    let asked: Vec<String> = r
        .richiesta
        .integrazione
        .as_ref()
        .map(|i| i.campi.clone())
        .unwrap_or_default();
    // The catalog answered for this request a moment ago (the service renders it); a service
    // dropped since then only loses the descriptions and the checklist.
    let service = state.catalog.get(&r.richiesta.hash_visura);
    // A document of the operator's own has the description it was asked with, while asked.
    let described = |codice: &str| {
        service
            .and_then(|s| s.documento(codice))
            .map(|d| d.descrizione.clone())
            .or_else(|| {
                r.richiesta.integrazione.as_ref().and_then(|i| {
                    i.documenti
                        .iter()
                        .find(|d| d.codice == codice)
                        .map(|d| d.descrizione.clone())
                })
            })
    };
    let documenti_chiesti = r
        .richiesta
        .integrazione
        .as_ref()
        .map(|i| {
            i.documenti
                .iter()
                .map(|d| AskedDocument {
                    fornito: d.fornito,
                    codice: d.codice.clone(),
                    descrizione: d.descrizione.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let documenti = r
        .richiesta
        .documenti
        .iter()
        .map(|f| SuppliedDocument {
            id: f.id.clone(),
            codice: f.codice.clone(),
            descrizione: described(&f.codice),
            nome: f.nome.clone(),
            dimensione: f.dimensione,
            quando: when(f.timestamp),
        })
        .collect();
    let checklist = service
        .map(|s| {
            s.documenti
                .iter()
                .map(|d| ChecklistEntry {
                    codice: d.codice.clone(),
                    descrizione: d.descrizione.clone(),
                    obbligatorio: d.obbligatorio,
                    note: d.note.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let stato = r.richiesta.stato_richiesta.clone();
    let open = stato == Status::InErogazione.stato_richiesta()
        || stato == Status::InAttesaIntegrazione.stato_richiesta()
        || stato == Status::DatiDisponibili.stato_richiesta();
    let mine = r.operatore.as_deref() == Some(op.operator.id.as_str());
    let note = notes::list(&state, &op, &id)
        .await?
        .into_iter()
        .map(|n| Note {
            quando: when(n.created_at),
            chi: who(&n.author, &names),
            testo: n.body,
        })
        .collect();
    let consensi = r
        .richiesta
        .consensi
        .iter()
        .map(|c| {
            let what = match (c.tipo.as_str(), c.metodo.as_str()) {
                ("informativa", _) => "Informativa privacy letta sulla sua pagina",
                (_, "documento_firmato") => "Mandato firmato a mano (copia caricata)",
                _ => "Mandato accettato online (firma elettronica semplice, codice via e-mail)",
            };
            (
                when(c.timestamp),
                format!("{what} — versione {}", c.versione),
            )
        })
        .collect();
    let invito = r.richiesta.invito.as_ref().map(|i| {
        let stato = match i.stato.as_str() {
            "inviato" => "inviato, non ancora aperto",
            "aperto" => "aperto dalla persona",
            "completato" => "completato: la persona ha inviato la pratica",
            "revocato" => "revocato dal cliente",
            _ => "scaduto",
        };
        format!("Invito alla persona {stato}.")
    });
    html(RequestPage {
        nav: Nav::of(&staff),
        id: id.clone(),
        consensi,
        invito,
        servizio: r.richiesta.nome.clone(),
        cliente: r.cliente.clone(),
        assegnata: match &r.operatore {
            Some(_) if mine => "a te".into(),
            Some(o) => names
                .get(o)
                .cloned()
                .unwrap_or_else(|| "altro operatore".into()),
            None => "nessuno".into(),
        },
        can_claim: r.operatore.is_none() && stato == Status::InErogazione.stato_richiesta(),
        stato,
        creata: when(r.richiesta.timestamp_creation),
        opzioni: r
            .richiesta
            .opzioni
            .as_ref()
            .map(|o| o.iter().map(|o| o.nome.clone()).collect())
            .unwrap_or_default(),
        campi: r
            .campi
            .iter()
            .map(|c| Field {
                richiesto: asked.contains(&c.campo),
                campo: c.campo.clone(),
                nome: c.nome.clone(),
                valore: c.valore.clone(),
                file: c
                    .file
                    .as_ref()
                    .map(|f| (f.id.clone(), f.nome.clone(), f.dimensione)),
            })
            .collect(),
        risultati: r
            .risultati
            .iter()
            .map(|f| (f.id.clone(), f.nome.clone(), f.dimensione))
            .collect(),
        storia: r
            .storia
            .iter()
            .map(|s| Step {
                quando: when(s.timestamp),
                stato: s.stato.clone(),
                azione: azione(&s.azione),
                chi: who(&s.attore, &names),
                nota: s.nota.clone(),
            })
            .collect(),
        note,
        integrazione: r
            .richiesta
            .integrazione
            .as_ref()
            .map(|i| i.messaggio.clone()),
        documenti_chiesti,
        documenti,
        checklist,
        mandato_mancante: r.mandato_mancante,
        mandato_chiesto: r
            .richiesta
            .integrazione
            .as_ref()
            .is_some_and(|i| i.documenti.iter().any(|d| d.codice == MANDATO)),
        esito: (r.richiesta.stato_richiesta == Status::VisuraEvasa.stato_richiesta())
            .then(|| format!("{} — {}", r.richiesta.esito.codice, r.richiesta.esito.info)),
        motivo: r.richiesta.motivo_annullamento.clone(),
        notice: notice(done.fatto.as_deref()),
        scadenza: r.sla.scadenza.map(when),
        residuo: r.sla.secondi_lavorativi_residui.map(duration),
        sospesa: r.sla.sospesa,
        scaduta: r.sla.scaduta,
        urgente: r.sla.urgente,
        mine,
        open,
    })
}

fn back(id: &str, done: &str) -> Response {
    // `id` was checked by the service (a request id: hex only) before we get here.
    see_other(&format!("/backoffice/richieste/{id}?fatto={done}"))
}

pub async fn claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    operator::claim(&state, &staff.operator()?, &id).await?;
    Ok(back(&id, "presa"))
}

pub async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    operator::release(&state, &staff.operator()?, &id).await?;
    Ok(back(&id, "rilasciata"))
}

impl FromForm for operator::AskIntegration {
    fn from_form(form: FormData) -> Result<Self, PageError> {
        // Ticked checklist entries (their descriptions come from the checklist), and one
        // document of the operator's own.
        let mut documenti = form
            .all("documenti")
            .iter()
            .map(|codice| operator::AskedDocument::new(codice, None))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(codice) = form.text("altro_codice").filter(|c| !c.trim().is_empty()) {
            documenti.push(operator::AskedDocument::new(
                &codice,
                form.get("altro_descrizione"),
            )?);
        }
        Ok(operator::AskIntegration::new(
            form.get("messaggio"),
            form.all("campi"),
            documenti,
        )?)
    }
}

pub async fn ask_integration(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ask): CsrfForm<operator::AskIntegration>,
) -> PageResult {
    operator::ask_integration(&state, &staff.operator()?, &id, ask).await?;
    Ok(back(&id, "integrazione"))
}

/// What the one-click request for the mandate tells the client: where to get it, and the
/// codice to send it back with.
fn mandate_message(id: &str) -> String {
    format!(
        "Per procedere serve il mandato di assistenza e rappresentanza firmato dalla persona: \
         scaricalo con GET /richiesta/{id}/mandato, fallo firmare e caricalo come documento \
         \"{MANDATO}\"."
    )
}

/// "Chiedi il mandato al cliente": an integration request for the document `mandato` alone,
/// described as the service's checklist describes it.
pub async fn ask_mandate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    let op = staff.operator()?;
    // The id goes into the message, which is built before the service looks the request up:
    // a malformed one is answered as the service answers it (404), not as a bad message.
    if !sportello_store::ids::is_request_id(&id) {
        return Err(crate::error::ApiError::not_found("no such request").into());
    }
    let ask = operator::AskIntegration::new(
        Some(&mandate_message(&id)),
        Vec::new(),
        vec![operator::AskedDocument::new(MANDATO, None)?],
    )?;
    operator::ask_integration(&state, &op, &id, ask).await?;
    Ok(back(&id, "mandato"))
}

/// The result file, streamed from the form into the file store (see
/// [`operator::attach_result_stream`]). The form sends the CSRF token first, so it is checked
/// before a byte of the file is read.
pub async fn attach_result(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> PageResult {
    let unreadable = || {
        PageError::Refused(
            StatusCode::BAD_REQUEST,
            "Il modulo di caricamento non è leggibile o il file è troppo grande.".into(),
        )
    };
    let mut csrf = None;
    while let Some(field) = multipart.next_field().await.map_err(|_| unreadable())? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(|_| unreadable())?),
            Some("file") => {
                staff.check_csrf(csrf.as_deref())?;
                let name = field.file_name().unwrap_or_default().to_string();
                operator::attach_result_stream(&state, &staff.operator()?, &id, &name, field)
                    .await?;
                return Ok(back(&id, "risultato"));
            }
            _ => {}
        }
    }
    staff.check_csrf(csrf.as_deref())?;
    Err(PageError::Refused(
        StatusCode::BAD_REQUEST,
        "Scegli un file da caricare.".into(),
    ))
}

/// A blank code or description takes the default, as a missing one does in the API.
impl FromForm for operator::Close {
    fn from_form(form: FormData) -> Result<Self, PageError> {
        let esito =
            operator::Esito::new(form.text("codice").as_deref(), form.text("info").as_deref())?;
        Ok(operator::Close { esito })
    }
}

pub async fn close(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, close): CsrfForm<operator::Close>,
) -> PageResult {
    operator::close(&state, &staff.operator()?, &id, close).await?;
    Ok(back(&id, "chiusa"))
}

impl FromForm for operator::Cancel {
    fn from_form(form: FormData) -> Result<Self, PageError> {
        Ok(operator::Cancel::new(form.get("motivo"))?)
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, cancel): CsrfForm<operator::Cancel>,
) -> PageResult {
    operator::cancel(&state, &staff.operator()?, &id, cancel).await?;
    Ok(back(&id, "annullata"))
}

impl FromForm for notes::Note {
    fn from_form(form: FormData) -> Result<Self, PageError> {
        Ok(notes::Note::new(form.get("nota"))?)
    }
}

pub async fn add_note(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, note): CsrfForm<notes::Note>,
) -> PageResult {
    notes::add(&state, &staff.operator()?, &id, note).await?;
    Ok(back(&id, "nota"))
}

/// An input, result or supplied file (any file of the request), decrypted and streamed; the
/// download is audited by the service.
pub async fn file(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, file_id)): Path<(String, String)>,
) -> PageResult {
    let (f, stream) = operator::file(&state, &staff.operator()?, &id, &file_id).await?;
    let mut response = (StatusCode::OK, Body::from_stream(stream)).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&f.mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(f.size));
    // The stored name was sanitised at upload; ASCII only in the header, the rest dropped.
    let ascii: String = f
        .name
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"");
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    Ok(response)
}

/// The practice's file as a zip (a form, not a link: the download counts as the provider's
/// export, which retention waits for, so a page elsewhere must not be able to make it); the
/// service audits and records it.
pub async fn fascicolo(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    let archive = crate::service::fascicolo::fascicolo(&state, &staff.operator()?, &id).await?;
    // `id` was checked by the service (a request id: hex only).
    Ok(crate::api::operator::zip_response(
        crate::service::archive::stream(&state.blobs, archive),
        &format!("fascicolo-{id}.zip"),
    ))
}
