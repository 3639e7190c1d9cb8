//! The command line: one verb per role.

use anyhow::{bail, Context, Result};
use chrono::Datelike;
use clap::{Parser, Subcommand};
use sportello_domain::catalog::Catalog;
use sportello_server::service::accounts;
use sportello_server::setup::{self, TokenSpec};
use sportello_server::{AppState, SystemClock};
use sportello_store::ledger::Kind;
use sportello_store::{BlobStore, PgStore, Role, SqliteStore, Store};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Overrides, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "sportello",
    version,
    about = "Patronato and CAF practices, Visengine-compatible",
    after_help = crate::exit::HELP
)]
pub struct Cli {
    /// A TOML configuration file [default: ./sportello.toml if present].
    #[arg(long, global = true, env = "SPORTELLO_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creates the database and a demo client on first start).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage clients (tenants).
    #[command(subcommand)]
    Client(ClientCmd),
    /// Manage bearer tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage providers (CAF, Patronato).
    #[command(subcommand)]
    Provider(ProviderCmd),
    /// Manage operators of a provider.
    #[command(subcommand)]
    Operator(OperatorCmd),
    /// Manage back-office administrators.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Inspect the catalog.
    #[command(subcommand)]
    Catalog(CatalogCmd),
    /// Destroy the personal data of requests whose retention has passed, or of one request.
    Purge {
        /// Only list what would be purged.
        #[arg(long)]
        dry_run: bool,
        /// Erase this closed request now (an erasure request), whatever its retention.
        #[arg(long, conflicts_with = "codice_fiscale")]
        request: Option<String>,
        /// Erase every closed request about this person now (found through the keyed hash of
        /// the codice fiscale); open ones are listed, to be cancelled first.
        #[arg(long)]
        codice_fiscale: Option<String>,
    },
    /// The audit trail: verify its chain, list entries.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Master keys: generate one, rotate to it.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Print a year of the working calendar, one line per day: the national one, or a
    /// provider's with its configured closures.
    Calendar {
        /// The year (Gregorian), e.g. 2026.
        #[arg(value_parser = clap::value_parser!(i32).range(1583..=9999))]
        year: i32,
        /// A provider name configured under `[calendars."NAME"]`.
        #[arg(long)]
        provider: Option<String>,
        /// `tsv`: date, `true`/`false` (working day), the reason when closed; `text`: for people.
        #[arg(long, value_enum, default_value_t = CalendarFormat::Text)]
        format: CalendarFormat,
    },
    /// The books: check that the ledger balances.
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// Measure this machine: request creation against the database's commit ceiling,
    /// `GET /visure` against a trivial handler, validations, memory of a serving process.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CalendarFormat {
    Text,
    Tsv,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCmd {
    /// Check every transaction balances, every debit and refund belongs to a live request, and
    /// no submitted live request lacks its debit; exits non-zero on a problem.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the hash chain from the first entry; name the first broken one.
    Verify,
    /// Print entries, oldest first.
    List {
        /// Only this request's entries.
        #[arg(long)]
        request: Option<String>,
        /// Entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Write a new master key to FILE (created with permissions 0600; never overwritten).
    Generate { file: PathBuf },
    /// Re-wrap every data key under the current master key. Run it with the new key as
    /// `master_key_file` and the old one in `previous_master_key_files`; servers configured the
    /// same way keep working meanwhile.
    Rotate,
}

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
    List,
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
    Balance { client: String },
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

#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// Load and check the catalog (embedded, or --catalog-dir), list its services.
    Check,
}

pub fn load_catalog(dir: Option<&Path>) -> Result<Catalog> {
    let Some(dir) = dir else {
        return Catalog::embedded().context("the embedded catalog is invalid");
    };
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("reading catalog dir {}", dir.display()))?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("toml") {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            files.push((name, text));
        }
    }
    files.sort();
    Catalog::from_files(&files).with_context(|| format!("invalid catalog in {}", dir.display()))
}

pub(crate) async fn open_state(settings: &Settings) -> Result<AppState> {
    let catalog = load_catalog(settings.catalog_dir.as_deref())?;
    let keyring = Arc::new(crate::keys::load_keyring(settings)?);
    let store = match &settings.database_url {
        Some(url) if url.starts_with("sqlite:") => Arc::new(
            SqliteStore::open_url(url, keyring)
                .await
                .context("opening the database")?,
        ) as Arc<dyn Store>,
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Arc::new(
                PgStore::open_url(url, settings.database_pool_size, keyring)
                    .await
                    .context("opening the database")?,
            )
        }
        Some(_) => bail!("unsupported database URL: use sqlite:PATH or postgres://…"),
        None => Arc::new(
            SqliteStore::open(&settings.data_dir.join("sportello.db"), keyring)
                .await
                .context("opening the database")?,
        ),
    };
    let blobs = open_blobs(settings)?;
    Ok(AppState {
        store,
        blobs,
        catalog: Arc::new(catalog),
        clock: Arc::new(SystemClock),
        limits: settings.limits(),
        calendars: Arc::new(settings.calendars().map_err(anyhow::Error::msg)?),
        meter: Default::default(),
        callers: Default::default(),
    })
}

/// The file store the settings name: an S3-compatible bucket, or the local directory.
fn open_blobs(settings: &Settings) -> Result<BlobStore> {
    match settings.s3().map_err(anyhow::Error::msg)? {
        Some(s3) => BlobStore::s3(&s3).context("opening the S3 file storage"),
        None => BlobStore::local(&settings.data_dir.join("files")).context("opening file storage"),
    }
}

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

pub async fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(cli.config.as_deref(), &cli.overrides)
        .context("reading the configuration")?;
    if !matches!(cli.command, Command::Serve) {
        // `serve` logs these; a verb has no log, and a mistyped variable must not pass unseen.
        for var in Settings::unknown_variables() {
            eprintln!("warning: unknown SPORTELLO_ variable ignored: {var}");
        }
    }
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            open_state(&settings).await?;
            println!("database ready");
            Ok(())
        }
        Command::Client(c) => client(&open_state(&settings).await?, c).await,
        Command::Token(t) => token(&open_state(&settings).await?, t).await,
        Command::Provider(p) => provider(&open_state(&settings).await?, p).await,
        Command::Operator(o) => operator(&open_state(&settings).await?, o).await,
        Command::Admin(a) => admin(&open_state(&settings).await?, a).await,
        Command::Keys(KeysCmd::Generate { file }) => {
            let key = crate::keys::write_new_key(&file)?;
            println!("wrote master key {} to {}", key.id(), file.display());
            Ok(())
        }
        Command::Purge {
            dry_run,
            request,
            codice_fiscale,
        } => {
            let state = open_state(&settings).await?;
            match codice_fiscale {
                Some(code) => erase_person(&state, dry_run, &code).await,
                None => purge(&state, dry_run, request).await,
            }
        }
        Command::Audit(AuditCmd::Verify) => {
            let state = open_state(&settings).await?;
            match sportello_server::service::audit::verify(&state).await? {
                Ok(v) => {
                    println!(
                        "audit trail intact: {} entries verified; keyed (HMAC-SHA256 under the audit key) from entry {}",
                        v.entries, v.keyed_from
                    );
                    Ok(())
                }
                Err(broken) => Err(crate::exit::problem(anyhow::anyhow!(
                    "audit trail broken at entry {}: {}",
                    broken.seq,
                    broken.reason
                ))),
            }
        }
        Command::Audit(AuditCmd::List {
            request,
            after,
            limit,
        }) => {
            let state = open_state(&settings).await?;
            for e in state
                .store
                .audit_entries(after, limit, request.as_deref())
                .await?
            {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    e.seq,
                    e.event.at,
                    e.event.actor,
                    e.event.action,
                    e.event.request_id.unwrap_or_default(),
                    e.event.detail,
                    e.event.source.unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Ledger(LedgerCmd::Verify) => {
            let state = open_state(&settings).await?;
            let c = state.store.check_ledger().await?;
            for p in &c.problems {
                println!("problem: {p}");
            }
            if !c.balanced() {
                return Err(crate::exit::problem(anyhow::anyhow!(
                    "the ledger does not balance: {} problem(s), legs sum to {} cents",
                    c.problems.len(),
                    c.total
                )));
            }
            println!(
                "ledger balanced: {} transactions, {} entries",
                c.transactions, c.entries
            );
            Ok(())
        }
        Command::Keys(KeysCmd::Rotate) => {
            let state = open_state(&settings).await?;
            let n = state.store.rewrap_keys().await?;
            println!("re-wrapped {n} data keys under the current master key");
            Ok(())
        }
        Command::Calendar {
            year,
            provider,
            format,
        } => print_calendar(&settings, year, provider.as_deref(), format),
        Command::Bench(args) => crate::bench::run(&settings, args).await,
        Command::Catalog(CatalogCmd::Check) => {
            let catalog = load_catalog(settings.catalog_dir.as_deref()).map_err(|e| {
                // A catalog that does not check is what this verb looks for; a directory that
                // cannot be read is a setting's mistake.
                if e.chain()
                    .any(|c| c.is::<sportello_domain::catalog::CatalogError>())
                {
                    crate::exit::problem(e)
                } else {
                    e
                }
            })?;
            for s in catalog.services() {
                println!(
                    "{}  {}  ({} campi)",
                    s.hash_visura,
                    s.nome_visura,
                    s.fields.len()
                );
            }
            println!("catalog OK: {} services", catalog.services().len());
            Ok(())
        }
    }
}

fn print_calendar(
    settings: &Settings,
    year: i32,
    provider: Option<&str>,
    format: CalendarFormat,
) -> Result<()> {
    use std::io::Write;
    let calendars = settings.calendars().map_err(anyhow::Error::msg)?;
    let calendar = match provider {
        None => calendars.national(),
        Some(name) if calendars.names().any(|n| n == name) => calendars.for_provider(name),
        Some(name) => {
            let known: Vec<&str> = calendars.names().collect();
            bail!(
                "no calendar configured for provider {name:?} (configured: {}); \
                 add [calendars.\"{name}\"] to the configuration",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        }
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for day in calendar.year(year) {
        let line = match format {
            CalendarFormat::Tsv => match &day.reason {
                None => writeln!(out, "{}\ttrue", day.date),
                Some(reason) => writeln!(out, "{}\tfalse\t{reason}", day.date),
            },
            CalendarFormat::Text => {
                let weekday = WEEKDAYS[day.date.weekday().num_days_from_monday() as usize];
                match &day.reason {
                    None => writeln!(out, "{}  {weekday}  lavorativo", day.date),
                    Some(reason) => writeln!(out, "{}  {weekday}  chiuso      {reason}", day.date),
                }
            }
        };
        match line {
            Ok(()) => {}
            // `sportello calendar 2026 | head` is a normal use, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    match out.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
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

const WEEKDAYS: [&str; 7] = ["lun", "mar", "mer", "gio", "ven", "sab", "dom"];

async fn serve(settings: Settings) -> Result<()> {
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
    let outbox = settings.outbox().map_err(anyhow::Error::msg)?;
    let state = open_state(&settings).await?;
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
    warn_unknown_calendars(&state).await?;
    // Set by SIGTERM or ctrl-c: the listener closes, the workers finish their pass.
    let stop = tokio_util::sync::CancellationToken::new();
    let retention = sportello_server::service::retention::spawn(
        state.clone(),
        std::time::Duration::from_secs(settings.purge_interval_secs.max(1)),
    );
    let (smtp, guard, lease_secs) = (
        format!("{:?}", outbox.smtp),
        outbox.guard.clone(),
        outbox.lease_secs,
    );
    let outbox = sportello_server::outbox::Outbox::new(state.clone(), outbox);
    let outbox_owner = outbox.owner().to_string();
    // The owner is the name on this process's leases: after a crash, it tells which deliveries
    // were this process's to send.
    tracing::info!(
        %smtp,
        allow_http = guard.allow_http,
        allow_hosts = ?guard.allow_hosts,
        owner = %outbox_owner,
        lease_secs,
        "outbox worker starting"
    );
    let mut outbox = outbox.spawn_until(stop.clone().cancelled_owned());
    let sla = sportello_server::service::sla::spawn(
        state.clone(),
        std::time::Duration::from_secs(settings.escalation_interval_secs.max(1)),
    );
    let mut sandbox = sportello_server::service::sandbox::spawn_until(
        state.clone(),
        std::time::Duration::from_secs(settings.sandbox_interval_secs.max(1)),
        stop.clone().cancelled_owned(),
    );
    sportello_server::service::fees::spawn(
        state.clone(),
        std::time::Duration::from_secs(settings.fee_flush_interval_secs.max(1)),
    );
    tracing::info!(%address, "listening");
    let grace = std::time::Duration::from_secs(settings.shutdown_grace_secs);
    // One grace period from the signal, shared by the requests in flight, the outbox and the
    // sandbox.
    let signalled = Arc::new(std::sync::OnceLock::new());
    tokio::spawn({
        let (stop, signalled) = (stop.clone(), signalled.clone());
        async move {
            shutdown_signal().await;
            let _ = signalled.set(tokio::time::Instant::now());
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
    stop.cancel();
    // Passes of these jobs are idempotent and commit request by request: cutting one short
    // loses nothing that the next start does not redo.
    retention.abort();
    sla.abort();
    // The outbox finishes the calls it is making, within the grace period; past it they are
    // abandoned and their leases given back, so another process retries them now rather than
    // when the leases would have expired.
    let deadline = signalled
        .get()
        .copied()
        .unwrap_or_else(tokio::time::Instant::now)
        + grace;
    if tokio::time::timeout_at(deadline, &mut outbox)
        .await
        .is_err()
    {
        outbox.abort();
        let _ = (&mut outbox).await;
        match state.store.release_leases(&outbox_owner).await {
            Ok(n) => tracing::warn!(released = n, "outbox calls cut off; their leases released"),
            Err(e) => tracing::error!(error = %e, "releasing the outbox leases failed"),
        }
    }
    // The sandbox finishes its pass within the same grace period, so the test requests it took
    // are not left claimed half-way; past it the pass is cut (the next start redoes the rest).
    if tokio::time::timeout_at(deadline, &mut sandbox)
        .await
        .is_err()
    {
        sandbox.abort();
        tracing::warn!("sandbox pass cut off at the end of the grace period");
    }
    // The calls counted since the last flush are billed too.
    if let Err(e) = sportello_server::service::fees::flush(&state).await {
        tracing::error!(
            code = e.code,
            "flushing API call counters at shutdown failed"
        );
    }
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

async fn purge(state: &AppState, dry_run: bool, request: Option<String>) -> Result<()> {
    use sportello_server::service::retention;
    let fail = |e: sportello_server::error::ApiError| anyhow::anyhow!("{}", e.message);
    match request {
        Some(id) => {
            let Some(r) = state.store.get_request(&id).await? else {
                bail!("no request with id {id}");
            };
            if !r.status.is_final() {
                bail!(
                    "request {id} is still open ({}): cancel it first",
                    r.status.stato_richiesta()
                );
            }
            if dry_run {
                println!("would purge {id}");
            } else if retention::purge(state, &id, "admin:cli")
                .await
                .map_err(fail)?
            {
                println!("purged {id}");
            } else {
                println!("{id} was already purged");
            }
        }
        None => {
            let ids = retention::purge_expired(state, dry_run, "admin:cli")
                .await
                .map_err(fail)?;
            for id in &ids {
                println!("{}{id}", if dry_run { "would purge " } else { "purged " });
            }
            println!("{} request(s)", ids.len());
        }
    }
    Ok(())
}

/// An erasure request for one person: every closed request about them loses its personal
/// data now. The code itself is never printed or stored; only request ids are shown.
async fn erase_person(state: &AppState, dry_run: bool, code: &str) -> Result<()> {
    use sportello_server::service::{requests::subject_key, retention};
    let fail = |e: sportello_server::error::ApiError| anyhow::anyhow!("{}", e.message);
    let ids = state.store.find_by_subject(&subject_key(code)).await?;
    let (mut erased, mut open) = (0, 0);
    for id in &ids {
        let Some(r) = state.store.get_request(id).await? else {
            continue;
        };
        if !r.status.is_final() {
            open += 1;
            println!(
                "open {id} ({}): cancel it, then erase again",
                r.status.stato_richiesta()
            );
        } else if dry_run {
            erased += 1;
            println!("would purge {id}");
        } else if retention::purge(state, id, "admin:cli:erasure")
            .await
            .map_err(fail)?
        {
            erased += 1;
            println!("purged {id}");
        }
    }
    println!("{erased} request(s) erased, {open} still open");
    Ok(())
}

async fn client(state: &AppState, cmd: ClientCmd) -> Result<()> {
    use sportello_server::service::deliveries;
    match cmd {
        ClientCmd::Create { name, email } => {
            let c = setup::create_client(state, &name, &email).await?;
            let secret = deliveries::rotate_secret(state, &c.id)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("{}", c.id);
            eprintln!("webhook signing secret (shown once): {}", secret.segreto);
        }
        ClientCmd::Webhook { id, url } => {
            let info = deliveries::set_webhook(state, &id, url.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!(
                "{}\t{}",
                info.client,
                info.url.unwrap_or_else(|| "-".into())
            );
        }
        ClientCmd::RotateSecret { id } => {
            let secret = deliveries::rotate_secret(state, &id)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            println!("{}", secret.segreto);
        }
        ClientCmd::List => {
            for c in state.store.list_clients().await? {
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
        ClientCmd::Balance { client } => {
            let conto = sportello_server::api::conto::conto_of(state, &client)
                .await
                .map_err(api_error)?;
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

fn api_error(e: sportello_server::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
}

/// A top-up or an adjustment by the administrator at the command line.
async fn fund(
    state: &AppState,
    kind: Kind,
    client: &str,
    amount: &str,
    reason: &str,
) -> Result<()> {
    let t = sportello_server::service::wallet::fund(
        state,
        kind,
        client,
        amount,
        reason,
        "admin:cli",
        None,
    )
    .await
    .map_err(|e| match e.details.first() {
        Some(d) => anyhow::anyhow!("{}: {}", d.campo, d.messaggio),
        None => api_error(e),
    })?;
    let balance = state.store.balance(client, None).await?;
    println!(
        "{} {} of {:.2} EUR recorded; balance {:.2} EUR",
        kind.as_db(),
        t.id,
        sportello_domain::pricing::from_cents(t.wallet_effect()),
        sportello_domain::pricing::from_cents(balance)
    );
    Ok(())
}

async fn token(state: &AppState, cmd: TokenCmd) -> Result<()> {
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

async fn provider(state: &AppState, cmd: ProviderCmd) -> Result<()> {
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

async fn operator(state: &AppState, cmd: OperatorCmd) -> Result<()> {
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

async fn admin(state: &AppState, cmd: AdminCmd) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
