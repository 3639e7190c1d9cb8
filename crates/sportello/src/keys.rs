//! The master key: where it comes from, and its first-start generation.
//!
//! Order: `master_key` (setting or `SPORTELLO_MASTER_KEY`, base64), else `master_key_file`
//! (default `<data_dir>/master.key`). A new embedded installation generates the file with
//! permissions 0600; an existing database without its key refuses to start rather than create a
//! key that opens nothing.

use anyhow::{bail, Context, Result};
use sportello_store::crypto::{Keyring, MasterKey};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::Settings;

pub fn key_file(settings: &Settings) -> PathBuf {
    settings
        .master_key_file
        .clone()
        .unwrap_or_else(|| settings.data_dir.join("master.key"))
}

fn read_key(path: &Path) -> Result<MasterKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the master key {}", path.display()))?;
    warn_if_readable_by_others(path);
    MasterKey::from_base64(&text)
        .with_context(|| format!("the master key {} is invalid", path.display()))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            // The administration verbs set up no logging: there the warning would be lost.
            if tracing::dispatcher::has_been_set() {
                tracing::warn!(file = %path.display(), "the master key file is readable by others: chmod 600 it");
            } else {
                eprintln!(
                    "warning: the master key file {} is readable by others: chmod 600 it",
                    path.display()
                );
            }
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_: &Path) {}

/// Writes a new key to `path`, refusing to overwrite anything.
pub fn write_new_key(path: &Path) -> Result<MasterKey> {
    let (key, text) = MasterKey::generate();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating the master key {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(key)
}

pub fn load_keyring(settings: &Settings) -> Result<Keyring> {
    let current = match &settings.master_key {
        Some(text) => MasterKey::from_base64(text)
            .context("the master_key setting (SPORTELLO_MASTER_KEY) is invalid")?,
        None => {
            let path = key_file(settings);
            if path.exists() {
                read_key(&path)?
            } else if settings.database_url.is_none()
                && !settings.data_dir.join("sportello.db").exists()
            {
                let key = write_new_key(&path)?;
                eprintln!(
                    "\n  A new master key was written to {}.\n  BACK IT UP: without it the data of this installation cannot be read.\n",
                    path.display()
                );
                key
            } else if settings.database_url.is_some() {
                // A database named by URL may be new or not: only the embedded one can be
                // known to be empty, so only it gets a key made on its behalf.
                bail!(
                    "no master key: {} does not exist, and none is generated for a database_url; \
                     create one with `sportello keys generate {}` (or restore it) or set \
                     SPORTELLO_MASTER_KEY",
                    path.display(),
                    path.display()
                );
            } else {
                bail!(
                    "no master key: {} does not exist and the database already holds data; \
                     restore the key file or set SPORTELLO_MASTER_KEY",
                    path.display()
                );
            }
        }
    };
    let previous = settings
        .previous_master_key_files
        .iter()
        .map(|p| read_key(p))
        .collect::<Result<Vec<_>>>()?;
    Ok(Keyring::new(current, previous))
}
