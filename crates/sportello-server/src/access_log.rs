//! The access log and the request id: one `info` line per request (method, route template,
//! status, duration, client address) inside a span that carries the request's id, so every line
//! logged while serving it carries the id too. The id is the caller's `x-request-id` when it is
//! a sane one, else a new random one; it is echoed in the answer's `x-request-id` and put in the
//! error envelope (`request_id`), so a client's complaint leads to the server's log lines.
//!
//! Invariant: the log names the route *template* (`/richiesta/{id}`), never the path or its
//! query string: a path parameter or a query value may be personal (a request id, a codice
//! fiscale in a search).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

use crate::client_addr::ClientAddr;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest id taken from a caller: a UUID (36) or a trace id fits with room to spare.
const MAX_LEN: usize = 64;

tokio::task_local! {
    // The id of the request being served, for the error envelope: an `ApiError` is turned into
    // an answer deep inside handlers and extractors that have no access to the request.
    static CURRENT: RequestId;
}

/// The id of one request: 1 to [`MAX_LEN`] characters out of `A–Z a–z 0–9 - _ . : + = /`, so
/// it is safe in a header, a log line and JSON as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The caller's id, if it is a sane one; anything else is replaced, not refused.
    pub fn from_caller(value: &HeaderValue) -> Option<RequestId> {
        let text = value.to_str().ok()?;
        let sane = (1..=MAX_LEN).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:+=/".contains(&b));
        sane.then(|| RequestId(text.to_string()))
    }

    /// 128 random bits, in hex.
    pub fn generate() -> RequestId {
        RequestId(hex::encode(rand::random::<[u8; 16]>()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the request being served on this task, if any.
    pub fn current() -> Option<RequestId> {
        CURRENT.try_with(RequestId::clone).ok()
    }
}

/// The middleware, outside everything but the client address's resolution: refusals (429),
/// timeouts (408) and panics (500) are logged and carry the id too.
pub async fn record(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(RequestId::from_caller)
        .unwrap_or_else(RequestId::generate);
    let route = route_template(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %id.as_str(),
        method = method_name(req.method()),
        route = %route,
    );
    let client = ClientAddr::of(req.extensions());
    req.extensions_mut().insert(id.clone());
    let mut response = CURRENT
        .scope(id.clone(), next.run(req))
        .instrument(span.clone())
        .await;
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        response.headers_mut().insert(X_REQUEST_ID, value);
    }
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            duration_ms = (millis * 10.0).round() / 10.0,
            client = client.map(tracing::field::display),
            "answered"
        );
    });
    response
}

/// The route's template (`/richiesta/{id}`), never the path, which carries ids; every path no
/// route matches shares `unmatched`, so a scanner can grow neither the log's vocabulary nor the
/// metric series.
pub(crate) fn route_template(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string())
}

/// The method, from a closed set: an invented method (any token is a valid one, kilobytes
/// long) is `other`, so it can neither flood nor forge a log line nor add a metric series.
pub(crate) fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(s: &str) -> Option<RequestId> {
        RequestId::from_caller(&HeaderValue::from_str(s).expect("header value"))
    }

    #[test]
    fn a_sane_caller_id_is_kept() {
        for id in [
            "3f2b9c1e-6a8d-4c2f-9b1e-0d7a5c3e2f10",
            "req_01HZX4",
            "Root=1-5759e988-bd862e3fe1be46a994272793",
            "a",
        ] {
            assert_eq!(caller(id).map(|r| r.0), Some(id.to_string()), "{id}");
        }
    }

    #[test]
    fn an_insane_caller_id_is_replaced() {
        let long = "a".repeat(MAX_LEN + 1);
        for id in ["", "two words", "a\"b", "x{y}", "é", "a\tb", long.as_str()] {
            let value = HeaderValue::from_bytes(id.as_bytes()).expect("header value");
            assert_eq!(RequestId::from_caller(&value), None, "{id:?}");
        }
    }

    #[test]
    fn generated_ids_are_sane_and_different() {
        let (a, b) = (RequestId::generate(), RequestId::generate());
        assert_ne!(a, b);
        assert_eq!(caller(a.as_str()), Some(a));
    }

    #[test]
    fn invented_methods_are_other() {
        let invented = Method::from_bytes(&[b'A'; 4000]).expect("a token");
        assert_eq!(method_name(&invented), "other");
        assert_eq!(method_name(&Method::DELETE), "DELETE");
    }
}
