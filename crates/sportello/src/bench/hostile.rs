//! Hostile requests against the real `serve` process, as someone with a free test token or no
//! token at all would make them: a large JSON body of members no route reads to `POST
//! /richiesta`, a large form of empty pairs to the back office's login, and thousands of
//! made-up HTTP methods. For each, what the server answered and how much its resident set grew
//! at its peak; for the methods, the number of metric series before and after.

use anyhow::{Context, Result};
use sportello_server::setup::{self, TokenSpec};
use sportello_server::AppState;
use sportello_store::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::memory::ServeProcess;

/// The tokens the hostile requests need, made before the `serve` process starts.
pub struct Tokens {
    /// A client's test token: free, as anyone who signs up gets one.
    test: String,
    /// An admin token that reads `/metrics`.
    metrics: String,
}

pub async fn tokens(state: &AppState) -> Result<Tokens> {
    let client = setup::create_client(state, "Bench ostile", "ostile@example.invalid").await?;
    let spec = |role, client_id, scopes| TokenSpec {
        role,
        client_id,
        operator_id: None,
        label: "bench".into(),
        live: false,
        ttl_secs: None,
        scopes,
    };
    let test = setup::issue_token(state, spec(Role::Client, Some(client.id), None)).await?;
    let metrics = setup::issue_token(
        state,
        spec(Role::Admin, None, Some(vec!["GET:/metrics".into()])),
    )
    .await?;
    Ok(Tokens {
        test: test.secret,
        metrics: metrics.secret,
    })
}

/// One hostile body.
pub struct Attack {
    pub body_bytes: usize,
    /// The status and the envelope's error code (none for the back office's pages), or why
    /// nothing came back.
    pub answer: Result<(u16, Option<i64>), String>,
    /// The resident set just before, and its peak while the body was sent and answered.
    pub before: u64,
    pub peak: u64,
}

/// Many requests with made-up methods.
pub struct Flood {
    pub requests: usize,
    pub failed: usize,
    pub before: u64,
    pub peak: u64,
    pub series_before: usize,
    pub series_after: usize,
}

pub struct Hostile {
    pub json: Attack,
    pub form: Attack,
    pub methods: Flood,
}

pub async fn run(
    serve: &ServeProcess,
    http: &reqwest::Client,
    tokens: &Tokens,
    body_bytes: usize,
    methods: usize,
) -> Result<Hostile> {
    let address = serve.base.trim_start_matches("http://").to_string();

    // `{"hash_visura":"x","p":[0,0,…]}`: a body within `POST /richiesta`'s limit whose member
    // `p` no route reads. Parsed into a JSON tree it would take some thirty times its size.
    let (head, tail) = (r#"{"hash_visura":"x","p":[0"#, "]}");
    let mut json = String::with_capacity(body_bytes);
    json.push_str(head);
    while json.len() + 2 + tail.len() <= body_bytes {
        json.push_str(",0");
    }
    while json.len() + tail.len() < body_bytes {
        json.push(' ');
    }
    json.push_str(tail);
    let json_head = format!(
        "POST /richiesta HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json",
        tokens.test
    );
    let json = attack(serve, &address, &json_head, json.into_bytes()).await?;

    // `=&=&…`: an anonymous form to the login, far over a form's limit.
    let form = "=&".repeat(body_bytes / 2).into_bytes();
    let form_head = "POST /backoffice/login HTTP/1.1\r\nHost: bench\r\n\
                     Content-Type: application/x-www-form-urlencoded";
    let form = attack(serve, &address, form_head, form).await?;

    // One made-up method and one scrape first, so the series they open are in the count before.
    let _ = http
        .request(
            reqwest::Method::from_bytes(b"AAAQQQ")?,
            format!("{}/x", serve.base),
        )
        .send()
        .await;
    series(http, &serve.base, &tokens.metrics).await?;
    let series_before = series(http, &serve.base, &tokens.metrics).await?;
    let before = serve.rss()?;
    let sampler = serve.sample_peak();
    let (client, url) = (http.clone(), format!("{}/x", serve.base));
    let flood = super::load::run(16, methods, move |n| {
        // A few kilobytes of method, different every time.
        let made_up = format!("AAAQQQ{n}{}", "Q".repeat(3000));
        let request = reqwest::Method::from_bytes(made_up.as_bytes())
            .map(|method| client.request(method, &url));
        async move {
            match request {
                Ok(r) => matches!(r.send().await, Ok(a) if a.status().is_client_error()),
                Err(_) => false,
            }
        }
    })
    .await;
    let peak = sampler.finish();
    let series_after = series(http, &serve.base, &tokens.metrics).await?;
    Ok(Hostile {
        json,
        form,
        methods: Flood {
            requests: methods,
            failed: flood.failed,
            before,
            peak,
            series_before,
            series_after,
        },
    })
}

/// Sends one body with its `Content-Length` over a bare connection, writing while it reads: a
/// server that refuses by size answers before the body is read and closes, which an ordinary
/// client reports as a broken pipe instead of the answer.
async fn attack(serve: &ServeProcess, address: &str, head: &str, body: Vec<u8>) -> Result<Attack> {
    let body_bytes = body.len();
    let before = serve.rss()?;
    let sampler = serve.sample_peak();
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .context("connecting to the serve process")?;
    let (mut read, mut write) = stream.into_split();
    let request = format!("{head}\r\nContent-Length: {body_bytes}\r\nConnection: close\r\n\r\n");
    let writer = tokio::spawn(async move {
        let _ = write.write_all(request.as_bytes()).await;
        let _ = write.write_all(&body).await;
        // Held until the answer is read: a half-closed connection is closed by the server.
        write
    });
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = read.read(&mut buf).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let peak = sampler.finish();
    writer.abort();
    Ok(Attack {
        body_bytes,
        answer: parse_answer(&answer),
        before,
        peak,
    })
}

fn parse_answer(raw: &[u8]) -> Result<(u16, Option<i64>), String> {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| "no answer".to_string())?;
    let code = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str::<serde_json::Value>(body).ok())
        .and_then(|v| v["error"].as_i64());
    Ok((status, code))
}

/// The series `/metrics` exposes.
async fn series(http: &reqwest::Client, base: &str, token: &str) -> Result<usize> {
    let text = http
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count())
}

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / (1024.0 * 1024.0))
}

impl Attack {
    /// "400/200 after reading it: +16.2 MB at the peak, 1.01× the body".
    pub fn show(&self) -> String {
        let grew = self.peak.saturating_sub(self.before) as f64;
        let what = match &self.answer {
            Ok((413, Some(code))) => format!("413/{code} refused by size"),
            Ok((413, None)) => "413 refused by size".to_string(),
            Ok((status, Some(code))) => format!("{status}/{code} after reading it"),
            Ok((status, None)) => format!("{status} after reading it"),
            Err(why) => why.clone(),
        };
        format!(
            "{what}: +{} at the peak, {:.2}× the body (over {})",
            mb(grew),
            grew / self.body_bytes.max(1) as f64,
            mb(self.before as f64)
        )
    }
}

impl Flood {
    /// "+0.4 MB at the peak; metric series 262 → 262".
    pub fn show(&self) -> String {
        let grew = self.peak.saturating_sub(self.before) as f64;
        let failed = if self.failed > 0 {
            format!(" ({} FAILED)", self.failed)
        } else {
            String::new()
        };
        format!(
            "+{} at the peak (over {}); metric series {} → {}{failed}",
            mb(grew),
            mb(self.before as f64),
            self.series_before,
            self.series_after
        )
    }
}
