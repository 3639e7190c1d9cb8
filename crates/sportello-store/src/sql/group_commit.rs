//! Group commit: request creations (and their subject index) from concurrent callers are
//! written by writer tasks ("lanes"), each putting as many as are waiting into one transaction,
//! so they share one fsync. What a creation writes is `creation.rs`; this is only the batching,
//! the same on both backends.
//!
//! Each durable commit costs an fsync. SQLite has one writer at a time: without batching,
//! callers queue on the database lock and creation throughput stays below one commit per
//! request. PostgreSQL locks the client's row before reading its balance, so one client's
//! creations in separate transactions ran one after the other, each waiting for the previous
//! fsync. Here a client's creations always go to the same lane (chosen by its id), so they meet
//! inside one transaction instead of waiting on each other's locks, and two lanes never lock the
//! same client row (no deadlock between batches).
//!
//! A batch is written with one statement per table for all its works (`creation::write`), not
//! a dozen per creation: the lane's transaction is a few dozen round trips whatever its size,
//! so the batch grows with the callers instead of the statements. Each caller still gets its
//! own answer: a refusal (no credit, a taken idempotency key) is decided per work, in the
//! batch's order, and nothing of a refused work is written. When that cannot be decided for
//! the batch as a whole (a statement failed, or a taken key beside a refusal for credit), the
//! transaction is undone and the batch is written again one work per savepoint, still in one
//! transaction. A caller is answered only after the shared COMMIT returned.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use super::creation::{self, Creation, Unwritten};
use super::{dialect, Counter, Pool, Tx};
use crate::audit::ChainKey;
use crate::StoreError;

/// What became of each work of a batch, in order.
type Outcomes = Vec<Result<(), StoreError>>;

/// Most jobs in one transaction: bounds how long the write lock is held at once.
const MAX_BATCH: usize = 256;

pub(crate) enum Work {
    Create(Box<Creation>),
    /// Keyed hashes of the codes a request is about.
    Subjects {
        request_id: String,
        hashes: Vec<String>,
    },
}

struct Job {
    work: Work,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

impl Work {
    /// What picks the lane: the client, whose row a creation locks.
    fn shard(&self) -> &str {
        match self {
            Work::Create(c) => &c.request.client_id,
            Work::Subjects { request_id, .. } => request_id,
        }
    }
}

/// The handle callers send work through; the lanes end when the store is dropped.
pub(crate) struct GroupCommit {
    lanes: Vec<mpsc::Sender<Job>>,
    counts: Arc<Counts>,
}

/// What the lanes did so far, for `sportello bench`.
#[derive(Default)]
pub(crate) struct Counts {
    /// Statements run, BEGIN and COMMIT included: each is one round trip (PostgreSQL) or one
    /// hand-off to the connection's thread (SQLite).
    pub statements: Counter,
    pub creations: Counter,
    pub transactions: Counter,
    /// Batches written again one work per savepoint.
    pub split: Counter,
}

impl GroupCommit {
    /// `dialect::WRITER_LANES` writer tasks on `pool`.
    pub fn spawn(pool: Pool, chain: Arc<ChainKey>) -> GroupCommit {
        let counts = Arc::new(Counts::default());
        let lanes = (0..dialect::WRITER_LANES.max(1))
            .map(|_| {
                let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
                let lane = Lane {
                    pool: pool.clone(),
                    chain: chain.clone(),
                    counts: counts.clone(),
                };
                tokio::spawn(lane.run(queue));
                jobs
            })
            .collect();
        GroupCommit { lanes, counts }
    }

    /// What the lanes did so far.
    pub fn counts(&self) -> crate::WriteCounts {
        crate::WriteCounts {
            statements: self.counts.statements.get(),
            creations: self.counts.creations.get(),
            transactions: self.counts.transactions.get(),
            split: self.counts.split.get(),
        }
    }

    /// Writes `work` durably (or not at all) and says how it went.
    pub async fn submit(&self, work: Work) -> Result<(), StoreError> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        work.shard().hash(&mut hasher);
        let lane = &self.lanes[(hasher.finish() % self.lanes.len() as u64) as usize];
        let (answer, answered) = oneshot::channel();
        lane.send(Job { work, answer })
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::Io(std::io::Error::other("the group-commit writer has stopped"))
}

/// A failure of the shared transaction, told to every caller whose work it carried.
fn batch_failed(e: &StoreError) -> StoreError {
    StoreError::Io(std::io::Error::other(format!("group commit failed: {e}")))
}

struct Lane {
    pool: Pool,
    chain: Arc<ChainKey>,
    counts: Arc<Counts>,
}

impl Lane {
    async fn run(self, mut queue: mpsc::Receiver<Job>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        // Whatever arrived while the previous batch was being committed forms the next one: no
        // waiting for company, so a lone caller pays one commit and no more.
        while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            self.commit(std::mem::take(&mut batch)).await;
        }
    }

    async fn commit(&self, batch: Vec<Job>) {
        let creations = batch
            .iter()
            .filter(|j| matches!(j.work, Work::Create(_)))
            .count();
        self.counts.creations.add(creations as u64);
        let (works, answers): (Vec<Work>, Vec<_>) =
            batch.into_iter().map(|j| (j.work, j.answer)).unzip();
        let works: Vec<&Work> = works.iter().collect();
        let outcomes = match self.whole(&works).await {
            Ok(Ok(outcomes)) => outcomes,
            // Whether a failed COMMIT wrote anything is not known: nothing is written again.
            Ok(Err(e)) => works.iter().map(|_| Err(batch_failed(&e))).collect(),
            Err(Unwritten::Split) => self.one_by_one(&works).await,
            Err(Unwritten::Failed(e)) if works.len() > 1 => {
                tracing::warn!(error = %e, works = works.len(), "a group commit's batch is written again work by work");
                self.one_by_one(&works).await
            }
            Err(Unwritten::Failed(e)) => vec![Err(e)],
        };
        for (answer, outcome) in answers.into_iter().zip(outcomes) {
            let _ = answer.send(outcome);
        }
    }

    /// The batch in one transaction, one statement per table. Every answer waits for the
    /// COMMIT, refusals too: a caller refused for a taken idempotency key then finds the
    /// winner's record, written in this very batch.
    /// The outer error: nothing was written; the inner one: the COMMIT failed.
    async fn whole(&self, works: &[&Work]) -> Result<Result<Outcomes, StoreError>, Unwritten> {
        let mut tx = self.begin().await?;
        match creation::write(&mut tx, &self.counts.statements, &self.chain, works).await {
            Ok(outcomes) => {
                self.counts.statements.add(1);
                Ok(tx
                    .commit()
                    .await
                    .map(|()| outcomes)
                    .map_err(StoreError::from))
            }
            Err(e) => {
                self.counts.statements.add(1);
                // A failed rollback leaves the connection to the pool, which closes it.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// The batch in one transaction, one savepoint per work, so a work's failure undoes only
    /// its own writes.
    async fn one_by_one(&self, works: &[&Work]) -> Outcomes {
        self.counts.split.add(1);
        let everyone =
            |e: &StoreError| -> Outcomes { works.iter().map(|_| Err(batch_failed(e))).collect() };
        let mut tx = match self.begin().await {
            Ok(tx) => tx,
            Err(e) => return everyone(&e),
        };
        let creations = works.iter().filter_map(|w| match w {
            Work::Create(c) => Some(c.as_ref()),
            Work::Subjects { .. } => None,
        });
        if let Err(e) = creation::lock_payers(&mut tx, &self.counts.statements, creations).await {
            return everyone(&e);
        }
        let mut outcomes = Vec::with_capacity(works.len());
        for work in works {
            match self.isolated(&mut tx, work).await {
                Ok(outcome) => outcomes.push(outcome),
                // The transaction itself is gone: nothing of this batch was written.
                Err(e) => return everyone(&e),
            }
        }
        self.counts.statements.add(1);
        match tx.commit().await {
            Ok(()) => outcomes,
            Err(e) => {
                let e = StoreError::from(e);
                outcomes
                    .into_iter()
                    .map(|o| o.and(Err(batch_failed(&e))))
                    .collect()
            }
        }
    }

    async fn begin(&self) -> Result<Tx<'static>, StoreError> {
        self.counts.transactions.add(1);
        self.counts.statements.add(1);
        // SQLite: IMMEDIATE, so the write lock is taken once, here, not by whichever statement
        // writes first.
        dialect::begin_write(&self.pool).await
    }

    /// `work` inside its own savepoint: its outcome, or the error that lost the transaction.
    async fn isolated(
        &self,
        tx: &mut Tx<'_>,
        work: &Work,
    ) -> Result<Result<(), StoreError>, StoreError> {
        let statements = &self.counts.statements;
        let run = |sql: &'static str| {
            statements.add(1);
            sqlx::query(sql)
        };
        run("SAVEPOINT job").execute(&mut **tx).await?;
        match creation::write(tx, statements, &self.chain, &[work]).await {
            Ok(mut outcome) => {
                run("RELEASE job").execute(&mut **tx).await?;
                Ok(outcome.pop().unwrap_or(Ok(())))
            }
            Err(e) => {
                for sql in ["ROLLBACK TO job", "RELEASE job"] {
                    if let Err(undo) = run(sql).execute(&mut **tx).await {
                        tracing::error!(error = %undo, "undoing a job of a group commit failed");
                        return Err(undo.into());
                    }
                }
                Ok(Err(match e {
                    Unwritten::Failed(e) => e,
                    // Not for one work: a taken key alone is a refusal of its own.
                    Unwritten::Split => StoreError::Conflict("idempotency key already used".into()),
                }))
            }
        }
    }
}
