//! The binary across restarts: what a first start prints, and that an accepted request survives
//! the process being killed outright.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{stato_di_famiglia, Install, STATO_DI_FAMIGLIA};
use serde_json::json;

#[tokio::test]
async fn first_start_prints_the_demo_tokens_once_and_they_keep_working() {
    let install = Install::new();
    let server = install.start().await;
    let (client, operator) = server
        .demo_tokens()
        .unwrap_or_else(|| panic!("no demo tokens on stdout:\n{}", server.stdout()));
    assert!(client.starts_with("spt_live_"), "{client}");
    let test = server.demo_test_token().unwrap();
    assert!(test.starts_with("spt_test_"), "{test}");
    assert!(operator.starts_with("spt_op_"), "{operator}");

    let services = server.get("/visure", &client).await;
    assert_eq!(services.ok().as_array().unwrap().len(), 8);
    server.get("/operator/requests", &operator).await.ok();
    server.kill();

    let again = install.start().await;
    assert_eq!(again.demo_tokens(), None, "{}", again.stdout());
    assert!(!again.stdout().contains("spt_"), "{}", again.stdout());
    assert_eq!(
        again
            .get("/visure", &client)
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        8
    );
    again.get("/operator/requests", &operator).await.ok();
}

#[tokio::test]
async fn an_accepted_request_survives_kill_9() {
    let install = Install::new();
    let server = install.start().await;
    let (client, _) = server.demo_tokens().unwrap();

    let created = server
        .post(
            "/richiesta",
            &client,
            json!({"hash_visura": STATO_DI_FAMIGLIA, "json_visura": stato_di_famiglia()}),
        )
        .await;
    let before = created.ok().clone();
    let id = before["_id"].as_str().unwrap().to_string();
    server.kill();

    let server = install.start().await;
    let after = server.get(&format!("/richiesta/{id}"), &client).await;
    let after = after.ok();
    assert_eq!(after["_id"], before["_id"]);
    assert_eq!(after["hash_visura"], STATO_DI_FAMIGLIA);
    assert_eq!(after["state"], before["state"]);
    assert_eq!(after["stato_richiesta"], before["stato_richiesta"]);
    assert_eq!(after["stato_richiesta"], "In erogazione");
    assert_eq!(after["timestamp_stati"], before["timestamp_stati"]);
}

#[cfg(unix)]
#[tokio::test]
async fn sigterm_stops_the_server_cleanly_and_it_starts_again() {
    let install = Install::new();
    let server = install.start().await;
    let (client, _) = server.demo_tokens().unwrap();
    let stopped = server.terminate();
    assert!(stopped.status.success(), "{stopped:#?}");
    assert!(stopped.stderr.contains("stopped"), "{stopped:#?}");

    let server = install.start().await;
    server.get("/visure", &client).await.ok();
}

#[tokio::test]
async fn a_first_start_on_a_busy_port_fails_clearly_and_keeps_the_tokens_for_the_next() {
    let install = Install::new();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = busy.local_addr().unwrap().to_string();
    let run = install.run(&["--listen", &address, "serve"]);
    let err = run.failed();
    assert!(err.contains(&format!("listening on {address}")), "{run:#?}");
    assert!(!run.stdout.contains("spt_"), "{run:#?}");

    let server = install.start().await;
    let (client, _) = server
        .demo_tokens()
        .unwrap_or_else(|| panic!("no demo tokens on stdout:\n{}", server.stdout()));
    server.get("/visure", &client).await.ok();
    assert!(
        server.stdout().contains(&format!("{}/visure", server.base)),
        "the curl example names another address:\n{}",
        server.stdout()
    );
}
