//! `/healthz` while the back office is flooded with failed logins: a real `serve` child, 50
//! clients posting wrong passwords for made-up addresses (each one an argon2id hash), and one
//! client timing `/healthz` until they are done — against `/healthz` at rest. With hashing on
//! the async workers the API would wait for the hashes; off them it should barely notice.
//!
//! The child's per-source lock-out is off (`login_failures_per_source = 0` in its
//! `sportello.toml`): every login comes from 127.0.0.1 here, as if from many networks there.

use anyhow::{Context, Result};
use std::time::Instant;

use super::load::{self, Stats};
use super::memory::ServeProcess;

/// The concurrent failed logins.
pub const CLIENTS: usize = 50;

/// What the flood did to `/healthz`.
pub struct LoginFlood {
    /// `/healthz`, one client, nothing else running.
    pub at_rest: Stats,
    /// `/healthz`, one client, while the logins ran.
    pub flooded: Stats,
    /// The logins (a success is the expected 401).
    pub logins: Stats,
}

impl LoginFlood {
    /// The report's row: its label and its value.
    pub fn row(&self) -> (String, String) {
        let failed = if self.logins.failed > 0 || self.flooded.failed > 0 {
            format!(
                " ({} FAILED)",
                self.logins.failed + self.flooded.failed + self.at_rest.failed
            )
        } else {
            String::new()
        };
        (
            format!("/healthz during {CLIENTS} failed logins"),
            format!(
                "p50 {:.1} ms p99 {:.1} ms (at rest p50 {:.1} ms p99 {:.1} ms; {:.0} logins/s){failed}",
                self.flooded.percentile_ms(0.5),
                self.flooded.percentile_ms(0.99),
                self.at_rest.percentile_ms(0.5),
                self.at_rest.percentile_ms(0.99),
                self.logins.per_sec()
            ),
        )
    }
}

/// Starts a `serve` child on a new installation in `dir` and floods it with `logins` failed
/// logins from [`CLIENTS`] clients; `health_calls` health checks at rest.
pub async fn measure(
    dir: &std::path::Path,
    logins: usize,
    health_calls: usize,
    http: &reqwest::Client,
) -> Result<LoginFlood> {
    std::fs::create_dir_all(dir)?;
    crate::keys::write_new_key(&dir.join("master.key"))?;
    std::fs::write(
        dir.join("sportello.toml"),
        "login_failures_per_source = 0\n",
    )
    .context("writing the login bench's configuration")?;
    let serve = ServeProcess::serve(dir, http).await?;
    let health = format!("{}/healthz", serve.base);

    let (client, url) = (http.clone(), health.clone());
    let at_rest = load::run(1, health_calls.max(1), move |_| {
        let request = client.get(&url);
        async move { super::ok(request.send().await).await }
    })
    .await;

    let (cookie, csrf) = login_form(http, &serve.base).await?;
    let (client, url) = (http.clone(), format!("{}/backoffice/login", serve.base));
    let flood = tokio::spawn(load::run(CLIENTS, logins.max(CLIENTS), move |n| {
        let request = client
            .post(&url)
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf.as_str()),
                ("email", &format!("flood{n}@bench.invalid")),
                ("password", "not the password"),
            ])
            .send();
        async move {
            match request.await {
                Ok(r) => r.status() == reqwest::StatusCode::UNAUTHORIZED && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    }));
    // Timed one after the other for as long as the flood lasts.
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut failed = 0;
    while !flood.is_finished() {
        let t0 = Instant::now();
        if !super::ok(http.get(&health).send().await).await {
            failed += 1;
        }
        latencies.push(t0.elapsed());
    }
    let flooded = Stats::of(latencies, failed, started.elapsed());
    let logins = flood.await.context("the login flood")?;
    Ok(LoginFlood {
        at_rest,
        flooded,
        logins,
    })
}

/// The login form's anti-forgery cookie (`name=value`) and token; one pair serves every login.
async fn login_form(http: &reqwest::Client, base: &str) -> Result<(String, String)> {
    let page = http.get(format!("{base}/backoffice/login")).send().await?;
    let cookie = page
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("the login form set no cookie")?
        .to_string();
    let text = page.text().await?;
    let csrf = text
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the login form has no token")?
        .to_string();
    Ok((cookie, csrf))
}
