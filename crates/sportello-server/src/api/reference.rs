//! What turns the generated OpenAPI document into a reference an integrator can work from:
//! request and response examples captured from the real server, and the complete list of error
//! codes each operation can answer with (`x-error-codes`).
//!
//! The examples live in `examples.json`, written by the `api_reference` integration test from
//! what a freshly seeded server really answers (`SPORTELLO_CAPTURE_EXAMPLES=1`); without that
//! variable the same test replays every call and fails when an answer's shape, status or error
//! code no longer matches its example. So they cannot drift from the server unnoticed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Captured by `crates/sportello-server/tests/it/api_reference.rs`; never edit by hand.
const EXAMPLES: &str = include_str!("examples.json");

/// One operation's captured calls: the request of its successful call (or of its first one)
/// and one answer per HTTP status.
#[derive(Debug, Deserialize)]
pub struct Captured {
    /// The concrete path (and query) of the example request.
    pub path: String,
    /// Its JSON body, if it had one.
    #[serde(default)]
    pub body: Option<Value>,
    /// The answer's JSON body, by HTTP status.
    pub responses: BTreeMap<String, Value>,
}

/// The captured examples, by `"METHOD /path/{template}"`.
pub fn examples() -> BTreeMap<String, Captured> {
    // A malformed file only loses the examples; the reference test says so loudly.
    serde_json::from_str(EXAMPLES).unwrap_or_default()
}

/// Codes any operation can answer with: the request took too long (916), an internal failure
/// (999).
const ALWAYS: [u64; 2] = [916, 999];
/// With a bearer token: missing, unknown, expired, revoked, lacking the scope.
const AUTHENTICATED: [u64; 5] = [900, 901, 902, 903, 904];
/// With a body: not JSON (or too deep), too large.
const WITH_BODY: [u64; 2] = [905, 906];
/// Paths the rate limiter lets through (liveness probes must always get an answer).
const NOT_RATE_LIMITED: [&str; 1] = ["/healthz"];

/// Adds the captured examples and completes every operation's `x-error-codes` with the codes
/// that follow from its shape (authentication, body, query, rate limit).
pub fn complete(doc: &mut Value) {
    let examples = examples();
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            complete_error_codes(path, op);
            let key = format!("{} {path}", method.to_uppercase());
            if let Some(captured) = examples.get(&key) {
                add_examples(path, op, captured);
            }
        }
    }
}

fn complete_error_codes(path: &str, op: &mut Map<String, Value>) {
    let mut codes: Vec<u64> = op
        .get("x-error-codes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    codes.extend(ALWAYS);
    if op.get("security").is_some() {
        codes.extend(AUTHENTICATED);
    }
    if op.get("requestBody").is_some() {
        codes.extend(WITH_BODY);
    }
    let has_query = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    if has_query {
        codes.push(912);
    }
    if !NOT_RATE_LIMITED.contains(&path) {
        codes.push(918);
    }
    codes.sort_unstable();
    codes.dedup();
    op.insert(
        "x-error-codes".into(),
        Value::Array(codes.into_iter().map(Value::from).collect()),
    );
}

fn add_examples(template: &str, op: &mut Map<String, Value>, captured: &Captured) {
    let (path, query) = captured
        .path
        .split_once('?')
        .unwrap_or((captured.path.as_str(), ""));
    let segments: Vec<(&str, &str)> = template.split('/').zip(path.split('/')).collect();
    let query: Vec<(&str, &str)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let value = match p["in"].as_str() {
                // A segment may hold more than the parameter (`{hash_visura}.js`).
                Some("path") => segments.iter().find_map(|(t, v)| {
                    let (before, after) = t.split_once(&format!("{{{name}}}"))?;
                    v.strip_prefix(before)?.strip_suffix(after)
                }),
                Some("query") => query.iter().find(|(k, _)| *k == name).map(|(_, v)| *v),
                _ => None,
            };
            if let (Some(v), Some(obj)) = (value, p.as_object_mut()) {
                obj.insert("example".into(), Value::String(v.to_string()));
            }
        }
    }
    if let (Some(body), Some(content)) = (
        &captured.body,
        op.get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(Value::as_object_mut),
    ) {
        for media in content.values_mut() {
            if let Some(m) = media.as_object_mut() {
                m.insert("example".into(), body.clone());
            }
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, example) in &captured.responses {
        let Some(response) = responses.get_mut(status).and_then(Value::as_object_mut) else {
            continue;
        };
        let content = response
            .entry("content")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(content) = content.as_object_mut() else {
            continue;
        };
        // The example goes to the JSON media type the response declares (the schema route
        // answers `application/schema+json`), or to `application/json` when none is declared.
        if !content.keys().any(|k| k.contains("json")) {
            content.insert("application/json".into(), Value::Object(Map::new()));
        }
        for (media, body) in content.iter_mut() {
            if let (true, Some(body)) = (media.contains("json"), body.as_object_mut()) {
                body.insert("example".into(), example.clone());
            }
        }
    }
}
