//! The HTTP client: one method per API call, the envelope unwrapped, errors typed, transient
//! failures retried.

use base64::Engine as _;
use rand::RngCore;
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Detail, Error};
use crate::types::*;

/// Talks to one Sportello server with one client token. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    attempts: u32,
    backoff: Duration,
}

/// Settings beyond the base URL and the token.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base: String,
    token: String,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
}

impl ClientBuilder {
    /// Whole-call timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// How many times a call that failed transiently is tried in all (default 4; 1 = never
    /// retried).
    pub fn attempts(mut self, attempts: u32) -> ClientBuilder {
        self.attempts = attempts.max(1);
        self
    }

    /// The first pause between attempts; it doubles each time (default 200 ms). A `Retry-After`
    /// from the server wins.
    pub fn backoff(mut self, backoff: Duration) -> ClientBuilder {
        self.backoff = backoff;
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base = self.base.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Config(
                "the base URL must start with http:// or https://".into(),
            ));
        }
        if self.token.is_empty() || self.token.chars().any(|c| c.is_whitespace()) {
            return Err(Error::Config("the token is empty or has spaces".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("sportello-client/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Client {
            http,
            base,
            token: self.token,
            attempts: self.attempts,
            backoff: self.backoff,
        })
    }
}

impl Client {
    /// A client with the default settings.
    pub fn new(base_url: &str, token: &str) -> Result<Client, Error> {
        Client::builder(base_url, token).build()
    }

    pub fn builder(base_url: &str, token: &str) -> ClientBuilder {
        ClientBuilder {
            base: base_url.to_string(),
            token: token.to_string(),
            timeout: Duration::from_secs(30),
            attempts: 4,
            backoff: Duration::from_millis(200),
        }
    }

    /// The catalog.
    pub async fn visure(&self) -> Result<Vec<VisuraSummary>, Error> {
        self.call(Method::GET, "/visure", None, None, true).await
    }

    /// One service, by its hash (or an alias).
    pub async fn visura(&self, hash: &str) -> Result<Visura, Error> {
        let path = format!("/visure/{}", segment(hash)?);
        self.call(Method::GET, &path, None, None, true).await
    }

    /// The service's form as a JSON Schema 2020-12 document, to check input before sending.
    pub async fn form_schema(&self, hash: &str) -> Result<Value, Error> {
        let path = format!("/visure/{}/schema", segment(hash)?);
        let response = self.send(|| self.request(Method::GET, &path), true).await?;
        response
            .json()
            .await
            .map_err(|e| Error::Decode(e.to_string()))
    }

    /// Creates a request. It carries an `Idempotency-Key` (yours, or a random one) that every
    /// retry repeats, so a retried submission never creates two requests.
    pub async fn submit(&self, new: NewRichiesta) -> Result<Richiesta, Error> {
        let key = new.idempotency_key.clone().unwrap_or_else(random_key);
        let body = serde_json::to_value(&new).map_err(|e| Error::Decode(e.to_string()))?;
        self.call(Method::POST, "/richiesta", Some(body), Some(&key), true)
            .await
    }

    pub async fn richiesta(&self, id: &str) -> Result<Richiesta, Error> {
        let path = format!("/richiesta/{}", segment(id)?);
        self.call(Method::GET, &path, None, None, true).await
    }

    /// The caller's requests, newest first; `page` from 1.
    pub async fn richieste(
        &self,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<RichiestaSummary>, Error> {
        let path = format!("/richiesta?page={page}&per_page={per_page}");
        self.call(Method::GET, &path, None, None, true).await
    }

    /// Sets fields of a draft, or supplies what an operator asked for (see
    /// [`Richiesta::integrazione`]): the request then returns to the operator's queue.
    pub async fn supply(
        &self,
        id: &str,
        fields: &BTreeMap<String, String>,
    ) -> Result<Richiesta, Error> {
        let path = format!("/richiesta/{}", segment(id)?);
        let body: Map<String, Value> = fields
            .iter()
            .map(|(k, v)| (format!("json_visura.{k}"), Value::String(v.clone())))
            .collect();
        self.call(Method::PUT, &path, Some(Value::Object(body)), None, false)
            .await
    }

    /// Submits a draft.
    pub async fn submit_draft(&self, id: &str) -> Result<Richiesta, Error> {
        let path = format!("/richiesta/{}", segment(id)?);
        self.call(Method::PUT, &path, Some(json!({"state": 1})), None, false)
            .await
    }

    /// Cancels a draft or a request no operator has taken yet.
    pub async fn cancel(&self, id: &str, motivo: Option<&str>) -> Result<Richiesta, Error> {
        let path = format!("/richiesta/{}", segment(id)?);
        let body = motivo.map(|m| json!({ "motivo": m }));
        self.call(Method::DELETE, &path, body, None, false).await
    }

    /// The result of a processed request (`GET /documento/{id}`), checked against its SHA-256.
    pub async fn documento(&self, id: &str) -> Result<Documento, Error> {
        #[derive(serde::Deserialize)]
        struct Wire {
            nome: String,
            file: String,
            #[serde(default)]
            sha256: Option<String>,
        }
        let path = format!("/documento/{}", segment(id)?);
        let wire: Wire = self.call(Method::GET, &path, None, None, true).await?;
        let zip = base64::engine::general_purpose::STANDARD
            .decode(wire.file.as_bytes())
            .map_err(|e| Error::Decode(format!("the document is not base64: {e}")))?;
        check_digest(&zip, wire.sha256.as_deref())?;
        Ok(Documento {
            nome: wire.nome,
            zip,
        })
    }

    /// The same result as raw bytes (`GET /documento/{id}/download`), checked against the
    /// `X-Checksum-Sha256` header.
    pub async fn download(&self, id: &str) -> Result<Documento, Error> {
        let path = format!("/documento/{}/download", segment(id)?);
        let response = self.send(|| self.request(Method::GET, &path), true).await?;
        let digest = response
            .headers()
            .get("x-checksum-sha256")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let nome = response
            .headers()
            .get(reqwest::header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split("filename=\"").nth(1))
            .and_then(|v| v.split('"').next())
            .unwrap_or("documento.zip")
            .to_string();
        let zip = response.bytes().await?.to_vec();
        check_digest(&zip, digest.as_deref())?;
        Ok(Documento { nome, zip })
    }

    /// Polls the request every `every` until it is processed or cancelled, or `within` passes
    /// (then the last state is returned as it is).
    pub async fn wait_until_final(
        &self,
        id: &str,
        every: Duration,
        within: Duration,
    ) -> Result<Richiesta, Error> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let r = self.richiesta(id).await?;
            if r.is_final() || tokio::time::Instant::now() + every > deadline {
                return Ok(r);
            }
            tokio::time::sleep(every).await;
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
    }

    /// One API call in the envelope. `retry` says whether repeating it is safe (reads, and
    /// submissions with their idempotency key).
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
        retry: bool,
    ) -> Result<T, Error> {
        let response = self
            .send(
                || {
                    let mut req = self.request(method.clone(), path);
                    if let Some(key) = idempotency_key {
                        req = req.header("Idempotency-Key", key);
                    }
                    if let Some(b) = &body {
                        req = req.json(b);
                    }
                    req
                },
                retry,
            )
            .await?;
        let envelope: Value = response
            .json()
            .await
            .map_err(|e| Error::Decode(e.to_string()))?;
        let data = envelope.get("data").cloned().unwrap_or(Value::Null);
        serde_json::from_value(data).map_err(|e| Error::Decode(e.to_string()))
    }

    /// Sends, retrying transient failures with exponential back-off; a non-2xx answer becomes
    /// [`Error::Api`].
    async fn send(
        &self,
        build: impl Fn() -> RequestBuilder,
        retry: bool,
    ) -> Result<reqwest::Response, Error> {
        let mut pause = self.backoff;
        let mut attempt = 1;
        loop {
            let outcome = match build().send().await {
                Ok(r) if r.status().is_success() => return Ok(r),
                Ok(r) => {
                    let wait = retry_after(&r);
                    (api_error(r).await, wait)
                }
                Err(e) => (Error::Transport(e), None),
            };
            let (error, wait) = outcome;
            // A connection that never opened sent nothing: always safe to try again.
            let unsent = matches!(&error, Error::Transport(e) if e.is_connect());
            if attempt >= self.attempts || !error.is_transient() || !(retry || unsent) {
                return Err(error);
            }
            tokio::time::sleep(wait.unwrap_or(pause)).await;
            pause = pause.saturating_mul(2);
            attempt += 1;
        }
    }
}

/// The server's `Retry-After` in seconds, capped at a minute.
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(60)))
}

async fn api_error(response: reqwest::Response) -> Error {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let details = body
        .get("details")
        .cloned()
        .and_then(|d| serde_json::from_value::<Vec<Detail>>(d).ok())
        .unwrap_or_default();
    Error::Api {
        status: status.as_u16(),
        code: body.get("error").and_then(Value::as_i64).unwrap_or(-1),
        message: body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string()),
        details,
    }
}

fn check_digest(bytes: &[u8], expected: Option<&str>) -> Result<(), Error> {
    let Some(expected) = expected else {
        return Ok(());
    };
    let actual = hex::encode(Sha256::digest(bytes));
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::Decode(
            "the document does not match its SHA-256: download it again".into(),
        ))
    }
}

/// Ids and hashes are hex; anything else would change the path.
fn segment(s: &str) -> Result<&str, Error> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(Error::Config(format!("{s:?} is not an id")))
    }
}

fn random_key() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_would_change_the_path_are_refused() {
        assert!(segment("0123abcd").is_ok());
        assert!(segment("../admin").is_err());
        assert!(segment("a/b").is_err());
        assert!(segment("").is_err());
    }

    #[test]
    fn a_base_url_needs_a_scheme() {
        assert!(Client::new("example.com", "t").is_err());
        assert!(Client::new("https://example.com/", "t").is_ok());
        assert!(Client::new("https://example.com", "").is_err());
    }

    #[test]
    fn digests_are_checked() {
        let digest = hex::encode(Sha256::digest(b"zip"));
        assert!(check_digest(b"zip", Some(&digest)).is_ok());
        assert!(check_digest(b"zap", Some(&digest)).is_err());
        assert!(check_digest(b"zap", None).is_ok());
    }

    #[test]
    fn status_codes_decide_what_is_transient() {
        let api = |status| Error::Api {
            status,
            code: 0,
            message: String::new(),
            details: vec![],
        };
        assert!(api(429).is_transient());
        assert!(api(503).is_transient());
        assert!(!api(412).is_transient());
        assert!(!api(404).is_transient());
    }
}
