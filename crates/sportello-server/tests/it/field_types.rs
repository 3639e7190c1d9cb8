//! Every field `tipo`, through `POST /richiesta` over HTTP: what a valid value of each type looks
//! like in the forms real clients send it, and how an invalid one is refused (412, error 250,
//! `details` naming the `$n` with a machine-readable `codice`, and never quoting the value).
#![allow(clippy::unwrap_used)]

use crate::common;

use chrono::{Datelike, NaiveDate};
use common::*;
use reqwest::Method;
use serde_json::{json, Map, Value};
use sportello_domain::fields::codice_fiscale::{CodiceFiscale, Sex};
use sportello_domain::fields::territory;
use sportello_server::Limits;

/// A partita IVA with a valid office code and check digit.
const PARTITA_IVA: &str = "00743110157";

/// `base` with `key` set to `value`, validated and priced only (`test: true`).
async fn try_value(
    app: &TestApp,
    hash: &str,
    base: Map<String, Value>,
    key: &str,
    value: &str,
) -> Answer {
    let mut json_visura = base;
    json_visura.insert(key.to_string(), Value::String(value.to_string()));
    app.post(
        "/richiesta",
        json!({"hash_visura": hash, "json_visura": json_visura, "test": true}),
    )
    .await
}

async fn accepts(app: &TestApp, hash: &str, base: Map<String, Value>, key: &str, value: &str) {
    let answer = try_value(app, hash, base, key, value).await;
    assert_eq!(answer.status, 200, "{key} = {value:?}: {:#}", answer.body);
    answer.assert_ok();
}

/// Asserts the refusal names exactly `key` with `codice`, and that nothing in the answer quotes
/// the submitted value.
async fn refuses(
    app: &TestApp,
    hash: &str,
    base: Map<String, Value>,
    key: &str,
    value: &str,
    codice: &str,
) {
    let answer = try_value(app, hash, base, key, value).await;
    assert_refused(&answer, key, codice);
    assert_does_not_quote(&answer, value);
}

fn assert_refused(answer: &Answer, key: &str, codice: &str) {
    assert_eq!(answer.status, 412, "{key}: {:#}", answer.body);
    assert_eq!(answer.error_code(), 250);
    let details = answer.body["details"].as_array().unwrap();
    assert_eq!(details.len(), 1, "{:#}", answer.body);
    assert_eq!(details[0]["campo"], key, "{:#}", answer.body);
    assert_eq!(details[0]["codice"], codice, "{:#}", answer.body);
    assert!(
        details[0]["messaggio"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{:#}",
        answer.body
    );
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.starts_with("Insufficient data to validate the request: "),
        "{message}"
    );
    assert!(message.contains(key), "{message}");
}

fn assert_does_not_quote(answer: &Answer, value: &str) {
    let text = answer.body.to_string().to_lowercase();
    let value = value.trim().to_lowercase();
    // Very short values ("XX") could occur by chance inside English prose.
    if value.len() >= 4 {
        assert!(
            !text.contains(&value),
            "the answer quotes {value:?}: {text}"
        );
    }
}

/// `CF` with its first 15 characters changed by `f` and a correct check character, so only the
/// rule `f` breaks can fail.
fn cf_with(f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut b = CF.as_bytes()[..15].to_vec();
    f(&mut b);
    let first15 = String::from_utf8(b).unwrap();
    let check = CodiceFiscale::compute_check_character(&first15).unwrap();
    format!("{first15}{check}")
}

#[tokio::test]
async fn codice_fiscale_accepts_valid_personal_codes_and_partite_iva_and_names_the_broken_rule() {
    let app = TestApp::spawn().await;
    let base = famiglia_form;

    // A valid code, in lower case and with spaces around it.
    accepts(&app, FAMIGLIA, base(), "$7", CF).await;
    accepts(&app, FAMIGLIA, base(), "$7", &CF.to_lowercase()).await;
    accepts(&app, FAMIGLIA, base(), "$7", &format!("  {CF} ")).await;

    // Omocodia: the Agenzia's first and third variants, and every digit replaced.
    let cf = CodiceFiscale::parse(CF).unwrap();
    for mask in [0b1, 0b111, 0b111_1111] {
        let variant = cf.omocodia_variant(mask);
        assert_ne!(variant.as_str(), CF);
        accepts(&app, FAMIGLIA, base(), "$7", variant.as_str()).await;
    }
    // Another person, encoded from scratch: a woman born abroad (Germania, Z112).
    let abroad = CodiceFiscale::encode(
        "BNC",
        "LRA",
        NaiveDate::from_ymd_opt(1990, 2, 28).unwrap(),
        Sex::Female,
        "Z112",
    )
    .unwrap();
    accepts(&app, FAMIGLIA, base(), "$7", abroad.as_str()).await;

    // `codice_fiscale` also takes a company's code, its partita IVA.
    accepts(&app, FAMIGLIA, base(), "$7", PARTITA_IVA).await;

    let wrong_check = format!("{}A", &CF[..15]);
    assert_ne!(wrong_check, CF);
    refuses(
        &app,
        FAMIGLIA,
        base(),
        "$7",
        &wrong_check,
        "cf_check_character",
    )
    .await;
    // `F` is not a month letter (ABCDEHLMPRST).
    let bad_month = cf_with(|b| b[8] = b'F');
    refuses(&app, FAMIGLIA, base(), "$7", &bad_month, "cf_month").await;
    // Day 32 exists in no month.
    let bad_day = cf_with(|b| b[9..11].copy_from_slice(b"32"));
    refuses(&app, FAMIGLIA, base(), "$7", &bad_day, "cf_day").await;
    // A Belfiore code that is no comune and no foreign state.
    assert!(!territory::belfiore_exists("Y999"));
    let unknown_place = cf_with(|b| b[11..15].copy_from_slice(b"Y999"));
    refuses(&app, FAMIGLIA, base(), "$7", &unknown_place, "cf_belfiore").await;
    refuses(&app, FAMIGLIA, base(), "$7", &CF[..15], "cf_length").await;
    refuses(
        &app,
        FAMIGLIA,
        base(),
        "$7",
        "RSSMRA8XT10H501O",
        "cf_format",
    )
    .await;
    // Eleven digits were meant as a partita IVA: its check digit is what is wrong.
    refuses(
        &app,
        FAMIGLIA,
        base(),
        "$7",
        "00743110158",
        "piva_check_digit",
    )
    .await;
}

#[tokio::test]
async fn codice_fiscale_persona_fisica_refuses_a_partita_iva() {
    let app = TestApp::spawn().await;
    accepts(&app, ASSEGNO, assegno_form(), "$4", CF).await;
    accepts(&app, ASSEGNO, assegno_form(), "$4", &CF.to_lowercase()).await;
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$4",
        PARTITA_IVA,
        "cf_length",
    )
    .await;
    let wrong_check = format!("{}A", &CF[..15]);
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$4",
        &wrong_check,
        "cf_check_character",
    )
    .await;
}

#[tokio::test]
async fn a_valid_codice_fiscale_is_stored_normalised_to_upper_case() {
    let app = TestApp::spawn().await;
    let mut json_visura = famiglia_form();
    json_visura.insert("$7".into(), json!(format!(" {} ", CF.to_lowercase())));
    json_visura.insert("$5".into(), json!("rm"));
    json_visura.insert("$6".into(), json!("h501"));
    json_visura.insert("$2".into(), json!("10-12-1985"));
    let created = app
        .post(
            "/richiesta",
            json!({"hash_visura": FAMIGLIA, "json_visura": json_visura}),
        )
        .await;
    let id = created.assert_ok()["_id"].as_str().unwrap().to_string();

    // The operator reads the normalised values.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let campi = detail.assert_ok()["campi"].as_array().unwrap().clone();
    let valore = |key: &str| {
        campi.iter().find(|c| c["campo"] == key).unwrap()["valore"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(valore("$7"), CF);
    assert_eq!(valore("$5"), "RM");
    assert_eq!(valore("$6"), "H501");
    assert_eq!(valore("$2"), "1985-12-10");
}

#[tokio::test]
async fn dates_are_accepted_in_both_forms_and_impossible_or_future_birth_dates_refused() {
    let app = TestApp::spawn().await;
    let base = famiglia_form;
    accepts(&app, FAMIGLIA, base(), "$2", "1985-12-10").await;
    // The PHP SDK's form.
    accepts(&app, FAMIGLIA, base(), "$2", "10-12-1985").await;
    accepts(&app, FAMIGLIA, base(), "$2", "2000-02-29").await;

    refuses(&app, FAMIGLIA, base(), "$2", "1985-02-30", "date_invalid").await;
    refuses(&app, FAMIGLIA, base(), "$2", "30-02-1985", "date_invalid").await;
    refuses(&app, FAMIGLIA, base(), "$2", "1985/12/10", "date_invalid").await;
    refuses(&app, FAMIGLIA, base(), "$2", "5-3-1985", "date_invalid").await;
    refuses(
        &app,
        FAMIGLIA,
        base(),
        "$2",
        "1066-10-14",
        "date_out_of_range",
    )
    .await;

    // "Data di nascita": a birth date after today (the server's clock) is refused.
    let today = app.state.clock.today();
    let next_year = NaiveDate::from_ymd_opt(today.year() + 1, 1, 15).unwrap();
    refuses(
        &app,
        FAMIGLIA,
        base(),
        "$2",
        &next_year.format("%Y-%m-%d").to_string(),
        "date_in_future",
    )
    .await;
    accepts(
        &app,
        FAMIGLIA,
        base(),
        "$2",
        &today.format("%Y-%m-%d").to_string(),
    )
    .await;
}

#[tokio::test]
async fn province_and_comuni_must_exist_and_a_residence_must_be_current() {
    let app = TestApp::spawn().await;
    let base = famiglia_form;
    accepts(&app, FAMIGLIA, base(), "$5", "RM").await;
    accepts(&app, FAMIGLIA, base(), "$5", "rm").await;
    refuses(&app, FAMIGLIA, base(), "$5", "XX", "provincia_unknown").await;
    refuses(&app, FAMIGLIA, base(), "$5", "ROMA", "provincia_unknown").await;

    accepts(&app, FAMIGLIA, base(), "$6", "H501").await;
    accepts(&app, FAMIGLIA, base(), "$6", "h501").await;
    refuses(&app, FAMIGLIA, base(), "$6", "Y999", "comune_unknown").await;
    refuses(&app, FAMIGLIA, base(), "$6", "Roma", "comune_unknown").await;
    // A002 Abbadia Sopra Adda, suppressed in 1928 (data/comuni.csv: current = 0).
    let suppressed = territory::comune("A002").unwrap();
    assert!(!suppressed.current);
    refuses(&app, FAMIGLIA, base(), "$6", "A002", "comune_suppressed").await;
    // A foreign state is a birth place, never a comune of residence.
    refuses(&app, FAMIGLIA, base(), "$6", "Z112", "comune_unknown").await;
}

#[tokio::test]
async fn text_and_email_fields_are_checked() {
    let app = TestApp::spawn().await;
    accepts(&app, ASSEGNO, assegno_form(), "$0", "  Maria Grazia  ").await;
    accepts(&app, ASSEGNO, assegno_form(), "$0", "Niccolò D'Alò").await;
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$0",
        "Maria\nGrazia",
        "control_characters",
    )
    .await;
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$0",
        &"A".repeat(256),
        "too_long",
    )
    .await;

    accepts(
        &app,
        ASSEGNO,
        assegno_form(),
        "$2",
        "maria.grazia+caf@example.it",
    )
    .await;
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$2",
        "maria.grazia.example.it",
        "email_invalid",
    )
    .await;
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$2",
        "maria@",
        "email_invalid",
    )
    .await;
}

#[tokio::test]
async fn files_are_accepted_in_the_three_inline_forms_and_sniffed_by_content() {
    let app = TestApp::spawn().await;
    let bytes = pdf("identity card");
    // name|data:<mime>;base64,<content>: what the commercial API documents.
    accepts(
        &app,
        ASSEGNO,
        assegno_form(),
        "$5",
        &format!("carta.pdf|data:application/pdf;base64,{}", b64(&bytes)),
    )
    .await;
    // A bare data: URL, and bare base64.
    accepts(
        &app,
        ASSEGNO,
        assegno_form(),
        "$5",
        &format!("data:application/pdf;base64,{}", b64(&bytes)),
    )
    .await;
    accepts(&app, ASSEGNO, assegno_form(), "$5", &b64(&bytes)).await;
    // A PNG declared as a PDF: the content decides, and it is an accepted kind.
    accepts(
        &app,
        ASSEGNO,
        assegno_form(),
        "$5",
        &format!("foto.png|data:application/pdf;base64,{}", b64(&png())),
    )
    .await;

    // Text bytes declared as a PDF.
    let not_a_pdf = b"Nome: Mario Rossi\nQuesto non e' un PDF\n";
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$5",
        &format!("carta.pdf|data:application/pdf;base64,{}", b64(not_a_pdf)),
        "file_type",
    )
    .await;
    // A Windows executable (the `MZ` DOS header) declared as a PDF.
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff".to_vec();
    exe.extend_from_slice(b"This program cannot be run in DOS mode.");
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$5",
        &format!("carta.pdf|data:application/pdf;base64,{}", b64(&exe)),
        "file_type",
    )
    .await;
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$5",
        "carta.pdf|data:application/pdf;base64,@@@not base64@@@",
        "file_encoding",
    )
    .await;
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$5",
        "carta.pdf|data:application/pdf;base64,",
        "file_empty",
    )
    .await;
    // The optional `$7` is still checked when present.
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$7",
        &format!("mandato.pdf|data:application/pdf;base64,{}", b64(not_a_pdf)),
        "file_type",
    )
    .await;
}

#[tokio::test]
async fn a_file_over_the_configured_limit_is_refused() {
    let app = TestApp::spawn_with(Limits {
        max_file_bytes: 1024,
        ..Default::default()
    })
    .await;
    let small = pdf("small");
    assert!(small.len() < 1024);
    accepts(&app, ASSEGNO, assegno_form(), "$5", &pdf_field("small.pdf")).await;

    let mut big = pdf("big");
    big.extend(std::iter::repeat_n(b' ', 2048));
    refuses(
        &app,
        ASSEGNO,
        assegno_form(),
        "$5",
        &format!("big.pdf|data:application/pdf;base64,{}", b64(&big)),
        "file_too_large",
    )
    .await;
}

#[tokio::test]
async fn missing_fields_are_named_after_the_nearest_alternative_of_validazione() {
    let app = TestApp::spawn().await;

    // `$7` is optional: `($0 && … && $7) || ($0 && … && $6)`.
    let mut without_mandate = assegno_form();
    without_mandate.remove("$7");
    let created = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": without_mandate, "test": true}),
        )
        .await;
    created.assert_ok();

    // Without `$5` and `$7`, only `$5` is needed.
    let mut without_document = without_mandate.clone();
    without_document.remove("$5");
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": without_document}),
        )
        .await;
    assert_refused(&answer, "$5", "required");

    // An empty string and null count as absent too.
    let mut blank = without_mandate.clone();
    blank.insert("$5".into(), json!("   "));
    blank.insert("$6".into(), Value::Null);
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": blank}),
        )
        .await;
    assert_eq!(answer.status, 412, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 250);
    assert_eq!(answer.failing_fields(), ["$5", "$6"]);

    // Nothing at all: the shorter alternative, every field in order, each `required`.
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {}}),
        )
        .await;
    assert_eq!(answer.status, 412, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 250);
    assert_eq!(
        answer.failing_fields(),
        ["$0", "$1", "$2", "$3", "$4", "$5", "$6"]
    );
    for d in answer.body["details"].as_array().unwrap() {
        assert_eq!(d["codice"], "required");
    }

    // Nothing was created by any of these.
    assert_eq!(app.get("/richiesta").await.assert_ok(), &json!([]));
}

#[tokio::test]
async fn unknown_keys_and_every_problem_are_reported_in_one_answer() {
    let app = TestApp::spawn().await;
    let answer = try_value(&app, ASSEGNO, assegno_form(), "$42", "qualcosa").await;
    assert_refused(&answer, "$42", "unknown_field");

    // An invalid value, a missing one and an unknown key, all at once.
    let wrong_check = format!("{}A", &CF[..15]);
    let mut json_visura = assegno_form();
    json_visura.insert("$4".into(), json!(wrong_check));
    json_visura.remove("$1");
    json_visura.insert("$42".into(), json!("qualcosa"));
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": json_visura}),
        )
        .await;
    assert_eq!(answer.status, 412, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 250);
    let problems: Vec<(String, String)> = answer.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["campo"].as_str().unwrap().to_string(),
                d["codice"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        [
            ("$4".to_string(), "cf_check_character".to_string()),
            ("$1".to_string(), "required".to_string()),
            ("$42".to_string(), "unknown_field".to_string()),
        ]
    );
    assert_does_not_quote(&answer, &wrong_check);
    assert_does_not_quote(&answer, "qualcosa");

    // A value that is not a string is named too.
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {"$0": ["Mario"]}}),
        )
        .await;
    assert_eq!(answer.status, 412, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 250);
    assert_eq!(answer.failing_fields(), ["$0"]);
    assert_eq!(answer.body["details"][0]["codice"], "not_a_string");
}

#[tokio::test]
async fn refusals_never_quote_the_submitted_personal_data() {
    let app = TestApp::spawn().await;
    let wrong_check = format!("{}A", &CF[..15]);
    let mut json_visura = famiglia_form();
    json_visura.insert("$0".into(), json!("Segretissimo\nNome"));
    json_visura.insert("$2".into(), json!("1985-02-30"));
    json_visura.insert("$7".into(), json!(wrong_check));
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": FAMIGLIA, "json_visura": json_visura}),
        )
        .await;
    assert_eq!(answer.status, 412, "{:#}", answer.body);
    assert_eq!(answer.failing_fields(), ["$0", "$2", "$7"]);
    let text = answer.body.to_string();
    for secret in [
        &wrong_check,
        &CF[..15],
        "Segretissimo",
        "1985-02-30",
        "30-02-1985",
    ] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "{secret} in {text}"
        );
    }
}
