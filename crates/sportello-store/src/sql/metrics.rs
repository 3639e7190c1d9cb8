//! The counts behind the metrics' gauges: aggregates only, no personal column, no row read out.

use async_trait::async_trait;
use sqlx::Row;

use super::This;
use crate::model::Gauges;
use crate::rows::status_of;
use crate::StoreError;

#[async_trait]
impl crate::Metrics for This {
    async fn gauges(&self, now: i64) -> Result<Gauges, StoreError> {
        // Drafts are the client's, not anybody's work; closed requests are not a queue.
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS total, COUNT(overdue_at) AS overdue
             FROM requests
             WHERE status IN ('in_erogazione', 'in_attesa_integrazione', 'dati_disponibili')
             GROUP BY status",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Gauges::default();
        for row in rows {
            let total: i64 = row.try_get("total")?;
            let overdue: i64 = row.try_get("overdue")?;
            out.open_by_status.push((
                status_of(&row, "status")?,
                u64::try_from(total).unwrap_or(0),
            ));
            out.overdue += u64::try_from(overdue).unwrap_or(0);
        }
        let row = sqlx::query(
            "SELECT COUNT(*) AS pending, COUNT(*) FILTER (WHERE next_attempt_at <= $1) AS due
             FROM deliveries WHERE status = 'pending'",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        let pending: i64 = row.try_get("pending")?;
        let due: i64 = row.try_get("due")?;
        out.deliveries_pending = u64::try_from(pending).unwrap_or(0);
        out.deliveries_due = u64::try_from(due).unwrap_or(0);
        Ok(out)
    }

    fn write_counts(&self) -> crate::WriteCounts {
        self.group.counts()
    }
}
