//! Request bodies over HTTP: each route refuses a body over its own limit with 413 before
//! reading it whole (with a `Content-Length`, and chunked without one), and a hostile body
//! within the limit is answered on its merits, its unread members skipped and its oversized
//! ones refused by name. The memory these take is measured by `sportello bench`, not here.
#![allow(clippy::unwrap_used)]

use crate::backoffice::{assegno, logged_in_operator, page_of, Browser};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_server::body::{FORM_BYTES, JSON_BYTES};
use sportello_server::Limits;

const NO_SUCH_ID: &str = "000000000000000000000000";

/// A body framed with its `Content-Length`, or chunked without one.
#[derive(Clone, Copy, Debug)]
enum Framing {
    Length,
    Chunked,
}

/// Sends `head` (the request line and headers, without the framing ones) and `body` over a
/// bare connection, writing while it reads: a server that answers before the body is read may
/// close the connection under a client still writing, which an ordinary client reports as an
/// error instead of the answer. Returns the status and the answer's body.
async fn exchange(app: &TestApp, head: &str, body: &[u8], framing: Framing) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let (mut read, mut write) = stream.into_split();
    let mut request = head.trim_end().to_string();
    let mut framed = Vec::new();
    match framing {
        Framing::Length => {
            request.push_str(&format!("\r\nContent-Length: {}", body.len()));
            framed.extend_from_slice(body);
        }
        Framing::Chunked => {
            request.push_str("\r\nTransfer-Encoding: chunked");
            for chunk in body.chunks(8 * 1024) {
                framed.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                framed.extend_from_slice(chunk);
                framed.extend_from_slice(b"\r\n");
            }
            framed.extend_from_slice(b"0\r\n\r\n");
        }
    }
    request.push_str("\r\nConnection: close\r\n\r\n");
    let writer = tokio::spawn(async move {
        let _ = write.write_all(request.as_bytes()).await;
        let _ = write.write_all(&framed).await;
        // Held until the answer is read: a half-closed connection is closed by the server.
        write
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    // Up to the end, or to the reset of a server that stopped reading.
    while let Ok(n) = read.read(&mut buf).await {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    writer.abort();
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn api_head(method: &str, path: &str, token: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json"
    )
}

#[track_caller]
fn assert_413_906(status: u16, body: &str, limit: usize) {
    assert_eq!(status, 413, "{body}");
    let envelope: Value = serde_json::from_str(body).unwrap();
    assert_eq!(envelope["error"], 906, "{envelope:#}");
    assert_eq!(envelope["success"], false);
    assert!(
        envelope["message"]
            .as_str()
            .unwrap()
            .contains(&limit.to_string()),
        "{envelope:#}"
    );
}

// --- limits per route ---

#[tokio::test]
async fn a_json_route_without_files_refuses_a_body_over_its_small_limit() {
    let app = TestApp::spawn().await;
    // A reason for cancelling, just over the limit of a JSON body without files.
    let body = json!({"motivo": "x".repeat(JSON_BYTES)}).to_string();
    for framing in [Framing::Length, Framing::Chunked] {
        let head = api_head(
            "DELETE",
            &format!("/richiesta/{NO_SUCH_ID}"),
            &app.client_token,
        );
        let (status, answer) = exchange(&app, &head, body.as_bytes(), framing).await;
        assert_413_906(status, &answer, JSON_BYTES);
    }
    // The operator API's small bodies too.
    let head = api_head(
        "POST",
        &format!("/operator/requests/{NO_SUCH_ID}/cancel"),
        &app.operator_token,
    );
    let (status, answer) = exchange(&app, &head, body.as_bytes(), Framing::Chunked).await;
    assert_413_906(status, &answer, JSON_BYTES);
    // Within it, the route judges the body on its merits: no such request.
    let small = app
        .call(
            Method::DELETE,
            &format!("/richiesta/{NO_SUCH_ID}"),
            &app.client_token,
            Some(json!({"motivo": "non serve più"})),
        )
        .await;
    assert_eq!(small.status, StatusCode::NOT_FOUND, "{:#}", small.body);
}

#[tokio::test]
async fn submissions_and_result_files_are_sized_by_the_file_limits() {
    // One file of 3000 bytes: its base64 (4000), an eighth more, a kilobyte for its name, and
    // 64 KiB for everything else.
    let app = TestApp::spawn_with(Limits {
        max_file_bytes: 3000,
        max_files_per_request: 1,
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 0,
        ..Limits::default()
    })
    .await;
    let limit = 4000 + 500 + 1024 + 64 * 1024;
    let over = json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "M".repeat(limit)}});
    for framing in [Framing::Length, Framing::Chunked] {
        let head = api_head("POST", "/richiesta", &app.client_token);
        let (status, answer) = exchange(&app, &head, over.to_string().as_bytes(), framing).await;
        assert_413_906(status, &answer, limit);
    }
    let head = api_head(
        "PUT",
        &format!("/richiesta/{NO_SUCH_ID}"),
        &app.client_token,
    );
    let put = json!({"json_visura.$0": "M".repeat(limit)}).to_string();
    let (status, answer) = exchange(&app, &head, put.as_bytes(), Framing::Chunked).await;
    assert_413_906(status, &answer, limit);
    // Under it, the submission is read and its fields judged (a name this long is not one).
    let under = json!({"hash_visura": ASSEGNO, "json_visura": {"$0": "M".repeat(limit - 1000)}});
    let judged = app.post("/richiesta", under).await;
    assert_eq!(
        judged.status,
        StatusCode::PRECONDITION_FAILED,
        "{:#}",
        judged.body
    );

    // The operator's result upload carries one file.
    let head = api_head(
        "POST",
        &format!("/operator/requests/{NO_SUCH_ID}/results"),
        &app.operator_token,
    );
    let result = json!({"nome": "esito.pdf", "file": "A".repeat(limit)}).to_string();
    let (status, answer) = exchange(&app, &head, result.as_bytes(), Framing::Length).await;
    assert_413_906(status, &answer, limit);
}

#[tokio::test]
async fn an_oversize_login_form_is_refused_with_413_before_it_is_read() {
    let app = TestApp::spawn().await;
    let mut form = "csrf=x&email=a%40b.it&password=".to_string();
    form.push_str(&"=&".repeat(FORM_BYTES / 2));
    for framing in [Framing::Length, Framing::Chunked] {
        let head = "POST /backoffice/login HTTP/1.1\r\nHost: localhost\r\n\
                    Content-Type: application/x-www-form-urlencoded";
        let (status, page) = exchange(&app, head, form.as_bytes(), framing).await;
        assert_eq!(status, 413, "{framing:?}: {page}");
        assert!(page.contains("troppo grande"), "{page}");
    }
}

#[tokio::test]
async fn a_back_office_form_over_its_limit_is_refused_with_413() {
    let app = TestApp::spawn().await;
    let id = assegno(&app).await;
    let mut browser: Browser = logged_in_operator(&app).await;
    let csrf = browser.get(&page_of(&id)).await.csrf();
    let cookies = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let head = format!(
        "POST {}/note HTTP/1.1\r\nHost: localhost\r\nCookie: {cookies}\r\n\
         Content-Type: application/x-www-form-urlencoded",
        page_of(&id)
    );
    let form = format!("csrf={csrf}&nota={}", "x".repeat(FORM_BYTES));
    let (status, page) = exchange(&app, &head, form.as_bytes(), Framing::Chunked).await;
    assert_eq!(status, 413, "{page}");
    assert!(page.contains("troppo grande"), "{page}");
    // A note of a normal length goes through.
    browser
        .act(
            &page_of(&id),
            &format!("{}/note", page_of(&id)),
            &[("nota", "Chiamato il cliente.")],
        )
        .await
        .assert_redirect(&page_of(&id));
}

// --- hostile bodies within the limit ---

#[tokio::test]
async fn members_no_route_reads_are_skipped_whatever_their_size() {
    let app = TestApp::spawn().await;
    // A million-element array under a name no route reads: the service is judged (unknown).
    let body = format!(
        r#"{{"hash_visura": "x", "p": [{}0], "test": true}}"#,
        "0,".repeat(1_000_000)
    );
    let answer = app
        .raw(
            app.http
                .post(format!("{}/richiesta", app.base))
                .bearer_auth(&app.test_token)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 200);
}

#[tokio::test]
async fn a_member_with_too_many_entries_is_refused_by_name() {
    let app = TestApp::spawn().await;
    let many: serde_json::Map<String, Value> =
        (0..2000).map(|i| (format!("${i}"), json!("x"))).collect();
    let refused = |answer: &Answer, campo: &str| {
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:#}", answer.body);
        assert_eq!(answer.error_code(), 915);
        assert_eq!(
            answer.body["details"][0]["campo"], campo,
            "{:#}",
            answer.body
        );
        assert_eq!(answer.body["details"][0]["codice"], "too_many_entries");
    };
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": many.clone()}),
        )
        .await;
    refused(&answer, "json_visura");
    // Sent as a string (double-encoded), the same.
    let encoded = Value::String(Value::Object(many.clone()).to_string());
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "json_visura": encoded}),
        )
        .await;
    refused(&answer, "json_visura");
    let options: Vec<String> = (0..2000).map(|i| format!("opzione_{i}")).collect();
    let answer = app
        .post(
            "/richiesta",
            json!({"hash_visura": ASSEGNO, "opzioni": options}),
        )
        .await;
    refused(&answer, "opzioni");
    // PUT's single members count together.
    let id = app
        .post("/richiesta", json!({"hash_visura": ASSEGNO, "state": 0}))
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    let dotted: serde_json::Map<String, Value> = (0..2000)
        .map(|i| (format!("json_visura.${i}"), json!("x")))
        .collect();
    let answer = app
        .put(&format!("/richiesta/{id}"), Value::Object(dotted))
        .await;
    refused(&answer, "json_visura");
}

#[tokio::test]
async fn callback_data_is_kept_to_a_tag_sized_document() {
    let app = TestApp::spawn().await;
    let service = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let visura = valid_json_visura(service.assert_ok());
    let with = |data: Value| {
        json!({"hash_visura": FAMIGLIA, "json_visura": visura.clone(), "state": 0,
               "callback_data": {"url": "https://receiver.example/cb", "data": data}})
    };
    let big: Vec<u32> = vec![0; 16 * 1024];
    let answer = app.post("/richiesta", with(json!(big))).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{:#}", answer.body);
    assert_eq!(answer.error_code(), 915);
    assert_eq!(answer.body["details"][0]["campo"], "callback_data.data");
    assert_eq!(
        answer.body["details"][0]["codice"],
        "callback_data_too_large"
    );
    // A tag comes back as it was sent, whatever its layout.
    let tag = json!({"pratica": "A-17", "righe": [1, 2, {"x": null}]});
    let created = app.post("/richiesta", with(tag.clone())).await;
    assert_eq!(created.assert_ok()["callback_data"]["data"], tag);
}

#[tokio::test]
async fn a_login_form_of_empty_pairs_within_the_limit_is_answered_as_any_forged_form() {
    let app = TestApp::spawn().await;
    let form = "=&".repeat(FORM_BYTES / 2 - 1);
    let head = "POST /backoffice/login HTTP/1.1\r\nHost: localhost\r\n\
                Content-Type: application/x-www-form-urlencoded";
    let (status, page) = exchange(&app, head, form.as_bytes(), Framing::Length).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("Il modulo non è più valido"), "{page}");
}
