//! Opening an installation from its settings: the catalog, the master keys, the database and
//! the file store, as the one `AppState` that `serve`, every administration verb and the bench
//! work on.

use anyhow::{bail, Context, Result};
use sportello_domain::catalog::Catalog;
use sportello_server::{AppState, SystemClock};
use sportello_store::{BlobStore, PgStore, SqliteStore, Store};
use std::path::Path;
use std::sync::Arc;

use crate::config::Settings;

/// The embedded catalog, or the one of `dir` (every `*.toml` in it, in name order).
pub fn catalog(dir: Option<&Path>) -> Result<Catalog> {
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

/// The state the settings name; the database is created or migrated on the way.
pub async fn state(settings: &Settings) -> Result<AppState> {
    let catalog = catalog(settings.catalog_dir.as_deref())?;
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
    let blobs = blobs(settings)?;
    Ok(AppState {
        store,
        blobs,
        catalog: Arc::new(catalog),
        clock: Arc::new(SystemClock),
        limits: settings.limits(),
        calendars: Arc::new(settings.calendars().map_err(anyhow::Error::msg)?),
        meter: Default::default(),
        callers: Default::default(),
        smtp: settings
            .outbox()
            .map_err(anyhow::Error::msg)?
            .smtp
            .map(Arc::new),
    })
}

/// The file store the settings name: an S3-compatible bucket, or the local directory.
fn blobs(settings: &Settings) -> Result<BlobStore> {
    match settings.s3().map_err(anyhow::Error::msg)? {
        Some(s3) => BlobStore::s3(&s3).context("opening the S3 file storage"),
        None => BlobStore::local(&settings.data_dir.join("files")).context("opening file storage"),
    }
}
