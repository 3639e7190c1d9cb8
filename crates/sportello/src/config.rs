//! Configuration: defaults, then a TOML file, then `SPORTELLO_*` environment variables, then
//! command-line flags, each overriding the one before.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use sportello_domain::calendar::{Calendar, Calendars, Closure};
use sportello_server::client_addr::TrustedProxies;
use sportello_server::outbox::email::{SmtpSettings, SmtpTls};
use sportello_server::outbox::guard::GuardPolicy;
use sportello_server::outbox::OutboxConfig;
use sportello_server::workers::WorkerSettings;
use sportello_server::Limits;
use sportello_store::S3Settings;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub listen: String,
    /// Where the database and the files live (embedded mode).
    pub data_dir: PathBuf,
    /// A database URL (`sqlite:…`, `postgres://…`); default: `<data_dir>/sportello.db`.
    pub database_url: Option<String>,
    /// Connections to a PostgreSQL database, per process.
    pub database_pool_size: u32,
    /// A directory of catalog files replacing the embedded catalog.
    pub catalog_dir: Option<PathBuf>,
    /// The master key, base64 (prefer `master_key_file`; environment: `SPORTELLO_MASTER_KEY`).
    pub master_key: Option<String>,
    /// The file holding the master key; default `<data_dir>/master.key`.
    pub master_key_file: Option<PathBuf>,
    /// Older master keys, kept readable during a rotation.
    pub previous_master_key_files: Vec<PathBuf>,
    pub max_body_bytes: usize,
    pub max_file_bytes: usize,
    pub max_text_chars: usize,
    pub max_page_size: u32,
    pub request_timeout_secs: u64,
    /// 0 disables.
    pub rate_per_token_per_minute: u32,
    /// 0 disables.
    pub rate_per_ip_per_minute: u32,
    /// Reverse proxies (addresses, CIDR networks) whose `X-Forwarded-For`/`Forwarded` headers
    /// name the client; empty: the TCP peer is the client.
    pub trusted_proxies: TrustedProxies,
    pub max_files_per_request: usize,
    pub max_json_depth: usize,
    pub max_image_pixels: u64,
    pub max_pdf_pages: u32,
    /// `text` or `json`.
    pub log_format: String,
    /// Seconds between two retention passes of a running server.
    pub purge_interval_secs: u64,
    /// Days a draft keeps its personal data after its last change.
    pub draft_retention_days: u32,
    /// Keep a live processed request's personal data until its provider downloaded its
    /// fascicolo at least once.
    pub retention_requires_export: bool,
    /// Back-office cookies `Secure` (`__Host-` prefixed) even when no proxy says `https`.
    pub secure_cookies: bool,
    /// Failed back-office logins one source (IPv4 address, IPv6 /64) may make in 15 minutes,
    /// whatever the addresses tried; 0 disables.
    pub login_failures_per_source: u32,
    /// Seconds between two passes of the outbox (callbacks, webhooks, e-mails).
    pub outbox_interval_secs: u64,
    /// Retries of a delivery stop this long after its first attempt (default three days).
    pub outbox_max_age_secs: i64,
    /// How long a delivery claimed by a process stays its own: after a crash, another process
    /// sends it again once this has passed. Must be longer than a whole call may take.
    pub outbox_lease_secs: u64,
    /// Permit plain `http://` callback and webhook URLs (default: https only).
    pub webhook_allow_http: bool,
    /// Hosts (`host` or `host:port`) whose addresses the SSRF guard does not check; for tests
    /// and trusted internal receivers only. Empty by default.
    pub webhook_allow_hosts: Vec<String>,
    /// Whole-call timeout of a callback or webhook, seconds.
    pub webhook_timeout_secs: u64,
    /// The SMTP server for e-mails to `email_target`; none: e-mails are not sent.
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    /// `starttls` (default), `tls` (SMTPS) or `none`.
    pub smtp_tls: String,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    /// A file holding the SMTP password (preferred over `smtp_password`).
    pub smtp_password_file: Option<PathBuf>,
    /// The sender of the e-mails.
    pub smtp_from: String,
    /// Seconds between two passes of the SLA escalation job (marks requests overdue).
    pub escalation_interval_secs: u64,
    /// Each provider's own closures, by provider name (`[calendars."CAF Roma"]`).
    pub calendars: BTreeMap<String, ProviderCalendar>,
    /// Seconds between two flushes of the API call counters (per-call fees) to the database.
    pub fee_flush_interval_secs: u64,
    /// Where files go: unset, `<data_dir>/files`; `s3://bucket[/prefix]`, an S3-compatible
    /// bucket (files are sealed by us before they leave the process).
    pub storage_url: Option<String>,
    /// The S3 service's address when it is not AWS (`https://minio.internal:9000`).
    pub storage_endpoint: Option<String>,
    pub storage_region: Option<String>,
    /// S3 credentials; unset, the usual `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` variables.
    pub storage_access_key_id: Option<String>,
    pub storage_secret_access_key: Option<String>,
    /// A file holding the S3 secret key (preferred over `storage_secret_access_key`).
    pub storage_secret_access_key_file: Option<PathBuf>,
    /// Permit a plain-HTTP S3 endpoint (a local test server).
    pub storage_allow_http: bool,
    /// Seconds a stopping server waits for requests in flight and background work to finish.
    pub shutdown_grace_secs: u64,
    /// Seconds a test request waits before the sandbox's simulated operator works it.
    pub sandbox_delay_secs: u64,
    /// Seconds a client token read from the database is trusted from memory.
    pub token_cache_secs: u64,
    /// Seconds between two passes of the sandbox's simulated operator.
    pub sandbox_interval_secs: u64,
    /// The address people reach this server at (`https://sportello.example.org`): the links
    /// of the person's page in e-mails and invitations start with it. Unset:
    /// `http://` + `listen`, right only for a server used on its own machine.
    pub public_url: Option<String>,
    /// Days after a practice is closed that the person's link still shows it.
    pub invito_giorni_dopo_chiusura: u32,
}

/// One provider's closures, on top of weekends and national holidays.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderCalendar {
    #[serde(default)]
    pub closures: Vec<ClosureSetting>,
}

/// `{ yearly = "06-29", reason = "…" }`, `{ yearly = "08-10..08-21", … }` or
/// `{ dates = "2026-08-10..2026-08-21", … }`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosureSetting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yearly: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dates: Option<String>,
    pub reason: String,
}

impl Default for Settings {
    fn default() -> Settings {
        let limits = Limits::default();
        Settings {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./sportello-data"),
            database_url: None,
            database_pool_size: sportello_store::postgres::DEFAULT_POOL_SIZE,
            catalog_dir: None,
            master_key: None,
            master_key_file: None,
            previous_master_key_files: Vec::new(),
            max_body_bytes: limits.max_body_bytes,
            max_file_bytes: limits.max_file_bytes,
            max_text_chars: limits.max_text_chars,
            max_page_size: limits.max_page_size,
            request_timeout_secs: limits.request_timeout_secs,
            rate_per_token_per_minute: limits.rate_per_token_per_minute,
            rate_per_ip_per_minute: limits.rate_per_ip_per_minute,
            trusted_proxies: limits.trusted_proxies.clone(),
            max_files_per_request: limits.max_files_per_request,
            max_json_depth: limits.max_json_depth,
            max_image_pixels: limits.max_image_pixels,
            max_pdf_pages: limits.max_pdf_pages,
            log_format: "text".into(),
            purge_interval_secs: 3600,
            draft_retention_days: limits.draft_retention_days,
            retention_requires_export: limits.retention_requires_export,
            secure_cookies: limits.secure_cookies,
            login_failures_per_source: limits.login_failures_per_source,
            outbox_interval_secs: 5,
            outbox_max_age_secs: 3 * 24 * 3600,
            outbox_lease_secs: 300,
            webhook_allow_http: false,
            webhook_allow_hosts: Vec::new(),
            webhook_timeout_secs: 30,
            smtp_host: None,
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_password_file: None,
            smtp_from: "Sportello <noreply@localhost>".into(),
            escalation_interval_secs: 60,
            calendars: BTreeMap::new(),
            fee_flush_interval_secs: 60,
            storage_url: None,
            storage_endpoint: None,
            storage_region: None,
            storage_access_key_id: None,
            storage_secret_access_key: None,
            storage_secret_access_key_file: None,
            storage_allow_http: false,
            shutdown_grace_secs: 30,
            sandbox_delay_secs: limits.sandbox_delay_secs,
            token_cache_secs: limits.token_cache_secs,
            sandbox_interval_secs: 1,
            public_url: None,
            invito_giorni_dopo_chiusura: limits.invito_giorni_dopo_chiusura,
        }
    }
}

/// Environment variables that are ours but not settings.
// SPORTELLO_BUILD_COMMIT is read when building (build.rs), and may linger in a build environment.
const OTHER_VARIABLES: [&str; 2] = ["SPORTELLO_CONFIG", "SPORTELLO_BUILD_COMMIT"];

impl std::fmt::Debug for Settings {
    // By hand, so the master key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("catalog_dir", &self.catalog_dir)
            .field(
                "master_key",
                &self.master_key.as_ref().map(|_| "<redacted>"),
            )
            .field("master_key_file", &self.master_key_file)
            .field("smtp_host", &self.smtp_host)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .field("storage_url", &self.storage_url)
            .field(
                "storage_secret_access_key",
                &self
                    .storage_secret_access_key
                    .as_ref()
                    .map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// `overrides` holds the flags given on the command line.
    pub fn load(
        file: Option<&Path>,
        overrides: &Overrides,
    ) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None => figment = figment.merge(Toml::file("sportello.toml")),
        }
        let known = Settings::keys();
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        figment
            .merge(Env::prefixed("SPORTELLO_").only(&known))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
    }

    /// The setting names, as TOML keys (and, upper-cased, environment variables).
    fn keys() -> Vec<String> {
        serde_json::to_value(Settings::default())
            .ok()
            .and_then(|v| v.as_object().map(|m| m.keys().cloned().collect()))
            .unwrap_or_default()
    }

    /// `SPORTELLO_*` variables that match no setting: a typo would otherwise be silently ignored.
    pub fn unknown_variables() -> Vec<String> {
        let known = Settings::keys();
        std::env::vars()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with("SPORTELLO_") && !OTHER_VARIABLES.contains(&k.as_str()))
            .filter(|k| {
                let name = k.trim_start_matches("SPORTELLO_").to_ascii_lowercase();
                !known.contains(&name)
            })
            .collect()
    }

    /// The outbox worker's settings; a wrong `smtp_tls`, an unreadable password file or a lease
    /// no longer than a call is an error at start-up, not at the first e-mail.
    pub fn outbox(&self) -> Result<OutboxConfig, String> {
        let timeout_secs = self.webhook_timeout_secs.max(1);
        // A lease that can run out while its call is still going lets another process claim
        // the delivery and send the same attempt a second time.
        if self.outbox_lease_secs <= timeout_secs {
            return Err(format!(
                "outbox_lease_secs ({}) must be longer than webhook_timeout_secs ({timeout_secs}), \
                 the longest a callback, webhook or e-mail may take: otherwise another process \
                 may send a delivery again while its call is still under way",
                self.outbox_lease_secs
            ));
        }
        let lease_secs = i64::try_from(self.outbox_lease_secs)
            .map_err(|_| format!("outbox_lease_secs is too large: {}", self.outbox_lease_secs))?;
        let smtp = match &self.smtp_host {
            None => None,
            Some(host) => {
                let tls = SmtpTls::parse(&self.smtp_tls).ok_or_else(|| {
                    format!(
                        "smtp_tls must be `starttls`, `tls` or `none`, not {:?}",
                        self.smtp_tls
                    )
                })?;
                let password = match &self.smtp_password_file {
                    Some(file) => Some(
                        std::fs::read_to_string(file)
                            .map_err(|e| format!("reading {}: {e}", file.display()))?
                            .trim()
                            .to_string(),
                    ),
                    None => self.smtp_password.clone(),
                };
                Some(SmtpSettings {
                    host: host.clone(),
                    port: self.smtp_port,
                    tls,
                    username: self.smtp_username.clone(),
                    password,
                    from: self.smtp_from.clone(),
                    timeout: std::time::Duration::from_secs(timeout_secs),
                })
            }
        };
        Ok(OutboxConfig {
            interval: std::time::Duration::from_secs(self.outbox_interval_secs.max(1)),
            max_age_secs: self.outbox_max_age_secs.max(60),
            guard: GuardPolicy {
                allow_http: self.webhook_allow_http,
                allow_hosts: self.webhook_allow_hosts.clone(),
            },
            timeout: std::time::Duration::from_secs(timeout_secs),
            lease_secs,
            smtp,
            ..OutboxConfig::default()
        })
    }

    /// The background workers' settings: their intervals, and the outbox's (see [`outbox`]).
    ///
    /// [`outbox`]: Settings::outbox
    pub fn workers(&self) -> Result<WorkerSettings, String> {
        let every = |secs: u64| std::time::Duration::from_secs(secs.max(1));
        Ok(WorkerSettings {
            purge_every: every(self.purge_interval_secs),
            escalation_every: every(self.escalation_interval_secs),
            sandbox_every: every(self.sandbox_interval_secs),
            fee_flush_every: every(self.fee_flush_interval_secs),
            outbox: self.outbox()?,
        })
    }

    /// The providers' calendars, each closure checked: a bad one names its provider and entry.
    pub fn calendars(&self) -> Result<Calendars, String> {
        let mut by_provider = BTreeMap::new();
        for (name, cal) in &self.calendars {
            let mut closures = Vec::with_capacity(cal.closures.len());
            for (i, c) in cal.closures.iter().enumerate() {
                let closure = match (&c.yearly, &c.dates) {
                    (Some(spec), None) => Closure::yearly(spec, &c.reason),
                    (None, Some(spec)) => Closure::dates(spec, &c.reason),
                    _ => Err(sportello_domain::calendar::ClosureError::Ambiguous),
                };
                closures
                    .push(closure.map_err(|e| format!("calendars.\"{name}\".closures[{i}]: {e}"))?);
            }
            by_provider.insert(name.clone(), Calendar::with_closures(closures));
        }
        Ok(Calendars::new(by_provider))
    }

    /// The S3 bucket files go to, or None for the local directory. An unreadable secret file
    /// is an error at start-up, not at the first upload.
    pub fn s3(&self) -> Result<Option<S3Settings>, String> {
        let Some(url) = &self.storage_url else {
            return Ok(None);
        };
        let secret_access_key = match &self.storage_secret_access_key_file {
            Some(file) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| format!("reading {}: {e}", file.display()))?
                    .trim()
                    .to_string(),
            ),
            None => self.storage_secret_access_key.clone(),
        };
        Ok(Some(S3Settings {
            url: url.clone(),
            endpoint: self.storage_endpoint.clone(),
            region: self.storage_region.clone(),
            access_key_id: self.storage_access_key_id.clone(),
            secret_access_key,
            allow_http: self.storage_allow_http,
        }))
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: self.max_body_bytes,
            max_file_bytes: self.max_file_bytes,
            max_text_chars: self.max_text_chars,
            max_page_size: self.max_page_size,
            draft_retention_days: self.draft_retention_days,
            retention_requires_export: self.retention_requires_export,
            request_timeout_secs: self.request_timeout_secs,
            rate_per_token_per_minute: self.rate_per_token_per_minute,
            rate_per_ip_per_minute: self.rate_per_ip_per_minute,
            max_files_per_request: self.max_files_per_request,
            max_json_depth: self.max_json_depth,
            max_image_pixels: self.max_image_pixels,
            max_pdf_pages: self.max_pdf_pages,
            secure_cookies: self.secure_cookies,
            login_failures_per_source: self.login_failures_per_source,
            allow_http_callbacks: self.webhook_allow_http,
            sandbox_delay_secs: self.sandbox_delay_secs,
            token_cache_secs: self.token_cache_secs,
            trusted_proxies: self.trusted_proxies.clone(),
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{}", self.listen))
                .trim_end_matches('/')
                .to_string(),
            invito_giorni_dopo_chiusura: self.invito_giorni_dopo_chiusura,
        }
    }
}

/// Flags that override settings; only those given are set.
#[derive(Debug, Default, Clone, Serialize, clap::Args)]
pub struct Overrides {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Data directory [default: ./sportello-data].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Database URL (sqlite:PATH or postgres://USER@HOST/DB).
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// Directory of catalog files replacing the embedded catalog.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_dir: Option<PathBuf>,
    /// File holding the master key [default: <data-dir>/master.key].
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<PathBuf>,
    /// Largest request body, bytes.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
    /// Largest file, bytes.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<usize>,
    /// `text` or `json` logs.
    #[arg(long, global = true)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn the_abuse_limits_are_settings_with_the_servers_defaults() {
        let keys = Settings::keys();
        for name in [
            "rate_per_token_per_minute",
            "rate_per_ip_per_minute",
            "max_files_per_request",
            "max_json_depth",
            "max_image_pixels",
            "max_pdf_pages",
        ] {
            assert!(keys.iter().any(|k| k == name), "{name}");
        }
        assert_eq!(
            format!("{:?}", Settings::default().limits()),
            format!("{:?}", Limits::default())
        );
    }

    #[test]
    fn the_abuse_limits_are_read_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sportello.toml");
        std::fs::write(
            &file,
            "rate_per_token_per_minute = 0\nrate_per_ip_per_minute = 60\n\
             max_files_per_request = 3\nmax_json_depth = 8\n\
             max_image_pixels = 1000000\nmax_pdf_pages = 10\n",
        )
        .unwrap();
        let limits = Settings::load(Some(&file), &Overrides::default())
            .unwrap()
            .limits();
        assert_eq!(limits.rate_per_token_per_minute, 0);
        assert_eq!(limits.rate_per_ip_per_minute, 60);
        assert_eq!(limits.max_files_per_request, 3);
        assert_eq!(limits.max_json_depth, 8);
        assert_eq!(limits.max_image_pixels, 1_000_000);
        assert_eq!(limits.max_pdf_pages, 10);
    }

    #[test]
    fn trusted_proxies_are_addresses_and_networks_checked_when_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sportello.toml");
        assert!(Settings::default().limits().trusted_proxies.is_empty());
        std::fs::write(&file, "trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n").unwrap();
        let limits = Settings::load(Some(&file), &Overrides::default())
            .unwrap()
            .limits();
        assert!(limits
            .trusted_proxies
            .contains("10.20.30.40".parse().unwrap()));
        assert!(limits
            .trusted_proxies
            .contains("127.0.0.1".parse().unwrap()));
        assert!(!limits
            .trusted_proxies
            .contains("127.0.0.2".parse().unwrap()));
        std::fs::write(&file, "trusted_proxies = [\"10.0.0.0/8\", \"proxy.lan\"]\n").unwrap();
        let err = Settings::load(Some(&file), &Overrides::default())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("proxy.lan"), "{err}");
    }
}
