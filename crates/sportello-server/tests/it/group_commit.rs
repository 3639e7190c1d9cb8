//! Group commit: concurrent creations written in one SQLite transaction keep their own
//! outcomes. A refusal (no credit, a taken idempotency key) undoes only its own writes, and the
//! others of the same batch are committed.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};

#[tokio::test]
async fn one_batch_commits_its_successes_and_refuses_only_its_failures() {
    let app = TestApp::spawn().await;
    // SQLite only: group commit is how the embedded store shares one writer; PostgreSQL runs
    // concurrent transactions itself (the billing and idempotency races cover it there).
    if !app.db.is_sqlite() {
        return;
    }
    // Credit for two family certificates (48.80 each) and a bit, asked for four.
    let (poor, poor_token) = app.funded_client("povero", "100").await;
    let retry_token = app.new_client("ritentante").await;
    let visura = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let body =
        json!({"hash_visura": FAMIGLIA, "json_visura": valid_json_visura(visura.assert_ok())});

    // Another connection holds the write lock, so every creation below queues for the writer
    // and they are written together once it lets go.
    let db = app.dir.path().join("sportello.db");
    let mut blocker = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    blocker.execute("BEGIN IMMEDIATE").await.unwrap();

    let send = |token: &str, key: Option<&str>| {
        let mut request = app
            .http
            .post(format!("{}/richiesta", app.base))
            .bearer_auth(token)
            .json(&body);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let request = request.send();
        async move {
            let answer = request.await.unwrap();
            (answer.status(), answer.bytes().await.unwrap().to_vec())
        }
    };
    let credit = futures::future::join_all((0..4).map(|_| send(&poor_token, None)));
    let retries = futures::future::join_all((0..3).map(|_| send(&retry_token, Some("una-volta"))));
    let plain = futures::future::join_all((0..3).map(|_| send(&app.client_token, None)));
    let release = async {
        // Only an ordering aid: the answers cannot come before the lock is let go anyway.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        blocker.execute("COMMIT").await.unwrap();
    };
    let (credit, retries, plain, ()) = tokio::join!(credit, retries, plain, release);

    let mut statuses: Vec<u16> = credit.iter().map(|(s, _)| s.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 402, 402], "credit for two, not four");
    for (status, bytes) in credit.iter().filter(|(s, _)| *s != StatusCode::OK) {
        let refused: Value = serde_json::from_slice(bytes).unwrap();
        assert_eq!(refused["error"], 211, "{status}: {refused}");
    }
    for (status, bytes) in &retries {
        assert_eq!(
            *status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(bytes)
        );
        assert_eq!(bytes, &retries[0].1, "one key, one request, one answer");
    }
    for (status, bytes) in &plain {
        assert_eq!(
            *status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }

    let count = |token: String| {
        let app = &app;
        async move {
            let list = app.call(Method::GET, "/richiesta", &token, None).await;
            list.assert_ok().as_array().unwrap().len()
        }
    };
    assert_eq!(count(poor_token.clone()).await, 2);
    assert_eq!(count(retry_token.clone()).await, 1);
    assert_eq!(count(app.client_token.clone()).await, 3);
    assert_eq!(
        app.state.store.balance(&poor, None).await.unwrap(),
        10_000 - 2 * 4880,
        "only the two created requests were debited"
    );
    let books = app.state.store.check_ledger().await.unwrap();
    assert!(books.balanced(), "{:?}", books.problems);
    // The audit chain was extended by the committed creations only, in order.
    match sportello_server::service::audit::verify(&app.state)
        .await
        .unwrap()
    {
        Ok(v) => assert!(v.entries >= 6, "{} entries", v.entries),
        Err(broken) => panic!("audit chain broken at {}: {}", broken.seq, broken.reason),
    }
}
