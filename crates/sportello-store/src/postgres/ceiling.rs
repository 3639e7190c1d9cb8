//! The raw commit ceiling of a PostgreSQL server: single-row inserts into an ordinary (logged)
//! table, each its own autocommit transaction, so each waits for its WAL flush as a request
//! creation does. `sportello bench` divides creation throughput by it.

use sqlx::postgres::PgPoolOptions;
use std::time::{Duration, Instant};

use super::PgStore;
use crate::StoreError;

impl PgStore {
    /// Times `n` single-row durable inserts, one after the other, in a scratch table of the
    /// database at `url` (made and dropped here; the database should be a scratch one).
    pub async fn commit_ceiling(url: &str, n: u32) -> Result<Duration, StoreError> {
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS sportello_commit_ceiling
                (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body TEXT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        let body = "x".repeat(200);
        let started = Instant::now();
        for _ in 0..n {
            sqlx::query("INSERT INTO sportello_commit_ceiling (body) VALUES ($1)")
                .bind(&body)
                .execute(&pool)
                .await?;
        }
        let elapsed = started.elapsed();
        sqlx::query("DROP TABLE sportello_commit_ceiling")
            .execute(&pool)
            .await?;
        pool.close().await;
        Ok(elapsed)
    }
}
