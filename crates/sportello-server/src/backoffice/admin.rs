//! Admin pages: providers, operators, clients and their tokens, the audit log.

use askama::Template;
use axum::extract::State;
use axum::routing::get;
use axum::Router;

use super::page::{html, PageResult};
use super::session::Staff;
use super::Nav;
use crate::state::AppState;

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

pub fn routes() -> Router<AppState> {
    Router::new().route("/backoffice/admin", get(home))
}
