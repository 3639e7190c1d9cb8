//! The client API over real HTTP, as a client of the commercial API uses it: the seed pages'
//! request and answer shapes, drafts, test mode, options, integration, cancellation,
//! idempotency, the list, isolation between clients, and every documented error code.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::{json, Map, Value};
use sportello_server::Limits;
use std::collections::BTreeSet;

/// Well-formed, but no request has it.
const NO_SUCH_ID: &str = "5f2829ce065afc21cc60ad0e";

/// Our documented extensions, always present.
const EXTENSIONS: [&str; 11] = [
    "prezzo_totale",
    "prezzo",
    "live",
    "delete_after",
    "purged",
    "scadenza",
    "scaduta",
    "fornitore",
    "documenti",
    "invito",
    "consensi",
];

fn expected_members(extra: &[&str]) -> BTreeSet<String> {
    SEED_MEMBERS
        .iter()
        .chain(EXTENSIONS.iter())
        .chain(extra.iter())
        .map(|s| s.to_string())
        .collect()
}

fn assert_error(answer: &Answer, status: u16, code: i64) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
    assert_eq!(answer.error_code(), code, "{:#}", answer.body);
}

/// The seed page's example, with real values in place of the field names it prints.
fn assegno_values() -> Map<String, Value> {
    let mut form = assegno_form();
    form.insert("$5".into(), pdf_field("carta_identita.pdf").into());
    form.insert("$6".into(), pdf_field("tessera_sanitaria.pdf").into());
    form
}

/// The family status certificate with its birth date in the PHP SDK's `DD-MM-YYYY` form.
fn famiglia_values() -> Map<String, Value> {
    let mut form = famiglia_form();
    form.insert("$2".into(), "10-12-1985".into());
    form
}

async fn create(app: &TestApp, body: Value) -> String {
    let answer = app.post("/richiesta", body).await;
    answer.assert_ok()["_id"].as_str().unwrap().to_string()
}

async fn delete(app: &TestApp, token: &str, id: &str, body: Option<Value>) -> Answer {
    app.call(Method::DELETE, &format!("/richiesta/{id}"), token, body)
        .await
}

fn ids(list: &Answer) -> Vec<String> {
    list.assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_seed_pages_example_request_gets_the_seed_answer_shape() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_values()}),
        )
        .await;
    let r = answer.assert_ok().clone();
    assert_eq!(members(&r), expected_members(&[]), "{r:#}");

    let id = r["_id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
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
    assert!(r["timestamp_creation"].is_i64());
    assert!(r["timestamp_last_update"].is_i64());
    let stati = r["timestamp_stati"].as_object().unwrap();
    assert_eq!(
        stati.keys().collect::<Vec<_>>(),
        ["in_erogazione", "in_ricerca"]
    );
    assert_eq!(stati["in_ricerca"], r["timestamp_creation"]);
    assert_eq!(r["callback_data"], false);
    assert_eq!(r["opzioni"], Value::Null);
    assert_eq!(r["owner"], "demo@example.invalid");
    assert_eq!(r["sincrona"], false);
    assert_eq!(r["ricerche"], json!([]));
    assert_eq!(r["esito"], json!({"codice": "0", "info": "OK"}));
    assert_eq!(r["prezzo_totale"], 19);
    assert_eq!(r["live"], true);
    assert_eq!(r["delete_after"], Value::Null);
    assert_eq!(r["purged"], false);

    // GET answers the very same request.
    let got = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(got.assert_ok(), &r);

    // The list item is the commercial API's shorter shape.
    let list = app.get("/richiesta").await;
    let items = list.assert_ok().as_array().unwrap();
    assert_eq!(items.len(), 1);
    let expected: BTreeSet<String> = SUMMARY_MEMBERS
        .iter()
        .chain(SUMMARY_EXTENSIONS.iter())
        .map(|s| s.to_string())
        .collect();
    assert_eq!(members(&items[0]), expected);
    for m in SUMMARY_MEMBERS {
        assert_eq!(items[0][m], r[m], "{m}");
    }

    // The seed page's own example posts the "730 Singolo" hash: it is a catalogue service
    // too, and its answer has the same shape.
    let isee = app.get("/visure/38934ffe45179c4d5b88e2a6b849799a").await;
    let isee_id = create(
        &app,
        json!({"hash_visura": "38934ffe45179c4d5b88e2a6b849799a",
               "json_visura": valid_json_visura(isee.assert_ok())}),
    )
    .await;
    let got = app.get(&format!("/richiesta/{isee_id}")).await;
    assert_eq!(members(got.assert_ok()), expected_members(&[]));
}

#[tokio::test]
async fn a_draft_is_not_validated_until_it_is_submitted() {
    let app = TestApp::spawn().await;
    // Incomplete, and with an invalid codice fiscale: a draft takes it.
    let wrong_cf = format!("{}A", &CF[..15]);
    let created = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "state": 0,
                   "json_visura": {"$0": "Mario", "$4": wrong_cf}}),
        )
        .await;
    let draft = created.assert_ok().clone();
    let id = draft["_id"].as_str().unwrap().to_string();
    assert_eq!(draft["state"], 0);
    assert_eq!(draft["stato_richiesta"], "In ricerca");
    assert_eq!(members(&draft), expected_members(&[]));
    assert!(draft["timestamp_stati"].get("in_erogazione").is_none());
    // An operator does not see drafts.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    assert!(detail.status.is_client_error(), "{:#}", detail.body);

    // Dotted keys, one field at a time as the Node SDK sends them; `state` stays 0.
    let put = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$1": "Rossi", "json_visura.$3": "3331234567", "state": 0}),
        )
        .await;
    assert_eq!(put.assert_ok()["state"], 0);

    // Submitting what is there: every problem named, with the PUT code 229.
    let incomplete = app
        .put(&format!("/richiesta/{id}"), json!({"state": 1}))
        .await;
    assert_error(&incomplete, 412, 229);
    assert!(incomplete.body["message"]
        .as_str()
        .unwrap()
        .starts_with("error in the input data: "));
    assert_eq!(incomplete.failing_fields(), ["$4", "$2", "$5", "$6"]);
    assert_eq!(
        incomplete.body["details"][0]["codice"],
        "cf_check_character"
    );
    assert!(!incomplete.body.to_string().contains(&wrong_cf));
    // Still a draft after the refusal.
    let still = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(still.assert_ok()["state"], 0);

    // A whole json_visura replaces the values (as the PHP SDK sends it), still as a draft.
    let mut values = assegno_values();
    values.remove("$6");
    let put = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"state": 0, "json_visura": values}),
        )
        .await;
    assert_eq!(put.assert_ok()["state"], 0);
    let missing_one = app
        .put(&format!("/richiesta/{id}"), json!({"state": 1}))
        .await;
    assert_error(&missing_one, 412, 229);
    assert_eq!(missing_one.failing_fields(), ["$6"]);

    // The last value and the submission in one PUT, as the OAS example does.
    let submitted = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$6": pdf_field("tessera.pdf"), "state": 1}),
        )
        .await;
    let r = submitted.assert_ok();
    assert_eq!(r["state"], 1);
    assert_eq!(r["stato_richiesta"], "In erogazione");
    assert!(r["timestamp_stati"]["in_erogazione"].is_i64());

    // The operator now sees it, with every value.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let campi = detail.assert_ok()["campi"].as_array().unwrap().clone();
    let filled = campi
        .iter()
        .filter(|c| !c["valore"].is_null() || !c["file"].is_null())
        .count();
    assert_eq!(filled, 8);

    // And it is closed to the client's edits.
    let again = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$0": "Luigi"}),
        )
        .await;
    assert_error(&again, 400, 239);
}

#[tokio::test]
async fn a_draft_submitted_by_put_with_invalid_values_names_them() {
    let app = TestApp::spawn().await;
    let id = create(
        &app,
        json!({"hash_visura": FAMIGLIA, "state": 0, "json_visura": famiglia_values()}),
    )
    .await;
    let refused = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$5": "XX", "json_visura.$2": "1985-02-30", "state": 1}),
        )
        .await;
    assert_error(&refused, 412, 229);
    let problems: Vec<(&str, &str)> = refused.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["campo"].as_str().unwrap(), d["codice"].as_str().unwrap()))
        .collect();
    assert_eq!(
        problems,
        [("$2", "date_invalid"), ("$5", "provincia_unknown")]
    );

    // A dotted null clears a value.
    let cleared = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$3": null, "state": 1}),
        )
        .await;
    assert_error(&cleared, 412, 229);
    assert_eq!(cleared.failing_fields(), ["$3"]);

    let ok = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$3": "Italia", "state": 1}),
        )
        .await;
    assert_eq!(ok.assert_ok()["stato_richiesta"], "In erogazione");
}

#[tokio::test]
async fn test_mode_validates_and_prices_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let priced = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_values(),
                   "test": true, "opzioni": {"opzione_0": true}}),
        )
        .await;
    let r = priced.assert_ok();
    assert_eq!(r["_id"], Value::Null);
    assert_eq!(r["prezzo_visura"], 19);
    assert_eq!(r["prezzo_totale"], 23);
    assert_eq!(r["stato_richiesta"], "In erogazione");

    let invalid = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "Mario"}, "test": true}),
        )
        .await;
    assert_error(&invalid, 412, 250);
    assert_eq!(
        invalid.failing_fields(),
        ["$1", "$2", "$3", "$4", "$5", "$6"]
    );

    // A string "true" is understood too.
    let as_string = app
        .post(
            "/richiesta",
            json!({"hash_visura": FAMIGLIA, "json_visura": famiglia_values(), "test": "true"}),
        )
        .await;
    assert_eq!(as_string.assert_ok()["_id"], Value::Null);

    assert_eq!(app.get("/richiesta").await.assert_ok(), &json!([]));
    let queue = app.op(Method::GET, "/operator/requests", None).await;
    assert_eq!(queue.assert_ok(), &json!([]));
}

#[tokio::test]
async fn options_are_priced_and_an_unknown_option_is_refused() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_values(),
                   "opzioni": {"opzione_0": true, "opzione_1": false}}),
        )
        .await;
    let r = answer.assert_ok().clone();
    assert_eq!(
        r["opzioni"],
        json!([{"tipo": "urgenza", "prezzo": 4, "nome": "opzione_0"}])
    );
    assert_eq!(r["prezzo_visura"], 19);
    assert_eq!(r["prezzo_totale"], 23);
    let got = app
        .get(&format!("/richiesta/{}", r["_id"].as_str().unwrap()))
        .await;
    assert_eq!(got.assert_ok()["prezzo_totale"], 23);

    // Both options: 19 + 4 + 10.
    let both = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_values(), "test": true,
                   "opzioni": {"opzione_0": true, "opzione_1": true}}),
        )
        .await;
    assert_eq!(both.assert_ok()["prezzo_totale"], 33);

    let unknown = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_values(),
                   "opzioni": {"opzione_7": true}}),
        )
        .await;
    assert_error(&unknown, 412, 250);
    assert_eq!(unknown.failing_fields(), ["opzioni.opzione_7"]);
    assert_eq!(unknown.body["details"][0]["codice"], "unknown_option");
    // The family certificate offers only `urgenza`.
    let not_offered = app
        .post(
            "/richiesta",
            json!({"hash_visura": FAMIGLIA, "json_visura": famiglia_values(),
                   "opzioni": {"opzione_1": true}}),
        )
        .await;
    assert_error(&not_offered, 412, 250);
    assert_eq!(not_offered.failing_fields(), ["opzioni.opzione_1"]);

    let malformed = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": assegno_values(), "opzioni": 3}),
        )
        .await;
    assert_error(&malformed, 400, 915);
    assert_eq!(malformed.failing_fields(), ["opzioni"]);

    // Only the first request was created.
    assert_eq!(ids(&app.get("/richiesta").await).len(), 1);
}

#[tokio::test]
async fn an_operator_asks_for_integration_and_the_client_supplies_it() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(ASSEGNO).await;
    app.claim(&id).await;
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/integration"),
        Some(json!({"messaggio": "Il documento è illeggibile", "campi": ["$5"]})),
    )
    .await
    .assert_ok();

    let waiting = app.get(&format!("/richiesta/{id}")).await;
    let r = waiting.assert_ok();
    assert_eq!(r["stato_richiesta"], "In attesa di integrazione");
    assert_eq!(r["state"], 1);
    assert_eq!(members(r), expected_members(&["integrazione"]));
    assert_eq!(r["integrazione"]["messaggio"], "Il documento è illeggibile");
    assert_eq!(r["integrazione"]["campi"], json!(["$5"]));
    assert!(r["integrazione"]["timestamp"].is_i64());
    assert!(r["timestamp_stati"]["in_attesa_integrazione"].is_i64());

    // A PUT without what was asked for is refused and changes nothing.
    let without = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$3": "3339876543"}),
        )
        .await;
    assert_error(&without, 412, 229);
    assert_eq!(without.failing_fields(), ["$5"]);
    assert_eq!(without.body["details"][0]["codice"], "required");
    // An invalid file is named with its reason.
    let not_a_pdf = format!(
        "carta.pdf|data:application/pdf;base64,{}",
        b64(b"solo testo, nessun PDF")
    );
    let invalid = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$5": not_a_pdf}),
        )
        .await;
    assert_error(&invalid, 412, 229);
    assert_eq!(invalid.failing_fields(), ["$5"]);
    assert_eq!(invalid.body["details"][0]["codice"], "file_type");
    let still = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(
        still.assert_ok()["stato_richiesta"],
        "In attesa di integrazione"
    );

    let supplied = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$5": pdf_field("carta_leggibile.pdf")}),
        )
        .await;
    let r = supplied.assert_ok();
    assert_eq!(r["stato_richiesta"], "In erogazione");
    assert!(r.get("integrazione").is_none(), "{r:#}");
    assert_eq!(members(r), expected_members(&[]));

    // The operator finds the new file in place of the old one.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let campi = detail.assert_ok()["campi"].as_array().unwrap().clone();
    let five = campi.iter().find(|c| c["campo"] == "$5").unwrap();
    assert_eq!(five["file"]["nome"], "carta_leggibile.pdf");

    // Once answered, the integration cannot be answered again.
    let again = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$5": pdf_field("ancora.pdf")}),
        )
        .await;
    assert_error(&again, 400, 239);
}

#[tokio::test]
async fn put_on_a_request_in_progress_processed_or_cancelled_is_refused_as_closed() {
    let app = TestApp::spawn().await;
    let submitted = app.submit_valid(ASSEGNO).await;
    let taken = app.submit_valid(ASSEGNO).await;
    app.claim(&taken).await;
    let processed = app.submit_valid(FAMIGLIA).await;
    app.work_to_the_end(&processed, &[("certificato.pdf", pdf("certificato"))])
        .await;
    let cancelled = app.submit_valid(FAMIGLIA).await;
    delete(&app, &app.client_token, &cancelled, None)
        .await
        .assert_ok();

    for id in [&submitted, &taken, &processed, &cancelled] {
        for body in [
            json!({"json_visura.$0": "Luigi"}),
            json!({"state": 1}),
            json!({"state": 0, "json_visura": {"$0": "Luigi"}}),
        ] {
            let answer = app.put(&format!("/richiesta/{id}"), body).await;
            assert_error(&answer, 400, 239);
        }
    }
    // Nothing changed.
    let r = app.get(&format!("/richiesta/{processed}")).await;
    assert_eq!(r.assert_ok()["stato_richiesta"], "Visura evasa");
    assert_eq!(r.assert_ok()["allegati"], json!(["certificato.pdf"]));
}

#[tokio::test]
async fn delete_cancels_an_untaken_request_but_not_one_an_operator_took() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(ASSEGNO).await;
    app.clock.advance(5);
    let cancelled = delete(
        &app,
        &app.client_token,
        &id,
        Some(json!({"motivo": "Richiesta inviata per errore"})),
    )
    .await;
    let r = cancelled.assert_ok().clone();
    assert_eq!(r["stato_richiesta"], "Annullata");
    assert_eq!(r["motivo_annullamento"], "Richiesta inviata per errore");
    assert_eq!(
        r["timestamp_stati"]["annullata"].as_i64().unwrap(),
        r["timestamp_stati"]["in_erogazione"].as_i64().unwrap() + 5
    );
    assert_eq!(members(&r), expected_members(&["motivo_annullamento"]));
    assert_eq!(app.get(&format!("/richiesta/{id}")).await.assert_ok(), &r);
    // No operator can take it any more.
    let claim = app
        .op(
            Method::POST,
            &format!("/operator/requests/{id}/claim"),
            None,
        )
        .await;
    assert_error(&claim, 409, 907);
    // Cancelling twice is refused.
    assert_error(&delete(&app, &app.client_token, &id, None).await, 409, 907);

    // A draft can be cancelled too, without a reason.
    let draft = create(
        &app,
        json!({"hash_visura": ASSEGNO, "state": 0, "json_visura": {"$0": "Mario"}}),
    )
    .await;
    let r = delete(&app, &app.client_token, &draft, None).await;
    assert_eq!(r.assert_ok()["stato_richiesta"], "Annullata");
    assert!(r.assert_ok()["motivo_annullamento"].is_string());

    // Once an operator took it, the client can no longer cancel it.
    let taken = app.submit_valid(ASSEGNO).await;
    app.claim(&taken).await;
    let refused = delete(
        &app,
        &app.client_token,
        &taken,
        Some(json!({"motivo": "Ci ho ripensato"})),
    )
    .await;
    assert_error(&refused, 409, 907);
    let r = app.get(&format!("/richiesta/{taken}")).await;
    assert_eq!(r.assert_ok()["stato_richiesta"], "In erogazione");
    assert!(r.assert_ok().get("motivo_annullamento").is_none());

    // A motivo that is not a string.
    let other = app.submit_valid(ASSEGNO).await;
    let bad = delete(&app, &app.client_token, &other, Some(json!({"motivo": 42}))).await;
    assert_error(&bad, 400, 915);
}

#[tokio::test]
async fn an_idempotent_retry_gets_the_same_bytes_and_creates_one_request() {
    let app = TestApp::spawn().await;
    let body = json!({"hash_visura": ASSEGNO, "json_visura": assegno_values()}).to_string();
    let post = |token: &str, key: &str, body: String| {
        app.http
            .post(format!("{}/richiesta", app.base))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .body(body)
    };
    let first = post(&app.client_token, "ordine-42", body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let first = first.bytes().await.unwrap();
    // Time passes, the client retries.
    app.clock.advance(30);
    let second = post(&app.client_token, "ordine-42", body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    let second = second.bytes().await.unwrap();
    assert_eq!(first, second);
    let parsed: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(parsed["success"], true);
    let first_id = parsed["data"]["_id"].as_str().unwrap();
    assert_eq!(ids(&app.get("/richiesta").await), [first_id]);

    // The same key with another body is a client bug.
    let other_body = json!({"hash_visura": FAMIGLIA, "json_visura": famiglia_values()}).to_string();
    let mismatch = app
        .raw(post(&app.client_token, "ordine-42", other_body.clone()))
        .await;
    assert_error(&mismatch, 422, 908);
    assert_eq!(ids(&app.get("/richiesta").await).len(), 1);

    // Another key is another request; keys belong to their client.
    app.raw(post(&app.client_token, "ordine-43", other_body))
        .await
        .assert_ok();
    assert_eq!(ids(&app.get("/richiesta").await).len(), 2);
    let stranger = app.new_client("altro").await;
    let theirs = app.raw(post(&stranger, "ordine-42", body)).await;
    assert_ne!(theirs.assert_ok()["_id"].as_str().unwrap(), first_id);

    // A blank key is refused.
    let blank = app.raw(post(&app.client_token, " ", "{}".into())).await;
    assert_error(&blank, 400, 909);
}

#[tokio::test]
async fn the_list_is_newest_first_paginated_and_filtered() {
    let app = TestApp::spawn().await;
    // None yet: an empty list, not the commercial API's 404/203.
    let empty = app.get("/richiesta").await;
    assert_eq!(empty.assert_ok(), &json!([]));

    let first = app.submit_valid(ASSEGNO).await;
    app.clock.advance(10);
    let second = app.submit_valid(FAMIGLIA).await;
    app.clock.advance(10);
    let draft = create(
        &app,
        json!({"hash_visura": ASSEGNO, "state": 0, "json_visura": {"$0": "Mario"}}),
    )
    .await;
    app.clock.advance(10);
    let fourth = app.submit_valid(ASSEGNO).await;
    let (first, second, draft, fourth) = (
        first.as_str(),
        second.as_str(),
        draft.as_str(),
        fourth.as_str(),
    );

    assert_eq!(
        ids(&app.get("/richiesta").await),
        [fourth, draft, second, first]
    );
    assert_eq!(
        ids(&app.get("/richiesta?page=1&per_page=3").await),
        [fourth, draft, second]
    );
    assert_eq!(ids(&app.get("/richiesta?page=2&per_page=3").await), [first]);
    assert!(ids(&app.get("/richiesta?page=3&per_page=3").await).is_empty());
    // Without `page`: the first page.
    assert_eq!(ids(&app.get("/richiesta?per_page=1").await), [fourth]);

    assert_eq!(
        ids(&app.get("/richiesta?stato=In%20erogazione").await),
        [fourth, second, first]
    );
    assert_eq!(
        ids(&app.get("/richiesta?stato=in_erogazione").await),
        [fourth, second, first]
    );
    // A draft reads "In ricerca" and is stamped `in_ricerca`: both select it.
    assert_eq!(
        ids(&app.get("/richiesta?stato=In%20ricerca").await),
        [draft]
    );
    assert_eq!(ids(&app.get("/richiesta?stato=in_ricerca").await), [draft]);
    assert!(ids(&app.get("/richiesta?stato=Annullata").await).is_empty());
    assert_eq!(
        ids(&app.get(&format!("/richiesta?hash_visura={ASSEGNO}")).await),
        [fourth, draft, first]
    );
    assert_eq!(
        ids(&app
            .get(&format!(
                "/richiesta?hash_visura={ASSEGNO}&stato=in_erogazione&per_page=1&page=2"
            ))
            .await),
        [first]
    );

    // Bad filters are refused in the envelope.
    assert_error(&app.get("/richiesta?stato=evaso").await, 400, 912);
    assert_error(&app.get("/richiesta?page=primo").await, 400, 912);
    assert_error(
        &app.get("/richiesta?hash_visura=00000000000000000000000000000000")
            .await,
        400,
        200,
    );
}

#[tokio::test]
async fn another_client_gets_404_and_sees_nothing_of_the_first_clients_request() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(ASSEGNO).await;
    let stranger = app.new_client("concorrente").await;

    let get = app
        .call(Method::GET, &format!("/richiesta/{id}"), &stranger, None)
        .await;
    assert_error(&get, 404, 202);
    assert_eq!(
        get.body["message"],
        format!("no request matches this id: {id}")
    );
    assert_error(
        &app.call(Method::GET, &format!("/documento/{id}"), &stranger, None)
            .await,
        404,
        244,
    );
    assert_error(
        &app.call(
            Method::PUT,
            &format!("/richiesta/{id}"),
            &stranger,
            Some(json!({"json_visura.$0": "Intruso"})),
        )
        .await,
        404,
        228,
    );
    assert_error(&delete(&app, &stranger, &id, None).await, 404, 202);
    assert_error(
        &app.call(
            Method::POST,
            &format!("/richiesta/{id}"),
            &stranger,
            Some(json!({})),
        )
        .await,
        404,
        228,
    );
    let list = app.call(Method::GET, "/richiesta", &stranger, None).await;
    assert_eq!(list.assert_ok(), &json!([]));

    // The owner's request is untouched.
    let r = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(r.assert_ok()["stato_richiesta"], "In erogazione");
    assert_eq!(ids(&app.get("/richiesta").await), [id]);
}

#[tokio::test]
async fn hashes_and_ids_are_checked_with_the_commercial_codes() {
    let app = TestApp::spawn().await;
    let unknown = "0123456789abcdef0123456789abcdef";
    assert_error(
        &app.post(
            "/richiesta",
            json!({"hash_visura": unknown, "json_visura": {}}),
        )
        .await,
        400,
        200,
    );
    assert_error(&app.get(&format!("/visure/{unknown}")).await, 400, 200);
    // Missing, blank, or not a string.
    for body in [
        json!({"json_visura": assegno_values()}),
        json!({"hash_visura": "  "}),
        json!({"hash_visura": null}),
        json!({"hash_visura": 42}),
        json!({}),
    ] {
        assert_error(&app.post("/richiesta", body).await, 428, 204);
    }

    for bad_id in [
        "abc",
        "5f2829ce065afc21cc60ad0",
        "5F2829CE065AFC21CC60AD0Z",
        "%20",
    ] {
        assert_error(&app.get(&format!("/richiesta/{bad_id}")).await, 400, 201);
        assert_error(
            &app.put(&format!("/richiesta/{bad_id}"), json!({"state": 1}))
                .await,
            400,
            201,
        );
        assert_error(
            &delete(&app, &app.client_token, bad_id, None).await,
            400,
            201,
        );
        assert_error(&app.get(&format!("/documento/{bad_id}")).await, 400, 243);
        assert_error(
            &app.post(&format!("/richiesta/{bad_id}"), json!({"json_visura": {}}))
                .await,
            400,
            219,
        );
    }

    assert_error(
        &app.get(&format!("/richiesta/{NO_SUCH_ID}")).await,
        404,
        202,
    );
    assert_error(
        &app.put(&format!("/richiesta/{NO_SUCH_ID}"), json!({"state": 1}))
            .await,
        404,
        228,
    );
    assert_error(
        &delete(&app, &app.client_token, NO_SUCH_ID, None).await,
        404,
        202,
    );
    assert_error(
        &app.get(&format!("/documento/{NO_SUCH_ID}")).await,
        404,
        244,
    );

    // `state` other than 0 or 1.
    assert_error(
        &app.post("/richiesta", json!({"hash_visura": ASSEGNO, "state": 2}))
            .await,
        400,
        915,
    );
}

#[tokio::test]
async fn bodies_are_json_whatever_the_content_type_says() {
    let app = TestApp::spawn().await;
    let body = json!({"hash_visura": FAMIGLIA, "json_visura": famiglia_values()}).to_string();
    let post = |content_type: Option<&str>, body: String| {
        let mut req = app
            .http
            .post(format!("{}/richiesta", app.base))
            .bearer_auth(&app.client_token)
            .body(body);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        app.raw(req)
    };
    // What the PHP SDK sends (libcurl's default label), the Node SDK (none), and others.
    for ct in [
        Some("application/x-www-form-urlencoded"),
        None,
        Some("text/plain"),
        Some("application/json; charset=utf-8"),
    ] {
        let answer = post(ct, body.clone()).await;
        assert_eq!(
            answer.assert_ok()["stato_richiesta"],
            "In erogazione",
            "{ct:?}"
        );
    }
    // The PHP SDK's PUT: a form-labelled JSON body.
    let draft = create(
        &app,
        json!({"hash_visura": FAMIGLIA, "state": 0, "json_visura": {"$0": "Mario"}}),
    )
    .await;
    let put = app
        .raw(
            app.http
                .put(format!("{}/richiesta/{draft}", app.base))
                .bearer_auth(&app.client_token)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(json!({"state": 1, "json_visura": famiglia_values()}).to_string()),
        )
        .await;
    assert_eq!(put.assert_ok()["state"], 1);

    // Malformed JSON, a form body, a JSON array, a JSON string: 400/905, in the envelope.
    for bad in [
        "{\"hash_visura\": ",
        "hash_visura=4c84e22bbabd5f25b0102bb3bfe82790",
        "[{\"hash_visura\": \"4c84e22bbabd5f25b0102bb3bfe82790\"}]",
        "\"4c84e22bbabd5f25b0102bb3bfe82790\"",
        "{\"hash_visura\": \"RSSMRA85T10H501O",
    ] {
        let answer = post(Some("application/json"), bad.to_string()).await;
        assert_error(&answer, 400, 905);
        assert!(!answer.body.to_string().contains(CF));
    }
    let put_array = app
        .raw(
            app.http
                .put(format!("{}/richiesta/{draft}", app.base))
                .bearer_auth(&app.client_token)
                .body("[1, 2]"),
        )
        .await;
    assert_error(&put_array, 400, 905);

    // Five requests: the four POSTs and the submitted draft.
    assert_eq!(ids(&app.get("/richiesta").await).len(), 5);
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let app = TestApp::spawn_with(Limits {
        max_body_bytes: 4096,
        ..Default::default()
    })
    .await;
    let mut values = famiglia_values();
    values.insert("$3".into(), json!("x".repeat(5000)));
    let big = app
        .post(
            "/richiesta",
            json!({"hash_visura": FAMIGLIA, "json_visura": values}),
        )
        .await;
    assert_error(&big, 413, 906);
    let id = create(
        &app,
        json!({"hash_visura": FAMIGLIA, "state": 0, "json_visura": famiglia_values()}),
    )
    .await;
    let big_put = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura.$3": "x".repeat(5000)}),
        )
        .await;
    assert_error(&big_put, 413, 906);
    // Below the limit all is well.
    let r = app
        .put(&format!("/richiesta/{id}"), json!({"state": 1}))
        .await;
    assert_eq!(r.assert_ok()["state"], 1);
}

#[tokio::test]
async fn email_target_is_checked_and_kept() {
    let app = TestApp::spawn().await;
    let with_email = app
        .post(
            "/richiesta",
            json!({"hash_visura": FAMIGLIA, "json_visura": famiglia_values(),
                   "email_target": "ufficio@example.it"}),
        )
        .await;
    assert_eq!(with_email.assert_ok()["email_target"], "ufficio@example.it");

    for bad in [
        json!("non-una-email"),
        json!("a@"),
        json!(42),
        json!({"to": "x@y.it"}),
    ] {
        let answer = app
            .post(
                "/richiesta",
                json!({"hash_visura": FAMIGLIA, "json_visura": famiglia_values(),
                       "email_target": bad}),
            )
            .await;
        assert_error(&answer, 400, 209);
        assert_eq!(answer.body["message"], "email is considered invalid!");
        assert_eq!(answer.failing_fields(), ["email_target"]);
        assert!(!answer.body.to_string().contains("non-una-email"));
    }
    // Empty and false mean none, as the PHP SDK may send them.
    for none in [json!(""), json!(false), Value::Null] {
        let answer = app
            .post(
                "/richiesta",
                json!({"hash_visura": FAMIGLIA, "json_visura": famiglia_values(),
                       "email_target": none, "test": true}),
            )
            .await;
        assert_eq!(answer.assert_ok()["email_target"], Value::Null);
    }

    // On a draft, through PUT.
    let draft = create(
        &app,
        json!({"hash_visura": FAMIGLIA, "state": 0, "json_visura": famiglia_values()}),
    )
    .await;
    assert_error(
        &app.put(
            &format!("/richiesta/{draft}"),
            json!({"email_target": "no"}),
        )
        .await,
        400,
        209,
    );
    let set = app
        .put(
            &format!("/richiesta/{draft}"),
            json!({"email_target": "altro@example.it", "state": 1}),
        )
        .await;
    assert_eq!(set.assert_ok()["email_target"], "altro@example.it");
}

#[tokio::test]
async fn callback_data_is_normalised_and_the_node_sdk_alias_accepted() {
    let app = TestApp::spawn().await;
    let with = |extra: Value| {
        let mut body = json!({"hash_visura": FAMIGLIA, "json_visura": famiglia_values()});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };

    // The PHP SDK's defaults fill what is left out; `data` is echoed.
    let answer = app
        .post(
            "/richiesta",
            with(
                json!({"callback_data": {"url": "https://crm.example.it/hook",
                                           "data": {"pratica": 7, "tag": "abc"}}}),
            ),
        )
        .await;
    assert_eq!(
        answer.assert_ok()["callback_data"],
        json!({"url": "https://crm.example.it/hook", "method": "JSON",
               "field": "visengineData", "data": {"pratica": 7, "tag": "abc"}})
    );
    let id = answer.assert_ok()["_id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("/richiesta/{id}")).await.assert_ok()["callback_data"]["data"],
        json!({"pratica": 7, "tag": "abc"})
    );

    let post_method = app
        .post(
            "/richiesta",
            with(
                json!({"callback_data": {"url": "https://crm.example.it/hook",
                                           "method": "post", "field": "data"}}),
            ),
        )
        .await;
    assert_eq!(
        post_method.assert_ok()["callback_data"],
        json!({"url": "https://crm.example.it/hook", "method": "POST",
               "field": "data", "data": null})
    );

    // The Node SDK sends `callback`.
    let node = app
        .post(
            "/richiesta",
            with(json!({"callback": {"url": "https://node.example.it/cb", "field": "data"}})),
        )
        .await;
    assert_eq!(
        node.assert_ok()["callback_data"],
        json!({"url": "https://node.example.it/cb", "method": "JSON",
               "field": "data", "data": null})
    );
    // A string `callback` is the commercial API's internal tag, not a callback.
    let tag = app
        .post(
            "/richiesta",
            with(json!({"callback": "_rib_cam_Ordinaria"})),
        )
        .await;
    assert_eq!(tag.assert_ok()["callback_data"], false);
    let none = app
        .post("/richiesta", with(json!({"callback_data": false})))
        .await;
    assert_eq!(none.assert_ok()["callback_data"], false);

    for (bad, campo) in [
        (json!({"url": "ftp://example.it/x"}), "callback_data.url"),
        (json!({"url": "not a url"}), "callback_data.url"),
        (json!({"data": {}}), "callback_data.url"),
        (
            json!({"url": "https://example.it", "method": "GET"}),
            "callback_data.method",
        ),
        (json!("https://example.it"), "callback_data"),
    ] {
        let answer = app
            .post("/richiesta", with(json!({"callback_data": bad})))
            .await;
        assert_error(&answer, 400, 915);
        assert_eq!(answer.failing_fields(), [campo]);
    }
}

#[tokio::test]
async fn the_search_routes_answer_with_the_documented_conflicts() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(ASSEGNO).await;
    let add = app
        .post(
            &format!("/richiesta/{id}"),
            json!({"json_visura": {"$0": "Mario"}}),
        )
        .await;
    assert_error(&add, 409, 222);
    let choose = app
        .put(
            &format!("/richiesta/{id}/ricerche"),
            json!({"id_ricerca": format!("{id}_0"), "indice": 0}),
        )
        .await;
    assert_error(&choose, 409, 230);
    // On a request that does not exist: not found, as PUT /ricerche documents.
    let choose_missing = app
        .put(
            &format!("/richiesta/{NO_SUCH_ID}/ricerche"),
            json!({"id_ricerca": format!("{NO_SUCH_ID}_0"), "indice": 0}),
        )
        .await;
    assert_error(&choose_missing, 404, 228);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_envelope() {
    let app = TestApp::spawn().await;
    for path in [
        "/nope",
        "/v1/richiesta",
        // The seed pages' misprint of the document path.
        "/visure/documento/5f2829ce065afc21cc60ad0e",
    ] {
        assert_error(&app.get(path).await, 404, 910);
    }
    let patch = app
        .call(
            Method::PATCH,
            "/richiesta",
            &app.client_token,
            Some(json!({})),
        )
        .await;
    assert_error(&patch, 405, 911);
    let delete_list = app
        .call(Method::DELETE, "/richiesta", &app.client_token, None)
        .await;
    assert_error(&delete_list, 405, 911);
}

#[tokio::test]
async fn odd_input_never_gets_a_500() {
    let app = TestApp::spawn().await;
    let draft = create(
        &app,
        json!({"hash_visura": ASSEGNO, "state": 0, "json_visura": {"$0": "Mario"}}),
    )
    .await;
    let huge = "9".repeat(400);
    let posts = [
        json!({"hash_visura": ASSEGNO, "json_visura": "{\"$0\": \"Mario\"}", "test": true}),
        json!({"hash_visura": ASSEGNO, "json_visura": "not json"}),
        json!({"hash_visura": ASSEGNO, "json_visura": [1, 2, 3]}),
        json!({"hash_visura": ASSEGNO, "json_visura": {"$0": {"nested": true}}}),
        json!({"hash_visura": ASSEGNO, "json_visura": {"$99999999999999999999": "x"}}),
        json!({"hash_visura": ASSEGNO, "json_visura": {"$0": 1e308, "$3": 3331234567u64}}),
        json!({"hash_visura": ASSEGNO, "state": -1}),
        json!({"hash_visura": ASSEGNO, "state": 1.5}),
        json!({"hash_visura": ASSEGNO, "test": "maybe"}),
        json!({"hash_visura": ASSEGNO, "opzioni": ["opzione_0", 3]}),
        json!({"hash_visura": ASSEGNO, "opzioni": {"opzione_0": "sì"}}),
        json!({"hash_visura": "../../etc/passwd"}),
        json!({"hash_visura": "\u{0000}"}),
        json!({"hash_visura": huge}),
        json!({"hash_visura": ["a"]}),
    ];
    for body in posts {
        let answer = app.post("/richiesta", body.clone()).await;
        assert!(answer.status.as_u16() < 500, "{body}: {:#}", answer.body);
        assert!(
            answer.body["success"].is_boolean(),
            "{body}: {:#}",
            answer.body
        );
    }
    let puts = [
        json!({"state": "yes"}),
        json!({"json_visura": 7}),
        json!({"json_visura.$0": ["x"]}),
        json!({"json_visura.": "x", "state": 1}),
        json!({"json_visura.$abc": "x", "state": 1}),
        json!({"email_target": ["x"]}),
    ];
    for body in puts {
        let answer = app.put(&format!("/richiesta/{draft}"), body.clone()).await;
        assert!(answer.status.as_u16() < 500, "{body}: {:#}", answer.body);
        assert_eq!(answer.body["success"], false, "{body}: {:#}", answer.body);
    }
    for path in [
        format!("/richiesta/{huge}"),
        "/richiesta/%00".to_string(),
        "/richiesta/..%2F..%2Fetc".to_string(),
        format!("/documento/{draft}"),
        format!("/documento/{draft}/download"),
        format!("/visure/{huge}"),
        "/richiesta?page=0&per_page=0".to_string(),
        "/richiesta?per_page=4294967296".to_string(),
        format!("/richiesta?page={huge}"),
    ] {
        let answer = app.get(&path).await;
        assert!(answer.status.as_u16() < 500, "{path}: {:#}", answer.body);
        assert!(
            answer.body["success"].is_boolean(),
            "{path}: {:#}",
            answer.body
        );
    }
}

#[tokio::test]
async fn an_idempotency_key_used_in_test_mode_does_not_replay_in_live_mode() {
    let app = TestApp::spawn().await;
    let client = app.state.store.list_clients().await.unwrap()[0].id.clone();
    let live = sportello_server::setup::issue_token(
        &app.state,
        sportello_server::setup::TokenSpec {
            role: sportello_store::Role::Client,
            client_id: Some(client),
            operator_id: None,
            label: "live".into(),
            live: true,
            ttl_secs: None,
            scopes: None,
        },
    )
    .await
    .unwrap()
    .secret;
    let body = json!({"hash_visura": "4c84e22bbabd5f25b0102bb3bfe82790", "state": 0});
    let send = |token: String| {
        app.http
            .post(format!("{}/richiesta", app.base))
            .bearer_auth(token)
            .header("Idempotency-Key", "same-key")
            .json(&body)
    };
    let test = app.raw(send(app.test_token.clone())).await;
    let live = app.raw(send(live)).await;
    assert_eq!(test.assert_ok()["live"], false);
    assert_eq!(live.assert_ok()["live"], true);
    assert_ne!(test.data()["_id"], live.data()["_id"]);
}
