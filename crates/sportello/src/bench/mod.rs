//! `sportello bench`: the performance numbers of this machine, in one run, side by side —
//! request creation against the raw commit ceiling of the same database, `GET /visure` against
//! a trivial handler, codice fiscale validations, the memory of a real `serve` process, and
//! `/healthz` while that process is flooded with failed logins.
//!
//! It measures; it asserts nothing. Tests run it only with `--quick`, to see every line come out.

mod hostile;
mod load;
mod logins;
mod memory;
mod report;
mod server;

use anyhow::{Context, Result};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

use crate::config::Settings;
use load::Stats;
use report::{Backend, Creation, Downloads, Memory, Report, Writes};

/// The family status certificate: no files, a codice fiscale, one durable commit to create.
const SERVICE: &str = "4c84e22bbabd5f25b0102bb3bfe82790";

/// The creation runs: (tenants, concurrent callers). Installations see both one busy tenant
/// and many: a tenant's creations share its wallet (and, on PostgreSQL, its row's lock).
pub const RUNS: [(usize, usize); 5] = [(1, 1), (1, 16), (1, 64), (16, 16), (16, 64)];

/// Rows per transaction of the grouped ceiling: about what a batch of the group commit holds
/// at 64 callers.
pub const GROUPED: u32 = 64;

/// The tenants of the widest run.
pub const TENANTS: usize = 16;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Tiny counts, to check that every measurement runs; the numbers mean nothing.
    #[arg(long)]
    pub quick: bool,
    /// Also measure on this PostgreSQL database (`postgres://…`): a scratch database, the bench
    /// writes to it.
    #[arg(long)]
    pub postgres_url: Option<String>,
    /// Calls per measurement [default: 2000; 20 with --quick].
    #[arg(long)]
    pub requests: Option<usize>,
    /// Size of the result the ten clients download, in MB [default: 50; 1 with --quick].
    #[arg(long)]
    pub download_mb: Option<usize>,
}

struct Counts {
    requests: usize,
    ceiling: u32,
    validations: usize,
    download_bytes: usize,
    /// The size of each hostile body.
    hostile_bytes: usize,
    /// Requests with made-up methods.
    made_up_methods: usize,
}

impl Counts {
    fn of(args: &BenchArgs) -> Counts {
        let quick = args.quick;
        Counts {
            requests: args
                .requests
                .unwrap_or(if quick { 20 } else { 2000 })
                .max(1),
            ceiling: if quick { 20 } else { 2000 },
            validations: if quick { 1_000 } else { 500_000 },
            download_bytes: args
                .download_mb
                .unwrap_or(if quick { 1 } else { 50 })
                .max(1)
                * 1024
                * 1024,
            hostile_bytes: if quick { 1 } else { 16 } * 1024 * 1024,
            made_up_methods: if quick { 30 } else { 3000 },
        }
    }
}

pub async fn run(settings: &Settings, args: BenchArgs) -> Result<()> {
    let counts = Counts::of(&args);
    // Minutes of work: say which part is under way (on a terminal only).
    let progress = crate::progress::Progress::spinner("SQLite: the commit ceiling, then requests");
    let scratch = tempfile::tempdir().context("making a scratch directory")?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;

    let sqlite = {
        let mut s = scratch_settings(settings, &scratch.path().join("sqlite"))?;
        s.database_url = None;
        let mut ceilings = Vec::new();
        for (per_commit, file) in [(1, "ceiling.db"), (GROUPED, "grouped.db")] {
            let ceiling = sportello_store::SqliteStore::commit_ceiling(
                &scratch.path().join(file),
                counts.ceiling,
                per_commit,
            )
            .await
            .map(|t| f64::from(counts.ceiling) / t.as_secs_f64().max(1e-9))
            .context("measuring the SQLite commit ceiling")?;
            ceilings.push(ceiling);
        }
        let grouped = ceilings.pop().unwrap_or_default();
        let single = ceilings.pop().unwrap_or_default();
        backend(&s, Ok((single, grouped)), &counts, &http).await?
    };
    let postgres = match &args.postgres_url {
        None => Err("not measured: no --postgres-url".into()),
        Some(url) => {
            progress.step("PostgreSQL: the commit ceiling, then requests");
            let measured = async {
                let mut s = scratch_settings(settings, &scratch.path().join("postgres"))?;
                s.database_url = Some(url.clone());
                let ceiling = |per_commit| async move {
                    sportello_store::PgStore::commit_ceiling(url, counts.ceiling, per_commit)
                        .await
                        .map(|t| f64::from(counts.ceiling) / t.as_secs_f64().max(1e-9))
                        .map_err(|e| format!("{e}"))
                };
                let ceilings = match (ceiling(1).await, ceiling(GROUPED).await) {
                    (Ok(single), Ok(grouped)) => Ok((single, grouped)),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
                backend(&s, ceilings, &counts, &http).await
            };
            measured.await.map_err(|e| format!("not measured: {e:#}"))
        }
    };

    progress.step("a trivial handler, for comparison");
    let trivial = server::trivial().await?;
    let url = format!("{}/visure", trivial.base);
    let client = http.clone();
    let trivial_rate = load::run(16, counts.requests, move |_| {
        let (client, url) = (client.clone(), url.clone());
        async move { ok(client.get(url).send().await).await }
    })
    .await
    .per_sec();
    drop(trivial);

    progress.step("validations");
    let validations = validations(counts.validations)?;
    progress.step("memory of a serving process");
    let memory = memory(settings, &scratch.path().join("serve"), &counts, &http).await?;
    progress.step("logins");
    let report = Report {
        requests: counts.requests,
        download_bytes: counts.download_bytes,
        sqlite,
        postgres,
        trivial: trivial_rate,
        validations,
        memory,
        logins: logins::measure(
            &scratch.path().join("logins"),
            counts.requests.max(logins::CLIENTS * 4) / 4,
            counts.requests,
            &http,
        )
        .await?,
    };
    drop(progress);
    report.print(cfg!(debug_assertions));
    Ok(())
}

/// `settings` for a fresh installation in `dir`: its own data, key and files.
fn scratch_settings(settings: &Settings, dir: &std::path::Path) -> Result<Settings> {
    let mut s = settings.clone();
    s.data_dir = dir.to_path_buf();
    s.master_key = None;
    // Written here, so the installation does not announce a new key to back up.
    let key = dir.join("master.key");
    crate::keys::write_new_key(&key)?;
    s.master_key_file = Some(key);
    s.previous_master_key_files = Vec::new();
    Ok(s)
}

/// A success, read to its end: an answer dropped unread closes its connection, and every next
/// call would pay a new one.
async fn ok(answer: reqwest::Result<reqwest::Response>) -> bool {
    match answer {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

fn creation_body() -> Value {
    serde_json::json!({
        "hash_visura": SERVICE,
        "json_visura": {
            "$0": "Mario", "$1": "Rossi", "$2": "1985-12-10", "$3": "Italia",
            "$4": "Roma", "$5": "RM", "$6": "H501", "$7": "RSSMRA85T10H501O"
        }
    })
}

/// `clients` concurrent callers creating `total` requests on `base`, call `n` as the tenant of
/// `tokens[n % tokens.len()]`.
async fn create(
    http: &reqwest::Client,
    base: &str,
    tokens: &[String],
    clients: usize,
    total: usize,
) -> Stats {
    let body = Arc::new(serde_json::to_vec(&creation_body()).unwrap_or_default());
    let auths: Arc<Vec<String>> = Arc::new(tokens.iter().map(|t| format!("Bearer {t}")).collect());
    let (http, url) = (http.clone(), format!("{base}/richiesta"));
    load::run(clients, total, move |n| {
        let auth = auths
            .get(n % auths.len().max(1))
            .cloned()
            .unwrap_or_default();
        let request = http
            .post(&url)
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(body.as_ref().clone());
        async move { ok(request.send().await).await }
    })
    .await
}

/// Creation at 1, 16 and 64 clients and `GET /visure`, on the database `settings` names.
/// `ceilings`: the single-row commits per second, one and [`GROUPED`] to a transaction.
async fn backend(
    settings: &Settings,
    ceilings: Result<(f64, f64), String>,
    counts: &Counts,
    http: &reqwest::Client,
) -> Result<Backend> {
    let (running, state) = server::sportello(settings).await?;
    let callers = server::callers(&state).await?;
    // Warm up: connections, caches, the first pages of the database file.
    create(
        http,
        &running.base,
        &callers.tenants,
        8,
        16.min(counts.requests),
    )
    .await;
    let mut creation = Vec::new();
    for (tenants, clients) in RUNS {
        let before = state.store.write_counts();
        let stats = create(
            http,
            &running.base,
            &callers.tenants[..tenants.min(callers.tenants.len())],
            clients,
            counts.requests,
        )
        .await;
        let after = state.store.write_counts();
        creation.push(Creation {
            stats,
            writes: Writes::between(before, after),
        });
    }
    let (client, url, auth) = (
        http.clone(),
        format!("{}/visure", running.base),
        format!("Bearer {}", callers.client()),
    );
    let visure = load::run(16, counts.requests, move |_| {
        let request = client.get(&url).header("authorization", &auth);
        async move { ok(request.send().await).await }
    })
    .await
    .per_sec();
    Ok(Backend {
        ceiling: ceilings.clone().map(|(single, _)| single),
        grouped: ceilings.map(|(_, grouped)| grouped),
        creation,
        visure,
    })
}

/// Codice fiscale checks per second through the domain validator (the one `POST /richiesta`
/// runs), over a real code and its omocodia variants.
fn validations(n: usize) -> Result<f64> {
    use sportello_domain::fields::codice_fiscale::CodiceFiscale;
    use sportello_domain::fields::{self, Context as FieldContext, FieldType};
    let base = CodiceFiscale::parse("RSSMRA85T10H501O")
        .map_err(|e| anyhow::anyhow!("the sample codice fiscale: {}", e.code()))?;
    let codes: Vec<String> = (0..8u8)
        .map(|mask| base.omocodia_variant(mask).to_string())
        .collect();
    let ctx = FieldContext {
        today: chrono::Utc::now().date_naive(),
        max_text_chars: 255,
        max_file_bytes: 0,
        max_image_pixels: 0,
        max_pdf_pages: 0,
        max_files: 0,
    };
    let started = Instant::now();
    let mut valid = 0usize;
    for i in 0..n {
        let code = &codes[i % codes.len()];
        let checked = fields::validate(FieldType::CodiceFiscalePersonaFisica, "$0", code, &ctx);
        valid += usize::from(std::hint::black_box(checked).is_ok());
    }
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    anyhow::ensure!(valid == n, "a sample codice fiscale was refused");
    Ok(n as f64 / elapsed)
}

/// A real `serve` process: idle, creating requests, serving a large result to ten clients, then
/// under hostile requests.
async fn memory(
    settings: &Settings,
    dir: &std::path::Path,
    counts: &Counts,
    http: &reqwest::Client,
) -> Result<Memory> {
    let mut s = scratch_settings(settings, dir)?;
    s.database_url = None;
    // Only to put the large result in place; the measured process keeps the defaults.
    s.max_file_bytes = counts.download_bytes + 1024 * 1024;
    s.max_body_bytes = counts.download_bytes * 2 + 1024 * 1024;
    let (callers, hostile_tokens, id) = {
        let (running, state) = server::sportello(&s).await?;
        let callers = server::callers(&state).await?;
        let hostile_tokens = hostile::tokens(&state).await?;
        let id = large_result(http, &running.base, &callers, counts.download_bytes).await?;
        (callers, hostile_tokens, id)
    };
    let serve = memory::ServeProcess::serve(dir, http).await?;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let idle = serve.rss()?;

    let sampler = serve.sample_peak();
    let load = create(
        http,
        &serve.base,
        &callers.tenants[..1],
        64,
        counts.requests,
    )
    .await;
    let under_load = sampler.finish();
    anyhow::ensure!(load.failed == 0, "creations failed on the serve process");

    let auth = format!("Bearer {}", callers.client());
    let binary = ten_downloads(
        &serve,
        http,
        format!("{}/documento/{id}/download", serve.base),
        &auth,
        "/documento/{id}/download",
    )
    .await?;
    let json = ten_downloads(
        &serve,
        http,
        format!("{}/documento/{id}", serve.base),
        &auth,
        "/documento/{id}",
    )
    .await?;
    let hostile = hostile::run(
        &serve,
        http,
        &hostile_tokens,
        counts.hostile_bytes,
        counts.made_up_methods,
    )
    .await?;
    Ok(Memory {
        idle,
        under_load,
        binary,
        json,
        hostile,
    })
}

/// Ten clients fetching `url` at once, each reading the whole body: the resident set before
/// and at its peak, and the body's size.
async fn ten_downloads(
    serve: &memory::ServeProcess,
    http: &reqwest::Client,
    url: String,
    auth: &str,
    what: &str,
) -> Result<Downloads> {
    let before = serve.rss()?;
    let sampler = serve.sample_peak();
    let (client, auth) = (http.clone(), auth.to_string());
    let body_bytes = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = body_bytes.clone();
    let downloads = load::run(10, 10, move |_| {
        let request = client.get(&url).header("authorization", &auth);
        let seen = seen.clone();
        async move {
            let Ok(mut response) = request.send().await else {
                return false;
            };
            let length = response.content_length().unwrap_or(0);
            let mut got = 0u64;
            while let Ok(Some(chunk)) = response.chunk().await {
                got += chunk.len() as u64;
            }
            seen.store(got, std::sync::atomic::Ordering::Relaxed);
            response.status().is_success() && got == length && got > 0
        }
    })
    .await;
    let peak = sampler.finish();
    anyhow::ensure!(
        downloads.failed == 0,
        "a download of the result through {what} failed or came short"
    );
    Ok(Downloads {
        before,
        peak,
        body_bytes: body_bytes.load(std::sync::atomic::Ordering::Relaxed),
    })
}

/// A request closed with one result of `size` bytes, through the client and operator APIs.
async fn large_result(
    http: &reqwest::Client,
    base: &str,
    callers: &server::Callers,
    size: usize,
) -> Result<String> {
    use base64::Engine;
    let client = format!("Bearer {}", callers.client());
    let operator = format!("Bearer {}", callers.operator);
    let created: Value = http
        .post(format!("{base}/richiesta"))
        .header("authorization", &client)
        .json(&creation_body())
        .send()
        .await?
        .json()
        .await?;
    let id = created["data"]["_id"]
        .as_str()
        .context("creating the request for the large result")?
        .to_string();
    let file = base64::engine::general_purpose::STANDARD.encode(memory::large_pdf(size));
    let steps = [
        ("claim", serde_json::json!({})),
        (
            "results",
            serde_json::json!({"nome": "esito.pdf", "file": file}),
        ),
        (
            "close",
            serde_json::json!({"esito": {"codice": "0", "info": "OK"}}),
        ),
    ];
    for (step, body) in steps {
        let answer = http
            .post(format!("{base}/operator/requests/{id}/{step}"))
            .header("authorization", &operator)
            .json(&body)
            .send()
            .await?;
        let status = answer.status();
        anyhow::ensure!(
            status.is_success(),
            "operator {step} of the large result: {status} {}",
            answer.text().await.unwrap_or_default()
        );
    }
    Ok(id)
}
