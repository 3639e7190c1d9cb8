//! The subject index: requests looked up by a keyed hash of a codice fiscale.

use async_trait::async_trait;

use super::creation::subject_hashes;
use super::{dialect, This};
use crate::StoreError;

#[async_trait]
impl crate::Subjects for This {
    /// SQLite: through the group commit, so a creation's second write shares a commit with others.
    async fn index_subjects(&self, request_id: &str, codes: &[String]) -> Result<(), StoreError> {
        if codes.is_empty() {
            return Ok(());
        }
        dialect::index(self, request_id, subject_hashes(self, codes)).await
    }

    async fn find_by_subject(&self, code: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT request_id FROM request_subjects WHERE subject = $1 ORDER BY request_id",
        )
        .bind(self.lookup.keyed_hash(code))
        .fetch_all(&self.pool)
        .await?)
    }
}
