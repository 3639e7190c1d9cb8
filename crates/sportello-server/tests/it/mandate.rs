//! `GET /richiesta/{_id}/mandato` (issue 17 §2): the assigned provider's mandate, prefilled with
//! the person's data the catalog's `[persona]` points at, as a PDF a reader can extract the text
//! of; private to the request's client, audited, refused while there is nothing to print.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// The PDF's text, every page, as a text extractor reads it.
fn text_of(bytes: &[u8]) -> String {
    let pdf = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can parse");
    let pages: Vec<u32> = pdf.get_pages().keys().copied().collect();
    pdf.extract_text(&pages).expect("extractable text")
}

async fn mandato(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.http
        .get(format!("{}/richiesta/{id}/mandato", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_mandate_is_the_providers_text_prefilled_with_the_persons_data() {
    let app = TestApp::spawn().await;
    let mut form = assegno_form();
    form.insert("$0".into(), json!("Niccolò"));
    form.insert("$1".into(), json!("Bianchi"));
    let r = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": form}),
        )
        .await;
    let id = r.assert_ok()["_id"].as_str().unwrap().to_string();

    let resp = mandato(&app, &app.client_token, &id).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "application/pdf");
    assert_eq!(
        h["content-disposition"],
        format!("attachment; filename=\"mandato-{id}.pdf\"").as_str()
    );
    let text = text_of(&resp.bytes().await.unwrap());
    for expected in ["Niccolò", "Bianchi", CF, "CAF Demo", "Pagina 1 di"] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    assert!(!text.contains("[nome mancante]"), "{text}");

    // Reading the person's data is in the audit trail.
    let admin = app.admin_token().await;
    let trail = app
        .call(
            Method::GET,
            &format!("/admin/audit?request_id={id}"),
            &admin,
            None,
        )
        .await;
    let entries = trail.assert_ok().as_array().unwrap().clone();
    assert!(
        entries
            .iter()
            .any(|e| e["azione"] == "download_mandate"
                && e["dettaglio"] == "mandato v1, informativa v1"),
        "{entries:#?}"
    );

    // Another client's request does not exist for it.
    let other = app.new_client("altro").await;
    let resp = mandato(&app, &other, &id).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], 202);
}

#[tokio::test]
async fn a_draft_prints_what_it_lacks_and_the_version_it_recorded() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "Mario"}, "state": 0}),
        )
        .await;
    let id = r.assert_ok()["_id"].as_str().unwrap().to_string();
    let provider = r.assert_ok()["fornitore"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // A later edit of the mandate is not what this request was shown.
    let admin = app.admin_token().await;
    let current = app
        .state
        .store
        .current_provider_document(&provider, sportello_store::PaperKind::Mandato)
        .await
        .unwrap()
        .unwrap();
    app.call(
        Method::PUT,
        &format!("/admin/providers/{provider}/mandato"),
        &admin,
        Some(json!({"testo": format!("{}\n\nVERSIONE SUCCESSIVA", current.testo)})),
    )
    .await
    .assert_ok();

    let resp = mandato(&app, &app.client_token, &id).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = text_of(&resp.bytes().await.unwrap());
    assert!(text.contains("Mario"), "{text}");
    assert!(text.contains("[cognome mancante]"), "{text}");
    assert!(text.contains("[codice fiscale mancante]"), "{text}");
    assert!(!text.contains("VERSIONE SUCCESSIVA"), "{text}");
}

#[tokio::test]
async fn no_provider_means_no_mandate_yet() {
    let app = TestApp::spawn().await;
    let provider = app
        .state
        .store
        .list_providers()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "CAF Demo")
        .unwrap()
        .id;
    app.state
        .store
        .set_provider_services(&provider, &[])
        .await
        .unwrap();
    let r = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "Mario"}, "state": 0}),
        )
        .await;
    let id = r.assert_ok()["_id"].as_str().unwrap().to_string();
    let resp = mandato(&app, &app.client_token, &id).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], 920);
    assert_eq!(body["success"], false);
}
