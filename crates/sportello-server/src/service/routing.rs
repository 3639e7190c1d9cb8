//! Routing: which provider works a request, chosen when it is submitted (and again when a
//! draft is). A live request goes to the provider offering its service with the least open work
//! (the store counts it); a test request goes to the sandbox's provider, which works no service by
//! catalog, so live routing never picks it.

use super::sandbox;
use crate::error::ApiResult;
use crate::state::AppState;

/// The provider for a new request of `hash_visura`; None when no provider offers the service.
pub async fn route(state: &AppState, live: bool, hash_visura: &str) -> ApiResult<Option<String>> {
    if live {
        Ok(state.store.route(hash_visura).await?)
    } else {
        Ok(Some(sandbox::PROVIDER_ID.to_string()))
    }
}
