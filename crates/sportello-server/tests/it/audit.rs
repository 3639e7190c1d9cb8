//! The audit trail: every look at personal data and every change leaves an entry, chained by
//! hash; an altered entry is pinpointed.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::Value;

#[tokio::test]
async fn reads_downloads_and_changes_are_audited_and_tampering_is_pinpointed() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let id = app.submit_valid(FAMIGLIA).await;
    app.op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await
        .assert_ok();
    app.work_to_the_end(&id, &[("certificato.pdf", pdf("c"))])
        .await;
    app.get(&format!("/documento/{id}")).await.assert_ok();

    let trail = app
        .call(
            Method::GET,
            &format!("/admin/audit?request_id={id}"),
            &admin,
            None,
        )
        .await;
    let entries = trail.assert_ok().as_array().unwrap().clone();
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["azione"].as_str().unwrap(),
                e["dettaglio"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("change_state", "submit -> in_erogazione"),
            ("read_personal_data", ""),
            ("change_state", "claim -> in_erogazione"),
            ("change_state", "attach_result -> in_erogazione"),
            ("change_state", "close -> visura_evasa"),
            ("download_document", "base64"),
        ]
    );
    let read = &entries[1];
    assert!(read["attore"].as_str().unwrap().starts_with("operator:"));
    assert_eq!(read["origine"], "127.0.0.1");
    assert!(entries[0]["attore"]
        .as_str()
        .unwrap()
        .starts_with("client:"));
    assert!(
        !trail.body.to_string().contains(CF),
        "no personal data in the trail"
    );

    // The whole chain: before the request, the two top-ups of the demo wallet (the demo's own
    // credit, then the harness's), which name a client but no request.
    let whole = app.call(Method::GET, "/admin/audit", &admin, None).await;
    let whole = whole.assert_ok().as_array().unwrap().clone();
    let funding: Vec<(&str, &str)> = whole[..2]
        .iter()
        .map(|e| (e["azione"].as_str().unwrap(), e["attore"].as_str().unwrap()))
        .collect();
    assert_eq!(
        funding,
        vec![
            ("wallet_topup", "system:bootstrap"),
            ("wallet_topup", "system:test"),
        ]
    );
    assert_eq!(whole[2..], entries[..]);
    let check = app
        .call(Method::GET, "/admin/audit/verify", &admin, None)
        .await;
    assert_eq!(check.assert_ok()["integro"], true);
    assert_eq!(check.data()["voci_verificate"], whole.len() as u64);

    // Someone with write access to the database rewrites who read the data.
    let seq = read["seq"].as_i64().unwrap();
    app.db
        .execute(&format!(
            "UPDATE audit_log SET actor = 'operator:nobody' WHERE seq = {seq}"
        ))
        .await
        .unwrap();
    let check = app
        .call(Method::GET, "/admin/audit/verify", &admin, None)
        .await;
    assert_eq!(check.assert_ok()["integro"], false);
    assert_eq!(check.data()["prima_voce_alterata"], seq);
}

#[tokio::test]
async fn only_admins_read_the_trail() {
    let app = TestApp::spawn().await;
    for token in [app.client_token.clone(), app.operator_token.clone()] {
        let answer = app.call(Method::GET, "/admin/audit", &token, None).await;
        assert_eq!(answer.status, 403);
        assert_eq!(answer.error_code(), 904);
        assert_eq!(answer.body["data"], Value::Null);
    }
    let anonymous = app.call(Method::GET, "/admin/audit", "", None).await;
    assert_eq!(anonymous.status, 401);
}
