//! `sportello client …`: the clients (tenants) — creating and listing them, their webhook
//! endpoint and signing secret, and their money: top-ups, adjustments, balance, statements.

use anyhow::Result;
use clap::Subcommand;
use sportello_server::setup;
use sportello_server::AppState;
use sportello_store::ledger::Kind;

use super::api_error;
use super::output::{print_json, time, Output};

#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Create a client.
    Create {
        #[arg(long)]
        name: String,
        /// Shown as `owner` in the API.
        #[arg(long)]
        email: String,
    },
    /// List clients.
    List(Output),
    /// Set (or with no --url, remove) the client's default webhook endpoint.
    Webhook {
        id: String,
        #[arg(long)]
        url: Option<String>,
    },
    /// Issue a new webhook signing secret (shown once); the old one still signs for 24 hours.
    RotateSecret { id: String },
    /// Record money received from a client (recorded in the ledger and the audit trail).
    Topup {
        #[arg(long)]
        client: String,
        /// Euro, at most two decimals (`50`, `12.30`).
        #[arg(long)]
        amount: String,
        /// Why (a bank transfer's reference…); required.
        #[arg(long)]
        reason: String,
    },
    /// Correct a client's balance, either way (`--amount=-5`).
    Adjust {
        #[arg(long)]
        client: String,
        /// Euro, either sign, at most two decimals.
        #[arg(long, allow_hyphen_values = true)]
        amount: String,
        #[arg(long)]
        reason: String,
    },
    /// Show a client's balance and the API calls not yet billed.
    Balance {
        client: String,
        #[command(flatten)]
        output: Output,
    },
    /// Print a client's statement for a month (JSON, or CSV with --csv).
    Statement {
        #[arg(long)]
        client: String,
        /// YYYY-MM (UTC).
        #[arg(long)]
        month: String,
        #[arg(long)]
        csv: bool,
    },
}

pub async fn run(state: &AppState, cmd: ClientCmd) -> Result<()> {
    use sportello_server::service::deliveries;
    match cmd {
        ClientCmd::Create { name, email } => {
            let c = setup::create_client(state, &name, &email).await?;
            let secret = deliveries::rotate_secret(state, &c.id)
                .await
                .map_err(api_error)?;
            println!("{}", c.id);
            eprintln!("webhook signing secret (shown once): {}", secret.segreto);
        }
        ClientCmd::Webhook { id, url } => {
            let info = deliveries::set_webhook(state, &id, url.as_deref())
                .await
                .map_err(api_error)?;
            println!(
                "{}\t{}",
                info.client,
                info.url.unwrap_or_else(|| "-".into())
            );
        }
        ClientCmd::RotateSecret { id } => {
            let secret = deliveries::rotate_secret(state, &id)
                .await
                .map_err(api_error)?;
            println!("{}", secret.segreto);
        }
        ClientCmd::List(output) => {
            let clients = state.store.list_clients().await?;
            if output.json {
                let items = clients
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "id": c.id,
                            "name": c.name,
                            "owner": c.owner_email,
                            "created_at": time(c.created_at),
                        })
                    })
                    .collect();
                return print_json(&serde_json::Value::Array(items));
            }
            for c in clients {
                println!("{}\t{}\t{}", c.id, c.name, c.owner_email);
            }
        }
        ClientCmd::Topup {
            client,
            amount,
            reason,
        } => fund(state, Kind::Topup, &client, &amount, &reason).await?,
        ClientCmd::Adjust {
            client,
            amount,
            reason,
        } => fund(state, Kind::Adjustment, &client, &amount, &reason).await?,
        ClientCmd::Balance { client, output } => {
            let conto = sportello_server::api::conto::conto_of(state, &client)
                .await
                .map_err(api_error)?;
            if output.json {
                // The shape of `GET /conto`.
                return print_json(&serde_json::to_value(&conto)?);
            }
            println!("balance: {:.2} EUR", conto.saldo.0);
            for d in conto.chiamate_da_fatturare {
                println!("unbilled calls on {}: {}", d.giorno, d.chiamate);
            }
        }
        ClientCmd::Statement { client, month, csv } => {
            use sportello_server::service::statements;
            let month = statements::Month::parse(&month).map_err(api_error)?;
            let s = statements::statement(state, &client, month)
                .await
                .map_err(api_error)?;
            if csv {
                print!("{}", statements::statement_csv(&s));
            } else {
                println!("{}", serde_json::to_string_pretty(&s)?);
            }
        }
    }
    Ok(())
}

/// A top-up or an adjustment by the administrator at the command line.
async fn fund(
    state: &AppState,
    kind: Kind,
    client: &str,
    amount: &str,
    reason: &str,
) -> Result<()> {
    let funded = sportello_server::service::wallet::fund(
        state,
        kind,
        client,
        amount,
        reason,
        "admin:cli",
        None,
        None,
    )
    .await
    .map_err(|e| match e.details.first() {
        Some(d) => anyhow::anyhow!("{}: {}", d.campo, d.messaggio),
        None => api_error(e),
    })?;
    let t = &funded.transaction;
    println!(
        "{} {} of {:.2} EUR recorded; balance {:.2} EUR",
        kind.as_db(),
        t.id,
        sportello_domain::pricing::from_cents(t.wallet_effect()),
        sportello_domain::pricing::from_cents(funded.balance_after)
    );
    Ok(())
}
