//! Rate limits: a token bucket per bearer token and one per client address (as
//! [`crate::client_addr`] resolves it behind trusted proxies), refused with 429/918 and
//! `Retry-After` before any handler, extractor or database is reached. Only `/healthz` is
//! exempt: it answers from the process alone, so a flood of it costs nothing, and a liveness
//! probe must never be refused. `/readyz` touches the database and the file store: limited.
//!
//! Invariant: the buckets never hold a bearer token, only its SHA-256 (as the store does), so a
//! memory dump of the limiter gives no credentials away.
//!
//! Time here is `tokio::time::Instant`, not the injected [`crate::Clock`]: a rate limit measures
//! the server's own traffic over seconds, not business time (SLA, retention) that tests move by
//! days; a monotonic clock cannot be stepped back by an NTP correction (which would lock callers
//! out, or hand them a fresh burst), and tokio's can still be paused in tests.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::state::Limits;

/// How often buckets that have refilled completely are dropped. Dropping a full bucket loses
/// nothing: a caller seen again gets a new, full one.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Below this many buckets a table is pruned only by the clock.
const PRUNE_ABOVE_AT_LEAST: usize = 4096;

/// Requests a minute one link of a person's page (`/compila/{link}/…`) may get, whatever the
/// address: a person reads a few pages a minute; a guessing or flooding client is stopped at
/// the link as well as at its address.
pub const PER_LINK_PER_MINUTE: u32 = 600;

pub struct RateLimiter {
    per_token: Option<Buckets<String>>,
    per_ip: Option<Buckets<IpAddr>>,
    per_link: Option<Buckets<String>>,
}

impl RateLimiter {
    pub fn new(limits: &Limits) -> RateLimiter {
        let now = Instant::now();
        RateLimiter {
            per_token: Buckets::new(limits.rate_per_token_per_minute, now),
            per_ip: Buckets::new(limits.rate_per_ip_per_minute, now),
            per_link: Buckets::new(PER_LINK_PER_MINUTE, now),
        }
    }

    /// Lets one request through, or says in how many seconds one will be let through. The
    /// address is checked first, so a caller refused for it does not also spend its token's
    /// allowance.
    fn admit(
        &self,
        ip: Option<IpAddr>,
        secret: Option<&str>,
        link: Option<&str>,
        now: Instant,
    ) -> Result<(), u64> {
        if let (Some(buckets), Some(ip)) = (&self.per_ip, ip) {
            buckets.take(client_key(ip), now)?;
        }
        if let (Some(buckets), Some(link)) = (&self.per_link, link) {
            // Keyed by its hash, as the store keys it: the limiter holds no working link.
            buckets.take(sportello_store::ids::secret_hash(link), now)?;
        }
        if let (Some(buckets), Some(secret)) = (&self.per_token, secret) {
            buckets.take(sportello_store::ids::secret_hash(secret), now)?;
        }
        Ok(())
    }
}

/// The middleware: `middleware::from_fn_with_state(Arc<RateLimiter>, enforce)`.
pub async fn enforce(
    State(limiter): State<Arc<RateLimiter>>,
    req: Request,
    next: Next,
) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    // Absent when the router is served without connection info (some tests): then only the
    // per-token limit applies.
    let ip = ClientAddr::of(req.extensions());
    let link = req
        .uri()
        .path()
        .strip_prefix("/compila/")
        .and_then(|rest| rest.split('/').next())
        .filter(|l| *l != "static");
    let page = req.uri().path().starts_with("/compila/");
    match limiter.admit(ip, bearer(req.headers()), link, Instant::now()) {
        Ok(()) => next.run(req).await,
        // A person reads a page, not an envelope.
        Err(retry_after) if page => {
            let mut response = crate::person::message(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "Troppe richieste",
                "Sono arrivate troppe richieste in poco tempo. Aspetta un minuto e riprova.",
            );
            if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Err(retry_after) => ApiError::too_many_requests(retry_after).into_response(),
    }
}

/// The bearer secret, read as `auth` reads it (scheme case-insensitive, RFC 9110 §11.1). A
/// malformed header has no token bucket; the address bucket still applies.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let text = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    text.get(..7)
        .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))?;
    text.get(7..).map(str::trim).filter(|s| !s.is_empty())
}

/// The address a bucket is keyed by. An IPv6 subscriber is normally given a whole /64 (RFC 6177)
/// and may pick any address in it, so the /64 is the caller; an IPv4-mapped address is its IPv4.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Token buckets for one kind of key: each holds up to `burst` requests and refills at
/// `per_second`.
struct Buckets<K> {
    per_second: f64,
    burst: f64,
    table: Mutex<Table<K>>,
}

struct Table<K> {
    buckets: HashMap<K, Bucket>,
    pruned_at: Instant,
    /// Pruned early when it grows past this (twice its size after the last pruning), so a flood
    /// of new keys cannot grow it unchecked for a whole [`PRUNE_EVERY`].
    prune_above: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Hash + Eq> Buckets<K> {
    /// `None` when `per_minute` is 0 (disabled). The burst is a sixth of a minute's allowance
    /// (ten seconds' worth), at least one request.
    fn new(per_minute: u32, now: Instant) -> Option<Buckets<K>> {
        (per_minute > 0).then(|| Buckets {
            per_second: f64::from(per_minute) / 60.0,
            burst: f64::from((per_minute / 6).max(1)),
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                pruned_at: now,
                prune_above: PRUNE_ABOVE_AT_LEAST,
            }),
        })
    }

    /// What `bucket` holds at `now`.
    fn level(&self, bucket: &Bucket, now: Instant) -> f64 {
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        (bucket.tokens + refill).min(self.burst)
    }

    /// Takes one request from `key`'s bucket, or answers the whole seconds until one is there
    /// (at least 1: `Retry-After: 0` would invite an immediate retry).
    fn take(&self, key: K, now: Instant) -> Result<(), u64> {
        // A panic elsewhere while holding the lock leaves only counters behind: keep using them.
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        if now.saturating_duration_since(table.pruned_at) >= PRUNE_EVERY
            || table.buckets.len() > table.prune_above
        {
            table.buckets.retain(|_, b| self.level(b, now) < self.burst);
            table.pruned_at = now;
            table.prune_above = (table.buckets.len() * 2).max(PRUNE_ABOVE_AT_LEAST);
        }
        let bucket = table.buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        bucket.tokens = self.level(bucket, now);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err((wait.ceil() as u64).max(1))
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .buckets
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_burst_then_one_request_per_interval() {
        let t0 = Instant::now();
        // 60 a minute: one a second, bursts of 10.
        let b = Buckets::<&str>::new(60, t0).expect("enabled");
        for _ in 0..10 {
            assert_eq!(b.take("k", t0), Ok(()));
        }
        assert_eq!(b.take("k", t0), Err(1));
        assert_eq!(b.take("k", t0 + secs(0.5)), Err(1));
        assert_eq!(b.take("k", t0 + secs(1.0)), Ok(()));
        assert_eq!(b.take("k", t0 + secs(1.0)), Err(1));
        // A long pause refills up to the burst, never beyond.
        let later = t0 + secs(3600.0);
        for _ in 0..10 {
            assert_eq!(b.take("k", later), Ok(()));
        }
        assert!(b.take("k", later).is_err());
    }

    #[test]
    fn keys_do_not_share_a_bucket() {
        let t0 = Instant::now();
        let b = Buckets::<&str>::new(6, t0).expect("enabled");
        assert_eq!(b.take("a", t0), Ok(()));
        assert_eq!(b.take("b", t0), Ok(()));
        // 6 a minute: the next one in 10 seconds.
        assert_eq!(b.take("a", t0), Err(10));
        assert_eq!(b.take("a", t0 + secs(4.0)), Err(6));
    }

    #[test]
    fn zero_disables() {
        assert!(Buckets::<&str>::new(0, Instant::now()).is_none());
        let limiter = RateLimiter::new(&Limits {
            rate_per_token_per_minute: 0,
            rate_per_ip_per_minute: 0,
            ..Limits::default()
        });
        let ip = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..10_000 {
            assert_eq!(limiter.admit(ip, Some("s"), None, Instant::now()), Ok(()));
        }
    }

    #[test]
    fn full_buckets_are_pruned_once_a_minute() {
        let t0 = Instant::now();
        let b = Buckets::<u32>::new(600, t0).expect("enabled");
        for k in 0..100 {
            b.take(k, t0).expect("first request");
        }
        for _ in 0..50 {
            b.take(0, t0 + secs(59.0)).expect("within the burst");
        }
        assert_eq!(b.len(), 100);
        // A minute on: the 99 idle callers are full again and dropped; 0 is still draining.
        b.take(1000, t0 + secs(60.0)).expect("new caller");
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn a_flood_of_new_keys_triggers_pruning_early() {
        let t0 = Instant::now();
        let b = Buckets::<usize>::new(600, t0).expect("enabled");
        for k in 0..PRUNE_ABOVE_AT_LEAST + 1 {
            b.take(k, t0).expect("first request");
        }
        // One second on, every bucket has refilled (10 a second): the next take prunes them.
        b.take(usize::MAX, t0 + secs(1.0)).expect("new caller");
        assert_eq!(b.len(), 1);
    }

    #[test]
    fn the_address_is_checked_before_the_token() {
        let limiter = RateLimiter::new(&Limits {
            rate_per_token_per_minute: 6,
            rate_per_ip_per_minute: 6,
            ..Limits::default()
        });
        let t0 = Instant::now();
        let ip = |n: u8| Some(IpAddr::from([10, 0, 0, n]));
        assert_eq!(limiter.admit(ip(1), Some("s"), None, t0), Ok(()));
        // Refused for the address: the token's bucket is untouched…
        assert!(limiter.admit(ip(1), Some("t"), None, t0).is_err());
        // …so the token still has its request from another address.
        assert_eq!(limiter.admit(ip(2), Some("t"), None, t0), Ok(()));
        assert!(limiter.admit(ip(3), Some("t"), None, t0).is_err());
    }

    #[test]
    fn a_link_of_the_persons_page_has_its_own_budget_whatever_the_address() {
        let limiter = RateLimiter::new(&Limits {
            rate_per_ip_per_minute: 0,
            ..Limits::default()
        });
        let t0 = Instant::now();
        let burst = (PER_LINK_PER_MINUTE / 6) as usize;
        for n in 0..burst {
            let ip = Some(IpAddr::from([10, 0, (n / 250) as u8, (n % 250) as u8]));
            assert_eq!(limiter.admit(ip, None, Some("link-a"), t0), Ok(()));
        }
        let other = Some(IpAddr::from([10, 9, 9, 9]));
        assert!(limiter.admit(other, None, Some("link-a"), t0).is_err());
        assert_eq!(limiter.admit(other, None, Some("link-b"), t0), Ok(()));
    }

    #[test]
    fn tokens_are_keyed_by_their_hash() {
        let limiter = RateLimiter::new(&Limits {
            rate_per_token_per_minute: 6,
            rate_per_ip_per_minute: 0,
            ..Limits::default()
        });
        limiter
            .admit(None, Some("sk_secret"), None, Instant::now())
            .expect("first request");
        let table = limiter
            .per_token
            .as_ref()
            .expect("enabled")
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let keys: Vec<&String> = table.buckets.keys().collect();
        assert_eq!(keys, [&sportello_store::ids::secret_hash("sk_secret")]);
    }

    #[test]
    fn ipv6_callers_are_their_slash_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("valid");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("valid");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("valid");
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("valid");
        assert_eq!(client_key(mapped), IpAddr::from([192, 0, 2, 7]));
    }

    #[test]
    fn bearer_is_read_like_auth_reads_it() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::AUTHORIZATION, v.parse().expect("header"));
            m
        };
        assert_eq!(bearer(&h("Bearer abc")), Some("abc"));
        assert_eq!(bearer(&h("bEaReR  abc ")), Some("abc"));
        assert_eq!(bearer(&h("Basic abc")), None);
        assert_eq!(bearer(&h("Bearer ")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
