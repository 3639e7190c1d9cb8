//! The operator API over HTTP: the queue of a provider, a request's detail and files, and the
//! actions an operator takes, including what the state machine refuses and two operators racing
//! for the same request.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_server::setup::{self, TokenSpec};
use sportello_store::Role;

/// Indennità per congedo parentale.
const CONGEDO: &str = "8a7c8386fff43d28182cfa2ad24a3532";

// --- helpers ---

/// Another operator of the demo provider (the one working every service); returns its token.
async fn colleague(app: &TestApp, name: &str) -> String {
    let provider = app
        .state
        .store
        .list_providers()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "CAF Demo")
        .unwrap();
    let op = setup::create_operator(&app.state, &provider.id, name, "collega@example.com")
        .await
        .unwrap();
    setup::issue_token(
        &app.state,
        TokenSpec {
            role: Role::Operator,
            client_id: None,
            operator_id: Some(op.id),
            label: "test".into(),
            live: false,
            ttl_secs: None,
            scopes: None,
        },
    )
    .await
    .unwrap()
    .secret
}

/// Opens a draft (`state: 0`) for `hash` with nothing in it; returns its `_id`.
async fn open_draft(app: &TestApp, hash: &str) -> String {
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": hash, "state": 0, "json_visura": {}}),
        )
        .await;
    let d = answer.assert_ok();
    assert_eq!(d["state"], 0);
    d["_id"].as_str().unwrap().to_string()
}

async fn queue(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let answer = app
        .call(
            Method::GET,
            &format!("/operator/requests{query}"),
            token,
            None,
        )
        .await;
    answer.assert_ok().as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|q| q["id"].as_str().unwrap().to_string())
        .collect()
}

async fn act(app: &TestApp, id: &str, action: &str, body: Option<Value>) -> Answer {
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/{action}"),
        body,
    )
    .await
}

/// Asserts a 409/907 refusal whose message contains `words`.
fn assert_refused(answer: &Answer, words: &str) {
    assert_eq!(answer.status, StatusCode::CONFLICT, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 907);
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.contains(words),
        "expected {words:?} in the message, got {message:?}"
    );
}

async fn attach_pdf(app: &TestApp, id: &str, tag: &str) {
    act(
        app,
        id,
        "results",
        Some(json!({"nome": format!("{tag}.pdf"), "file": b64(&pdf(tag))})),
    )
    .await
    .assert_ok();
}

// --- the queue ---

#[tokio::test]
async fn the_queue_lists_submitted_requests_oldest_first_and_never_drafts() {
    let app = TestApp::spawn().await;
    let first = app.submit_valid(ASSEGNO).await;
    app.clock.advance(10);
    let draft = open_draft(&app, CONGEDO).await;
    app.clock.advance(10);
    let second = app.submit_valid(CONGEDO).await;
    app.clock.advance(10);
    let third = app.submit_valid(FAMIGLIA).await;

    let items = queue(&app, &app.operator_token, "").await;
    assert_eq!(ids(&items), vec![first.clone(), second, third]);
    assert!(!ids(&items).contains(&draft));
    let item = &items[0];
    assert_eq!(item["hash_visura"], ASSEGNO);
    assert_eq!(item["nome_visura"], "Domanda Assegno Unico");
    assert_eq!(item["stato_richiesta"], "In erogazione");
    assert_eq!(item["cliente"], "Demo");
    assert_eq!(item["operatore"], Value::Null);

    // Not even when asked for explicitly, and not in the detail either.
    for stato in ["draft", "In%20ricerca", "draft,in_erogazione"] {
        let listed = ids(&queue(&app, &app.operator_token, &format!("?stato={stato}")).await);
        assert!(!listed.contains(&draft), "stato={stato} shows a draft");
    }
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{draft}"), None)
        .await;
    assert_eq!(detail.status, StatusCode::NOT_FOUND);
    assert_eq!(detail.error_code(), 914);
    let claim = act(&app, &draft, "claim", None).await;
    assert_eq!(claim.status, StatusCode::NOT_FOUND);
    assert_eq!(claim.error_code(), 914);
}

#[tokio::test]
async fn the_queue_filters_by_stato_assignment_and_service() {
    let app = TestApp::spawn().await;
    let other = colleague(&app, "Collega").await;
    let mine = app.submit_valid(ASSEGNO).await;
    app.clock.advance(1);
    let theirs = app.submit_valid(CONGEDO).await;
    app.clock.advance(1);
    let free = app.submit_valid(CONGEDO).await;
    app.clock.advance(1);
    let waiting = app.submit_valid(FAMIGLIA).await;
    app.clock.advance(1);
    let closed = app.submit_valid(FAMIGLIA).await;

    app.claim(&mine).await;
    app.call(
        Method::POST,
        &format!("/operator/requests/{theirs}/claim"),
        &other,
        None,
    )
    .await
    .assert_ok();
    app.claim(&waiting).await;
    act(
        &app,
        &waiting,
        "integration",
        Some(json!({"messaggio": "Manca il documento", "campi": ["$5"]})),
    )
    .await
    .assert_ok();
    app.work_to_the_end(&closed, &[("esito.pdf", pdf("x"))])
        .await;

    let token = app.operator_token.clone();
    // By default every open state, closed ones excluded.
    assert_eq!(
        ids(&queue(&app, &token, "").await),
        vec![mine.clone(), theirs.clone(), free.clone(), waiting.clone()]
    );
    assert_eq!(
        ids(&queue(&app, &token, "?stato=in_attesa_integrazione").await),
        vec![waiting.clone()]
    );
    assert_eq!(
        ids(&queue(&app, &token, "?stato=In%20attesa%20di%20integrazione").await),
        vec![waiting.clone()]
    );
    assert_eq!(
        ids(&queue(&app, &token, "?stato=visura_evasa").await),
        vec![closed.clone()]
    );
    assert_eq!(
        ids(&queue(&app, &token, "?stato=in_erogazione,visura_evasa").await),
        vec![mine.clone(), theirs.clone(), free.clone(), closed.clone()]
    );
    // `me`: what I hold (the request waiting for integration is still mine).
    assert_eq!(
        ids(&queue(&app, &token, "?assigned=me").await),
        vec![mine.clone(), waiting.clone()]
    );
    assert_eq!(
        ids(&queue(&app, &other, "?assigned=me").await),
        vec![theirs.clone()]
    );
    assert_eq!(
        ids(&queue(&app, &token, "?assigned=none").await),
        vec![free.clone()]
    );
    assert_eq!(
        ids(&queue(&app, &token, &format!("?hash_visura={CONGEDO}")).await),
        vec![theirs.clone(), free.clone()]
    );
    assert_eq!(
        ids(&queue(
            &app,
            &token,
            &format!("?hash_visura={CONGEDO}&assigned=none")
        )
        .await),
        vec![free.clone()]
    );
    // Who holds what is visible to everyone of the provider.
    let items = queue(&app, &token, "").await;
    assert!(items[0]["operatore"].is_string());
    assert_ne!(items[0]["operatore"], items[1]["operatore"]);
    assert_eq!(items[2]["operatore"], Value::Null);

    // Filters that mean nothing are refused, not ignored.
    for query in [
        "?stato=evasa",
        "?hash_visura=00000000000000000000000000000000",
        "?assigned=tutti",
    ] {
        let answer = app
            .op(Method::GET, &format!("/operator/requests{query}"), None)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{query}: {:#}",
            answer.body
        );
        assert_eq!(answer.error_code(), 912, "{query}");
    }
}

// --- the detail and its files ---

#[tokio::test]
async fn the_detail_shows_fields_in_catalog_order_with_values_files_and_history() {
    let app = TestApp::spawn().await;
    let service = app.get(&format!("/visure/{ASSEGNO}")).await;
    let visura = service.assert_ok().clone();
    let json_visura = valid_json_visura(&visura);
    let created = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": json_visura}),
        )
        .await;
    let id = created.assert_ok()["_id"].as_str().unwrap().to_string();

    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let d = detail.assert_ok();
    assert_eq!(d["richiesta"]["_id"], id.as_str());
    assert_eq!(d["richiesta"]["stato_richiesta"], "In erogazione");
    assert_eq!(d["cliente"], "Demo");
    assert_eq!(d["operatore"], Value::Null);

    // The catalog's `ordine` ($0 has none: first), ties and gaps by index.
    let campi = d["campi"].as_array().unwrap();
    let order: Vec<&str> = campi.iter().map(|c| c["campo"].as_str().unwrap()).collect();
    assert_eq!(order, ["$0", "$1", "$4", "$3", "$2", "$5", "$6", "$7"]);
    for c in campi {
        let key = c["campo"].as_str().unwrap();
        let spec = &visura["json_struttura"]["campi"][key];
        assert_eq!(c["nome"], spec["nome"]);
        assert_eq!(c["tipo"], spec["tipo"]);
        if spec["tipo"] == "file" {
            assert_eq!(c["valore"], Value::Null);
            let f = &c["file"];
            let bytes = pdf(key);
            assert_eq!(
                f["nome"],
                format!("documento_{}.pdf", key.trim_start_matches('$'))
            );
            assert_eq!(f["mime"], "application/pdf");
            assert_eq!(f["dimensione"], bytes.len());
            assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
        } else {
            assert_eq!(c["valore"], json_visura[key], "{key}");
            assert_eq!(c["file"], Value::Null);
        }
    }
    assert_eq!(d["risultati"], json!([]));

    let storia = d["storia"].as_array().unwrap();
    assert_eq!(storia.len(), 1);
    assert_eq!(storia[0]["azione"], "submit");
    assert_eq!(storia[0]["stato"], "In erogazione");
    assert!(storia[0]["attore"].as_str().unwrap().starts_with("client:"));

    app.claim(&id).await;
    attach_pdf(&app, &id, "esito").await;
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let d = detail.assert_ok();
    let actions: Vec<&str> = d["storia"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["azione"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submit", "claim", "attach_result"]);
    assert!(d["storia"][1]["attore"]
        .as_str()
        .unwrap()
        .starts_with("operator:"));
    assert_eq!(d["risultati"].as_array().unwrap().len(), 1);
    assert_eq!(d["risultati"][0]["nome"], "esito.pdf");
}

#[tokio::test]
async fn an_input_file_downloads_with_the_bytes_the_client_sent() {
    let app = TestApp::spawn().await;
    let scan = png();
    let mut json_visura =
        valid_json_visura(app.get(&format!("/visure/{ASSEGNO}")).await.assert_ok());
    json_visura["$6"] = json!(format!(
        "codice fiscale.png|data:image/png;base64,{}",
        b64(&scan)
    ));
    let created = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": json_visura}),
        )
        .await;
    let id = created.assert_ok()["_id"].as_str().unwrap().to_string();

    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let campi = detail.assert_ok()["campi"].as_array().unwrap().clone();
    let file_of = |key: &str| campi.iter().find(|c| c["campo"] == key).unwrap()["file"].clone();

    for (key, sent, mime) in [
        ("$5", pdf("$5"), "application/pdf"),
        ("$6", scan.clone(), "image/png"),
    ] {
        let info = file_of(key);
        let file_id = info["id"].as_str().unwrap();
        let resp = app
            .http
            .get(format!(
                "{}/operator/requests/{id}/files/{file_id}",
                app.base
            ))
            .bearer_auth(&app.operator_token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], mime);
        assert_eq!(
            resp.headers()["content-length"].to_str().unwrap(),
            sent.len().to_string()
        );
        assert_eq!(resp.headers()["cache-control"], "no-store");
        let got = resp.bytes().await.unwrap();
        assert_eq!(got.as_ref(), sent.as_slice(), "bytes of {key} differ");
    }
    assert_eq!(file_of("$6")["nome"], "codice fiscale.png");

    // No such file, and a client token, get nothing.
    let missing = app
        .op(
            Method::GET,
            &format!("/operator/requests/{id}/files/f_0000000000000000"),
            None,
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), 914);
    let file_id = file_of("$5")["id"].as_str().unwrap().to_string();
    let as_client = app
        .get(&format!("/operator/requests/{id}/files/{file_id}"))
        .await;
    assert!(
        as_client.status == StatusCode::FORBIDDEN || as_client.status == StatusCode::UNAUTHORIZED,
        "{:#}",
        as_client.body
    );
}

// --- claim and release ---

#[tokio::test]
async fn claim_and_release_move_the_request_in_and_out_of_my_hands() {
    let app = TestApp::spawn().await;
    let other = colleague(&app, "Collega").await;
    let id = app.submit_valid(CONGEDO).await;

    let claimed = act(&app, &id, "claim", None).await;
    let c = claimed.assert_ok();
    let me = c["operatore"].as_str().unwrap().to_string();
    assert_eq!(c["richiesta"]["stato_richiesta"], "In erogazione");
    assert_eq!(
        ids(&queue(&app, &app.operator_token, "?assigned=me").await),
        vec![id.clone()]
    );
    assert!(queue(&app, &app.operator_token, "?assigned=none")
        .await
        .is_empty());

    // Taking it twice, or somebody else taking it, is refused.
    assert_refused(&act(&app, &id, "claim", None).await, "already taken");
    let stolen = app
        .call(
            Method::POST,
            &format!("/operator/requests/{id}/claim"),
            &other,
            None,
        )
        .await;
    assert_refused(&stolen, "already taken");
    // Nor can somebody else release it.
    let released_by_other = app
        .call(
            Method::POST,
            &format!("/operator/requests/{id}/release"),
            &other,
            None,
        )
        .await;
    assert_refused(&released_by_other, "another operator");

    let released = act(&app, &id, "release", None).await;
    assert_eq!(released.assert_ok()["operatore"], Value::Null);
    assert_eq!(
        ids(&queue(&app, &app.operator_token, "?assigned=none").await),
        vec![id.clone()]
    );
    assert_refused(
        &act(&app, &id, "release", None).await,
        "take the request first",
    );

    // Now the colleague can take it.
    let taken = app
        .call(
            Method::POST,
            &format!("/operator/requests/{id}/claim"),
            &other,
            None,
        )
        .await;
    assert_ne!(taken.assert_ok()["operatore"], me.as_str());
}

// --- what the state does not allow ---

#[tokio::test]
async fn actions_the_state_does_not_allow_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let other = colleague(&app, "Collega").await;
    let id = app.submit_valid(CONGEDO).await;

    // Before claiming: no closing, no asking, no attaching.
    assert_refused(
        &act(&app, &id, "close", None).await,
        "take the request first",
    );
    assert_refused(
        &act(&app, &id, "integration", Some(json!({"messaggio": "?"}))).await,
        "take the request first",
    );
    let early = act(&app, &id, "results", Some(json!({"file": b64(&pdf("x"))}))).await;
    assert_refused(&early, "take the request first");

    // Claimed: closing without results is refused.
    app.claim(&id).await;
    assert_refused(
        &act(&app, &id, "close", None).await,
        "attach at least one result file",
    );

    // A colleague cannot work a request that is not theirs.
    for (action, body) in [
        ("integration", json!({"messaggio": "Manca il documento"})),
        ("results", json!({"file": b64(&pdf("x"))})),
        ("close", json!({})),
    ] {
        let answer = app
            .call(
                Method::POST,
                &format!("/operator/requests/{id}/{action}"),
                &other,
                Some(body),
            )
            .await;
        assert_refused(&answer, "another operator is working on this request");
    }

    // Waiting for the client: no second question, no closing.
    act(
        &app,
        &id,
        "integration",
        Some(json!({"messaggio": "Manca il documento"})),
    )
    .await
    .assert_ok();
    assert_refused(
        &act(
            &app,
            &id,
            "integration",
            Some(json!({"messaggio": "Ancora?"})),
        )
        .await,
        "already been asked",
    );
    attach_pdf(&app, &id, "esito").await;
    assert_refused(
        &act(&app, &id, "close", None).await,
        "waiting for the client",
    );
}

#[tokio::test]
async fn nothing_can_be_done_to_a_closed_request() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(FAMIGLIA).await;
    app.work_to_the_end(&id, &[("esito.pdf", pdf("esito"))])
        .await;

    for (action, body) in [
        ("claim", None),
        ("release", None),
        ("integration", Some(json!({"messaggio": "Manca qualcosa"}))),
        ("results", Some(json!({"file": b64(&pdf("y"))}))),
        ("close", None),
        ("cancel", Some(json!({"motivo": "ripensamento"}))),
    ] {
        let answer = act(&app, &id, action, body).await;
        assert_refused(&answer, "already been closed");
    }
    let client = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(client.assert_ok()["stato_richiesta"], "Visura evasa");
}

#[tokio::test]
async fn a_cancelled_request_cannot_be_claimed() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(CONGEDO).await;
    act(&app, &id, "cancel", Some(json!({"motivo": "Doppione"})))
        .await
        .assert_ok();
    assert_refused(&act(&app, &id, "claim", None).await, "cancelled");
    assert_refused(
        &act(&app, &id, "cancel", Some(json!({"motivo": "Di nuovo"}))).await,
        "cancelled",
    );

    // Cancelled by the client, too.
    let by_client = app.submit_valid(CONGEDO).await;
    app.call(
        Method::DELETE,
        &format!("/richiesta/{by_client}"),
        &app.client_token,
        Some(json!({"motivo": "Non serve più"})),
    )
    .await
    .assert_ok();
    assert_refused(&act(&app, &by_client, "claim", None).await, "cancelled");
    // A cancelled request leaves the default queue.
    assert!(queue(&app, &app.operator_token, "").await.is_empty());
}

#[tokio::test]
async fn a_result_of_a_forbidden_type_is_refused() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(CONGEDO).await;
    app.claim(&id).await;

    for (nome, bytes) in [
        (
            "esito.exe",
            b"MZ\x90\x00\x03\x00\x00\x00 this is a program".to_vec(),
        ),
        (
            "esito.html",
            b"<html><script>alert(1)</script></html>".to_vec(),
        ),
    ] {
        let answer = act(
            &app,
            &id,
            "results",
            Some(json!({"nome": nome, "file": b64(&bytes)})),
        )
        .await;
        assert_eq!(
            answer.status,
            StatusCode::PRECONDITION_FAILED,
            "{:#}",
            answer.body
        );
        assert_eq!(answer.error_code(), 229);
        assert_eq!(answer.failing_fields(), vec!["file".to_string()]);
    }
    // A result with no file at all.
    let empty = act(&app, &id, "results", Some(json!({"nome": "esito.pdf"}))).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(empty.error_code(), 915);

    // Nothing was attached, so it still cannot be closed.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    assert_eq!(detail.assert_ok()["risultati"], json!([]));
    assert_refused(
        &act(&app, &id, "close", None).await,
        "attach at least one result file",
    );
}

// --- closing and cancelling, as the client sees them ---

#[tokio::test]
async fn closing_with_a_custom_esito_shows_it_to_the_client() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(CONGEDO).await;
    app.claim(&id).await;
    attach_pdf(&app, &id, "esito").await;
    attach_pdf(&app, &id, "ricevuta").await;
    let esito = json!({"codice": "101", "info": "Domanda inviata con riserva: manca l'IBAN"});
    let closed = act(&app, &id, "close", Some(json!({"esito": esito}))).await;
    assert_eq!(
        closed.assert_ok()["richiesta"]["stato_richiesta"],
        "Visura evasa"
    );

    let client = app.get(&format!("/richiesta/{id}")).await;
    let r = client.assert_ok();
    assert_eq!(r["stato_richiesta"], "Visura evasa");
    assert_eq!(r["esito"], esito);
    assert_eq!(r["allegati"], json!(["esito.pdf", "ricevuta.pdf"]));
    assert!(r["timestamp_stati"]["dati_disponibili"].is_i64());
    assert!(r["timestamp_stati"]["visura_evasa"].is_i64());
    app.get(&format!("/documento/{id}")).await.assert_ok();

    // A malformed esito is refused before anything changes.
    let other = app.submit_valid(CONGEDO).await;
    app.claim(&other).await;
    attach_pdf(&app, &other, "esito").await;
    let bad = act(&app, &other, "close", Some(json!({"esito": "OK"}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error_code(), 915);
    assert_eq!(bad.failing_fields(), vec!["esito".to_string()]);
    let still = app.get(&format!("/richiesta/{other}")).await;
    assert_eq!(still.assert_ok()["stato_richiesta"], "In erogazione");
}

#[tokio::test]
async fn a_nul_character_in_an_operator_text_is_refused_naming_the_field() {
    // PostgreSQL's text columns cannot hold NUL: refused at the edge, not a 500 at the store.
    let app = TestApp::spawn().await;
    let id = app.submit_valid(CONGEDO).await;
    act(&app, &id, "claim", None).await.assert_ok();
    attach_pdf(&app, &id, "esito").await;
    let esito = json!({"esito": {"codice": "0", "info": "fatto\u{0}"}});
    let refused = act(&app, &id, "close", Some(esito)).await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:#}",
        refused.body
    );
    assert_eq!(refused.error_code(), 915);
    assert_eq!(refused.failing_fields(), vec!["esito.info".to_string()]);
    assert_eq!(refused.body["details"][0]["codice"], "nul_character");
    for (action, body, field) in [
        ("cancel", json!({"motivo": "doppia\u{0}"}), "motivo"),
        ("integration", json!({"messaggio": "\u{0}"}), "messaggio"),
    ] {
        let answer = act(&app, &id, action, Some(body)).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{action}");
        assert_eq!(answer.failing_fields(), vec![field.to_string()], "{action}");
    }
    let still = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(still.assert_ok()["stato_richiesta"], "In erogazione");
    act(&app, &id, "close", None).await.assert_ok();
}

#[tokio::test]
async fn cancelling_needs_a_motivo_and_the_client_sees_it() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(ASSEGNO).await;

    for body in [
        None,
        Some(json!({})),
        Some(json!({"motivo": "   "})),
        Some(json!({"motivo": 7})),
    ] {
        let answer = act(&app, &id, "cancel", body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body:?}: {:#}",
            answer.body
        );
        assert_eq!(answer.error_code(), 915);
        assert_eq!(answer.failing_fields(), vec!["motivo".to_string()]);
    }
    let client = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(client.assert_ok()["stato_richiesta"], "In erogazione");

    app.claim(&id).await;
    let cancelled = act(
        &app,
        &id,
        "cancel",
        Some(json!({"motivo": "Il richiedente non ha i requisiti"})),
    )
    .await;
    assert_eq!(
        cancelled.assert_ok()["richiesta"]["stato_richiesta"],
        "Annullata"
    );

    let client = app.get(&format!("/richiesta/{id}")).await;
    let r = client.assert_ok();
    assert_eq!(r["stato_richiesta"], "Annullata");
    assert_eq!(
        r["motivo_annullamento"],
        "Il richiedente non ha i requisiti"
    );
    assert!(r["timestamp_stati"]["annullata"].is_i64());
    let doc = app.get(&format!("/documento/{id}")).await;
    assert_eq!(doc.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(doc.error_code(), 247);
}

// --- providers ---

#[tokio::test]
async fn another_provider_without_the_service_neither_sees_nor_touches_the_request() {
    let app = TestApp::spawn().await;
    let stranger = app
        .new_operator("Other CAF", vec![FAMIGLIA.to_string()])
        .await;
    let id = app.submit_valid(ASSEGNO).await;

    assert!(queue(&app, &stranger, "").await.is_empty());
    assert!(queue(&app, &stranger, &format!("?hash_visura={ASSEGNO}"))
        .await
        .is_empty());
    let detail = app
        .call(
            Method::GET,
            &format!("/operator/requests/{id}"),
            &stranger,
            None,
        )
        .await;
    assert_eq!(detail.status, StatusCode::NOT_FOUND);
    assert_eq!(detail.error_code(), 914);
    for action in ["claim", "release", "close"] {
        let answer = app
            .call(
                Method::POST,
                &format!("/operator/requests/{id}/{action}"),
                &stranger,
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{action}");
        assert_eq!(answer.error_code(), 914);
    }
    let cancel = app
        .call(
            Method::POST,
            &format!("/operator/requests/{id}/cancel"),
            &stranger,
            Some(json!({"motivo": "non nostro"})),
        )
        .await;
    assert_eq!(cancel.status, StatusCode::NOT_FOUND);
    // The input files neither.
    let campi = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await
        .assert_ok()["campi"]
        .clone();
    let file_id = campi
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c["file"]["id"].as_str())
        .unwrap()
        .to_string();
    let file = app
        .call(
            Method::GET,
            &format!("/operator/requests/{id}/files/{file_id}"),
            &stranger,
            None,
        )
        .await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
    // Still untouched for its own provider.
    app.claim(&id).await;
}

#[tokio::test]
async fn a_new_request_goes_to_the_provider_with_the_least_open_work() {
    let app = TestApp::spawn().await;
    // The demo CAF (every service) already holds open work for FAMIGLIA…
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(app.submit_valid(FAMIGLIA).await);
        app.clock.advance(1);
    }
    // …when provider B, offering only FAMIGLIA, joins with none.
    let b = app
        .new_operator("CAF Famiglie", vec![FAMIGLIA.to_string()])
        .await;

    let for_b = app.submit_valid(FAMIGLIA).await;
    assert_eq!(ids(&queue(&app, &b, "").await), vec![for_b.clone()]);
    assert_eq!(ids(&queue(&app, &app.operator_token, "").await), held);
    let seen_by_demo = app
        .op(Method::GET, &format!("/operator/requests/{for_b}"), None)
        .await;
    assert_eq!(seen_by_demo.status, StatusCode::NOT_FOUND);
    assert_eq!(seen_by_demo.error_code(), 914);
    assert_eq!(
        act(&app, &for_b, "claim", None).await.status,
        StatusCode::NOT_FOUND
    );

    // B has one open request, the demo CAF two: B again.
    app.clock.advance(1);
    let again = app.submit_valid(FAMIGLIA).await;
    assert_eq!(
        ids(&queue(&app, &b, "").await),
        vec![for_b.clone(), again.clone()]
    );

    // A service B does not offer still goes to the demo CAF, however busy it is.
    let congedo = app.submit_valid(CONGEDO).await;
    assert!(ids(&queue(&app, &app.operator_token, "").await).contains(&congedo));
    assert!(!ids(&queue(&app, &b, "").await).contains(&congedo));

    // B works what was routed to it.
    let detail = app
        .call(
            Method::GET,
            &format!("/operator/requests/{for_b}"),
            &b,
            None,
        )
        .await;
    let provider_b = detail.assert_ok()["provider_id"].clone();
    assert!(provider_b.is_string());
    app.call(
        Method::POST,
        &format!("/operator/requests/{for_b}/claim"),
        &b,
        None,
    )
    .await
    .assert_ok();
    let demo_detail = app
        .op(
            Method::GET,
            &format!("/operator/requests/{}", held[0]),
            None,
        )
        .await;
    assert_ne!(demo_detail.assert_ok()["provider_id"], provider_b);
}

#[tokio::test]
async fn a_service_only_one_provider_offers_is_routed_to_it() {
    let app = TestApp::spawn().await;
    let b = app
        .new_operator("CAF Famiglie", vec![FAMIGLIA.to_string()])
        .await;
    // The demo CAF stops offering FAMIGLIA (there is no API for it yet): B is the only one left.
    let demo = app
        .state
        .store
        .list_providers()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "CAF Demo")
        .unwrap();
    app.db
        .execute(&format!(
            "DELETE FROM provider_services WHERE provider_id = '{}' AND hash_visura = '{FAMIGLIA}'",
            demo.id
        ))
        .await
        .unwrap();
    // Give B more open work than the demo CAF: routing must still pick B, the only one offering it.
    for _ in 0..2 {
        app.clock.advance(1); // the queue is oldest first: keep the order unambiguous
        let id = app.submit_valid(FAMIGLIA).await;
        assert_eq!(ids(&queue(&app, &b, "").await).last(), Some(&id));
    }
    let for_a = app.submit_valid(CONGEDO).await;
    assert_eq!(
        ids(&queue(&app, &app.operator_token, "").await),
        vec![for_a]
    );
    assert_eq!(queue(&app, &b, "").await.len(), 2);
}

// --- concurrency ---

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_operators_racing_for_a_request_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let rival = colleague(&app, "Rivale").await;
    let mut wins = [0usize; 2];
    for _ in 0..20 {
        let id = app.submit_valid(CONGEDO).await;
        let path = format!("/operator/requests/{id}/claim");
        let (a, b) = tokio::join!(
            app.call(Method::POST, &path, &app.operator_token, None),
            app.call(Method::POST, &path, &rival, None),
        );
        let outcomes = [&a, &b];
        let winners: Vec<usize> = (0..2)
            .filter(|&i| outcomes[i].status == StatusCode::OK)
            .collect();
        assert_eq!(
            winners.len(),
            1,
            "exactly one must win: {:#} / {:#}",
            a.body,
            b.body
        );
        let w = winners[0];
        wins[w] += 1;
        let loser = outcomes[1 - w];
        assert_refused(loser, "already taken");

        // The request is held by the winner, as the detail says.
        let detail = app
            .op(Method::GET, &format!("/operator/requests/{id}"), None)
            .await;
        let d = detail.assert_ok();
        assert_eq!(d["operatore"], outcomes[w].body["data"]["operatore"]);
        let claims = d["storia"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|h| h["azione"] == "claim")
            .count();
        assert_eq!(claims, 1);
    }
    assert_eq!(wins[0] + wins[1], 20);
}
