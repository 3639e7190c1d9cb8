//! Sportello's HTTP layer: the Visengine-compatible client API, the operator API, OpenAPI.
//!
//! Invariant: handlers parse, call one function of `service`, and wrap the answer; SQL lives in
//! the store crate and rules in the domain crate.

pub mod access_log;
pub mod api;
pub mod auth;
pub mod backoffice;
pub mod body;
pub mod client_addr;
pub mod envelope;
pub mod error;
pub mod extract;
pub mod headers;
pub mod meter;
pub mod metrics;
pub mod outbox;
pub mod paperwork;
pub mod periodic;
pub mod person;
pub mod ratelimit;
pub mod service;
pub mod setup;
pub mod state;
pub mod wire;
pub mod workers;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa_swagger_ui::SwaggerUi;

pub use state::{AppState, Clock, Limits, ManualClock, SystemClock};

use api::{
    admin, admin_conti, admin_outbox, admin_providers, consegne, conto, documento, form_tool,
    fornitori, invito, operator, richiesta, system, visure,
};
use error::ApiError;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.limits.request_timeout_secs.max(1));
    let limiter = Arc::new(ratelimit::RateLimiter::new(&state.limits));
    let trusted_proxies = Arc::new(state.limits.trusted_proxies.clone());
    let openapi = api::docs::document(&state.catalog, &state.limits);
    let metrics = Arc::new(metrics::Metrics::new());
    Router::new()
        .route("/visure", get(visure::list))
        .route("/visure/{hash}", get(visure::get))
        .route("/visure/{hash}/schema", get(visure::schema))
        .route("/visure/{hash}/preventivo", get(conto::quote))
        .route("/visura/formTool/{file}", get(form_tool::script))
        .route("/conto", get(conto::conto))
        .route("/conto/estratti/{mese}", get(conto::estratto))
        .route("/richiesta", get(richiesta::list).post(richiesta::create))
        .route(
            "/richiesta/{id}",
            get(richiesta::get)
                .put(richiesta::update)
                .delete(richiesta::cancel)
                .post(richiesta::add_search),
        )
        .route("/richiesta/{id}/mandato", get(richiesta::mandato))
        .route(
            "/richiesta/{id}/invito",
            post(invito::invite).delete(invito::revoke),
        )
        .route(
            "/richiesta/{id}/documenti",
            // The multipart reader's own bound; the JSON reader keeps the same one itself.
            post(richiesta::add_document).layer(axum::extract::DefaultBodyLimit::max(
                body::BodyLimit::Result.bytes(&state.limits),
            )),
        )
        .route(
            "/richiesta/{id}/ricerche",
            axum::routing::put(richiesta::choose_search),
        )
        .route("/fornitori/{id}/informativa", get(fornitori::informativa))
        .route("/documento/{id}", get(documento::get))
        .route("/documento/{id}/download", get(documento::download))
        .route("/operator/requests", get(operator::queue))
        .route("/operator/counts", get(operator::counts))
        .route("/operator/requests/{id}", get(operator::detail))
        .route("/operator/requests/{id}/claim", post(operator::claim))
        .route("/operator/requests/{id}/release", post(operator::release))
        .route(
            "/operator/requests/{id}/integration",
            post(operator::ask_integration),
        )
        .route(
            "/operator/requests/{id}/results",
            post(operator::attach_result),
        )
        .route("/operator/requests/{id}/close", post(operator::close))
        .route("/operator/requests/{id}/cancel", post(operator::cancel))
        .route(
            "/operator/requests/{id}/files/{file_id}",
            get(operator::file),
        )
        .route("/admin/audit", get(admin::list))
        .route("/admin/audit/verify", get(admin::verify))
        .route("/consegne", get(consegne::list))
        .route("/consegne/{id}/ripeti", post(consegne::replay))
        .route("/admin/deliveries", get(admin_outbox::list))
        .route("/admin/deliveries/{id}/replay", post(admin_outbox::replay))
        .route(
            "/admin/clients/{id}/webhook",
            get(admin_outbox::webhook).put(admin_outbox::set_webhook),
        )
        .route(
            "/admin/clients/{id}/webhook/secret",
            post(admin_outbox::rotate_secret),
        )
        .route("/admin/sla", get(admin::sla_dashboard))
        .route("/admin/clients/{id}/wallet", get(admin_conti::wallet))
        .route("/admin/clients/{id}/topup", post(admin_conti::topup))
        .route(
            "/admin/clients/{id}/adjustment",
            post(admin_conti::adjustment),
        )
        .route(
            "/admin/clients/{id}/statements/{mese}",
            get(admin_conti::statement),
        )
        .route(
            "/admin/providers/{id}/settlements/{mese}",
            get(admin_conti::settlement),
        )
        .route("/admin/ledger/verify", get(admin_conti::verify))
        .route("/admin/providers/{id}", put(admin_providers::update))
        .route(
            "/admin/providers/{id}/informativa",
            put(admin_providers::informativa),
        )
        .route(
            "/admin/providers/{id}/mandato",
            put(admin_providers::mandato),
        )
        .route(
            "/operator/requests/{id}/fascicolo",
            get(operator::fascicolo),
        )
        .route("/admin/subjects/export", post(admin::export_subject))
        .route(
            "/admin/providers/{id}/versioni",
            get(admin_providers::versioni),
        )
        .route(
            "/admin/providers/{id}/informativa/{versione}",
            get(admin_providers::informativa_versione),
        )
        .route(
            "/admin/providers/{id}/mandato/{versione}",
            get(admin_providers::mandato_versione),
        )
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(metrics::scrape))
        .merge(backoffice::routes(&state))
        .merge(person::routes(&state))
        .merge(SwaggerUi::new("/docs").external_url_unchecked("/openapi.json", openapi))
        .fallback(system::not_found)
        .method_not_allowed_fallback(system::method_not_allowed)
        .with_state(state)
        // One readiness probe shared by this router's callers (see `system::Readiness`).
        .layer(axum::Extension(Arc::new(system::Readiness::default())))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            answer_within(timeout, req, next)
        }))
        // Outside the timeout: a refused request costs no timer, no extractor, no query.
        .layer(middleware::from_fn_with_state(limiter, ratelimit::enforce))
        .layer(middleware::from_fn(headers::secure))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::internal().into_response()
        }))
        // Outside everything but the trace: refusals (429), timeouts (408) and panics (500)
        // are counted too.
        .layer(middleware::from_fn_with_state(
            metrics.clone(),
            metrics::track,
        ))
        .layer(axum::Extension(metrics))
        .layer(middleware::from_fn(access_log::record))
        // Outermost: the limiter, the access log and the audit trail all read the address it
        // resolves.
        .layer(middleware::from_fn_with_state(
            trusted_proxies,
            client_addr::resolve,
        ))
}

/// A request that takes too long is answered 408 in our envelope (slow clients included).
async fn answer_within(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout().into_response(),
    }
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address reaches `client_addr`, which tells the client's address from it.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
