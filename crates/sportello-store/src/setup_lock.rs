//! The lock a starting process holds while it sets up a new installation (the demo client, the
//! first administrator): processes started together on one database take turns, so only the
//! first finds the database empty and the others find what it made.

use crate::StoreError;

/// The advisory lock's key on PostgreSQL ("Sportell" in ASCII): one per database.
pub(crate) const ADVISORY_KEY: i64 = 0x5370_6f72_7465_6c6c;

/// Held until [`SetupLock::release`]; dropping it releases it too (the connection holding it
/// closes, which ends the PostgreSQL session and its advisory lock).
pub struct SetupLock {
    /// PostgreSQL: the connection, out of the pool, whose session holds the lock. None on
    /// SQLite, whose database belongs to one process.
    pub(crate) held: Option<sqlx::PgConnection>,
}

impl SetupLock {
    pub async fn release(mut self) -> Result<(), StoreError> {
        use sqlx::Connection;
        if let Some(mut conn) = self.held.take() {
            sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(ADVISORY_KEY)
                .execute(&mut conn)
                .await?;
            conn.close().await?;
        }
        Ok(())
    }
}
