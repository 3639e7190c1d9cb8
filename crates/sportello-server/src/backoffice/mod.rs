//! The back office: server-rendered pages in Italian for operators and admins (askama
//! templates, one hand-written style sheet, no JavaScript). Sessions live in `session`, the
//! rules in the service layer; handlers here only read forms and render.
//!
//! Invariant: every form carries the session's CSRF token and every page of personal data goes
//! through a service function that records the read in the audit trail.

pub mod account;
pub mod admin;
pub mod login;
pub mod page;
pub mod providers;
pub mod queue;
pub mod request;
pub mod session;
pub mod statement;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use session::Staff;

/// What the navigation bar of every logged-in page needs.
pub struct Nav {
    pub name: String,
    pub is_admin: bool,
    pub csrf: String,
}

impl Nav {
    pub fn of(staff: &Staff) -> Nav {
        Nav {
            name: staff.account.name().to_string(),
            is_admin: staff.is_admin(),
            csrf: staff.csrf().to_string(),
        }
    }
}

const STYLE: &str = include_str!("../../static/sportello.css");

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE,
    )
}

pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/backoffice", get(login::home))
        .route("/backoffice/", get(login::home))
        .route("/backoffice/static/sportello.css", get(style))
        .route("/backoffice/login", get(login::form).post(login::submit))
        .route("/backoffice/logout", post(login::logout))
        .route("/backoffice/coda", get(queue::page))
        .route("/backoffice/richieste/{id}", get(request::page))
        .route("/backoffice/richieste/{id}/prendi", post(request::claim))
        .route(
            "/backoffice/richieste/{id}/rilascia",
            post(request::release),
        )
        .route(
            "/backoffice/richieste/{id}/integrazione",
            post(request::ask_integration),
        )
        .route(
            "/backoffice/richieste/{id}/risultati",
            post(request::attach_result),
        )
        .route("/backoffice/richieste/{id}/chiudi", post(request::close))
        .route("/backoffice/richieste/{id}/annulla", post(request::cancel))
        .route("/backoffice/richieste/{id}/note", post(request::add_note))
        .route(
            "/backoffice/richieste/{id}/file/{file_id}",
            get(request::file),
        )
        .route(
            "/backoffice/richieste/{id}/fascicolo",
            post(request::fascicolo),
        )
        .route(
            "/backoffice/richieste/{id}/chiedi-mandato",
            post(request::ask_mandate),
        )
        .merge(admin::routes())
        .merge(providers::routes())
        .merge(statement::routes())
        .merge(account::routes())
        // Before the merge into the API's router, whose 405 is JSON: this one wins for every
        // route above.
        .method_not_allowed_fallback(page::method_not_allowed)
        // Uploads are bounded by the same body limit as the API (axum's default is 2 MB).
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
}
