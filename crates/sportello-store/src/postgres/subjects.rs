//! The subject index: requests looked up by a keyed hash of a codice fiscale.

use super::PgStore;
use crate::StoreError;

pub(super) async fn index_subjects(
    store: &PgStore,
    request_id: &str,
    codes: &[String],
) -> Result<(), StoreError> {
    let mut tx = store.pool.begin().await?;
    index_in(&mut tx, &store.lookup, request_id, codes).await?;
    tx.commit().await?;
    Ok(())
}

/// Indexes `codes` inside the caller's transaction (a creation writes its index with itself).
pub(super) async fn index_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    lookup: &crate::crypto::DataKey,
    request_id: &str,
    codes: &[String],
) -> Result<(), StoreError> {
    for code in codes {
        sqlx::query("INSERT INTO request_subjects (request_id, subject) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(request_id)
            .bind(lookup.keyed_hash(code))
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub(super) async fn find_by_subject(
    store: &PgStore,
    code: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT request_id FROM request_subjects WHERE subject = $1 ORDER BY request_id",
    )
    .bind(store.lookup.keyed_hash(code))
    .fetch_all(&store.pool)
    .await?)
}
