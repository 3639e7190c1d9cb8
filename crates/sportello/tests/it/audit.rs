//! `sportello audit verify` as an administrator runs it: intact after normal use, and naming the
//! entry someone altered in the database.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use serde_json::json;
use sportello_store::audit::{chain_hash, AuditEvent};

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
        intact.ok().contains(
            "audit trail intact: 3 entries verified; keyed (HMAC-SHA256 under the audit key) from entry 1"
        ),
        "{intact:#?}"
    );
    let listed = install.run(&["audit", "list", "--request", &id]);
    assert!(listed.ok().contains("read_personal_data"), "{listed:#?}");
    assert!(!listed.stdout.contains("RSSMRA85T10H501O"));

    // Someone with write access to the database pretends another operator read the data, and
    // re-chains the entry (and the head) with the plain hash, which needs no key.
    let install = &install;
    let column = |c: &str| {
        let sql = format!("SELECT COALESCE(CAST({c} AS TEXT), '') FROM audit_log WHERE seq = 3");
        async move { install.query_strings(&sql).await.remove(0) }
    };
    let forged = AuditEvent {
        at: column("at").await.parse().unwrap(),
        actor: "operator:nobody".into(),
        action: column("action").await,
        request_id: Some(column("request_id").await),
        detail: column("detail").await,
        source: Some(column("source").await).filter(|s| !s.is_empty()),
    };
    let hash = chain_hash(&column("prev_hash").await, 3, &forged);
    install
        .execute_sql(&format!(
            "UPDATE audit_log SET actor = 'operator:nobody', hash = '{hash}' WHERE seq = 3"
        ))
        .await;
    install
        .execute_sql(&format!(
            "UPDATE audit_head SET hash = '{hash}' WHERE id = 1"
        ))
        .await;
    let broken = install.run(&["audit", "verify"]);
    assert!(
        broken
            .failed()
            .contains("audit trail broken at entry 3: it was re-chained without the audit key"),
        "{broken:#?}"
    );
}
