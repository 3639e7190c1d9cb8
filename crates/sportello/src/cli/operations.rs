//! The operations verbs: the keys, retention and erasure, the checks of the audit trail, of the
//! books and of the catalog, and the working calendar.

use anyhow::{bail, Result};
use chrono::Datelike;
use clap::Subcommand;
use sportello_server::AppState;
use std::path::{Path, PathBuf};

use super::api_error;
use super::output::{print_json, time, Output};
use crate::config::Settings;
use crate::open;
use crate::progress::Progress;

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
        #[command(flatten)]
        output: Output,
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
pub enum CatalogCmd {
    /// Load and check the catalog (embedded, or --catalog-dir), list its services.
    Check,
}

/// `keys generate FILE`: a new master key, written once.
pub fn generate_key(file: &Path) -> Result<()> {
    let key = crate::keys::write_new_key(file)?;
    println!("wrote master key {} to {}", key.id(), file.display());
    Ok(())
}

/// `keys rotate`: every data key wrapped again under the current master key.
pub async fn rotate_keys(state: &AppState) -> Result<()> {
    let progress = Progress::spinner("re-wrapping the data keys");
    let n = state.store.rewrap_keys().await?;
    drop(progress);
    println!("re-wrapped {n} data keys under the current master key");
    Ok(())
}

pub async fn purge(state: &AppState, dry_run: bool, request: Option<String>) -> Result<()> {
    use sportello_server::service::retention;
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
            let progress = Progress::spinner("purging");
            let purged = !dry_run
                && retention::purge(state, &id, "admin:cli")
                    .await
                    .map_err(api_error)?;
            drop(progress);
            if dry_run {
                println!("would purge {id}");
            } else if purged {
                println!("purged {id}");
            } else {
                println!("{id} was already purged");
            }
        }
        None => {
            let progress = Progress::spinner(if dry_run {
                "finding requests past retention"
            } else {
                "purging requests past retention"
            });
            let ids = retention::purge_expired(state, dry_run, "admin:cli")
                .await
                .map_err(api_error)?;
            drop(progress);
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
pub async fn erase_person(state: &AppState, dry_run: bool, code: &str) -> Result<()> {
    use sportello_server::service::{requests::subject_key, retention};
    let ids = state.store.find_by_subject(&subject_key(code)).await?;
    let (mut erased, mut open) = (0, 0);
    // Printed once the bar is gone, so the two do not overwrite each other on a terminal.
    let mut lines = Vec::new();
    let progress = Progress::counted("erasing", ids.len() as u64);
    for id in &ids {
        progress.inc();
        let Some(r) = state.store.get_request(id).await? else {
            continue;
        };
        if !r.status.is_final() {
            open += 1;
            lines.push(format!(
                "open {id} ({}): cancel it, then erase again",
                r.status.stato_richiesta()
            ));
        } else if dry_run {
            erased += 1;
            lines.push(format!("would purge {id}"));
        } else if retention::purge(state, id, "admin:cli:erasure")
            .await
            .map_err(api_error)?
        {
            erased += 1;
            lines.push(format!("purged {id}"));
        }
    }
    drop(progress);
    for line in lines {
        println!("{line}");
    }
    println!("{erased} request(s) erased, {open} still open");
    Ok(())
}

/// `export`: a person's access request, written to `out` through the same service function as
/// `POST /admin/subjects/export`. The file is new (an existing one is never overwritten) and
/// readable by its owner only: it holds personal data. A failed export leaves no file.
pub async fn export_person(state: &AppState, code: &str, out: &Path) -> Result<()> {
    use sportello_server::service::{archive, subjects};
    let progress = Progress::spinner("collecting the person's requests");
    let export = subjects::export(state, "admin:cli".into(), None, code)
        .await
        .map_err(api_error)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(out)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))?;
    progress.step("writing the archive");
    let written = archive::write_to(&state.blobs, export.archive, std::io::BufWriter::new(file))
        .await
        .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all());
    drop(progress);
    if let Err(e) = written {
        let _ = std::fs::remove_file(out);
        bail!("writing {} failed: {e}", out.display());
    }
    println!(
        "{} request(s) written to {}",
        export.requests,
        out.display()
    );
    Ok(())
}

/// `audit verify`: the chain from the first entry; a broken link is a failed check.
pub async fn verify_audit(state: &AppState) -> Result<()> {
    match sportello_server::service::audit::verify(state).await? {
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

/// `audit list`: entries after `after`, oldest first, one tab-separated line each.
pub async fn list_audit(
    state: &AppState,
    after: i64,
    limit: u32,
    request: Option<&str>,
    output: Output,
) -> Result<()> {
    let entries = state.store.audit_entries(after, limit, request).await?;
    if output.json {
        let items = entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "seq": e.seq,
                    "at": time(e.event.at),
                    "actor": e.event.actor,
                    "action": e.event.action,
                    "request": e.event.request_id,
                    "detail": e.event.detail,
                    "source": e.event.source,
                })
            })
            .collect();
        return print_json(&serde_json::Value::Array(items));
    }
    for e in entries {
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

/// `ledger verify`: a ledger that does not balance is a failed check.
pub async fn verify_ledger(state: &AppState) -> Result<()> {
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

/// `catalog check`: the catalog loads and checks, or the check fails.
pub fn check_catalog(dir: Option<&Path>) -> Result<()> {
    let catalog = open::catalog(dir).map_err(|e| {
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

pub fn print_calendar(
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

const WEEKDAYS: [&str; 7] = ["lun", "mar", "mer", "gio", "ven", "sab", "dom"];
