//! `GET /visura/formTool/{hash_visura}.js`: the embeddable form, at the commercial API's path.
//!
//! A client's page includes the script and gets the service's form rendered, checked in the
//! browser against the same JSON Schema as `GET /visure/{hash}/schema`, and its finished
//! `json_visura` handed to a callback of the page; submitting it (with a token) stays the
//! client's server's job. The script is a static asset (`static/form_tool.js`); the only
//! per-service part is a JSON literal appended as its argument, escaped so that it cannot end a
//! `<script>` element. No code is templated, and the script needs no `eval` and no inline
//! handler, so it runs under a strict Content-Security-Policy.
//!
//! Public (the form holds nothing secret; the catalog is public in the commercial API too) and
//! cacheable: `ETag` from the body, `If-None-Match` answered 304.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sportello_domain::catalog::Service;

use super::visure::form_schema;
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, Limits};

/// A function expression taking the form's data; the served body calls it.
const SCRIPT: &str = include_str!("../../static/form_tool.js");

/// How long a browser or a proxy may reuse the script without asking; after that the `ETag`
/// makes the question cheap. Short, because the catalog and the limits can change on restart.
const CACHE_CONTROL: &str = "public, max-age=300";

/// The embeddable form of a service.
///
/// A script for the client's own page: it renders the service's fields in `ordine` with their
/// `istruzioni`, checks them in the browser with the service's JSON Schema (the same one as
/// `GET /visure/{hash_visura}/schema`), reads files as `data:` URLs and hands the finished
/// `json_visura` to a callback of the page: `SportelloFormTool.render(element, {onSubmit})`.
/// It never holds a token: the page's server submits `POST /richiesta`. No token is needed to
/// fetch it; it carries an `ETag` and answers `If-None-Match` with 304. The path ends in `.js`.
#[utoipa::path(get, path = "/visura/formTool/{hash_visura}.js", tag = "modulo",
    params(("hash_visura" = String, Path, description = "The service's hash (or an alias)"),
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a copy the caller holds")),
    responses(
        (status = 200, description = "The script", content_type = "text/javascript", body = String,
            headers(("ETag" = String, description = "Changes when the form does"))),
        (status = 304, description = "The caller's copy is current"),
        (status = 404, description = "no form for this hash (910)", body = crate::envelope::ErrorEnvelope)),
    extensions(("x-error-codes" = json!([910]))))]
pub async fn script(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (hash, service) = file
        .strip_suffix(".js")
        .and_then(|hash| Some((hash, state.catalog.get(hash)?)))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, 910, "no form for this hash"))?;
    let body = render(service, hash, &state.limits);
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..32]
    );
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    // Public, so any page may also fetch it with `crossorigin` (for Subresource Integrity).
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(response)
}

/// The script with the service's form as its argument.
fn render(service: &Service, hash: &str, limits: &Limits) -> String {
    let data = script_json(&form_data(service, hash, limits));
    format!("{}({data});\n", SCRIPT.trim_end())
}

/// What the script needs: the fields in `ordine` and the schema that checks them.
fn form_data(service: &Service, hash: &str, limits: &Limits) -> Value {
    let fields = service.fields_in_order();
    let campi: Vec<Value> = fields
        .iter()
        .map(|f| {
            json!({
                "chiave": f.key(),
                "nome": f.nome,
                "tipo": f.tipo.as_str(),
                "istruzioni": f.istruzioni,
            })
        })
        .collect();
    json!({
        "hash_visura": hash,
        "nome_visura": service.nome_visura,
        "campi": campi,
        "schema": form_schema(service, limits),
    })
}

/// JSON that is also safe inside an HTML `<script>` element and in any JavaScript context:
/// `<`, `>` and `&` (so no `</script>` or `<!--`) and the two JavaScript line terminators are
/// written as `\u` escapes. They can only occur inside JSON strings, where the escape means the
/// same character.
fn script_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_a_script_element_and_still_parses_to_the_same_value() {
        let value = json!({"istruzioni": "</script><script>alert(1)</script> & <!-- \u{2028}"});
        let text = script_json(&value);
        assert!(!text.contains('<') && !text.contains('>') && !text.contains('&'));
        assert!(!text.contains('\u{2028}'));
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }
}
