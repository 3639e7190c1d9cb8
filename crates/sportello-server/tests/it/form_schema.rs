//! `GET /visure/{hash}/schema`: the JSON Schema of each service's form, checked with a real JSON
//! Schema validator against the real server on generated forms — the two must agree on what
//! is acceptable. Values are drawn from valid samples and from samples whose fault is one of
//! shape (the schema's part); faults only the server can see (check characters, comuni that do
//! not exist) are listed by the schema under `x-server-checks` and tested at the end.

#![allow(clippy::unwrap_used)]

use crate::common;
use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Map, Value};
use sportello_server::Limits;

/// Forms generated per service.
const FORMS_PER_SERVICE: usize = 60;

fn no_rate_limits() -> Limits {
    Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 0,
        ..Limits::default()
    }
}

/// Values the server accepts for a field of `tipo`, in the forms clients send.
fn good_values(tipo: &str) -> Vec<String> {
    let pdf = format!("data:application/pdf;base64,{}", b64(&pdf("schema")));
    let strings: Vec<String> = match tipo {
        "testo" | "denominazione" => vec![
            "Mario Rossi".into(),
            "  Via Roma 1, int. 3  ".into(),
            "Società Cooperativa Sociale “Il Sole”".into(),
            "x".repeat(255),
        ],
        "email" => vec![
            "mario.rossi@example.com".into(),
            " Anna.Bianchi+caf@Sub.Example.IT ".into(),
        ],
        "data_iso8601" => vec![
            "1985-12-10".into(),
            "10-12-1985".into(),
            "2000-02-29".into(),
        ],
        "codice_fiscale" | "partita_iva" => vec![
            CF.into(),
            CF.to_lowercase(),
            omocode(),
            "00743110157".into(),
        ],
        "codice_fiscale_persona_fisica" => vec![CF.into(), CF.to_lowercase()],
        "cod_provincia" => vec!["RM".into(), "mi".into(), " TO ".into()],
        "cod_comune" => vec!["H501".into(), "f205".into()],
        "file" => vec![
            format!("documento.pdf|{pdf}"),
            pdf.clone(),
            b64(&common::pdf("plain")),
        ],
        other => panic!("no sample for tipo {other}"),
    };
    strings
}

/// Values refused by their shape alone.
fn bad_values(tipo: &str) -> Vec<String> {
    match tipo {
        "testo" | "denominazione" => vec![
            "riga uno\nriga due".into(),
            "x".repeat(256),
            "abc\u{202E}def".into(),
            "tab\tinside".into(),
        ],
        "email" => vec![
            "mario.rossi".into(),
            "mario@localhost".into(),
            "mario rossi@example.com".into(),
            "mario..rossi@example.com".into(),
            "mario@example.123".into(),
        ],
        "data_iso8601" => vec![
            "1985/12/10".into(),
            "10-13-1985".into(),
            "1850-01-01".into(),
            "5-3-2020".into(),
            "domani".into(),
        ],
        "codice_fiscale" | "partita_iva" => vec![
            "RSSMRA85T10H50".into(),
            "RSSMRA85X10H501O".into(),
            "1234567890".into(),
            "RSSMRA85T10H501OX".into(),
        ],
        "codice_fiscale_persona_fisica" => vec![
            "RSSMRA85T10H50".into(),
            "RSSMRA85X10H501O".into(),
            "00743110157".into(),
        ],
        "cod_provincia" => vec!["XX".into(), "R1".into(), "ROM".into()],
        "cod_comune" => vec!["H50".into(), "1501".into(), "H5011".into()],
        "file" => vec![
            "questo non è base64!".into(),
            "data:application/pdf,%PDF".into(),
        ],
        other => panic!("no sample for tipo {other}"),
    }
}

/// [`CF`] with omocodia substitutions, as the Agenzia delle Entrate assigns to a second holder.
fn omocode() -> String {
    sportello_domain::fields::codice_fiscale::CodiceFiscale::parse(CF)
        .unwrap()
        .omocodia_variant(0b11)
        .as_str()
        .to_string()
}

fn pick(rng: &mut StdRng, values: &[String]) -> String {
    values[rng.gen_range(0..values.len())].clone()
}

/// A form that satisfies one alternative of `validazione` (taken from the schema's `anyOf`),
/// with the other fields absent, blank or filled; half of them then get one fault: a badly
/// shaped value, a required field removed or blanked, or a key the service does not have.
fn generate(
    rng: &mut StdRng,
    campi: &Map<String, Value>,
    alternatives: &[Vec<String>],
) -> Map<String, Value> {
    let tipo = |key: &str| campi[key]["tipo"].as_str().unwrap().to_string();
    let chosen = &alternatives[rng.gen_range(0..alternatives.len())];
    let mut form = Map::new();
    for key in campi.keys() {
        let value = if chosen.contains(key) {
            pick(rng, &good_values(&tipo(key)))
        } else {
            match rng.gen_range(0..100) {
                0..=49 => continue,
                50..=64 => ["", "  "][rng.gen_range(0..2)].to_string(),
                _ => pick(rng, &good_values(&tipo(key))),
            }
        };
        form.insert(key.clone(), Value::String(value));
    }
    if rng.gen_bool(0.5) {
        let keys: Vec<&String> = campi.keys().collect();
        match rng.gen_range(0..4) {
            0 | 1 => {
                let key = keys[rng.gen_range(0..keys.len())];
                form.insert(
                    key.clone(),
                    Value::String(pick(rng, &bad_values(&tipo(key)))),
                );
            }
            2 if !chosen.is_empty() => {
                let key = &chosen[rng.gen_range(0..chosen.len())];
                if rng.gen_bool(0.5) {
                    form.remove(key);
                } else {
                    form.insert(key.clone(), json!(" "));
                }
            }
            _ => {
                form.insert("$99".into(), json!("Mario"));
            }
        }
    }
    form
}

#[tokio::test]
async fn the_schema_and_the_server_agree_on_generated_forms() {
    let app = TestApp::spawn_with(no_rate_limits()).await;
    let token = app.new_client("schema").await;
    let mut rng = StdRng::seed_from_u64(0x005c_4e3a);
    let hashes: Vec<String> = app
        .get("/visure")
        .await
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["hash_visura"].as_str().unwrap().to_string())
        .collect();
    assert!(hashes.len() >= 5);
    let (mut accepted, mut refused) = (0, 0);
    for hash in &hashes {
        let schema = app
            .call(Method::GET, &format!("/visure/{hash}/schema"), &token, None)
            .await;
        assert_eq!(schema.status, 200);
        let validator = jsonschema::draft202012::new(&schema.body).unwrap();
        let visura = app.get(&format!("/visure/{hash}")).await;
        let campi = visura.assert_ok()["json_struttura"]["campi"]
            .as_object()
            .unwrap()
            .clone();
        let alternatives: Vec<Vec<String>> = schema.body["anyOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|k| k.as_str().unwrap().to_string())
                    .collect()
            })
            .collect();
        for _ in 0..FORMS_PER_SERVICE {
            let form = Value::Object(generate(&mut rng, &campi, &alternatives));
            let by_schema = validator.is_valid(&form);
            let answer = app
                .call(
                    Method::POST,
                    "/richiesta",
                    &token,
                    Some(json!({"hash_visura": hash, "json_visura": form})),
                )
                .await;
            let by_server = match answer.status.as_u16() {
                200 | 201 => true,
                412 => false,
                other => panic!("{hash}: unexpected status {other}: {}", answer.body),
            };
            assert_eq!(
                by_schema, by_server,
                "{hash}: schema says {by_schema}, server says {by_server} for {form}\nserver: {}",
                answer.body
            );
            if by_server {
                accepted += 1;
            } else {
                refused += 1;
            }
        }
    }
    // Both outcomes must be well represented, or the test proves little.
    assert!(
        accepted > 50 && refused > 50,
        "{accepted} accepted, {refused} refused"
    );
}

#[tokio::test]
async fn the_schema_describes_fields_and_validazione() {
    let app = TestApp::spawn().await;
    let schema = app.get(&format!("/visure/{ASSEGNO}/schema")).await;
    assert_eq!(schema.status, 200);
    assert_eq!(
        schema.headers["content-type"].to_str().unwrap(),
        "application/schema+json"
    );
    let doc = &schema.body;
    assert_eq!(
        doc["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(doc["x-hash-visura"], ASSEGNO);
    let visura = app.get(&format!("/visure/{ASSEGNO}")).await;
    let data = visura.assert_ok();
    assert_eq!(doc["x-validazione"], data["json_struttura"]["validazione"]);
    for (key, campo) in data["json_struttura"]["campi"].as_object().unwrap() {
        assert_eq!(doc["properties"][key]["title"], campo["nome"], "{key}");
        assert_eq!(doc["properties"][key]["x-tipo"], campo["tipo"], "{key}");
    }
    // `$0 && $1 && … && ($5 || $6)`-like expressions become one `required` set per alternative.
    for alternative in doc["anyOf"].as_array().unwrap() {
        assert!(!alternative["required"].as_array().unwrap().is_empty());
    }
    // An alias answers with the canonical service's schema; an unknown hash is error 200.
    let canonical: Vec<Value> = app
        .get("/visure")
        .await
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["hash_visura"].clone())
        .collect();
    let alias = "6aa0789f5ba34684b2bc5ccf364f8929"; // the commercial catalogue's ISEE
    let by_alias = app.get(&format!("/visure/{alias}/schema")).await;
    assert_eq!(by_alias.status, 200);
    assert_ne!(by_alias.body["x-hash-visura"], alias);
    assert!(canonical.contains(&by_alias.body["x-hash-visura"]));
    let unknown = app
        .get("/visure/00000000000000000000000000000000/schema")
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_code(), 200);
}

#[tokio::test]
async fn the_openapi_document_carries_every_form() {
    let app = TestApp::spawn().await;
    let doc = app.get("/openapi.json").await;
    let schemas = doc.body["components"]["schemas"].as_object().unwrap();
    let visure = app.get("/visure").await;
    for service in visure.assert_ok().as_array().unwrap() {
        let hash = service["hash_visura"].as_str().unwrap();
        let form = &schemas[&format!("json_visura_{hash}")];
        assert_eq!(form["x-hash-visura"], hash);
        let served = app.get(&format!("/visure/{hash}/schema")).await;
        assert_eq!(form, &served.body);
    }
}

#[tokio::test]
async fn faults_only_the_server_sees_are_listed_not_hidden() {
    let app = TestApp::spawn().await;
    let schema = app.get(&format!("/visure/{ASSEGNO}/schema")).await;
    let validator = jsonschema::draft202012::new(&schema.body).unwrap();
    let cf_key = schema.body["properties"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, p)| p["x-tipo"].as_str().unwrap().starts_with("codice_fiscale"))
        .map(|(k, _)| k.clone())
        .unwrap();
    let checks = schema.body["properties"][&cf_key]["x-server-checks"].to_string();
    assert!(checks.contains("check character"), "{checks}");
    // The right shape with a wrong check character: the schema lets it through, the server
    // does not, and says which field.
    let mut form = assegno_form();
    form.insert(cf_key.clone(), json!("RSSMRA85T10H501A"));
    assert!(validator.is_valid(&Value::Object(form.clone())));
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": form}),
        )
        .await;
    assert_eq!(answer.status, 412);
    assert_eq!(answer.failing_fields(), vec![cf_key]);
}
