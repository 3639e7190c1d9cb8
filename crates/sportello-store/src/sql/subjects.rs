//! The subject index: requests looked up by a keyed hash of a codice fiscale.

use async_trait::async_trait;

use super::creation::subject_hashes;
use super::group_commit::Work;
use super::This;
use crate::StoreError;

#[async_trait]
impl crate::Subjects for This {
    /// Through the group commit, so a creation's second write shares a commit with others.
    async fn index_subjects(&self, request_id: &str, codes: &[String]) -> Result<(), StoreError> {
        if codes.is_empty() {
            return Ok(());
        }
        let hashes = subject_hashes(self, codes);
        self.group
            .submit(Work::Subjects {
                request_id: request_id.to_string(),
                hashes,
            })
            .await
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
