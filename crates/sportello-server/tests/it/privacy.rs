//! A copy of our data leaks nothing: a full flow with a recognisable fake identity, then every
//! log line, the database file, its WAL and the files directory are searched for that identity
//! (plain, upper and lower case, base64) and nothing is found.
#![allow(clippy::unwrap_used)]

use crate::common;

use base64::Engine;
use common::*;
use reqwest::Method;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Everything logged by this test binary.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The needles: the identity as typed, in both cases, and in base64 at each alignment.
fn needles(secrets: &[&str]) -> Vec<Vec<u8>> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut out = Vec::new();
    for s in secrets {
        out.push(s.as_bytes().to_vec());
        out.push(s.to_uppercase().into_bytes());
        out.push(s.to_lowercase().into_bytes());
        for pad in ["", "x", "xx"] {
            let encoded = engine.encode(format!("{pad}{s}"));
            // Drop the characters that depend on the padding or on what follows.
            let skip = if pad.is_empty() { 0 } else { 4 };
            let inner = &encoded[skip..encoded.len().saturating_sub(4)];
            if inner.len() >= 8 {
                out.push(inner.as_bytes().to_vec());
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_copy_of_the_data_directory_and_the_logs_reveal_no_personal_data() {
    let logs = Captured::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish(),
    )
    .unwrap();

    let app = TestApp::spawn().await;
    let name = "Zebedeo";
    let surname = "Quagliarulo";
    let email = "zebedeo.quagliarulo@example.com";
    let phone = "+39 347 9182736";
    let cf = "QGLZBD80A01H501G";
    let scan = "ZEBEDEO-QUAGLIARULO-CARTA-IDENTITA-SCAN";
    let result_text = "ESITO-ASSEGNO-ZEBEDEO-RISERVATO";
    let file =
        |tag: &str, name: &str| format!("{name}|data:application/pdf;base64,{}", b64(&pdf(tag)));
    let created = app
        .post(
            "/richiesta",
            json!({
                "hash_visura": ASSEGNO,
                "json_visura": {
                    "$0": name, "$1": surname, "$2": email, "$3": phone, "$4": cf,
                    "$5": file(scan, "quagliarulo_documento.pdf"),
                    "$6": file(scan, "quagliarulo_cf.pdf"),
                    "$7": file(scan, "quagliarulo_mandato.pdf"),
                },
                "email_target": email,
                "callback_data": {"url": "https://client.example.com/hook", "data": {"pratica": surname}},
            }),
        )
        .await;
    let id = created.assert_ok()["_id"].as_str().unwrap().to_string();

    // The operator reads everything, asks for integration, the client answers, the operator
    // closes with a result naming the person.
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let values: Vec<String> = detail.assert_ok()["campi"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["valore"].as_str().map(str::to_string))
        .collect();
    assert!(
        values.contains(&cf.to_string()),
        "the operator reads the values back"
    );
    app.claim(&id).await;
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/integration"),
        Some(json!({"messaggio": format!("Serve il mandato firmato da {name} {surname}"), "campi": ["$7"]})),
    )
    .await
    .assert_ok();
    app.put(
        &format!("/richiesta/{id}"),
        json!({"json_visura.$7": file(scan, "quagliarulo_mandato_firmato.pdf")}),
    )
    .await
    .assert_ok();
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/results"),
        Some(json!({"nome": "esito_quagliarulo.pdf", "file": b64(&pdf(result_text))})),
    )
    .await
    .assert_ok();
    app.op(
        Method::POST,
        &format!("/operator/requests/{id}/close"),
        None,
    )
    .await
    .assert_ok();
    let doc = app.get(&format!("/documento/{id}")).await;
    doc.assert_ok();

    // What a user sees is intact...
    let zip = base64::engine::general_purpose::STANDARD
        .decode(doc.data()["file"].as_str().unwrap())
        .unwrap();
    assert!(!zip.is_empty());

    // ...and what is at rest or in the logs is not readable.
    let secrets = [
        name,
        surname,
        email,
        phone,
        cf,
        scan,
        result_text,
        "quagliarulo_documento",
        "esito_quagliarulo",
    ];
    let needles = needles(&secrets);
    // The search finds the identity where it is legitimately readable: in an API answer, and in
    // the base64 form a client sends.
    let answer = serde_json::to_vec(&detail.body).unwrap();
    assert!(needles.iter().any(|n| contains(&answer, n)));
    let sent = file(scan, "x.pdf").into_bytes();
    assert!(needles
        .iter()
        .any(|n| !n.starts_with(b"ZEBEDEO") && contains(&sent, n)));
    let mut haystacks: Vec<(String, Vec<u8>)> = files_under(app.dir.path())
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    if app.db.is_sqlite() {
        assert!(
            haystacks
                .iter()
                .any(|(p, _)| p.ends_with("sportello.db-wal")),
            "the WAL is searched too"
        );
    } else {
        // The server's files are out of reach: every row of every table, as text, instead.
        haystacks.push(("the database".into(), app.db.dump().await));
    }
    haystacks.push(("logs".into(), logs.0.lock().unwrap().clone()));
    assert!(
        !haystacks.last().unwrap().1.is_empty(),
        "logs were captured"
    );
    for (place, bytes) in &haystacks {
        for needle in &needles {
            assert!(
                !contains(bytes, needle),
                "{place} contains {:?}",
                String::from_utf8_lossy(needle)
            );
        }
    }
}
