//! HTTP handlers: parse, call one service function, wrap the answer. No rules here.

pub mod admin;
pub mod admin_conti;
pub mod admin_outbox;
pub mod admin_providers;
pub mod consegne;
pub mod conto;
pub mod docs;
pub mod documento;
pub mod form_tool;
pub mod fornitori;
pub mod invito;
pub mod operator;
pub mod reference;
pub mod richiesta;
pub mod system;
pub mod visure;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sportello_domain::status::Status;

use crate::envelope::Envelope;
use crate::error::{ApiError, ApiResult};

/// 200 with `{data, success: true, message: "", error: null}`.
pub fn ok<T: Serialize>(data: T) -> Response {
    (StatusCode::OK, axum::Json(Envelope::ok(data))).into_response()
}

/// A JSON text already rendered (an idempotent replay must be byte-identical).
pub fn raw_json(text: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

/// `stato` filters: the wire strings ("In erogazione") or their keys ("in_erogazione"),
/// comma-separated. A draft's key is `in_ricerca`, the `timestamp_stati` key it is stamped with
/// (`draft`, its database name, is understood too).
pub fn parse_statuses(raw: Option<&str>) -> ApiResult<Vec<Status>> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            Status::ALL
                .into_iter()
                .find(|st| {
                    st.as_db() == s
                        || st.stato_richiesta().eq_ignore_ascii_case(s)
                        || (*st == Status::Draft && s == "in_ricerca")
                })
                .ok_or_else(|| ApiError::bad_query("unknown stato"))
        })
        .collect()
}

/// Page numbers start at 1; the page size is clamped to the configured maximum.
pub fn paging(page: Option<u32>, per_page: Option<u32>, max: u32) -> (u32, u32) {
    (
        page.unwrap_or(1).max(1),
        per_page.unwrap_or(100).clamp(1, max.max(1)),
    )
}
