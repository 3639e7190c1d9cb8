//! A request's files: writing their rows (names sealed) and listing them.

use async_trait::async_trait;

use super::{insert_rows, Counter, Db, This, Tx};
use crate::columns::Columns;
use crate::crypto::DataKey;
use crate::model::*;
use crate::rows::{file_from, file_kind};
use crate::sealing::seal;
use crate::Keys;
use crate::StoreError;

#[async_trait]
impl crate::Files for This {
    async fn list_files(&self, request_id: &str) -> Result<Vec<FileRecord>, StoreError> {
        let key = self.data_key(request_id).await?;
        sqlx::query(concat!(
            "SELECT * FROM request_files WHERE request_id = $1 ORDER BY created_at, ",
            row_order!()
        ))
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| file_from(key.as_ref(), row))
        .collect()
    }

    async fn named_files(
        &self,
        request_ids: &[String],
        campi: &[String],
    ) -> Result<Vec<(String, FileKind, String)>, StoreError> {
        // `IN ()` is not SQL: nothing asked, nothing to read.
        if request_ids.is_empty() || campi.is_empty() {
            return Ok(Vec::new());
        }
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "SELECT DISTINCT request_id, kind, campo FROM request_files WHERE request_id IN (",
        );
        let mut list = q.separated(", ");
        for id in request_ids {
            list.push_bind(id.clone());
        }
        q.push(") AND campo IN (");
        let mut list = q.separated(", ");
        for c in campi {
            list.push_bind(c.clone());
        }
        q.push(")");
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let kind: String = row.col("kind")?;
                Ok((row.col("request_id")?, file_kind(&kind)?, row.col("campo")?))
            })
            .collect()
    }
}

pub(super) async fn insert_files(
    tx: &mut Tx<'_>,
    key: &DataKey,
    files: &[FileRecord],
) -> Result<(), StoreError> {
    let rows: Vec<_> = files.iter().map(|f| (key, f)).collect();
    insert_file_rows(tx, &Counter::default(), &rows).await
}

/// The rows of `files`, each with its request's key, in one statement.
pub(super) async fn insert_file_rows(
    tx: &mut Tx<'_>,
    counter: &Counter,
    files: &[(&DataKey, &FileRecord)],
) -> Result<(), StoreError> {
    insert_rows(
        tx,
        counter,
        "INSERT INTO request_files (id, request_id, kind, campo, name, mime, size,
         sha256, blob_key, created_at)",
        "",
        files,
        |q, (key, f)| {
            Ok(q.bind(&f.id)
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
                .bind(
                    i64::try_from(f.size)
                        .map_err(|_| StoreError::Corrupt("file too large".into()))?,
                )
                .bind(&f.sha256)
                .bind(&f.blob_key)
                .bind(f.created_at))
        },
    )
    .await?;
    Ok(())
}
