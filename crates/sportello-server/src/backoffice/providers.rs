//! Admin pages of the providers (CAF and Patronati): the list, creating one and choosing the
//! services it works, and a page per provider with its party data, its privacy notice and its
//! mandate template. Each text saved is a new version; the page names what the current texts
//! seem to lack (`service::parties::warnings`, a heuristic: a warning never stops a save).
//!
//! The edits go through `service::parties`, the admin API's code path, which checks them and
//! records them in the audit trail.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use sportello_domain::paperwork::{self, TextError};
use sportello_domain::party::{Party, PartyError, RawParty, Tipo};
use sportello_store::{PaperKind, ProviderRecord};

use super::admin::{name, refused};
use super::page::{html, see_other, when, FormData, FromForm, PageError, PageResult};
use super::session::{CsrfForm, Staff};
use super::Nav;
use crate::body::BodyLimit;
use crate::service::parties;
use crate::setup;
use crate::state::AppState;

const LIST: &str = "/backoffice/admin/fornitori";

fn page_of(id: &str) -> String {
    format!("{LIST}/{id}")
}

// --- the list ---

pub struct ServiceChoice {
    pub hash: String,
    pub name: String,
    pub on: bool,
}

pub struct ProviderRow {
    pub id: String,
    pub name: String,
    pub tipo: String,
    pub services: Vec<ServiceChoice>,
}

#[derive(Template)]
#[template(path = "backoffice/admin_providers.html")]
struct Providers {
    nav: Nav,
    providers: Vec<ProviderRow>,
    catalog: Vec<ServiceChoice>,
}

async fn providers(State(state): State<AppState>, staff: Staff) -> PageResult {
    staff.admin()?;
    let choices = |on: &dyn Fn(&str) -> bool| -> Vec<ServiceChoice> {
        state
            .catalog
            .services()
            .iter()
            .map(|s| ServiceChoice {
                on: on(&s.hash_visura),
                hash: s.hash_visura.clone(),
                name: s.nome_visura.clone(),
            })
            .collect()
    };
    let providers = state
        .store
        .list_providers()
        .await?
        .into_iter()
        .map(|p| ProviderRow {
            services: choices(&|h| p.services.iter().any(|s| s == h)),
            tipo: p.party.tipo.clone().unwrap_or_default(),
            id: p.id,
            name: p.name,
        })
        .collect();
    html(Providers {
        nav: Nav::of(&staff),
        providers,
        catalog: choices(&|_| false),
    })
}

/// The chosen services, each checked against the catalog.
fn chosen_services(state: &AppState, form: &FormData) -> Result<Vec<String>, PageError> {
    form.all("servizi")
        .iter()
        .map(|h| {
            state
                .catalog
                .get(h)
                .map(|s| s.hash_visura.clone())
                .ok_or_else(|| refused("Uno dei servizi scelti non è nel catalogo."))
        })
        .collect()
}

async fn create_provider(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    staff.admin()?;
    let name = name(&form, "nome", "il nome del fornitore")?;
    let services = chosen_services(&state, &form)?;
    setup::create_provider(&state, &name, services).await?;
    Ok(see_other(LIST))
}

async fn provider_services(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    staff.admin()?;
    let services = chosen_services(&state, &form)?;
    if !state.store.set_provider_services(&id, &services).await? {
        return Err(PageError::NotFound);
    }
    Ok(see_other(LIST))
}

// --- one provider ---

/// A text input of the party form: its value as typed (or stored) and its error, if any.
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub hint: &'static str,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
}

/// A notice or mandate: its current version, the text in the box, what it seems to lack.
pub struct TextBox {
    pub kind: &'static str,
    pub title: &'static str,
    pub hint: &'static str,
    pub current: Option<String>,
    pub value: String,
    pub error: Option<String>,
    pub avvisi: Vec<String>,
    /// The current version was saved by the form just sent.
    pub saved: bool,
}

pub struct VersionRow {
    pub documento: &'static str,
    pub versione: i64,
    pub at: String,
    pub by: String,
    pub avvisi: usize,
}

#[derive(Template)]
#[template(path = "backoffice/admin_provider.html")]
struct ProviderPage {
    nav: Nav,
    id: String,
    name: String,
    party_saved: bool,
    has_errors: bool,
    main: Vec<Field>,
    tipo: String,
    tipo_error: Option<String>,
    sede: Vec<Field>,
    contacts: Vec<Field>,
    fes: bool,
    texts: Vec<TextBox>,
    versions: Vec<VersionRow>,
}

/// The party form's values, as typed or as stored.
#[derive(Default)]
struct PartyValues {
    denominazione: String,
    tipo: String,
    codice_fiscale: String,
    indirizzo: String,
    comune: String,
    provincia: String,
    email: String,
    pec: String,
    telefono: String,
    /// `mandato_fes_accettato`.
    fes: bool,
}

impl PartyValues {
    fn of(p: &ProviderRecord) -> PartyValues {
        let v = |s: &Option<String>| s.clone().unwrap_or_default();
        PartyValues {
            denominazione: p.name.clone(),
            tipo: v(&p.party.tipo),
            codice_fiscale: v(&p.party.codice_fiscale),
            indirizzo: v(&p.party.indirizzo),
            comune: v(&p.party.comune),
            provincia: v(&p.party.provincia),
            email: v(&p.party.email),
            pec: v(&p.party.pec),
            telefono: v(&p.party.telefono),
            fes: p.party.mandato_fes_accettato,
        }
    }

    fn from_form(form: &FormData) -> PartyValues {
        let v = |name: &str| form.get(name).unwrap_or_default().to_string();
        PartyValues {
            denominazione: v("denominazione"),
            tipo: v("tipo"),
            codice_fiscale: v("codice_fiscale"),
            indirizzo: v("indirizzo"),
            comune: v("comune"),
            provincia: v("provincia"),
            email: v("email"),
            pec: v("pec"),
            telefono: v("telefono"),
            fes: form.get("mandato_fes_accettato").is_some(),
        }
    }

    fn raw(&self) -> RawParty<'_> {
        RawParty {
            denominazione: Some(&self.denominazione),
            tipo: Some(&self.tipo),
            codice_fiscale: Some(&self.codice_fiscale),
            indirizzo: Some(&self.indirizzo),
            comune: Some(&self.comune),
            provincia: Some(&self.provincia),
            email: Some(&self.email),
            pec: Some(&self.pec),
            telefono: Some(&self.telefono),
        }
    }
}

/// What the admin reads next to a refused field (the domain's messages are English, for the
/// API).
fn italian(e: &PartyError) -> &'static str {
    match (e.campo, e.codice) {
        ("denominazione", "required") => "Indica la denominazione.",
        (_, "text_invalid") => "Al massimo 200 caratteri, su una sola riga.",
        ("tipo", _) => "Scegli CAF o Patronato.",
        ("codice_fiscale", _) => {
            "Indica un codice fiscale valido: 11 cifre (come una partita IVA) oppure 16 caratteri."
        }
        ("provincia", _) => {
            "Indica la sigla di una provincia attuale, di due lettere (per esempio RM)."
        }
        ("email", _) => "Indica un indirizzo e-mail valido.",
        ("pec", _) => "Indica un indirizzo PEC valido.",
        ("telefono", _) => "Indica un numero di telefono da 6 a 15 cifre.",
        _ => "Valore non valido.",
    }
}

/// Who saved a version, in words: a back-office admin by name, an admin API token by id.
fn author(by: &str, admins: &[sportello_store::AdminRecord]) -> String {
    match by {
        "cli" => "riga di comando".into(),
        "system" => "Sportello (testo dimostrativo)".into(),
        other => {
            let id = other.strip_prefix("admin:").unwrap_or_default();
            match admins.iter().find(|a| a.id == id) {
                Some(a) => a.name.clone(),
                None if id.starts_with("tok_") => format!("API di amministrazione ({id})"),
                None => other.into(),
            }
        }
    }
}

/// What the page shows beyond the stored data: a form sent back with its errors, a save just
/// done.
#[derive(Default)]
struct Shown {
    party: Option<(PartyValues, Vec<PartyError>)>,
    text: Option<(PaperKind, String, String)>,
    saved: Option<String>,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    id: &str,
    shown: Shown,
    status: StatusCode,
) -> PageResult {
    staff.admin()?;
    let provider = state
        .store
        .get_provider(id)
        .await?
        .ok_or(PageError::NotFound)?;
    let (values, errors) = match shown.party {
        Some((values, errors)) => (values, errors),
        None => (PartyValues::of(&provider), Vec::new()),
    };
    let error_of = |campo: &str| {
        errors
            .iter()
            .find(|e| e.campo == campo)
            .map(|e| italian(e).to_string())
    };
    let field = |name: &'static str,
                 label: &'static str,
                 kind: &'static str,
                 hint: &'static str,
                 required: bool,
                 value: &str| Field {
        name,
        label,
        kind,
        hint,
        required,
        value: value.to_string(),
        error: error_of(name),
    };
    let main = vec![
        field(
            "denominazione",
            "Denominazione",
            "text",
            "",
            true,
            &values.denominazione,
        ),
        field(
            "codice_fiscale",
            "Codice fiscale o partita IVA",
            "text",
            "11 cifre, oppure 16 caratteri.",
            true,
            &values.codice_fiscale,
        ),
    ];
    let sede = vec![
        field(
            "indirizzo",
            "Indirizzo",
            "text",
            "",
            false,
            &values.indirizzo,
        ),
        field("comune", "Comune", "text", "", false, &values.comune),
        field(
            "provincia",
            "Provincia",
            "text",
            "La sigla, per esempio RM.",
            false,
            &values.provincia,
        ),
    ];
    let contacts = vec![
        field("email", "E-mail", "email", "", false, &values.email),
        field("pec", "PEC", "email", "", false, &values.pec),
        field("telefono", "Telefono", "tel", "", false, &values.telefono),
    ];

    let mut texts = Vec::new();
    for kind in [PaperKind::Informativa, PaperKind::Mandato] {
        let current = state.store.current_provider_document(id, kind).await?;
        let (title, hint) = match kind {
            PaperKind::Informativa => (
                "Informativa sul trattamento dei dati (art. 13 GDPR)",
                "Il testo che il fornitore dà alle persone prima che consegnino i loro dati.",
            ),
            PaperKind::Mandato => (
                "Mandato di assistenza e rappresentanza",
                "Segnaposto: {{nome}}, {{cognome}}, {{codice_fiscale}}, {{servizio}}, {{data}}, \
                 {{richiesta}}, {{fornitore}}, {{fornitore_codice_fiscale}}, {{sede}}.",
            ),
        };
        let (value, error) = match &shown.text {
            Some((k, value, error)) if *k == kind => (value.clone(), Some(error.clone())),
            _ => (
                current
                    .as_ref()
                    .map(|d| d.testo.clone())
                    .unwrap_or_default(),
                None,
            ),
        };
        texts.push(TextBox {
            kind: kind.as_db(),
            title,
            hint,
            current: current
                .as_ref()
                .map(|d| format!("versione {} del {}", d.versione, when(d.created_at))),
            avvisi: current
                .as_ref()
                .map(|d| parties::warnings(kind, &d.testo))
                .unwrap_or_default(),
            saved: current.is_some() && shown.saved.as_deref() == Some(kind.as_db()),
            value,
            error,
        });
    }
    let admins = state.store.list_admins().await?;
    let versions = parties::versions(state, id)
        .await?
        .into_iter()
        .map(|v| VersionRow {
            documento: match v.kind {
                PaperKind::Informativa => "Informativa",
                PaperKind::Mandato => "Mandato",
            },
            versione: v.versione,
            at: when(v.created_at),
            by: author(&v.created_by, &admins),
            avvisi: v.avvisi.len(),
        })
        .collect();
    let page = ProviderPage {
        nav: Nav::of(staff),
        id: provider.id.clone(),
        name: provider.name.clone(),
        party_saved: shown.saved.as_deref() == Some("dati"),
        has_errors: !errors.is_empty(),
        tipo: Tipo::parse(&values.tipo)
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        tipo_error: error_of("tipo"),
        main,
        sede,
        contacts,
        fes: values.fes,
        texts,
        versions,
    };
    let mut response = html(page)?;
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    salvato: Option<String>,
}

async fn provider_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let shown = Shown {
        saved: q.salvato,
        ..Shown::default()
    };
    render(&state, &staff, &id, shown, StatusCode::OK).await
}

async fn save_party(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    staff.admin()?;
    let values = PartyValues::from_form(&form);
    if let Err(errors) = Party::parse_all(&values.raw()) {
        let shown = Shown {
            party: Some((values, errors)),
            ..Shown::default()
        };
        return render(&state, &staff, &id, shown, StatusCode::BAD_REQUEST).await;
    }
    parties::update(
        &state,
        &id,
        &values.raw(),
        Some(values.fes),
        &staff.actor(),
        staff.source.clone(),
    )
    .await?;
    Ok(see_other(&format!("{}?salvato=dati", page_of(&id))))
}

/// A form carrying a notice or mandate: up to [`paperwork::MAX_TEXT`] characters, so read
/// within the paperwork body limit rather than the short forms' one.
pub struct TextForm(FormData);

impl FromForm for TextForm {
    const LIMIT: BodyLimit = BodyLimit::Paperwork;

    fn from_form(form: FormData) -> Result<Self, PageError> {
        Ok(TextForm(form))
    }
}

async fn save_text(
    state: &AppState,
    staff: &Staff,
    id: &str,
    kind: PaperKind,
    form: &FormData,
) -> PageResult {
    staff.admin()?;
    let typed = form.get("testo").unwrap_or_default();
    // Checked here too (the service checks again) to answer in Italian, next to the box.
    if let Err(e) = paperwork::normalise(typed) {
        let message = match e {
            TextError::Empty => "Scrivi il testo: non può essere vuoto.".to_string(),
            TextError::TooLong => format!(
                "Il testo è troppo lungo: al massimo {} caratteri.",
                paperwork::MAX_TEXT
            ),
        };
        let shown = Shown {
            text: Some((kind, typed.to_string(), message)),
            ..Shown::default()
        };
        return render(state, staff, id, shown, StatusCode::BAD_REQUEST).await;
    }
    parties::save_text(state, id, kind, typed, &staff.actor(), staff.source.clone()).await?;
    Ok(see_other(&format!(
        "{}?salvato={}#{}",
        page_of(id),
        kind.as_db(),
        kind.as_db()
    )))
}

async fn save_informativa(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, TextForm(form)): CsrfForm<TextForm>,
) -> PageResult {
    save_text(&state, &staff, &id, PaperKind::Informativa, &form).await
}

async fn save_mandato(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, TextForm(form)): CsrfForm<TextForm>,
) -> PageResult {
    save_text(&state, &staff, &id, PaperKind::Mandato, &form).await
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LIST, get(providers).post(create_provider))
        .route("/backoffice/admin/fornitori/{id}", get(provider_page))
        .route("/backoffice/admin/fornitori/{id}/dati", post(save_party))
        .route(
            "/backoffice/admin/fornitori/{id}/informativa",
            post(save_informativa),
        )
        .route(
            "/backoffice/admin/fornitori/{id}/mandato",
            post(save_mandato),
        )
        .route(
            "/backoffice/admin/fornitori/{id}/servizi",
            post(provider_services),
        )
}
