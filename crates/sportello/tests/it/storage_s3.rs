//! Files in an S3-compatible bucket: the real binary configured for S3, against a real S3 server
//! (moto's server mode, from PyPI) started on 127.0.0.1 by the test. A whole request — input
//! files, a result, the result archive — goes through; the bucket, read directly over S3's
//! HTTP API, holds only ciphertext; the download streams.
#![allow(clippy::unwrap_used)]

use crate::common::s3::S3Server;
use crate::common::{free_port, Install};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Domanda Assegno Unico: three `file` fields ($5, $6, $7).
const ASSEGNO: &str = "224fcc49770edad354cdd9c480a7e50e";
const CF: &str = "RSSMRA85T10H501O";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A well-formed PDF carrying `tag`, padded with `pad` bytes of incompressible text.
fn pdf(tag: &str, pad: usize) -> Vec<u8> {
    let mut filler = String::with_capacity(pad);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while filler.len() < pad {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        filler.push_str(&format!("{x:016x}"));
    }
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {tag}\n% {filler}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// Every field of the service filled with a valid value; files are PDFs tagged by field.
fn form(service: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (key, campo) in service["json_struttura"]["campi"].as_object().unwrap() {
        let value = match campo["tipo"].as_str().unwrap() {
            "email" => "mario.rossi@example.com".to_string(),
            "data_iso8601" => "1985-12-10".to_string(),
            "codice_fiscale" | "codice_fiscale_persona_fisica" => CF.to_string(),
            "cod_provincia" => "RM".to_string(),
            "cod_comune" => "H501".to_string(),
            "file" => format!(
                "allegato.pdf|data:application/pdf;base64,{}",
                b64(&pdf(&format!("INPUT-SEGRETO-{key}"), 0))
            ),
            _ => "Mario".to_string(),
        };
        out.insert(key.clone(), Value::String(value));
    }
    Value::Object(out)
}

#[tokio::test]
async fn files_in_an_s3_bucket_are_ciphertext_and_the_result_streams_back() {
    let install = Install::new();
    let s3 = S3Server::start(install.path()).await;
    let port = free_port();
    let mut cmd = install.command();
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "serve"]);
    s3.configure(&mut cmd, "docs");
    let server = install.start_command(cmd, port).await;
    let (client, operator) = server.demo_tokens().unwrap();

    // Ready means the bucket takes a write.
    server.get("/readyz", &client).await.ok();

    let service = server.get(&format!("/visure/{ASSEGNO}"), &client).await;
    let json_visura = form(service.ok());
    let created = server
        .post(
            "/richiesta",
            &client,
            json!({"hash_visura": ASSEGNO, "json_visura": json_visura}),
        )
        .await;
    let id = created.ok()["_id"].as_str().unwrap().to_string();
    server
        .post(
            &format!("/operator/requests/{id}/claim"),
            &operator,
            json!({}),
        )
        .await
        .ok();
    // Sealed, larger than one 5 MiB part: it goes up as an S3 multipart upload.
    let result = pdf("RISULTATO-SEGRETO", 6 * 1024 * 1024);
    server
        .post(
            &format!("/operator/requests/{id}/results"),
            &operator,
            json!({"nome": "isee.pdf", "file": b64(&result)}),
        )
        .await
        .ok();
    server
        .post(
            &format!("/operator/requests/{id}/close"),
            &operator,
            json!({"esito": {"codice": "0", "info": "OK"}}),
        )
        .await
        .ok();
    // The operator reads the result back: out of the bucket, opened, byte for byte.
    let detail = server
        .get(&format!("/operator/requests/{id}"), &operator)
        .await;
    let file_id = detail.ok()["risultati"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = server
        .http
        .get(format!(
            "{}/operator/requests/{id}/files/{file_id}",
            server.base
        ))
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.bytes().await.unwrap().to_vec(), result);

    // Nothing went to the local directory; the bucket holds every file, sealed.
    assert!(!install.data_dir().join("files").exists());
    let objects = s3.objects().await;
    // Three inputs, the result, the result archive (the readiness probe cleans up after itself).
    assert!(
        objects.len() >= 5,
        "{:?}",
        objects.iter().map(|o| &o.0).collect::<Vec<_>>()
    );
    // A file stored in the clear starts with its type's magic bytes; searched for anywhere, four
    // bytes turn up by chance in 3 MB of ciphertext about once in a thousand runs.
    let magic: [&[u8]; 2] = [b"%PDF", b"PK\x03\x04"];
    let secrets: [&[u8]; 5] = [
        CF.as_bytes(),
        b"Mario",
        b"INPUT-SEGRETO",
        b"RISULTATO-SEGRETO",
        b"mario.rossi@example.com",
    ];
    let mut largest = (0, String::new());
    for (key, bytes, etag) in &objects {
        assert!(
            key.starts_with("docs/"),
            "{key} is outside the configured prefix"
        );
        for m in magic {
            assert!(
                !bytes.starts_with(m),
                "object {key} is a plaintext {:?} file",
                String::from_utf8_lossy(m)
            );
        }
        for secret in secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret),
                "object {key} holds plaintext {:?}",
                String::from_utf8_lossy(secret)
            );
        }
        if bytes.len() > largest.0 {
            largest = (bytes.len(), etag.clone());
        }
    }
    assert!(
        largest.0 > 6 * 1024 * 1024,
        "the sealed result is not in the bucket: {:?}",
        objects
            .iter()
            .map(|(k, b, _)| (k, b.len()))
            .collect::<Vec<_>>()
    );
    // A multipart upload's ETag is the digest of its parts' digests, then `-` and their count.
    assert!(
        largest.1.trim_matches('"').ends_with("-2"),
        "the large result was not uploaded in two parts: ETag {}",
        largest.1
    );

    // The archive comes back streamed: in many chunks, the same bytes as the base64 answer.
    let res = server
        .http
        .get(format!("{}/documento/{id}/download", server.base))
        .bearer_auth(&client)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let length: usize = res.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut res = res;
    let (mut chunks, mut streamed) = (0, Vec::new());
    while let Some(chunk) = res.chunk().await.unwrap() {
        chunks += 1;
        streamed.extend_from_slice(&chunk);
    }
    assert_eq!(streamed.len(), length);
    assert!(chunks > 1, "the download arrived in one piece");
    assert!(streamed.starts_with(b"PK\x03\x04"));
    let whole = server.get(&format!("/documento/{id}"), &client).await;
    let file = whole.ok()["file"].as_str().unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(file)
            .unwrap(),
        streamed
    );
}
