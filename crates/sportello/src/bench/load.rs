//! A closed-loop load generator: `clients` tasks each send one call, wait for its answer and
//! send the next, until `total` calls are done; every latency is kept for the percentiles.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one run measured.
pub struct Stats {
    pub done: usize,
    pub failed: usize,
    pub elapsed: Duration,
    /// Sorted, shortest first.
    latencies: Vec<Duration>,
}

impl Stats {
    /// The stats of calls timed elsewhere (a loop that runs as long as something else does).
    pub fn of(mut latencies: Vec<Duration>, failed: usize, elapsed: Duration) -> Stats {
        latencies.sort();
        Stats {
            done: latencies.len(),
            failed,
            elapsed,
            latencies,
        }
    }

    /// Successful calls per second.
    pub fn per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            (self.done - self.failed) as f64 / secs
        } else {
            0.0
        }
    }

    /// The latency below which `p` (0..=1) of the calls answered, in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank = ((self.latencies.len() as f64) * p).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        self.latencies[index].as_secs_f64() * 1000.0
    }
}

/// Runs `total` calls of `call` (given the call's number; true when it succeeded) from
/// `clients` concurrent tasks.
pub async fn run<F, Fut>(clients: usize, total: usize, call: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let call = Arc::new(call);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients.max(1) {
        let call = call.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let t0 = Instant::now();
                if !call(n).await {
                    failed += 1;
                }
                latencies.push(t0.elapsed());
            }
            (latencies, failed)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failed = 0;
    for task in tasks {
        // A task that panicked counts its calls as neither done nor failed; the totals show it.
        if let Ok((l, f)) = task.await {
            latencies.extend(l);
            failed += f;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Stats {
        done: latencies.len(),
        failed,
        elapsed,
        latencies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let stats = Stats {
            done: 100,
            failed: 0,
            elapsed: Duration::from_secs(1),
            latencies: (1..=100).map(Duration::from_millis).collect(),
        };
        assert_eq!(stats.percentile_ms(0.5), 50.0);
        assert_eq!(stats.percentile_ms(0.99), 99.0);
        assert_eq!(stats.percentile_ms(1.0), 100.0);
        assert_eq!(stats.per_sec(), 100.0);
    }
}
