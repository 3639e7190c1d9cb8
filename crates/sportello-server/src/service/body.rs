//! The members of `POST /richiesta` and `PUT /richiesta/{_id}`, read from a JSON value by hand
//! so every problem gets our code and names the member, and no message ever quotes a value.

use serde_json::{Map, Value};
use sportello_domain::fields::{self, FieldType};
use std::collections::BTreeMap;

use crate::envelope::Detail;
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct CreateBody {
    pub hash_visura: String,
    pub json_visura: BTreeMap<String, String>,
    pub submit: bool,
    pub test: bool,
    pub callback_data: Option<Value>,
    pub email_target: Option<String>,
    pub opzioni: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateBody {
    /// `Some(true)` submits a draft.
    pub submit: Option<bool>,
    /// A whole `json_visura` replaces the draft's values.
    pub json_visura: Option<BTreeMap<String, String>>,
    /// `"json_visura.$n"` members: set (Some) or clear (None) one value.
    pub dotted: Vec<(String, Option<String>)>,
    /// Some(None) clears it.
    pub email_target: Option<Option<String>>,
}

fn object(v: Value) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(ApiError::malformed("the body must be a JSON object")),
    }
}

fn invalid(campo: &str, codice: &str, messaggio: &str) -> ApiError {
    ApiError::invalid_member(campo, codice, messaggio)
}

/// `state`: 0 keeps the transaction open, 1 (the default) submits it.
fn parse_state(v: Option<&Value>) -> Result<Option<bool>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
        Some(Value::String(s)) if s.trim() == "0" => Ok(Some(false)),
        Some(Value::String(s)) if s.trim() == "1" => Ok(Some(true)),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid("state", "state_invalid", "state must be 0 or 1")),
    }
}

fn parse_bool(name: &str, v: Option<&Value>) -> Result<bool, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::String(s)) if matches!(s.trim(), "true" | "1") => Ok(true),
        Some(Value::String(s)) if matches!(s.trim(), "false" | "0" | "") => Ok(false),
        Some(_) => Err(invalid(name, "boolean_invalid", "must be true or false")),
    }
}

/// A field value: strings as they are; numbers as their text (a phone number sent as a
/// number); null as absent.
fn field_value(key: &str, v: &Value) -> Result<Option<String>, Detail> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(Detail {
            campo: key.to_string(),
            codice: "not_a_string".into(),
            messaggio: "the value must be a string".into(),
        }),
    }
}

/// `code` is the validation error of the caller: 250 for `POST`, 229 for `PUT`.
fn parse_json_visura(
    v: Option<&Value>,
    code: u16,
) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let map = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m.clone(),
        // Some clients send the object JSON-encoded a second time.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(invalid(
                    "json_visura",
                    "json_visura_invalid",
                    "json_visura must be an object of \"$n\": value",
                ))
            }
        },
        Some(_) => {
            return Err(invalid(
                "json_visura",
                "json_visura_invalid",
                "json_visura must be an object of \"$n\": value",
            ))
        }
    };
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (k, v) in &map {
        match field_value(k, v) {
            Ok(Some(s)) => {
                out.insert(k.clone(), s);
            }
            Ok(None) => {}
            Err(d) => problems.push(d),
        }
    }
    if problems.is_empty() {
        Ok(Some(out))
    } else {
        Err(ApiError::validation(code, problems))
    }
}

fn parse_email(v: Option<&Value>) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            let ctx = fields::Context {
                today: chrono::NaiveDate::default(),
                max_text_chars: 254,
                max_file_bytes: 0,
                max_image_pixels: 0,
                max_pdf_pages: 0,
                max_files: 0,
            };
            match fields::validate(FieldType::Email, "email_target", s, &ctx) {
                Ok(fields::FieldValue::Text(t)) => Ok(Some(t)),
                _ => Err(ApiError::email_invalid()),
            }
        }
        Some(_) => Err(ApiError::email_invalid()),
    }
}

/// `callback_data` (or the Node SDK's `callback`): `{url, method, field, data}`, normalised with
/// the defaults the official SDK uses (method JSON, field `visengineData`).
fn parse_callback(v: Option<&Value>) -> Result<Option<Value>, ApiError> {
    let m = match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => {
            return Err(invalid(
                "callback_data",
                "callback_invalid",
                "callback_data must be an object {url, method, field, data}",
            ))
        }
    };
    let url = match m.get("url") {
        Some(Value::String(u)) => u.trim().to_string(),
        _ => {
            return Err(invalid(
                "callback_data.url",
                "callback_url_required",
                "callback_data.url is required",
            ))
        }
    };
    let parsed: axum::http::Uri = url.parse().map_err(|_| {
        invalid(
            "callback_data.url",
            "callback_url_invalid",
            "callback_data.url is not a valid URL",
        )
    })?;
    let scheme_ok = matches!(parsed.scheme_str(), Some("https") | Some("http"));
    if !scheme_ok || parsed.host().is_none() || url.len() > 2048 {
        return Err(invalid(
            "callback_data.url",
            "callback_url_invalid",
            "callback_data.url must be an absolute http(s) URL of at most 2048 characters",
        ));
    }
    let method = match m.get("method") {
        None | Some(Value::Null) => "JSON".to_string(),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("json") => "JSON".to_string(),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("post") => "POST".to_string(),
        Some(_) => {
            return Err(invalid(
                "callback_data.method",
                "callback_method_invalid",
                "callback_data.method must be \"JSON\" or \"POST\"",
            ))
        }
    };
    let field = match m.get("field") {
        None | Some(Value::Null) => "visengineData".to_string(),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 64 => s.trim().to_string(),
        Some(_) => {
            return Err(invalid(
                "callback_data.field",
                "callback_field_invalid",
                "callback_data.field must be a non-empty name of at most 64 characters",
            ))
        }
    };
    let data = m.get("data").cloned().unwrap_or(Value::Null);
    Ok(Some(serde_json::json!({
        "url": url,
        "method": method,
        "field": field,
        "data": data,
    })))
}

/// `opzioni` as the commercial API takes it, `{"opzione_0": true}`; a list of names is also
/// understood.
fn parse_opzioni(v: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let mut chosen = Vec::new();
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Object(m)) => {
            for (name, on) in m {
                if parse_bool(&format!("opzioni.{name}"), Some(on))? {
                    chosen.push(name.clone());
                }
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => chosen.push(s.clone()),
                    _ => {
                        return Err(invalid(
                            "opzioni",
                            "opzioni_invalid",
                            "opzioni must be an object {\"opzione_0\": true}",
                        ))
                    }
                }
            }
        }
        Some(_) => {
            return Err(invalid(
                "opzioni",
                "opzioni_invalid",
                "opzioni must be an object {\"opzione_0\": true}",
            ))
        }
    }
    chosen.sort();
    chosen.dedup();
    Ok(chosen)
}

pub fn parse_create(v: Value) -> Result<CreateBody, ApiError> {
    let m = object(v)?;
    let hash_visura = match m.get("hash_visura") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(ApiError::hash_required()),
    };
    let callback = m.get("callback_data").or_else(|| match m.get("callback") {
        // The Node SDK sends `callback`; a string there is the commercial API's internal tag.
        Some(v @ Value::Object(_)) => Some(v),
        _ => None,
    });
    Ok(CreateBody {
        hash_visura,
        json_visura: parse_json_visura(m.get("json_visura"), 250)?.unwrap_or_default(),
        submit: parse_state(m.get("state"))?.unwrap_or(true),
        test: parse_bool("test", m.get("test"))?,
        callback_data: parse_callback(callback)?,
        email_target: parse_email(m.get("email_target"))?,
        opzioni: parse_opzioni(m.get("opzioni"))?,
    })
}

pub fn parse_update(v: Value) -> Result<UpdateBody, ApiError> {
    let m = object(v)?;
    let mut body = UpdateBody {
        submit: parse_state(m.get("state"))?,
        json_visura: parse_json_visura(m.get("json_visura"), 229)?,
        ..UpdateBody::default()
    };
    if m.contains_key("email_target") {
        body.email_target = Some(parse_email(m.get("email_target"))?);
    }
    let mut problems = Vec::new();
    for (k, v) in &m {
        if let Some(key) = k.strip_prefix("json_visura.") {
            match field_value(key, v) {
                Ok(value) => body.dotted.push((key.to_string(), value)),
                Err(d) => problems.push(d),
            }
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(229, problems));
    }
    Ok(body)
}

/// `DELETE /richiesta/{_id}` may carry `{"motivo": "…"}`.
pub fn parse_motivo(v: &Value) -> Result<Option<String>, ApiError> {
    match v.get("motivo") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 1000 => {
            Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
        }
        Some(_) => Err(invalid(
            "motivo",
            "motivo_invalid",
            "motivo must be a string of at most 1000 characters",
        )),
    }
}
