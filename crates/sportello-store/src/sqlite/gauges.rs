//! The counts behind the metrics' gauges: aggregates only, no personal column, no row read out.

use sqlx::Row;

use super::rows::status_of;
use super::SqliteStore;
use crate::model::Gauges;
use crate::StoreError;

pub(super) async fn gauges(store: &SqliteStore, now: i64) -> Result<Gauges, StoreError> {
    // Drafts are the client's, not anybody's work; closed requests are not a queue.
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS total, SUM(overdue_at IS NOT NULL) AS overdue
         FROM requests
         WHERE status IN ('in_erogazione', 'in_attesa_integrazione', 'dati_disponibili')
         GROUP BY status",
    )
    .fetch_all(&store.pool)
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
        "SELECT COUNT(*) AS pending, COALESCE(SUM(next_attempt_at <= ?), 0) AS due
         FROM deliveries WHERE status = 'pending'",
    )
    .bind(now)
    .fetch_one(&store.pool)
    .await?;
    let pending: i64 = row.try_get("pending")?;
    let due: i64 = row.try_get("due")?;
    out.deliveries_pending = u64::try_from(pending).unwrap_or(0);
    out.deliveries_due = u64::try_from(due).unwrap_or(0);
    Ok(out)
}
