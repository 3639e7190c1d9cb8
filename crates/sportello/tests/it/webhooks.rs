//! The outbox of the real binary: a client and its webhook endpoint made on the command line,
//! the secret `client create` printed once, and a signed call arriving at a receiver on
//! 127.0.0.1 (allowed through the configuration, as an operator of a test setup would).
#![allow(clippy::unwrap_used)]

use crate::common;

use common::received::{read_request, Received};
use common::{free_port, stato_di_famiglia, Install, STATO_DI_FAMIGLIA};
use serde_json::json;
use sportello_server::outbox::signing;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// Accepts one connection, reads one request, answers 200.
async fn receive_one(listener: tokio::net::TcpListener) -> Received {
    let (mut socket, _) = listener.accept().await.unwrap();
    let received = read_request(&mut socket)
        .await
        .expect("the connection closed before the request ended");
    socket
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    received
}

#[tokio::test]
async fn the_endpoint_and_secret_given_on_the_command_line_receive_a_signed_call() {
    let install = Install::new();
    let port = free_port();
    let mut cmd = install.command();
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "serve"])
        .env("SPORTELLO_WEBHOOK_ALLOW_HTTP", "true")
        .env("SPORTELLO_WEBHOOK_ALLOW_HOSTS", r#"["127.0.0.1"]"#)
        .env("SPORTELLO_OUTBOX_INTERVAL_SECS", "1");
    let server = install.start_command(cmd, port).await;

    let created = install.run(&[
        "client",
        "create",
        "--name",
        "Acme",
        "--email",
        "x@example.com",
    ]);
    let client = created.ok().to_string();
    let secret = created
        .stderr
        .split_whitespace()
        .find(|w| w.starts_with("whsec_"))
        .unwrap()
        .to_string();
    let token = install
        .run(&["token", "create", "--client", &client])
        .ok()
        .to_string();
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", receiver.local_addr().unwrap());
    // Plain http is refused unless the configuration allows it, on the command line too.
    let refused = install.run(&["client", "webhook", &client, "--url", &url]);
    assert!(refused.failed().contains("https"), "{refused:#?}");
    let mut cmd = install.command();
    cmd.args(["client", "webhook", &client, "--url", &url])
        .env("SPORTELLO_WEBHOOK_ALLOW_HTTP", "true");
    let set = install.run_command(cmd);
    assert!(set.ok().contains(&url), "{set:#?}");

    let created = server
        .post(
            "/richiesta",
            &token,
            json!({"hash_visura": STATO_DI_FAMIGLIA, "json_visura": stato_di_famiglia()}),
        )
        .await;
    let id = created.ok()["_id"].as_str().unwrap().to_string();

    let started = Instant::now();
    let call = tokio::time::timeout(Duration::from_secs(30), receive_one(receiver))
        .await
        .unwrap_or_else(|_| panic!("no call within {:?}", started.elapsed()));
    assert_eq!(call.header("sportello-event"), "request.submitted");
    let key = signing::parse_secret(&secret).unwrap();
    assert!(signing::verify(
        &key,
        call.header("webhook-id"),
        call.header("webhook-timestamp").parse().unwrap(),
        &call.body,
        call.header("webhook-signature"),
    ));
    // The published client library, written apart from the server, agrees.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    sportello_client::webhook::verify(
        &secret,
        &sportello_client::webhook::Headers {
            id: call.header("webhook-id"),
            timestamp: call.header("webhook-timestamp"),
            signature: call.header("webhook-signature"),
        },
        &call.body,
        now,
    )
    .unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(envelope["data"]["_id"], json!(id));

    // A rotated secret is printed once, and the log shows the delivery.
    let rotated = install.run(&["client", "rotate-secret", &client]);
    assert!(rotated.ok().starts_with("whsec_") && rotated.ok() != secret);
    let log = server.get("/consegne", &token).await;
    assert_eq!(log.ok()[0]["canale"], json!("webhook"));
}
