//! The audit trail: every look at personal data and every change leaves an entry chained to the
//! previous one by a MAC under the installation's audit key (see `sportello_store::audit`).
//! Changes are chained by the store in the same transaction as the change; reads are recorded
//! here before the data is handed out, so a read that cannot be recorded does not happen.

use sportello_store::audit::{self, AuditEntry, AuditEvent, BrokenLink, Verified};
use sportello_store::StoreError;

use crate::error::ApiResult;
use crate::state::AppState;

/// Records a look at or a change of request `request_id`'s data.
pub async fn record(
    state: &AppState,
    actor: String,
    action: &str,
    request_id: &str,
    detail: String,
    source: Option<String>,
) -> ApiResult<()> {
    event(state, actor, action, Some(request_id), detail, source).await
}

/// Records an action, of a request or of none (an admin's edit of a provider).
pub async fn event(
    state: &AppState,
    actor: String,
    action: &str,
    request_id: Option<&str>,
    detail: String,
    source: Option<String>,
) -> ApiResult<()> {
    state
        .store
        .audit(&AuditEvent {
            at: state.clock.now(),
            actor,
            action: action.to_string(),
            request_id: request_id.map(str::to_string),
            detail,
            source,
        })
        .await?;
    Ok(())
}

/// Walks the whole chain; the first broken link if any, else how many entries were checked and
/// from which one on they are keyed.
pub async fn verify(state: &AppState) -> Result<Result<Verified, BrokenLink>, StoreError> {
    let head = state.store.audit_head().await?;
    // Read in pages but verify as one sequence: a page boundary must not hide a broken link.
    let mut all: Vec<AuditEntry> = Vec::new();
    let mut after = 0;
    loop {
        let page = state.store.audit_entries(after, 5000, None).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page);
    }
    Ok(audit::verify(&all, &head, state.store.audit_key()))
}
