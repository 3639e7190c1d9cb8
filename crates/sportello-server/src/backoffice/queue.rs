//! The operator's queue: the provider's requests with filters, counts per state and pages.

use askama::Template;
use axum::extract::{Query, State};
use serde::Deserialize;
use sportello_domain::status::Status;

use sportello_domain::catalog::Service;
use sportello_domain::checklist::{MANDATO, MANDATO_FES};
use std::collections::HashSet;

use super::page::{duration, html, when, PageError, PageResult};
use super::session::Staff;
use super::Nav;
use crate::service::operator::{self, QueueItem, QueueQuery};
use crate::service::supporting;
use crate::state::AppState;

const PER_PAGE: u32 = 25;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub servizio: Option<String>,
    pub stato: Option<String>,
    /// `me`, `none` or empty.
    pub assegnate: Option<String>,
    /// `si` (only overdue), `no` (only the others) or empty.
    pub scadute: Option<String>,
    pub pagina: Option<u32>,
}

pub struct Row {
    pub id: String,
    pub servizio: String,
    pub stato: String,
    pub cliente: String,
    pub assegnata: &'static str,
    pub creata: String,
    pub opzioni: String,
    pub scadenza: String,
    /// Working time left before `scadenza` ("scaduta da …" once past it), as the request page
    /// shows it.
    pub residuo: Option<String>,
    pub scaduta: bool,
    pub urgente: bool,
    /// The service needs the person's signed mandate and the request holds none: it cannot be
    /// closed as processed yet (as `supporting::mandate_missing` says on the request page).
    pub mandato_mancante: bool,
}

pub struct Count {
    pub label: String,
    pub total: u64,
    pub overdue: u64,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "backoffice/queue.html")]
struct QueuePage {
    nav: Nav,
    provider: String,
    rows: Vec<Row>,
    counts: Vec<Count>,
    services: Vec<Choice>,
    states: Vec<Choice>,
    assigned: Vec<Choice>,
    overdue: Vec<Choice>,
    page: u32,
    previous: Option<String>,
    next: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn page_link(f: &Filters, page: u32) -> String {
    let mut q = vec![format!("pagina={page}")];
    for (name, value) in [
        ("servizio", &f.servizio),
        ("stato", &f.stato),
        ("assegnate", &f.assegnate),
        ("scadute", &f.scadute),
    ] {
        if let Some(v) = non_empty(value) {
            // Values are catalog hashes and fixed keywords, never personal data.
            let safe: String = v
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            q.push(format!("{name}={safe}"));
        }
    }
    format!("/backoffice/coda?{}", q.join("&"))
}

/// The listed requests still open whose mandate is missing, read with one query for the page
/// and judged by `supporting::holds_mandate` (drafts, whose files are not stored yet, are never
/// in an operator's queue).
async fn mandates_missing(
    state: &AppState,
    fes_accepted: bool,
    items: &[QueueItem],
) -> Result<HashSet<String>, PageError> {
    let needing: Vec<(&QueueItem, &Service)> = items
        .iter()
        .filter(|i| i.live && still_open(&i.stato_richiesta))
        .filter_map(|i| Some((i, state.catalog.get(&i.hash_visura)?)))
        .filter(|(_, s)| s.mandato_richiesto)
        .collect();
    if needing.is_empty() {
        return Ok(HashSet::new());
    }
    let form_copy = |s: &Service| s.persona.mandato.map(|n| format!("${n}"));
    let ids: Vec<String> = needing.iter().map(|(i, _)| i.id.clone()).collect();
    let mut campi = vec![MANDATO.to_string(), MANDATO_FES.to_string()];
    for c in needing.iter().filter_map(|(_, s)| form_copy(s)) {
        if !campi.contains(&c) {
            campi.push(c);
        }
    }
    let present = state.store.named_files(&ids, &campi).await?;
    Ok(needing
        .into_iter()
        .filter(|(i, s)| {
            let own = present
                .iter()
                .filter(|(request, _, _)| *request == i.id)
                .map(|(_, kind, campo)| (*kind, campo.as_str()));
            !supporting::holds_mandate(s, fes_accepted, own)
        })
        .map(|(i, _)| i.id.clone())
        .collect())
}

/// Whether a state, as the queue names it, is not final: a cancelled request needs no mandate.
fn still_open(stato_richiesta: &str) -> bool {
    Status::ALL
        .into_iter()
        .find(|s| s.stato_richiesta() == stato_richiesta)
        .is_some_and(|s| !s.is_final())
}

pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(f): Query<Filters>,
) -> PageResult {
    let op = staff.operator()?;
    let page = f.pagina.unwrap_or(1).max(1);
    let servizio = non_empty(&f.servizio);
    let stato = non_empty(&f.stato);
    let assegnate = non_empty(&f.assegnate);
    let scadute = non_empty(&f.scadute);
    let overdue = match scadute.as_deref() {
        None => None,
        Some("si") => Some(true),
        Some("no") => Some(false),
        Some(_) => {
            return Err(crate::error::ApiError::bad_query("scadute must be si or no").into())
        }
    };
    let statuses = match stato.as_deref() {
        Some(s) => vec![Status::from_db(s)
            .filter(|s| *s != Status::Draft)
            .ok_or_else(|| crate::error::ApiError::bad_query("unknown stato"))?],
        None => Vec::new(),
    };
    let items = operator::queue(
        &state,
        &op,
        QueueQuery {
            statuses,
            hash_visura: servizio.clone(),
            assigned: assegnate.clone(),
            overdue,
            page,
            per_page: PER_PAGE,
        },
    )
    .await?;
    let full = items.len() as u32 == PER_PAGE;
    let missing = mandates_missing(&state, op.provider.party.mandato_fes_accettato, &items).await?;
    let rows = items
        .into_iter()
        .map(|i| Row {
            mandato_mancante: missing.contains(&i.id),
            assegnata: match &i.operatore {
                Some(o) if *o == op.operator.id => "a te",
                Some(_) => "altro operatore",
                None => "libera",
            },
            creata: when(i.timestamp_creation),
            opzioni: i.opzioni.join(", "),
            scadenza: i.scadenza.map(when).unwrap_or_default(),
            residuo: i.secondi_lavorativi_residui.map(duration),
            scaduta: i.scaduta,
            urgente: i.urgente,
            id: i.id,
            servizio: i.nome_visura,
            stato: i.stato_richiesta,
            cliente: i.cliente,
        })
        .collect();
    let counts = operator::counts(&state, &op)
        .await?
        .into_iter()
        .map(|c| Count {
            label: c.stato_richiesta,
            total: c.totale,
            overdue: c.scadute,
        })
        .collect();
    let services = state
        .catalog
        .services()
        .iter()
        .filter(|s| op.provider.services.contains(&s.hash_visura))
        .map(|s| Choice {
            selected: servizio.as_deref() == Some(s.hash_visura.as_str()),
            value: s.hash_visura.clone(),
            label: s.nome_visura.clone(),
        })
        .collect();
    let states = Status::ALL
        .into_iter()
        .filter(|s| *s != Status::Draft)
        .map(|s| Choice {
            selected: stato.as_deref() == Some(s.as_db()),
            value: s.as_db().to_string(),
            label: s.stato_richiesta().to_string(),
        })
        .collect();
    let assigned = [("me", "Prese da me"), ("none", "Libere")]
        .into_iter()
        .map(|(v, l)| Choice {
            selected: assegnate.as_deref() == Some(v),
            value: v.to_string(),
            label: l.to_string(),
        })
        .collect();
    let overdue = [("si", "Solo scadute"), ("no", "Non scadute")]
        .into_iter()
        .map(|(v, l)| Choice {
            selected: scadute.as_deref() == Some(v),
            value: v.to_string(),
            label: l.to_string(),
        })
        .collect();
    html(QueuePage {
        nav: Nav::of(&staff),
        provider: op.provider.name.clone(),
        rows,
        counts,
        services,
        states,
        assigned,
        overdue,
        page,
        previous: (page > 1).then(|| page_link(&f, page - 1)),
        next: full.then(|| page_link(&f, page + 1)),
    })
}
