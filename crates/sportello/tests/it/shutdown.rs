//! Graceful shutdown of the real binary: on SIGTERM it stops accepting, the upload in flight
//! completes, the outbox call in flight is abandoned at the end of the grace period and its
//! lease given back (so another process retries it at once), and the process exits 0.
#![allow(clippy::unwrap_used)]

use crate::common::{free_port, stato_di_famiglia, Install, STATO_DI_FAMIGLIA};
use base64::Engine;
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Domanda Assegno Unico: its $5 and $6 are files.
const ASSEGNO: &str = "224fcc49770edad354cdd9c480a7e50e";

fn pdf(pad: usize) -> String {
    let body = format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n% {}\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "x".repeat(pad)
    );
    format!(
        "allegato.pdf|data:application/pdf;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(body)
    )
}

#[tokio::test]
async fn sigterm_finishes_the_upload_in_flight_releases_leases_and_exits_0() {
    let install = Install::new();
    let port = free_port();
    // A callback receiver that takes the connection and never answers: the outbox's call is
    // still in flight when the server is told to stop.
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let callback = format!("http://{}/cb", receiver.local_addr().unwrap());
    let mut cmd = install.command();
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "serve"])
        .env("SPORTELLO_WEBHOOK_ALLOW_HTTP", "true")
        .env("SPORTELLO_WEBHOOK_ALLOW_HOSTS", r#"["127.0.0.1"]"#)
        .env("SPORTELLO_OUTBOX_INTERVAL_SECS", "1")
        .env("SPORTELLO_SHUTDOWN_GRACE_SECS", "10");
    let server = install.start_command(cmd, port).await;
    let (client, _) = server.demo_tokens().unwrap();

    server
        .post(
            "/richiesta",
            &client,
            json!({"hash_visura": STATO_DI_FAMIGLIA, "json_visura": stato_di_famiglia(),
                   "callback_data": {"url": callback, "method": "JSON"}}),
        )
        .await
        .ok();
    let (held, _) = tokio::time::timeout(Duration::from_secs(30), receiver.accept())
        .await
        .expect("the outbox did not call the receiver")
        .unwrap();

    // A large upload, sent in two halves around the signal.
    let service = server.get(&format!("/visure/{ASSEGNO}"), &client).await;
    let mut form = serde_json::Map::new();
    for (key, campo) in service.ok()["json_struttura"]["campi"].as_object().unwrap() {
        let v = match campo["tipo"].as_str().unwrap() {
            "file" => pdf(256 * 1024),
            "email" => "mario.rossi@example.com".into(),
            "data_iso8601" => "1985-12-10".into(),
            "codice_fiscale" | "codice_fiscale_persona_fisica" => "RSSMRA85T10H501O".into(),
            "cod_provincia" => "RM".into(),
            "cod_comune" => "H501".into(),
            _ => "Mario".into(),
        };
        form.insert(key.clone(), json!(v));
    }
    let body = serde_json::to_vec(&json!({"hash_visura": ASSEGNO, "json_visura": form})).unwrap();
    let head = format!(
        "POST /richiesta HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {client}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut upload = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // A first, complete request on the same connection proves the server has accepted it: a
    // connection still waiting in the listen backlog at SIGTERM would be reset, not served.
    upload
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    read_one_response(&mut upload).await;
    upload.write_all(head.as_bytes()).await.unwrap();
    let half = body.len() / 2;
    upload.write_all(&body[..half]).await.unwrap();
    upload.flush().await.unwrap();

    let pid = server.pid().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());

    // New connections are refused from now on.
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still accepting after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The upload in flight completes and is answered.
    upload.write_all(&body[half..]).await.unwrap();
    let mut answer = Vec::new();
    upload.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{answer}\n{}",
        server.stderr()
    );
    assert!(answer.contains("\"success\":true"), "{answer}");

    let run = tokio::task::spawn_blocking(move || server.wait())
        .await
        .unwrap();
    assert!(run.status.success(), "{run:#?}");
    assert!(run.stderr.contains("leases released"), "{}", run.stderr);
    drop(held);

    // The abandoned call's delivery is pending again, leased by nobody, its attempt unrecorded.
    let rows = install
        .query_strings(
            "SELECT status || '|' || COALESCE(lease_owner, '-') || '|' || CAST(attempts AS TEXT)
             FROM deliveries WHERE kind = 'callback'",
        )
        .await;
    assert_eq!(rows, vec!["pending|-|0"]);
    // And the upload was committed before the exit.
    let requests = install
        .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM requests")
        .await;
    assert_eq!(requests, vec!["2"]);
}

/// Reads one HTTP/1.1 response with a `content-length` body off `stream`, leaving the connection
/// open for the next request.
async fn read_one_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        assert_eq!(
            stream.read(&mut byte).await.unwrap(),
            1,
            "connection closed"
        );
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap();
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    head
}
