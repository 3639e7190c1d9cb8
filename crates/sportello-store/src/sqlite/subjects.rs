//! The subject index: requests looked up by a keyed hash of a codice fiscale.

use super::group_commit::Work;
use super::SqliteStore;
use crate::StoreError;

/// Written through the group commit: a creation's second write shares a commit with others.
pub(super) async fn index_subjects(
    store: &SqliteStore,
    request_id: &str,
    codes: &[String],
) -> Result<(), StoreError> {
    if codes.is_empty() {
        return Ok(());
    }
    store
        .group
        .submit(Work::Subjects {
            request_id: request_id.to_string(),
            hashes: subject_hashes(store, codes),
        })
        .await
}

/// What the index stores of each code: its keyed hash, never the code.
pub(super) fn subject_hashes(store: &SqliteStore, codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| store.lookup.keyed_hash(c)).collect()
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
