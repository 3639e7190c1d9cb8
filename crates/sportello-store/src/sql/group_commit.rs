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
//! Each caller still gets its own answer: every job runs inside its own savepoint, so an
//! idempotency conflict or a lack of credit undoes only that job's writes and fails only that
//! caller. A caller is answered only after the shared COMMIT returned.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use super::creation::{self, Creation};
use super::{dialect, Pool, Tx};
use crate::audit::ChainKey;
use crate::StoreError;

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
}

impl GroupCommit {
    /// `dialect::WRITER_LANES` writer tasks on `pool`.
    pub fn spawn(pool: Pool, chain: Arc<ChainKey>) -> GroupCommit {
        let lanes = (0..dialect::WRITER_LANES.max(1))
            .map(|_| {
                let (jobs, queue) = mpsc::channel(4 * MAX_BATCH);
                tokio::spawn(run(pool.clone(), chain.clone(), queue));
                jobs
            })
            .collect();
        GroupCommit { lanes }
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

async fn run(pool: Pool, chain: Arc<ChainKey>, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // Whatever arrived while the previous batch was being committed forms the next one: no
    // waiting for company, so a lone caller pays one commit and no more.
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        commit(&pool, &chain, std::mem::take(&mut batch)).await;
    }
}

async fn commit(pool: &Pool, chain: &ChainKey, batch: Vec<Job>) {
    // SQLite: IMMEDIATE, so the write lock is taken once, here, not by whichever job writes
    // first.
    let mut tx = match dialect::begin_write(pool).await {
        Ok(tx) => tx,
        Err(e) => {
            for job in batch {
                let _ = job.answer.send(Err(batch_failed(&e)));
            }
            return;
        }
    };
    // Every answer waits for the COMMIT, failures too: a caller refused for a taken
    // idempotency key then finds the winner's record, written in this very batch.
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut jobs = batch.into_iter();
    while let Some(job) = jobs.next() {
        match isolated(&mut tx, chain, &job.work).await {
            Ok(()) => outcomes.push((job.answer, Ok(()))),
            Err(Isolation::Own(e)) => outcomes.push((job.answer, Err(e))),
            Err(Isolation::Broken(e)) => {
                // The transaction itself is gone: nothing of this batch was written.
                let answers = outcomes.into_iter().map(|(a, _)| a);
                for answer in answers.chain([job.answer]).chain(jobs.map(|j| j.answer)) {
                    let _ = answer.send(Err(batch_failed(&e)));
                }
                return;
            }
        }
    }
    let committed = tx.commit().await.map_err(StoreError::from);
    for (answer, outcome) in outcomes {
        let outcome = match (&committed, outcome) {
            (Ok(()), outcome) => outcome,
            (Err(e), Ok(())) => Err(batch_failed(e)),
            (Err(_), Err(own)) => Err(own),
        };
        let _ = answer.send(outcome);
    }
}

enum Isolation {
    /// This job failed and its writes were undone; the others go on.
    Own(StoreError),
    /// The savepoint could not be undone: the whole transaction is lost.
    Broken(StoreError),
}

async fn isolated(tx: &mut Tx<'_>, chain: &ChainKey, work: &Work) -> Result<(), Isolation> {
    let statement = |sql: &'static str| sqlx::query(sql);
    statement("SAVEPOINT job")
        .execute(&mut **tx)
        .await
        .map_err(|e| Isolation::Broken(e.into()))?;
    match write(tx, chain, work).await {
        Ok(()) => {
            statement("RELEASE job")
                .execute(&mut **tx)
                .await
                .map_err(|e| Isolation::Broken(e.into()))?;
            Ok(())
        }
        Err(e) => {
            for sql in ["ROLLBACK TO job", "RELEASE job"] {
                if let Err(undo) = statement(sql).execute(&mut **tx).await {
                    tracing::error!(error = %undo, "undoing a job of a group commit failed");
                    return Err(Isolation::Broken(e));
                }
            }
            Err(Isolation::Own(e))
        }
    }
}

async fn write(tx: &mut Tx<'_>, chain: &ChainKey, work: &Work) -> Result<(), StoreError> {
    match work {
        Work::Create(c) => creation::write(tx, chain, c).await,
        Work::Subjects { request_id, hashes } => creation::index(tx, request_id, hashes).await,
    }
}
