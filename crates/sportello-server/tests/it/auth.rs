//! Bearer tokens over HTTP: missing, unknown, expired, revoked, out of scope, or of the wrong
//! role, each answered 401 or 403 in the envelope with our own error code.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::Method;
use serde_json::json;
use sportello_server::setup::{self, TokenSpec};
use sportello_store::Role;

fn client_token_spec(client_id: &str, scopes: Option<Vec<&str>>) -> TokenSpec {
    TokenSpec {
        role: Role::Client,
        client_id: Some(client_id.to_string()),
        operator_id: None,
        label: "auth test".into(),
        live: false,
        ttl_secs: None,
        scopes: scopes.map(|s| s.into_iter().map(String::from).collect()),
    }
}

fn assert_refused(answer: &Answer, status: u16, code: i64) {
    assert_eq!(answer.status, status, "{:#}", answer.body);
    assert_eq!(answer.error_code(), code, "{:#}", answer.body);
}

#[tokio::test]
async fn a_call_without_a_bearer_token_gets_401_900() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        (Method::GET, "/visure"),
        (Method::GET, "/richiesta"),
        (Method::POST, "/richiesta"),
        (Method::GET, "/documento/5f2829ce065afc21cc60ad0e"),
        (Method::GET, "/operator/requests"),
    ] {
        let answer = app
            .raw(
                app.http
                    .request(method.clone(), format!("{}{path}", app.base)),
            )
            .await;
        assert_refused(&answer, 401, 900);
    }
    // Basic credentials are not a bearer token, nor is an empty one.
    for header in ["Basic ZGVtbzpkZW1v", "Bearer ", "Bearer"] {
        let answer = app
            .raw(
                app.http
                    .get(format!("{}/visure", app.base))
                    .header("Authorization", header),
            )
            .await;
        assert_refused(&answer, 401, 900);
    }
}

#[tokio::test]
async fn an_unknown_token_gets_401_901() {
    let app = TestApp::spawn().await;
    for token in [
        "garbage",
        "spt_test_0000000000000000000000000000",
        "5f8711afe4754a532a7a8358",
    ] {
        assert_refused(
            &app.call(Method::GET, "/visure", token, None).await,
            401,
            901,
        );
        assert_refused(
            &app.call(
                Method::POST,
                "/richiesta",
                token,
                Some(json!({"hash_visura": ASSEGNO})),
            )
            .await,
            401,
            901,
        );
    }
    // The message does not echo the token.
    let answer = app
        .call(Method::GET, "/visure", "garbage-secret", None)
        .await;
    assert!(!answer.body.to_string().contains("garbage-secret"));
}

#[tokio::test]
async fn an_expired_token_gets_401_902() {
    let app = TestApp::spawn().await;
    let client = setup::create_client(&app.state, "Scadenza", "scadenza@example.com")
        .await
        .unwrap();
    let ttl = 3600;
    let token = app.token_for(&client.id, Some(ttl)).await;
    app.call(Method::GET, "/visure", &token, None)
        .await
        .assert_ok();

    app.clock.advance(ttl - 1);
    app.call(Method::GET, "/richiesta", &token, None)
        .await
        .assert_ok();

    app.clock.advance(2);
    assert_refused(
        &app.call(Method::GET, "/visure", &token, None).await,
        401,
        902,
    );
    assert_refused(
        &app.call(Method::GET, "/richiesta", &token, None).await,
        401,
        902,
    );
    // A token without a ttl is unaffected.
    app.get("/visure").await.assert_ok();
}

#[tokio::test]
async fn a_revoked_token_gets_401_903() {
    let app = TestApp::spawn().await;
    let client = setup::create_client(&app.state, "Revoca", "revoca@example.com")
        .await
        .unwrap();
    let issued = setup::issue_token(&app.state, client_token_spec(&client.id, None))
        .await
        .unwrap();
    let other = app.token_for(&client.id, None).await;
    app.call(Method::GET, "/visure", &issued.secret, None)
        .await
        .assert_ok();

    assert!(setup::revoke_token(&app.state, &issued.record.id)
        .await
        .unwrap());
    assert_refused(
        &app.call(Method::GET, "/visure", &issued.secret, None).await,
        401,
        903,
    );
    // The client's other tokens keep working.
    app.call(Method::GET, "/visure", &other, None)
        .await
        .assert_ok();
}

#[tokio::test]
async fn a_token_is_limited_to_its_scopes() {
    let app = TestApp::spawn().await;
    let client = setup::create_client(&app.state, "Scope", "scope@example.com")
        .await
        .unwrap();
    let read_catalog = setup::issue_token(
        &app.state,
        client_token_spec(&client.id, Some(vec!["GET:/visure"])),
    )
    .await
    .unwrap()
    .secret;
    app.call(Method::GET, "/visure", &read_catalog, None)
        .await
        .assert_ok();
    app.call(
        Method::GET,
        &format!("/visure/{ASSEGNO}"),
        &read_catalog,
        None,
    )
    .await
    .assert_ok();
    let post = app
        .call(
            Method::POST,
            "/richiesta",
            &read_catalog,
            Some(json!({"hash_visura": ASSEGNO, "test": true})),
        )
        .await;
    assert_refused(&post, 403, 904);
    assert!(post.body["message"]
        .as_str()
        .unwrap()
        .contains("POST:/richiesta"));
    assert_refused(
        &app.call(Method::GET, "/richiesta", &read_catalog, None)
            .await,
        403,
        904,
    );

    // The commercial API's scope spelling, with its host, works the same.
    let commercial = setup::issue_token(
        &app.state,
        client_token_spec(
            &client.id,
            Some(vec![
                "GET:visengine2.altravia.com/visure",
                "POST:visengine2.altravia.com/richiesta",
            ]),
        ),
    )
    .await
    .unwrap()
    .secret;
    app.call(Method::GET, "/visure", &commercial, None)
        .await
        .assert_ok();
    let visura = app
        .call(
            Method::GET,
            &format!("/visure/{ASSEGNO}"),
            &commercial,
            None,
        )
        .await;
    let created = app
        .call(
            Method::POST,
            "/richiesta",
            &commercial,
            Some(json!({"hash_visura": ASSEGNO, "json_visura": valid_json_visura(visura.assert_ok())})),
        )
        .await;
    let id = created.assert_ok()["_id"].as_str().unwrap().to_string();
    assert_refused(
        &app.call(Method::GET, &format!("/richiesta/{id}"), &commercial, None)
            .await,
        403,
        904,
    );
    assert_refused(
        &app.call(
            Method::DELETE,
            &format!("/richiesta/{id}"),
            &commercial,
            None,
        )
        .await,
        403,
        904,
    );
}

#[tokio::test]
async fn each_role_is_refused_on_the_other_roles_api() {
    let app = TestApp::spawn().await;
    let id = app.submit_valid(ASSEGNO).await;

    // An operator token on the client API.
    for (method, path) in [
        (Method::GET, "/visure".to_string()),
        (Method::GET, "/richiesta".to_string()),
        (Method::GET, format!("/richiesta/{id}")),
        (Method::GET, format!("/documento/{id}")),
    ] {
        let answer = app.call(method, &path, &app.operator_token, None).await;
        assert_refused(&answer, 403, 904);
    }
    let post = app
        .call(
            Method::POST,
            "/richiesta",
            &app.operator_token,
            Some(json!({"hash_visura": ASSEGNO, "test": true})),
        )
        .await;
    assert_refused(&post, 403, 904);

    // A client token on the operator API.
    for (method, path) in [
        (Method::GET, "/operator/requests".to_string()),
        (Method::GET, format!("/operator/requests/{id}")),
        (Method::POST, format!("/operator/requests/{id}/claim")),
    ] {
        let answer = app.call(method, &path, &app.client_token, None).await;
        assert_refused(&answer, 403, 904);
    }
    // The request is still untaken: the refused claim changed nothing.
    let r = app.get(&format!("/richiesta/{id}")).await;
    assert_eq!(r.assert_ok()["stato_richiesta"], "In erogazione");
    let cancelled = app
        .call(
            Method::DELETE,
            &format!("/richiesta/{id}"),
            &app.client_token,
            None,
        )
        .await;
    assert_eq!(cancelled.assert_ok()["stato_richiesta"], "Annullata");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    // RFC 9110 §11.1: the authentication scheme is case-insensitive.
    let app = TestApp::spawn().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let answer = app
            .raw(
                app.http
                    .get(format!("{}/visure", app.base))
                    .header("Authorization", format!("{scheme} {}", app.client_token)),
            )
            .await;
        answer.assert_ok();
    }
}

/// A token revoked behind this process's back (as another process would) stays trusted from
/// memory until `token_cache_secs` pass or this process revokes anything itself; with the cache
/// off, the revocation applies at once.
#[tokio::test]
async fn a_client_token_is_trusted_from_memory_until_a_revocation_here_or_its_time() {
    for cache_secs in [3600, 0] {
        let app = TestApp::spawn_with(sportello_server::Limits {
            token_cache_secs: cache_secs,
            ..Default::default()
        })
        .await;
        let client = setup::create_client(&app.state, "Cache", "cache@example.com")
            .await
            .unwrap();
        let issued = setup::issue_token(&app.state, client_token_spec(&client.id, None))
            .await
            .unwrap();
        let other = setup::issue_token(&app.state, client_token_spec(&client.id, None))
            .await
            .unwrap();
        app.call(Method::GET, "/visure", &issued.secret, None)
            .await
            .assert_ok();
        // Straight in the database, as the command line or another server would.
        app.state
            .store
            .revoke_token(&issued.record.id, app.state.clock.now())
            .await
            .unwrap();
        let after = app.call(Method::GET, "/visure", &issued.secret, None).await;
        if cache_secs == 0 {
            assert_refused(&after, 401, 903);
            continue;
        }
        after.assert_ok();
        // Any revocation made through this process forgets every cached caller.
        assert!(setup::revoke_token(&app.state, &other.record.id)
            .await
            .unwrap());
        assert_refused(
            &app.call(Method::GET, "/visure", &issued.secret, None).await,
            401,
            903,
        );
    }
}
