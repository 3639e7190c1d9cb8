//! One HTTP call to a callback or webhook URL, through the SSRF guard: connected to the checked
//! address only, no redirects, bounded in time, the answer read up to a cap and thrown away.

use std::time::Duration;

use super::guard::{self, GuardPolicy};

/// A body ready to send, with the headers that say what it is.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// How the call went, for the delivery log. Never contains the body or the answer's content.
#[derive(Debug)]
pub enum CallResult {
    Ok(u16),
    /// A failure worth retrying.
    Failed {
        error: String,
        status: Option<u16>,
    },
    /// A failure that retrying cannot fix (the guard refused the target).
    Refused(String),
}

/// Largest part of an answer read before the connection is dropped.
const ANSWER_CAP: usize = 64 * 1024;

/// One call, resolution of the host included, within `timeout`: a delivery's lease is only
/// required to be longer than this, so nothing of an attempt (a slow resolver neither) may
/// outlast it.
pub async fn post(
    out: Outgoing<'_>,
    policy: &GuardPolicy,
    connect_timeout: Duration,
    timeout: Duration,
) -> CallResult {
    tokio::time::timeout(timeout, attempt(out, policy, connect_timeout, timeout))
        .await
        .unwrap_or_else(|_| CallResult::Failed {
            error: "timed out".to_string(),
            status: None,
        })
}

async fn attempt(
    out: Outgoing<'_>,
    policy: &GuardPolicy,
    connect_timeout: Duration,
    timeout: Duration,
) -> CallResult {
    let target = match guard::check(out.url, policy).await {
        Ok(t) => t,
        Err(e) if e.is_temporary() => {
            return CallResult::Failed {
                error: e.to_string(),
                status: None,
            }
        }
        Err(e) => return CallResult::Refused(e.to_string()),
    };
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .no_proxy()
        .user_agent(concat!("Sportello-Webhooks/", env!("CARGO_PKG_VERSION")));
    if matches!(target.url.host(), Some(url::Host::Domain(_))) {
        // Pinned: the connection goes to the address the guard checked, whatever DNS says now.
        builder = builder.resolve(&target.host, target.addr);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            return CallResult::Failed {
                error: format!("HTTP client: {e}"),
                status: None,
            }
        }
    };
    let mut request = client
        .post(target.url.clone())
        .header(reqwest::header::CONTENT_TYPE, out.content_type)
        .body(out.body);
    for (name, value) in out.headers {
        request = request.header(name, value);
    }
    let mut response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let error = if e.is_timeout() {
                "timed out".to_string()
            } else if e.is_connect() {
                "could not connect".to_string()
            } else {
                "the call failed".to_string()
            };
            return CallResult::Failed {
                error,
                status: None,
            };
        }
    };
    let status = response.status().as_u16();
    let mut read = 0usize;
    while read < ANSWER_CAP {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
    match status {
        200..=299 => CallResult::Ok(status),
        300..=399 => CallResult::Failed {
            error: format!("answered {status}: redirects are not followed"),
            status: Some(status),
        },
        _ => CallResult::Failed {
            error: format!("answered {status}"),
            status: Some(status),
        },
    }
}
