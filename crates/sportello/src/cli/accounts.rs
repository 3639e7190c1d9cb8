//! `sportello token | provider | operator | admin …`: who may call the APIs and who may log in
//! to the back office — bearer tokens, providers and their operators, administrators, and their
//! back-office passwords.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use sportello_server::service::accounts;
use sportello_server::setup::{self, TokenSpec};
use sportello_server::AppState;
use sportello_store::Role;

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Create a token; its secret is printed once and never stored.
    #[command(group(clap::ArgGroup::new("owner").required(true)))]
    Create {
        /// A client token for this client id.
        #[arg(long, group = "owner")]
        client: Option<String>,
        /// An operator token for this operator id.
        #[arg(long, group = "owner")]
        operator: Option<String>,
        /// An administrator token (reads the audit trail through the admin API).
        #[arg(long, group = "owner")]
        admin: bool,
        /// A live token (client tokens are test tokens by default).
        #[arg(long)]
        live: bool,
        /// Days until it expires [default: never].
        #[arg(long)]
        ttl_days: Option<i64>,
        /// Restrict to these scopes (`GET:/visure`…), repeatable [default: every scope].
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum ProviderCmd {
    /// Create a provider working the given services.
    Create {
        #[arg(long)]
        name: String,
        /// A service hash, repeatable.
        #[arg(long = "service")]
        services: Vec<String>,
        /// Every service of the catalog.
        #[arg(long, conflicts_with = "services")]
        all_services: bool,
    },
    /// List providers.
    List,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCmd {
    /// Create an operator of a provider.
    Create {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
    /// List operators.
    List,
    /// Set or reset an operator's back-office password (ends its sessions).
    Password {
        /// The operator id (see `operator list`).
        id: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCmd {
    /// Create a back-office administrator; a generated password is printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
    },
    /// List administrators.
    List,
    /// Set or reset an administrator's password (ends its sessions).
    Password {
        /// The administrator's e-mail address.
        email: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        stdin: bool,
    },
}

pub async fn token(state: &AppState, cmd: TokenCmd) -> Result<()> {
    match cmd {
        TokenCmd::Create {
            client,
            operator,
            admin,
            live,
            ttl_days,
            scopes,
            label,
        } => {
            let role = if admin {
                Role::Admin
            } else if operator.is_some() {
                Role::Operator
            } else {
                Role::Client
            };
            if let Some(id) = &client {
                if state.store.get_client(id).await?.is_none() {
                    bail!("no client with id {id}");
                }
            }
            if let Some(id) = &operator {
                if state.store.get_operator(id).await?.is_none() {
                    bail!("no operator with id {id}");
                }
            }
            if ttl_days.is_some_and(|d| d <= 0) {
                bail!("--ttl-days must be positive");
            }
            let issued = setup::issue_token(
                state,
                TokenSpec {
                    role,
                    client_id: client,
                    operator_id: operator,
                    label,
                    live,
                    ttl_secs: ttl_days.map(|d| d * 86_400),
                    scopes: (!scopes.is_empty()).then_some(scopes),
                },
            )
            .await?;
            eprintln!(
                "token {} created; the secret below is shown only once",
                issued.record.id
            );
            println!("{}", issued.secret);
        }
        TokenCmd::List => {
            for t in state.store.list_tokens().await? {
                let owner = t.client_id.or(t.operator_id).unwrap_or_default();
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\texpires={}",
                    t.id,
                    t.role.as_str(),
                    owner,
                    if t.live { "live" } else { "test" },
                    status,
                    t.expires_at
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCmd::Revoke { id } => {
            if !setup::revoke_token(state, &id).await? {
                bail!("no token with id {id}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

pub async fn provider(state: &AppState, cmd: ProviderCmd) -> Result<()> {
    match cmd {
        ProviderCmd::Create {
            name,
            services,
            all_services,
        } => {
            let hashes = if all_services {
                state
                    .catalog
                    .services()
                    .iter()
                    .map(|s| s.hash_visura.clone())
                    .collect()
            } else {
                let mut out = Vec::new();
                for h in &services {
                    match state.catalog.get(h) {
                        Some(s) => out.push(s.hash_visura.clone()),
                        None => bail!("no service with hash {h} in the catalog"),
                    }
                }
                out
            };
            let p = setup::create_provider(state, &name, hashes).await?;
            println!("{}", p.id);
        }
        ProviderCmd::List => {
            for p in state.store.list_providers().await? {
                println!("{}\t{}\t{} services", p.id, p.name, p.services.len());
            }
        }
    }
    Ok(())
}

pub async fn operator(state: &AppState, cmd: OperatorCmd) -> Result<()> {
    match cmd {
        OperatorCmd::Create {
            provider,
            name,
            email,
        } => {
            if state.store.get_provider(&provider).await?.is_none() {
                bail!("no provider with id {provider}");
            }
            let o = setup::create_operator(state, &provider, &name, &email).await?;
            println!("{}", o.id);
        }
        OperatorCmd::List => {
            for o in state.store.list_operators().await? {
                println!(
                    "{}\t{}\t{}\t{}{}",
                    o.id,
                    o.provider_id,
                    o.name,
                    o.email,
                    if o.disabled { "\tdisabled" } else { "" }
                );
            }
        }
        OperatorCmd::Password { id, stdin } => {
            set_password(state, &accounts::operator_key(&id), stdin).await?;
        }
    }
    Ok(())
}

/// The password to set: from standard input (one line), or generated and printed once.
fn new_password(stdin: bool) -> Result<(String, bool)> {
    if stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        Ok((line.trim_end_matches(['\r', '\n']).to_string(), false))
    } else {
        Ok((accounts::generate_password(), true))
    }
}

async fn set_password(state: &AppState, account: &str, stdin: bool) -> Result<()> {
    let (password, generated) = new_password(stdin)?;
    accounts::set_password(state, account, &password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // A reset is how someone who lost the authenticator gets back in: it goes too.
    sportello_server::service::totp::disable(state, account).await?;
    if generated {
        println!("password (shown once): {password}");
    } else {
        println!("password set");
    }
    Ok(())
}

pub async fn admin(state: &AppState, cmd: AdminCmd) -> Result<()> {
    match cmd {
        AdminCmd::Create { name, email } => {
            let admin = accounts::create_admin(state, &name, &email)
                .await
                .context("creating the administrator (is the e-mail already taken?)")?;
            println!("{}\t{}", admin.id, admin.email);
            set_password(state, &accounts::admin_key(&admin.id), false).await
        }
        AdminCmd::List => {
            for a in state.store.list_admins().await? {
                println!(
                    "{}\t{}\t{}{}",
                    a.id,
                    a.email,
                    a.name,
                    if a.disabled { "\tdisabled" } else { "" }
                );
            }
            Ok(())
        }
        AdminCmd::Password { email, stdin } => {
            let Some(admin) = state.store.find_admin_by_email(&email).await? else {
                bail!("no administrator with that e-mail");
            };
            set_password(state, &accounts::admin_key(&admin.id), stdin).await
        }
    }
}
