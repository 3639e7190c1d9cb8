//! A request's files: writing their rows (names sealed) and listing them.

use super::keys::data_key;
use super::SqliteStore;
use crate::crypto::DataKey;
use crate::model::*;
use crate::rows::file_from;
use crate::sealing::seal;
use crate::StoreError;

pub(super) async fn insert_files(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    key: &DataKey,
    files: &[FileRecord],
) -> Result<(), StoreError> {
    for f in files {
        sqlx::query(
            "INSERT INTO request_files (id, request_id, kind, campo, name, mime, size, sha256, blob_key, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&f.id)
        .bind(&f.request_id)
        .bind(f.kind.as_str())
        .bind(&f.campo)
        .bind(seal(
            key,
            &f.request_id,
            &format!("file_name:{}", f.id),
            Some(f.name.clone()),
        ))
        .bind(&f.mime)
        .bind(i64::try_from(f.size).map_err(|_| StoreError::Corrupt("file too large".into()))?)
        .bind(&f.sha256)
        .bind(&f.blob_key)
        .bind(f.created_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn list_files(
    store: &SqliteStore,
    request_id: &str,
) -> Result<Vec<FileRecord>, StoreError> {
    let key = data_key(store, request_id).await?;
    sqlx::query("SELECT * FROM request_files WHERE request_id = ? ORDER BY created_at, rowid")
        .bind(request_id)
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(|row| file_from(key.as_ref(), row))
        .collect()
}
