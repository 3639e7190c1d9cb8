//! Notes between the operators of a request's provider: sealed with the request's data key,
//! visible only where the request is, recorded in the audit trail when written.

use sportello_store::{ids, NoteRecord};

use super::tenancy::load;
use crate::auth::OperatorCaller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const MAX_NOTE_CHARS: usize = 2000;

pub async fn add(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    body: &str,
) -> ApiResult<NoteRecord> {
    load(state, op, id).await?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::invalid_member(
            "nota",
            "text_invalid",
            "nota must be a non-empty string of at most 2000 characters",
        ));
    }
    let note = NoteRecord {
        id: ids::short_id("nota"),
        request_id: id.to_string(),
        author: op.actor(),
        body: body.to_string(),
        created_at: state.clock.now(),
    };
    state.store.add_note(&note).await?;
    super::audit::record(
        state,
        op.actor(),
        "add_note",
        id,
        format!("note {}", note.id),
        op.source.clone(),
    )
    .await?;
    Ok(note)
}

/// The notes of a visible request; the caller has already recorded the read of the request.
pub async fn list(state: &AppState, op: &OperatorCaller, id: &str) -> ApiResult<Vec<NoteRecord>> {
    load(state, op, id).await?;
    Ok(state.store.notes(id).await?)
}
