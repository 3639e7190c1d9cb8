//! `GET /visura/formTool/{hash_visura}.js`: the embeddable form, public and cacheable. Its
//! behaviour in a browser is tested by `e2e/form_tool.test.mjs`.
#![allow(clippy::unwrap_used)]

use serde_json::Value;

use crate::common::*;

fn url(app: &TestApp, file: &str) -> String {
    format!("{}/visura/formTool/{file}", app.base)
}

/// The JSON literal the script is called with (the text after the static function expression).
fn embedded_data(script: &str) -> Value {
    let start = script.rfind("})(").unwrap() + 3;
    let end = script.rfind(");").unwrap();
    serde_json::from_str(&script[start..end]).unwrap()
}

#[tokio::test]
async fn the_script_is_public_javascript_carrying_the_services_form_and_schema() {
    let app = TestApp::spawn().await;
    // No token.
    let resp = app
        .http
        .get(url(&app, &format!("{ASSEGNO}.js")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert!(h["cache-control"].to_str().unwrap().starts_with("public"));
    assert!(h.contains_key("etag"));
    let script = resp.text().await.unwrap();
    // CSP-friendly: no eval, no Function constructor, no inline handlers, no HTML strings.
    for banned in [
        "eval(",
        "new Function",
        "innerHTML",
        "onclick",
        "setAttribute(\"on",
    ] {
        assert!(!script.contains(banned), "the script contains {banned}");
    }
    let data = embedded_data(&script);
    assert_eq!(data["hash_visura"], ASSEGNO);
    let schema = app.get(&format!("/visure/{ASSEGNO}/schema")).await;
    assert_eq!(
        data["schema"], schema.body,
        "the same schema as /visure/{{hash}}/schema"
    );
    // The fields in `ordine`, with their istruzioni.
    let service = app.get(&format!("/visure/{ASSEGNO}")).await;
    let campi = service.data()["json_struttura"]["campi"]
        .as_object()
        .unwrap();
    let order: Vec<u32> = data["campi"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let campo = &campi[c["chiave"].as_str().unwrap()];
            assert_eq!(c["istruzioni"], campo["istruzioni"]);
            campo["ordine"]
                .as_str()
                .and_then(|o| o.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(order.len(), campi.len());
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{order:?}");
}

#[tokio::test]
async fn the_embedded_data_cannot_close_the_script_element() {
    let app = TestApp::spawn().await;
    for service in app.state.catalog.services() {
        let script = app
            .http
            .get(url(&app, &format!("{}.js", service.hash_visura)))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let start = script.rfind("})(").unwrap();
        let data = &script[start..];
        assert!(
            !data.contains('<') && !data.contains('>'),
            "{}",
            service.hash_visura
        );
    }
}

#[tokio::test]
async fn an_unchanged_script_is_answered_304_from_its_etag() {
    let app = TestApp::spawn().await;
    let first = app
        .http
        .get(url(&app, &format!("{FAMIGLIA}.js")))
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_string();
    let again = app
        .http
        .get(url(&app, &format!("{FAMIGLIA}.js")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.text().await.unwrap().is_empty());
    // Another service's script has another tag, so a stale one gets the whole script.
    let other = app
        .http
        .get(url(&app, &format!("{ASSEGNO}.js")))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert_ne!(other.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test]
async fn an_unknown_hash_or_a_path_without_js_is_404_in_the_envelope() {
    let app = TestApp::spawn().await;
    for file in ["0123456789abcdef0123456789abcdef.js", FAMIGLIA, "x.js"] {
        let answer = app.raw(app.http.get(url(&app, file))).await;
        assert_eq!(answer.status, 404, "{file}");
        assert_eq!(answer.error_code(), 910);
    }
}

#[tokio::test]
async fn an_alias_hash_gets_the_form_under_the_hash_it_asked_for() {
    let app = TestApp::spawn().await;
    let alias = "6aa0789f5ba34684b2bc5ccf364f8929";
    let script = app
        .http
        .get(url(&app, &format!("{alias}.js")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(embedded_data(&script)["hash_visura"], alias);
}
