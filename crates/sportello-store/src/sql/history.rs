//! A request's history: writing an entry (and its audit link) and reading them back.

use async_trait::async_trait;

use super::audit::append_audit;
use super::outbox::record_event;
use super::{insert_rows, Counter, This, Tx};
use crate::audit::{AuditEvent, ChainKey};
use crate::crypto::DataKey;
use crate::model::*;
use crate::rows::history_from;
use crate::sealing::seal;
use crate::Keys;
use crate::StoreError;

#[async_trait]
impl crate::History for This {
    async fn history(&self, request_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let key = self.data_key(request_id).await?;
        sqlx::query("SELECT * FROM request_history WHERE request_id = $1 ORDER BY seq")
            .bind(request_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| history_from(key.as_ref(), request_id, row))
            .collect()
    }
}

pub(super) async fn insert_history(
    tx: &mut Tx<'_>,
    chain: &ChainKey,
    key: &DataKey,
    h: &HistoryEntry,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO request_history (request_id, at, status, action, actor, note) VALUES
         ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&h.request_id)
    .bind(h.at)
    .bind(h.status.as_db())
    .bind(&h.action)
    .bind(&h.actor)
    .bind(seal(key, &h.request_id, "history_note", h.note.clone()))
    .execute(&mut **tx)
    .await?;
    // Every change of a request is also a link of the audit chain, in the same transaction.
    append_audit(tx, chain, &audit_event(h)).await?;
    // The event this change makes (and its deliveries), in the same transaction.
    record_event(tx, h).await?;
    Ok(())
}

/// The history rows of `entries`, each sealed with its request's key, in one statement; their
/// audit links and events are the caller's to write (`creation.rs` writes them for a batch).
pub(super) async fn insert_history_rows(
    tx: &mut Tx<'_>,
    counter: &Counter,
    entries: &[(&DataKey, &HistoryEntry)],
) -> Result<(), StoreError> {
    insert_rows(
        tx,
        counter,
        "INSERT INTO request_history (request_id, at, status, action, actor, note)",
        "",
        entries,
        |q, (key, h)| {
            Ok(q.bind(&h.request_id)
                .bind(h.at)
                .bind(h.status.as_db())
                .bind(&h.action)
                .bind(&h.actor)
                .bind(seal(key, &h.request_id, "history_note", h.note.clone())))
        },
    )
    .await?;
    Ok(())
}

/// The audit link of a change of state (see [`insert_history`]).
pub(super) fn audit_event(h: &HistoryEntry) -> AuditEvent {
    AuditEvent {
        at: h.at,
        actor: h.actor.clone(),
        action: "change_state".into(),
        request_id: Some(h.request_id.clone()),
        detail: format!("{} -> {}", h.action, h.status.as_db()),
        source: h.source.clone(),
    }
}
