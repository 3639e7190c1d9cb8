//! An admin moves an open request to another provider: it leaves the operator who held it and
//! enters the new provider's queue, unassigned, with the working time it had left counted anew on
//! the new provider's calendar. Recorded in the history (and so in the audit trail).

use sportello_domain::refusal::Refusal;
use sportello_domain::status::Status;
use sportello_store::{ids, HistoryEntry};

use super::{mutate, sla, Change};
use crate::body::operator::Invalid;
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
        .ok_or(Invalid::Provider)?;
    let from = state
        .store
        .get_request(id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such request"))?
        .provider_id;
    let old_calendar = sla::calendar_for(state, from.as_deref()).await?;
    let new_calendar = sla::calendar_for(state, Some(&provider.id)).await?;
    let (informativa, mandato) = super::parties::current_versions(state, &provider.id).await?;
    let now = state.clock.now();
    mutate(state, id, |r| {
        if r.provider_id != from {
            return Err(ApiError::refused(Refusal::ReassignedMeanwhile));
        }
        if r.status.is_final() || r.status == Status::Draft {
            return Err(ApiError::refused(Refusal::NotReassignable));
        }
        if !r.live {
            return Err(ApiError::refused(Refusal::SandboxRequest));
        }
        if !provider.services.contains(&r.hash_visura) {
            return Err(ApiError::refused(Refusal::ServiceNotWorked));
        }
        r.provider_id = Some(provider.id.clone());
        // The new provider's paperwork is what the person will be shown from now on.
        r.informativa_versione = informativa;
        r.mandato_versione = mandato;
        r.operator_id = None;
        sla::change_calendar(r, &old_calendar, &new_calendar, now);
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
