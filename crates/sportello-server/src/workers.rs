//! The background workers of a serving process — retention, SLA escalation, the outbox, the
//! sandbox's simulated operator, the per-call fees — started from one place with the state,
//! their settings and one stop signal, and ended the same way: at the stop no new pass starts,
//! the pass under way finishes (the outbox then gives back its leases), and
//! [`Workers::shutdown`] waits for each within the grace period, cutting off and naming those
//! that do not end in time, then flushes the fee counters once more.
//!
//! Every pass is idempotent and commits request by request, so a pass cut short loses nothing
//! that the next start does not redo.

use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::outbox::{Outbox, OutboxConfig};
use crate::service::{fees, retention, sandbox, sla};
use crate::state::AppState;

/// How often each worker makes a pass, and the outbox's own settings (its interval included).
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub purge_every: Duration,
    pub escalation_every: Duration,
    pub sandbox_every: Duration,
    pub fee_flush_every: Duration,
    pub outbox: OutboxConfig,
}

struct Worker {
    name: &'static str,
    task: JoinHandle<()>,
    /// The owner named on the leases it takes (the outbox): cut off, its leases are given back
    /// so that another process retries those deliveries now rather than when they expire.
    leases: Option<String>,
}

/// The running workers.
pub struct Workers {
    state: AppState,
    stop: CancellationToken,
    /// When `stop` fired: the grace period counts from there.
    stopped_at: Arc<OnceLock<Instant>>,
    running: Vec<Worker>,
}

impl Workers {
    /// Starts every worker; each ends after its pass once `stop` is cancelled.
    pub fn start(state: &AppState, settings: WorkerSettings, stop: CancellationToken) -> Workers {
        let stopped_at = Arc::new(OnceLock::new());
        tokio::spawn({
            let (stop, stopped_at) = (stop.clone(), stopped_at.clone());
            async move {
                stop.cancelled().await;
                let _ = stopped_at.set(Instant::now());
            }
        });
        let until = || stop.clone().cancelled_owned();
        let (smtp, guard, lease_secs) = (
            format!("{:?}", settings.outbox.smtp),
            settings.outbox.guard.clone(),
            settings.outbox.lease_secs,
        );
        let outbox = Outbox::new(state.clone(), settings.outbox);
        // The owner is the name on this process's leases: after a crash, it tells which
        // deliveries were this process's to send.
        tracing::info!(
            %smtp,
            allow_http = guard.allow_http,
            allow_hosts = ?guard.allow_hosts,
            owner = %outbox.owner(),
            lease_secs,
            "outbox worker starting"
        );
        let worker = |name, task| Worker {
            name,
            task,
            leases: None,
        };
        let running = vec![
            worker(
                "retention",
                retention::spawn(state.clone(), settings.purge_every, until()),
            ),
            worker(
                "sla",
                sla::spawn(state.clone(), settings.escalation_every, until()),
            ),
            Worker {
                name: "outbox",
                leases: Some(outbox.owner().to_string()),
                task: outbox.spawn(until()),
            },
            worker(
                "sandbox",
                sandbox::spawn(state.clone(), settings.sandbox_every, until()),
            ),
            worker(
                "fees",
                fees::spawn(state.clone(), settings.fee_flush_every, until()),
            ),
        ];
        Workers {
            state: state.clone(),
            stop,
            stopped_at,
            running,
        }
    }

    /// Stops the workers (if the stop signal has not already) and waits for each until `grace`
    /// after the signal; one still running then is cut off and named in the log. Ends with a
    /// last flush of the fee counters, for the calls answered since the fee worker's last pass:
    /// call it once the server has stopped serving.
    pub async fn shutdown(self, grace: Duration) {
        self.stop.cancel();
        let deadline = self.stopped_at.get().copied().unwrap_or_else(Instant::now) + grace;
        for mut w in self.running {
            match tokio::time::timeout_at(deadline, &mut w.task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(worker = w.name, error = %e, "worker failed"),
                Err(_) => {
                    w.task.abort();
                    let _ = (&mut w.task).await;
                    tracing::warn!(
                        worker = w.name,
                        "worker cut off at the end of the grace period"
                    );
                    if let Some(owner) = &w.leases {
                        match self.state.store.release_leases(owner).await {
                            Ok(n) => tracing::warn!(
                                released = n,
                                "outbox calls cut off; their leases released"
                            ),
                            Err(e) => {
                                tracing::error!(error = %e, "releasing the outbox leases failed")
                            }
                        }
                    }
                }
            }
        }
        if let Err(e) = fees::flush(&self.state).await {
            tracing::error!(
                code = e.code,
                "flushing API call counters at shutdown failed"
            );
        }
    }
}
