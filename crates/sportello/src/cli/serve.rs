//! `sportello serve`: logging, the configuration it runs with, the database and the first
//! start's demo and administrator, the listener, the background workers, and the graceful
//! shutdown.

use anyhow::{bail, Context, Result};
use sportello_server::service::accounts::{self, FirstAdmin};
use sportello_server::setup::{self, Demo};
use sportello_server::workers::Workers;
use sportello_server::AppState;
use std::io::IsTerminal;
use std::net::SocketAddr;

use super::api_error;
use crate::config::Settings;
use crate::open;

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colours only for a person at a terminal: escape codes in a log file break grep.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// A calendar under a name no provider has would silently leave that provider on the national
/// calendar: a typo must be seen.
async fn warn_unknown_calendars(state: &AppState) -> Result<()> {
    let providers = state.store.list_providers().await?;
    for name in state.calendars.names() {
        if !providers.iter().any(|p| p.name == name) {
            tracing::warn!(calendar = %name, "closures configured for a provider that does not exist");
        }
    }
    Ok(())
}

/// What only a first start shows, on standard output: the demo's tokens and the first
/// administrator's password, each shown once (only their hashes are stored).
fn announce(demo: Option<&Demo>, first: Option<&FirstAdmin>, address: SocketAddr) {
    if let Some(demo) = demo {
        println!();
        println!("  New installation: a demo client and a demo CAF were created.");
        println!("  These tokens are shown once; only their hashes are stored.");
        println!();
        println!(
            "  client token (test):  {}   (the sandbox works its requests, free)",
            demo.client_token.secret
        );
        println!(
            "  client token (live):  {}   (the demo CAF works them, €100 demo credit)",
            demo.live_client_token.secret
        );
        println!("  operator token:       {}", demo.operator_token.secret);
        println!();
        println!(
            "  Try:  curl -H 'Authorization: Bearer {}' http://{address}/visure",
            demo.client_token.secret
        );
        println!();
    }
    if let Some(first) = first {
        println!("  Back office: http://{address}/backoffice/login");
        println!("  administrator e-mail:    {}", first.admin.email);
        println!("  administrator password:  {}", first.password);
        println!(
            "  (shown once; change it with `sportello admin password {}`)",
            first.admin.email
        );
        println!();
    }
}

pub async fn serve(settings: Settings) -> Result<()> {
    if !matches!(settings.log_format.as_str(), "text" | "json") {
        bail!(
            "log_format must be `text` or `json`, not {:?}",
            settings.log_format
        );
    }
    init_logging(&settings);
    for var in Settings::unknown_variables() {
        tracing::warn!(variable = %var, "unknown SPORTELLO_ variable ignored");
    }
    tracing::info!(
        listen = %settings.listen,
        data_dir = %settings.data_dir.display(),
        // The kind only: a URL can carry a password.
        database = match settings.database_url.as_deref() {
            None => "embedded sqlite",
            Some(url) if url.starts_with("sqlite:") => "sqlite",
            Some(_) => "postgresql",
        },
        catalog = settings.catalog_dir.as_deref().map(|d| d.display().to_string()).unwrap_or_else(|| "embedded".into()),
        max_body_bytes = settings.max_body_bytes,
        max_file_bytes = settings.max_file_bytes,
        trusted_proxies = %settings.trusted_proxies,
        "starting"
    );
    // Checked before anything is opened: a configuration the outbox cannot run with stops the
    // start at once.
    let workers = settings.workers().map_err(anyhow::Error::msg)?;
    let state = open::state(&settings).await?;
    // Listen before creating the demo: tokens printed by a start that then fails (a busy port)
    // would be the only ones ever shown, and the next start shows none.
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let address = listener.local_addr()?;
    // Processes started together on one new database take turns here: without the lock each
    // would find it empty, make a demo of its own, and all but one would fail to create the
    // first administrator (its e-mail is unique).
    let lock = state.store.setup_lock().await?;
    let demo = setup::prepare(&state).await.map_err(api_error)?;
    let first = accounts::bootstrap_admin(&state)
        .await
        .map_err(|e| anyhow::anyhow!("creating the first administrator: {e}"))?;
    lock.release().await?;
    announce(demo.as_ref(), first.as_ref(), address);
    warn_unknown_calendars(&state).await?;
    // Set by SIGTERM or ctrl-c: the listener closes, the workers finish their pass.
    let stop = tokio_util::sync::CancellationToken::new();
    let workers = Workers::start(&state, workers, stop.clone());
    tracing::info!(%address, "listening");
    // One grace period from the signal, shared by the requests in flight and the workers.
    let grace = std::time::Duration::from_secs(settings.shutdown_grace_secs);
    tokio::spawn({
        let stop = stop.clone();
        async move {
            shutdown_signal().await;
            tracing::info!(
                grace_secs = grace.as_secs(),
                "stopping: no new connections, finishing the requests in flight"
            );
            stop.cancel();
        }
    });
    let serving = sportello_server::serve(listener, state.clone(), stop.clone().cancelled_owned());
    tokio::select! {
        served = serving => served?,
        _ = async {
            stop.cancelled().await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("grace period over: requests still in flight were cut off"),
    }
    // The workers end their passes within what is left of the grace period; the calls counted
    // since the fee worker's last pass are billed too.
    workers.shutdown(grace).await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
