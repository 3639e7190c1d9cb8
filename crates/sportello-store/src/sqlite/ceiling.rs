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
    /// single-row durable inserts, one after the other.
    pub async fn commit_ceiling(path: &Path, n: u32) -> Result<Duration, StoreError> {
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
        for _ in 0..n {
            // An autocommit INSERT is one transaction: one WAL append and one fsync.
            sqlx::query("INSERT INTO ceiling (body) VALUES (?)")
                .bind(&body)
                .execute(&pool)
                .await?;
        }
        let elapsed = started.elapsed();
        pool.close().await;
        Ok(elapsed)
    }
}
