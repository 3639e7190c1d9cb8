//! The API reference (`/openapi.json`) is complete and true.
//!
//! Complete: every operation has a summary, a description, its error codes (each in the README's
//! one table), an example of its request body and path parameters, and an example of each JSON
//! answer it documents.
//!
//! True: the examples come from `src/api/examples.json`, which
//! `the_documented_examples_are_what_the_server_answers` writes from a freshly seeded server when
//! run with `SPORTELLO_CAPTURE_EXAMPLES=1`. Without it the same scenario runs and every answer
//! must have the shape (members and JSON types), status and error code of its documented example,
//! every example must still be produced, and every error code met must be in the operation's
//! `x-error-codes`. Change an answer and this test fails until the examples are captured again.
#![allow(clippy::unwrap_used)]

use reqwest::Method;
use serde_json::{json, Map, Value};
use sportello_server::setup::{self, TokenSpec};
use sportello_store::Role;
use std::collections::{BTreeMap, BTreeSet};

use crate::common::*;

const EXAMPLES_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api/examples.json");
const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];
/// A well-formed request id that matches nothing.
const NOBODY: &str = "000000000000000000000000";

/// An SMTP server nobody listens at: invitations need e-mail configured; these send none.
fn discarding_smtp() -> sportello_server::outbox::email::SmtpSettings {
    sportello_server::outbox::email::SmtpSettings {
        host: "127.0.0.1".into(),
        port: 9,
        tls: sportello_server::outbox::email::SmtpTls::None,
        username: None,
        password: None,
        from: "Sportello <noreply@sportello.test>".into(),
        timeout: std::time::Duration::from_secs(1),
    }
}

async fn openapi(app: &TestApp) -> Value {
    let r = app
        .raw(app.http.get(format!("{}/openapi.json", app.base)))
        .await;
    assert_eq!(r.status, 200);
    r.body
}

fn blank(v: &Value) -> bool {
    v.as_str().is_none_or(|s| s.trim().is_empty())
}

/// The codes of the README's error table (the second column: `200`, `201 / 219 / 243`).
fn readme_error_codes() -> Vec<u64> {
    let text = std::fs::read_to_string(README).unwrap();
    let table = text
        .split("### Error codes")
        .nth(1)
        .expect("the README has an `### Error codes` section");
    let mut codes = Vec::new();
    for line in table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
    {
        let Some(cell) = line.split('|').nth(2) else {
            continue;
        };
        codes.extend(
            cell.split('/')
                .filter_map(|c| c.trim().trim_matches('`').parse::<u64>().ok()),
        );
    }
    codes
}

#[test]
fn the_readme_lists_every_error_code_once() {
    let codes = readme_error_codes();
    let unique: BTreeSet<_> = codes.iter().collect();
    assert_eq!(unique.len(), codes.len(), "a code appears twice: {codes:?}");
    // Every code `error.rs` can produce: the literal after a status in `ApiError::new(…)`, and
    // the codes its callers pass to the constructors that take one.
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/error.rs")).unwrap();
    let mut produced = BTreeSet::new();
    for chunk in source.split("StatusCode::").skip(1) {
        let after = chunk.split_once(',').map(|(_, rest)| rest.trim_start());
        if let Some(n) = after
            .and_then(|r| r.get(..3))
            .and_then(|n| n.parse::<u64>().ok())
        {
            produced.insert(n);
        }
    }
    for (code, where_) in [(201, "invalid_id"), (202, "no_such_request")] {
        assert!(source.contains(where_));
        produced.insert(code);
    }
    produced.extend([229, 250, 219, 228, 243, 244, 900, 901, 902, 903]);
    let missing: Vec<_> = produced.iter().filter(|c| !unique.contains(c)).collect();
    assert!(
        missing.is_empty(),
        "error codes missing from the README's table: {missing:?}"
    );
}

#[tokio::test]
async fn every_operation_has_a_summary_a_description_examples_and_its_error_codes() {
    let app = TestApp::spawn_with_smtp(discarding_smtp()).await;
    let doc = openapi(&app).await;
    let readme = readme_error_codes();
    let mut problems = Vec::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let name = format!("{} {path}", method.to_uppercase());
            let mut lacks = |what: String| problems.push(format!("{name}: {what}"));
            if blank(&op["summary"]) {
                lacks("no summary".into());
            }
            if blank(&op["description"]) {
                lacks("no description".into());
            }
            match op["x-error-codes"].as_array() {
                Some(codes) if !codes.is_empty() => {
                    for c in codes {
                        if !c.as_u64().is_some_and(|c| readme.contains(&c)) {
                            lacks(format!("error code {c} is not in the README's table"));
                        }
                    }
                }
                _ => lacks("no x-error-codes".into()),
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" && p["example"].is_null() {
                    lacks(format!("no example of the path parameter {}", p["name"]));
                }
            }
            for (media, m) in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if m["example"].is_null() {
                    lacks(format!("no example of its {media} request body"));
                }
            }
            for (status, r) in op["responses"].as_object().unwrap() {
                for (media, m) in r["content"].as_object().into_iter().flatten() {
                    if media.contains("json") && m["example"].is_null() {
                        lacks(format!("no example of its {status} answer"));
                    }
                }
            }
        }
    }
    assert!(operations > 40, "only {operations} operations documented");
    assert!(
        problems.is_empty(),
        "the API reference is incomplete ({} problems):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// One call of the scenario: the operation (as documented), the request and the JSON answer.
struct Call {
    op: &'static str,
    path: String,
    body: Option<Value>,
    status: u16,
    answer: Value,
}

struct Recorder<'a> {
    app: &'a TestApp,
    calls: Vec<Call>,
}

impl Recorder<'_> {
    /// Calls `op` ("METHOD /documented/{path}") at `path`; records the answer when it is JSON.
    async fn call(
        &mut self,
        op: &'static str,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(op, token, path, body, &[]).await
    }

    async fn call_with(
        &mut self,
        op: &'static str,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let method = Method::from_bytes(op.split(' ').next().unwrap().as_bytes()).unwrap();
        let mut req = self
            .app
            .http
            .request(method, format!("{}{}", self.app.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let answer = self.app.raw(req).await;
        if !answer.body.is_null() {
            self.calls.push(Call {
                op,
                path: path.to_string(),
                body,
                status: answer.status.as_u16(),
                answer: answer.body.clone(),
            });
        }
        answer
    }
}

/// Every operation called the way an integrator would, successes and the documented failures.
async fn scenario(app: &TestApp) -> Vec<Call> {
    let demo = app
        .state
        .store
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.name == "Demo")
        .unwrap()
        .id;
    let provider = app.state.store.list_providers().await.unwrap()[0]
        .id
        .clone();
    let token = |role, client: Option<&str>, live| TokenSpec {
        role,
        client_id: client.map(str::to_string),
        operator_id: None,
        label: "reference".into(),
        live,
        ttl_secs: None,
        scopes: None,
    };
    let admin = setup::issue_token(&app.state, token(Role::Admin, None, false))
        .await
        .unwrap()
        .secret;
    // A live token: its requests are priced and stay with the operators (test requests may be
    // worked by the sandbox).
    let live = setup::issue_token(&app.state, token(Role::Client, Some(&demo), true))
        .await
        .unwrap()
        .secret;
    let (a, c, o) = (
        Some(admin.as_str()),
        Some(live.as_str()),
        Some(app.operator_token.as_str()),
    );
    let month = chrono::DateTime::from_timestamp(app.state.clock.now(), 0)
        .unwrap()
        .format("%Y-%m")
        .to_string();
    let mut r = Recorder {
        app,
        calls: Vec::new(),
    };

    r.call("GET /healthz", None, "/healthz", None).await;
    r.call("GET /readyz", None, "/readyz", None).await;

    // The catalog.
    r.call("GET /visure", c, "/visure", None).await;
    let service = r
        .call(
            "GET /visure/{hash_visura}",
            c,
            &format!("/visure/{FAMIGLIA}"),
            None,
        )
        .await;
    let form = valid_json_visura(service.assert_ok());
    r.call(
        "GET /visure/{hash_visura}",
        c,
        "/visure/0123456789abcdef",
        None,
    )
    .await;
    let schema = format!("/visure/{FAMIGLIA}/schema");
    r.call("GET /visure/{hash_visura}/schema", c, &schema, None)
        .await;
    r.call(
        "GET /visure/{hash_visura}/schema",
        c,
        "/visure/0123456789abcdef/schema",
        None,
    )
    .await;
    let quote = "GET /visure/{hash_visura}/preventivo";
    r.call(
        quote,
        c,
        &format!("/visure/{FAMIGLIA}/preventivo?opzioni=opzione_0"),
        None,
    )
    .await
    .assert_ok();
    r.call(
        quote,
        c,
        &format!("/visure/{FAMIGLIA}/preventivo?opzioni=opzione_9"),
        None,
    )
    .await;
    r.call(
        "GET /visura/formTool/{hash_visura}.js",
        None,
        "/visura/formTool/0123456789abcdef.js",
        None,
    )
    .await;

    // Money first: a live request needs credit.
    let topup = "POST /admin/clients/{id}/topup";
    let body = json!({"importo": "500.00", "motivo": "bonifico 2026/17"});
    let key = [("Idempotency-Key", "bonifico-2026-17")];
    for _ in 0..2 {
        r.call_with(
            topup,
            a,
            &format!("/admin/clients/{demo}/topup"),
            Some(body.clone()),
            &key,
        )
        .await
        .assert_ok();
    }
    let other = json!({"importo": "400.00", "motivo": "bonifico 2026/17"});
    r.call_with(
        topup,
        a,
        &format!("/admin/clients/{demo}/topup"),
        Some(other.clone()),
        &key,
    )
    .await;
    let bad = json!({"importo": "cinquanta", "motivo": "bonifico"});
    r.call(
        topup,
        a,
        &format!("/admin/clients/{demo}/topup"),
        Some(bad.clone()),
    )
    .await;
    r.call(topup, a, "/admin/clients/nessuno/topup", Some(body))
        .await;
    let adjust = "POST /admin/clients/{id}/adjustment";
    let body = json!({"importo": "-5.00", "motivo": "rettifica di un addebito doppio"});
    let key = [("Idempotency-Key", "rettifica-2026-17")];
    r.call_with(
        adjust,
        a,
        &format!("/admin/clients/{demo}/adjustment"),
        Some(body.clone()),
        &key,
    )
    .await
    .assert_ok();
    r.call_with(
        adjust,
        a,
        &format!("/admin/clients/{demo}/adjustment"),
        Some(json!({"importo": "-4.00", "motivo": "rettifica di un addebito doppio"})),
        &key,
    )
    .await;
    r.call(
        adjust,
        a,
        &format!("/admin/clients/{demo}/adjustment"),
        Some(bad),
    )
    .await;
    r.call(adjust, a, "/admin/clients/nessuno/adjustment", Some(body))
        .await;
    r.call("GET /conto", c, "/conto", None).await.assert_ok();

    // A request, and the ways a submission is refused.
    let create = "POST /richiesta";
    let submission = json!({
        "hash_visura": FAMIGLIA,
        "json_visura": form,
        "opzioni": {"opzione_0": true},
        "callback_data": {"url": "https://example.com/sportello/callback", "method": "JSON",
                          "data": {"pratica": "A-17"}},
    });
    let id = r
        .call(create, c, "/richiesta", Some(submission.clone()))
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    // A retry with the same key and another body.
    let key = [("Idempotency-Key", "ordine-2026-0001")];
    r.call_with(create, c, "/richiesta", Some(submission.clone()), &key)
        .await
        .assert_ok();
    let mut other = submission.clone();
    other["email_target"] = json!("mario.rossi@example.com");
    r.call_with(create, c, "/richiesta", Some(other), &key)
        .await;
    r.call(create, c, "/richiesta", Some(json!({"json_visura": form})))
        .await;
    r.call(
        create,
        c,
        "/richiesta",
        Some(json!({"hash_visura": FAMIGLIA, "json_visura": form, "email_target": "mario.rossi"})),
    )
    .await;
    r.call(
        create,
        c,
        "/richiesta",
        Some(json!({"hash_visura": FAMIGLIA, "json_visura": {"$7": "RSSMRA85T10H501X"}})),
    )
    .await;

    r.call("GET /richiesta", c, "/richiesta?per_page=2", None)
        .await
        .assert_ok();
    let one = "GET /richiesta/{id}";
    r.call(one, c, &format!("/richiesta/{id}"), None)
        .await
        .assert_ok();
    r.call(one, c, "/richiesta/not-an-id", None).await;
    r.call(one, c, &format!("/richiesta/{NOBODY}"), None).await;
    // The mandate is a PDF: only its refusals are JSON, and recorded.
    let mandato = "GET /richiesta/{id}/mandato";
    r.call(mandato, c, &format!("/richiesta/{NOBODY}/mandato"), None)
        .await;
    r.call(mandato, c, "/richiesta/not-an-id/mandato", None)
        .await;

    // A draft completed and submitted; another refused, then cancelled.
    let mut partial = form.clone();
    partial.as_object_mut().unwrap().remove("$7");
    let draft = json!({"hash_visura": FAMIGLIA, "json_visura": partial, "state": 0});
    let edit = "PUT /richiesta/{id}";
    let id2 = r
        .call(create, c, "/richiesta", Some(draft.clone()))
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    r.call(
        edit,
        c,
        &format!("/richiesta/{id2}"),
        Some(json!({"json_visura.$7": CF, "state": 1})),
    )
    .await
    .assert_ok();
    let id3 = r
        .call(create, c, "/richiesta", Some(draft))
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The person invited to their own page, then the invitation revoked.
    let invite = "POST /richiesta/{id}/invito";
    let invitation = json!({"email": "mario.rossi@example.com", "consegna": "link",
                            "messaggio": "Completa la pratica entro venerdì.",
                            "scadenza_giorni": 7, "risultato_visibile": true});
    r.call(
        invite,
        c,
        &format!("/richiesta/{id3}/invito"),
        Some(invitation.clone()),
    )
    .await
    .assert_ok();
    r.call(
        invite,
        c,
        &format!("/richiesta/{id3}/invito"),
        Some(json!({"email": "mario.rossi@", "consegna": "link"})),
    )
    .await;
    r.call(
        invite,
        c,
        &format!("/richiesta/{id2}/invito"),
        Some(invitation.clone()),
    )
    .await;
    r.call(
        invite,
        c,
        &format!("/richiesta/{NOBODY}/invito"),
        Some(invitation),
    )
    .await;
    let revoke = "DELETE /richiesta/{id}/invito";
    r.call(revoke, c, &format!("/richiesta/{id3}/invito"), None)
        .await
        .assert_ok();
    r.call(revoke, c, &format!("/richiesta/{id3}/invito"), None)
        .await;
    r.call(revoke, c, &format!("/richiesta/{NOBODY}/invito"), None)
        .await;
    r.call(revoke, c, "/richiesta/not-an-id/invito", None).await;
    r.call(
        edit,
        c,
        &format!("/richiesta/{id3}"),
        Some(json!({"json_visura.$7": "RSSMRA85T10H501X", "state": 1})),
    )
    .await;
    r.call(
        edit,
        c,
        &format!("/richiesta/{NOBODY}"),
        Some(json!({"state": 1})),
    )
    .await;
    let cancel = "DELETE /richiesta/{id}";
    let motivo = json!({"motivo": "il cliente ha rinunciato"});
    r.call(
        cancel,
        c,
        &format!("/richiesta/{id3}"),
        Some(motivo.clone()),
    )
    .await
    .assert_ok();
    r.call(
        edit,
        c,
        &format!("/richiesta/{id3}"),
        Some(json!({"state": 1})),
    )
    .await;
    r.call(
        cancel,
        c,
        &format!("/richiesta/{NOBODY}"),
        Some(motivo.clone()),
    )
    .await;
    r.call("POST /richiesta/{id}", c, &format!("/richiesta/{id}"), None)
        .await;
    r.call(
        "PUT /richiesta/{id}/ricerche",
        c,
        &format!("/richiesta/{id}/ricerche"),
        None,
    )
    .await;
    r.call("GET /documento/{id}", c, &format!("/documento/{id}"), None)
        .await;

    // The operator works it: takes it, asks for more, gets it, attaches the result, closes.
    r.call(
        "GET /operator/requests",
        o,
        "/operator/requests?per_page=2",
        None,
    )
    .await
    .assert_ok();
    r.call("GET /operator/counts", o, "/operator/counts", None)
        .await
        .assert_ok();
    let at = |tail: &str| format!("/operator/requests/{id}{tail}");
    r.call("GET /operator/requests/{id}", o, &at(""), None)
        .await
        .assert_ok();
    r.call(
        "GET /operator/requests/{id}",
        o,
        &format!("/operator/requests/{NOBODY}"),
        None,
    )
    .await;
    let claim = "POST /operator/requests/{id}/claim";
    r.call(claim, o, &at("/claim"), None).await.assert_ok();
    r.call(claim, o, &at("/claim"), None).await;
    r.call(
        claim,
        o,
        &format!("/operator/requests/{NOBODY}/claim"),
        None,
    )
    .await;
    r.call(cancel, c, &format!("/richiesta/{id}"), Some(motivo.clone()))
        .await;
    let release = "POST /operator/requests/{id}/release";
    r.call(release, o, &at("/release"), None).await.assert_ok();
    r.call(release, o, &at("/release"), None).await;
    r.call(
        release,
        o,
        &format!("/operator/requests/{NOBODY}/release"),
        None,
    )
    .await;
    r.call(claim, o, &at("/claim"), None).await.assert_ok();
    let ask = "POST /operator/requests/{id}/integration";
    let question = json!({"messaggio": "La data di nascita non corrisponde al documento: correggila e allega la delega.",
                          "campi": ["$2"],
                          "documenti": [{"codice": "delega", "descrizione": "Delega firmata dall'intestatario"}]});
    r.call(ask, o, &at("/integration"), Some(question.clone()))
        .await
        .assert_ok();
    r.call(ask, o, &at("/integration"), Some(question.clone()))
        .await;
    r.call(ask, o, &at("/integration"), Some(json!({"campi": "$2"})))
        .await;
    r.call(
        ask,
        o,
        &format!("/operator/requests/{NOBODY}/integration"),
        Some(question),
    )
    .await;
    r.call(
        edit,
        c,
        &format!("/richiesta/{id}"),
        Some(json!({"json_visura.$2": "1985-12-10"})),
    )
    .await
    .assert_ok();
    // The fields are in; the document asked brings the request back to the queue.
    let supply = "POST /richiesta/{id}/documenti";
    let delega = json!({"codice": "delega",
                        "file": format!("delega.pdf|data:application/pdf;base64,{}", b64(&pdf("delega")))});
    r.call(
        supply,
        c,
        &format!("/richiesta/{id}/documenti"),
        Some(delega.clone()),
    )
    .await
    .assert_ok();
    r.call(
        supply,
        c,
        &format!("/richiesta/{id}/documenti"),
        Some(json!({"codice": "Delega firmata", "file": b64(&pdf("delega"))})),
    )
    .await;
    r.call(
        supply,
        c,
        &format!("/richiesta/{id}/documenti"),
        Some(json!({"codice": "delega", "file": b64(b"solo testo")})),
    )
    .await;
    r.call(
        supply,
        c,
        &format!("/richiesta/{NOBODY}/documenti"),
        Some(delega.clone()),
    )
    .await;
    r.call(
        supply,
        c,
        &format!("/richiesta/{id3}/documenti"),
        Some(delega),
    )
    .await;
    let results = "POST /operator/requests/{id}/results";
    let result = json!({"nome": "certificato.pdf",
                        "file": format!("data:application/pdf;base64,{}", b64(&pdf("certificato")))});
    r.call(results, o, &at("/results"), Some(result.clone()))
        .await
        .assert_ok();
    r.call(
        results,
        o,
        &at("/results"),
        Some(json!({"nome": "note.txt", "file": b64(b"solo testo")})),
    )
    .await;
    r.call(
        results,
        o,
        &at("/results"),
        Some(json!({"nome": "vuoto.pdf"})),
    )
    .await;
    r.call(
        results,
        o,
        &format!("/operator/requests/{NOBODY}/results"),
        Some(result.clone()),
    )
    .await;
    let close = "POST /operator/requests/{id}/close";
    let esito = json!({"esito": {"codice": "0", "info": "OK"}});
    r.call(close, o, &at("/close"), Some(esito.clone()))
        .await
        .assert_ok();
    r.call(close, o, &at("/close"), Some(esito.clone())).await;
    r.call(close, o, &at("/close"), Some(json!({"esito": "bene"})))
        .await;
    r.call(
        close,
        o,
        &format!("/operator/requests/{NOBODY}/close"),
        Some(esito),
    )
    .await;
    r.call(results, o, &at("/results"), Some(result)).await;
    let files = "GET /operator/requests/{id}/files/{file_id}";
    r.call(files, o, &at("/files/nessuno"), None).await;
    let op_cancel = "POST /operator/requests/{id}/cancel";
    let why = json!({"motivo": "Documento d'identità illeggibile"});
    let at2 = |tail: &str| format!("/operator/requests/{id2}{tail}");
    r.call(claim, o, &at2("/claim"), None).await.assert_ok();
    r.call(op_cancel, o, &at2("/cancel"), Some(why.clone()))
        .await
        .assert_ok();
    r.call(op_cancel, o, &at2("/cancel"), Some(why.clone()))
        .await;
    r.call(op_cancel, o, &at("/cancel"), Some(json!({}))).await;
    r.call(
        op_cancel,
        o,
        &format!("/operator/requests/{NOBODY}/cancel"),
        Some(why),
    )
    .await;

    // The client gets the result.
    let doc = "GET /documento/{id}";
    r.call(doc, c, &format!("/documento/{id}"), None)
        .await
        .assert_ok();
    r.call(doc, c, "/documento/not-an-id", None).await;
    r.call(doc, c, &format!("/documento/{NOBODY}"), None).await;
    let download = "GET /documento/{id}/download";
    r.call(download, c, &format!("/documento/{id}/download"), None)
        .await;
    r.call(download, c, &format!("/documento/{id2}/download"), None)
        .await;
    r.call(download, c, "/documento/not-an-id/download", None)
        .await;
    r.call(download, c, &format!("/documento/{NOBODY}/download"), None)
        .await;

    // Deliveries, webhooks.
    let deliveries = r
        .call(
            "GET /consegne",
            c,
            &format!("/consegne?richiesta={id}&per_page=1"),
            None,
        )
        .await;
    let delivery = deliveries.assert_ok()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    r.call(
        "GET /consegne",
        c,
        &format!("/consegne?richiesta={NOBODY}"),
        None,
    )
    .await;
    let replay = "POST /consegne/{id}/ripeti";
    r.call(replay, c, &format!("/consegne/{delivery}/ripeti"), None)
        .await
        .assert_ok();
    r.call(replay, c, "/consegne/nessuna/ripeti", None).await;
    r.call(
        "GET /admin/deliveries",
        a,
        "/admin/deliveries?per_page=1",
        None,
    )
    .await
    .assert_ok();
    let replay = "POST /admin/deliveries/{id}/replay";
    r.call(
        replay,
        a,
        &format!("/admin/deliveries/{delivery}/replay"),
        None,
    )
    .await
    .assert_ok();
    r.call(replay, a, "/admin/deliveries/nessuna/replay", None)
        .await;
    // A third replay within the hour, then no more (the client's and the admins' together).
    let replay_own = "POST /consegne/{id}/ripeti";
    for _ in 0..2 {
        r.call(replay_own, c, &format!("/consegne/{delivery}/ripeti"), None)
            .await;
    }
    r.call(
        replay,
        a,
        &format!("/admin/deliveries/{delivery}/replay"),
        None,
    )
    .await;
    let hook = "GET /admin/clients/{id}/webhook";
    r.call(hook, a, &format!("/admin/clients/{demo}/webhook"), None)
        .await
        .assert_ok();
    r.call(hook, a, "/admin/clients/nessuno/webhook", None)
        .await;
    let set = "PUT /admin/clients/{id}/webhook";
    let url = json!({"url": "https://example.com/sportello/webhook"});
    r.call(
        set,
        a,
        &format!("/admin/clients/{demo}/webhook"),
        Some(url.clone()),
    )
    .await
    .assert_ok();
    r.call(
        set,
        a,
        &format!("/admin/clients/{demo}/webhook"),
        Some(json!({"url": "http://example.com/hook"})),
    )
    .await;
    r.call(set, a, "/admin/clients/nessuno/webhook", Some(url))
        .await;
    let secret = "POST /admin/clients/{id}/webhook/secret";
    r.call(
        secret,
        a,
        &format!("/admin/clients/{demo}/webhook/secret"),
        None,
    )
    .await
    .assert_ok();
    r.call(secret, a, "/admin/clients/nessuno/webhook/secret", None)
        .await;

    // Money: wallets, statements, settlements, the books.
    let wallet = "GET /admin/clients/{id}/wallet";
    r.call(wallet, a, &format!("/admin/clients/{demo}/wallet"), None)
        .await
        .assert_ok();
    r.call(wallet, a, "/admin/clients/nessuno/wallet", None)
        .await;
    let own = "GET /conto/estratti/{mese}";
    r.call(own, c, &format!("/conto/estratti/{month}"), None)
        .await
        .assert_ok();
    r.call(own, c, "/conto/estratti/2026-13", None).await;
    // Statements are about money, which the sandbox never touches.
    let sandbox = Some(app.test_token.as_str());
    r.call(own, sandbox, &format!("/conto/estratti/{month}"), None)
        .await;
    let statement = "GET /admin/clients/{id}/statements/{mese}";
    r.call(
        statement,
        a,
        &format!("/admin/clients/{demo}/statements/{month}"),
        None,
    )
    .await
    .assert_ok();
    r.call(
        statement,
        a,
        &format!("/admin/clients/nessuno/statements/{month}"),
        None,
    )
    .await;
    let settlement = "GET /admin/providers/{id}/settlements/{mese}";
    r.call(
        settlement,
        a,
        &format!("/admin/providers/{provider}/settlements/{month}"),
        None,
    )
    .await
    .assert_ok();
    r.call(
        settlement,
        a,
        &format!("/admin/providers/nessuno/settlements/{month}"),
        None,
    )
    .await;
    // Providers: their party data and paperwork.
    let party = "PUT /admin/providers/{id}";
    let body = json!({
        "denominazione": "CAF Demo",
        "tipo": "CAF",
        "codice_fiscale": "12345671205",
        "sede": {"indirizzo": "Via Roma 1", "comune": "Roma", "provincia": "RM"},
        "email": "info@cafdemo.example.invalid",
        "pec": "cafdemo@pec.example.invalid",
        "telefono": "06 1234567"
    });
    r.call(
        party,
        a,
        &format!("/admin/providers/{provider}"),
        Some(body.clone()),
    )
    .await
    .assert_ok();
    let mut bad = body.clone();
    bad["sede"]["provincia"] = json!("Roma");
    r.call(party, a, &format!("/admin/providers/{provider}"), Some(bad))
        .await;
    r.call(party, a, "/admin/providers/nessuno", Some(body))
        .await;
    for kind in ["informativa", "mandato"] {
        let op = if kind == "informativa" {
            "PUT /admin/providers/{id}/informativa"
        } else {
            "PUT /admin/providers/{id}/mandato"
        };
        let testo = json!({"testo": "Titolare del trattamento: CAF Demo. Mandato a {{fornitore}} per {{servizio}}."});
        r.call(
            op,
            a,
            &format!("/admin/providers/{provider}/{kind}"),
            Some(testo.clone()),
        )
        .await
        .assert_ok();
        r.call(
            op,
            a,
            &format!("/admin/providers/{provider}/{kind}"),
            Some(json!({"testo": ""})),
        )
        .await;
        r.call(
            op,
            a,
            &format!("/admin/providers/nessuno/{kind}"),
            Some(testo),
        )
        .await;
    }
    let versions = "GET /admin/providers/{id}/versioni";
    r.call(
        versions,
        a,
        &format!("/admin/providers/{provider}/versioni"),
        None,
    )
    .await
    .assert_ok();
    r.call(versions, a, "/admin/providers/nessuno/versioni", None)
        .await;
    for kind in ["informativa", "mandato"] {
        let op = if kind == "informativa" {
            "GET /admin/providers/{id}/informativa/{versione}"
        } else {
            "GET /admin/providers/{id}/mandato/{versione}"
        };
        r.call(
            op,
            a,
            &format!("/admin/providers/{provider}/{kind}/1"),
            None,
        )
        .await
        .assert_ok();
        r.call(
            op,
            a,
            &format!("/admin/providers/{provider}/{kind}/zero"),
            None,
        )
        .await;
        r.call(
            op,
            a,
            &format!("/admin/providers/{provider}/{kind}/99"),
            None,
        )
        .await;
    }
    let notice = "GET /fornitori/{id}/informativa";
    r.call(
        notice,
        c,
        &format!("/fornitori/{provider}/informativa"),
        None,
    )
    .await
    .assert_ok();
    r.call(notice, c, "/fornitori/nessuno/informativa", None)
        .await;
    r.call("GET /admin/ledger/verify", a, "/admin/ledger/verify", None)
        .await
        .assert_ok();
    r.call("GET /admin/audit", a, "/admin/audit?after=2&limit=2", None)
        .await
        .assert_ok();
    r.call("GET /admin/audit/verify", a, "/admin/audit/verify", None)
        .await
        .assert_ok();
    r.call("GET /admin/sla", a, "/admin/sla", None)
        .await
        .assert_ok();

    // The practice's file and a person's data are zips: only their refusals are JSON.
    let fascicolo = "GET /operator/requests/{id}/fascicolo";
    let file_of = format!("/operator/requests/{id}/fascicolo");
    let zip = r.call(fascicolo, o, &file_of, None).await;
    assert_eq!(zip.status, 200);
    r.call(
        fascicolo,
        o,
        &format!("/operator/requests/{NOBODY}/fascicolo"),
        None,
    )
    .await;
    let subjects = "POST /admin/subjects/export";
    let bad = json!({"codice_fiscale": "RSSMRA85T10H501X"});
    r.call(subjects, a, "/admin/subjects/export", Some(bad))
        .await;
    let zip = r
        .call(
            subjects,
            a,
            "/admin/subjects/export",
            Some(json!({"codice_fiscale": CF})),
        )
        .await;
    assert_eq!(zip.status, 200);
    // Last but one: the request's personal data goes.
    sportello_server::service::retention::purge(&app.state, &id, "admin:reference")
        .await
        .unwrap();
    r.call(fascicolo, o, &file_of, None).await;

    // Last: the file store stops answering, and `/readyz`'s last probe has expired.
    let files_dir = app.dir.path().join("files");
    std::fs::remove_dir_all(&files_dir).unwrap();
    std::fs::write(&files_dir, b"not a directory").unwrap();
    tokio::time::sleep(sportello_server::api::system::READINESS_TTL).await;
    r.call("GET /readyz", None, "/readyz", None).await;
    r.calls
}

/// Members and JSON types, not values: ids, times and amounts change from run to run. An array
/// is described by its first element.
fn shape(v: &Value) -> Value {
    match v {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("boolean"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(a) => Value::Array(a.first().map(shape).into_iter().collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
    }
}

/// The examples file: per operation, its representative request (the first successful call,
/// else the first) and the first answer of each status.
fn examples_of(calls: &[Call]) -> BTreeMap<&'static str, Value> {
    let mut out: BTreeMap<&'static str, Value> = BTreeMap::new();
    for call in calls {
        let entry = out.entry(call.op).or_insert_with(
            || json!({"path": call.path, "body": call.body, "responses": {}, "ok": false}),
        );
        let success = (200..300).contains(&call.status);
        if success && entry["ok"] == json!(false) {
            entry["path"] = json!(call.path);
            entry["body"] = call.body.clone().unwrap_or(Value::Null);
            entry["ok"] = json!(true);
        }
        let responses = entry["responses"].as_object_mut().unwrap();
        responses
            .entry(call.status.to_string())
            .or_insert_with(|| call.answer.clone());
    }
    for v in out.values_mut() {
        v.as_object_mut().unwrap().remove("ok");
    }
    out
}

fn documented_example<'a>(doc: &'a Value, op: &str, status: &str) -> Option<&'a Value> {
    let (method, path) = op.split_once(' ').unwrap();
    let content =
        doc["paths"][path][method.to_lowercase()]["responses"][status]["content"].as_object()?;
    content
        .iter()
        .find(|(media, _)| media.contains("json"))
        .map(|(_, m)| &m["example"])
        .filter(|e| !e.is_null())
}

#[tokio::test]
async fn the_documented_examples_are_what_the_server_answers() {
    // E-mail configured (nothing is sent: an invitation by link mails nothing until opened).
    let app = TestApp::spawn_with_smtp(discarding_smtp()).await;
    let doc = openapi(&app).await;
    let calls = scenario(&app).await;
    if std::env::var_os("SPORTELLO_CAPTURE_EXAMPLES").is_some() {
        let text = serde_json::to_string_pretty(&examples_of(&calls)).unwrap();
        std::fs::write(EXAMPLES_FILE, text + "\n").unwrap();
        eprintln!("captured the examples into {EXAMPLES_FILE}: review the diff and commit it");
        return;
    }
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let captured = examples_of(&calls);
    for call in &calls {
        let status = call.status.to_string();
        let (method, path) = call.op.split_once(' ').unwrap();
        let op = &doc["paths"][path][method.to_lowercase()];
        let name = format!("{} ({})", call.op, call.path);
        if op.is_null() {
            problems.push(format!("{name}: not in the document"));
            continue;
        }
        if op["responses"][&status].is_null() {
            problems.push(format!(
                "{name}: answered {status}, which is not documented"
            ));
            continue;
        }
        if let Some(code) = call.answer["error"].as_u64() {
            let listed = op["x-error-codes"]
                .as_array()
                .is_some_and(|codes| codes.contains(&json!(code)));
            if !listed {
                problems.push(format!(
                    "{name}: answered error {code}, not in its x-error-codes"
                ));
            }
        }
        if !seen.insert((call.op, status.clone())) {
            continue; // only the first answer of a status is the example
        }
        let Some(example) = documented_example(&doc, call.op, &status) else {
            problems.push(format!(
                "{name}: no documented example of its {status} answer"
            ));
            continue;
        };
        if shape(example) != shape(&call.answer) {
            problems.push(format!(
                "{name}: the {status} answer no longer has the documented shape\n  documented: {}\n  answered:   {}",
                shape(example),
                shape(&call.answer)
            ));
        }
        if example["error"] != call.answer["error"] {
            problems.push(format!(
                "{name}: documented error {}, answered {}",
                example["error"], call.answer["error"]
            ));
        }
    }
    // The documented request bodies are the ones sent.
    for (op, entry) in &captured {
        let (method, path) = op.split_once(' ').unwrap();
        let content = &doc["paths"][path][method.to_lowercase()]["requestBody"]["content"];
        for (media, m) in content.as_object().into_iter().flatten() {
            if m["example"] != entry["body"] {
                problems.push(format!(
                    "{op}: the documented {media} request is not the one sent"
                ));
            }
        }
    }
    // No example is left that the server no longer produces.
    let documented: Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(EXAMPLES_FILE).unwrap()).unwrap();
    for (op, entry) in &documented {
        for status in entry["responses"].as_object().unwrap().keys() {
            let here = captured
                .get(op.as_str())
                .is_some_and(|e| !e["responses"][status].is_null());
            if !here {
                problems.push(format!("{op}: the {status} example is no longer produced"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the API reference's examples differ from the server ({} problems); if the change is \
         intended, capture them again with SPORTELLO_CAPTURE_EXAMPLES=1 and review the diff:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
