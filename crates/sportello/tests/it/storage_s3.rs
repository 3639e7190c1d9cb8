//! Files in an S3-compatible bucket: the real binary configured for S3, against a real S3 server
//! (moto's server mode, from PyPI) started on 127.0.0.1 by the test. A whole request — input
//! files, a result, the result archive — goes through; the bucket, read directly over S3's
//! HTTP API, holds only ciphertext; the download streams.
#![allow(clippy::unwrap_used)]

use crate::common::{free_port, Install};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Domanda Assegno Unico: three `file` fields ($5, $6, $7).
const ASSEGNO: &str = "224fcc49770edad354cdd9c480a7e50e";
const CF: &str = "RSSMRA85T10H501O";
const BUCKET: &str = "sportello-test";

/// A moto S3 server, killed on drop.
struct S3Server {
    child: Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3Server {
    /// Starts moto and creates the bucket. CI installs moto (`.ci/run`): if it cannot start,
    /// the test fails — a storage test that skips proves nothing.
    async fn start(dir: &std::path::Path) -> S3Server {
        let port = free_port();
        let log = std::fs::File::create(dir.join("moto.log")).unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("python3 is needed to run the moto S3 server (pip install 'moto[server]')");
        let mut server = S3Server {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "the moto S3 server exited ({status}); is `moto[server]` installed? log:\n{}",
                    std::fs::read_to_string(dir.join("moto.log")).unwrap_or_default()
                );
            }
            if http.get(&server.endpoint).send().await.is_ok() {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the moto S3 server did not answer on {} in a minute",
                server.endpoint
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let made = http
            .put(format!("{}/{BUCKET}", server.endpoint))
            .send()
            .await
            .unwrap();
        assert!(made.status().is_success(), "creating the bucket: {made:?}");
        server
    }

    /// Every object of the bucket, as stored, with its ETag: listed and read with an S3 client
    /// of its own, not through the server.
    async fn objects(&self) -> Vec<(String, Vec<u8>, String)> {
        use futures::TryStreamExt;
        use object_store::ObjectStore;
        let s3 = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(BUCKET)
            .with_endpoint(&self.endpoint)
            .with_region("eu-south-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .with_allow_http(true)
            .build()
            .unwrap();
        let listed: Vec<_> = s3.list(None).try_collect().await.unwrap();
        let mut out = Vec::new();
        for meta in listed {
            let bytes = s3.get(&meta.location).await.unwrap().bytes().await.unwrap();
            let etag = meta.e_tag.clone().unwrap_or_default();
            out.push((meta.location.to_string(), bytes.to_vec(), etag));
        }
        out
    }
}

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
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "serve"])
        .env("SPORTELLO_STORAGE_URL", format!("s3://{BUCKET}/docs"))
        .env("SPORTELLO_STORAGE_ENDPOINT", &s3.endpoint)
        .env("SPORTELLO_STORAGE_REGION", "eu-south-1")
        .env("SPORTELLO_STORAGE_ACCESS_KEY_ID", "testing")
        .env("SPORTELLO_STORAGE_SECRET_ACCESS_KEY", "testing")
        .env("SPORTELLO_STORAGE_ALLOW_HTTP", "true");
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
    let secrets: [&[u8]; 7] = [
        b"%PDF",
        b"PK\x03\x04",
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
