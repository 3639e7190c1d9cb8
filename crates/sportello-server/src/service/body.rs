//! The members of `POST /richiesta`, `PUT /richiesta/{_id}` and `DELETE /richiesta/{_id}`, read
//! by hand so every problem gets our code and names the member, and no message ever quotes a
//! value. Each route's [`JsonShape`] names the members it reads: the rest of a body is skipped
//! while it is parsed (see [`crate::body::members`]).

use serde_json::Value;
use sportello_domain::fields::{self, FieldType};
use std::collections::BTreeMap;

use crate::body::members::{Member, Members, NestedError, Read, Shape, MAX_ENTRIES};
use crate::body::BodyLimit;
use crate::envelope::Detail;
use crate::error::ApiError;
use crate::extract::JsonShape;

/// The callback's members: its `data` is the client's own JSON, handed back as it came.
const CALLBACK: Read = Read::Fields {
    kept: &["url", "method", "field"],
    raw: &["data"],
};

/// The most JSON text `callback_data.data` may take. It is stored with the request, shown in
/// every answer about it and sent back with each callback: a tag or a few ids, not a payload.
pub const MAX_CALLBACK_DATA_BYTES: usize = 16 * 1024;

/// `POST /richiesta`: files in `json_visura`, so a submission's limit.
pub struct Create;

impl Shape for Create {
    const MEMBERS: &'static [(&'static str, Read)] = &[
        ("hash_visura", Read::Value),
        ("json_visura", Read::Value),
        ("state", Read::Value),
        ("test", Read::Value),
        ("callback_data", CALLBACK),
        ("callback", CALLBACK),
        ("email_target", Read::Value),
        ("opzioni", Read::Value),
    ];
}

impl JsonShape for Create {
    const LIMIT: BodyLimit = BodyLimit::Submission;
}

/// `PUT /richiesta/{_id}`: the whole `json_visura` or `"json_visura.$n"` members.
pub struct Update;

impl Shape for Update {
    const MEMBERS: &'static [(&'static str, Read)] = &[
        ("state", Read::Value),
        ("json_visura", Read::Value),
        ("email_target", Read::Value),
    ];
    const PREFIX: Option<&'static str> = Some("json_visura.");
}

impl JsonShape for Update {
    const LIMIT: BodyLimit = BodyLimit::Submission;
}

/// `DELETE /richiesta/{_id}`: `motivo`.
pub struct Cancel;

impl Shape for Cancel {
    const MEMBERS: &'static [(&'static str, Read)] = &[("motivo", Read::Value)];
}

impl JsonShape for Cancel {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

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

fn object(m: &Members) -> Result<(), ApiError> {
    if m.is_object() {
        Ok(())
    } else {
        Err(ApiError::malformed("the body must be a JSON object"))
    }
}

fn invalid(campo: &str, codice: &str, messaggio: &str) -> ApiError {
    ApiError::invalid_member(campo, codice, messaggio)
}

/// `state`: 0 keeps the transaction open, 1 (the default) submits it.
fn parse_state(v: Option<&Member>) -> Result<Option<bool>, ApiError> {
    match v {
        None | Some(Member::Null) => Ok(None),
        Some(Member::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
        Some(Member::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
        Some(Member::String(s)) if s.trim() == "0" => Ok(Some(false)),
        Some(Member::String(s)) if s.trim() == "1" => Ok(Some(true)),
        Some(Member::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid("state", "state_invalid", "state must be 0 or 1")),
    }
}

fn parse_bool(name: &str, v: Option<&Member>) -> Result<bool, ApiError> {
    match v {
        None | Some(Member::Null) => Ok(false),
        Some(Member::Bool(b)) => Ok(*b),
        Some(Member::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Member::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Member::String(s)) if matches!(s.trim(), "true" | "1") => Ok(true),
        Some(Member::String(s)) if matches!(s.trim(), "false" | "0" | "") => Ok(false),
        Some(_) => Err(invalid(name, "boolean_invalid", "must be true or false")),
    }
}

/// A field value: strings as they are (moved, not copied: a file's base64 can be megabytes);
/// numbers as their text (a phone number sent as a number); null as absent.
fn field_value(key: &str, v: Member) -> Result<Option<String>, Detail> {
    match v {
        Member::Null => Ok(None),
        Member::String(s) => Ok(Some(s)),
        Member::Number(n) => Ok(Some(n.to_string())),
        _ => Err(Detail {
            campo: key.to_string(),
            codice: "not_a_string".into(),
            messaggio: "the value must be a string".into(),
        }),
    }
}

/// `code` is the validation error of the caller: 250 for `POST`, 229 for `PUT`.
fn parse_json_visura(
    v: Option<Member>,
    code: u16,
) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let not_an_object = || {
        invalid(
            "json_visura",
            "json_visura_invalid",
            "json_visura must be an object of \"$n\": value",
        )
    };
    let map = match v {
        None | Some(Member::Null) => return Ok(None),
        Some(Member::Object(m)) => m,
        // Some clients send the object JSON-encoded a second time.
        Some(Member::String(s)) => match Member::parse(&s) {
            Ok(Member::Object(m)) => m,
            Err(NestedError::TooManyEntries) => return Err(too_many_entries("json_visura")),
            _ => return Err(not_an_object()),
        },
        Some(_) => return Err(not_an_object()),
    };
    let mut out = BTreeMap::new();
    let mut problems = Vec::new();
    for (k, v) in map {
        match field_value(&k, v) {
            Ok(Some(s)) => {
                out.insert(k, s);
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

/// What the body reader answers for a member with too many entries, for the one case it cannot
/// see: `json_visura` sent as a string.
fn too_many_entries(name: &str) -> ApiError {
    ApiError::invalid_member(
        name,
        "too_many_entries",
        &format!("{name} has more than {MAX_ENTRIES} entries"),
    )
}

fn parse_email(v: Option<&Member>) -> Result<Option<String>, ApiError> {
    match v {
        None | Some(Member::Null) | Some(Member::Bool(false)) => Ok(None),
        Some(Member::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Member::String(s)) => {
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
fn parse_callback(v: Option<&Member>) -> Result<Option<Value>, ApiError> {
    let m = match v {
        None | Some(Member::Null) | Some(Member::Bool(false)) => return Ok(None),
        Some(Member::Object(m)) => m,
        Some(_) => {
            return Err(invalid(
                "callback_data",
                "callback_invalid",
                "callback_data must be an object {url, method, field, data}",
            ))
        }
    };
    let url = match m.get("url") {
        Some(Member::String(u)) => u.trim().to_string(),
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
        None | Some(Member::Null) => "JSON".to_string(),
        Some(Member::String(s)) if s.eq_ignore_ascii_case("json") => "JSON".to_string(),
        Some(Member::String(s)) if s.eq_ignore_ascii_case("post") => "POST".to_string(),
        Some(_) => {
            return Err(invalid(
                "callback_data.method",
                "callback_method_invalid",
                "callback_data.method must be \"JSON\" or \"POST\"",
            ))
        }
    };
    let field = match m.get("field") {
        None | Some(Member::Null) => "visengineData".to_string(),
        Some(Member::String(s)) if !s.trim().is_empty() && s.len() <= 64 => s.trim().to_string(),
        Some(_) => {
            return Err(invalid(
                "callback_data.field",
                "callback_field_invalid",
                "callback_data.field must be a non-empty name of at most 64 characters",
            ))
        }
    };
    let data = match m.get("data") {
        None => Value::Null,
        Some(Member::Raw(text)) if text.len() > MAX_CALLBACK_DATA_BYTES => {
            return Err(invalid(
                "callback_data.data",
                "callback_data_too_large",
                &format!(
                    "callback_data.data must be at most {MAX_CALLBACK_DATA_BYTES} bytes of JSON"
                ),
            ))
        }
        // Valid JSON by construction: the body parser cut it out of the body.
        Some(Member::Raw(text)) => serde_json::from_str(text).map_err(|_| ApiError::internal())?,
        // The shape reads `data` as raw text only.
        Some(_) => return Err(ApiError::internal()),
    };
    Ok(Some(serde_json::json!({
        "url": url,
        "method": method,
        "field": field,
        "data": data,
    })))
}

/// `opzioni` as the commercial API takes it, `{"opzione_0": true}`; a list of names is also
/// understood.
fn parse_opzioni(v: Option<&Member>) -> Result<Vec<String>, ApiError> {
    let mut chosen = Vec::new();
    match v {
        None | Some(Member::Null) | Some(Member::Bool(false)) => {}
        Some(Member::Object(m)) => {
            for (name, on) in m {
                if parse_bool(&format!("opzioni.{name}"), Some(on))? {
                    chosen.push(name.clone());
                }
            }
        }
        Some(Member::Array(items)) => {
            for item in items {
                match item {
                    Member::String(s) => chosen.push(s.clone()),
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

pub fn parse_create(mut m: Members) -> Result<CreateBody, ApiError> {
    object(&m)?;
    let hash_visura = match m.get("hash_visura") {
        Some(Member::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(ApiError::hash_required()),
    };
    let json_visura = parse_json_visura(m.take("json_visura"), 250)?.unwrap_or_default();
    let submit = parse_state(m.get("state"))?.unwrap_or(true);
    let test = parse_bool("test", m.get("test"))?;
    let callback = m.get("callback_data").or_else(|| match m.get("callback") {
        // The Node SDK sends `callback`; a string there is the commercial API's internal tag.
        Some(v @ Member::Object(_)) => Some(v),
        _ => None,
    });
    Ok(CreateBody {
        hash_visura,
        json_visura,
        submit,
        test,
        callback_data: parse_callback(callback)?,
        email_target: parse_email(m.get("email_target"))?,
        opzioni: parse_opzioni(m.get("opzioni"))?,
    })
}

pub fn parse_update(mut m: Members) -> Result<UpdateBody, ApiError> {
    object(&m)?;
    let submit = parse_state(m.get("state"))?;
    let mut body = UpdateBody {
        submit,
        json_visura: parse_json_visura(m.take("json_visura"), 229)?,
        ..UpdateBody::default()
    };
    if m.contains("email_target") {
        body.email_target = Some(parse_email(m.get("email_target"))?);
    }
    let mut problems = Vec::new();
    for (key, v) in m.take_prefixed("json_visura.") {
        match field_value(&key, v) {
            Ok(value) => body.dotted.push((key, value)),
            Err(d) => problems.push(d),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(229, problems));
    }
    Ok(body)
}

/// `DELETE /richiesta/{_id}` may carry `{"motivo": "…"}`.
pub fn parse_motivo(m: &Members) -> Result<Option<String>, ApiError> {
    match m.get("motivo") {
        None | Some(Member::Null) => Ok(None),
        Some(Member::String(s)) if s.chars().count() <= 1000 => {
            Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty()))
        }
        Some(_) => Err(invalid(
            "motivo",
            "motivo_invalid",
            "motivo must be a string of at most 1000 characters",
        )),
    }
}

/// `POST /richiesta/{_id}/documenti` as JSON: a document beyond the form, one file.
pub struct SupplyDocument {
    pub codice: String,
    /// As in `json_visura`: base64 or a `data:` URL, optionally `name|` before it.
    pub file: String,
}

impl Shape for SupplyDocument {
    const MEMBERS: &'static [(&'static str, Read)] =
        &[("codice", Read::Value), ("file", Read::Value)];
}

impl JsonShape for SupplyDocument {
    const LIMIT: BodyLimit = BodyLimit::Result;
}

impl SupplyDocument {
    pub fn from_members(mut m: Members) -> Result<SupplyDocument, ApiError> {
        let codice = match m.get("codice") {
            Some(Member::String(c)) => c.clone(),
            _ => {
                return Err(ApiError::invalid_member(
                    "codice",
                    "required",
                    "codice is required: the document's slug, like contratto_locazione",
                ))
            }
        };
        // Taken, not copied: it can be megabytes.
        let file = match m.take("file") {
            Some(Member::String(f)) if !f.is_empty() => f,
            _ => {
                return Err(ApiError::invalid_member(
                    "file",
                    "required",
                    "file is required: base64 or a data: URL, optionally name| before it",
                ))
            }
        };
        Ok(SupplyDocument { codice, file })
    }
}

/// `POST /richiesta/{_id}/invito`: who the person is (their address) and how the link reaches
/// them.
pub struct Invite;

impl Shape for Invite {
    const MEMBERS: &'static [(&'static str, Read)] = &[
        ("email", Read::Value),
        ("consegna", Read::Value),
        ("messaggio", Read::Value),
        ("scadenza_giorni", Read::Value),
        ("risultato_visibile", Read::Value),
    ];
}

impl JsonShape for Invite {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

/// The most characters of an invitation's `messaggio`.
pub const MAX_INVITE_MESSAGE: usize = 500;

#[derive(Debug, Clone)]
pub struct InviteBody {
    pub email: String,
    pub consegna: sportello_domain::invitation::Consegna,
    pub messaggio: Option<String>,
    pub scadenza_giorni: u32,
    pub risultato_visibile: bool,
}

pub fn parse_invite(m: &Members) -> Result<InviteBody, ApiError> {
    use sportello_domain::invitation::{Consegna, DEFAULT_DAYS, MAX_DAYS};
    let email = match m.get("email") {
        Some(Member::String(s)) => sportello_domain::fields::email::validate(s)
            .map_err(|_| invalid("email", "email_invalid", "email is not a valid address"))?,
        _ => {
            return Err(invalid(
                "email",
                "required",
                "email is required: the address of the person the practice is about",
            ))
        }
    };
    let consegna = match m.get("consegna") {
        Some(Member::String(s)) => Consegna::parse(s),
        _ => None,
    }
    .ok_or_else(|| {
        invalid(
            "consegna",
            "consegna_invalid",
            "consegna is \"email\" (Sportello mails the link) or \"link\" (the answer carries it)",
        )
    })?;
    let messaggio = match m.get("messaggio") {
        None | Some(Member::Null) => None,
        Some(Member::String(s)) if s.chars().count() <= MAX_INVITE_MESSAGE && !s.contains('\0') => {
            Some(s.trim().to_string()).filter(|s| !s.is_empty())
        }
        Some(_) => {
            return Err(invalid(
                "messaggio",
                "messaggio_invalid",
                "messaggio must be a string of at most 500 characters",
            ))
        }
    };
    let scadenza_giorni = match m.get("scadenza_giorni") {
        None | Some(Member::Null) => DEFAULT_DAYS,
        Some(Member::Number(n)) => n
            .as_u64()
            .filter(|d| (1..=u64::from(MAX_DAYS)).contains(d))
            .and_then(|d| u32::try_from(d).ok())
            .ok_or_else(|| {
                invalid(
                    "scadenza_giorni",
                    "scadenza_invalid",
                    "scadenza_giorni is a whole number of days from 1 to 90",
                )
            })?,
        Some(_) => {
            return Err(invalid(
                "scadenza_giorni",
                "scadenza_invalid",
                "scadenza_giorni is a whole number of days from 1 to 90",
            ))
        }
    };
    let risultato_visibile = match m.get("risultato_visibile") {
        None | Some(Member::Null) => false,
        Some(Member::Bool(b)) => *b,
        Some(_) => {
            return Err(invalid(
                "risultato_visibile",
                "boolean_required",
                "risultato_visibile is true or false",
            ))
        }
    };
    Ok(InviteBody {
        email,
        consegna,
        messaggio,
        scadenza_giorni,
        risultato_visibile,
    })
}
