//! `purge` as an administrator runs it next to a live server: a dry run touches nothing, an
//! erasure request destroys one closed request's personal data, an open request is refused.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{stato_di_famiglia, Install, Server, STATO_DI_FAMIGLIA};
use serde_json::json;

async fn submit(server: &Server, client: &str) -> String {
    let created = server
        .post(
            "/richiesta",
            client,
            json!({"hash_visura": STATO_DI_FAMIGLIA, "json_visura": stato_di_famiglia()}),
        )
        .await;
    created.ok()["_id"].as_str().unwrap().to_string()
}

/// Brings the request to a final state: the operator cancels it (closing would need a result
/// file, which is not what these tests are about).
async fn close(server: &Server, operator: &str, id: &str) {
    server
        .post(
            &format!("/operator/requests/{id}/claim"),
            operator,
            json!({}),
        )
        .await
        .ok();
    server
        .post(
            &format!("/operator/requests/{id}/cancel"),
            operator,
            json!({"motivo": "documentazione incompleta"}),
        )
        .await
        .ok();
}

#[test]
fn a_dry_run_on_a_fresh_installation_finds_nothing() {
    let install = Install::new();
    let run = install.run(&["purge", "--dry-run"]);
    assert_eq!(run.ok(), "0 request(s)", "{run:#?}");
    let run = install.run(&["purge"]);
    assert_eq!(run.ok(), "0 request(s)", "{run:#?}");
}

#[tokio::test]
async fn nothing_recent_is_purged_by_retention() {
    let install = Install::new();
    let server = install.start().await;
    let (client, operator) = server.demo_tokens().unwrap();
    let id = submit(&server, &client).await;
    close(&server, &operator, &id).await;
    let request = server.get(&format!("/richiesta/{id}"), &client).await;
    assert_eq!(request.ok()["stato_richiesta"], "Annullata");

    // Closed today, kept for the service's retention_days: neither a dry run nor a real pass
    // touches it.
    assert_eq!(install.run(&["purge", "--dry-run"]).ok(), "0 request(s)");
    assert_eq!(install.run(&["purge"]).ok(), "0 request(s)");
    let request = server.get(&format!("/richiesta/{id}"), &client).await;
    assert_eq!(request.ok()["purged"], false);
}

#[tokio::test]
async fn an_erasure_request_purges_one_closed_request_while_the_server_runs() {
    let install = Install::new();
    let server = install.start().await;
    let (client, operator) = server.demo_tokens().unwrap();
    let id = submit(&server, &client).await;

    let open = install.run(&["purge", "--request", &id]);
    assert!(open.failed().contains("still open"), "{open:#?}");
    assert!(open.stderr.contains("cancel it first"), "{open:#?}");

    let unknown = install.run(&["purge", "--request", "nope"]);
    assert!(
        unknown.failed().contains("no request with id nope"),
        "{unknown:#?}"
    );

    close(&server, &operator, &id).await;
    let dry = install.run(&["purge", "--dry-run", "--request", &id]);
    assert_eq!(dry.ok(), format!("would purge {id}"));
    let request = server.get(&format!("/richiesta/{id}"), &client).await;
    assert_eq!(request.ok()["purged"], false, "a dry run purged");

    let purged = install.run(&["purge", "--request", &id]);
    assert_eq!(purged.ok(), format!("purged {id}"));
    let again = install.run(&["purge", "--request", &id]);
    assert_eq!(again.ok(), format!("{id} was already purged"));

    // The running server sees it at once: the request is still there for accounting, its
    // personal data is not.
    let request = server.get(&format!("/richiesta/{id}"), &client).await;
    let data = request.ok();
    assert_eq!(data["purged"], true, "{data:#}");
    assert_eq!(data["hash_visura"], STATO_DI_FAMIGLIA);
    let detail = server
        .get(&format!("/operator/requests/{id}"), &operator)
        .await;
    assert!(
        !detail.body.to_string().contains("RSSMRA85T10H501O"),
        "{:#}",
        detail.body
    );
}
