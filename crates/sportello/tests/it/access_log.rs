//! The access log as an operator reads it on the server's standard error: one line per request
//! with the method, the route *template*, the status, the duration and the request id — the
//! same id as the answer's `x-request-id` and its error envelope — and never a path parameter
//! or a query value.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use serde_json::Value;

/// The `answered` lines logged (JSON format) for the request whose id is `id`.
fn answered(stderr: &str, id: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == "answered" && l["span"]["request_id"] == id)
        .collect()
}

#[tokio::test]
async fn each_request_is_logged_by_route_template_with_its_request_id() {
    let install = Install::new();
    let port = free_port();
    let mut cmd = install.command();
    cmd.env("SPORTELLO_LOG_FORMAT", "json")
        .env("SPORTELLO_TRUSTED_PROXIES", r#"["127.0.0.1"]"#)
        .args(["--listen", &format!("127.0.0.1:{port}"), "serve"]);
    let server = install.start_command(cmd, port).await;
    let (client, _) = server.demo_tokens().unwrap();

    // A request the caller names, for a request id that is not there, with a query value.
    let missing = "0123456789abcdef01234567";
    let answer = server
        .http
        .get(format!(
            "{}/richiesta/{missing}?segreto=RSSMRA85T10H501O",
            server.base
        ))
        .bearer_auth(&client)
        .header("x-request-id", "pratica-42.retry-1")
        .header("x-forwarded-for", "203.0.113.5")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    assert_eq!(answer.headers()["x-request-id"], "pratica-42.retry-1");
    let envelope: Value = answer.json().await.unwrap();
    assert_eq!(envelope["error"], 202);
    assert_eq!(envelope["request_id"], "pratica-42.retry-1");

    // No id, or one that is not sane: the server makes one up and says which.
    let mut made_up = Vec::new();
    for sent in [None, Some("two words \"quoted\"")] {
        let mut req = server
            .http
            .get(format!("{}/visure", server.base))
            .bearer_auth(&client);
        if let Some(sent) = sent {
            req = req.header("x-request-id", sent);
        }
        let answer = req.send().await.unwrap();
        assert_eq!(answer.status(), 200);
        let id = answer.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        made_up.push(id);
    }
    assert_ne!(made_up[0], made_up[1]);

    // The log is written as the answer leaves; give it a moment to reach the file.
    let mut log = server.stderr();
    for _ in 0..100 {
        if made_up.iter().all(|id| !answered(&log, id).is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        log = server.stderr();
    }

    let lines = answered(&log, "pratica-42.retry-1");
    assert_eq!(lines.len(), 1, "{log}");
    let line = &lines[0];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["route"], "/richiesta/{id}");
    assert_eq!(line["fields"]["status"], 404);
    assert!(line["fields"]["duration_ms"].as_f64().unwrap() >= 0.0);
    // Behind the trusted "proxy", the client's address.
    assert_eq!(line["fields"]["client"], "203.0.113.5");
    for id in &made_up {
        let lines = answered(&log, id);
        assert_eq!(lines.len(), 1, "{id}: {log}");
        assert_eq!(lines[0]["span"]["route"], "/visure");
    }
    // Neither the path's id nor the query's value is anywhere in the log.
    assert!(!log.contains(missing), "{log}");
    assert!(!log.contains("segreto"), "{log}");
    assert!(!log.contains("RSSMRA85T10H501O"), "{log}");
}
