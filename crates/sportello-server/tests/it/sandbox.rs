//! The sandbox: test requests are worked by the simulated operator, through the same service
//! functions as a person, and never reach a provider's queue or the wallet.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sportello_server::service::{retention, sandbox};
use std::io::Read;

/// Submits `hash` with the demo client's test token, every field valid, `overrides` applied.
async fn submit_test(app: &TestApp, hash: &str, overrides: &[(&str, &str)]) -> String {
    let service = app.get(&format!("/visure/{hash}")).await;
    let mut form = valid_json_visura(service.assert_ok());
    for (k, v) in overrides {
        form[*k] = json!(v);
    }
    let answer = app
        .call(
            Method::POST,
            "/richiesta",
            &app.test_token,
            Some(json!({"hash_visura": hash, "json_visura": form})),
        )
        .await;
    let data = answer.assert_ok();
    assert_eq!(data["live"], json!(false));
    data["_id"].as_str().unwrap().to_string()
}

async fn as_test(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Answer {
    app.call(method, path, &app.test_token, body).await
}

/// The first file of a zip, by name and content.
fn zip_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut content = Vec::new();
            f.read_to_end(&mut content).unwrap();
            (f.name().to_string(), content)
        })
        .collect()
}

#[tokio::test]
async fn a_test_request_is_processed_by_the_simulated_operator_with_a_marked_pdf() {
    let app = TestApp::spawn().await;
    let demo = app.state.store.list_clients().await.unwrap()[0].id.clone();
    let ledger_before = app
        .state
        .store
        .transactions(Some(&demo), 0, i64::MAX)
        .await
        .unwrap()
        .len();
    let id = submit_test(&app, FAMIGLIA, &[]).await;

    // Not before the configured delay.
    assert!(sandbox::work(&app.state).await.unwrap().is_empty());
    app.clock
        .advance(app.state.limits.sandbox_delay_secs as i64);
    assert_eq!(
        sandbox::work(&app.state).await.unwrap(),
        vec![sandbox::Worked::Processed(id.clone())]
    );
    // Worked once: a second pass finds nothing.
    assert!(sandbox::work(&app.state).await.unwrap().is_empty());

    let answer = as_test(&app, Method::GET, &format!("/richiesta/{id}"), None).await;
    let r = answer.assert_ok();
    assert_eq!(r["stato_richiesta"], "Visura evasa");
    assert_eq!(r["esito"]["info"], "OK (sandbox)");
    assert_eq!(r["allegati"], json!(["esito-sandbox.pdf"]));

    let download = app
        .http
        .get(format!("{}/documento/{id}/download", app.base))
        .bearer_auth(&app.test_token)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    let entries = zip_entries(&download.bytes().await.unwrap());
    assert_eq!(entries.len(), 1);
    let (name, pdf) = &entries[0];
    assert_eq!(name, "esito-sandbox.pdf");
    assert!(pdf.starts_with(b"%PDF-1.4"));
    let text = String::from_utf8_lossy(pdf);
    assert!(text.contains("DOCUMENTO DI PROVA - SANDBOX"), "{text}");
    assert!(text.contains(&format!("Richiesta: {id}")));

    // The same history, events as a person's work, by the simulated operator.
    let history = app.state.store.history(&id).await.unwrap();
    let actions: Vec<_> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(actions, ["submit", "claim", "attach_result", "close"]);
    assert!(history[1..]
        .iter()
        .all(|h| h.actor == format!("operator:{}", sandbox::OPERATOR_ID)));
    let events = app.state.store.events(&id).await.unwrap();
    assert!(events.len() >= 2, "{events:?}");

    // Nobody at the demo CAF ever saw it, and no money moved.
    let queue = app
        .op(Method::GET, "/operator/requests?stato=visura_evasa", None)
        .await;
    assert!(!queue.assert_ok().to_string().contains(&id));
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    assert_eq!(detail.status, 404);
    let ledger_after = app
        .state
        .store
        .transactions(Some(&demo), 0, i64::MAX)
        .await
        .unwrap()
        .len();
    assert_eq!(ledger_before, ledger_after);
}

#[tokio::test]
async fn the_magic_value_asks_for_integration_until_the_client_changes_it() {
    let app = TestApp::spawn().await;
    let delay = app.state.limits.sandbox_delay_secs as i64;
    let id = submit_test(&app, FAMIGLIA, &[("$0", "Sandbox:Integrazione")]).await;
    app.clock.advance(delay);
    assert_eq!(
        sandbox::work(&app.state).await.unwrap(),
        vec![sandbox::Worked::IntegrationAsked(id.clone())]
    );
    let waiting = as_test(&app, Method::GET, &format!("/richiesta/{id}"), None).await;
    let r = waiting.assert_ok();
    assert_eq!(r["stato_richiesta"], "In attesa di integrazione");
    assert_eq!(r["integrazione"]["campi"], json!(["$0"]));
    assert!(r["integrazione"]["messaggio"]
        .as_str()
        .unwrap()
        .contains("sandbox:integrazione"));
    // Nothing happens while the client has not answered.
    app.clock.advance(delay * 10);
    assert!(sandbox::work(&app.state).await.unwrap().is_empty());

    // The same value again: asked again.
    as_test(
        &app,
        Method::PUT,
        &format!("/richiesta/{id}"),
        Some(json!({"json_visura.$0": "sandbox:integrazione"})),
    )
    .await
    .assert_ok();
    app.clock.advance(delay);
    assert_eq!(
        sandbox::work(&app.state).await.unwrap(),
        vec![sandbox::Worked::IntegrationAsked(id.clone())]
    );

    // Another value: processed.
    as_test(
        &app,
        Method::PUT,
        &format!("/richiesta/{id}"),
        Some(json!({"json_visura.$0": "Maria"})),
    )
    .await
    .assert_ok();
    app.clock.advance(delay);
    assert_eq!(
        sandbox::work(&app.state).await.unwrap(),
        vec![sandbox::Worked::Processed(id.clone())]
    );
    let done = as_test(&app, Method::GET, &format!("/richiesta/{id}"), None).await;
    assert_eq!(done.assert_ok()["stato_richiesta"], "Visura evasa");
}

#[tokio::test]
async fn the_magic_value_cancels_the_request() {
    let app = TestApp::spawn().await;
    let id = submit_test(&app, FAMIGLIA, &[("$0", "SANDBOX:ANNULLA")]).await;
    app.clock
        .advance(app.state.limits.sandbox_delay_secs as i64);
    assert_eq!(
        sandbox::work(&app.state).await.unwrap(),
        vec![sandbox::Worked::Cancelled(id.clone())]
    );
    let answer = as_test(&app, Method::GET, &format!("/richiesta/{id}"), None).await;
    let r = answer.assert_ok();
    assert_eq!(r["stato_richiesta"], "Annullata");
    assert!(r["motivo_annullamento"]
        .as_str()
        .unwrap()
        .contains("sandbox:annulla"));
    // As for any cancelled request: no document, ever.
    let document = as_test(&app, Method::GET, &format!("/documento/{id}"), None).await;
    assert_eq!(document.status, 422);
    assert_eq!(document.error_code(), 247);
}

#[tokio::test]
async fn live_requests_go_to_the_providers_and_test_requests_never_do() {
    let app = TestApp::spawn().await;
    let test = submit_test(&app, FAMIGLIA, &[]).await;
    let live = app.submit_valid(FAMIGLIA).await;
    let queue = app.op(Method::GET, "/operator/requests", None).await;
    let ids: Vec<String> = queue
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, vec![live.clone()]);
    // The sandbox leaves live requests alone, however long they wait.
    app.clock.advance(86_000);
    assert_eq!(
        sandbox::work(&app.state).await.unwrap(),
        vec![sandbox::Worked::Processed(test.clone())]
    );
    let still = app.get(&format!("/richiesta/{live}")).await;
    assert_eq!(still.assert_ok()["stato_richiesta"], "In erogazione");
    // A test request cannot be handed to a real provider.
    let provider = app.state.store.list_providers().await.unwrap();
    let caf = provider
        .iter()
        .find(|p| p.id != sandbox::PROVIDER_ID)
        .unwrap();
    let refused = sportello_server::service::reassign::reassign(
        &app.state,
        "admin:test",
        None,
        &test,
        &caf.id,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.status, 409);
}

#[tokio::test]
async fn test_requests_are_purged_a_day_after_creation_whatever_their_state() {
    let app = TestApp::spawn().await;
    let waiting = submit_test(&app, FAMIGLIA, &[]).await;
    let live = app.submit_valid(FAMIGLIA).await;
    app.clock.advance(retention::TEST_RETENTION_SECS - 1);
    assert!(
        retention::purge_expired(&app.state, false, "system:retention")
            .await
            .unwrap()
            .is_empty()
    );
    app.clock.advance(2);
    let purged = retention::purge_expired(&app.state, false, "system:retention")
        .await
        .unwrap();
    assert_eq!(purged, vec![waiting.clone()]);
    let gone = as_test(&app, Method::GET, &format!("/richiesta/{waiting}"), None).await;
    assert_eq!(gone.assert_ok()["purged"], json!(true));
    // A purged request is left alone by the simulated operator.
    assert!(sandbox::work(&app.state).await.unwrap().is_empty());
    let kept = app.get(&format!("/richiesta/{live}")).await;
    assert_eq!(kept.assert_ok()["purged"], json!(false));
}

#[tokio::test]
async fn the_sandbox_calls_back_as_production_does() {
    let app = TestApp::spawn_with(sportello_server::Limits {
        allow_http_callbacks: true,
        ..Default::default()
    })
    .await;
    let service = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let body = json!({
        "hash_visura": FAMIGLIA,
        "json_visura": valid_json_visura(service.assert_ok()),
        "callback_data": {"url": "http://127.0.0.1:9/esito", "method": "POST"},
    });
    let created = as_test(&app, Method::POST, "/richiesta", Some(body)).await;
    let id = created.assert_ok()["_id"].as_str().unwrap().to_string();
    app.clock
        .advance(app.state.limits.sandbox_delay_secs as i64);
    sandbox::work(&app.state).await.unwrap();
    let deliveries = as_test(
        &app,
        Method::GET,
        &format!("/consegne?richiesta={id}"),
        None,
    )
    .await;
    let events: Vec<String> = deliveries
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["canale"] == "callback")
        .map(|d| d["evento"].as_str().unwrap().to_string())
        .collect();
    for expected in ["request.submitted", "request.processed"] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected}: {events:?}"
        );
    }
}

#[tokio::test]
async fn stopped_during_a_pass_the_worker_finishes_it_then_ends() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(submit_test(&app, FAMIGLIA, &[]).await);
    }
    app.clock
        .advance(app.state.limits.sandbox_delay_secs as i64);
    let stop = tokio_util::sync::CancellationToken::new();
    // Stop as soon as the pass has taken its first request (oldest first): the other eleven
    // are then still to be worked by the pass under way. (On a machine fast enough to finish
    // the pass before this looks, the stop comes between passes: the test still holds.)
    let watcher = tokio::spawn({
        let (state, stop, first) = (app.state.clone(), stop.clone(), ids[0].clone());
        async move {
            loop {
                let r = state.store.get_request(&first).await.unwrap().unwrap();
                if r.operator_id.is_some() {
                    stop.cancel();
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
    });
    let worker = sandbox::spawn(
        app.state.clone(),
        std::time::Duration::from_millis(10),
        stop.clone().cancelled_owned(),
    );
    watcher.await.unwrap();
    // The worker ends by itself once stopped…
    worker.await.unwrap();
    // …having worked every request of its pass to the end, none left claimed half-way.
    for id in &ids {
        let r = as_test(&app, Method::GET, &format!("/richiesta/{id}"), None).await;
        assert_eq!(r.assert_ok()["stato_richiesta"], "Visura evasa", "{id}");
    }
}
