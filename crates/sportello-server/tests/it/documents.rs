//! Large result documents: `GET /documento/{id}` streams the commercial API's envelope with the
//! archive base64 inside, byte for byte what a whole-in-memory answer was; failures that can be
//! known before the first byte are still proper error answers.
#![allow(clippy::unwrap_used)]

use crate::backoffice::{action, demo_operator, page_of, Browser, PASSWORD};
use crate::common::*;
use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A well-formed PDF carrying `tag`, padded with `pad` bytes of pseudo-random text, so the
/// archive stays large after compression.
pub fn large_pdf(tag: &str, pad: usize) -> Vec<u8> {
    let mut filler = String::with_capacity(pad + 16);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D ^ tag.len() as u64;
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

/// The body of a GET, whole, with how many pieces it arrived in.
async fn fetch(
    app: &TestApp,
    path: &str,
) -> (
    reqwest::StatusCode,
    reqwest::header::HeaderMap,
    Vec<u8>,
    usize,
) {
    let mut res = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(&app.client_token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let (mut body, mut pieces) = (Vec::new(), 0);
    while let Some(chunk) = res.chunk().await.unwrap() {
        pieces += 1;
        body.extend_from_slice(&chunk);
    }
    (status, headers, body, pieces)
}

#[tokio::test]
async fn the_base64_document_streams_the_same_bytes_a_whole_answer_had() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(ASSEGNO).await;
    // About 2 MB of result, ~1 MB zipped: many 64 KiB chunks of the sealed archive.
    let result = large_pdf("esito", 2 * 1024 * 1024);
    app.work_to_the_end(
        &id,
        &[("esito.pdf", result.clone()), ("esito.pdf", pdf("bis"))],
    )
    .await;

    let (status, headers, archive, _) = fetch(&app, &format!("/documento/{id}/download")).await;
    assert_eq!(status, 200);
    let sha256 = hex::encode(Sha256::digest(&archive));
    assert_eq!(headers["x-checksum-sha256"].to_str().unwrap(), sha256);

    let (status, headers, body, pieces) = fetch(&app, &format!("/documento/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(
        headers["content-length"].to_str().unwrap(),
        body.len().to_string()
    );
    assert!(pieces > 1, "the answer arrived in one piece");
    // Exactly what serialising the whole envelope gives, members in the commercial API's order.
    let expected = format!(
        r#"{{"data":{{"nome":"{id}.zip","dimensione":{},"file":"{}","sha256":"{sha256}"}},"success":true,"message":"","error":null}}"#,
        archive.len(),
        b64(&archive)
    );
    assert!(body == expected.as_bytes(), "the streamed envelope differs");

    // Valid JSON, and the archive inside it opens with the results.
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    let file = base64::engine::general_purpose::STANDARD
        .decode(parsed["data"]["file"].as_str().unwrap())
        .unwrap();
    assert_eq!(hex::encode(Sha256::digest(&file)), parsed["data"]["sha256"]);
    assert_eq!(parsed["data"]["dimensione"], file.len());
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(file)).unwrap();
    let mut names = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let mut content = Vec::new();
        std::io::copy(&mut entry, &mut content).unwrap();
        names.push((entry.name().to_string(), content));
    }
    assert_eq!(names[0], ("esito.pdf".to_string(), result));
    assert_eq!(names[1], ("esito (2).pdf".to_string(), pdf("bis")));
}

#[tokio::test]
async fn refusals_come_before_the_first_byte_of_the_base64_document() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(FAMIGLIA).await;
    let not_ready = app.get(&format!("/documento/{id}")).await;
    assert_eq!(not_ready.status, 422);
    assert_eq!(not_ready.error_code(), 247);
    app.work_to_the_end(&id, &[("esito.pdf", pdf("x"))]).await;

    let stranger = app.new_client("estraneo").await;
    let other = app
        .call(Method::GET, &format!("/documento/{id}"), &stranger, None)
        .await;
    assert_eq!(other.status, 404);
    assert_eq!(other.error_code(), 244);

    // The stored archive is gone: opening it fails before the answer starts, so the client gets
    // the error envelope, not a 200 cut short.
    let stored = app
        .dir
        .path()
        .join(format!("files/requests/{id}/documento.zip"));
    std::fs::remove_file(&stored).unwrap();
    let lost = app.get(&format!("/documento/{id}")).await;
    assert_eq!(lost.status, 500);
    assert_eq!(lost.error_code(), 999);
}

#[tokio::test]
async fn a_result_uploaded_in_the_back_office_is_checked_measured_and_sealed_as_it_streams() {
    let app = TestApp::spawn_with(sportello_server::Limits {
        max_file_bytes: 3 * 1024 * 1024,
        ..Default::default()
    })
    .await;
    let id = app.submit_valid(FAMIGLIA).await;
    app.claim(&id).await;
    let email = demo_operator(&app).await;
    let mut b = Browser::new(&app);
    b.login(&email, PASSWORD).await;
    let path = page_of(&id);
    let stored = app.dir.path().join(format!("files/requests/{id}"));

    // Refusals store nothing: the wrong kind, too many pages (counted across the pieces), an
    // empty file, more than the limit (refused once the limit is passed).
    let csrf = b.get(&path).await.csrf();
    let mut many_pages = b"%PDF-1.7\n".to_vec();
    for _ in 0..501 {
        many_pages.extend_from_slice(b"<< /Type /Page >>\n");
    }
    let refusals: [(&[u8], StatusCode, &str); 4] = [
        (
            b"GIF89a not ours",
            StatusCode::PRECONDITION_FAILED,
            "file_type",
        ),
        (
            &many_pages,
            StatusCode::PRECONDITION_FAILED,
            "pdf_too_many_pages",
        ),
        (b"", StatusCode::BAD_REQUEST, "Scegli un file"),
        (
            &large_pdf("troppo", 3 * 1024 * 1024),
            StatusCode::PRECONDITION_FAILED,
            "file_too_large",
        ),
    ];
    let before = files_under(&stored);
    for (bytes, status, shown) in refusals {
        b.upload(&action(&id, "risultati"), &csrf, "x.pdf", bytes)
            .await
            .assert_shows(status, shown);
        assert_eq!(files_under(&stored), before, "a refused upload left a file");
    }

    // 2.5 MB: more than two parts of the local store.
    let result = large_pdf("caricato dal back office", 2_500_000);
    b.upload(
        &action(&id, "risultati"),
        &csrf,
        "esito finale.pdf",
        &result,
    )
    .await
    .assert_redirect(&format!("{path}?fatto=risultato"));
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{id}"), None)
        .await;
    let file = &detail.assert_ok()["risultati"][0];
    assert_eq!(file["nome"], "esito finale.pdf");
    assert_eq!(file["mime"], "application/pdf");
    assert_eq!(file["dimensione"], result.len());
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(&result)));

    // Sealed at rest, whole when read back.
    let written = files_under(&stored);
    assert_eq!(written.len(), before.len() + 1);
    for path in &written {
        let at_rest = std::fs::read(path).unwrap();
        assert!(!at_rest.windows(4).any(|w| w == b"%PDF"));
        assert!(!at_rest.windows(10).any(|w| w == b"caricato d"));
    }
    let res = app
        .http
        .get(format!(
            "{}/operator/requests/{id}/files/{}",
            app.base,
            file["id"].as_str().unwrap()
        ))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().to_vec(), result);
}
