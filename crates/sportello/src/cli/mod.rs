//! The command line: one verb per role. The verbs live by what they act on: `serve`, the
//! clients, the accounts (tokens, providers, operators, administrators), the operations (keys,
//! retention, checks, calendar); this module holds the grammar and the dispatch, and the two
//! verbs that describe the grammar itself (`completions`, `man`).

mod accounts;
mod clients;
mod operations;
mod output;
mod serve;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

use crate::config::{Overrides, Settings};
use crate::open;
use accounts::{AdminCmd, OperatorCmd, ProviderCmd, TokenCmd};
use clients::ClientCmd;
use operations::{AuditCmd, CalendarFormat, CatalogCmd, KeysCmd, LedgerCmd};

/// `sportello --version`: the release and the commit it was built from (`unknown` when built
/// without git; see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SPORTELLO_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "sportello",
    version = VERSION,
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
    /// A person's access request (GDPR art. 15 and 20): every request about this codice
    /// fiscale (found through its keyed hash), as one zip of JSON and files. Audited, without
    /// the code.
    Export {
        /// The person's codice fiscale (or a partita IVA).
        #[arg(long)]
        codice_fiscale: String,
        /// The zip to write (a new file, readable by its owner only).
        #[arg(long)]
        out: PathBuf,
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
    /// Print a shell completion script, generated from this command line. Bash:
    /// `sportello completions bash > /etc/bash_completion.d/sportello`; zsh: into a directory
    /// of $fpath as `_sportello`; fish: `~/.config/fish/completions/sportello.fish`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the manual page (roff), generated from this command line:
    /// `sportello man > /usr/local/share/man/man1/sportello.1`.
    Man,
}

/// The shells `completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

pub async fn run(cli: Cli) -> Result<()> {
    // These describe the command line only: no configuration is read, so they work anywhere
    // (a packaging step, a shell's start-up) and a broken configuration does not stop them.
    match cli.command {
        Command::Completions { shell } => return completions(shell),
        Command::Man => return man(),
        _ => {}
    }
    let settings = Settings::load(cli.config.as_deref(), &cli.overrides)
        .context("reading the configuration")?;
    if !matches!(cli.command, Command::Serve) {
        // `serve` logs these; a verb has no log, and a mistyped variable must not pass unseen.
        for var in Settings::unknown_variables() {
            eprintln!("warning: unknown SPORTELLO_ variable ignored: {var}");
        }
    }
    match cli.command {
        Command::Serve => serve::serve(settings).await,
        Command::Migrate => {
            open::state(&settings).await?;
            println!("database ready");
            Ok(())
        }
        Command::Client(c) => clients::run(&open::state(&settings).await?, c).await,
        Command::Token(t) => accounts::token(&open::state(&settings).await?, t).await,
        Command::Provider(p) => accounts::provider(&open::state(&settings).await?, p).await,
        Command::Operator(o) => accounts::operator(&open::state(&settings).await?, o).await,
        Command::Admin(a) => accounts::admin(&open::state(&settings).await?, a).await,
        Command::Keys(KeysCmd::Generate { file }) => operations::generate_key(&file),
        Command::Keys(KeysCmd::Rotate) => {
            operations::rotate_keys(&open::state(&settings).await?).await
        }
        Command::Purge {
            dry_run,
            request,
            codice_fiscale,
        } => {
            let state = open::state(&settings).await?;
            match codice_fiscale {
                Some(code) => operations::erase_person(&state, dry_run, &code).await,
                None => operations::purge(&state, dry_run, request).await,
            }
        }
        Command::Export {
            codice_fiscale,
            out,
        } => operations::export_person(&open::state(&settings).await?, &codice_fiscale, &out).await,
        Command::Audit(AuditCmd::Verify) => {
            operations::verify_audit(&open::state(&settings).await?).await
        }
        Command::Audit(AuditCmd::List {
            request,
            after,
            limit,
            output,
        }) => {
            let state = open::state(&settings).await?;
            operations::list_audit(&state, after, limit, request.as_deref(), output).await
        }
        Command::Ledger(LedgerCmd::Verify) => {
            operations::verify_ledger(&open::state(&settings).await?).await
        }
        Command::Calendar {
            year,
            provider,
            format,
        } => operations::print_calendar(&settings, year, provider.as_deref(), format),
        Command::Bench(args) => crate::bench::run(&settings, args).await,
        Command::Catalog(CatalogCmd::Check) => {
            operations::check_catalog(settings.catalog_dir.as_deref())
        }
        Command::Completions { .. } | Command::Man => Ok(()),
    }
}

/// `completions SHELL`: clap_complete's script for the whole grammar, on standard output.
fn completions(shell: Shell) -> Result<()> {
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Into memory first: clap_complete panics on a failed write (a closed pipe), we do not.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "sportello", &mut script);
    write_out(&script)
}

/// `man`: sportello(1), with every verb listed under SUBCOMMANDS and the exit codes.
fn man() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("rendering the manual page")?;
    write_out(&page)
}

/// Standard output, where a reader that stops early (`| head`) is not an error.
fn write_out(bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// A service refusal as the verbs report it: its message, no envelope.
fn api_error(e: sportello_server::error::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{}", e.message)
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
