//! Our own extractors, so malformed input is answered in our envelope with our codes and never
//! with axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body, parsed whatever the `Content-Type` says: the official PHP SDK posts JSON labelled
/// as a form, the Node SDK labels it not at all. An empty body is an empty object.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.limits.max_body_bytes;
        let bytes = read_body(req, limit).await?;
        Ok(JsonBody(parse_json(&bytes, state.limits.max_json_depth)?))
    }
}

/// The raw body with its SHA-256, for idempotency.
pub struct RawJson {
    pub value: Value,
    pub sha256: String,
}

impl FromRequest<AppState> for RawJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state.limits.max_body_bytes).await?;
        let value = parse_json(&bytes, state.limits.max_json_depth)?;
        Ok(RawJson {
            value,
            sha256: sportello_store::ids::sha256_hex(&bytes),
        })
    }
}

async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    if let Some(len) = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(ApiError::too_large(limit));
        }
    }
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::too_large(limit))
}

fn parse_json(bytes: &[u8], max_depth: usize) -> Result<Value, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    if nesting_exceeds(bytes, max_depth) {
        return Err(ApiError::malformed(format!(
            "the body nests arrays and objects deeper than {max_depth} levels"
        )));
    }
    // Only the position is reported: serde's own message may quote the input, which can be
    // personal data.
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::malformed(format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

/// Whether `bytes` opens more than `max_depth` arrays or objects inside one another. Scanned
/// before serde sees the body: a few kilobytes of `[[[[…` would otherwise make the parser
/// recurse (and allocate) once per bracket, and `serde_json`'s own guard (128 levels) is looser
/// than any honest request needs. Brackets inside strings do not count; a backslash escapes the
/// next byte, so `"\"["` is one string. The input need not be valid JSON: serde judges that.
fn nesting_exceeds(bytes: &[u8], max_depth: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max_depth {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Query parameters, rejected in our envelope.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        serde_urlencoded_like(raw).map(Query)
    }
}

fn serde_urlencoded_like<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{raw}")
            .parse()
            .map_err(|_| ApiError::bad_query("the query string is not valid"))?,
    )
    .map(|q| q.0)
    .map_err(|e| ApiError::bad_query(format!("invalid query parameters: {}", e.body_text())))
}

#[cfg(test)]
mod tests {
    use super::nesting_exceeds;

    #[test]
    fn nesting_is_counted_outside_strings_only() {
        assert!(!nesting_exceeds(br#"{"a":[1,{"b":2}]}"#, 3));
        assert!(nesting_exceeds(br#"{"a":[1,{"b":[]}]}"#, 3));
        assert!(!nesting_exceeds(br#"{"a":"[[[[{{{{"}"#, 1));
        assert!(!nesting_exceeds(br#"{"a":"\"[[[[\\"}"#, 1));
        assert!(nesting_exceeds(br#"{"a":"\\"[[[[]]]]}"#, 3));
        assert!(!nesting_exceeds(b"[][][][][]", 1));
        assert!(!nesting_exceeds(b"]]]]][", 1));
        assert!(nesting_exceeds(&vec![b'['; 100_000], 32));
    }
}
