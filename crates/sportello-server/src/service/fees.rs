//! Per-call fees: every authenticated call of a live client token costs €0.001 + VAT.
//!
//! Counting must cost nothing noticeable, so a call only bumps a counter in memory
//! ([`crate::meter::Meter::record`]); [`flush`] moves the counters into the database
//! (periodically and at shutdown: a write per flush, never per call), and bills every finished
//! day as one ledger line per client and day. Days are UTC days of the injected clock.

use sportello_store::ledger::Transaction;
use std::future::Future;
use std::time::Duration;

use crate::error::ApiResult;
use crate::periodic::Periodic;
use crate::state::AppState;

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

/// The background job: a flush every `every` until `stop` resolves. The calls of the requests
/// still in flight at the stop are flushed once more by [`crate::workers::Workers::shutdown`],
/// after the server has stopped serving.
pub fn spawn(
    state: AppState,
    every: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut passes = Periodic::new(every, stop);
        while passes.next().await {
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
