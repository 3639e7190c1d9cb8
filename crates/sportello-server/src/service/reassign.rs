//! An admin moves an open request to another provider: it leaves the operator who held it and
//! enters the new provider's queue, unassigned. Recorded in the history (and so in the audit
//! trail).

use sportello_store::{ids, HistoryEntry};

use super::{mutate, Change};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn reassign(
    state: &AppState,
    actor: &str,
    source: Option<String>,
    id: &str,
    provider_id: &str,
) -> ApiResult<()> {
    if !ids::is_request_id(id) {
        return Err(ApiError::not_found("no such request"));
    }
    let provider = state
        .store
        .get_provider(provider_id)
        .await?
        .ok_or_else(|| ApiError::invalid_member("provider", "unknown", "no such provider"))?;
    let now = state.clock.now();
    mutate(state, id, |r| {
        if r.status.is_final() || r.status == sportello_domain::status::Status::Draft {
            return Err(ApiError::conflict(
                "only a submitted, open request can be reassigned",
            ));
        }
        if !r.live {
            return Err(ApiError::conflict(
                "test requests are worked by the sandbox, not by a provider",
            ));
        }
        if !provider.services.contains(&r.hash_visura) {
            return Err(ApiError::conflict(
                "the provider does not work this service",
            ));
        }
        r.provider_id = Some(provider.id.clone());
        r.operator_id = None;
        r.updated_at = now;
        Ok(Change::recorded(HistoryEntry {
            request_id: r.id.clone(),
            at: now,
            status: r.status,
            action: "reassign".into(),
            actor: actor.to_string(),
            note: Some(format!("provider {}", provider.id)),
            source: source.clone(),
        }))
    })
    .await?;
    Ok(())
}
