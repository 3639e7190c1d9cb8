//! Our own features turned against us or against third parties: replays as a callback cannon,
//! drafts that never close, probes that write to the bucket, retried top-ups, an audit chain
//! rewritten by someone with write access to the database, a test token reading the wallet.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_server::service::retention;
use sportello_server::Limits;
use sportello_store::audit::{chain_hash, AuditEvent};

const DAY: i64 = 86_400;

async fn demo_client_id(app: &TestApp) -> String {
    app.state.store.list_clients().await.unwrap()[0].id.clone()
}

fn retry_after(answer: &Answer) -> u64 {
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:#}",
        answer.body
    );
    assert_eq!(answer.error_code(), 918);
    answer.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

// --- replays ---

#[tokio::test]
async fn a_test_token_replays_a_delivery_three_times_an_hour_and_no_more() {
    let mut app = TestApp::spawn_with(Limits {
        allow_http_callbacks: true,
        ..Limits::default()
    })
    .await;
    let admin = app.admin_token().await;
    // A free test token, and a callback aimed at somebody else's server.
    let service = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let created = app
        .call(
            Method::POST,
            "/richiesta",
            &app.test_token,
            Some(json!({
                "hash_visura": FAMIGLIA,
                "json_visura": valid_json_visura(service.assert_ok()),
                "callback_data": {"url": "http://victim.example/hook"},
            })),
        )
        .await;
    let id = created.assert_ok()["_id"].as_str().unwrap().to_string();
    let log = app
        .call(
            Method::GET,
            &format!("/consegne?richiesta={id}"),
            &app.test_token,
            None,
        )
        .await;
    let delivery = log.assert_ok()[0]["id"].as_str().unwrap().to_string();
    let replay = format!("/consegne/{delivery}/ripeti");

    // Three replays ten minutes apart.
    for n in 0..3 {
        if n > 0 {
            app.clock.advance(600);
        }
        app.call(Method::POST, &replay, &app.test_token, None)
            .await
            .assert_ok();
    }
    // The fourth waits until the first is an hour old.
    let refused = app.call(Method::POST, &replay, &app.test_token, None).await;
    assert_eq!(retry_after(&refused), 2400);
    // The admins' replays count in the same hour.
    let admin_replay = format!("/admin/deliveries/{delivery}/replay");
    retry_after(&app.call(Method::POST, &admin_replay, &admin, None).await);

    // Counted in the database, not in a process's memory: a restart forgets nothing.
    app.restart().await;
    retry_after(&app.call(Method::POST, &replay, &app.test_token, None).await);

    // An hour after the first replay, one more is allowed, then none until the second's hour.
    app.clock.advance(2400);
    app.call(Method::POST, &admin_replay, &admin, None)
        .await
        .assert_ok();
    let refused = app.call(Method::POST, &replay, &app.test_token, None).await;
    assert_eq!(retry_after(&refused), 600);
}

// --- drafts ---

#[tokio::test]
async fn a_draft_holds_no_more_than_a_submission_could() {
    let app = TestApp::spawn_with(Limits {
        max_text_chars: 100,
        max_file_bytes: 2_000,
        max_files_per_request: 1,
        ..Limits::default()
    })
    .await;
    let draft = |json_visura: Value| json!({"hash_visura": ASSEGNO, "state": 0, "json_visura": json_visura});
    // Incomplete and even wrong values are a draft's right.
    let ok = app
        .post("/richiesta", draft(json!({"$0": "Mar", "$2": "RSSMRA"})))
        .await;
    let id = ok.assert_ok()["_id"].as_str().unwrap().to_string();

    let long = "x".repeat(101);
    let too_long = app
        .post("/richiesta", draft(json!({"$0": long, "$99": "y"})))
        .await;
    assert_eq!(too_long.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(too_long.error_code(), 250);
    let details = too_long.body["details"].as_array().unwrap();
    assert!(details
        .iter()
        .any(|d| d["campo"] == "$0" && d["codice"] == "too_long"));
    assert!(details
        .iter()
        .any(|d| d["campo"] == "$99" && d["codice"] == "unknown_field"));
    assert!(
        !too_long.body.to_string().contains(&long),
        "never the value"
    );

    let big_file = format!("a.pdf|data:application/pdf;base64,{}", b64(&[b'%'; 3_000]));
    let too_big = app.post("/richiesta", draft(json!({"$5": big_file}))).await;
    assert_eq!(too_big.error_code(), 250);
    assert_eq!(too_big.failing_fields(), ["$5"]);
    assert_eq!(too_big.body["details"][0]["codice"], "file_too_large");
    let two_files = app
        .post(
            "/richiesta",
            draft(json!({"$5": pdf_field("a.pdf"), "$6": pdf_field("b.pdf")})),
        )
        .await;
    assert_eq!(two_files.error_code(), 250);
    assert_eq!(two_files.body["details"][0]["codice"], "too_many_files");

    // Editing a draft is held to the same limits (412/229); the draft stays as it was.
    let edit = app
        .put(&format!("/richiesta/{id}"), json!({"json_visura.$0": long}))
        .await;
    assert_eq!(edit.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(edit.error_code(), 229);
    assert_eq!(edit.failing_fields(), ["$0"]);
    let kept = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(kept.assert_ok()["stato_richiesta"], "In ricerca");
    app.put(
        &format!("/richiesta/{id}"),
        json!({"json_visura.$0": "Mario"}),
    )
    .await
    .assert_ok();
}

#[tokio::test]
async fn a_draft_left_alone_loses_its_personal_data_after_draft_retention_days() {
    let app = TestApp::spawn_with(Limits {
        draft_retention_days: 30,
        ..Limits::default()
    })
    .await;
    let admin = app.admin_token().await;
    let open = |name: &str| json!({"hash_visura": ASSEGNO, "state": 0, "json_visura": {"$0": name, "$2": CF}});
    let forgotten = app.post("/richiesta", open("Mario")).await;
    let forgotten = forgotten.assert_ok()["_id"].as_str().unwrap().to_string();
    let edited = app.post("/richiesta", open("Luigi")).await;
    let edited = edited.assert_ok()["_id"].as_str().unwrap().to_string();

    app.clock.advance(20 * DAY);
    // A change restarts the draft's time.
    app.put(
        &format!("/richiesta/{edited}"),
        json!({"json_visura.$0": "Luigi Verdi"}),
    )
    .await
    .assert_ok();
    app.clock.advance(9 * DAY);
    assert!(
        retention::purge_expired(&app.state, false, "system:retention")
            .await
            .unwrap()
            .is_empty()
    );

    app.clock.advance(2 * DAY);
    let purged = retention::purge_expired(&app.state, false, "system:retention")
        .await
        .unwrap();
    assert_eq!(purged, vec![forgotten.clone()]);
    let gone = app.get(&format!("/richiesta/{forgotten}")).await;
    assert_eq!(gone.assert_ok()["purged"], true);
    assert!(!gone.body.to_string().contains(CF));
    assert_eq!(
        app.get(&format!("/richiesta/{edited}")).await.data()["purged"],
        false
    );
    // Nothing left to edit or submit.
    let submit = app
        .put(&format!("/richiesta/{forgotten}"), json!({"state": 1}))
        .await;
    assert_eq!(submit.status, StatusCode::GONE);
    assert_eq!(submit.error_code(), 917);

    // The audit trail says who destroyed it and why.
    let trail = app
        .call(
            Method::GET,
            &format!("/admin/audit?request_id={forgotten}"),
            &admin,
            None,
        )
        .await;
    let trail = trail.assert_ok().as_array().unwrap().clone();
    let last = trail.last().unwrap();
    assert_eq!(last["azione"], "purge");
    assert_eq!(last["attore"], "system:retention:draft");
}

// --- health and readiness ---

#[tokio::test]
async fn healthz_answers_while_the_database_does_not_and_readyz_tells() {
    let app = TestApp::spawn().await;
    // The database loses a table every readiness check reads.
    app.db
        .execute("ALTER TABLE providers RENAME TO providers_away")
        .await
        .unwrap();
    let live = app.raw(app.http.get(format!("{}/healthz", app.base))).await;
    assert_eq!(live.status, StatusCode::OK, "{:#}", live.body);
    assert_eq!(live.data()["status"], "ok");
    let ready = app.raw(app.http.get(format!("{}/readyz", app.base))).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.error_code(), 919);
    assert!(ready.body["message"].as_str().unwrap().contains("database"));
    app.db
        .execute("ALTER TABLE providers_away RENAME TO providers")
        .await
        .unwrap();
}

#[tokio::test]
async fn readyz_reuses_its_probe_for_a_few_seconds() {
    let app = TestApp::spawn().await;
    let readyz = || app.raw(app.http.get(format!("{}/readyz", app.base)));
    assert_eq!(readyz().await.status, StatusCode::OK);
    // The file store breaks: within the reuse window every caller gets the probe just made,
    // and none of them writes to the store.
    let files = app.dir.path().join("files");
    std::fs::remove_dir_all(&files).unwrap();
    std::fs::write(&files, b"not a directory").unwrap();
    let answers = futures::future::join_all((0..20).map(|_| readyz())).await;
    assert!(answers.iter().all(|a| a.status == StatusCode::OK));
    // Once it is over, the next caller probes again and hears of the failure.
    tokio::time::sleep(sportello_server::api::system::READINESS_TTL).await;
    let after = readyz().await;
    assert_eq!(after.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(after.error_code(), 919);
}

#[tokio::test]
async fn readyz_is_rate_limited_and_healthz_is_not() {
    let app = TestApp::spawn_with(Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 6,
        ..Limits::default()
    })
    .await;
    let url = |p: &str| format!("{}{p}", app.base);
    assert_eq!(
        app.raw(app.http.get(url("/readyz"))).await.status,
        StatusCode::OK
    );
    retry_after(&app.raw(app.http.get(url("/readyz"))).await);
    for _ in 0..10 {
        assert_eq!(
            app.raw(app.http.get(url("/healthz"))).await.status,
            StatusCode::OK
        );
    }
}

// --- top-ups and adjustments ---

async fn post_keyed(app: &TestApp, admin: &str, path: &str, key: &str, body: Value) -> Answer {
    let req = app
        .http
        .post(format!("{}{path}", app.base))
        .bearer_auth(admin)
        .header("Idempotency-Key", key)
        .json(&body);
    app.raw(req).await
}

async fn balance(app: &TestApp, admin: &str, client: &str) -> f64 {
    app.call(
        Method::GET,
        &format!("/admin/clients/{client}/wallet"),
        admin,
        None,
    )
    .await
    .assert_ok()["saldo"]
        .as_f64()
        .unwrap()
}

#[tokio::test]
async fn a_retried_top_up_credits_once_and_answers_the_same() {
    let mut app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let client = demo_client_id(&app).await;
    let topup = format!("/admin/clients/{client}/topup");
    let before = balance(&app, &admin, &client).await;
    let body = json!({"importo": "10.00", "motivo": "bonifico 42"});

    // Ten clients retrying at once: one credit, one answer.
    let answers = futures::future::join_all(
        (0..10).map(|_| post_keyed(&app, &admin, &topup, "ricarica-42", body.clone())),
    )
    .await;
    let first = answers[0].assert_ok().clone();
    for a in &answers {
        assert_eq!(a.assert_ok(), &first);
    }
    assert_eq!(first["saldo"].as_f64().unwrap(), before + 10.0);
    assert_eq!(balance(&app, &admin, &client).await, before + 10.0);

    // After a restart too: the key lives in the database.
    app.restart().await;
    let again = post_keyed(&app, &admin, &topup, "ricarica-42", body.clone()).await;
    assert_eq!(again.assert_ok(), &first);
    assert_eq!(balance(&app, &admin, &client).await, before + 10.0);

    // The same key with another body, another client or the other movement is refused, as
    // `POST /richiesta` refuses it.
    for (path, other) in [
        (
            topup.clone(),
            json!({"importo": "20.00", "motivo": "bonifico 42"}),
        ),
        (format!("/admin/clients/{client}/adjustment"), body.clone()),
    ] {
        let refused = post_keyed(&app, &admin, &path, "ricarica-42", other).await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(refused.error_code(), 908);
    }
    let malformed = post_keyed(&app, &admin, &topup, &"k".repeat(256), body.clone()).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.error_code(), 909);
    assert_eq!(balance(&app, &admin, &client).await, before + 10.0);

    // An adjustment under its own key, retried.
    let adjust = format!("/admin/clients/{client}/adjustment");
    let minus = json!({"importo": "-2.50", "motivo": "correzione"});
    let a = post_keyed(&app, &admin, &adjust, "rettifica-1", minus.clone()).await;
    let b = post_keyed(&app, &admin, &adjust, "rettifica-1", minus).await;
    assert_eq!(a.assert_ok(), b.assert_ok());
    assert_eq!(balance(&app, &admin, &client).await, before + 7.5);
}

// --- the audit chain ---

#[tokio::test]
async fn an_entry_rewritten_and_rechained_without_the_key_is_found() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app.submit_valid(FAMIGLIA).await;
    app.op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await
        .assert_ok();
    let check = app
        .call(Method::GET, "/admin/audit/verify", &admin, None)
        .await;
    assert_eq!(check.assert_ok()["integro"], true);
    assert_eq!(check.data()["con_chiave"], true);
    assert_eq!(check.data()["con_chiave_dalla_voce"], 1);

    // Someone with write access to the database changes who read the data, then recomputes
    // every link after it (and the head) the way the chain's hash is documented.
    let entries = app
        .call(Method::GET, "/admin/audit", &admin, None)
        .await
        .assert_ok()
        .as_array()
        .unwrap()
        .clone();
    let read = entries
        .iter()
        .position(|e| e["azione"] == "read_personal_data")
        .unwrap();
    let mut prev = entries[read]["hash_precedente"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, e) in entries.iter().enumerate().skip(read) {
        let event = AuditEvent {
            at: e["timestamp"].as_i64().unwrap(),
            actor: if i == read {
                "operator:nobody".into()
            } else {
                e["attore"].as_str().unwrap().into()
            },
            action: e["azione"].as_str().unwrap().into(),
            request_id: e["richiesta"].as_str().map(str::to_string),
            detail: e["dettaglio"].as_str().unwrap().into(),
            source: e["origine"].as_str().map(str::to_string),
        };
        let seq = e["seq"].as_i64().unwrap();
        let hash = chain_hash(&prev, seq, &event);
        app.db
            .execute(&format!(
                "UPDATE audit_log SET actor = '{}', prev_hash = '{prev}', hash = '{hash}' WHERE seq = {seq}",
                event.actor
            ))
            .await
            .unwrap();
        prev = hash;
    }
    app.db
        .execute(&format!(
            "UPDATE audit_head SET hash = '{prev}' WHERE id = 1"
        ))
        .await
        .unwrap();

    let check = app
        .call(Method::GET, "/admin/audit/verify", &admin, None)
        .await;
    assert_eq!(check.assert_ok()["integro"], false, "{:#}", check.body);
    assert_eq!(check.data()["con_chiave"], false);
    assert_eq!(
        check.data()["prima_voce_alterata"],
        entries[read]["seq"].as_i64().unwrap()
    );
    assert_eq!(
        check.data()["motivo"],
        "it was re-chained without the audit key"
    );
}

#[tokio::test]
async fn a_chain_made_before_the_key_keeps_verifying_and_is_keyed_from_then_on() {
    let mut app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    app.submit_valid(FAMIGLIA).await;
    // The chain as an older version wrote it: plain SHA-256 links, and the head saying so
    // (what the upgrade's migration records).
    let entries = app
        .call(Method::GET, "/admin/audit", &admin, None)
        .await
        .assert_ok()
        .as_array()
        .unwrap()
        .clone();
    let mut prev = sportello_store::audit::GENESIS.to_string();
    for e in &entries {
        let event = AuditEvent {
            at: e["timestamp"].as_i64().unwrap(),
            actor: e["attore"].as_str().unwrap().into(),
            action: e["azione"].as_str().unwrap().into(),
            request_id: e["richiesta"].as_str().map(str::to_string),
            detail: e["dettaglio"].as_str().unwrap().into(),
            source: e["origine"].as_str().map(str::to_string),
        };
        let seq = e["seq"].as_i64().unwrap();
        let hash = chain_hash(&prev, seq, &event);
        app.db
            .execute(&format!(
                "UPDATE audit_log SET prev_hash = '{prev}', hash = '{hash}' WHERE seq = {seq}"
            ))
            .await
            .unwrap();
        prev = hash;
    }
    let keyed_from = entries.len() as i64 + 1;
    app.db
        .execute(&format!(
            "UPDATE audit_head SET hash = '{prev}', keyed_from = {keyed_from} WHERE id = 1"
        ))
        .await
        .unwrap();
    app.restart().await;
    app.submit_valid(FAMIGLIA).await;

    let check = app
        .call(Method::GET, "/admin/audit/verify", &admin, None)
        .await;
    assert_eq!(check.assert_ok()["integro"], true, "{:#}", check.body);
    assert_eq!(check.data()["con_chiave"], true);
    assert_eq!(check.data()["con_chiave_dalla_voce"], keyed_from);
    assert!(check.data()["voci_verificate"].as_i64().unwrap() >= keyed_from);

    // The plain entries are held by the first keyed one: altering one breaks the chain.
    app.db
        .execute("UPDATE audit_log SET at = at + 1 WHERE seq = 1")
        .await
        .unwrap();
    let check = app
        .call(Method::GET, "/admin/audit/verify", &admin, None)
        .await;
    assert_eq!(check.assert_ok()["integro"], false);
    assert_eq!(check.data()["prima_voce_alterata"], 1);
}

// --- the wallet ---

#[tokio::test]
async fn a_test_token_sees_the_sandbox_wallet_not_the_live_one() {
    let app = TestApp::spawn().await;
    let live = app.get("/conto").await;
    assert!(live.assert_ok()["saldo"].as_f64().unwrap() > 0.0);
    // Live calls are metered; the test token must not see them either.
    let test = app.call(Method::GET, "/conto", &app.test_token, None).await;
    let test = test.assert_ok();
    assert_eq!(members(test), members(live.data()));
    assert_eq!(test["saldo"], json!(0));
    assert_eq!(test["chiamate_da_fatturare"], json!([]));
    assert_eq!(test["cliente"], live.data()["cliente"]);
}
