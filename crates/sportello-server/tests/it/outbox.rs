//! Notifications that arrive: events written with the change, signed callbacks and webhooks
//! to a real receiver on 127.0.0.1 (allowed by configuration), retries moved by the clock, a
//! restart mid-retry, the delivery log and replays, the SSRF guard, and e-mail to a real SMTP
//! server (aiosmtpd, started by the test).
#![allow(clippy::unwrap_used)]

use crate::common;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode as AxumStatus, Uri};
use axum::response::IntoResponse;
use common::smtp::Smtp;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sportello_server::outbox::guard::{self, GuardError, GuardPolicy};
use sportello_server::outbox::signing;
use sportello_server::outbox::{Outbox, OutboxConfig};
use sportello_server::Clock;
use std::sync::{Arc, Mutex};

const HOUR: i64 = 3600;

/// One call the receiver got.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    id: String,
    timestamp: i64,
    signature: String,
    event: String,
    content_type: String,
    body: Vec<u8>,
    answered: u16,
}

impl Call {
    /// The envelope, whether it came as JSON or as the form field `field`.
    fn envelope(&self, field: &str) -> Value {
        if self.content_type.starts_with("application/json") {
            serde_json::from_slice(&self.body).unwrap()
        } else {
            let (_, v) = url::form_urlencoded::parse(&self.body)
                .find(|(k, _)| k == field)
                .unwrap();
            serde_json::from_str(&v).unwrap()
        }
    }

    fn verifies_with(&self, secret: &str) -> bool {
        let key = signing::parse_secret(secret).unwrap();
        signing::verify(&key, &self.id, self.timestamp, &self.body, &self.signature)
    }
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    /// Answer 503 to this many calls first.
    fail_next: usize,
    fail_always: bool,
}

/// A small axum server on 127.0.0.1 that records every call and fails on purpose when told.
#[derive(Clone)]
struct Receiver {
    base: String,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = inner.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let shared = shared.clone();
            async move {
                if uri.path() == "/redirect" {
                    return (
                        AxumStatus::FOUND,
                        [("location", "http://169.254.169.254/latest/meta-data")],
                    )
                        .into_response();
                }
                let mut inner = shared.lock().unwrap();
                let fail = inner.fail_always || inner.fail_next > 0;
                inner.fail_next = inner.fail_next.saturating_sub(1);
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let answered = if fail { 503 } else { 200 };
                inner.calls.push(Call {
                    path: uri.path().to_string(),
                    id: h("webhook-id"),
                    timestamp: h("webhook-timestamp").parse().unwrap_or(0),
                    signature: h("webhook-signature"),
                    event: h("sportello-event"),
                    content_type: h("content-type"),
                    body: body.to_vec(),
                    answered,
                });
                AxumStatus::from_u16(answered).unwrap().into_response()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { base, inner }
    }

    fn calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    fn fail_next(&self, n: usize) {
        self.inner.lock().unwrap().fail_next = n;
    }

    fn fail_always(&self, on: bool) {
        self.inner.lock().unwrap().fail_always = on;
    }

    /// Successful calls per `webhook-id`, to find duplicates.
    fn successes(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.answered == 200)
            .collect()
    }
}

/// A server that accepts the receiver's plain-http URLs, as its configuration would say.
async fn spawn_app() -> TestApp {
    TestApp::spawn_with(sportello_server::Limits {
        allow_http_callbacks: true,
        ..Default::default()
    })
    .await
}

/// The worker as the tests run it: the receiver's 127.0.0.1 allowed, plain http allowed.
fn worker(app: &TestApp) -> Outbox {
    worker_with(app, None)
}

fn worker_with(
    app: &TestApp,
    smtp: Option<sportello_server::outbox::email::SmtpSettings>,
) -> Outbox {
    Outbox::new(
        app.state.clone(),
        OutboxConfig {
            guard: GuardPolicy {
                allow_http: true,
                allow_hosts: vec!["127.0.0.1".into()],
            },
            smtp,
            ..OutboxConfig::default()
        },
    )
}

async fn demo_client_id(app: &TestApp) -> String {
    app.state.store.list_clients().await.unwrap()[0].id.clone()
}

/// A fresh signing secret for the demo client, through the admin API.
async fn rotate_secret(app: &TestApp) -> String {
    let admin = app.admin_token().await;
    let client = demo_client_id(app).await;
    let answer = app
        .call(
            Method::POST,
            &format!("/admin/clients/{client}/webhook/secret"),
            &admin,
            None,
        )
        .await;
    let secret = answer.assert_ok()["segreto"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    secret
}

/// Submits a valid Stato di famiglia request with `extra` members (callback_data, email_target).
async fn submit_with(app: &TestApp, hash: &str, extra: Value) -> String {
    let service = app.get(&format!("/visure/{hash}")).await;
    let mut body =
        json!({"hash_visura": hash, "json_visura": valid_json_visura(service.assert_ok())});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let answer = app.post("/richiesta", body).await;
    answer.assert_ok()["_id"].as_str().unwrap().to_string()
}

async fn deliveries(app: &TestApp, request: &str) -> Vec<Value> {
    app.get(&format!("/consegne?richiesta={request}"))
        .await
        .assert_ok()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn each_change_writes_its_event_and_reads_and_claims_write_none() {
    let app = spawn_app().await;
    let id = app.submit_valid(FAMIGLIA).await;
    app.get(&format!("/richiesta/{id}")).await.assert_ok();
    app.op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await
        .assert_ok();
    app.work_to_the_end(&id, &[("esito.pdf", pdf("esito"))])
        .await;
    let types: Vec<String> = app
        .state
        .store
        .events(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        types,
        [
            "request.submitted",
            "request.document_added",
            "request.processed"
        ]
    );
}

#[tokio::test]
async fn a_request_taken_to_visura_evasa_makes_exactly_one_signed_callback() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let secret = rotate_secret(&app).await;
    let outbox = worker(&app);
    let id = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/cb", receiver.base), "method": "JSON",
            "data": {"riferimento": "pratica-42"}}}),
    )
    .await;
    assert_eq!(outbox.tick().await.unwrap(), 1, "the submission's callback");
    app.work_to_the_end(&id, &[("esito.pdf", pdf("esito"))])
        .await;
    outbox.tick().await.unwrap();
    // Nothing is due any more: a further pass sends nothing.
    app.clock.advance(4 * 24 * HOUR);
    assert_eq!(outbox.tick().await.unwrap(), 0);

    let calls = receiver.successes();
    assert_eq!(calls.len(), 2, "submitted and processed: {calls:?}");
    for c in &calls {
        assert!(c.verifies_with(&secret), "signature of {}", c.id);
        assert_eq!(c.path, "/cb");
    }
    let evasa: Vec<&Call> = calls
        .iter()
        .filter(|c| c.envelope("")["data"]["stato_richiesta"] == json!("Visura evasa"))
        .collect();
    assert_eq!(evasa.len(), 1);
    let call = evasa[0];
    assert_eq!(call.event, "request.processed");
    let envelope = call.envelope("");
    // Exactly what GET /richiesta/{_id} answers.
    let polled = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(envelope, polled.body);
    assert_eq!(envelope["success"], json!(true));
    assert_eq!(envelope["data"]["_id"], json!(id));
    assert_eq!(
        envelope["data"]["callback_data"]["data"],
        json!({"riferimento": "pratica-42"})
    );
    let text = String::from_utf8(call.body.clone()).unwrap();
    assert!(
        !text.contains("json_visura") && !text.contains(CF),
        "{text}"
    );
    // A forged or altered body does not verify.
    let mut forged = call.clone();
    forged.body = text.replace("Visura evasa", "Annullata").into_bytes();
    assert!(!forged.verifies_with(&secret));

    let log = deliveries(&app, &id).await;
    assert_eq!(log.len(), 2);
    for d in &log {
        assert_eq!(d["stato"], json!("delivered"));
        assert_eq!(d["tentativi"], json!(1));
        assert_eq!(d["canale"], json!("callback"));
        assert_eq!(d["ultimo_codice_http"], json!(200));
        assert_eq!(d["prossimo_tentativo"], Value::Null);
    }
}

#[tokio::test]
async fn a_form_callback_carries_the_envelope_in_the_named_field() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let secret = rotate_secret(&app).await;
    let id = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/form", receiver.base), "method": "POST"}}),
    )
    .await;
    worker(&app).tick().await.unwrap();
    let calls = receiver.successes();
    assert_eq!(calls.len(), 1);
    assert!(calls[0]
        .content_type
        .starts_with("application/x-www-form-urlencoded"));
    assert!(calls[0].verifies_with(&secret));
    let envelope = calls[0].envelope("visengineData");
    assert_eq!(envelope["data"]["_id"], json!(id));
    assert_eq!(envelope["data"]["stato_richiesta"], json!("In erogazione"));
}

#[tokio::test]
async fn a_restart_while_the_receiver_fails_still_ends_in_one_delivery() {
    let mut app = spawn_app().await;
    let receiver = Receiver::start().await;
    let secret = rotate_secret(&app).await;
    receiver.fail_next(2);
    let id = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/cb", receiver.base)}}),
    )
    .await;
    worker(&app).tick().await.unwrap();
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["stato"], json!("pending"));
    assert_eq!(log[0]["tentativi"], json!(1));
    assert_eq!(log[0]["ultimo_codice_http"], json!(503));
    assert_eq!(log[0]["ultimo_errore"], json!("answered 503"));
    let next = log[0]["prossimo_tentativo"].as_i64().unwrap();
    let now = app.clock.now();
    assert!(next > now && next <= now + 40, "first retry ~30 s later");

    app.restart().await;
    let outbox = worker(&app);
    assert_eq!(outbox.tick().await.unwrap(), 0, "not due yet");
    app.clock.advance(HOUR);
    outbox.tick().await.unwrap();
    app.clock.advance(HOUR);
    outbox.tick().await.unwrap();
    app.clock.advance(HOUR);
    outbox.tick().await.unwrap();

    let calls = receiver.calls();
    assert_eq!(calls.len(), 3, "two failures, then one success");
    assert!(calls.iter().all(|c| c.verifies_with(&secret)));
    // Every attempt is the same message: a receiver deduplicates on webhook-id.
    assert!(calls.iter().all(|c| c.id == calls[0].id));
    assert_eq!(receiver.successes().len(), 1);
    let log = deliveries(&app, &id).await;
    assert_eq!(log[0]["stato"], json!("delivered"));
    assert_eq!(log[0]["tentativi"], json!(3));
}

#[tokio::test]
async fn attempts_run_out_after_about_three_days_and_a_replay_still_delivers() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.fail_always(true);
    let client = demo_client_id(&app).await;
    let admin = app.admin_token().await;
    // The client's own endpoint hears that the callback was given up.
    app.call(
        Method::PUT,
        &format!("/admin/clients/{client}/webhook"),
        &admin,
        Some(json!({"url": format!("{}/hook", receiver.base)})),
    )
    .await
    .assert_ok();
    let id = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/cb", receiver.base)}}),
    )
    .await;
    let outbox = worker(&app);
    let start = app.clock.now();
    for _ in 0..60 {
        outbox.tick().await.unwrap();
        app.clock.advance(7 * HOUR);
    }
    let log = deliveries(&app, &id).await;
    let callback = log
        .iter()
        .find(|d| d["canale"] == json!("callback"))
        .unwrap();
    assert_eq!(callback["stato"], json!("failed"));
    let attempts = callback["tentativi"].as_i64().unwrap();
    assert!((8..=30).contains(&attempts), "{attempts}");
    let last = callback["ultimo_tentativo"].as_i64().unwrap();
    assert!(last - start <= 3 * 24 * HOUR + 7 * HOUR, "{}", last - start);
    let events: Vec<String> = app
        .state
        .store
        .events(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert!(
        events.contains(&"delivery.failed".to_string()),
        "{events:?}"
    );
    assert!(log
        .iter()
        .any(|d| d["evento"] == json!("delivery.failed") && d["canale"] == json!("webhook")));

    // The receiver is back; the client asks for the callback again.
    receiver.fail_always(false);
    let id_delivery = callback["id"].as_str().unwrap();
    let replayed = app
        .post(&format!("/consegne/{id_delivery}/ripeti"), json!({}))
        .await;
    assert_eq!(replayed.assert_ok()["stato"], json!("pending"));
    outbox.tick().await.unwrap();
    let log = deliveries(&app, &id).await;
    let callback = log.iter().find(|d| d["id"] == json!(id_delivery)).unwrap();
    assert_eq!(callback["stato"], json!("delivered"));
    assert!(receiver
        .successes()
        .iter()
        .any(|c| c.path == "/cb" && c.id == id_delivery));

    // Another client sees neither the log nor the replay of it; an admin sees and replays all.
    let other = app.new_client("altro").await;
    let seen = app
        .call(
            Method::GET,
            &format!("/consegne?richiesta={id}"),
            &other,
            None,
        )
        .await;
    assert_eq!(seen.status, reqwest::StatusCode::NOT_FOUND);
    assert_eq!(seen.error_code(), 914);
    let mine = app.call(Method::GET, "/consegne", &other, None).await;
    assert_eq!(mine.assert_ok(), &json!([]));
    let theirs = app
        .call(
            Method::POST,
            &format!("/consegne/{id_delivery}/ripeti"),
            &other,
            None,
        )
        .await;
    assert_eq!(theirs.status, reqwest::StatusCode::NOT_FOUND);
    let all = app
        .call(
            Method::GET,
            &format!("/admin/deliveries?richiesta={id}&stato=delivered"),
            &admin,
            None,
        )
        .await;
    assert!(all
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == json!(id_delivery)));
    app.call(
        Method::POST,
        &format!("/admin/deliveries/{id_delivery}/replay"),
        &admin,
        None,
    )
    .await
    .assert_ok();
}

#[tokio::test]
async fn during_a_rotation_both_secrets_sign() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let old = rotate_secret(&app).await;
    let new = rotate_secret(&app).await;
    assert_ne!(old, new);
    submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/cb", receiver.base)}}),
    )
    .await;
    worker(&app).tick().await.unwrap();
    let call = &receiver.successes()[0];
    assert_eq!(call.signature.split(' ').count(), 2);
    assert!(call.verifies_with(&old) && call.verifies_with(&new));
    // A day later only the new one signs.
    app.clock.advance(25 * HOUR);
    let id2 = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/cb", receiver.base)}}),
    )
    .await;
    worker(&app).tick().await.unwrap();
    let later = receiver
        .successes()
        .into_iter()
        .find(|c| c.envelope("")["data"]["_id"] == json!(id2))
        .unwrap();
    assert!(later.verifies_with(&new) && !later.verifies_with(&old));
}

#[tokio::test]
async fn the_webhook_endpoint_is_an_admin_setting_checked_for_shape() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let client = demo_client_id(&app).await;
    let path = format!("/admin/clients/{client}/webhook");
    let bad = app
        .call(Method::PUT, &path, &admin, Some(json!({"url": "ftp://x"})))
        .await;
    assert_eq!(bad.status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(bad.failing_fields(), ["url"]);
    let set = app
        .call(
            Method::PUT,
            &path,
            &admin,
            Some(json!({"url": "https://hooks.example.com/sportello"})),
        )
        .await;
    assert_eq!(
        set.assert_ok()["url"],
        json!("https://hooks.example.com/sportello")
    );
    let read = app.call(Method::GET, &path, &admin, None).await;
    assert!(
        read.assert_ok().get("segreto").is_none(),
        "never shown again"
    );
    let unknown = app
        .call(Method::GET, "/admin/clients/cli_nope/webhook", &admin, None)
        .await;
    assert_eq!(unknown.status, reqwest::StatusCode::NOT_FOUND);
    let cleared = app
        .call(Method::PUT, &path, &admin, Some(json!({"url": null})))
        .await;
    assert_eq!(cleared.assert_ok()["url"], Value::Null);
}

#[tokio::test]
async fn the_ssrf_guard_refuses_every_internal_target() {
    let policy = GuardPolicy::default();
    let table: [(&str, &str); 24] = [
        ("http://example.com/cb", "https only"),
        ("https://localhost/cb", "loopback (DNS name)"),
        ("https://127.0.0.1/cb", "loopback"),
        ("https://127.1.2.3:8443/cb", "loopback"),
        ("https://2130706433/cb", "loopback as an integer"),
        ("https://0x7f.0.0.1/cb", "loopback in hex"),
        ("https://0.0.0.0/cb", "unspecified"),
        ("https://10.1.2.3/cb", "private"),
        ("https://172.16.0.1/cb", "private"),
        ("https://192.168.1.10/cb", "private"),
        ("https://100.64.0.1/cb", "CGNAT"),
        ("https://169.254.169.254/latest/meta-data", "cloud metadata"),
        ("https://169.254.10.10/cb", "link-local"),
        ("https://224.0.0.1/cb", "multicast"),
        ("https://255.255.255.255/cb", "broadcast"),
        ("https://[::1]/cb", "IPv6 loopback"),
        ("https://[::]/cb", "IPv6 unspecified"),
        ("https://[::ffff:127.0.0.1]/cb", "IPv4-mapped loopback"),
        ("https://[::ffff:10.0.0.1]/cb", "IPv4-mapped private"),
        ("https://[fe80::1]/cb", "IPv6 link-local"),
        ("https://[fc00::1]/cb", "unique local"),
        ("https://[fd00:ec2::254]/cb", "AWS IPv6 metadata"),
        ("https://[ff02::1]/cb", "IPv6 multicast"),
        (
            "https://user:secret@example.com/cb",
            "credentials in the URL",
        ),
    ];
    for (url, why) in table {
        let refused = guard::check(url, &policy).await;
        assert!(refused.is_err(), "{url} ({why}) was allowed");
        assert!(
            !refused.unwrap_err().is_temporary(),
            "{url} ({why}) must be refused for good"
        );
    }
    assert_eq!(
        guard::check("https://localhost/cb", &policy)
            .await
            .unwrap_err(),
        GuardError::Forbidden("loopback")
    );
    // The allow-list lets exactly what it names through; http still needs its own switch.
    let tests = GuardPolicy {
        allow_http: true,
        allow_hosts: vec!["127.0.0.1".into()],
    };
    assert!(guard::check("http://127.0.0.1:9/cb", &tests).await.is_ok());
    assert!(guard::check("http://localhost:9/cb", &tests).await.is_err());
    assert!(guard::check("http://10.0.0.1/cb", &tests).await.is_err());
}

#[tokio::test]
async fn refused_targets_and_redirects_fail_with_a_clear_error() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let loopback = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("http://localhost:{}/cb",
            receiver.base.rsplit(':').next().unwrap())}}),
    )
    .await;
    let redirect = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/redirect", receiver.base)}}),
    )
    .await;
    worker(&app).tick().await.unwrap();
    let refused = &deliveries(&app, &loopback).await[0];
    assert_eq!(refused["stato"], json!("failed"));
    assert_eq!(
        refused["ultimo_errore"],
        json!("the host resolves to a loopback address, which is never called")
    );
    let redirected = &deliveries(&app, &redirect).await[0];
    assert_eq!(redirected["stato"], json!("pending"));
    assert_eq!(redirected["ultimo_codice_http"], json!(302));
    assert_eq!(
        redirected["ultimo_errore"],
        json!("answered 302: redirects are not followed")
    );
    assert!(receiver.calls().is_empty(), "nothing reached the receiver");
}

#[tokio::test]
async fn the_email_arrives_in_italian_with_the_result_only_where_the_service_allows_it() {
    let app = spawn_app().await;
    let smtp = Smtp::start().await;
    let outbox = worker_with(&app, Some(smtp.settings()));
    // Assegno unico: the mail says the result is ready to download.
    let assegno = submit_with(
        &app,
        ASSEGNO,
        json!({"email_target": "ufficio@example.com"}),
    )
    .await;
    app.work_to_the_end(&assegno, &[("esito.pdf", pdf("esito"))])
        .await;
    outbox.tick().await.unwrap();
    // Stato di famiglia: the catalog lets the result travel as an attachment.
    let famiglia = submit_with(
        &app,
        FAMIGLIA,
        json!({"email_target": "famiglia@example.com"}),
    )
    .await;
    app.work_to_the_end(&famiglia, &[("certificato.pdf", pdf("certificato"))])
        .await;
    outbox.tick().await.unwrap();

    let messages = smtp.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let to_office = messages
        .iter()
        .find(|m| m.contains("ufficio@example.com"))
        .unwrap();
    assert!(to_office.contains("noreply@sportello.test"));
    assert!(to_office.contains(&format!("Richiesta {assegno} evasa")));
    assert!(to_office.contains("pronto"), "{to_office}");
    assert!(!to_office.contains("attachment"), "{to_office}");
    let to_family = messages
        .iter()
        .find(|m| m.contains("famiglia@example.com"))
        .unwrap();
    assert!(to_family.contains("attachment"), "{to_family}");
    assert!(to_family.contains(&format!("{famiglia}.zip")));
    for m in &messages {
        // Nothing personal: not the codice fiscale, not a name from the form.
        assert!(!m.contains(CF) && !m.contains("Valore"), "{m}");
    }
    let log = deliveries(&app, &famiglia).await;
    let mail = log.iter().find(|d| d["canale"] == json!("email")).unwrap();
    assert_eq!(mail["stato"], json!("delivered"));
}

#[tokio::test]
async fn a_mail_server_that_is_down_is_retried_like_a_callback() {
    let app = spawn_app().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = sportello_server::outbox::email::SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: sportello_server::outbox::email::SmtpTls::None,
        username: None,
        password: None,
        from: "noreply@sportello.test".into(),
        timeout: std::time::Duration::from_secs(5),
    };
    let id = submit_with(
        &app,
        ASSEGNO,
        json!({"email_target": "ufficio@example.com"}),
    )
    .await;
    app.work_to_the_end(&id, &[("esito.pdf", pdf("esito"))])
        .await;
    worker_with(&app, Some(down)).tick().await.unwrap();
    let log = deliveries(&app, &id).await;
    let mail = log.iter().find(|d| d["canale"] == json!("email")).unwrap();
    assert_eq!(mail["stato"], json!("pending"));
    assert_eq!(mail["tentativi"], json!(1));
    assert!(mail["ultimo_errore"].as_str().unwrap().starts_with("SMTP"));
}

#[tokio::test]
async fn two_workers_at_once_never_send_the_same_delivery_twice() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(
            submit_with(
                &app,
                FAMIGLIA,
                json!({"callback_data": {"url": format!("{}/cb", receiver.base)}}),
            )
            .await,
        );
    }
    let (a, b) = (worker(&app), worker(&app));
    let (na, nb) = tokio::join!(a.tick(), b.tick());
    assert_eq!(na.unwrap() + nb.unwrap(), 6);
    let calls = receiver.successes();
    let distinct: std::collections::BTreeSet<&str> = calls.iter().map(|c| c.id.as_str()).collect();
    assert_eq!((calls.len(), distinct.len()), (6, 6));
}

#[tokio::test]
async fn a_worker_that_dies_mid_call_leaves_its_lease_to_expire_then_another_delivers() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let id = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/cb", receiver.base)}}),
    )
    .await;
    // A worker claims the delivery and dies before recording anything.
    let now = app.clock.now();
    let claimed = app
        .state
        .store
        .claim_deliveries("wrk_dead", now, 300, 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let outbox = worker(&app);
    assert_eq!(outbox.tick().await.unwrap(), 0, "still leased");
    app.clock.advance(301);
    assert_eq!(outbox.tick().await.unwrap(), 1);
    assert_eq!(receiver.successes().len(), 1);
    // The dead worker's late word no longer counts.
    let late = app
        .state
        .store
        .finish_delivery(
            &claimed[0].id,
            "wrk_dead",
            app.clock.now(),
            &sportello_store::AttemptOutcome::GiveUp {
                error: "late".into(),
                status: None,
            },
        )
        .await
        .unwrap();
    assert!(!late);
    assert_eq!(deliveries(&app, &id).await[0]["stato"], json!("delivered"));
}

#[tokio::test]
async fn a_plain_http_callback_is_refused_when_given_unless_the_server_allows_it() {
    let app = TestApp::spawn().await;
    let service = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": FAMIGLIA, "json_visura": valid_json_visura(service.assert_ok()),
                "callback_data": {"url": "http://crm.example.com/hook"}}),
        )
        .await;
    assert_eq!(answer.status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(answer.error_code(), 915);
    assert_eq!(answer.failing_fields(), ["callback_data.url"]);
    let admin = app.admin_token().await;
    let client = demo_client_id(&app).await;
    let webhook = app
        .call(
            Method::PUT,
            &format!("/admin/clients/{client}/webhook"),
            &admin,
            Some(json!({"url": "http://hooks.example.com/x"})),
        )
        .await;
    assert_eq!(webhook.status, reqwest::StatusCode::BAD_REQUEST);
    assert_eq!(webhook.failing_fields(), ["url"]);
}

#[tokio::test]
async fn the_escalation_job_marking_a_request_overdue_sends_a_signed_overdue_call() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let secret = rotate_secret(&app).await;
    let id = submit_with(
        &app,
        FAMIGLIA,
        json!({"callback_data": {"url": format!("{}/cb", receiver.base)}}),
    )
    .await;
    // Far past any due time: the job marks it, and the mark is an event.
    app.clock.advance(120 * 24 * HOUR);
    let marked = sportello_server::service::sla::escalate(&app.state)
        .await
        .unwrap();
    assert_eq!(marked, vec![id.clone()]);
    worker(&app).tick().await.unwrap();
    let overdue: Vec<Call> = receiver
        .successes()
        .into_iter()
        .filter(|c| c.event == "request.overdue")
        .collect();
    assert_eq!(overdue.len(), 1);
    assert!(overdue[0].verifies_with(&secret));
    assert_eq!(overdue[0].envelope("")["data"]["_id"], json!(id));
}
