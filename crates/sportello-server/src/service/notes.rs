//! Notes between the operators of a request's provider: sealed with the request's data key,
//! visible only where the request is, recorded in the audit trail when written.

use sportello_store::{ids, NoteRecord};

use super::tenancy::load;
use crate::auth::OperatorCaller;
pub use crate::body::operator::Note;
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn add(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
    note: Note,
) -> ApiResult<NoteRecord> {
    load(state, op, id).await?;
    let note = NoteRecord {
        id: ids::short_id("nota"),
        request_id: id.to_string(),
        author: op.actor(),
        body: note.text,
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
