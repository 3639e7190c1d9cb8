//! Abuse limits over HTTP: rate limits per token and per address (429/918 with `Retry-After`),
//! files per submission, JSON nesting depth, image pixels and PDF pages. Each test starts a server
//! with small limits so a handful of requests reaches them.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::{header, Method, StatusCode};
use serde_json::{json, Map, Value};
use sportello_server::Limits;

/// Limits with both rate limits off, so only the limit under test can answer.
fn unlimited() -> Limits {
    Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 0,
        ..Limits::default()
    }
}

fn assegno() -> Map<String, Value> {
    json!({
        "$0": "Mario",
        "$1": "Rossi",
        "$2": "mario.rossi@example.com",
        "$3": "3331234567",
        "$4": CF,
        "$5": file_field("documento.pdf", &pdf("documento")),
        "$6": file_field("codice_fiscale.pdf", &pdf("cf")),
        "$7": file_field("mandato.pdf", &pdf("mandato")),
    })
    .as_object()
    .unwrap()
    .clone()
}

fn file_field(name: &str, bytes: &[u8]) -> String {
    format!("{name}|data:application/octet-stream;base64,{}", b64(bytes))
}

/// A PNG of `width`×`height`: signature and a complete `IHDR`, no pixel data (only the header is
/// read).
fn png_of(width: u32, height: u32) -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    v.extend_from_slice(b"IHDR");
    v.extend_from_slice(&width.to_be_bytes());
    v.extend_from_slice(&height.to_be_bytes());
    v.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    v
}

/// A JPEG with a JFIF segment and a baseline frame header of `width`×`height`.
fn jpeg_of(width: u16, height: u16) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
    v.extend_from_slice(b"JFIF\0");
    v.extend_from_slice(&[1, 1, 0, 0, 1, 0, 1, 0, 0]);
    v.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8]);
    v.extend_from_slice(&height.to_be_bytes());
    v.extend_from_slice(&width.to_be_bytes());
    v.extend_from_slice(&[1, 1, 0x11, 0, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
    v
}

/// A PDF with `pages` page objects under one page-tree node.
fn pdf_with_pages(pages: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n".to_vec();
    v.extend_from_slice(format!("2 0 obj << /Type /Pages /Count {pages} >> endobj\n").as_bytes());
    for n in 0..pages {
        v.extend_from_slice(
            format!("{} 0 obj << /Type /Page /Parent 2 0 R >> endobj\n", n + 3).as_bytes(),
        );
    }
    v.extend_from_slice(b"trailer << /Root 1 0 R >>\n%%EOF\n");
    v
}

async fn create(app: &TestApp, json_visura: Map<String, Value>) -> Answer {
    app.post(
        "/richiesta",
        json!({"hash_visura": ASSEGNO, "json_visura": json_visura}),
    )
    .await
}

/// Asserts a 412 whose `details` hold exactly one problem, and returns its (campo, codice).
fn only_problem(answer: &Answer, code: i64) -> (String, String) {
    assert_eq!(
        answer.status,
        StatusCode::PRECONDITION_FAILED,
        "{:#}",
        answer.body
    );
    assert_eq!(answer.error_code(), code);
    let details = answer.body["details"].as_array().unwrap();
    assert_eq!(details.len(), 1, "{:#}", answer.body);
    (
        details[0]["campo"].as_str().unwrap().to_string(),
        details[0]["codice"].as_str().unwrap().to_string(),
    )
}

/// Asserts 429/918 and returns the `Retry-After` seconds.
fn too_many(answer: &Answer) -> u64 {
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{:#}",
        answer.body
    );
    assert_eq!(answer.error_code(), 918);
    answer
        .headers
        .get(header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn raw_post(app: &TestApp, path: &str, token: &str, body: impl Into<String>) -> Answer {
    let body: String = body.into();
    app.raw(
        app.http
            .post(format!("{}{path}", app.base))
            .bearer_auth(token)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body),
    )
    .await
}

// --- rate limits ---

#[tokio::test]
async fn a_token_over_its_rate_is_answered_429_with_retry_after() {
    // 12 a minute: bursts of 2, then one every 5 seconds.
    let app = TestApp::spawn_with(Limits {
        rate_per_token_per_minute: 12,
        rate_per_ip_per_minute: 0,
        ..Limits::default()
    })
    .await;
    app.get("/visure").await.assert_ok();
    app.get("/richiesta").await.assert_ok();
    let refused = app.get("/visure").await;
    let retry = too_many(&refused);
    assert!((1..=5).contains(&retry), "Retry-After: {retry}");
    assert!(refused.body["message"]
        .as_str()
        .unwrap()
        .contains("too many requests"));
    // Every route counts, the unknown ones too.
    too_many(&app.get("/nowhere").await);
}

#[tokio::test]
async fn another_token_keeps_its_own_allowance() {
    let app = TestApp::spawn_with(Limits {
        rate_per_token_per_minute: 6,
        rate_per_ip_per_minute: 0,
        ..Limits::default()
    })
    .await;
    app.get("/visure").await.assert_ok();
    too_many(&app.get("/visure").await);

    let other = app.new_client("Altro CAF").await;
    app.call(Method::GET, "/visure", &other, None)
        .await
        .assert_ok();
    app.op(Method::GET, "/operator/requests", None)
        .await
        .assert_ok();
    too_many(&app.call(Method::GET, "/visure", &other, None).await);
}

#[tokio::test]
async fn unknown_tokens_are_limited_before_they_are_looked_up() {
    let app = TestApp::spawn_with(Limits {
        rate_per_token_per_minute: 6,
        rate_per_ip_per_minute: 0,
        ..Limits::default()
    })
    .await;
    let guess = app.call(Method::GET, "/visure", "sk_guess", None).await;
    assert_eq!(guess.status, StatusCode::UNAUTHORIZED);
    too_many(&app.call(Method::GET, "/visure", "sk_guess", None).await);
    // The scheme's case does not make it another token.
    let shouted = app
        .raw(
            app.http
                .get(format!("{}/visure", app.base))
                .header(header::AUTHORIZATION, "BEARER sk_guess"),
        )
        .await;
    too_many(&shouted);
}

#[tokio::test]
async fn an_address_over_its_rate_is_refused_whatever_the_token() {
    let app = TestApp::spawn_with(Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 12,
        ..Limits::default()
    })
    .await;
    let a = app.new_client("A").await;
    let b = app.new_client("B").await;
    app.call(Method::GET, "/visure", &a, None).await.assert_ok();
    app.call(Method::GET, "/visure", &b, None).await.assert_ok();
    let retry = too_many(&app.get("/visure").await);
    assert!((1..=5).contains(&retry), "Retry-After: {retry}");
    // Without any token, too.
    let anonymous = app.raw(app.http.get(format!("{}/visure", app.base))).await;
    too_many(&anonymous);
}

#[tokio::test]
async fn healthz_is_never_limited() {
    let app = TestApp::spawn_with(Limits {
        rate_per_token_per_minute: 6,
        rate_per_ip_per_minute: 6,
        ..Limits::default()
    })
    .await;
    app.get("/visure").await.assert_ok();
    too_many(&app.get("/visure").await);
    for _ in 0..20 {
        let health = app.raw(app.http.get(format!("{}/healthz", app.base))).await;
        assert_eq!(health.status, StatusCode::OK);
    }
    too_many(&app.get("/visure").await);
}

#[tokio::test]
async fn zero_disables_the_rate_limits() {
    let app = TestApp::spawn_with(unlimited()).await;
    // More than the default bursts (100 per token, 200 per address).
    for _ in 0..250 {
        app.get("/visure").await.assert_ok();
    }
}

#[tokio::test]
async fn the_default_limits_allow_an_honest_burst() {
    let app = TestApp::spawn().await;
    // 600 a minute per token: a burst of 100, then 10 a second (so a slow machine may get a few
    // more before the first refusal).
    let mut let_through = 0;
    let refused = loop {
        let answer = app.get("/visure").await;
        if answer.status != StatusCode::OK || let_through == 1000 {
            break answer;
        }
        let_through += 1;
    };
    too_many(&refused);
    assert!(let_through >= 100, "only {let_through} let through");
}

// --- files per request ---

#[tokio::test]
async fn more_files_than_the_limit_are_refused_on_post_with_250() {
    let app = TestApp::spawn_with(Limits {
        max_files_per_request: 2,
        ..unlimited()
    })
    .await;
    let refused = create(&app, assegno()).await;
    assert_eq!(
        only_problem(&refused, 250),
        ("json_visura".into(), "too_many_files".into())
    );
    assert!(refused.body["message"].as_str().unwrap().contains('2'));

    let mut two = assegno();
    two.remove("$7");
    create(&app, two).await.assert_ok();
}

#[tokio::test]
async fn more_files_than_the_limit_are_refused_on_put_with_229() {
    let app = TestApp::spawn_with(Limits {
        max_files_per_request: 2,
        ..unlimited()
    })
    .await;
    // A draft holds no more files than a submission could (412/250)…
    let refused = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": assegno(), "state": 0}),
        )
        .await;
    assert_eq!(
        only_problem(&refused, 250),
        ("json_visura".into(), "too_many_files".into())
    );
    let mut two = assegno();
    let third = two.remove("$7").unwrap();
    let draft = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": two, "state": 0}),
        )
        .await;
    let id = draft.assert_ok()["_id"].as_str().unwrap().to_string();
    // …nor does submitting it with one more.
    let path = format!("/richiesta/{id}");
    let refused = app
        .put(&path, json!({"json_visura.$7": third, "state": 1}))
        .await;
    assert_eq!(
        only_problem(&refused, 229),
        ("json_visura".into(), "too_many_files".into())
    );

    let submitted = app.put(&path, json!({"state": 1})).await;
    submitted.assert_ok();
}

// --- JSON depth ---

#[tokio::test]
async fn a_body_nested_deeper_than_the_limit_is_refused_with_905() {
    let app = TestApp::spawn_with(Limits {
        max_json_depth: 4,
        ..unlimited()
    })
    .await;
    let token = app.client_token.clone();
    // The body, `callback_data`, then three arrays in `data`: 5 levels.
    let deep = json!({"hash_visura": ASSEGNO, "json_visura": assegno(),
        "callback_data": {"url": "https://example.com/cb", "data": [[[1]]]}});
    let answer = raw_post(&app, "/richiesta", &token, deep.to_string()).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 905);
    assert!(answer.body["message"].as_str().unwrap().contains('4'));

    // A hundred thousand brackets are refused as cheaply, not parsed.
    let brackets = "[".repeat(100_000);
    let answer = raw_post(&app, "/richiesta", &token, brackets).await;
    assert_eq!(answer.error_code(), 905);

    // PUT reads its body the same way.
    let answer = app
        .raw(
            app.http
                .put(format!("{}/richiesta/{}", app.base, "0".repeat(24)))
                .bearer_auth(&token)
                .body("{\"a\":[[[[[1]]]]]}"),
        )
        .await;
    assert_eq!(answer.error_code(), 905);
}

#[tokio::test]
async fn brackets_inside_strings_do_not_count() {
    let app = TestApp::spawn_with(Limits {
        max_json_depth: 2,
        ..unlimited()
    })
    .await;
    let token = app.client_token.clone();
    // Within the limit: judged on its merits (an unknown service, 400/200).
    let body = r#"{"hash_visura": "[[[[{{{{ \"[[[[ \\", "opzioni": []}"#;
    let answer = raw_post(&app, "/richiesta", &token, body).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 200);

    // At exactly the limit, a real request goes through.
    let mut visura = assegno();
    visura.remove("$7");
    let body = json!({"hash_visura": ASSEGNO, "json_visura": visura, "opzioni": []});
    let answer = raw_post(&app, "/richiesta", &token, body.to_string()).await;
    answer.assert_ok();
}

// --- image pixels and PDF pages ---

#[tokio::test]
async fn an_image_over_the_pixel_cap_is_refused() {
    let app = TestApp::spawn_with(Limits {
        max_image_pixels: 10_000,
        ..unlimited()
    })
    .await;
    for (image, ok) in [
        (png_of(100, 100), true),
        (png_of(101, 100), false),
        (jpeg_of(200, 50), true),
        (jpeg_of(50, 201), false),
        (png_of(0x7FFF_FFFF, 0x7FFF_FFFF), false),
    ] {
        let mut visura = assegno();
        visura.insert("$5".into(), json!(file_field("foto", &image)));
        let answer = create(&app, visura).await;
        if ok {
            answer.assert_ok();
        } else {
            assert_eq!(
                only_problem(&answer, 250),
                ("$5".into(), "image_too_large".into())
            );
        }
    }
}

#[tokio::test]
async fn an_image_whose_header_cannot_be_read_is_refused_as_file_type() {
    let app = TestApp::spawn_with(unlimited()).await;
    let png = png_of(10, 10);
    let jpeg = jpeg_of(10, 10);
    for truncated in [&png[..16], &jpeg[..10]] {
        let mut visura = assegno();
        visura.insert("$6".into(), json!(file_field("scan", truncated)));
        let answer = create(&app, visura).await;
        assert_eq!(
            only_problem(&answer, 250),
            ("$6".into(), "file_type".into())
        );
    }
}

#[tokio::test]
async fn a_pdf_over_the_page_cap_is_refused() {
    let app = TestApp::spawn_with(Limits {
        max_pdf_pages: 3,
        ..unlimited()
    })
    .await;
    let mut visura = assegno();
    visura.insert(
        "$7".into(),
        json!(file_field("mandato.pdf", &pdf_with_pages(3))),
    );
    create(&app, visura.clone()).await.assert_ok();

    visura.insert(
        "$7".into(),
        json!(file_field("mandato.pdf", &pdf_with_pages(4))),
    );
    let answer = create(&app, visura).await;
    assert_eq!(
        only_problem(&answer, 250),
        ("$7".into(), "pdf_too_many_pages".into())
    );
}

#[tokio::test]
async fn an_operator_result_is_held_to_the_same_caps() {
    let app = TestApp::spawn_with(Limits {
        max_image_pixels: 10_000,
        max_pdf_pages: 3,
        ..unlimited()
    })
    .await;
    let mut visura = assegno();
    visura.remove("$7");
    let id = create(&app, visura).await.assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.claim(&id).await;
    let results = format!("/operator/requests/{id}/results");
    for (bytes, codice) in [
        (png_of(1000, 1000), "image_too_large"),
        (pdf_with_pages(4), "pdf_too_many_pages"),
    ] {
        let answer = app
            .op(
                Method::POST,
                &results,
                Some(json!({"nome": "esito", "file": b64(&bytes)})),
            )
            .await;
        assert_eq!(only_problem(&answer, 229), ("file".into(), codice.into()));
    }
    app.op(
        Method::POST,
        &results,
        Some(json!({"nome": "esito", "file": b64(&pdf_with_pages(3))})),
    )
    .await
    .assert_ok();
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in [
        "/visure",
        "/richiesta/000000000000000000000000",
        "/nowhere",
        "/docs/",
    ] {
        let resp = app
            .http
            .get(format!("{}{path}", app.base))
            .bearer_auth(&app.client_token)
            .send()
            .await
            .unwrap();
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        if path.starts_with("/docs") {
            assert!(csp.contains("script-src 'self'"), "{csp}");
        } else {
            assert!(csp.starts_with("default-src 'none'"), "{csp}");
            assert_eq!(h["cache-control"], "no-store", "{path}");
        }
    }
}
