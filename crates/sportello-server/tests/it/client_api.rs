//! The client API over real HTTP, as a client of the commercial API sees it: the seed pages'
//! request and answer shapes, drafts, test submissions, options, the integration round trip,
//! cancellation, idempotent retries, the list, other clients' requests, and every documented
//! refusal in the `{data, success, message, error}` envelope.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_server::{Clock, Limits};
use std::collections::BTreeSet;

/// A well-formed `_id` that no request has.
const NO_SUCH_ID: &str = "0123456789abcdef01234567";

/// The extensions every request carries, as the README documents them ("on a request: `…`,
/// `…`; on a service: …"), so an undocumented member fails the shape test.
/// (`motivo_annullamento` and `integrazione` appear only when they apply.)
fn documented_request_extensions() -> BTreeSet<String> {
    let readme = include_str!("../../../../README.md");
    let line = readme
        .lines()
        .find(|l| l.trim_start().starts_with("- on a request:"))
        .expect("the README lists the request extensions");
    let list = line.split("; on a service").next().unwrap();
    let names: BTreeSet<String> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(names.contains("prezzo_totale"), "{line}");
    names
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Asserts a refusal in the envelope with `status` and `code`.
fn refused(answer: &Answer, status: u16, code: i64) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
    assert_eq!(answer.error_code(), code, "{:#}", answer.body);
}

async fn create(app: &TestApp, body: Value) -> Answer {
    app.post("/richiesta", body).await
}

/// Creates a complete Assegno Unico request and returns its `_id`.
async fn submitted(app: &TestApp) -> String {
    let answer = create(
        app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form()}),
    )
    .await;
    answer.assert_ok()["_id"].as_str().unwrap().to_string()
}

/// Opens an Assegno Unico draft with `json_visura` and returns its `_id`.
async fn draft(app: &TestApp, json_visura: Value) -> String {
    let answer = create(
        app,
        json!({"hash_visura": ASSEGNO, "json_visura": json_visura, "state": 0}),
    )
    .await;
    answer.assert_ok()["_id"].as_str().unwrap().to_string()
}

async fn list(app: &TestApp, query: &str) -> Vec<Value> {
    app.get(&format!("/richiesta{query}"))
        .await
        .assert_ok()
        .as_array()
        .unwrap()
        .clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["_id"].as_str().unwrap().to_string())
        .collect()
}

/// POSTs `body` as raw bytes with the given content type (None: no header at all).
async fn post_raw(
    app: &TestApp,
    body: impl Into<reqwest::Body>,
    content_type: Option<&str>,
) -> Answer {
    let mut req = app
        .http
        .post(format!("{}/richiesta", app.base))
        .bearer_auth(&app.client_token)
        .body(body);
    if let Some(ct) = content_type {
        req = req.header(CONTENT_TYPE, ct);
    }
    app.raw(req).await
}

/// Sends `request` as it is over a fresh connection; returns the status and the JSON body.
async fn raw_http(app: &TestApp, request: &[u8]) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text.split(' ').nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

// --- the seed pages' shapes -------------------------------------------------------------------

#[tokio::test]
async fn the_seed_pages_request_is_answered_with_exactly_the_seed_members() {
    let app = TestApp::spawn().await;
    let now = app.clock.now();
    let answer = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form()}),
    )
    .await;
    let r = answer.assert_ok();

    let mut expected = set(&SEED_MEMBERS);
    expected.extend(documented_request_extensions());
    assert_eq!(members(r), expected, "{r:#}");

    let id = r["_id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(r["state"], 1);
    assert_eq!(r["hash_visura"], ASSEGNO);
    assert_eq!(r["nome"], "Domanda Assegno Unico");
    assert_eq!(r["ricerca"], false);
    assert_eq!(r["id_ricerca"], Value::Null);
    assert_eq!(r["prezzo_visura"], 19);
    assert_eq!(r["prezzo_ricerca"], 0);
    assert_eq!(r["indice_ricerca"], Value::Null);
    assert_eq!(r["stato_richiesta"], "In erogazione");
    assert_eq!(r["email_target"], Value::Null);
    assert_eq!(r["allegati"], json!([]));
    assert_eq!(r["timestamp_creation"], now);
    assert_eq!(r["timestamp_last_update"], now);
    assert_eq!(
        r["timestamp_stati"],
        json!({"in_ricerca": now, "in_erogazione": now})
    );
    assert_eq!(r["callback_data"], false);
    assert_eq!(r["opzioni"], Value::Null);
    assert_eq!(r["owner"], "demo@example.invalid");
    assert_eq!(r["sincrona"], false);
    assert_eq!(r["ricerche"], json!([]));
    assert_eq!(r["esito"], json!({"codice": "0", "info": "OK"}));
    assert_eq!(r["prezzo_totale"], 19);
    assert_eq!(r["live"], true);

    // Reading it back gives the same thing.
    let got = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(got.assert_ok(), r);

    // The list carries the commercial API's shorter shape.
    let items = list(&app, "").await;
    assert_eq!(items.len(), 1);
    let mut summary = set(&SUMMARY_MEMBERS);
    summary.extend(set(&SUMMARY_EXTENSIONS));
    assert_eq!(members(&items[0]), summary);
    for m in SUMMARY_MEMBERS {
        assert_eq!(items[0][m], r[m], "{m}");
    }
}

#[tokio::test]
async fn the_catalog_lists_services_as_the_commercial_api_does() {
    let app = TestApp::spawn().await;
    let catalog = app.get("/visure").await;
    let items = catalog.assert_ok().as_array().unwrap();
    assert!(items.len() >= 5);
    for item in items {
        assert_eq!(
            members(item),
            set(&["nome_visura", "nome_categoria", "hash_visura"])
        );
    }
    let assegno = items.iter().find(|i| i["hash_visura"] == ASSEGNO).unwrap();
    assert_eq!(assegno["nome_visura"], "Domanda Assegno Unico");
    assert_eq!(assegno["nome_categoria"], "Patronato");

    let one = app.get(&format!("/visure/{ASSEGNO}")).await;
    let v = one.assert_ok();
    assert_eq!(
        v["json_struttura"]["validazione"],
        "($0 && $1 && $2 && $3 && $4 && $5 && $6 && $7) || ($0 && $1 && $2 && $3 && $4 && $5 && $6)"
    );
    assert_eq!(
        v["json_struttura"]["campi"]["$4"]["tipo"],
        "codice_fiscale_persona_fisica"
    );
    assert_eq!(
        v["opzioni"],
        json!([
            {"tipo": "urgenza", "prezzo": 4, "nome": "opzione_0"},
            {"tipo": "assistenza_dedicata", "prezzo": 10, "nome": "opzione_1"}
        ])
    );
}

// --- drafts -----------------------------------------------------------------------------------

#[tokio::test]
async fn a_draft_is_opened_without_validation() {
    let app = TestApp::spawn().await;
    // Incomplete, and `$4` is not a codice fiscale: a draft takes it as it is.
    let answer = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "Mario", "$4": "da completare"}, "state": 0}),
    )
    .await;
    let r = answer.assert_ok();
    assert_eq!(r["state"], 0);
    assert_eq!(r["stato_richiesta"], "In ricerca");
    let now = app.clock.now();
    assert_eq!(r["timestamp_stati"], json!({"in_ricerca": now}));

    // A draft is not in any operator's queue.
    let id = r["_id"].as_str().unwrap();
    let queue = app.op(Method::GET, "/operator/requests", None).await;
    assert!(!ids(queue.assert_ok().as_array().unwrap()).contains(&id.to_string()));
}

#[tokio::test]
async fn a_draft_is_completed_with_dotted_keys_and_submitted_with_state_1() {
    let app = TestApp::spawn().await;
    let id = draft(&app, json!({"$0": "Mario"})).await;
    let path = format!("/richiesta/{id}");

    // One field at a time, as the OAS example and the Node SDK do.
    let edited = app.put(&path, json!({"json_visura.$1": "Rossi"})).await;
    assert_eq!(edited.assert_ok()["state"], 0);

    // Submitting while incomplete is refused, naming what is still missing (the values already
    // given, `$0` and `$1`, were kept).
    let early = app.put(&path, json!({"state": 1})).await;
    refused(&early, 412, 229);
    assert_eq!(early.failing_fields(), ["$2", "$3", "$4", "$5", "$6"]);
    assert!(early.body["message"]
        .as_str()
        .unwrap()
        .starts_with("error in the input data: "));
    // …and left it a draft.
    assert_eq!(app.get(&path).await.assert_ok()["state"], 0);

    // An invalid value is named with its codice when submitting.
    let invalid = app
        .put(
            &path,
            json!({"json_visura.$4": "RSSMRA85T10H501A", "state": 1}),
        )
        .await;
    refused(&invalid, 412, 229);
    let d = invalid.body["details"].as_array().unwrap();
    assert!(d
        .iter()
        .any(|d| d["campo"] == "$4" && d["codice"] == "cf_check_character"));
    assert!(!invalid.body.to_string().contains("RSSMRA85T10H501A"));

    let mut rest = serde_json::Map::new();
    for (k, v) in assegno_form() {
        if k != "$0" && k != "$1" {
            rest.insert(format!("json_visura.{k}"), v);
        }
    }
    rest.insert("state".into(), json!(1));
    app.clock.advance(60);
    let done = app.put(&path, Value::Object(rest)).await;
    let r = done.assert_ok();
    assert_eq!(r["state"], 1);
    assert_eq!(r["stato_richiesta"], "In erogazione");
    assert_eq!(r["timestamp_stati"]["in_erogazione"], app.clock.now());
    assert_eq!(r["timestamp_last_update"], app.clock.now());

    // The operator has it, with the values given across the three calls.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let campi = detail.assert_ok()["campi"].as_array().unwrap().clone();
    let valore = |key: &str| campi.iter().find(|c| c["campo"] == key).unwrap()["valore"].clone();
    assert_eq!(valore("$0"), "Mario");
    assert_eq!(valore("$1"), "Rossi");
    assert_eq!(valore("$4"), CF);

    // Once submitted it is closed to edits.
    let again = app.put(&path, json!({"json_visura.$0": "Maria"})).await;
    refused(&again, 400, 239);
}

#[tokio::test]
async fn a_whole_json_visura_replaces_the_drafts_values() {
    let app = TestApp::spawn().await;
    let id = draft(
        &app,
        json!({"$0": "Mario", "$1": "Rossi", "$2": "mario@example.com"}),
    )
    .await;
    let path = format!("/richiesta/{id}");

    // The PHP SDK sends {state, json_visura}: the whole object replaces the values.
    app.put(&path, json!({"state": 0, "json_visura": {"$0": "Mario"}}))
        .await
        .assert_ok();
    let early = app.put(&path, json!({"state": 1})).await;
    refused(&early, 412, 229);
    assert_eq!(early.failing_fields(), ["$1", "$2", "$3", "$4", "$5", "$6"]);

    // A dotted key set to null clears one value.
    app.put(&path, json!({"json_visura.$0": null}))
        .await
        .assert_ok();
    let early = app.put(&path, json!({"state": 1})).await;
    assert_eq!(
        early.failing_fields(),
        ["$0", "$1", "$2", "$3", "$4", "$5", "$6"]
    );

    let done = app
        .put(&path, json!({"state": 1, "json_visura": assegno_form()}))
        .await;
    assert_eq!(done.assert_ok()["stato_richiesta"], "In erogazione");
}

#[tokio::test]
async fn a_draft_accepts_email_target_on_put() {
    let app = TestApp::spawn().await;
    let id = draft(&app, json!({})).await;
    let path = format!("/richiesta/{id}");
    let answer = app
        .put(&path, json!({"email_target": "ufficio@example.com"}))
        .await;
    assert_eq!(answer.assert_ok()["email_target"], "ufficio@example.com");
    let bad = app
        .put(&path, json!({"email_target": "non una email"}))
        .await;
    refused(&bad, 400, 209);
    assert_eq!(bad.failing_fields(), ["email_target"]);
}

// --- test submissions and options --------------------------------------------------------------

#[tokio::test]
async fn test_true_validates_and_prices_but_creates_nothing() {
    let app = TestApp::spawn().await;
    let answer = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "test": true, "opzioni": {"opzione_0": true}}),
    )
    .await;
    let r = answer.assert_ok();
    assert_eq!(r["_id"], Value::Null);
    assert_eq!(r["prezzo_visura"], 19);
    assert_eq!(r["prezzo_totale"], 23);
    assert_eq!(r["stato_richiesta"], "In erogazione");

    // An invalid test submission is refused as a real one would be.
    let mut broken = assegno_form();
    broken.remove("$4");
    let refusal = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": broken, "test": true}),
    )
    .await;
    refused(&refusal, 412, 250);
    assert_eq!(refusal.failing_fields(), ["$4"]);

    assert_eq!(list(&app, "").await, Vec::<Value>::new());
    let queue = app.op(Method::GET, "/operator/requests", None).await;
    assert_eq!(queue.assert_ok(), &json!([]));
}

#[tokio::test]
async fn chosen_options_are_listed_and_priced() {
    let app = TestApp::spawn().await;
    let one = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "opzioni": {"opzione_0": true}}),
    )
    .await;
    let r = one.assert_ok();
    assert_eq!(
        r["opzioni"],
        json!([{"tipo": "urgenza", "prezzo": 4, "nome": "opzione_0"}])
    );
    assert_eq!(r["prezzo_visura"], 19);
    assert_eq!(r["prezzo_totale"], 23);

    let both = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "opzioni": {"opzione_0": true, "opzione_1": true}}),
    )
    .await;
    assert_eq!(both.assert_ok()["prezzo_totale"], 33);
    assert_eq!(both.data()["opzioni"].as_array().unwrap().len(), 2);

    // `false` is not chosen.
    let none = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "opzioni": {"opzione_0": false}}),
    )
    .await;
    assert_eq!(none.assert_ok()["opzioni"], Value::Null);
    assert_eq!(none.data()["prezzo_totale"], 19);
}

#[tokio::test]
async fn an_option_the_service_does_not_offer_is_refused() {
    let app = TestApp::spawn().await;
    let answer = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "opzioni": {"opzione_9": true}}),
    )
    .await;
    refused(&answer, 412, 250);
    assert_eq!(answer.failing_fields(), ["opzioni.opzione_9"]);
    assert_eq!(answer.body["details"][0]["codice"], "unknown_option");

    // The family status certificate offers only `urgenza`.
    let famiglia = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let values = valid_json_visura(famiglia.assert_ok());
    let answer = create(
        &app,
        json!({"hash_visura": FAMIGLIA, "json_visura": values, "opzioni": {"opzione_1": true}}),
    )
    .await;
    refused(&answer, 412, 250);
    assert_eq!(answer.failing_fields(), ["opzioni.opzione_1"]);
    assert_eq!(list(&app, "").await.len(), 0);
}

// --- integration ------------------------------------------------------------------------------

#[tokio::test]
async fn an_operator_asks_for_integration_and_the_client_supplies_it() {
    let app = TestApp::spawn().await;
    let id = submitted(&app).await;
    let path = format!("/richiesta/{id}");
    app.claim(&id).await;
    app.clock.advance(10);
    let asked_at = app.clock.now();
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/integration"),
        Some(json!({"messaggio": "Il documento d'identità è illeggibile", "campi": ["$5"]})),
    )
    .await
    .assert_ok();

    let seen = app.get(&path).await;
    let r = seen.assert_ok();
    assert_eq!(r["stato_richiesta"], "In attesa di integrazione");
    assert_eq!(r["state"], 1);
    assert_eq!(
        r["integrazione"],
        json!({"messaggio": "Il documento d'identità è illeggibile", "campi": ["$5"], "documenti": [], "timestamp": asked_at})
    );
    assert_eq!(r["timestamp_stati"]["in_attesa_integrazione"], asked_at);

    // A PUT that does not bring `$5` is refused, naming it.
    let without = app
        .put(&path, json!({"json_visura.$3": "3339999999"}))
        .await;
    refused(&without, 412, 229);
    assert_eq!(without.failing_fields(), ["$5"]);
    assert_eq!(without.body["details"][0]["codice"], "required");
    // So is one whose `$5` is not a valid file.
    let not_pdf = format!(
        "carta.pdf|data:application/pdf;base64,{}",
        b64(b"just some text")
    );
    let invalid = app.put(&path, json!({"json_visura.$5": not_pdf})).await;
    refused(&invalid, 412, 229);
    assert_eq!(invalid.failing_fields(), ["$5"]);
    assert_eq!(invalid.body["details"][0]["codice"], "file_type");
    assert_eq!(
        app.get(&path).await.assert_ok()["stato_richiesta"],
        "In attesa di integrazione"
    );

    // A valid `$5` sends it back to the operator.
    let new_scan = pdf("nuova scansione");
    let supplied = app
        .put(
            &path,
            json!({"json_visura.$5": format!("carta.pdf|data:application/pdf;base64,{}", b64(&new_scan))}),
        )
        .await;
    let r = supplied.assert_ok();
    assert_eq!(r["stato_richiesta"], "In erogazione");
    assert!(r.get("integrazione").is_none(), "{r:#}");

    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let campi = detail.assert_ok()["campi"].as_array().unwrap().clone();
    let file = &campi.iter().find(|c| c["campo"] == "$5").unwrap()["file"];
    assert_eq!(file["dimensione"], new_scan.len());

    // Back in progress, it is closed to the client again.
    let again = app
        .put(&path, json!({"json_visura.$5": pdf_field("x.pdf")}))
        .await;
    refused(&again, 400, 239);
}

#[tokio::test]
async fn put_on_a_request_in_progress_or_processed_is_refused_239() {
    let app = TestApp::spawn().await;
    let id = submitted(&app).await;
    let path = format!("/richiesta/{id}");
    let answer = app.put(&path, json!({"json_visura.$0": "Maria"})).await;
    refused(&answer, 400, 239);
    let answer = app.put(&path, json!({"state": 1})).await;
    refused(&answer, 400, 239);

    app.work_to_the_end(&id, &[("esito.pdf", pdf("esito"))])
        .await;
    let answer = app.put(&path, json!({"json_visura.$0": "Maria"})).await;
    refused(&answer, 400, 239);
    assert_eq!(
        app.get(&path).await.assert_ok()["stato_richiesta"],
        "Visura evasa"
    );
}

// --- cancellation -----------------------------------------------------------------------------

#[tokio::test]
async fn delete_cancels_a_request_no_operator_has_taken() {
    let app = TestApp::spawn().await;
    let id = submitted(&app).await;
    let path = format!("/richiesta/{id}");
    app.clock.advance(30);
    let answer = app
        .call(
            Method::DELETE,
            &path,
            &app.client_token,
            Some(json!({"motivo": "Domanda presentata per errore"})),
        )
        .await;
    let r = answer.assert_ok();
    assert_eq!(r["stato_richiesta"], "Annullata");
    assert_eq!(r["motivo_annullamento"], "Domanda presentata per errore");
    assert_eq!(r["timestamp_stati"]["annullata"], app.clock.now());
    assert_eq!(app.get(&path).await.assert_ok(), r);

    // It leaves the operators' queue, and cannot be cancelled twice.
    let queue = app.op(Method::GET, "/operator/requests", None).await;
    assert!(!ids(queue.assert_ok().as_array().unwrap()).contains(&id));
    let twice = app
        .call(Method::DELETE, &path, &app.client_token, None)
        .await;
    refused(&twice, 409, 907);
}

#[tokio::test]
async fn delete_without_a_body_cancels_a_draft_with_a_default_reason() {
    let app = TestApp::spawn().await;
    let id = draft(&app, json!({"$0": "Mario"})).await;
    let answer = app
        .call(
            Method::DELETE,
            &format!("/richiesta/{id}"),
            &app.client_token,
            None,
        )
        .await;
    let r = answer.assert_ok();
    assert_eq!(r["stato_richiesta"], "Annullata");
    assert!(r["motivo_annullamento"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    // A cancelled draft cannot be edited or submitted.
    let put = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"state": 1, "json_visura": assegno_form()}),
        )
        .await;
    refused(&put, 400, 239);
}

#[tokio::test]
async fn delete_is_refused_409_907_once_an_operator_took_the_request() {
    let app = TestApp::spawn().await;
    let id = submitted(&app).await;
    let path = format!("/richiesta/{id}");
    app.claim(&id).await;
    let answer = app
        .call(
            Method::DELETE,
            &path,
            &app.client_token,
            Some(json!({"motivo": "ci ho ripensato"})),
        )
        .await;
    refused(&answer, 409, 907);
    let r = app.get(&path).await;
    assert_eq!(r.assert_ok()["stato_richiesta"], "In erogazione");
    assert!(r.data().get("motivo_annullamento").is_none());
}

// --- idempotency ------------------------------------------------------------------------------

async fn post_with_key(
    app: &TestApp,
    token: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Vec<u8>) {
    let resp = app
        .http
        .post(format!("{}/richiesta", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_gets_the_same_answer_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let body = json!({"hash_visura": ASSEGNO, "json_visura": assegno_form()});
    let (status, first) = post_with_key(&app, &app.client_token, "pratica-42", &body).await;
    assert_eq!(status, 200);
    // Time passes between the attempts: a fresh answer would carry new timestamps.
    app.clock.advance(5);
    let (status, second) = post_with_key(&app, &app.client_token, "pratica-42", &body).await;
    assert_eq!(status, 200);
    assert_eq!(first, second, "the replay is byte-identical");
    assert_eq!(list(&app, "").await.len(), 1);

    // Another key is another request.
    let (status, third) = post_with_key(&app, &app.client_token, "pratica-43", &body).await;
    assert_eq!(status, 200);
    assert_ne!(first, third);
    assert_eq!(list(&app, "").await.len(), 2);

    // Keys belong to one client: another using the same key gets its own request.
    let other = app.new_client("altro").await;
    let (status, theirs) = post_with_key(&app, &other, "pratica-42", &body).await;
    assert_eq!(status, 200);
    assert_ne!(first, theirs);
    assert_eq!(list(&app, "").await.len(), 2);
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_refused_422_908() {
    let app = TestApp::spawn().await;
    let body = json!({"hash_visura": ASSEGNO, "json_visura": assegno_form()});
    let (status, _) = post_with_key(&app, &app.client_token, "k-1", &body).await;
    assert_eq!(status, 200);
    let mut changed = assegno_form();
    changed.insert("$0".into(), json!("Maria"));
    let (status, bytes) = post_with_key(
        &app,
        &app.client_token,
        "k-1",
        &json!({"hash_visura": ASSEGNO, "json_visura": changed}),
    )
    .await;
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(status, 422, "{body:#}");
    assert_eq!(body["error"], 908);
    assert_eq!(body["success"], false);
    assert_eq!(list(&app, "").await.len(), 1);
}

// --- the list ---------------------------------------------------------------------------------

#[tokio::test]
async fn the_list_is_empty_not_404_when_there_are_no_requests() {
    let app = TestApp::spawn().await;
    assert_eq!(list(&app, "").await, Vec::<Value>::new());
    assert_eq!(list(&app, "?stato=Annullata").await, Vec::<Value>::new());
}

#[tokio::test]
async fn the_list_is_newest_first_and_paginated() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(submitted(&app).await);
        app.clock.advance(1);
    }
    created.reverse();
    assert_eq!(ids(&list(&app, "").await), created);
    assert_eq!(ids(&list(&app, "?per_page=2").await), created[..2]);
    assert_eq!(ids(&list(&app, "?page=1&per_page=2").await), created[..2]);
    assert_eq!(ids(&list(&app, "?page=2&per_page=2").await), created[2..4]);
    assert_eq!(ids(&list(&app, "?page=3&per_page=2").await), created[4..]);
    assert_eq!(list(&app, "?page=4&per_page=2").await, Vec::<Value>::new());

    let bad = app.get("/richiesta?page=primo").await;
    refused(&bad, 400, 912);
}

#[tokio::test]
async fn the_list_filters_by_stato_and_hash_visura() {
    let app = TestApp::spawn().await;
    let in_progress = submitted(&app).await;
    app.clock.advance(1);
    let a_draft = draft(&app, json!({})).await;
    app.clock.advance(1);
    let cancelled = submitted(&app).await;
    app.call(
        Method::DELETE,
        &format!("/richiesta/{cancelled}"),
        &app.client_token,
        None,
    )
    .await
    .assert_ok();
    app.clock.advance(1);
    let famiglia = app.submit_valid(FAMIGLIA).await;

    assert_eq!(
        ids(&list(&app, "?stato=In%20erogazione").await),
        [famiglia.clone(), in_progress.clone()]
    );
    assert_eq!(
        ids(&list(&app, "?stato=in_erogazione").await),
        [famiglia.clone(), in_progress.clone()]
    );
    assert_eq!(
        ids(&list(&app, "?stato=Annullata").await),
        [cancelled.as_str()]
    );
    assert_eq!(
        ids(&list(&app, "?stato=In%20ricerca").await),
        [a_draft.as_str()]
    );
    assert_eq!(
        ids(&list(&app, "?stato=annullata,in_erogazione").await),
        [famiglia.clone(), cancelled.clone(), in_progress.clone()]
    );
    assert_eq!(
        ids(&list(&app, &format!("?hash_visura={FAMIGLIA}")).await),
        [famiglia.as_str()]
    );
    assert_eq!(
        ids(&list(&app, &format!("?hash_visura={ASSEGNO}&stato=in_erogazione")).await),
        [in_progress.as_str()]
    );

    refused(&app.get("/richiesta?stato=evasa-forse").await, 400, 912);
    refused(
        &app.get("/richiesta?hash_visura=ffffffffffffffffffffffffffffffff")
            .await,
        400,
        200,
    );
}

// --- other clients ----------------------------------------------------------------------------

#[tokio::test]
async fn another_client_gets_404_on_the_first_clients_request() {
    let app = TestApp::spawn().await;
    let id = submitted(&app).await;
    let other = app.new_client("concorrente").await;
    let path = format!("/richiesta/{id}");

    refused(&app.call(Method::GET, &path, &other, None).await, 404, 202);
    refused(
        &app.call(Method::GET, &format!("/documento/{id}"), &other, None)
            .await,
        404,
        244,
    );
    refused(
        &app.call(
            Method::PUT,
            &path,
            &other,
            Some(json!({"json_visura.$0": "X"})),
        )
        .await,
        404,
        228,
    );
    refused(
        &app.call(Method::DELETE, &path, &other, None).await,
        404,
        202,
    );
    assert_eq!(
        app.call(Method::GET, "/richiesta", &other, None)
            .await
            .assert_ok(),
        &json!([])
    );

    // The same answers as for an id that exists for nobody.
    let nobody = format!("/richiesta/{NO_SUCH_ID}");
    refused(
        &app.call(Method::GET, &nobody, &other, None).await,
        404,
        202,
    );

    // The request is untouched.
    let r = app.get(&path).await;
    assert_eq!(r.assert_ok()["stato_richiesta"], "In erogazione");
}

#[tokio::test]
async fn another_client_cannot_read_the_document_of_a_processed_request() {
    let app = TestApp::spawn().await;
    let id = submitted(&app).await;
    app.work_to_the_end(&id, &[("esito.pdf", pdf("riservato"))])
        .await;
    app.get(&format!("/documento/{id}")).await.assert_ok();
    let other = app.new_client("curioso").await;
    refused(
        &app.call(Method::GET, &format!("/documento/{id}"), &other, None)
            .await,
        404,
        244,
    );
    let resp = app
        .http
        .get(format!("{}/documento/{id}/download", app.base))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

// --- documented refusals ----------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_hash_is_400_200_and_a_missing_one_428_204() {
    let app = TestApp::spawn().await;
    let wrong = "ffffffffffffffffffffffffffffffff";
    refused(&app.get(&format!("/visure/{wrong}")).await, 400, 200);
    refused(
        &create(
            &app,
            json!({"hash_visura": wrong, "json_visura": assegno_form()}),
        )
        .await,
        400,
        200,
    );
    refused(
        &create(&app, json!({"json_visura": assegno_form()})).await,
        428,
        204,
    );
    refused(&create(&app, json!({"hash_visura": "  "})).await, 428, 204);
    refused(&create(&app, json!({"hash_visura": 42})).await, 428, 204);
    // An empty body is an empty object: no hash.
    refused(&post_raw(&app, "", None).await, 428, 204);
}

#[tokio::test]
async fn an_invalid_id_is_400() {
    let app = TestApp::spawn().await;
    refused(&app.get("/richiesta/not-an-id").await, 400, 201);
    refused(
        &app.get("/richiesta/0123456789ABCDEF0123456").await,
        400,
        201,
    );
    refused(&app.get("/documento/not-an-id").await, 400, 243);
    refused(
        &app.call(
            Method::DELETE,
            "/richiesta/not-an-id",
            &app.client_token,
            None,
        )
        .await,
        400,
        201,
    );
    refused(
        &app.get(&format!("/richiesta/{NO_SUCH_ID}")).await,
        404,
        202,
    );
    refused(
        &app.get(&format!("/documento/{NO_SUCH_ID}")).await,
        404,
        244,
    );
    refused(
        &app.put(&format!("/richiesta/{NO_SUCH_ID}"), json!({"state": 1}))
            .await,
        404,
        228,
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_905() {
    let app = TestApp::spawn().await;
    let truncated = format!(r#"{{"hash_visura": "{ASSEGNO}", "json_visura": {{"$0": "Mario""#);
    let answer = post_raw(&app, truncated, Some("application/json")).await;
    refused(&answer, 400, 905);
    // serde's message would quote the input; ours gives only the position.
    assert!(!answer.body["message"].as_str().unwrap().contains("Mario"));

    let array = post_raw(
        &app,
        format!(r#"[{{"hash_visura": "{ASSEGNO}"}}]"#),
        Some("application/json"),
    )
    .await;
    refused(&array, 400, 905);
    let scalar = post_raw(&app, "42", Some("application/json")).await;
    refused(&scalar, 400, 905);
    let form = post_raw(
        &app,
        "hash_visura=abc&state=1",
        Some("application/x-www-form-urlencoded"),
    )
    .await;
    refused(&form, 400, 905);

    let id = draft(&app, json!({})).await;
    let put = app
        .raw(
            app.http
                .put(format!("{}/richiesta/{id}", app.base))
                .bearer_auth(&app.client_token)
                .body("[1, 2]"),
        )
        .await;
    refused(&put, 400, 905);
    assert_eq!(list(&app, "").await.len(), 1);
}

#[tokio::test]
async fn an_oversized_body_is_413_906() {
    let app = TestApp::spawn_with(Limits {
        max_body_bytes: 4096,
        ..Default::default()
    })
    .await;
    let big = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "M".repeat(5000)}}),
    )
    .await;
    refused(&big, 413, 906);
    // Without a Content-Length (a chunked stream) the limit holds too.
    let head = format!(r#"{{"hash_visura": "{ASSEGNO}", "json_visura": {{"$0": ""#);
    let mut chunked = format!(
        "POST /richiesta HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.client_token
    );
    for chunk in [head, "M".repeat(5000), r#""}}"#.to_string()] {
        chunked.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    chunked.push_str("0\r\n\r\n");
    let (status, body) = raw_http(&app, chunked.as_bytes()).await;
    assert_eq!(status, 413, "{body:#}");
    assert_eq!(body["error"], 906);
    assert_eq!(body["success"], false);
    // A small one still goes through.
    let small = create(&app, json!({"hash_visura": ASSEGNO, "state": 0})).await;
    small.assert_ok();
}

#[tokio::test]
async fn a_json_body_is_read_whatever_the_content_type_says() {
    let app = TestApp::spawn().await;
    let body =
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "state": 1, "test": false})
            .to_string();
    // What the PHP SDK sends: json_encode() labelled by libcurl as a form.
    let php = post_raw(
        &app,
        body.clone(),
        Some("application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(php.assert_ok()["stato_richiesta"], "In erogazione");
    // What the Node SDK sends: no content type at all.
    let node = post_raw(&app, body.clone(), None).await;
    node.assert_ok();
    let text = post_raw(&app, body, Some("text/plain; charset=utf-8")).await;
    text.assert_ok();
    assert_eq!(list(&app, "").await.len(), 3);

    // PUT too: the PHP SDK sends {state, json_visura} the same way.
    let id = draft(&app, json!({})).await;
    let put = app
        .raw(
            app.http
                .put(format!("{}/richiesta/{id}", app.base))
                .bearer_auth(&app.client_token)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(json!({"state": 1, "json_visura": assegno_form()}).to_string()),
        )
        .await;
    assert_eq!(put.assert_ok()["state"], 1);
}

#[tokio::test]
async fn email_target_is_kept_and_an_invalid_one_is_400_209() {
    let app = TestApp::spawn().await;
    let ok = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "email_target": "pratiche@studio.example.com"}),
    )
    .await;
    assert_eq!(
        ok.assert_ok()["email_target"],
        "pratiche@studio.example.com"
    );

    for bad in [json!("pratiche.studio.example.com"), json!("a@"), json!(42)] {
        let answer = create(
            &app,
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "email_target": bad}),
        )
        .await;
        refused(&answer, 400, 209);
        assert_eq!(answer.body["message"], "email is considered invalid!");
        assert_eq!(answer.failing_fields(), ["email_target"]);
        assert!(!answer.body.to_string().contains("studio.example.com"));
    }
    assert_eq!(list(&app, "").await.len(), 1);
}

#[tokio::test]
async fn callback_data_is_normalised_with_the_sdk_defaults() {
    let app = TestApp::spawn().await;
    let answer = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(),
               "callback_data": {"url": "https://crm.example.com/hooks/visengine"}}),
    )
    .await;
    assert_eq!(
        answer.assert_ok()["callback_data"],
        json!({"url": "https://crm.example.com/hooks/visengine", "method": "JSON", "field": "visengineData", "data": null})
    );

    let answer = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(),
               "callback_data": {"url": "https://crm.example.com/cb", "method": "post", "field": "data",
                                 "data": {"pratica": 42, "ufficio": "Roma"}}}),
    )
    .await;
    assert_eq!(
        answer.assert_ok()["callback_data"],
        json!({"url": "https://crm.example.com/cb", "method": "POST", "field": "data",
               "data": {"pratica": 42, "ufficio": "Roma"}})
    );
    // It is kept: reading the request back shows it.
    let id = answer.data()["_id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/richiesta/{id}")).await.assert_ok()["callback_data"]["data"],
        json!({"pratica": 42, "ufficio": "Roma"})
    );
}

#[tokio::test]
async fn the_node_sdks_callback_member_is_an_alias_of_callback_data() {
    let app = TestApp::spawn().await;
    let answer = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(),
               "callback": {"url": "https://crm.example.com/node", "field": "data", "data": {"id": "x1"}}}),
    )
    .await;
    assert_eq!(
        answer.assert_ok()["callback_data"],
        json!({"url": "https://crm.example.com/node", "method": "JSON", "field": "data", "data": {"id": "x1"}})
    );
    // A string `callback` is the commercial API's internal tag, not a callback: ignored.
    let tagged = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "callback": "_rib_cam_Ordinaria"}),
    )
    .await;
    assert_eq!(tagged.assert_ok()["callback_data"], false);
}

#[tokio::test]
async fn an_invalid_callback_is_refused_naming_the_member() {
    let app = TestApp::spawn().await;
    for (callback, campo) in [
        (json!({"method": "JSON"}), "callback_data.url"),
        (json!({"url": "ftp://example.com/x"}), "callback_data.url"),
        (json!({"url": "/relative/path"}), "callback_data.url"),
        (
            json!({"url": "https://example.com/x", "method": "GET"}),
            "callback_data.method",
        ),
        (
            json!({"url": "https://example.com/x", "field": ""}),
            "callback_data.field",
        ),
        (json!("https://example.com/x"), "callback_data"),
    ] {
        let answer = create(
            &app,
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "callback_data": callback}),
        )
        .await;
        assert_eq!(answer.status, 400, "{callback}: {:#}", answer.body);
        answer.error_code();
        assert_eq!(answer.failing_fields(), [campo], "{callback}");
    }
    assert_eq!(list(&app, "").await.len(), 0);
}

#[tokio::test]
async fn the_search_routes_answer_with_their_documented_409s() {
    let app = TestApp::spawn().await;
    let id = submitted(&app).await;
    let answer = app
        .post(
            &format!("/richiesta/{id}"),
            json!({"json_visura": {"$0": "Mario"}}),
        )
        .await;
    refused(&answer, 409, 222);
    let answer = app
        .put(
            &format!("/richiesta/{id}/ricerche"),
            json!({"id_ricerca": format!("{id}_0"), "indice": 0}),
        )
        .await;
    refused(&answer, 409, 230);
    refused(
        &app.post("/richiesta/not-an-id", json!({"json_visura": {}}))
            .await,
        400,
        219,
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let app = TestApp::spawn().await;
    refused(&app.get("/visure/documento/abc").await, 404, 910);
    refused(&app.get("/v2/richiesta").await, 404, 910);
    refused(&app.post("/nowhere", json!({})).await, 404, 910);
    let patch = app
        .call(
            Method::PATCH,
            "/richiesta",
            &app.client_token,
            Some(json!({})),
        )
        .await;
    refused(&patch, 405, 911);
}

#[tokio::test]
async fn state_and_test_members_take_the_forms_sdks_send() {
    let app = TestApp::spawn().await;
    let r = create(&app, json!({"hash_visura": ASSEGNO, "state": "0"})).await;
    assert_eq!(r.assert_ok()["state"], 0);
    let r = create(
        &app,
        json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "test": "true"}),
    )
    .await;
    assert_eq!(r.assert_ok()["_id"], Value::Null);

    let bad = create(&app, json!({"hash_visura": ASSEGNO, "state": 2})).await;
    assert_eq!(bad.status, 400, "{:#}", bad.body);
    bad.error_code();
    assert_eq!(bad.failing_fields(), ["state"]);
    let bad = create(&app, json!({"hash_visura": ASSEGNO, "test": "maybe"})).await;
    assert_eq!(bad.status, 400, "{:#}", bad.body);
    assert_eq!(bad.failing_fields(), ["test"]);
    assert_eq!(list(&app, "").await.len(), 1);
}

/// Odd input everywhere: every answer is in the envelope and none is a 500.
#[tokio::test]
async fn no_input_makes_the_server_answer_500() {
    let app = TestApp::spawn().await;
    let id = draft(&app, json!({})).await;
    let weird_values = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1e300),
        json!("\u{0}"),
        json!("💥".repeat(300)),
        json!([]),
        json!({"nested": {"deep": [1, 2, 3]}}),
        json!("data:;base64,"),
        json!("|"),
        json!("a|b|c|data:application/pdf;base64,JVBERi0="),
    ];
    let mut bodies = Vec::new();
    for v in &weird_values {
        bodies.push(json!({"hash_visura": ASSEGNO, "json_visura": {"$0": v, "$5": v, "$4": v}}));
        bodies.push(json!({"hash_visura": ASSEGNO, "json_visura": v}));
        bodies.push(json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "opzioni": v}));
        bodies.push(
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "callback_data": v}),
        );
        bodies.push(
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_form(), "email_target": v}),
        );
        bodies.push(json!({"hash_visura": v, "state": v, "test": v}));
        bodies.push(json!({"hash_visura": ASSEGNO, "json_visura": {"$01": v, "$-1": v, "$99999999999": v, "": v}}));
    }
    for body in &bodies {
        for answer in [
            create(&app, body.clone()).await,
            app.put(&format!("/richiesta/{id}"), body.clone()).await,
            app.put(
                &format!("/richiesta/{id}"),
                json!({"json_visura.$0": body, "state": 1}),
            )
            .await,
        ] {
            assert!(
                answer.status.is_client_error() || answer.status.is_success(),
                "{body}: {} {:#}",
                answer.status,
                answer.body
            );
            assert!(
                answer.body.get("success").is_some(),
                "{body}: not an envelope"
            );
        }
    }
    for path in [
        "/richiesta/%00",
        "/richiesta/%F0%9F%92%A5",
        "/richiesta/..%2F..%2Fetc%2Fpasswd",
        "/documento/%20",
        "/richiesta?page=0&per_page=0",
        "/richiesta?page=4294967296",
        "/richiesta?per_page=-1",
        "/richiesta?stato=",
        "/visure/%25",
    ] {
        let answer = app.get(path).await;
        assert!(
            answer.status.is_client_error() || answer.status.is_success(),
            "{path}: {} {:#}",
            answer.status,
            answer.body
        );
        assert!(
            answer.body.get("success").is_some(),
            "{path}: not an envelope"
        );
    }
}

#[tokio::test]
async fn concurrent_retries_with_one_idempotency_key_create_one_request() {
    let app = TestApp::spawn().await;
    let body = json!({"hash_visura": ASSEGNO, "json_visura": assegno_form()});
    let attempts = (0..6).map(|_| post_with_key(&app, &app.client_token, "rete-instabile", &body));
    let answers = futures::future::join_all(attempts).await;
    for (status, bytes) in &answers {
        assert_eq!(*status, 200, "{}", String::from_utf8_lossy(bytes));
        assert_eq!(bytes, &answers[0].1, "every attempt gets the same answer");
    }
    assert_eq!(list(&app, "").await.len(), 1);
}

#[tokio::test]
async fn a_put_whose_whole_json_visura_has_a_non_string_value_is_412_229() {
    let app = TestApp::spawn().await;
    let id = draft(&app, json!({"$0": "Mario"})).await;
    let answer = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura": {"$0": ["Mario"]}}),
        )
        .await;
    refused(&answer, 412, 229);
    assert_eq!(answer.failing_fields(), ["$0"]);
    assert_eq!(answer.body["details"][0]["codice"], "not_a_string");
    let answer = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$0": {"nome": "Mario"}}),
        )
        .await;
    refused(&answer, 412, 229);
}

#[tokio::test]
async fn many_clients_submitting_at_once_all_get_their_request() {
    let app = TestApp::spawn().await;
    let body = json!({"hash_visura": ASSEGNO, "json_visura": assegno_form()});
    let answers = futures::future::join_all((0..20).map(|_| create(&app, body.clone()))).await;
    let mut created = BTreeSet::new();
    for answer in &answers {
        created.insert(answer.assert_ok()["_id"].as_str().unwrap().to_string());
    }
    assert_eq!(created.len(), 20);
    assert_eq!(list(&app, "").await.len(), 20);
}

#[tokio::test]
async fn a_draft_submitted_twice_at_once_is_submitted_once() {
    let app = TestApp::spawn().await;
    let id = draft(&app, json!({})).await;
    let path = format!("/richiesta/{id}");
    let body = json!({"state": 1, "json_visura": assegno_form()});
    let answers = futures::future::join_all((0..4).map(|_| app.put(&path, body.clone()))).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(ok, 1, "{answers:#?}");
    for a in answers.iter().filter(|a| a.status != 200) {
        refused(a, 400, 239);
    }
    // The operator sees one set of input files, not one per attempt.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let files = detail.assert_ok()["campi"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| !c["file"].is_null())
        .count();
    assert_eq!(files, 3);
    // …and the losers' copies are not left in storage.
    let stored = std::fs::read_dir(app.dir.path().join("files/requests").join(&id))
        .unwrap()
        .count();
    assert_eq!(stored, 3);
}

#[tokio::test]
async fn requests_made_in_the_same_second_are_listed_newest_first() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for _ in 0..8 {
        created.push(submitted(&app).await);
    }
    created.reverse();
    assert_eq!(ids(&list(&app, "").await), created);
    assert_eq!(ids(&list(&app, "?page=2&per_page=3").await), created[3..6]);
}
