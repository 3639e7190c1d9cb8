//! The subject index: requests looked up by a keyed hash of a codice fiscale.

use super::SqliteStore;
use crate::StoreError;

pub(super) async fn index_subjects(
    store: &SqliteStore,
    request_id: &str,
    codes: &[String],
) -> Result<(), StoreError> {
    let mut tx = store.pool.begin().await?;
    for code in codes {
        sqlx::query("INSERT OR IGNORE INTO request_subjects (request_id, subject) VALUES (?, ?)")
            .bind(request_id)
            .bind(store.lookup.keyed_hash(code))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn find_by_subject(
    store: &SqliteStore,
    code: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT request_id FROM request_subjects WHERE subject = ? ORDER BY request_id",
    )
    .bind(store.lookup.keyed_hash(code))
    .fetch_all(&store.pool)
    .await?)
}
