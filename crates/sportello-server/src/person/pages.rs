//! The steps of the person's page but the form (see `form.rs`): the code, who asks and why, the
//! mandate, the summary and "Invia", then the practice's status and its result.

use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sportello_domain::invitation::{self, CodeCheck, ConsentKind, ConsentMethod, Purpose};
use sportello_domain::status::Status;
use sportello_store::{FileKind, StoredValue};

use super::{open, open_request, page, see_other, steps, Person, PersonError, PersonResult, Step};
use crate::backoffice::page::FormData;
use crate::backoffice::session::Source;
use crate::body::BodyLimit;
use crate::service::invitations::{self, NotAccepted, NotSent, Typed};
use crate::state::AppState;

/// A short form (code, name, a button), read within the form limit, its CSRF token checked.
pub(super) async fn short_form(
    state: &AppState,
    link: &str,
    req: Request,
) -> Result<(Person, FormData), PersonError> {
    let (person, req) = open_request(state, link, req).await?;
    let form = FormData::read(req, state, BodyLimit::Form)
        .await
        .map_err(|_| {
            PersonError::Refused(
                StatusCode::BAD_REQUEST,
                "Il modulo inviato non è leggibile.".into(),
            )
        })?;
    person.check_csrf(form.get("csrf"))?;
    Ok((person, form))
}

#[derive(Template)]
#[template(path = "persona/codice.html")]
struct CodePage {
    base: String,
    csrf: String,
    email: String,
    sent: bool,
    notice: Option<String>,
    error: Option<String>,
}

fn code_page(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> PersonResult {
    let sent = !person.visit.invitation.codes_sent.is_empty() || notice.is_some();
    page(
        state,
        person,
        status,
        CodePage {
            base: person.base(),
            csrf: person.csrf(),
            email: invitation::mask_email(&person.visit.invitation.email),
            sent,
            notice,
            error,
        },
    )
}

fn not_sent_words(n: NotSent) -> String {
    match n {
        NotSent::Wait(seconds) => format!(
            "Un codice è stato inviato da poco: puoi chiederne un altro tra {}.",
            minutes(seconds)
        ),
        NotSent::Mail => {
            "Non siamo riusciti a inviare il codice. Riprova tra qualche minuto.".into()
        }
    }
}

fn minutes(seconds: i64) -> String {
    if seconds < 60 {
        format!("{} secondi", seconds.max(1))
    } else {
        let m = (seconds + 59) / 60;
        if m == 1 {
            "un minuto".into()
        } else {
            format!("{m} minuti")
        }
    }
}

/// `GET /compila/{link}`: the code, or on to the step the person is at.
pub async fn home(
    State(state): State<AppState>,
    Path(link): Path<String>,
    headers: HeaderMap,
    Source(source): Source,
) -> PersonResult {
    let person = open(&state, &link, &headers, source.clone()).await?;
    if person.verified {
        let v = &person.visit;
        let next = if v.submitted() {
            "pratica"
        } else if v.invitation.informativa_at.is_none() {
            "informativa"
        } else {
            "modulo"
        };
        return Ok(person.finish(&state, see_other(format!("{}/{next}", person.base()))));
    }
    invitations::viewed(&state, &person.visit, "codice", source.clone()).await?;
    // The first opening sends the first code; later ones offer "invia di nuovo".
    let mut notice = None;
    let mut error = None;
    if person.visit.invitation.codes_sent.is_empty() {
        match invitations::send_code(&state, &person.visit, Purpose::Accesso, source).await? {
            Ok(()) => notice = Some("Ti abbiamo inviato un codice.".to_string()),
            Err(n) => error = Some(not_sent_words(n)),
        }
    }
    code_page(&state, &person, StatusCode::OK, notice, error)
}

/// `POST /compila/{link}/codice`.
pub async fn enter_code(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, form) = short_form(&state, &link, req).await?;
    let typed = form.get("codice").unwrap_or_default();
    let outcome = invitations::enter_code(
        &state,
        &person.visit,
        typed,
        &person.token,
        person.source.clone(),
    )
    .await?;
    let error = match outcome {
        Typed::Accepted => {
            let mut verified = person;
            verified.verified = true;
            let to = verified.base();
            return Ok(verified.finish(&state, see_other(to)));
        }
        Typed::Malformed => {
            "Il codice è di 6 cifre: controlla di averlo scritto per intero.".into()
        }
        Typed::Refused(CodeCheck::Wrong { left }) => format!(
            "Il codice non è giusto. {}",
            if left == 1 {
                "Hai ancora un tentativo.".to_string()
            } else {
                format!("Hai ancora {left} tentativi.")
            }
        ),
        Typed::Refused(CodeCheck::TooManyAttempts) => {
            "Troppi tentativi sbagliati: chiedi un nuovo codice con il pulsante qui sotto.".into()
        }
        Typed::Refused(CodeCheck::Expired) => {
            "Il codice è scaduto (vale 10 minuti): chiedine uno nuovo.".into()
        }
        Typed::Refused(_) => "Chiedi un nuovo codice con il pulsante qui sotto.".into(),
    };
    code_page(&state, &person, StatusCode::BAD_REQUEST, None, Some(error))
}

/// `POST /compila/{link}/codice/nuovo`.
pub async fn new_code(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, _) = short_form(&state, &link, req).await?;
    match invitations::send_code(
        &state,
        &person.visit,
        Purpose::Accesso,
        person.source.clone(),
    )
    .await?
    {
        Ok(()) => code_page(
            &state,
            &person,
            StatusCode::OK,
            Some("Ti abbiamo inviato un nuovo codice.".into()),
            None,
        ),
        Err(n) => code_page(
            &state,
            &person,
            StatusCode::TOO_MANY_REQUESTS,
            None,
            Some(not_sent_words(n)),
        ),
    }
}

/// The provider as the person reads it.
pub struct ProviderView {
    pub denominazione: String,
    pub tipo: String,
    pub sede: Option<String>,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub telefono: Option<String>,
    pub fes: bool,
}

impl ProviderView {
    fn of(p: &sportello_store::ProviderRecord) -> ProviderView {
        let d = crate::service::mandate::details(p);
        ProviderView {
            denominazione: d.denominazione,
            tipo: match d.tipo.as_str() {
                "CAF" => "CAF (centro di assistenza fiscale)".into(),
                "Patronato" => "Patronato".into(),
                _ => String::new(),
            },
            sede: d.sede,
            email: d.email,
            pec: d.pec,
            telefono: d.telefono,
            fes: p.party.mandato_fes_accettato,
        }
    }
}

#[derive(Template)]
#[template(path = "persona/informativa.html")]
struct NoticePage {
    base: String,
    csrf: String,
    steps: Vec<Step>,
    cliente: String,
    servizio: String,
    messaggio: Option<String>,
    provider: Option<ProviderView>,
    notice: Vec<String>,
    versione: i64,
    read: bool,
}

/// `GET /compila/{link}/informativa`: who asks, for what, who will work it, and its notice.
pub async fn notice(
    State(state): State<AppState>,
    Path(link): Path<String>,
    headers: HeaderMap,
    Source(source): Source,
) -> PersonResult {
    let person = open(&state, &link, &headers, source.clone()).await?;
    person.require_session()?;
    invitations::viewed(&state, &person.visit, "informativa", source).await?;
    let v = &person.visit;
    let shown = invitations::provider(&state, &v.request).await?;
    let (provider, notice, versione) = match &shown {
        Some((p, n)) => (
            Some(ProviderView::of(p)),
            n.as_ref().map(|n| paragraphs(&n.testo)).unwrap_or_default(),
            n.as_ref().map(|n| n.versione).unwrap_or(0),
        ),
        None => (None, Vec::new(), 0),
    };
    let t = NoticePage {
        base: person.base(),
        csrf: person.csrf(),
        steps: steps(&person, "informativa"),
        cliente: v.client.name.clone(),
        servizio: service_name(&state, &v.request),
        messaggio: v.invitation.messaggio.clone(),
        provider,
        notice,
        versione,
        read: v.invitation.informativa_at.is_some(),
    };
    page(&state, &person, StatusCode::OK, t)
}

/// `POST /compila/{link}/informativa`: read; on to the form.
pub async fn read_notice(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, _) = short_form(&state, &link, req).await?;
    person.require_session()?;
    invitations::read_notice(&state, &person.visit, person.source.clone()).await?;
    Ok(person.finish(&state, see_other(format!("{}/modulo", person.base()))))
}

pub(super) fn service_name(state: &AppState, r: &sportello_store::RequestRecord) -> String {
    state
        .catalog
        .get(&r.hash_visura)
        .map(|s| s.nome_visura.clone())
        .unwrap_or_default()
}

/// The mandate's text as the page shows it: the person's codice fiscale masked (the PDF to sign,
/// which the person downloads, carries it whole).
fn masked(state: &AppState, r: &sportello_store::RequestRecord, text: &str) -> String {
    let code = state
        .catalog
        .get(&r.hash_visura)
        .and_then(|s| s.persona.codice_fiscale)
        .and_then(|n| match r.fields.get(&format!("${n}")) {
            Some(StoredValue::Text(t)) if t.trim().len() >= 8 => Some(t.trim().to_string()),
            _ => None,
        });
    match code {
        Some(c) => text.replace(&c, &invitation::mask_codice_fiscale(&c)),
        None => text.to_string(),
    }
}

/// A text as paragraphs, for the page (line breaks kept as paragraphs, blank lines dropped).
fn paragraphs(text: &str) -> Vec<String> {
    text.split('\n')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[derive(Template)]
#[template(path = "persona/mandato.html")]
struct MandatePage {
    base: String,
    csrf: String,
    steps: Vec<Step>,
    provider: Option<ProviderView>,
    testo: Vec<String>,
    versione: i64,
    signed: Option<String>,
    accepted: Option<String>,
    pending: bool,
    nome: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct MandateQuery {
    esito: Option<String>,
}

async fn mandate_page(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    nome: String,
) -> PersonResult {
    let v = &person.visit;
    let filled = invitations::mandate(state, v, person.source.clone()).await?;
    let provider = invitations::provider(state, &v.request)
        .await?
        .map(|(p, _)| ProviderView::of(&p));
    let files = state.store.list_files(&v.request.id).await?;
    let supplied = |codice: &str| {
        files
            .iter()
            .filter(|f| f.kind == FileKind::Supporting && f.campo.as_deref() == Some(codice))
            .map(|f| crate::backoffice::page::when(f.created_at))
            .next_back()
    };
    let t = MandatePage {
        base: person.base(),
        csrf: person.csrf(),
        steps: steps(person, "mandato"),
        provider,
        testo: filled
            .as_ref()
            .map(|f| paragraphs(&masked(state, &v.request, f.text())))
            .unwrap_or_default(),
        versione: filled.as_ref().map(|f| f.version()).unwrap_or(0),
        signed: supplied(sportello_domain::checklist::MANDATO),
        accepted: supplied(sportello_domain::checklist::MANDATO_FES),
        pending: v.invitation.acceptance.is_some(),
        nome,
        notice,
        error,
    };
    page(state, person, status, t)
}

/// `GET /compila/{link}/mandato`: the mandate in full, and the two ways to give it.
pub async fn mandate(
    State(state): State<AppState>,
    Path(link): Path<String>,
    Query(q): Query<MandateQuery>,
    headers: HeaderMap,
    Source(source): Source,
) -> PersonResult {
    let person = open(&state, &link, &headers, source).await?;
    person.require_session()?;
    let notice = match q.esito.as_deref() {
        Some("firmato") => Some("Abbiamo ricevuto il mandato firmato.".to_string()),
        Some("codice") => Some(
            "Ti abbiamo inviato un codice: scrivilo qui sotto per confermare che accetti il mandato."
                .to_string(),
        ),
        Some("accettato") => Some("Hai accettato il mandato: è registrato.".to_string()),
        _ => None,
    };
    mandate_page(&state, &person, StatusCode::OK, notice, None, String::new()).await
}

/// `GET /compila/{link}/mandato.pdf`: the same PDF as `GET /richiesta/{_id}/mandato`.
pub async fn mandate_pdf(
    State(state): State<AppState>,
    Path(link): Path<String>,
    headers: HeaderMap,
    Source(source): Source,
) -> PersonResult {
    let person = open(&state, &link, &headers, source).await?;
    person.require_session()?;
    let filled = invitations::mandate(&state, &person.visit, person.source.clone())
        .await?
        .ok_or_else(|| {
            PersonError::Refused(
                StatusCode::CONFLICT,
                "Il mandato non è ancora disponibile: chi si occuperà della pratica non lo ha \
                 ancora preparato."
                    .into(),
            )
        })?;
    let bytes = filled.render(&person.visit.request.id)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"mandato.pdf\""),
    );
    Ok(person.finish(&state, response))
}

/// `POST /compila/{link}/mandato/firmato`: the hand-signed scan (multipart: `csrf`, `file`).
pub async fn signed_mandate(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, req) = open_request(&state, &link, req).await?;
    person.require_session()?;
    let mut parts = super::form::multipart(&state, &person, req).await?;
    let uploaded = loop {
        let part = parts.next_field().await.map_err(|_| {
            PersonError::Refused(
                StatusCode::BAD_REQUEST,
                "Il file non è arrivato per intero: riprova.".into(),
            )
        })?;
        match part {
            None => break None,
            Some(p) if p.name() == Some("file") && p.file_name().is_some_and(|f| !f.is_empty()) => {
                let name = p.file_name().unwrap_or("mandato").to_string();
                break Some(
                    invitations::signed_mandate(
                        &state,
                        &person.visit,
                        &name,
                        p,
                        person.source.clone(),
                    )
                    .await,
                );
            }
            Some(_) => {}
        }
    };
    let error = match uploaded {
        Some(Ok(_)) => {
            return Ok(person.finish(
                &state,
                see_other(format!(
                    "{}/mandato?esito=firmato#stato-mandato",
                    person.base()
                )),
            ))
        }
        None => "Scegli il file del mandato firmato (PDF o foto).".to_string(),
        Some(Err(e)) if e.status == StatusCode::PRECONDITION_FAILED => super::form::file_words(&e),
        Some(Err(e)) => return Err(e.into()),
    };
    mandate_page(
        &state,
        &person,
        StatusCode::BAD_REQUEST,
        None,
        Some(error),
        String::new(),
    )
    .await
}

/// `POST /compila/{link}/mandato/accetta`: the box and the name; a code is sent.
pub async fn accept_mandate(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, form) = short_form(&state, &link, req).await?;
    person.require_session()?;
    let nome = form.get("nome").unwrap_or_default().to_string();
    let outcome = invitations::accept_mandate(
        &state,
        &person.visit,
        form.get("accetto").is_some(),
        &nome,
        person.source.clone(),
    )
    .await?;
    let error = match outcome {
        Ok(()) => {
            return Ok(person.finish(
                &state,
                see_other(format!("{}/mandato?esito=codice#conferma", person.base())),
            ))
        }
        Err(NotAccepted::NotTicked) => {
            "Per accettare, spunta la casella «Ho letto e accetto il mandato».".to_string()
        }
        Err(NotAccepted::Name) => {
            "Scrivi il tuo nome e cognome per intero, come li hai scritti nel modulo.".to_string()
        }
        Err(NotAccepted::NoMandate) => "Il mandato non è ancora disponibile.".to_string(),
        Err(NotAccepted::Code(n)) => not_sent_words(n),
    };
    mandate_page(
        &state,
        &person,
        StatusCode::BAD_REQUEST,
        None,
        Some(error),
        nome,
    )
    .await
}

/// `POST /compila/{link}/mandato/conferma`: the code that confirms the acceptance.
pub async fn confirm_mandate(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, form) = short_form(&state, &link, req).await?;
    person.require_session()?;
    let outcome = invitations::confirm_mandate(
        &state,
        &person.visit,
        form.get("codice").unwrap_or_default(),
        person.source.clone(),
    )
    .await?;
    let error = match outcome {
        invitations::Confirmed::Done => {
            return Ok(person.finish(
                &state,
                see_other(format!(
                    "{}/mandato?esito=accettato#stato-mandato",
                    person.base()
                )),
            ))
        }
        invitations::Confirmed::Malformed => "Il codice è di 6 cifre.".to_string(),
        invitations::Confirmed::Refused(CodeCheck::Wrong { left }) => {
            format!("Il codice non è giusto. Tentativi rimasti: {left}.")
        }
        invitations::Confirmed::Refused(_) | invitations::Confirmed::NothingPending => {
            "Il codice non vale più: spunta di nuovo la casella e scrivi il tuo nome per \
             riceverne uno nuovo."
                .to_string()
        }
    };
    // Read again: the pending acceptance may be gone.
    let person = person.reread(&state).await?;
    mandate_page(
        &state,
        &person,
        StatusCode::BAD_REQUEST,
        None,
        Some(error),
        String::new(),
    )
    .await
}

/// A value of the form as the summary shows it.
pub struct Shown {
    pub nome: String,
    pub valore: String,
}

/// The summary's rows: every field with a value, a codice fiscale masked, a file by its name.
pub(super) async fn shown_values(
    state: &AppState,
    r: &sportello_store::RequestRecord,
) -> Result<Vec<Shown>, PersonError> {
    let Some(service) = state.catalog.get(&r.hash_visura) else {
        return Ok(Vec::new());
    };
    let files = state.store.list_files(&r.id).await?;
    Ok(service
        .fields_in_order()
        .into_iter()
        .filter_map(|f| {
            let valore = match r.fields.get(&f.key())? {
                StoredValue::Text(t) if t.trim().is_empty() => return None,
                StoredValue::Text(t) => super::form::display(f.tipo, t),
                StoredValue::File { file } => files
                    .iter()
                    .find(|x| x.id == *file)
                    .map(|x| format!("file «{}»", x.name))
                    .unwrap_or_else(|| "file caricato".into()),
            };
            Some(Shown {
                nome: f.nome.clone(),
                valore,
            })
        })
        .collect())
}

#[derive(Template)]
#[template(path = "persona/riepilogo.html")]
struct SummaryPage {
    base: String,
    csrf: String,
    steps: Vec<Step>,
    servizio: String,
    cliente: String,
    provider: Option<ProviderView>,
    values: Vec<Shown>,
    documenti: Vec<String>,
    mandato: String,
    errors: Vec<String>,
}

async fn summary_page(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    errors: Vec<String>,
) -> PersonResult {
    let v = &person.visit;
    let provider = invitations::provider(state, &v.request)
        .await?
        .map(|(p, _)| ProviderView::of(&p));
    let files = state.store.list_files(&v.request.id).await?;
    let documenti = files
        .iter()
        .filter(|f| f.kind == FileKind::Supporting)
        .map(|f| format!("{} ({})", f.name, f.campo.clone().unwrap_or_default()))
        .collect();
    let mandato = mandate_state(&v.request, provider.as_ref().is_some_and(|p| p.fes));
    let t = SummaryPage {
        base: person.base(),
        csrf: person.csrf(),
        steps: steps(person, "riepilogo"),
        servizio: service_name(state, &v.request),
        cliente: v.client.name.clone(),
        provider,
        values: shown_values(state, &v.request).await?,
        documenti,
        mandato,
        errors,
    };
    page(state, person, status, t)
}

/// Where the mandate stands, in a sentence.
fn mandate_state(r: &sportello_store::RequestRecord, fes: bool) -> String {
    let signed = r
        .consensi
        .iter()
        .any(|c| c.tipo == ConsentKind::Mandato && c.metodo == ConsentMethod::DocumentoFirmato);
    let accepted = r
        .consensi
        .iter()
        .any(|c| c.tipo == ConsentKind::Mandato && c.metodo == ConsentMethod::CodiceEmail);
    match (signed, accepted, fes) {
        (true, _, _) => "Mandato firmato a mano: caricato.".into(),
        (false, true, true) => "Mandato accettato online: basta così.".into(),
        (false, true, false) => "Mandato accettato online. Il CAF ha bisogno anche della firma a \
            mano: puoi caricarla ora o quando te la chiederà."
            .into(),
        (false, false, _) => "Mandato non ancora dato: puoi darlo ora (passo «Il mandato») o \
            quando il CAF te lo chiederà."
            .into(),
    }
}

/// `GET /compila/{link}/riepilogo`.
pub async fn summary(
    State(state): State<AppState>,
    Path(link): Path<String>,
    headers: HeaderMap,
    Source(source): Source,
) -> PersonResult {
    let person = open(&state, &link, &headers, source.clone()).await?;
    person.require_session()?;
    if person.visit.submitted() {
        return Err(PersonError::Redirect(format!("{}/pratica", person.base())));
    }
    invitations::viewed(&state, &person.visit, "riepilogo", source).await?;
    summary_page(&state, &person, StatusCode::OK, Vec::new()).await
}

/// `POST /compila/{link}/invia`: the draft submitted as the client's `PUT … state: 1`.
pub async fn submit(
    State(state): State<AppState>,
    Path(link): Path<String>,
    req: Request,
) -> PersonResult {
    let (person, _) = short_form(&state, &link, req).await?;
    person.require_session()?;
    if person.visit.submitted() {
        return Err(PersonError::Redirect(format!("{}/pratica", person.base())));
    }
    match invitations::submit(&state, &person.visit, person.source.clone()).await {
        Ok(_) => Ok(person.finish(
            &state,
            see_other(format!("{}/pratica?inviata=1", person.base())),
        )),
        Err(e) if e.status == StatusCode::PRECONDITION_FAILED => {
            let service = state.catalog.get(&person.visit.request.hash_visura);
            let errors = e
                .details
                .iter()
                .map(|d| {
                    let nome = service
                        .and_then(|s| {
                            d.campo
                                .strip_prefix('$')
                                .and_then(|n| n.parse::<u32>().ok())
                                .and_then(|n| s.field(n))
                        })
                        .map(|f| f.nome.clone())
                        .unwrap_or_else(|| d.campo.clone());
                    format!("{nome}: {}", sportello_domain::fields::italian(&d.codice))
                })
                .collect();
            summary_page(&state, &person, StatusCode::BAD_REQUEST, errors).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Where the practice is, in plain Italian.
fn status_words(s: Status) -> (&'static str, &'static str) {
    match s {
        Status::Draft => ("Da completare", "La pratica non è ancora stata inviata."),
        Status::InErogazione => (
            "Inviata",
            "La pratica è arrivata al CAF o Patronato, che ci sta lavorando. Ti scriveremo se \
             servirà altro.",
        ),
        Status::InAttesaIntegrazione => (
            "Servono altri dati",
            "Chi lavora la pratica ha bisogno di altro da te: lo trovi qui sotto.",
        ),
        Status::DatiDisponibili | Status::VisuraEvasa => {
            ("Completata", "La pratica è stata completata.")
        }
        Status::Annullata => (
            "Annullata",
            "La pratica è stata annullata. Per sapere perché rivolgiti a chi ti ha invitato.",
        ),
    }
}

#[derive(Template)]
#[template(path = "persona/pratica.html")]
struct StatusPage {
    base: String,
    csrf: String,
    id: String,
    servizio: String,
    cliente: String,
    stato: &'static str,
    spiegazione: &'static str,
    just_sent: bool,
    asked: Option<Asked>,
    result: bool,
    notice: Option<String>,
    errors: Vec<(String, String)>,
}

/// What an operator asks of the person.
pub struct Asked {
    pub messaggio: String,
    pub campi: Vec<super::form::Input>,
    pub documenti: Vec<(String, String, bool)>,
}

#[derive(Debug, Default, Deserialize)]
pub struct StatusQuery {
    inviata: Option<String>,
    esito: Option<String>,
}

pub(super) async fn status_page(
    state: &AppState,
    person: &Person,
    status: StatusCode,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    typed: &std::collections::BTreeMap<String, String>,
    just_sent: bool,
) -> PersonResult {
    let v = &person.visit;
    let r = &v.request;
    let (stato, spiegazione) = status_words(r.status);
    let asked = match (&r.integrazione, r.status) {
        (Some(i), Status::InAttesaIntegrazione) => {
            let service = state.catalog.get(&r.hash_visura);
            let campi = match (service, i.campi_at) {
                (Some(s), None) => i
                    .campi
                    .iter()
                    .filter_map(|k| k.strip_prefix('$')?.parse::<u32>().ok())
                    .filter_map(|n| s.field(n))
                    .map(|f| super::form::Input::of(f, typed.get(&f.key()), &errors, None))
                    .collect(),
                _ => Vec::new(),
            };
            Some(Asked {
                messaggio: i.messaggio.clone(),
                campi,
                documenti: i
                    .documenti
                    .iter()
                    .map(|d| (d.codice.clone(), d.descrizione.clone(), d.fornito.is_some()))
                    .collect(),
            })
        }
        _ => None,
    };
    let t = StatusPage {
        base: person.base(),
        csrf: person.csrf(),
        id: r.id.clone(),
        servizio: service_name(state, r),
        cliente: v.client.name.clone(),
        stato,
        spiegazione,
        just_sent,
        asked,
        result: v.invitation.risultato_visibile && r.status == Status::VisuraEvasa,
        notice,
        errors,
    };
    page(state, person, status, t)
}

/// `GET /compila/{link}/pratica`: after the submission, the status; what an operator asks;
/// the result.
pub async fn status(
    State(state): State<AppState>,
    Path(link): Path<String>,
    Query(q): Query<StatusQuery>,
    headers: HeaderMap,
    Source(source): Source,
) -> PersonResult {
    let person = open(&state, &link, &headers, source.clone()).await?;
    person.require_session()?;
    if !person.visit.submitted() {
        return Err(PersonError::Redirect(format!(
            "{}/riepilogo",
            person.base()
        )));
    }
    invitations::viewed(&state, &person.visit, "pratica", source).await?;
    let notice = match q.esito.as_deref() {
        Some("documento") => Some("Documento ricevuto.".to_string()),
        Some("dati") => Some("Dati ricevuti.".to_string()),
        _ => None,
    };
    status_page(
        &state,
        &person,
        StatusCode::OK,
        notice,
        Vec::new(),
        &Default::default(),
        q.inviata.is_some(),
    )
    .await
}

/// `GET /compila/{link}/risultato`: the result archive, when the client allowed it.
pub async fn result(
    State(state): State<AppState>,
    Path(link): Path<String>,
    headers: HeaderMap,
    Source(source): Source,
) -> PersonResult {
    let person = open(&state, &link, &headers, source).await?;
    person.require_session()?;
    let Some(d) = invitations::result(&state, &person.visit, person.source.clone()).await? else {
        return Err(PersonError::Refused(
            StatusCode::NOT_FOUND,
            "Il risultato non è disponibile su questa pagina: chiedilo a chi ti ha invitato."
                .into(),
        ));
    };
    let mut response = Response::new(Body::from_stream(d.stream));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&d.size.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"risultato.zip\""),
    );
    Ok(person.finish(&state, response))
}
