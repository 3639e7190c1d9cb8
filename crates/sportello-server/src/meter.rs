//! The meter of per-call fees: live API calls counted in memory, per client and UTC day, until
//! [`crate::service::fees::flush`] writes them. Part of [`crate::state::AppState`], so it sits
//! below the service layer and knows nothing of the store.

use std::collections::HashMap;
use std::sync::Mutex;

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
    pub(crate) fn take(&self) -> Vec<(String, String, u64)> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .drain()
            .map(|((client, day), n)| (client, day, n))
            .collect()
    }

    /// Puts back counts a failed flush could not write, so no call goes unbilled.
    pub(crate) fn restore(&self, taken: Vec<(String, String, u64)>) {
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
