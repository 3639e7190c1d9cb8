//! The logged-in person's own account: the optional TOTP second factor.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::page::{html, see_other, FormData, PageError, PageResult};
use super::session::{CsrfForm, Staff};
use super::Nav;
use crate::service::accounts::Account;
use crate::service::totp;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "backoffice/account.html")]
struct AccountPage {
    nav: Nav,
    enabled: bool,
    /// The set-up in progress: the base32 secret and the `otpauth://` link.
    enrolment: Option<(String, String)>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
struct Done {
    fatto: Option<String>,
}

fn email(staff: &Staff) -> String {
    match &staff.account {
        Account::Admin(a) => a.email.clone(),
        Account::Operator(o, _) => o.email.clone(),
    }
}

async fn page(State(state): State<AppState>, staff: Staff, Query(d): Query<Done>) -> PageResult {
    html(AccountPage {
        nav: Nav::of(&staff),
        enabled: totp::enabled(&state, &staff.actor()).await?,
        enrolment: None,
        notice: match d.fatto.as_deref() {
            Some("attivata") => {
                Some("Verifica in due passaggi attivata: da ora serve il codice all'accesso.")
            }
            Some("disattivata") => Some("Verifica in due passaggi disattivata."),
            _ => None,
        },
    })
}

async fn begin(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    // A new key switches the current one off until confirmed: while the factor is on, starting
    // over needs the factor, or a stolen session alone could remove it.
    let code = form.text("codice");
    if !totp::satisfied(&state, &staff.actor(), code.as_deref()).await? {
        return Err(PageError::Refused(
            StatusCode::BAD_REQUEST,
            "Per configurare di nuovo la verifica in due passaggi inserisci un codice valido dell'app attuale.".into(),
        ));
    }
    let e = totp::begin(&state, &staff.actor(), &email(&staff)).await?;
    html(AccountPage {
        nav: Nav::of(&staff),
        enabled: false,
        enrolment: Some((e.secret, e.uri)),
        notice: None,
    })
}

async fn confirm(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    let code = form.text("codice").unwrap_or_default();
    if !totp::confirm(&state, &staff.actor(), &code).await? {
        return Err(PageError::Refused(
            StatusCode::BAD_REQUEST,
            "Il codice non corrisponde: controlla l'ora del telefono e riprova dalla pagina Account.".into(),
        ));
    }
    Ok(see_other("/backoffice/account?fatto=attivata"))
}

async fn disable(
    State(state): State<AppState>,
    CsrfForm(staff, form): CsrfForm<FormData>,
) -> PageResult {
    // Turning the factor off needs the factor: a stolen session alone cannot remove it.
    let code = form.text("codice");
    if !totp::satisfied(&state, &staff.actor(), code.as_deref()).await? {
        return Err(PageError::Refused(
            StatusCode::BAD_REQUEST,
            "Per disattivare la verifica in due passaggi inserisci un codice valido.".into(),
        ));
    }
    totp::disable(&state, &staff.actor()).await?;
    Ok(see_other("/backoffice/account?fatto=disattivata"))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/backoffice/account", get(page))
        .route("/backoffice/account/totp/inizia", post(begin))
        .route("/backoffice/account/totp/conferma", post(confirm))
        .route("/backoffice/account/totp/disattiva", post(disable))
}
