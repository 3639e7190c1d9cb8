//! SLA reads: what the escalation job must mark, the queue's counts, the dashboard's facts.
//! None of them touches a personal column.

use async_trait::async_trait;

use super::{Db, This};
use crate::model::{ProviderQueue, QueueCount, SlaFact};
use crate::rows::{queue_count_from, sla_fact_from};
use crate::StoreError;

#[async_trait]
impl crate::Sla for This {
    async fn overdue_candidates(&self, now: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        let ids = sqlx::query_scalar(concat!(
            "SELECT id FROM requests
             WHERE due_at IS NOT NULL AND overdue_at IS NULL AND closed_at IS NULL
             AND sla_paused_at IS NULL AND purged_at IS NULL AND due_at < $1
             AND status IN ('in_erogazione', 'dati_disponibili')
             ORDER BY due_at ASC, ",
            row_order!(),
            " ASC LIMIT $2"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    async fn queue_counts(&self, queue: &ProviderQueue) -> Result<Vec<QueueCount>, StoreError> {
        let mut q = sqlx::QueryBuilder::<Db>::new(
            "SELECT status, COUNT(*) AS total, COUNT(overdue_at) AS overdue
             FROM requests WHERE status <> 'draft' AND (provider_id = ",
        );
        q.push_bind(queue.provider_id.clone());
        q.push(" OR (provider_id IS NULL AND hash_visura IN (");
        let mut list = q.separated(", ");
        list.push_bind(String::new());
        for s in &queue.services {
            list.push_bind(s.clone());
        }
        q.push("))) GROUP BY status");
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(queue_count_from).collect()
    }

    async fn sla_facts(&self, closed_since: i64) -> Result<Vec<SlaFact>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT provider_id, hash_visura, status, live, due_at, sla_paused_at, overdue_at, ",
            json_int!("timestamp_stati", "in_erogazione"),
            " AS submitted_at, closed_at
             FROM requests WHERE status <> 'draft' AND (closed_at IS NULL OR closed_at >= $1)"
        ))
        .bind(closed_since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sla_fact_from).collect()
    }
}
