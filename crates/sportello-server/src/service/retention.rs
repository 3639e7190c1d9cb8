//! Retention: once a closed request's retention period (the service's `retention_days`) has
//! passed, its personal data is destroyed — data key, sealed values, files — and only what
//! accounting needs is kept. Test (sandbox) requests keep their data for a day only, whatever
//! their state; a draft keeps it `draft_retention_days` after its last change (a draft nobody
//! submits never closes, and would otherwise keep it for ever). With
//! `retention_requires_export` (the default) a live processed request keeps its data past its
//! time until its provider has downloaded the case file (`service::fascicolo`): the provider's
//! archive must hold it before ours lets it go; the SLA dashboard lists those waiting. The periodic pass also deletes the back office's expired sessions and stale
//! failed logins ([`accounts::forget_expired`]).

use sportello_store::StoreError;
use std::future::Future;
use std::time::Duration;

use super::accounts;
use crate::error::ApiResult;
use crate::periodic::Periodic;
use crate::state::AppState;

const DAY: i64 = 86_400;

/// How long a test request keeps its personal data.
pub const TEST_RETENTION_SECS: i64 = DAY;

/// The requests whose retention has passed, every service at once, the test requests older
/// than a day and the drafts left unchanged for `draft_retention_days`. With `dry_run`, only
/// lists. A draft's purge is recorded as by `<actor>:draft`, so the trail says why.
pub async fn purge_expired(state: &AppState, dry_run: bool, actor: &str) -> ApiResult<Vec<String>> {
    let now = state.clock.now();
    let mut out = Vec::new();
    let test_cutoff = now.saturating_sub(TEST_RETENTION_SECS);
    purge_batches(state, dry_run, actor, &mut out, |limit| {
        state.store.expired_tests(test_cutoff, limit)
    })
    .await?;
    let draft_cutoff =
        now.saturating_sub(i64::from(state.limits.draft_retention_days).saturating_mul(DAY));
    let draft_actor = format!("{actor}:draft");
    purge_batches(state, dry_run, &draft_actor, &mut out, |limit| {
        state.store.expired_drafts(draft_cutoff, limit)
    })
    .await?;
    for service in state.catalog.services() {
        let cutoff = now.saturating_sub(i64::from(service.retention_days).saturating_mul(DAY));
        purge_batches(state, dry_run, actor, &mut out, |limit| {
            state.store.expired(
                &service.hash_visura,
                cutoff,
                state.limits.retention_requires_export,
                limit,
            )
        })
        .await?;
    }
    Ok(out)
}

/// How many expired requests a pass lists at a time when it purges them.
const BATCH: u32 = 200;

/// Purges what `list(limit)` names, batch after batch until it names nothing (a purged request
/// is no longer listed), adding the purged ids to `out`. With `dry_run` it lists everything in
/// one go and purges nothing: listing again would only list the same requests.
async fn purge_batches<F, Fut>(
    state: &AppState,
    dry_run: bool,
    actor: &str,
    out: &mut Vec<String>,
    mut list: F,
) -> ApiResult<()>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<Vec<String>, StoreError>>,
{
    loop {
        let batch = list(if dry_run { u32::MAX } else { BATCH }).await?;
        if batch.is_empty() {
            return Ok(());
        }
        for id in batch {
            if dry_run || purge(state, &id, actor).await? {
                out.push(id);
            }
        }
        if dry_run {
            return Ok(());
        }
    }
}

/// Destroys one request's personal data now. False when there was nothing left to destroy.
pub async fn purge(state: &AppState, id: &str, actor: &str) -> ApiResult<bool> {
    let Some(purged) = state
        .store
        .purge_request(id, state.clock.now(), actor)
        .await?
    else {
        return Ok(false);
    };
    for key in &purged.blob_keys {
        // Without the data key the blobs are already unreadable; deleting them frees space.
        match state.blobs.delete(key).await {
            Ok(()) | Err(StoreError::Blob(object_store::Error::NotFound { .. })) => {}
            Err(e) => {
                tracing::warn!(request = %id, error = %e, "a purged file could not be deleted")
            }
        }
    }
    tracing::info!(request = %id, "personal data purged");
    Ok(true)
}

/// The background job: a purge pass every `every` until `stop` resolves (the pass under way
/// finishes). Each pass also forgets the back office's expired sessions and stale failed logins.
pub fn spawn(
    state: AppState,
    every: Duration,
    stop: impl Future<Output = ()> + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut passes = Periodic::new(every, stop);
        while passes.next().await {
            match purge_expired(&state, false, "system:retention").await {
                Ok(ids) if !ids.is_empty() => {
                    tracing::info!(count = ids.len(), "retention pass purged requests")
                }
                Ok(_) => {}
                Err(e) => tracing::error!(code = e.code, "retention pass failed"),
            }
            match accounts::forget_expired(&state).await {
                Ok((0, 0)) => {}
                Ok((sessions, failures)) => tracing::info!(
                    sessions,
                    failures,
                    "retention pass deleted expired back office sessions and failed logins"
                ),
                Err(e) => {
                    tracing::error!(error = %e, "deleting expired back office sessions failed")
                }
            }
        }
    })
}
