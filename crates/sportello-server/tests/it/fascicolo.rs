//! The practice's file and the person's data (issue 17 §6): `GET
//! /operator/requests/{id}/fascicolo` (every file, the result archive, the mandate and
//! `fascicolo.pdf`), the back office's button, retention waiting for the first download
//! (`retention_requires_export`) and the SLA dashboard's list, and a person's access request
//! (`POST /admin/subjects/export`).
#![allow(clippy::unwrap_used)]

use crate::backoffice::{admin, demo_operator, Browser, PASSWORD};
use crate::common::*;
use reqwest::header::COOKIE;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_server::service::retention;
use sportello_server::Limits;
use std::collections::BTreeMap;
use std::io::Read;

const DAY: i64 = 86_400;

/// A zip's entries by name.
fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut content = Vec::new();
            f.read_to_end(&mut content).unwrap();
            (f.name().to_string(), content)
        })
        .collect()
}

/// The PDF's text, every page, as a text extractor reads it.
fn text_of(bytes: &[u8]) -> String {
    let pdf = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can parse");
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    pdf.extract_text(&pages).expect("extractable text")
}

/// Whitespace-insensitive: the PDF wraps lines where it must.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn fascicolo(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/operator/requests/{id}/fascicolo", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn error_of(resp: reqwest::Response) -> (StatusCode, i64) {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    (status, body["error"].as_i64().unwrap_or(0))
}

/// An Assegno Unico request with three input files, worked to the end with one result.
async fn processed(app: &TestApp) -> String {
    let mut form = assegno_form();
    form.insert("$0".into(), json!("Niccolò"));
    let r = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": form}),
        )
        .await;
    let id = r.assert_ok()["_id"].as_str().unwrap().to_string();
    app.work_to_the_end(&id, &[("esito.pdf", pdf("esito"))])
        .await;
    id
}

async fn audit_of(app: &TestApp, id: &str) -> Vec<Value> {
    let admin = app.admin_token().await;
    app.call(
        Method::GET,
        &format!("/admin/audit?request_id={id}"),
        &admin,
        None,
    )
    .await
    .assert_ok()
    .as_array()
    .unwrap()
    .clone()
}

#[tokio::test]
async fn the_case_file_holds_every_file_the_mandate_and_the_summary() {
    let app = TestApp::spawn().await;
    let id = processed(&app).await;

    let resp = fascicolo(&app, &app.operator_token, &id).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert_eq!(
        resp.headers()["content-disposition"],
        format!("attachment; filename=\"fascicolo-{id}.zip\"").as_str()
    );
    let entries = unzip(&resp.bytes().await.unwrap());
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    for expected in [
        "fascicolo.pdf",
        "mandato.pdf",
        "documento.zip",
        "result/esito.pdf",
        "input/documento.pdf",
        "input/codice_fiscale.pdf",
        "input/mandato.pdf",
    ] {
        assert!(names.contains(&expected), "{expected} not in {names:?}");
    }
    assert_eq!(names.len(), 7, "{names:?}");
    // The files are the ones given, decrypted.
    assert_eq!(entries["result/esito.pdf"], pdf("esito"));
    assert_eq!(entries["input/mandato.pdf"], pdf("mandato.pdf"));
    let inner = unzip(&entries["documento.zip"]);
    assert_eq!(inner["esito.pdf"], pdf("esito"));
    // The mandate is the provider's, filled.
    let mandate = text_of(&entries["mandato.pdf"]);
    assert!(mandate.contains("Niccolò"), "{mandate}");

    let text = flat(&text_of(&entries["fascicolo.pdf"]));
    for expected in [
        "Fascicolo della pratica",
        id.as_str(),
        "CAF Demo",
        "Domanda Assegno Unico",
        "Visura evasa",
        "Niccolò",
        "Rossi",
        CF,
        // A file field by its name only.
        "file: documento.pdf",
        "Informativa mostrata versione 1",
        "Mandato mostrato versione 1",
        "result/esito.pdf",
        "Storia della pratica",
        "close",
        "Registro degli accessi",
        "change_state",
        "Pagina 1 di",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }

    // The download is in the audit trail, by the operator.
    let trail = audit_of(&app, &id).await;
    let entry = trail
        .iter()
        .find(|e| e["azione"] == "download_fascicolo")
        .unwrap_or_else(|| panic!("{trail:#?}"));
    assert!(entry["attore"].as_str().unwrap().starts_with("operator:"));
    assert!(
        entry["dettaglio"].as_str().unwrap().contains("mandato v1"),
        "{entry}"
    );

    // Another provider's operator, a client and an admin do not get it.
    let other = app.new_operator("CAF Altro", vec![ASSEGNO.into()]).await;
    assert_eq!(
        error_of(fascicolo(&app, &other, &id).await).await,
        (StatusCode::NOT_FOUND, 914)
    );
    assert_eq!(
        fascicolo(&app, &app.client_token, &id).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        error_of(fascicolo(&app, &app.operator_token, "nope").await).await,
        (StatusCode::NOT_FOUND, 914)
    );

    // Once purged there is nothing left to give.
    retention::purge(&app.state, &id, "admin:test")
        .await
        .unwrap();
    assert_eq!(
        error_of(fascicolo(&app, &app.operator_token, &id).await).await,
        (StatusCode::GONE, 917)
    );
}

#[tokio::test]
async fn a_request_still_open_has_its_inputs_and_no_result_yet() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(FAMIGLIA).await;
    let resp = fascicolo(&app, &app.operator_token, &id).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let entries = unzip(&resp.bytes().await.unwrap());
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    // The family certificate has no file field; its provider's mandate is still given.
    assert_eq!(names, ["fascicolo.pdf", "mandato.pdf"], "{names:?}");
    let text = flat(&text_of(&entries["fascicolo.pdf"]));
    assert!(text.contains("In erogazione"), "{text}");
    assert!(text.contains("Certificato"), "{text}");
}

#[tokio::test]
async fn retention_waits_for_the_providers_first_download() {
    let app = TestApp::spawn().await;
    let retention_days = app.state.catalog.get(ASSEGNO).unwrap().retention_days;
    let id = processed(&app).await;

    // The admin's dashboard lists it as waiting.
    let email = admin(&app).await;
    let mut a = Browser::new(&app);
    a.login(&email, PASSWORD).await;
    let dash = a.get("/backoffice/admin/sla").await;
    dash.assert_shows(StatusCode::OK, "In attesa del fascicolo");
    assert!(dash.text.contains(&id), "{}", dash.text);

    // Past its retention time, the real pass keeps it: the provider never downloaded it.
    app.clock.advance(i64::from(retention_days) * DAY + DAY);
    assert!(
        retention::purge_expired(&app.state, false, "system:retention")
            .await
            .unwrap()
            .is_empty()
    );
    // (A month later: the admin logs in again.)
    let mut a = Browser::new(&app);
    a.login(&email, PASSWORD).await;
    let dash = a.get("/backoffice/admin/sla").await;
    assert!(dash.text.contains("dati trattenuti"), "{}", dash.text);
    app.get(&format!("/documento/{id}")).await.assert_ok();

    // The operator downloads it from the back office (a form with its CSRF token).
    let op = demo_operator(&app).await;
    let mut b = Browser::new(&app);
    b.login(&op, PASSWORD).await;
    let page = b.get(&format!("/backoffice/richieste/{id}")).await;
    page.assert_shows(StatusCode::OK, "Scarica fascicolo");
    let csrf = page.csrf();
    let cookies = b
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let without_token = app
        .http
        .post(format!("{}/backoffice/richieste/{id}/fascicolo", app.base))
        .header(COOKIE, &cookies)
        .form(&[("csrf", "sbagliato")])
        .send()
        .await
        .unwrap();
    assert_ne!(without_token.status(), StatusCode::OK);
    assert!(
        retention::purge_expired(&app.state, false, "system:retention")
            .await
            .unwrap()
            .is_empty()
    );
    let resp = app
        .http
        .post(format!("{}/backoffice/richieste/{id}/fascicolo", app.base))
        .header(COOKIE, &cookies)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    assert!(unzip(&resp.bytes().await.unwrap()).contains_key("fascicolo.pdf"));

    // Now the pass lets it go, and the dashboard no longer waits for it.
    assert_eq!(
        retention::purge_expired(&app.state, false, "system:retention")
            .await
            .unwrap(),
        vec![id.clone()]
    );
    let dash = a.get("/backoffice/admin/sla").await;
    assert!(!dash.text.contains(&id), "{}", dash.text);
    let doc = app.get(&format!("/documento/{id}")).await;
    assert_eq!((doc.status.as_u16(), doc.error_code()), (410, 917));
}

#[tokio::test]
async fn without_retention_requires_export_retention_does_not_wait() {
    let app = TestApp::spawn_with(Limits {
        retention_requires_export: false,
        ..Limits::default()
    })
    .await;
    let retention_days = app.state.catalog.get(ASSEGNO).unwrap().retention_days;
    let id = processed(&app).await;
    app.clock.advance(i64::from(retention_days) * DAY + DAY);
    assert_eq!(
        retention::purge_expired(&app.state, false, "system:retention")
            .await
            .unwrap(),
        vec![id]
    );
}

async fn export(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.http
        .post(format!("{}/admin/subjects/export", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_persons_data_is_every_request_about_them_as_json_and_files() {
    let app = TestApp::spawn().await;
    let first = processed(&app).await;
    let second = app.submit_valid(FAMIGLIA).await;
    // Another person's request is not theirs.
    let mut form = assegno_form();
    form.insert("$4".into(), json!("BNCGVN80A01F205M"));
    let other = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": form}),
        )
        .await;
    let other = other.assert_ok()["_id"].as_str().unwrap().to_string();
    let admin = app.admin_token().await;

    // The code in any accepted form: lower case, spaces around.
    let resp = export(
        &app,
        &admin,
        json!({"codice_fiscale": format!(" {} ", CF.to_lowercase())}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "application/zip");
    let entries = unzip(&resp.bytes().await.unwrap());
    let index: Value = serde_json::from_slice(&entries["indice.json"]).unwrap();
    let mut listed: Vec<&str> = index["richieste"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    listed.sort();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(
        !entries.keys().any(|k| k.starts_with(&other)),
        "{entries:?}"
    );

    let data: Value = serde_json::from_slice(&entries[&format!("{first}/richiesta.json")]).unwrap();
    assert_eq!(data["richiesta"]["_id"], first.as_str());
    assert_eq!(data["richiesta"]["stato_richiesta"], "Visura evasa");
    assert_eq!(data["richiesta"]["fornitore"]["denominazione"], "CAF Demo");
    let campi = data["campi"].as_array().unwrap();
    assert!(campi.iter().any(|c| c["valore"] == "Niccolò"));
    assert!(campi
        .iter()
        .any(|c| c["file"] == "documento.pdf" && c["valore"].is_null()));
    let storia: Vec<&str> = data["storia"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["azione"].as_str().unwrap())
        .collect();
    assert!(storia.contains(&"close"), "{storia:?}");
    assert_eq!(
        entries[&format!("{first}/result/esito.pdf")],
        pdf("esito"),
        "{:?}",
        entries.keys()
    );
    assert!(entries.contains_key(&format!("{first}/documento.zip")));
    assert!(entries.contains_key(&format!("{first}/input/documento.pdf")));
    assert!(entries.contains_key(&format!("{second}/richiesta.json")));

    // Audited per request, and as an export, never with the code.
    let trail = audit_of(&app, &first).await;
    assert!(
        trail.iter().any(|e| e["azione"] == "export_subject"),
        "{trail:#?}"
    );
    let all = app
        .call(Method::GET, "/admin/audit?limit=500", &admin, None)
        .await;
    let all = all.assert_ok().to_string().to_uppercase();
    assert!(all.contains("EXPORT_SUBJECT"));
    assert!(
        !all.contains(CF),
        "the codice fiscale is in the audit trail"
    );

    // Nobody found: a zip saying so.
    let resp = export(&app, &admin, json!({"codice_fiscale": "VRDLGU70M41L219B"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let entries = unzip(&resp.bytes().await.unwrap());
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["indice.json"]);
    let index: Value = serde_json::from_slice(&entries["indice.json"]).unwrap();
    assert_eq!(index["richieste"], json!([]));
    assert!(index["nota"]
        .as_str()
        .unwrap()
        .contains("Nessuna richiesta"));

    // A purged request is no longer anyone's data.
    retention::purge(&app.state, &first, "admin:test")
        .await
        .unwrap();
    let resp = export(&app, &admin, json!({"codice_fiscale": CF})).await;
    let entries = unzip(&resp.bytes().await.unwrap());
    let index: Value = serde_json::from_slice(&entries["indice.json"]).unwrap();
    assert_eq!(index["richieste"], json!([second.as_str()]));
}

#[tokio::test]
async fn an_export_needs_a_valid_code_in_the_body_and_an_admin() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    for body in [
        json!({"codice_fiscale": "RSSMRA85T10H501X"}),
        json!({"codice_fiscale": "not a code"}),
        json!({"codice_fiscale": 12}),
        json!({}),
    ] {
        let answer = app
            .call(
                Method::POST,
                "/admin/subjects/export",
                &admin,
                Some(body.clone()),
            )
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.error_code(), 915, "{body}");
        assert_eq!(answer.body["details"][0]["campo"], "codice_fiscale");
        // The message never quotes the value.
        assert!(!answer.body.to_string().contains("RSSMRA85T10H501X"));
    }
    let answer = app
        .op(
            Method::POST,
            "/admin/subjects/export",
            Some(json!({"codice_fiscale": CF})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = app
        .call(
            Method::POST,
            "/admin/subjects/export",
            &app.client_token,
            Some(json!({"codice_fiscale": CF})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}
