//! The servers the bench drives: Sportello's real router on a real listener on 127.0.0.1, on a
//! database opened by the same function as `serve`, and a trivial axum handler served the same
//! way, as the yardstick of what HTTP alone costs on this machine.

use anyhow::{Context, Result};
use sportello_server::setup::{self, TokenSpec};
use sportello_server::AppState;
use sportello_store::ledger::Kind;
use sportello_store::Role;
use std::net::SocketAddr;
use tokio::sync::oneshot;

use crate::config::Settings;

/// A running server; it stops when dropped.
pub struct Running {
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Who calls: a client's test token and an operator's token of a provider working every service.
pub struct Callers {
    /// [`super::TENANTS`] funded clients' live tokens (never empty).
    pub tenants: Vec<String>,
    pub operator: String,
}

impl Callers {
    /// The first tenant's token, for the measurements of one client.
    pub fn client(&self) -> &str {
        self.tenants.first().map(String::as_str).unwrap_or_default()
    }
}

/// A funded client with a live token (test tokens go to the sandbox, which is not what is
/// measured), a provider with an operator, and their tokens. Made anew on every run, so a
/// database that already holds data (a PostgreSQL scratch database) works too.
pub async fn callers(state: &AppState) -> Result<Callers> {
    let token = |role, client_id, operator_id| TokenSpec {
        role,
        client_id,
        operator_id,
        label: "bench".into(),
        live: true,
        ttl_secs: None,
        scopes: None,
    };
    let mut tenants = Vec::with_capacity(super::TENANTS);
    for n in 0..super::TENANTS {
        let client =
            setup::create_client(state, &format!("Bench {n}"), "bench@example.invalid").await?;
        sportello_server::service::wallet::fund(
            state,
            Kind::Topup,
            &client.id,
            "100000000",
            "bench",
            "system:bench",
            None,
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("funding the bench client: {}", e.message))?;
        let issued = setup::issue_token(state, token(Role::Client, Some(client.id), None)).await?;
        tenants.push(issued.secret);
    }
    let services = state
        .catalog
        .services()
        .iter()
        .map(|s| s.hash_visura.clone())
        .collect();
    let provider = setup::create_provider(state, "CAF Bench", services).await?;
    let operator =
        setup::create_operator(state, &provider.id, "Bench", "bench-op@example.invalid").await?;
    let operator =
        setup::issue_token(state, token(Role::Operator, None, Some(operator.id))).await?;
    Ok(Callers {
        tenants,
        operator: operator.secret,
    })
}

/// Opens the database of `settings` as `serve` does, with the rate limits off (the bench is
/// one client on purpose), and serves it.
pub async fn sportello(settings: &Settings) -> Result<(Running, AppState)> {
    let mut state = crate::open::state(settings).await?;
    state.limits.rate_per_token_per_minute = 0;
    state.limits.rate_per_ip_per_minute = 0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let base = format!("http://{}", listener.local_addr()?);
    let served = state.clone();
    tokio::spawn(async move {
        let _ = sportello_server::serve(listener, served, async {
            let _ = stopped.await;
        })
        .await;
    });
    Ok((
        Running {
            base,
            stop: Some(stop),
        },
        state,
    ))
}

/// `GET /visure` answering a constant, with the same listener and connection info as
/// Sportello's.
pub async fn trivial() -> Result<Running> {
    let app = axum::Router::new().route(
        "/visure",
        axum::routing::get(|| async { r#"{"data":[],"success":true}"# }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("listening for the trivial handler")?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await;
    });
    Ok(Running {
        base,
        stop: Some(stop),
    })
}
