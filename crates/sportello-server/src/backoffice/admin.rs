//! Admin pages: operators (create, disable, reset password), clients and their tokens (a new
//! token is shown once), reassigning a request, the SLA dashboard, the audit log. The
//! providers' pages are in `providers`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use sportello_domain::fields::{self, FieldType};
use sportello_store::Role;

use super::page::{duration, html, see_other, when, FormData, PageError, PageResult};
use super::session::{CsrfForm, Staff};
use super::Nav;
use crate::service::{accounts, field_context, reassign, sla};
use crate::setup::{self, TokenSpec};
use crate::state::AppState;

const AUDIT_PAGE: u32 = 50;

pub(super) fn refused(message: &str) -> PageError {
    PageError::Refused(StatusCode::BAD_REQUEST, message.to_string())
}

/// A required short text (a name, a label).
pub(super) fn name(form: &FormData, field: &str, what: &str) -> Result<String, PageError> {
    form.text(field)
        .filter(|n| n.chars().count() <= 200 && !n.chars().any(char::is_control))
        .ok_or_else(|| refused(&format!("Indica {what} (al massimo 200 caratteri).")))
}

fn email(state: &AppState, form: &FormData) -> Result<String, PageError> {
    let raw = form.text("email").unwrap_or_default();
    fields::validate(FieldType::Email, "email", &raw, &field_context(state))
        .map(|_| raw)
        .map_err(|_| refused("Indica un indirizzo e-mail valido."))
}

#[derive(Template)]
#[template(path = "backoffice/admin_home.html")]
struct Home {
    nav: Nav,
    providers: usize,
    operators: usize,
    clients: usize,
}

async fn home(State(state): State<AppState>, staff: Staff) -> PageResult {
    staff.admin()?;
    html(Home {
        nav: Nav::of(&staff),
        providers: state.store.list_providers().await?.len(),
        operators: state.store.list_operators().await?.len(),
        clients: state.store.list_clients().await?.len(),
    })
}

/// A secret shown once (a password, a token).
#[derive(Template)]
#[template(path = "backoffice/admin_secret.html")]
struct Secret {
    nav: Nav,
    title: String,
    what: String,
    secret: String,
    back: &'static str,
}

// --- operators ---

pub struct OperatorRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub provider: String,
    pub disabled: bool,
}

#[derive(Template)]
#[template(path = "backoffice/admin_operators.html")]
struct Operators {
    nav: Nav,
    operators: Vec<OperatorRow>,
    providers: Vec<(String, String)>,
}

async fn operators(State(state): State<AppState>, staff: Staff) -> PageResult {
    staff.admin()?;
    let providers: Vec<(String, String)> = state
        .store
        .list_providers()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let operators = state
        .store
        .list_operators()
        .await?
        .into_iter()
        .map(|o| OperatorRow {
            provider: providers
                .iter()
                .find(|(id, _)| *id == o.provider_id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default(),
            id: o.id,
            name: o.name,
            email: o.email,
            disabled: o.disabled,
        })
        .collect();
    html(Operators {
        nav: Nav::of(&staff),
        operators,
        providers,
    })
}

async fn create_operator(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    staff.admin()?;
    let provider = form.text("fornitore").unwrap_or_default();
    if state.store.get_provider(&provider).await?.is_none() {
        return Err(refused("Scegli il fornitore dell'operatore."));
    }
    let name = name(&form, "nome", "il nome dell'operatore")?;
    let email = email(&state, &form)?;
    let op = setup::create_operator(&state, &provider, &name, &email).await?;
    let password = accounts::generate_password();
    accounts::set_password(&state, &accounts::operator_key(&op.id), &password).await?;
    html(Secret {
        nav: Nav::of(&staff),
        title: "Operatore creato".into(),
        what: format!("La password iniziale di {} ({})", op.name, op.email),
        secret: password,
        back: "/backoffice/admin/operatori",
    })
}

async fn operator_disabled(
    state: &AppState,
    staff: &Staff,
    id: &str,
    disabled: bool,
) -> PageResult {
    staff.admin()?;
    if !state.store.set_operator_disabled(id, disabled).await? {
        return Err(PageError::NotFound);
    }
    if disabled {
        state
            .store
            .delete_sessions(&accounts::operator_key(id))
            .await?;
    }
    Ok(see_other("/backoffice/admin/operatori"))
}

async fn disable_operator(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    operator_disabled(&state, &staff, &id, true).await
}

async fn enable_operator(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    operator_disabled(&state, &staff, &id, false).await
}

async fn reset_password(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    staff.admin()?;
    let op = state
        .store
        .get_operator(&id)
        .await?
        .ok_or(PageError::NotFound)?;
    let password = accounts::generate_password();
    let account = accounts::operator_key(&op.id);
    accounts::set_password(&state, &account, &password).await?;
    // A reset is what an operator who lost the phone asks for: the second factor goes too.
    crate::service::totp::disable(&state, &account).await?;
    html(Secret {
        nav: Nav::of(&staff),
        title: "Password reimpostata".into(),
        what: format!("La nuova password di {} ({})", op.name, op.email),
        secret: password,
        back: "/backoffice/admin/operatori",
    })
}

// --- clients and tokens ---

pub struct TokenRow {
    pub id: String,
    pub label: String,
    pub live: bool,
    pub created: String,
    pub revoked: Option<String>,
}

pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub tokens: Vec<TokenRow>,
}

#[derive(Template)]
#[template(path = "backoffice/admin_clients.html")]
struct Clients {
    nav: Nav,
    clients: Vec<ClientRow>,
}

async fn clients(State(state): State<AppState>, staff: Staff) -> PageResult {
    staff.admin()?;
    let tokens = state.store.list_tokens().await?;
    let clients = state
        .store
        .list_clients()
        .await?
        .into_iter()
        .map(|c| ClientRow {
            tokens: tokens
                .iter()
                .filter(|t| t.role == Role::Client && t.client_id.as_deref() == Some(&c.id))
                .map(|t| TokenRow {
                    id: t.id.clone(),
                    label: t.label.clone(),
                    live: t.live,
                    created: when(t.created_at),
                    revoked: t.revoked_at.map(when),
                })
                .collect(),
            id: c.id,
            name: c.name,
            email: c.owner_email,
        })
        .collect();
    html(Clients {
        nav: Nav::of(&staff),
        clients,
    })
}

async fn create_client(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    staff.admin()?;
    let name = name(&form, "nome", "il nome del cliente")?;
    let email = email(&state, &form)?;
    setup::create_client(&state, &name, &email).await?;
    Ok(see_other("/backoffice/admin/clienti"))
}

async fn create_token(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    staff.admin()?;
    let client = form.text("cliente").unwrap_or_default();
    let Some(client) = state.store.get_client(&client).await? else {
        return Err(refused("Cliente sconosciuto."));
    };
    let label = form.text("etichetta").unwrap_or_default();
    if label.chars().count() > 200 || label.chars().any(char::is_control) {
        return Err(refused("L'etichetta è troppo lunga."));
    }
    let live = form.get("live") == Some("1");
    let issued = setup::issue_token(
        &state,
        TokenSpec {
            role: Role::Client,
            client_id: Some(client.id.clone()),
            operator_id: None,
            label,
            live,
            ttl_secs: None,
            scopes: None,
        },
    )
    .await?;
    html(Secret {
        nav: Nav::of(&staff),
        title: "Token creato".into(),
        what: format!(
            "Il token {} di {} ({})",
            if live { "live" } else { "di test" },
            client.name,
            issued.record.id
        ),
        secret: issued.secret,
        back: "/backoffice/admin/clienti",
    })
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    staff.admin()?;
    if !crate::setup::revoke_token(&state, &id).await? {
        return Err(PageError::NotFound);
    }
    Ok(see_other("/backoffice/admin/clienti"))
}

// --- reassigning a request ---

#[derive(Template)]
#[template(path = "backoffice/admin_reassign.html")]
struct Reassign {
    nav: Nav,
    providers: Vec<(String, String)>,
    done: bool,
}

#[derive(Debug, Default, Deserialize)]
struct ReassignQuery {
    fatto: Option<String>,
}

async fn reassign_form(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ReassignQuery>,
) -> PageResult {
    staff.admin()?;
    html(Reassign {
        nav: Nav::of(&staff),
        providers: state
            .store
            .list_providers()
            .await?
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect(),
        done: q.fatto.is_some(),
    })
}

async fn reassign_submit(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    staff.admin()?;
    let id = form.text("richiesta").unwrap_or_default();
    let provider = form.text("fornitore").unwrap_or_default();
    reassign::reassign(&state, &staff.actor(), staff.source.clone(), &id, &provider).await?;
    Ok(see_other("/backoffice/admin/riassegna?fatto=1"))
}

// --- the SLA dashboard ---

pub struct SlaRow {
    pub provider: String,
    pub service: String,
    pub open: u64,
    pub due_today: u64,
    pub overdue: u64,
    pub closed: u64,
    pub median: String,
}

#[derive(Template)]
#[template(path = "backoffice/admin_sla.html")]
struct SlaPage {
    nav: Nav,
    generated: String,
    since: String,
    rows: Vec<SlaRow>,
    /// Processed requests whose provider has not downloaded the case file yet.
    awaiting: Vec<AwaitingRow>,
    /// Whether retention waits for that (`retention_requires_export`).
    requires_export: bool,
}

/// A processed request waiting for its provider to download its case file.
pub struct AwaitingRow {
    pub id: String,
    pub service: String,
    pub provider: String,
    pub closed: String,
    /// Its retention time has passed: only the missing export keeps its data.
    pub held: bool,
}

/// How many waiting requests the dashboard lists (the oldest first).
const AWAITING_ROWS: u32 = 200;

async fn awaiting_export(state: &AppState) -> Result<Vec<AwaitingRow>, PageError> {
    let providers: std::collections::HashMap<String, String> = state
        .store
        .list_providers()
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let now = state.clock.now();
    Ok(state
        .store
        .awaiting_fascicolo(AWAITING_ROWS)
        .await?
        .into_iter()
        .map(|a| {
            let service = state.catalog.get(&a.hash_visura);
            AwaitingRow {
                held: service
                    .is_some_and(|s| a.closed_at + i64::from(s.retention_days) * 86_400 < now),
                service: service
                    .map(|s| s.nome_visura.clone())
                    .unwrap_or_else(|| a.hash_visura.clone()),
                provider: providers
                    .get(&a.provider_id)
                    .cloned()
                    .unwrap_or_else(|| a.provider_id.clone()),
                closed: when(a.closed_at),
                id: a.request_id,
            }
        })
        .collect())
}

async fn sla_dashboard(State(state): State<AppState>, staff: Staff) -> PageResult {
    staff.admin()?;
    let d = sla::dashboard(&state).await?;
    html(SlaPage {
        awaiting: awaiting_export(&state).await?,
        requires_export: state.limits.retention_requires_export,
        nav: Nav::of(&staff),
        generated: when(d.generato),
        since: when(d.chiuse_dal),
        rows: d
            .righe
            .into_iter()
            .map(|r| SlaRow {
                provider: r.provider.unwrap_or_else(|| "(nessun fornitore)".into()),
                service: r.nome_visura,
                open: r.aperte,
                due_today: r.in_scadenza_oggi,
                overdue: r.scadute,
                closed: r.evase,
                median: r
                    .mediana_secondi_chiusura
                    .map(duration)
                    .unwrap_or_else(|| "–".into()),
            })
            .collect(),
    })
}

// --- the audit log ---

pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub request: String,
    pub detail: String,
    pub source: String,
}

#[derive(Template)]
#[template(path = "backoffice/admin_audit.html")]
struct Audit {
    nav: Nav,
    rows: Vec<AuditRow>,
    next: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    dopo: Option<i64>,
}

async fn audit(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    staff.admin()?;
    let entries = state
        .store
        .audit_entries(q.dopo.unwrap_or(0).max(0), AUDIT_PAGE, None)
        .await?;
    let next = (entries.len() as u32 == AUDIT_PAGE)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    html(Audit {
        nav: Nav::of(&staff),
        rows: entries
            .into_iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: when(e.event.at),
                actor: e.event.actor,
                action: e.event.action,
                request: e.event.request_id.unwrap_or_default(),
                detail: e.event.detail,
                source: e.event.source.unwrap_or_default(),
            })
            .collect(),
        next,
    })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/backoffice/admin", get(home))
        .route(
            "/backoffice/admin/operatori",
            get(operators).post(create_operator),
        )
        .route(
            "/backoffice/admin/operatori/{id}/disabilita",
            post(disable_operator),
        )
        .route(
            "/backoffice/admin/operatori/{id}/abilita",
            post(enable_operator),
        )
        .route(
            "/backoffice/admin/operatori/{id}/password",
            post(reset_password),
        )
        .route(
            "/backoffice/admin/clienti",
            get(clients).post(create_client),
        )
        .route("/backoffice/admin/token", post(create_token))
        .route("/backoffice/admin/token/{id}/revoca", post(revoke_token))
        .route(
            "/backoffice/admin/riassegna",
            get(reassign_form).post(reassign_submit),
        )
        .route("/backoffice/admin/audit", get(audit))
        .route("/backoffice/admin/sla", get(sla_dashboard))
}
