//! The raw commit ceiling of SQLite on this disk: single-row inserts, each its own durable
//! transaction, with the store's own connection settings. `sportello bench` divides request
//! creation throughput by it: a creation can never cost less than one such commit unless
//! several share one.

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{durable, SqliteStore};
use crate::StoreError;

impl SqliteStore {
    /// Creates a scratch database at `path` (which must not be a store's) and times `n`
    /// single-row durable inserts, one after the other, `per_commit` to a transaction (1: each
    /// its own, one fsync each; more: one fsync per transaction, as a group commit's batch).
    pub async fn commit_ceiling(
        path: &Path,
        n: u32,
        per_commit: u32,
    ) -> Result<Duration, StoreError> {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(durable(SqliteConnectOptions::new().filename(path)))
            .await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS ceiling (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        let body = "x".repeat(200);
        let started = Instant::now();
        let mut left = n;
        while left > 0 {
            let rows = left.min(per_commit.max(1));
            left -= rows;
            // One row: an autocommit INSERT, its own transaction. More: one transaction, one
            // WAL flush, for all of them.
            let mut tx = if rows > 1 {
                Some(pool.begin().await?)
            } else {
                None
            };
            for _ in 0..rows {
                let insert = sqlx::query("INSERT INTO ceiling (body) VALUES (?)").bind(&body);
                match tx.as_mut() {
                    Some(tx) => insert.execute(&mut **tx).await?,
                    None => insert.execute(&pool).await?,
                };
            }
            if let Some(tx) = tx {
                tx.commit().await?;
            }
        }
        let elapsed = started.elapsed();
        pool.close().await;
        Ok(elapsed)
    }
}
