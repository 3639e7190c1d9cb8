//! What every handler shares: the store, the blobs, the catalog, the clock, the limits.

use chrono::{DateTime, NaiveDate, Utc};
use sportello_domain::calendar::Calendars;
use sportello_domain::catalog::Catalog;
use sportello_store::{BlobStore, Store};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Time, injected so tests can move it instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    /// Unix seconds.
    fn now(&self) -> i64;

    fn today(&self) -> NaiveDate {
        DateTime::<Utc>::from_timestamp(self.now(), 0)
            .map(|t| t.date_naive())
            .unwrap_or_default()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        Utc::now().timestamp()
    }
}

/// A clock tests set by hand.
#[derive(Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(unix_seconds: i64) -> ManualClock {
        ManualClock(AtomicI64::new(unix_seconds))
    }

    pub fn set(&self, unix_seconds: i64) {
        self.0.store(unix_seconds, Ordering::SeqCst);
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Abuse limits. Every one has a default, a flag and an environment variable in the binary.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest single file (decoded), in bytes.
    pub max_file_bytes: usize,
    /// Longest `testo` value, in characters.
    pub max_text_chars: usize,
    /// Largest page of a list.
    pub max_page_size: u32,
    /// Days a draft keeps its personal data after its last change; then the retention pass
    /// purges it, as it purges closed requests.
    pub draft_retention_days: u32,
    /// The retention pass keeps a live processed request's personal data, past its retention
    /// time, until its provider has downloaded the case file (`fascicolo`) at least once.
    pub retention_requires_export: bool,
    /// Seconds a request may take end to end before it is answered 408.
    pub request_timeout_secs: u64,
    /// Requests a minute one bearer token may make (burst: a sixth of it); 0 disables.
    pub rate_per_token_per_minute: u32,
    /// Requests a minute one client address may make (burst: a sixth of it); 0 disables.
    pub rate_per_ip_per_minute: u32,
    /// Most `file` values in one submission.
    pub max_files_per_request: usize,
    /// Deepest nesting of arrays and objects in a JSON body.
    pub max_json_depth: usize,
    /// Largest uploaded image, in pixels (width × height).
    pub max_image_pixels: u64,
    /// Most pages in an uploaded PDF.
    pub max_pdf_pages: u32,
    /// Back-office cookies are `Secure` (and `__Host-` named) even without TLS at a proxy.
    pub secure_cookies: bool,
    /// Failed back-office logins one source (an IPv4 address, an IPv6 /64) may make within
    /// the lock-out window, whatever the addresses tried; 0: no such limit.
    pub login_failures_per_source: u32,
    /// Accept plain `http://` callback and webhook URLs (the outbox's guard is told the same).
    pub allow_http_callbacks: bool,
    /// Seconds a test request waits before the sandbox's simulated operator works it.
    pub sandbox_delay_secs: u64,
    /// Seconds a client token, once read from the database, is trusted from memory (0: read it
    /// on every call). A revocation made in another process takes this long to apply here.
    pub token_cache_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the client (see
    /// [`crate::client_addr`]); empty: the TCP peer is the client.
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Where people reach this server, without a trailing slash: links to the person's page
    /// start with it.
    pub public_url: String,
    /// Days after a practice is closed that the person's link still shows it.
    pub invito_giorni_dopo_chiusura: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 64 * 1024 * 1024,
            max_file_bytes: 10 * 1024 * 1024,
            max_text_chars: 255,
            max_page_size: 500,
            draft_retention_days: 30,
            retention_requires_export: true,
            request_timeout_secs: 60,
            rate_per_token_per_minute: 600,
            rate_per_ip_per_minute: 1200,
            max_files_per_request: 20,
            max_json_depth: 32,
            max_image_pixels: 40_000_000,
            max_pdf_pages: 500,
            secure_cookies: false,
            login_failures_per_source: 20,
            allow_http_callbacks: false,
            sandbox_delay_secs: 3,
            token_cache_secs: 2,
            trusted_proxies: Default::default(),
            public_url: "http://127.0.0.1:8080".into(),
            invito_giorni_dopo_chiusura: 30,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub blobs: BlobStore,
    pub catalog: Arc<Catalog>,
    pub clock: Arc<dyn Clock>,
    pub limits: Limits,
    /// Each provider's working calendar (national holidays plus its closures), by name.
    pub calendars: Arc<Calendars>,
    /// API calls of live tokens counted in memory until the next flush (per-call fees).
    pub meter: Arc<crate::meter::Meter>,
    /// Client callers recently authenticated (see [`crate::auth::cache`]).
    pub callers: Arc<crate::auth::cache::CallerCache>,
    /// The SMTP server for messages sent while a person waits (the codes of their page); the
    /// outbox has its own copy for everything else. None: no e-mail, so no invitations.
    pub smtp: Option<Arc<crate::outbox::email::SmtpSettings>>,
}
