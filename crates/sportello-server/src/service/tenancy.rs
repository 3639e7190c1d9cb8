//! Tenancy: which requests a caller may see at all. A client sees its own requests, and only
//! those of its token's environment (test or live); an operator sees its provider's queue. Any
//! other request does not exist for the caller: the lookups answer "not found", never
//! "forbidden", so ids cannot be probed.

use sportello_domain::status::Status;
use sportello_store::{ids, RequestRecord};

use crate::auth::{ClientCaller, OperatorCaller};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The caller's own request, or None: another client's request does not exist for it.
pub async fn find_own(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
) -> ApiResult<Option<RequestRecord>> {
    if !ids::is_request_id(id) {
        return Ok(None);
    }
    Ok(state
        .store
        .get_request(id)
        .await?
        .filter(|r| r.client_id == caller.client.id && r.live == caller.token.live))
}

/// A request of the operator's provider: routed to it, or not routed yet and of a service it
/// offers. Drafts are the client's alone.
fn visible(op: &OperatorCaller, r: &RequestRecord) -> bool {
    r.status != Status::Draft
        && match &r.provider_id {
            Some(p) => *p == op.provider.id,
            None => op.provider.services.contains(&r.hash_visura),
        }
}

/// The request `id` of the operator's queue; any other is not found.
pub(crate) async fn load(
    state: &AppState,
    op: &OperatorCaller,
    id: &str,
) -> ApiResult<RequestRecord> {
    if !ids::is_request_id(id) {
        return Err(ApiError::not_found("no such request"));
    }
    state
        .store
        .get_request(id)
        .await?
        .filter(|r| visible(op, r))
        .ok_or_else(|| ApiError::not_found("no such request in your provider's queue"))
}
