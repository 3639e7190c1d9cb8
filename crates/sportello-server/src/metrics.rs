//! Prometheus metrics: HTTP requests by route template and status, their latency, and gauges of
//! the queues read from the store at scrape time (cached briefly, so scrapes cannot hammer it).
//!
//! Each router owns its recorder (no global one): tests start many servers in one process, and
//! each must count only its own traffic. Labels are route templates (`/richiesta/{id}`), methods,
//! statuses and state names — never a raw URL, an id or anything personal.
//!
//! Invariant: every label comes from a closed set. A series lives as long as the process, so a
//! label copied from the request (a made-up method, a scanned path) would let anyone without a
//! token grow the exposition, and the memory holding it, without bound.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use sportello_domain::status::Status;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::AdminCaller;
use crate::state::AppState;

const REQUESTS: &str = "sportello_http_requests_total";
const LATENCY: &str = "sportello_http_request_duration_seconds";
const OPEN: &str = "sportello_requests_open";
const OVERDUE: &str = "sportello_requests_overdue";
const OUTBOX_DUE: &str = "sportello_outbox_due";
const OUTBOX_PENDING: &str = "sportello_outbox_pending";

/// Seconds, from a cache hit to a minute-long upload.
const BUCKETS: [f64; 13] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0,
];

/// How long gauges read from the store are reused: several Prometheus servers scraping every
/// few seconds cost the database one read each this often, at most.
const GAUGE_TTL: Duration = Duration::from_secs(5);

/// Latency samples wait in per-histogram buffers until drained; draining every this many
/// requests bounds their memory even when nobody scrapes.
const UPKEEP_EVERY: u64 = 4096;

/// The states a request waits in once submitted: always reported, zero included, so a queue
/// that empties shows 0 instead of vanishing.
const OPEN_STATES: [Status; 3] = [
    Status::InErogazione,
    Status::InAttesaIntegrazione,
    Status::DatiDisponibili,
];

pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    recorded: AtomicU64,
    /// When the gauges were last read from the store; the lock also makes concurrent scrapes
    /// wait for one read instead of each making their own.
    refreshed: tokio::sync::Mutex<Option<Instant>>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(LATENCY.to_string()), &BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            // The buckets above are a non-empty constant: this cannot fail, but if it did,
            // latencies would be summaries instead of histograms, not lost.
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe_counter!(
                REQUESTS,
                "HTTP requests answered, by method, route and status"
            );
            describe_histogram!(
                LATENCY,
                metrics::Unit::Seconds,
                "Time to answer an HTTP request, by method and route"
            );
            describe_gauge!(OPEN, "Submitted requests not yet closed, by state");
            describe_gauge!(OVERDUE, "Open requests past their SLA due time");
            describe_gauge!(
                OUTBOX_DUE,
                "Deliveries (callbacks, webhooks, e-mails) due now"
            );
            describe_gauge!(OUTBOX_PENDING, "Deliveries not yet delivered or given up");
        });
        Metrics {
            recorder,
            handle,
            recorded: AtomicU64::new(0),
            refreshed: tokio::sync::Mutex::new(None),
        }
    }

    fn record(&self, method: &'static str, route: String, status: u16, elapsed: Duration) {
        metrics::with_local_recorder(&self.recorder, || {
            counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_string())
                .increment(1);
            histogram!(LATENCY, "method" => method, "route" => route).record(elapsed.as_secs_f64());
        });
        if self.recorded.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// Reads the queue gauges from the store unless they are fresh enough.
    async fn refresh(&self, state: &AppState) {
        let mut refreshed = self.refreshed.lock().await;
        if refreshed.is_some_and(|at| at.elapsed() < GAUGE_TTL) {
            return;
        }
        match state.store.gauges(state.clock.now()).await {
            Ok(g) => {
                metrics::with_local_recorder(&self.recorder, || {
                    for status in OPEN_STATES {
                        let n = g
                            .open_by_status
                            .iter()
                            .find(|(s, _)| *s == status)
                            .map_or(0, |(_, n)| *n);
                        gauge!(OPEN, "state" => status.as_db()).set(n as f64);
                    }
                    gauge!(OVERDUE).set(g.overdue as f64);
                    gauge!(OUTBOX_DUE).set(g.deliveries_due as f64);
                    gauge!(OUTBOX_PENDING).set(g.deliveries_pending as f64);
                });
                *refreshed = Some(Instant::now());
            }
            // The scrape still answers with the last values; the log says why they are old.
            Err(e) => tracing::warn!(error = %e, "metrics: reading the queue gauges failed"),
        }
    }

    /// The Prometheus text exposition.
    pub async fn render(&self, state: &AppState) -> String {
        self.refresh(state).await;
        self.handle.render()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// Middleware: counts and times every request under its route template.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = crate::access_log::method_name(req.method());
    let route = crate::access_log::route_template(&req);
    let response = next.run(req).await;
    metrics.record(method, route, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /metrics`: for an admin token (a token limited to `GET:/metrics` is enough, for the
/// Prometheus server's configuration).
pub async fn scrape(
    _admin: AdminCaller,
    State(state): State<AppState>,
    metrics: axum::Extension<Arc<Metrics>>,
) -> Response {
    let body = metrics.render(&state).await;
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
