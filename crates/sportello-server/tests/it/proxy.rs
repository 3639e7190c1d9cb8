//! Behind a reverse proxy: with `trusted_proxies` naming the proxy, the client's address comes
//! from `X-Forwarded-For` / `Forwarded`, and the rate limits and the audit trail use it; from
//! any other peer those headers are ignored. The harness's peer is 127.0.0.1: trusting it makes
//! the test client a proxy.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::{Method, StatusCode};
use sportello_server::client_addr::TrustedProxies;
use sportello_server::Limits;

/// Two requests per address in a burst (12 a minute), no per-token limit, the given proxies.
fn limits(trusted: &[&str]) -> Limits {
    Limits {
        rate_per_token_per_minute: 0,
        rate_per_ip_per_minute: 12,
        trusted_proxies: TrustedProxies::parse(trusted).unwrap(),
        ..Limits::default()
    }
}

/// `GET /visure` as the demo client, with one forwarding header.
async fn visure_via(app: &TestApp, header: &str, value: &str) -> StatusCode {
    app.raw(
        app.http
            .get(format!("{}/visure", app.base))
            .bearer_auth(&app.client_token)
            .header(header, value),
    )
    .await
    .status
}

#[tokio::test]
async fn two_clients_behind_a_trusted_proxy_have_their_own_buckets() {
    let app = TestApp::spawn_with(limits(&["127.0.0.1"])).await;
    let xff = "x-forwarded-for";
    assert_eq!(visure_via(&app, xff, "203.0.113.1").await, StatusCode::OK);
    assert_eq!(visure_via(&app, xff, "203.0.113.1").await, StatusCode::OK);
    assert_eq!(
        visure_via(&app, xff, "203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another client behind the same proxy still has its whole burst…
    assert_eq!(visure_via(&app, xff, "203.0.113.2").await, StatusCode::OK);
    // …also when the proxy says so in RFC 7239's words.
    assert_eq!(
        visure_via(&app, "forwarded", "for=203.0.113.2;proto=https").await,
        StatusCode::OK
    );
    assert_eq!(
        visure_via(&app, xff, "203.0.113.2").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A client cannot get a fresh bucket by writing a hop of its own: the proxy appended its
    // real address after it, and that is the one used.
    assert_eq!(
        visure_via(&app, xff, "198.51.100.77, 203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn the_same_headers_from_an_untrusted_peer_are_ignored() {
    // By default no proxy is trusted; a list that does not hold the peer is the same.
    for trusted in [&[][..], &["10.0.0.0/8", "::1"][..]] {
        let app = TestApp::spawn_with(limits(trusted)).await;
        assert_eq!(
            visure_via(&app, "x-forwarded-for", "203.0.113.1").await,
            StatusCode::OK
        );
        assert_eq!(
            visure_via(&app, "forwarded", "for=203.0.113.2").await,
            StatusCode::OK
        );
        // Whatever the headers say, it is 127.0.0.1 asking a third time.
        assert_eq!(
            visure_via(&app, "x-forwarded-for", "203.0.113.3").await,
            StatusCode::TOO_MANY_REQUESTS,
            "trusted: {trusted:?}"
        );
    }
}

/// The operator reads the request through a "proxy" that forwards for `forwarded_for`; returns
/// the origin the audit trail recorded for that read.
async fn origin_of_a_read(app: &TestApp, forwarded_for: &str) -> String {
    let id = app.submit_valid(FAMIGLIA).await;
    let read = app
        .raw(
            app.http
                .get(format!("{}/operator/requests/{id}", app.base))
                .bearer_auth(&app.operator_token)
                .header("x-forwarded-for", forwarded_for),
        )
        .await;
    read.assert_ok();
    let admin = app.admin_token().await;
    let trail = app
        .call(
            Method::GET,
            &format!("/admin/audit?request_id={id}"),
            &admin,
            None,
        )
        .await;
    let entries = trail.assert_ok().as_array().unwrap().clone();
    let read = entries
        .iter()
        .find(|e| e["azione"] == "read_personal_data")
        .expect("the read is audited");
    read["origine"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_audit_trail_records_the_forwarded_address_of_a_trusted_proxy_only() {
    let behind = TestApp::spawn_with(Limits {
        trusted_proxies: TrustedProxies::parse(&["127.0.0.0/8"]).unwrap(),
        ..Limits::default()
    })
    .await;
    assert_eq!(
        origin_of_a_read(&behind, "198.51.100.9, 203.0.113.7").await,
        "203.0.113.7"
    );

    let direct = TestApp::spawn().await;
    assert_eq!(origin_of_a_read(&direct, "203.0.113.7").await, "127.0.0.1");
}
