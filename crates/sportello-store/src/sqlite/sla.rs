//! SLA reads: what the escalation job must mark, the queue's counts, the dashboard's facts.
//! None of them touches a personal column.

use sportello_domain::status::Status;
use sqlx::Row;

use super::SqliteStore;
use crate::model::{ProviderQueue, QueueCount, SlaFact};
use crate::StoreError;

fn status(s: &str) -> Result<Status, StoreError> {
    Status::from_db(s).ok_or_else(|| StoreError::Corrupt(format!("unknown status {s}")))
}

pub(super) async fn overdue_candidates(
    store: &SqliteStore,
    now: i64,
    limit: u32,
) -> Result<Vec<String>, StoreError> {
    let ids = sqlx::query_scalar(
        "SELECT id FROM requests
         WHERE due_at IS NOT NULL AND overdue_at IS NULL AND closed_at IS NULL
           AND sla_paused_at IS NULL AND purged_at IS NULL AND due_at < ?
           AND status IN ('in_erogazione', 'dati_disponibili')
         ORDER BY due_at ASC, rowid ASC
         LIMIT ?",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    Ok(ids)
}

pub(super) async fn queue_counts(
    store: &SqliteStore,
    queue: &ProviderQueue,
) -> Result<Vec<QueueCount>, StoreError> {
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "SELECT status, COUNT(*) AS total, SUM(overdue_at IS NOT NULL) AS overdue
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
    let rows = q.build().fetch_all(&store.pool).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let s: String = row.try_get("status")?;
        let total: i64 = row.try_get("total")?;
        let overdue: i64 = row.try_get("overdue")?;
        out.push(QueueCount {
            status: status(&s)?,
            total: u64::try_from(total).unwrap_or(0),
            overdue: u64::try_from(overdue).unwrap_or(0),
        });
    }
    Ok(out)
}

pub(super) async fn sla_facts(
    store: &SqliteStore,
    closed_since: i64,
) -> Result<Vec<SlaFact>, StoreError> {
    let rows = sqlx::query(
        "SELECT provider_id, hash_visura, status, live, due_at, sla_paused_at, overdue_at,
                json_extract(timestamp_stati, '$.in_erogazione') AS submitted_at, closed_at
         FROM requests WHERE status <> 'draft' AND (closed_at IS NULL OR closed_at >= ?)",
    )
    .bind(closed_since)
    .fetch_all(&store.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let s: String = row.try_get("status")?;
        out.push(SlaFact {
            provider_id: row.try_get("provider_id")?,
            hash_visura: row.try_get("hash_visura")?,
            status: status(&s)?,
            live: row.try_get("live")?,
            due_at: row.try_get("due_at")?,
            sla_paused_at: row.try_get("sla_paused_at")?,
            overdue_at: row.try_get("overdue_at")?,
            submitted_at: row.try_get("submitted_at")?,
            closed_at: row.try_get("closed_at")?,
        });
    }
    Ok(out)
}
