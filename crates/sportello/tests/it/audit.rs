//! `sportello audit verify` as an administrator runs it: intact after normal use, and naming the
//! entry someone altered in the database.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn audit_verify_passes_after_normal_use_and_pinpoints_a_tampered_entry() {
    let install = Install::new();
    let server = install.start().await;
    let (client, operator) = server.demo_tokens().unwrap();
    let created = server
        .post(
            "/richiesta",
            &client,
            json!({"hash_visura": "4c84e22bbabd5f25b0102bb3bfe82790", "json_visura": stato_di_famiglia()}),
        )
        .await;
    let id = created.ok()["_id"].as_str().unwrap().to_string();
    server
        .get(&format!("/operator/requests/{id}"), &operator)
        .await
        .ok();
    server.terminate();

    // The demo's credit (entry 1, put in by the first start), the submission, the read.
    let intact = install.run(&["audit", "verify"]);
    assert!(
        intact
            .ok()
            .contains("audit trail intact: 3 entries verified"),
        "{intact:#?}"
    );
    let listed = install.run(&["audit", "list", "--request", &id]);
    assert!(listed.ok().contains("read_personal_data"), "{listed:#?}");
    assert!(!listed.stdout.contains("RSSMRA85T10H501O"));

    // Alter the read straight in the database.
    install
        .execute_sql("UPDATE audit_log SET at = at + 1 WHERE seq = 3")
        .await;
    let broken = install.run(&["audit", "verify"]);
    assert!(
        broken.failed().contains("audit trail broken at entry 3"),
        "{broken:#?}"
    );
}
