//! `sportello token | provider | operator | admin …`: who may call the APIs and who may log in
//! to the back office — bearer tokens, providers and their operators, administrators, and their
//! back-office passwords.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use sportello_domain::paperwork;
use sportello_domain::party::RawParty;
use sportello_server::service::{accounts, parties};
use sportello_server::setup::{self, TokenSpec};
use sportello_server::AppState;
use sportello_store::{PaperKind, ProviderRecord, Role};

use super::api_error;
use super::output::{print_json, time, Output};

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
    List(Output),
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
    List(Output),
    /// Change a provider's party data (only the options given; an empty value clears an
    /// optional one) and save new versions of its privacy notice and mandate from files.
    Update(Box<ProviderUpdate>),
    /// Show a provider's party data and the current versions of its notice and mandate.
    Show {
        /// The provider id (see `provider list`).
        id: String,
        #[command(flatten)]
        output: Output,
    },
}

/// `provider update`'s arguments (boxed in [`ProviderCmd`]: they outweigh the other verbs').
#[derive(Debug, Args)]
pub struct ProviderUpdate {
    /// The provider id (see `provider list`).
    id: String,
    #[arg(long)]
    denominazione: Option<String>,
    /// CAF or Patronato.
    #[arg(long)]
    tipo: Option<String>,
    /// 11 digits (a partita IVA) or 16 characters.
    #[arg(long)]
    codice_fiscale: Option<String>,
    #[arg(long)]
    indirizzo: Option<String>,
    #[arg(long)]
    comune: Option<String>,
    /// The province's sigla (RM, TO…).
    #[arg(long)]
    provincia: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    pec: Option<String>,
    #[arg(long)]
    telefono: Option<String>,
    /// A UTF-8 file holding the new privacy notice (GDPR art. 13).
    #[arg(long, value_name = "FILE")]
    informativa: Option<PathBuf>,
    /// A UTF-8 file holding the new mandate template, with its {{placeholders}}.
    #[arg(long, value_name = "FILE")]
    mandato: Option<PathBuf>,
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
    List(Output),
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
    List(Output),
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
        TokenCmd::List(output) => {
            let tokens = state.store.list_tokens().await?;
            if output.json {
                let items = tokens
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id,
                            "role": t.role.as_str(),
                            "client": t.client_id,
                            "operator": t.operator_id,
                            "label": t.label,
                            "live": t.live,
                            "scopes": t.scopes,
                            "created_at": time(t.created_at),
                            "expires_at": t.expires_at.map(time),
                            "revoked_at": t.revoked_at.map(time),
                        })
                    })
                    .collect();
                return print_json(&serde_json::Value::Array(items));
            }
            for t in tokens {
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
        ProviderCmd::List(output) => {
            let providers = state.store.list_providers().await?;
            if output.json {
                let items = providers.iter().map(provider_json).collect();
                return print_json(&serde_json::Value::Array(items));
            }
            for p in providers {
                println!("{}\t{}\t{} services", p.id, p.name, p.services.len());
            }
        }
        ProviderCmd::Update(update) => {
            let ProviderUpdate {
                id,
                denominazione,
                tipo,
                codice_fiscale,
                indirizzo,
                comune,
                provincia,
                email,
                pec,
                telefono,
                informativa,
                mandato,
            } = *update;
            let current = known_provider(state, &id).await?;
            // Both files are read before anything is saved: a missing one changes nothing.
            let read = |path: &Option<PathBuf>| -> Result<Option<String>> {
                path.as_ref()
                    .map(|p| {
                        std::fs::read_to_string(p)
                            .with_context(|| format!("cannot read {} as UTF-8 text", p.display()))
                    })
                    .transpose()
            };
            let texts = [
                (PaperKind::Informativa, read(&informativa)?),
                (PaperKind::Mandato, read(&mandato)?),
            ];
            for (kind, text) in &texts {
                if let Some(Err(e)) = text.as_deref().map(paperwork::normalise) {
                    bail!("the {} file: {e}", kind.as_db());
                }
            }
            let given = [
                &denominazione,
                &tipo,
                &codice_fiscale,
                &indirizzo,
                &comune,
                &provincia,
                &email,
                &pec,
                &telefono,
            ];
            if given.iter().all(|o| o.is_none()) && texts.iter().all(|(_, t)| t.is_none()) {
                bail!("nothing to change: give at least one option (see --help)");
            }
            if given.iter().any(|o| o.is_some()) {
                // What was not given keeps its stored value.
                let party = &current.party;
                let keep = |new: &Option<String>, old: &Option<String>| -> Option<String> {
                    new.clone().or_else(|| old.clone())
                };
                let name = denominazione.unwrap_or_else(|| current.name.clone());
                let values = [
                    keep(&tipo, &party.tipo),
                    keep(&codice_fiscale, &party.codice_fiscale),
                    keep(&indirizzo, &party.indirizzo),
                    keep(&comune, &party.comune),
                    keep(&provincia, &party.provincia),
                    keep(&email, &party.email),
                    keep(&pec, &party.pec),
                    keep(&telefono, &party.telefono),
                ];
                let raw = RawParty {
                    denominazione: Some(&name),
                    tipo: values[0].as_deref(),
                    codice_fiscale: values[1].as_deref(),
                    indirizzo: values[2].as_deref(),
                    comune: values[3].as_deref(),
                    provincia: values[4].as_deref(),
                    email: values[5].as_deref(),
                    pec: values[6].as_deref(),
                    telefono: values[7].as_deref(),
                };
                parties::update(state, &id, &raw, None, "cli", None)
                    .await
                    .map_err(api_error)?;
                println!("party data saved");
            }
            for (kind, text) in texts {
                let Some(text) = text else { continue };
                let saved = parties::save_text(state, &id, kind, &text, "cli", None)
                    .await
                    .map_err(api_error)?;
                println!("{}: version {}", kind.as_db(), saved.document.versione);
                print_warnings(&saved.avvisi);
            }
        }
        ProviderCmd::Show { id, output } => {
            let p = known_provider(state, &id).await?;
            if output.json {
                let mut shown = provider_json(&p);
                for kind in [PaperKind::Informativa, PaperKind::Mandato] {
                    let current = state.store.current_provider_document(&id, kind).await?;
                    shown[kind.as_db()] = match current {
                        Some(d) => serde_json::json!({
                            "versione": d.versione,
                            "created_at": time(d.created_at),
                            "created_by": d.created_by,
                            "avvisi": parties::warnings(kind, &d.testo),
                        }),
                        None => serde_json::Value::Null,
                    };
                }
                return print_json(&shown);
            }
            print_party(&p);
            for kind in [PaperKind::Informativa, PaperKind::Mandato] {
                match state.store.current_provider_document(&id, kind).await? {
                    Some(d) => {
                        println!(
                            "{}\tversion {}, saved {} by {}",
                            kind.as_db(),
                            d.versione,
                            chrono::DateTime::<chrono::Utc>::from_timestamp(d.created_at, 0)
                                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                                .unwrap_or_default(),
                            d.created_by
                        );
                        print_warnings(&parties::warnings(kind, &d.testo));
                    }
                    None => println!("{}\tnone", kind.as_db()),
                }
            }
        }
    }
    Ok(())
}

async fn known_provider(state: &AppState, id: &str) -> Result<ProviderRecord> {
    match state.store.get_provider(id).await? {
        Some(p) => Ok(p),
        None => bail!("no provider with id {id}"),
    }
}

/// A provider for `--json`: its party data under the API's names, and its services' hashes.
fn provider_json(p: &ProviderRecord) -> serde_json::Value {
    let party = &p.party;
    serde_json::json!({
        "id": p.id,
        "denominazione": p.name,
        "tipo": party.tipo,
        "codice_fiscale": party.codice_fiscale,
        "indirizzo": party.indirizzo,
        "comune": party.comune,
        "provincia": party.provincia,
        "email": party.email,
        "pec": party.pec,
        "telefono": party.telefono,
        "services": p.services,
        "created_at": time(p.created_at),
    })
}

fn print_party(p: &ProviderRecord) {
    let party = &p.party;
    let rows: [(&str, Option<&str>); 10] = [
        ("id", Some(&p.id)),
        ("denominazione", Some(&p.name)),
        ("tipo", party.tipo.as_deref()),
        ("codice_fiscale", party.codice_fiscale.as_deref()),
        ("indirizzo", party.indirizzo.as_deref()),
        ("comune", party.comune.as_deref()),
        ("provincia", party.provincia.as_deref()),
        ("email", party.email.as_deref()),
        ("pec", party.pec.as_deref()),
        ("telefono", party.telefono.as_deref()),
    ];
    for (name, value) in rows {
        println!("{name}\t{}", value.unwrap_or("-"));
    }
    println!("services\t{}", p.services.len());
}

/// What a text seems to lack, one warning a line (a heuristic: the text was saved anyway).
fn print_warnings(avvisi: &[String]) {
    for a in avvisi {
        println!("  warning: {a}");
    }
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
        OperatorCmd::List(output) => {
            let operators = state.store.list_operators().await?;
            if output.json {
                let items = operators
                    .iter()
                    .map(|o| {
                        serde_json::json!({
                            "id": o.id,
                            "provider": o.provider_id,
                            "name": o.name,
                            "email": o.email,
                            "disabled": o.disabled,
                            "created_at": time(o.created_at),
                        })
                    })
                    .collect();
                return print_json(&serde_json::Value::Array(items));
            }
            for o in operators {
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
        AdminCmd::List(output) => {
            let admins = state.store.list_admins().await?;
            if output.json {
                let items = admins
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "id": a.id,
                            "name": a.name,
                            "email": a.email,
                            "disabled": a.disabled,
                            "created_at": time(a.created_at),
                        })
                    })
                    .collect();
                return print_json(&serde_json::Value::Array(items));
            }
            for a in admins {
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
