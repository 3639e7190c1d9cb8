//! Client callers recently authenticated, kept in memory for a few seconds so that a busy
//! client's calls do not each cost two database round trips (its token, its client).
//!
//! What may be stale, and for how long: a token revoked by *another* process (the command line,
//! another server behind the same load balancer) keeps working here for at most
//! `token_cache_secs`. A revocation made through this process forgets everything at once. Expiry
//! is checked on every call against the clock, cached or not; a revoked or unknown token is never
//! kept.

use sportello_store::{ClientRecord, TokenRecord};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// More distinct tokens than this in one window and the cache starts over: memory stays bounded
/// whatever the number of tokens.
const MAX_ENTRIES: usize = 10_000;

#[derive(Clone)]
pub struct Cached {
    pub token: TokenRecord,
    pub client: ClientRecord,
}

#[derive(Default)]
pub struct CallerCache {
    entries: Mutex<HashMap<String, (Instant, Arc<Cached>)>>,
}

impl CallerCache {
    /// The caller behind `token_hash`, if it was read from the database less than `ttl` ago.
    pub fn get(&self, token_hash: &str, ttl: Duration) -> Option<Arc<Cached>> {
        if ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(token_hash)
            .filter(|(at, _)| at.elapsed() < ttl)
            .map(|(_, cached)| cached.clone())
    }

    pub fn put(&self, token_hash: String, cached: Arc<Cached>, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(token_hash, (Instant::now(), cached));
    }

    /// After a revocation in this process: nothing cached may outlive it.
    pub fn forget_all(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
