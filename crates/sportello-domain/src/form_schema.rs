//! A service's form (`json_visura`) as a JSON Schema 2020-12 document, so that a client can
//! check its input before sending it without evaluating any `validazione` expression.
//!
//! The schema says what can be said about a value's *shape*; the server also checks what only
//! data or arithmetic can tell — a codice fiscale's check character and Belfiore code, a partita
//! IVA's check digit, that a date exists and a birth date is not in the future, that a comune
//! exists (or still exists, for a residence), a file's real type, size, pixels and pages. Each
//! field's `x-server-checks` lists those, so a value the schema accepts can still be refused,
//! never the other way round. The two are kept in agreement by a test that sends generated
//! forms to the real server and compares.
//!
//! Rules mirrored from [`crate::submission::check`] and [`crate::fields::validate`]:
//! - every value is a string; surrounding whitespace is ignored;
//! - a blank value counts as absent, so it is always allowed for a field and never satisfies a
//!   `validazione` alternative;
//! - a key that is not a field of the service is refused;
//! - `validazione` becomes `anyOf`, one member per alternative of its disjunctive normal form,
//!   each requiring its fields to be present and not blank.

use serde_json::{json, Map, Value};

use crate::catalog::{Field, Service};
use crate::fields::{date, territory, FieldType, NameHints};

/// The JSON Schema dialect of the documents made here.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// Limits that are configuration rather than catalog, so that the schema says what this
/// installation accepts.
#[derive(Debug, Clone, Copy)]
pub struct SchemaLimits {
    /// Longest `testo`/`denominazione` value, in characters, after trimming.
    pub max_text_chars: usize,
    /// Largest decoded file, in bytes (stated, not enforced by the schema).
    pub max_file_bytes: usize,
}

/// The schema of `json_visura` for `service`, identified by `id` (an absolute URI).
pub fn form_schema(service: &Service, limits: SchemaLimits, id: &str) -> Value {
    let mut properties = Map::new();
    for field in &service.fields {
        properties.insert(field.key(), field_schema(field, limits));
    }
    let mut schema = json!({
        "$schema": DIALECT,
        "$id": id,
        "title": service.nome_visura,
        "description": format!(
            "The `json_visura` object of a request for \"{}\". Values are strings; a blank value \
             counts as absent. Which fields are required is decided by `validazione`, given here \
             as `anyOf` (one member per way of satisfying it).",
            service.nome_visura
        ),
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
        "x-hash-visura": service.hash_visura,
        "x-validazione": service.validazione,
        "$defs": {
            "blank": { "type": "string", "pattern": r"^\s*$" },
            "filled": { "type": "string", "pattern": r"\S" },
        },
    });
    if let (Some(obj), Ok(alternatives)) =
        (schema.as_object_mut(), service.expression.alternatives())
    {
        let members: Vec<Value> = alternatives
            .iter()
            .map(|fields| {
                let keys: Vec<String> = fields.iter().map(|n| format!("${n}")).collect();
                let filled: Map<String, Value> = keys
                    .iter()
                    .map(|k| (k.clone(), json!({ "$ref": "#/$defs/filled" })))
                    .collect();
                json!({ "required": keys, "properties": filled })
            })
            .collect();
        obj.insert("anyOf".into(), Value::Array(members));
    }
    schema
}

fn field_schema(field: &Field, limits: SchemaLimits) -> Value {
    let (shape, server_checks) = value_shape(field, limits);
    let mut schema = json!({
        "title": field.nome,
        "description": field.istruzioni,
        "type": "string",
        "anyOf": [ { "$ref": "#/$defs/blank" }, shape ],
        "x-tipo": field.tipo.as_str(),
        "x-server-checks": server_checks,
    });
    if let (Some(obj), Some(ordine)) = (schema.as_object_mut(), &field.ordine) {
        obj.insert("x-ordine".into(), Value::String(ordine.clone()));
    }
    schema
}

/// The schema of a non-blank value of the field, and what only the server checks.
fn value_shape(field: &Field, limits: SchemaLimits) -> (Value, Vec<&'static str>) {
    let trimmed = |core: &str| format!(r"^\s*(?:{core})\s*$");
    match field.tipo {
        FieldType::Testo | FieldType::Denominazione => (
            json!({ "pattern": text_pattern(limits.max_text_chars) }),
            vec![],
        ),
        FieldType::Email => (
            json!({ "format": "email", "pattern": trimmed(EMAIL) }),
            vec!["at most 254 characters, 64 before the @, 63 per domain label"],
        ),
        FieldType::DataIso8601 => {
            let mut checks = vec!["the date exists in the calendar"];
            if NameHints::of(&field.nome).birth {
                checks.push("a birth date is not in the future");
            }
            (json!({ "pattern": trimmed(&date_pattern()) }), checks)
        }
        FieldType::CodiceFiscalePersonaFisica => (
            json!({ "pattern": trimmed(&personal_code_pattern()) }),
            vec![
                "the day fits the month",
                "the Belfiore code is a comune or a foreign state",
                "the check character",
            ],
        ),
        FieldType::CodiceFiscale | FieldType::PartitaIva => (
            json!({ "pattern": trimmed(&format!("{}|{VAT}", personal_code_pattern())) }),
            vec![
                "a personal code: the day, the Belfiore code and the check character",
                "a partita IVA: the office code and the check digit",
            ],
        ),
        FieldType::CodProvincia => (json!({ "pattern": trimmed(&province_pattern()) }), vec![]),
        FieldType::CodComune => {
            let mut checks = vec!["the Belfiore code is in the ANPR list of comuni"];
            let hints = NameHints::of(&field.nome);
            if hints.residence {
                checks.push("a residence is a comune that still exists");
            }
            if hints.birth {
                checks.push("a birth place may also be a foreign state (Z code)");
            }
            (json!({ "pattern": trimmed("[A-Za-z][0-9]{3}") }), checks)
        }
        FieldType::File => (
            json!({
                "pattern": FILE,
                "contentEncoding": "base64",
                "x-max-bytes": limits.max_file_bytes,
            }),
            vec![
                "the content is a PDF, JPEG or PNG (read from its bytes)",
                "the decoded size, image pixels and PDF pages are within the limits",
                "the base64 is well formed",
            ],
        ),
    }
}

/// Characters no text value may contain: Unicode Cc, line and paragraph separators, and the
/// bidirectional controls (see `fields::text`).
const TEXT_FORBIDDEN: &str = r"\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069";

/// One line of 1 to `max` characters after trimming, with no forbidden character.
fn text_pattern(max: usize) -> String {
    let edge = format!(r"[^\s{TEXT_FORBIDDEN}]");
    let core = match max {
        0 => return r"^[^\s\S]$".to_string(), // nothing fits
        1 => edge.clone(),
        _ => format!("{edge}(?:[^{TEXT_FORBIDDEN}]{{0,{}}}{edge})?", max - 2),
    };
    format!(r"^\s*{core}\s*$")
}

/// A dot-atom local part, `@`, LDH labels, and a top-level label of letters or punycode.
const EMAIL: &str = concat!(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*",
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+",
    r"(?:[A-Za-z]{2,}|[Xx][Nn]--[A-Za-z0-9-]+)",
);

/// `YYYY-MM-DD` or `DD-MM-YYYY`, years from [`date::MIN_YEAR`].
fn date_pattern() -> String {
    let year = year_pattern(date::MIN_YEAR);
    let month = "0[1-9]|1[0-2]";
    let day = "0[1-9]|[12][0-9]|3[01]";
    format!("(?:{year})-(?:{month})-(?:{day})|(?:{day})-(?:{month})-(?:{year})")
}

/// Four-digit years from `min` (1000..=9999) on.
fn year_pattern(min: i32) -> String {
    let digits: Vec<char> = format!("{min:04}").chars().collect();
    let mut parts = Vec::new();
    // A year is >= min when it shares a prefix with min and then has a larger digit, or is min.
    for i in 0..digits.len() {
        let d = digits[i].to_digit(10).unwrap_or(9);
        if d < 9 {
            let prefix: String = digits[..i].iter().collect();
            let rest = digits.len() - i - 1;
            parts.push(format!("{prefix}[{}-9][0-9]{{{rest}}}", d + 1));
        }
    }
    parts.push(digits.iter().collect());
    parts.join("|")
}

/// Letters where letters go, digits or omocodia letters where digits go, a month letter; any
/// case.
fn personal_code_pattern() -> String {
    let l = "[A-Za-z]";
    let d = "[0-9LMNPQRSTUVlmnpqrstuv]";
    let month = "[ABCDEHLMPRSTabcdehlmprst]";
    format!("{l}{{6}}{d}{{2}}{month}{d}{{2}}{l}{d}{{3}}{l}")
}

const VAT: &str = "[0-9]{11}";

/// Every known sigla, current and historical, in any case.
fn province_pattern() -> String {
    let mut sigle: Vec<&str> = territory::all_province().map(|p| p.sigla).collect();
    sigle.sort_unstable();
    sigle
        .iter()
        .map(|s| {
            s.chars()
                .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase()))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// `[name|][data:<mime>;base64,]<base64>`, standard or URL-safe alphabet, line breaks allowed.
const FILE: &str = concat!(
    r"^\s*(?:[\s\S]*\|)?[\t\n\f\r ]*",
    r"(?:[Dd][Aa][Tt][Aa]:[^,]*;[\t\n\f\r ]*[Bb][Aa][Ss][Ee]64[\t\n\f\r ]*,)?",
    r"[A-Za-z0-9+/_=\t\n\f\r -]*[A-Za-z0-9+/_-][A-Za-z0-9+/_=\t\n\f\r -]*$",
);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn limits() -> SchemaLimits {
        SchemaLimits {
            max_text_chars: 255,
            max_file_bytes: 1024,
        }
    }

    #[test]
    fn year_pattern_starts_at_the_minimum() {
        assert_eq!(
            year_pattern(1870),
            "[2-9][0-9]{3}|1[9-9][0-9]{2}|18[8-9][0-9]{1}|187[1-9][0-9]{0}|1870"
        );
    }

    #[test]
    fn every_service_has_a_schema_with_its_fields_and_alternatives() {
        let catalog = Catalog::embedded().unwrap();
        for service in catalog.services() {
            let schema = form_schema(service, limits(), "x");
            let props = schema["properties"].as_object().unwrap();
            assert_eq!(props.len(), service.fields.len());
            let alternatives = schema["anyOf"].as_array().unwrap();
            assert_eq!(
                alternatives.len(),
                service.expression.alternatives().unwrap().len()
            );
            assert_eq!(schema["additionalProperties"], false);
        }
    }

    #[test]
    fn a_one_character_text_limit_still_makes_a_pattern() {
        assert_eq!(text_pattern(1), format!(r"^\s*[^\s{TEXT_FORBIDDEN}]\s*$"));
    }
}
