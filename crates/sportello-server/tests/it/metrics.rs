//! `GET /metrics`: what a Prometheus server scraping the app sees after some traffic.
#![allow(clippy::unwrap_used)]

use crate::common::{valid_json_visura, TestApp, FAMIGLIA};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sportello_server::service::sla;
use sportello_server::setup::{self, TokenSpec};
use sportello_store::Role;
use std::collections::BTreeMap;

/// An administrator token that may read the metrics and nothing else, as a Prometheus server
/// is configured with.
async fn scraper_token(app: &TestApp) -> String {
    setup::issue_token(
        &app.state,
        TokenSpec {
            role: Role::Admin,
            client_id: None,
            operator_id: None,
            label: "prometheus".into(),
            live: false,
            ttl_secs: None,
            scopes: Some(vec!["GET:/metrics".into()]),
        },
    )
    .await
    .unwrap()
    .secret
}

/// One sample of the exposition: its name, labels and value.
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_string(), v.trim_matches('"').to_string())
                })
                .collect();
            Sample {
                name: name.to_string(),
                labels,
                value: value.parse().unwrap(),
            }
        })
        .collect()
}

/// The value of the one series named `name` carrying `labels` (others may be present).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} matches {found:?}");
    found.first().copied()
}

async fn scrape(app: &TestApp, token: &str) -> (String, Vec<Sample>) {
    let res = app
        .http
        .get(format!("{}/metrics", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let kind = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = res.text().await.unwrap();
    let samples = parse(&text);
    (text, samples)
}

#[tokio::test]
async fn a_scrape_shows_requests_by_route_and_status_latencies_and_the_queues() {
    let app = TestApp::spawn().await;
    let token = scraper_token(&app).await;

    for _ in 0..3 {
        app.get("/visure").await.assert_ok();
    }
    let unknown = ["0123456789abcdef01234567", "fedcba9876543210fedcba98"];
    for id in unknown {
        assert_eq!(
            app.get(&format!("/richiesta/{id}")).await.status,
            StatusCode::NOT_FOUND
        );
    }
    // One request goes overdue; another waits with a callback due in the outbox.
    let late = app.submit_valid(FAMIGLIA).await;
    app.clock.advance(90 * 86_400);
    assert_eq!(sla::escalate(&app.state).await.unwrap(), vec![late.clone()]);
    let service = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let with_callback = app
        .post(
            "/richiesta",
            json!({"hash_visura": FAMIGLIA,
                   "json_visura": valid_json_visura(service.assert_ok()),
                   "callback_data": {"url": "https://receiver.example/cb", "method": "JSON"}}),
        )
        .await;
    let with_callback = with_callback.assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();

    let (text, samples) = scrape(&app, &token).await;
    let requests = "sportello_http_requests_total";
    assert_eq!(
        value(
            &samples,
            requests,
            &[("method", "GET"), ("route", "/visure"), ("status", "200")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("method", "GET"),
                ("route", "/richiesta/{id}"),
                ("status", "404")
            ]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("method", "POST"),
                ("route", "/richiesta"),
                ("status", "200")
            ]
        ),
        Some(2.0),
        "{text}"
    );
    // Route templates only: no id, requested or created, appears anywhere.
    for id in unknown
        .iter()
        .chain([&late.as_str(), &with_callback.as_str()])
    {
        assert!(!text.contains(id), "{id} in\n{text}");
    }
    // Latency histograms, per route, with buckets a Prometheus histogram_quantile can use.
    let latency = "sportello_http_request_duration_seconds";
    assert_eq!(
        value(
            &samples,
            &format!("{latency}_count"),
            &[("method", "GET"), ("route", "/visure")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            &format!("{latency}_bucket"),
            &[("method", "GET"), ("route", "/visure"), ("le", "+Inf")]
        ),
        Some(3.0),
        "{text}"
    );
    assert!(value(&samples, &format!("{latency}_sum"), &[("route", "/visure")]).unwrap() > 0.0);
    // The queues, read from the store.
    let open = "sportello_requests_open";
    assert_eq!(
        value(&samples, open, &[("state", "in_erogazione")]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(&samples, open, &[("state", "in_attesa_integrazione")]),
        Some(0.0)
    );
    assert_eq!(
        value(&samples, "sportello_requests_overdue", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&samples, "sportello_outbox_due", &[]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(&samples, "sportello_outbox_pending", &[]),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("# HELP sportello_requests_open"), "{text}");

    // The scrape itself is counted, under its own route.
    let (_, again) = scrape(&app, &token).await;
    assert_eq!(
        value(
            &again,
            requests,
            &[("route", "/metrics"), ("status", "200")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn only_an_admin_token_reads_the_metrics() {
    let app = TestApp::spawn().await;
    let anonymous = app.http.get(format!("{}/metrics", app.base)).send().await;
    assert_eq!(anonymous.unwrap().status(), StatusCode::UNAUTHORIZED);
    let client = app
        .call(Method::GET, "/metrics", &app.client_token, None)
        .await;
    assert_eq!(client.status, StatusCode::FORBIDDEN);
    assert_eq!(client.error_code(), 904);
    let operator = app.op(Method::GET, "/metrics", None).await;
    assert_eq!(operator.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn two_servers_in_one_process_count_apart() {
    let (a, b) = (TestApp::spawn().await, TestApp::spawn().await);
    let (ta, tb) = (scraper_token(&a).await, scraper_token(&b).await);
    for _ in 0..4 {
        a.get("/visure").await.assert_ok();
    }
    b.get("/visure").await.assert_ok();
    let route = [("route", "/visure"), ("status", "200")];
    let (_, sa) = scrape(&a, &ta).await;
    let (_, sb) = scrape(&b, &tb).await;
    assert_eq!(
        value(&sa, "sportello_http_requests_total", &route),
        Some(4.0)
    );
    assert_eq!(
        value(&sb, "sportello_http_requests_total", &route),
        Some(1.0)
    );
}

/// Requests without a token, made up as a scanner makes them: a new method or path each time.
async fn flood(app: &TestApp, salt: &str, n: usize) {
    use futures::StreamExt;
    futures::stream::iter(0..n)
        .for_each_concurrent(16, |i| async move {
            let made_up = format!("{salt}{i}{}", "Q".repeat(2000));
            let method = Method::from_bytes(made_up.as_bytes()).unwrap();
            let (method, path) = match i % 4 {
                0 => (method, format!("/{made_up}")),
                1 => (method, "/visure".to_string()),
                2 => (method, "/backoffice/login".to_string()),
                _ => (Method::GET, format!("/nowhere/{made_up}")),
            };
            let answer = app
                .http
                .request(method, format!("{}{path}", app.base))
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_client_error(), "{}", answer.status());
        })
        .await;
}

/// How many series the exposition holds.
async fn series(app: &TestApp, token: &str) -> usize {
    let (_, samples) = scrape(app, token).await;
    samples.len()
}

#[tokio::test]
async fn made_up_methods_and_paths_add_no_series() {
    // Rate limits off: this test is about labels, and its scrapes come from the flooding address.
    let app = TestApp::spawn_with(sportello_server::Limits {
        rate_per_ip_per_minute: 0,
        rate_per_token_per_minute: 0,
        ..sportello_server::Limits::default()
    })
    .await;
    let token = scraper_token(&app).await;
    flood(&app, "PRIMA", 40).await;
    // The first scrape is counted by the second.
    scrape(&app, &token).await;
    let (text, samples) = scrape(&app, &token).await;
    let before = samples.len();
    let requests = "sportello_http_requests_total";
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("method", "other"),
                ("route", "unmatched"),
                ("status", "404")
            ]
        ),
        Some(10.0),
        "{text}"
    );
    assert_eq!(
        value(
            &samples,
            requests,
            &[("method", "other"), ("route", "/visure"), ("status", "405")]
        ),
        Some(10.0),
        "{text}"
    );

    flood(&app, "ANCORA", 3000).await;
    let (text, samples) = scrape(&app, &token).await;
    assert_eq!(samples.len(), before, "{text}");
    assert_eq!(
        value(
            &samples,
            requests,
            &[
                ("method", "other"),
                ("route", "unmatched"),
                ("status", "404")
            ]
        ),
        Some(760.0),
        "{text}"
    );
    assert!(!text.contains("ANCORA") && !text.contains("QQQ"), "{text}");
    assert_eq!(series(&app, &token).await, before);
}
