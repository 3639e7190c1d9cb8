//! Per-call fees: every authenticated call of a live client token costs €0.001 + VAT.
//!
//! Counting must cost nothing noticeable, so a call only bumps a counter in memory
//! ([`Meter::record`]); [`flush`] moves the counters into the database (periodically and at
//! shutdown: a write per flush, never per call), and bills every finished day as one ledger line
//! per client and day. Days are UTC days of the injected clock.

use sportello_store::ledger::Transaction;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::ApiResult;
use crate::state::AppState;

/// Calls counted since the last flush, per (client, UTC day).
#[derive(Debug, Default)]
pub struct Meter {
    counts: Mutex<HashMap<(String, String), u64>>,
}

impl Meter {
    pub fn record(&self, client_id: &str, day: &str) {
        // A poisoned lock only means another thread panicked mid-increment: the map is intact.
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts
            .entry((client_id.to_string(), day.to_string()))
            .or_insert(0) += 1;
    }

    /// Empties the counters, returning what they held.
    fn take(&self) -> Vec<(String, String, u64)> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .drain()
            .map(|((client, day), n)| (client, day, n))
            .collect()
    }

    /// Puts back counts a failed flush could not write, so no call goes unbilled.
    fn restore(&self, taken: Vec<(String, String, u64)>) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for (client, day, n) in taken {
            *counts.entry((client, day)).or_insert(0) += n;
        }
    }

    /// Calls counted in memory for a client, not yet flushed.
    pub fn pending(&self, client_id: &str) -> Vec<(String, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .iter()
            .filter(|((c, _), _)| c == client_id)
            .map(|((_, day), n)| (day.clone(), *n))
            .collect()
    }
}

/// Writes the counters to the database and bills the days that are over. Returns the fees
/// transactions it posted.
pub async fn flush(state: &AppState) -> ApiResult<Vec<Transaction>> {
    let taken = state.meter.take();
    let today = state.clock.today().to_string();
    match state
        .store
        .record_calls(&taken, &today, state.clock.now())
        .await
    {
        Ok(billed) => Ok(billed),
        Err(e) => {
            state.meter.restore(taken);
            Err(e.into())
        }
    }
}

/// The background job: a flush every `every`, for as long as the server runs. The binary also
/// flushes once more after the server stops.
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match flush(&state).await {
                Ok(billed) if !billed.is_empty() => {
                    tracing::info!(count = billed.len(), "API call fees billed")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(code = e.code, "flushing API call counters failed"),
            }
        }
    })
}
