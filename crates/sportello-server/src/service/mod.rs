//! The service layer: what the handlers call. Each function is one use case; it reads, asks
//! the domain whether the change is allowed, and writes.

pub mod accounts;
pub mod archive;
pub mod audit;
pub mod base64_stream;
pub mod body;
pub mod deliveries;
pub mod documents;
pub mod fascicolo;
pub mod fees;
pub mod invitations;
pub mod mandate;
pub mod notes;
pub mod operator;
pub mod parties;
pub mod passwords;
pub mod reassign;
pub mod requests;
pub mod retention;
pub mod routing;
pub mod sandbox;
pub mod sla;
pub mod statements;
pub mod subjects;
pub mod supporting;
pub mod tenancy;
pub mod totp;
pub mod upload;
pub mod wallet;

use sportello_domain::fields::Context;
use sportello_domain::status::{self, Action, Outcome, Situation, Status};
use sportello_store::crypto::DataKey;
use sportello_store::{FileRecord, HistoryEntry, RequestRecord};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn field_context(state: &AppState) -> Context {
    Context {
        today: state.clock.today(),
        max_text_chars: state.limits.max_text_chars,
        max_file_bytes: state.limits.max_file_bytes,
        max_image_pixels: state.limits.max_image_pixels,
        max_pdf_pages: state.limits.max_pdf_pages,
        max_files: state.limits.max_files_per_request,
    }
}

/// The request's data key, to seal or open its files.
pub async fn data_key(state: &AppState, request_id: &str) -> ApiResult<DataKey> {
    state
        .store
        .data_key(request_id)
        .await?
        .ok_or_else(ApiError::purged)
}

/// Asks the state machine; a refusal becomes the machine's [`ApiError::refused`].
pub fn transition(r: &RequestRecord, has_results: bool, action: Action) -> ApiResult<Outcome> {
    status::apply(
        Situation {
            status: r.status,
            taken: r.operator_id.is_some(),
            has_results,
        },
        action,
    )
    .map_err(|e| ApiError::refused(e.refusal))
}

/// Moves `r` to `to`, stamping `timestamp_stati` the first time it gets there.
pub fn enter(r: &mut RequestRecord, to: Status, now: i64) {
    if let Some(key) = to.timestamp_key() {
        r.timestamp_stati.entry(key.to_string()).or_insert(now);
    }
    if to.is_final() && r.closed_at.is_none() {
        r.closed_at = Some(now);
    }
    r.status = to;
    r.updated_at = now;
}

/// What a change wants written besides the request row.
pub struct Change {
    pub files: Vec<FileRecord>,
    pub history: Option<HistoryEntry>,
}

impl Change {
    /// A change that writes only the request row and its history entry.
    pub fn recorded(history: HistoryEntry) -> Change {
        Change {
            files: Vec::new(),
            history: Some(history),
        }
    }
}

/// Reads the request, lets `f` change it, and writes it back only if nobody changed it in the
/// meantime; on a lost race it reads again and lets `f` decide anew (so the loser of two
/// operators claiming at once is told "already taken", not "busy"). Money follows the state in
/// the same transaction (see [`wallet::follows`]): a submitted draft is debited, a cancelled
/// request refunded.
pub async fn mutate<F>(state: &AppState, id: &str, mut f: F) -> ApiResult<RequestRecord>
where
    F: FnMut(&mut RequestRecord) -> ApiResult<Change>,
{
    for _ in 0..5 {
        let mut r = state
            .store
            .get_request(id)
            .await?
            .ok_or_else(|| ApiError::not_found("no such request"))?;
        let before = r.status;
        let change = f(&mut r)?;
        r.version += 1;
        let money = wallet::follows(before, &r, change.history.as_ref());
        if state
            .store
            .update_request(&r, &change.files, change.history.as_ref(), money.as_ref())
            .await?
        {
            return Ok(r);
        }
    }
    Err(ApiError::busy())
}
