//! The raw commit ceiling of a PostgreSQL server: single-row inserts into an ordinary (logged)
//! table, each its own autocommit transaction, so each waits for its WAL flush as a request
//! creation does; and the grouped ceiling, the same inserts several to a transaction, one WAL
//! flush for all of them, as a group commit's batch. `sportello bench` divides creation throughput by it.

use sqlx::postgres::PgPoolOptions;
use std::time::{Duration, Instant};

use super::PgStore;
use crate::StoreError;

impl PgStore {
    /// Times `n` single-row durable inserts, one after the other, `per_commit` to a transaction
    /// (1: each its own), in a scratch table of the database at `url` (made and dropped here;
    /// the database should be a scratch one).
    pub async fn commit_ceiling(
        url: &str,
        n: u32,
        per_commit: u32,
    ) -> Result<Duration, StoreError> {
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS sportello_commit_ceiling
                (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body TEXT NOT NULL)",
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
                let insert = sqlx::query("INSERT INTO sportello_commit_ceiling (body) VALUES ($1)")
                    .bind(&body);
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
        sqlx::query("DROP TABLE sportello_commit_ceiling")
            .execute(&pool)
            .await?;
        pool.close().await;
        Ok(elapsed)
    }
}
