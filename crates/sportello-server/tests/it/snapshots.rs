//! Snapshots of every compat response shape and of the OpenAPI document, so a change to what a
//! client sees is a reviewed diff (`cargo insta review`), never an accident. Everything that
//! depends on time or chance (ids, timestamps, tokens, file contents) is redacted.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use insta::assert_json_snapshot;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SEEDS: [(&str, &str); 5] = [
    ("assegno_unico", "224fcc49770edad354cdd9c480a7e50e"),
    ("congedo_parentale", "8a7c8386fff43d28182cfa2ad24a3532"),
    ("isee", "38934ffe45179c4d5b88e2a6b849799a"),
    ("pensione_vecchiaia", "e767a64dec5b382cbff27b3e46f41441"),
    ("stato_di_famiglia", "4c84e22bbabd5f25b0102bb3bfe82790"),
];

/// Indennità per congedo parentale: €14.70, so a non-integer price shows.
const CONGEDO: &str = "8a7c8386fff43d28182cfa2ad24a3532";

/// The body with the status, so a snapshot also pins the HTTP status. The values of
/// `timestamp_stati` are redacted here, not with a selector: its keys (which states were
/// reached) are part of the shape and must stay.
fn shot(answer: &Answer) -> Value {
    let mut body = answer.body.clone();
    if let Some(stati) = body
        .get_mut("data")
        .and_then(|d| d.get_mut("timestamp_stati"))
        .and_then(Value::as_object_mut)
    {
        for at in stati.values_mut() {
            assert!(at.is_i64(), "timestamps are Unix seconds: {at}");
            *at = json!("[timestamp]");
        }
    }
    // The error envelope's request id is made up per call: it must be the one the answer's
    // header names, and its presence is the shape.
    if let Some(id) = body.get_mut("request_id") {
        assert_eq!(
            Some(id.as_str().unwrap()),
            answer
                .headers
                .get("x-request-id")
                .map(|h| h.to_str().unwrap())
        );
        *id = json!("[request id]");
    }
    json!({"status": answer.status.as_u16(), "body": body})
}

/// Redacts what depends on time or chance in a Richiesta (`.body.data`) or a list of them
/// (`.body.data[]`). `timestamp_stati` is redacted key by key: its key names are the contract.
fn redactions() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for base in [".body.data", ".body.data[]"] {
        for member in [
            "_id",
            "timestamp_creation",
            "timestamp_last_update",
            "delete_after",
            // The SLA due time counts working days from today: it moves with the calendar.
            "scadenza",
        ] {
            let label = if member == "_id" {
                "[id]"
            } else {
                "[timestamp]"
            };
            settings.add_redaction(&format!("{base}.{member}"), redact_present(label));
        }
        // The provider's id is made at the demo's set-up, by chance.
        settings.add_redaction(&format!("{base}.fornitore.id"), "[id]");
        for stato in STATI {
            settings.add_redaction(&format!("{base}.timestamp_stati.{stato}"), "[timestamp]");
        }
    }
    settings
}

/// Every key `timestamp_stati` may carry.
const STATI: [&str; 6] = [
    "in_ricerca",
    "in_erogazione",
    "in_attesa_integrazione",
    "dati_disponibili",
    "visura_evasa",
    "annullata",
];

/// A redaction that keeps `null` visible (a missing `delete_after` is part of the shape).
fn redact_present(label: &'static str) -> insta::internals::Redaction {
    insta::dynamic_redaction(
        move |value, _| {
            if value.is_nil() {
                value
            } else {
                label.into()
            }
        },
    )
}

/// Submits a valid request for Congedo with the `assistenza_dedicata` option.
async fn create_congedo(app: &TestApp) -> Answer {
    let visura = app.get(&format!("/visure/{CONGEDO}")).await;
    app.post(
        "/richiesta",
        json!({
            "hash_visura": CONGEDO,
            "json_visura": valid_json_visura(visura.assert_ok()),
            "opzioni": {"opzione_1": true},
            "email_target": "mario.rossi@example.com",
        }),
    )
    .await
}

#[tokio::test]
async fn visure_list() {
    let app = TestApp::spawn().await;
    let answer = app.get("/visure").await;
    answer.assert_ok();
    assert_json_snapshot!("visure_list", shot(&answer));
}

#[tokio::test]
async fn visura_of_each_seed_service() {
    let app = TestApp::spawn().await;
    for (name, hash) in SEEDS {
        let answer = app.get(&format!("/visure/{hash}")).await;
        answer.assert_ok();
        assert_json_snapshot!(format!("visura_{name}"), shot(&answer));
    }
}

#[tokio::test]
async fn richiesta_create_list_and_closed() {
    let app = TestApp::spawn().await;
    let created = create_congedo(&app).await;
    let id = created.assert_ok()["_id"].as_str().unwrap().to_string();
    redactions().bind(|| assert_json_snapshot!("richiesta_create", shot(&created)));

    let list = app.get("/richiesta").await;
    assert_eq!(list.assert_ok().as_array().unwrap().len(), 1);
    redactions().bind(|| assert_json_snapshot!("richiesta_list", shot(&list)));

    app.work_to_the_end(&id, &[("esito.pdf", pdf("esito")), ("ricevuta.png", png())])
        .await;
    let closed = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(closed.assert_ok()["stato_richiesta"], "Visura evasa");
    redactions().bind(|| assert_json_snapshot!("richiesta_closed", shot(&closed)));

    let doc = app.get(&format!("/documento/{id}")).await;
    let d = doc.assert_ok();
    assert_eq!(d["nome"], format!("{id}.zip"));
    // Redacted below, so its type is checked here: an integer, as the contract says.
    assert!(d["dimensione"].is_u64(), "{}", d["dimensione"]);
    // The same two files make the same archive, so its size is part of the snapshot.
    assert!(doc.data()["dimensione"].is_u64());
    assert_json_snapshot!("documento", shot(&doc), {
        ".body.data.nome" => "[id].zip",
        ".body.data.file" => "[base64 zip]",
        ".body.data.sha256" => "[sha256]",
    });
}

#[tokio::test]
async fn richiesta_cancelled_by_the_operator() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(CONGEDO).await;
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/cancel"),
        Some(json!({"motivo": "Il richiedente non ha i requisiti"})),
    )
    .await
    .assert_ok();
    let cancelled = app.get(&format!("/richiesta/{id}")).await;
    redactions().bind(|| assert_json_snapshot!("richiesta_cancelled", shot(&cancelled)));
}

#[tokio::test]
async fn errors() {
    let app = TestApp::spawn().await;

    // 412/250: a missing field, a bad codice fiscale, a field the service does not have.
    let visura = app.get(&format!("/visure/{CONGEDO}")).await;
    let mut json_visura = valid_json_visura(visura.assert_ok());
    let fields = json_visura.as_object_mut().unwrap();
    let (cf_key, _) = visura.data()["json_struttura"]["campi"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, c)| c["tipo"].as_str().unwrap().starts_with("codice_fiscale"))
        .unwrap();
    fields.insert(cf_key.clone(), json!("RSSMRA85T10H501X"));
    fields.remove("$0");
    fields.insert("$99".into(), json!("?"));
    let invalid = app
        .post(
            "/richiesta",
            json!({"hash_visura": CONGEDO, "json_visura": json_visura}),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::PRECONDITION_FAILED);
    assert_json_snapshot!("error_412_250", shot(&invalid));

    let missing = app.get("/richiesta/5f2829ce065afc21cc60ad0e").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_json_snapshot!("error_404_202", shot(&missing));

    let wrong_hash = app.get("/visure/00000000000000000000000000000000").await;
    assert_eq!(wrong_hash.status, StatusCode::BAD_REQUEST);
    assert_json_snapshot!("error_400_200", shot(&wrong_hash));

    let not_ready = {
        let id = app.submit_valid(CONGEDO).await;
        app.get(&format!("/documento/{id}")).await
    };
    assert_eq!(not_ready.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_json_snapshot!("error_422_247", shot(&not_ready));

    let anonymous = app.raw(app.http.get(format!("{}/visure", app.base))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_json_snapshot!("error_401_missing_token", shot(&anonymous));

    let bad_token = app
        .call(Method::GET, "/visure", "spt_test_not-a-real-token", None)
        .await;
    assert_eq!(bad_token.status, StatusCode::UNAUTHORIZED);
    assert_json_snapshot!("error_401_invalid_token", shot(&bad_token));
}

#[tokio::test]
async fn openapi_document() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    // Every compat path is documented.
    for path in [
        "/visure",
        "/visure/{hash_visura}",
        "/richiesta",
        "/richiesta/{id}",
        "/documento/{id}",
        "/operator/requests",
    ] {
        let documented = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .any(|p| p == path || p.replace("{hash}", "{hash_visura}") == path);
        assert!(documented, "{path} is missing from /openapi.json");
    }
    // The crate version is not part of the shape: a release must not touch this snapshot.
    assert_json_snapshot!("openapi", doc, {".info.version" => "[version]"});
}

#[tokio::test]
async fn docs_serve_swagger_ui_without_the_network() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .get(format!("{}/docs/", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    // The assets are ours, not a CDN's.
    assert!(
        !html.contains("unpkg.com") && !html.contains("cdn.jsdelivr"),
        "{html}"
    );
    let asset = app
        .http
        .get(format!("{}/docs/swagger-ui.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(asset.status(), 200);
    assert!(!asset.bytes().await.unwrap().is_empty());

    // `/docs` without the slash gets there too.
    let bare = app
        .http
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 200);
    assert!(bare
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("swagger"));
}

#[tokio::test]
async fn healthz_answers() {
    let app = TestApp::spawn().await;
    let resp = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["success"], true);
    assert_eq!(body["data"]["status"], "ok");
}
