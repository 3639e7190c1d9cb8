//! Providers are real parties (issue 17 §1–2): their data and versioned paperwork, edited by an
//! admin with warnings for what a text seems to lack, shown to clients on every request.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn demo_provider(app: &TestApp) -> String {
    app.state
        .store
        .list_providers()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "CAF Demo")
        .unwrap()
        .id
}

async fn admin(app: &TestApp, method: Method, path: &str, body: Value) -> Answer {
    let token = app.admin_token().await;
    app.call(method, path, &token, Some(body)).await
}

async fn admin_get(app: &TestApp, path: &str) -> Answer {
    let token = app.admin_token().await;
    app.call(Method::GET, path, &token, None).await
}

#[tokio::test]
async fn a_draft_already_has_its_provider_and_the_paperwork_versions_it_was_shown() {
    let app = TestApp::spawn().await;
    let provider = demo_provider(&app).await;
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "Mario"}, "state": 0}),
        )
        .await;
    let r = answer.assert_ok().clone();
    assert_eq!(r["state"], 0, "{r:#}");
    let f = &r["fornitore"];
    assert_eq!(f["id"], provider.as_str());
    assert_eq!(f["denominazione"], "CAF Demo");
    assert_eq!(f["tipo"], "CAF");
    assert_eq!(f["codice_fiscale"], "12345671205");
    assert_eq!(f["sede"]["provincia"], "RM");
    assert_eq!(f["sede"]["comune"], "Roma");
    assert!(f["pec"].as_str().unwrap().contains('@'));
    for m in ["email", "telefono"] {
        assert!(f[m].is_string(), "{m}");
    }

    let id = r["_id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/richiesta/{id}")).await.assert_ok(), &r);
    let list = app.get("/richiesta").await;
    assert_eq!(list.assert_ok()[0]["fornitore"], r["fornitore"]);

    let stored = app.state.store.get_request(id).await.unwrap().unwrap();
    assert_eq!(stored.provider_id.as_deref(), Some(provider.as_str()));
    assert_eq!(
        (stored.informativa_versione, stored.mandato_versione),
        (Some(1), Some(1))
    );

    // Submitting keeps the provider it was routed to at creation.
    let submitted = app
        .put(
            &format!("/richiesta/{id}"),
            json!({"json_visura": assegno_form(), "state": 1}),
        )
        .await;
    assert_eq!(submitted.assert_ok()["fornitore"]["id"], provider.as_str());
}

#[tokio::test]
async fn a_request_of_a_service_nobody_offers_has_no_provider() {
    let app = TestApp::spawn().await;
    let provider = demo_provider(&app).await;
    app.state
        .store
        .set_provider_services(&provider, &[])
        .await
        .unwrap();
    let r = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {}, "state": 0}),
        )
        .await;
    assert!(r.assert_ok()["fornitore"].is_null());
}

#[tokio::test]
async fn an_admin_edits_the_party_and_each_text_save_is_a_new_version_with_its_warnings() {
    let app = TestApp::spawn().await;
    let provider = demo_provider(&app).await;

    let party = json!({
        "denominazione": "Patronato Esempio",
        "tipo": "Patronato",
        "codice_fiscale": "12345671205",
        "sede": {"indirizzo": "Via Po 3", "comune": "Torino", "provincia": "to"},
        "email": "info@example.com",
        "pec": null,
        "telefono": "011 123456"
    });
    let updated = admin(
        &app,
        Method::PUT,
        &format!("/admin/providers/{provider}"),
        party.clone(),
    )
    .await;
    let f = updated.assert_ok();
    assert_eq!(f["denominazione"], "Patronato Esempio");
    assert_eq!(f["tipo"], "Patronato");
    assert_eq!(f["sede"]["provincia"], "TO");
    assert!(f["pec"].is_null());

    // A bad member is refused, named.
    let mut bad = party.clone();
    bad["codice_fiscale"] = json!("12345678901");
    let refused = admin(
        &app,
        Method::PUT,
        &format!("/admin/providers/{provider}"),
        bad,
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error_code(), 915);
    assert!(refused.body.to_string().contains("codice_fiscale"));
    let unknown = admin(
        &app,
        Method::PUT,
        "/admin/providers/prv_nessuno",
        party.clone(),
    )
    .await;
    assert_eq!((unknown.status.as_u16(), unknown.error_code()), (404, 914));

    // Whether an on-screen acceptance of the mandate counts: false at first, set when given,
    // kept when a later edit does not say, refused when not a boolean.
    assert_eq!(f["mandato_fes_accettato"], json!(false));
    let path = format!("/admin/providers/{provider}");
    let mut fes = party.clone();
    fes["mandato_fes_accettato"] = json!(true);
    let set = admin(&app, Method::PUT, &path, fes.clone()).await;
    assert_eq!(set.assert_ok()["mandato_fes_accettato"], json!(true));
    let kept = admin(&app, Method::PUT, &path, party.clone()).await;
    assert_eq!(kept.assert_ok()["mandato_fes_accettato"], json!(true));
    fes["mandato_fes_accettato"] = json!("sì");
    let refused = admin(&app, Method::PUT, &path, fes).await;
    assert_eq!(refused.error_code(), 915);
    assert_eq!(
        refused.body["details"][0]["campo"],
        json!("mandato_fes_accettato")
    );
    let draft = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "state": 0, "json_visura": {}}),
        )
        .await;
    assert_eq!(
        draft.assert_ok()["fornitore"]["mandato_fes_accettato"],
        json!(true),
        "clients see it on the request's provider"
    );

    // A notice lacking items is saved, with a warning naming each.
    let saved = admin(
        &app,
        Method::PUT,
        &format!("/admin/providers/{provider}/informativa"),
        json!({"testo": "Titolare del trattamento: Patronato Esempio."}),
    )
    .await;
    let v = saved.assert_ok();
    assert_eq!(v["versione"], 2);
    let avvisi: Vec<String> = serde_json::from_value(v["avvisi"].clone()).unwrap();
    assert!(avvisi.iter().any(|a| a.contains("Garante")), "{avvisi:?}");
    assert!(!avvisi.iter().any(|a| a.contains("titolare")), "{avvisi:?}");

    // The demo texts raise none.
    let demo = admin(
        &app,
        Method::PUT,
        &format!("/admin/providers/{provider}/informativa"),
        json!({"testo": sportello_server::paperwork::DEMO_INFORMATIVA}),
    )
    .await;
    assert_eq!(demo.assert_ok()["versione"], 3);
    assert_eq!(demo.assert_ok()["avvisi"], json!([]));
    let mandato = admin(
        &app,
        Method::PUT,
        &format!("/admin/providers/{provider}/mandato"),
        json!({"testo": "Mandato a {{fornitore}} per {{servizio}} {{ignoto}}"}),
    )
    .await;
    let m = mandato.assert_ok();
    assert_eq!(m["versione"], 2);
    let avvisi = m["avvisi"].to_string();
    assert!(
        avvisi.contains("{{data}}") && avvisi.contains("{{ignoto}}"),
        "{avvisi}"
    );
    let empty = admin(
        &app,
        Method::PUT,
        &format!("/admin/providers/{provider}/mandato"),
        json!({"testo": "  "}),
    )
    .await;
    assert_eq!((empty.status.as_u16(), empty.error_code()), (400, 915));

    // Clients read the current notice; new requests record the new versions.
    let current = app.get(&format!("/fornitori/{provider}/informativa")).await;
    assert_eq!(current.assert_ok()["versione"], 3);
    assert!(current.assert_ok()["testo"]
        .as_str()
        .unwrap()
        .contains("Garante"));
    let missing = app.get("/fornitori/prv_nessuno/informativa").await;
    assert_eq!((missing.status.as_u16(), missing.error_code()), (404, 914));
    let r = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": {}, "state": 0}),
        )
        .await;
    let id = r.assert_ok()["_id"].as_str().unwrap().to_string();
    assert_eq!(
        r.assert_ok()["fornitore"]["denominazione"],
        "Patronato Esempio"
    );
    let stored = app.state.store.get_request(&id).await.unwrap().unwrap();
    assert_eq!(
        (stored.informativa_versione, stored.mandato_versione),
        (Some(3), Some(2))
    );

    // Every edit is in the audit trail.
    let token = app.admin_token().await;
    let trail = app
        .call(Method::GET, "/admin/audit?limit=1000", &token, None)
        .await;
    let actions: Vec<String> = trail
        .assert_ok()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["azione"].as_str().unwrap().to_string())
        .collect();
    for a in [
        "provider_update",
        "provider_informativa",
        "provider_mandato",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
}

#[tokio::test]
async fn a_reassigned_request_records_the_new_providers_paperwork() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(ASSEGNO).await;
    let other = sportello_server::setup::create_provider(
        &app.state,
        "Patronato Altro",
        vec![ASSEGNO.into()],
    )
    .await
    .unwrap();
    admin(
        &app,
        Method::PUT,
        &format!("/admin/providers/{}/mandato", other.id),
        json!({"testo": "Mandato"}),
    )
    .await
    .assert_ok();
    sportello_server::service::reassign::reassign(&app.state, "admin:test", None, &id, &other.id)
        .await
        .unwrap();
    let stored = app.state.store.get_request(&id).await.unwrap().unwrap();
    assert_eq!(stored.provider_id.as_deref(), Some(other.id.as_str()));
    assert_eq!(
        (stored.informativa_versione, stored.mandato_versione),
        (None, Some(1))
    );
    let r = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(
        r.assert_ok()["fornitore"]["denominazione"],
        "Patronato Altro"
    );
    // The client is told: an event whose delivery carries the new `fornitore`.
    let events = app.state.store.events(&id).await.unwrap();
    assert_eq!(
        events.last().map(|e| e.event_type.as_str()),
        Some("request.reassigned")
    );
}

#[tokio::test]
async fn an_admin_lists_the_versions_and_reads_any_past_one() {
    let app = TestApp::spawn().await;
    let provider = demo_provider(&app).await;
    admin(
        &app,
        Method::PUT,
        &format!("/admin/providers/{provider}/informativa"),
        json!({"testo": "Titolare del trattamento: CAF Demo."}),
    )
    .await
    .assert_ok();

    // The demo's notice v1 and mandate v1, then the notice v2: no texts, warnings counted.
    let list = admin_get(&app, &format!("/admin/providers/{provider}/versioni")).await;
    let list = list.assert_ok().as_array().unwrap().clone();
    let seen: Vec<(String, i64)> = list
        .iter()
        .map(|v| {
            (
                v["documento"].as_str().unwrap().to_string(),
                v["versione"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("informativa".to_string(), 2),
            ("informativa".to_string(), 1),
            ("mandato".to_string(), 1)
        ]
    );
    for v in &list {
        assert!(v.get("testo").is_none(), "{v:#}");
        assert!(v["timestamp"].as_i64().unwrap() > 0);
        assert!(v["autore"].is_string());
    }
    assert!(list[0]["autore"].as_str().unwrap().starts_with("admin:"));
    assert!(!list[0]["avvisi"].as_array().unwrap().is_empty());
    assert_eq!(list[1]["avvisi"], json!([]));

    // A past version, with its text and warnings; the current one too.
    let v1 = admin_get(&app, &format!("/admin/providers/{provider}/informativa/1")).await;
    let v1 = v1.assert_ok();
    assert_eq!(v1["versione"], 1);
    assert!(v1["testo"].as_str().unwrap().contains("Garante"));
    assert_eq!(v1["avvisi"], json!([]));
    let v2 = admin_get(&app, &format!("/admin/providers/{provider}/informativa/2")).await;
    assert_eq!(
        v2.assert_ok()["testo"],
        "Titolare del trattamento: CAF Demo."
    );
    assert!(v2.assert_ok()["avvisi"].to_string().contains("Garante"));
    let mandato = admin_get(&app, &format!("/admin/providers/{provider}/mandato/1")).await;
    assert!(mandato.assert_ok()["testo"]
        .as_str()
        .unwrap()
        .contains("{{cognome}}"));

    // Refusals: no such version, provider or kind; a version that is not a number.
    for path in [
        format!("/admin/providers/{provider}/informativa/3"),
        format!("/admin/providers/{provider}/mandato/2"),
        "/admin/providers/prv_nessuno/mandato/1".to_string(),
        "/admin/providers/prv_nessuno/versioni".to_string(),
    ] {
        let a = admin_get(&app, &path).await;
        assert_eq!((a.status.as_u16(), a.error_code()), (404, 914), "{path}");
    }
    for bad in ["0", "-1", "uno", "1.5"] {
        let a = admin_get(&app, &format!("/admin/providers/{provider}/mandato/{bad}")).await;
        assert_eq!((a.status.as_u16(), a.error_code()), (400, 915), "{bad}");
        assert!(a.body.to_string().contains("versione"), "{bad}");
    }
}
