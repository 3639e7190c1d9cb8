//! Login and logout pages.

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use rand::RngCore;

use super::page::{see_other, FormData, PageError, PageResult};
use super::session::{self, CsrfForm, Source, Staff};
use crate::service::accounts::{self, LoginError};
use crate::service::passwords;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "backoffice/login.html")]
struct LoginPage {
    csrf: String,
    message: Option<&'static str>,
}

/// A fresh login form with its anti-forgery cookie.
fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    message: Option<&'static str>,
) -> PageResult {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let body = LoginPage {
        csrf: token.clone(),
        message,
    }
    .render()?;
    let secure = session::secure(state, headers);
    Ok((
        status,
        [(header::SET_COOKIE, session::login_cookie(secure, &token))],
        Html(body),
    )
        .into_response())
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> PageResult {
    login_form(&state, &headers, StatusCode::OK, None)
}

pub async fn submit(
    State(state): State<AppState>,
    Source(source): Source,
    headers: HeaderMap,
    form: FormData,
) -> PageResult {
    let expected = session::login_token(&state, &headers);
    let sent = form.get("csrf");
    let genuine = matches!((&expected, sent), (Some(e), Some(s)) if passwords::same_secret(e, s));
    if !genuine {
        return login_form(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            Some("Il modulo non è più valido: riprova."),
        );
    }
    let email = form.get("email").unwrap_or_default();
    let password = form.get("password").unwrap_or_default();
    let code = form.text("codice");
    match accounts::login(&state, email, password, code.as_deref(), source).await {
        Ok((new, _account)) => {
            let secure = session::secure(&state, &headers);
            let mut response = see_other("/backoffice");
            let h = response.headers_mut();
            h.append(header::SET_COOKIE, session::session_cookie(secure, &new.id));
            Ok(response)
        }
        Err(LoginError::WrongCredentials) => login_form(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("E-mail o password non corrette."),
        ),
        Err(LoginError::SecondFactor) => login_form(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            Some("Codice di verifica mancante o errato: inserisci il codice dell'app di autenticazione."),
        ),
        Err(LoginError::LockedOut) => login_form(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Troppi tentativi non riusciti: l'accesso è bloccato per 15 minuti. Se hai attivato la verifica in due passaggi puoi accedere con la password e il codice."),
        ),
        Err(LoginError::SourceLockedOut) => login_form(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Troppi tentativi non riusciti da questa rete: l'accesso è bloccato per 15 minuti."),
        ),
        Err(LoginError::Store(e)) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(staff, ()): CsrfForm<()>,
) -> PageResult {
    accounts::logout(&state, &staff.session, staff.source.clone()).await?;
    let mut response = see_other("/backoffice/login");
    response.headers_mut().append(
        header::SET_COOKIE,
        session::clear_session_cookie(session::secure(&state, &headers)),
    );
    Ok(response)
}

/// `/backoffice`: the operator's queue or the admin's home.
pub async fn home(staff: Result<Staff, PageError>) -> Response {
    match staff {
        Ok(s) if s.is_admin() => see_other("/backoffice/admin"),
        Ok(_) => see_other("/backoffice/coda"),
        Err(e) => e.into_response(),
    }
}
