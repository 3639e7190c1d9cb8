//! The clock of a background worker: a pass every interval until its stop signal. Every worker
//! stops the same way (see [`crate::workers`]): the stop is a future; once it resolves no new
//! pass starts, the pass under way finishes, and the worker ends.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::time::{Interval, MissedTickBehavior};

pub struct Periodic<S> {
    tick: Interval,
    stop: Pin<Box<S>>,
    stopped: bool,
}

impl<S: Future<Output = ()>> Periodic<S> {
    /// The first pass is due at once.
    pub fn new(every: Duration, stop: S) -> Periodic<S> {
        let mut tick = tokio::time::interval(every);
        // A pass longer than the interval delays the next one: passes never pile up.
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Periodic {
            tick,
            stop: Box::pin(stop),
            stopped: false,
        }
    }

    /// Waits until the next pass is due (true), or the stop signal (false, then always false).
    pub async fn next(&mut self) -> bool {
        if self.stopped {
            return false;
        }
        tokio::select! {
            // Stopping wins over a pass due at the same moment.
            biased;
            _ = &mut self.stop => {
                self.stopped = true;
                false
            }
            _ = self.tick.tick() => true,
        }
    }
}
