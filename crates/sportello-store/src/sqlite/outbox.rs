//! The outbox in SQLite: events and their deliveries written with the change they record,
//! claiming due deliveries under a lease, recording attempts, the delivery log and replays, and
//! the clients' webhook endpoints and signing secrets.

use sqlx::Row;

use super::secrets::load_or_create_secret;
use super::SqliteStore;
use crate::crypto::DataKey;
use crate::ids;
use crate::model::HistoryEntry;
use crate::outbox::*;
use crate::rows::{delivery_from, event_from, wrapped_from};
use crate::StoreError;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

const DELIVERY_SELECT: &str =
    "SELECT d.*, e.type AS event_type FROM deliveries d JOIN events e ON e.id = d.event_id";

/// Called for every history entry, inside its transaction: the entry's event, if its action
/// makes one, and a delivery for each destination the request and its client have.
pub(super) async fn record_event(tx: &mut Tx<'_>, h: &HistoryEntry) -> Result<(), StoreError> {
    let Some(event_type) = EventType::for_action(&h.action) else {
        return Ok(());
    };
    let event_id = ids::short_id("evt");
    sqlx::query(
        "INSERT INTO events (id, request_id, client_id, type, status, at)
         SELECT ?, id, client_id, ?, ?, ? FROM requests WHERE id = ?",
    )
    .bind(&event_id)
    .bind(event_type.as_str())
    .bind(h.status.as_db())
    .bind(h.at)
    .bind(&h.request_id)
    .execute(&mut **tx)
    .await?;
    // A result attached before the close is not the client's to see yet (it shows in
    // `allegati` once processed): the compat callback, which receivers read as "the request
    // changed state", does not hear of it; the client's own endpoint does.
    let mut kinds = match event_type {
        EventType::DocumentAdded => vec![DeliveryKind::Webhook],
        _ => vec![DeliveryKind::Callback, DeliveryKind::Webhook],
    };
    if event_type.is_mailed() {
        kinds.push(DeliveryKind::Email);
    }
    fan_out(tx, &event_id, &h.request_id, h.at, &kinds).await
}

/// One pending delivery per destination in `kinds` that exists: the request's callback, its
/// `email_target`, its client's webhook endpoint.
async fn fan_out(
    tx: &mut Tx<'_>,
    event_id: &str,
    request_id: &str,
    at: i64,
    kinds: &[DeliveryKind],
) -> Result<(), StoreError> {
    for kind in kinds {
        let condition = match kind {
            DeliveryKind::Callback => "r.callback_data IS NOT NULL",
            DeliveryKind::Email => "r.email_target IS NOT NULL",
            DeliveryKind::Webhook => {
                "EXISTS (SELECT 1 FROM client_webhooks w WHERE w.client_id = r.client_id AND w.url IS NOT NULL)"
            }
        };
        sqlx::query(&format!(
            "INSERT INTO deliveries (id, event_id, request_id, client_id, kind, status, attempts,
                next_attempt_at, window_start, created_at)
             SELECT ?, ?, r.id, r.client_id, ?, 'pending', 0, ?, ?, ?
             FROM requests r WHERE r.id = ? AND {condition}"
        ))
        .bind(ids::short_id("dlv"))
        .bind(event_id)
        .bind(kind.as_str())
        .bind(at)
        .bind(at)
        .bind(at)
        .bind(request_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Leases up to `limit` due deliveries to `owner` until `now + lease_secs`, in one statement: two
/// workers (or two processes) never get the same row while its lease runs. A worker that dies
/// mid-call leaves the lease to expire, and the delivery is claimed again (at least once).
pub(super) async fn claim_deliveries(
    store: &SqliteStore,
    owner: &str,
    now: i64,
    lease_secs: i64,
    limit: u32,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let claimed: Vec<String> = sqlx::query_scalar(
        "UPDATE deliveries SET lease_owner = ?, lease_until = ?
         WHERE id IN (
            SELECT id FROM deliveries
            WHERE status = 'pending' AND next_attempt_at <= ?
              AND (lease_until IS NULL OR lease_until <= ?)
            ORDER BY next_attempt_at, created_at LIMIT ?)
         RETURNING id",
    )
    .bind(owner)
    .bind(now.saturating_add(lease_secs))
    .bind(now)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&store.pool)
    .await?;
    let mut out = Vec::with_capacity(claimed.len());
    for id in claimed {
        if let Some(d) = get_delivery(store, &id).await? {
            out.push(d);
        }
    }
    out.sort_by_key(|d| (d.next_attempt_at, d.created_at));
    Ok(out)
}

/// Drops the leases `owner` holds on deliveries still pending: the attempt in flight was
/// abandoned (the worker stopped), so the delivery is due again for whoever claims next.
pub(super) async fn release_leases(store: &SqliteStore, owner: &str) -> Result<u64, StoreError> {
    let done = sqlx::query(
        "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
         WHERE lease_owner = ? AND status = 'pending'",
    )
    .bind(owner)
    .execute(&store.pool)
    .await?;
    Ok(done.rows_affected())
}

/// Records an attempt made under `owner`'s lease. False when the lease was lost meanwhile (it
/// expired and another worker claimed it, or an admin replayed it): that worker's word counts.
pub(super) async fn finish_delivery(
    store: &SqliteStore,
    id: &str,
    owner: &str,
    now: i64,
    outcome: &AttemptOutcome,
) -> Result<bool, StoreError> {
    let (status, error, code, next, delivered_at) = match outcome {
        AttemptOutcome::Delivered { status } => {
            (DeliveryStatus::Delivered, None, *status, now, Some(now))
        }
        AttemptOutcome::Retry {
            error,
            status,
            next_attempt_at,
        } => (
            DeliveryStatus::Pending,
            Some(error.clone()),
            *status,
            *next_attempt_at,
            None,
        ),
        AttemptOutcome::GiveUp { error, status } => (
            DeliveryStatus::Failed,
            Some(error.clone()),
            *status,
            now,
            None,
        ),
    };
    let mut tx = store.pool.begin().await?;
    let done = sqlx::query(
        "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?, last_status = ?,
            last_attempt_at = ?, next_attempt_at = ?, delivered_at = COALESCE(?, delivered_at),
            lease_owner = NULL, lease_until = NULL
         WHERE id = ? AND lease_owner = ? AND status = 'pending'",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(code)
    .bind(now)
    .bind(next)
    .bind(delivered_at)
    .bind(id)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        tx.rollback().await?;
        return Ok(false);
    }
    if matches!(outcome, AttemptOutcome::GiveUp { .. }) {
        let row = sqlx::query(
            "SELECT d.request_id, d.kind, r.status FROM deliveries d JOIN requests r ON r.id = d.request_id
             WHERE d.id = ?",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let request_id: String = row.try_get("request_id")?;
        let kind: String = row.try_get("kind")?;
        let request_status: String = row.try_get("status")?;
        let event_id = ids::short_id("evt");
        sqlx::query(
            "INSERT INTO events (id, request_id, client_id, type, status, at)
             SELECT ?, id, client_id, ?, ?, ? FROM requests WHERE id = ?",
        )
        .bind(&event_id)
        .bind(EventType::DeliveryFailed.as_str())
        .bind(&request_status)
        .bind(now)
        .bind(&request_id)
        .execute(&mut *tx)
        .await?;
        // The client's own endpoint hears of a failed callback or e-mail; a failed webhook is
        // not announced to the endpoint that failed (no loop), only in the log.
        if kind != DeliveryKind::Webhook.as_str() {
            fan_out(
                &mut tx,
                &event_id,
                &request_id,
                now,
                &[DeliveryKind::Webhook],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn get_delivery(
    store: &SqliteStore,
    id: &str,
) -> Result<Option<DeliveryRecord>, StoreError> {
    sqlx::query(&format!("{DELIVERY_SELECT} WHERE d.id = ?"))
        .bind(id)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(delivery_from)
        .transpose()
}

pub(super) async fn list_deliveries(
    store: &SqliteStore,
    f: &DeliveryFilter,
) -> Result<Vec<DeliveryRecord>, StoreError> {
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(format!("{DELIVERY_SELECT} WHERE 1 = 1"));
    if let Some(c) = &f.client_id {
        q.push(" AND d.client_id = ").push_bind(c.clone());
    }
    if let Some(live) = f.live {
        q.push(" AND EXISTS (SELECT 1 FROM requests r WHERE r.id = d.request_id AND r.live = ")
            .push_bind(live)
            .push(")");
    }
    if let Some(r) = &f.request_id {
        q.push(" AND d.request_id = ").push_bind(r.clone());
    }
    if let Some(s) = f.status {
        q.push(" AND d.status = ").push_bind(s.as_str());
    }
    q.push(" ORDER BY d.created_at DESC, d.rowid DESC LIMIT ")
        .push_bind(i64::from(f.limit.max(1)));
    q.push(" OFFSET ").push_bind(i64::from(f.offset));
    q.build()
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(delivery_from)
        .collect()
}

/// Makes a delivery due now with a fresh retry window, whatever its state: a replay always
/// works. A lease in flight is dropped, so a late answer of that attempt is not recorded.
pub(super) async fn replay_delivery(
    store: &SqliteStore,
    id: &str,
    now: i64,
    limit: &ReplayLimit,
) -> Result<Replay, StoreError> {
    // IMMEDIATE: the write lock first, so concurrent replays are counted one after the other.
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM deliveries WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if found.is_none() {
        tx.rollback().await?;
        return Ok(Replay::NotFound);
    }
    let window_start = now.saturating_sub(limit.window_secs);
    sqlx::query("DELETE FROM delivery_replays WHERE delivery_id = ? AND at <= ?")
        .bind(id)
        .bind(window_start)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM delivery_replays WHERE delivery_id = ?",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    let replays: i64 = row.try_get("n")?;
    if replays >= i64::from(limit.max) {
        let oldest: Option<i64> = row.try_get("oldest")?;
        tx.rollback().await?;
        return Ok(Replay::Limited {
            retry_at: oldest.unwrap_or(now).saturating_add(limit.window_secs),
        });
    }
    sqlx::query("INSERT INTO delivery_replays (delivery_id, at) VALUES (?, ?)")
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE deliveries SET status = 'pending', next_attempt_at = ?, window_start = ?,
            lease_owner = NULL, lease_until = NULL
         WHERE id = ?",
    )
    .bind(now)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Replay::Done)
}

pub(super) async fn events(
    store: &SqliteStore,
    request_id: &str,
) -> Result<Vec<EventRecord>, StoreError> {
    sqlx::query("SELECT * FROM events WHERE request_id = ? ORDER BY seq")
        .bind(request_id)
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(event_from)
        .collect()
}

fn current_name(client_id: &str) -> String {
    format!("webhook:{client_id}")
}

fn previous_name(client_id: &str) -> String {
    format!("webhook_previous:{client_id}")
}

async fn read_secret(store: &SqliteStore, name: &str) -> Result<Option<DataKey>, StoreError> {
    let row = sqlx::query("SELECT key_id, wrapped FROM secrets WHERE name = ?")
        .bind(name)
        .fetch_optional(&store.pool)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(
        store
            .keyring
            .unwrap(&wrapped_from(&row)?, &format!("secret:{name}"))?,
    ))
}

/// The client's endpoint and secrets; a client without a secret yet gets one now.
pub(super) async fn webhook_settings(
    store: &SqliteStore,
    client_id: &str,
) -> Result<WebhookSettings, StoreError> {
    let secret =
        load_or_create_secret(&store.pool, &store.keyring, &current_name(client_id)).await?;
    let row = sqlx::query("SELECT url, previous_until FROM client_webhooks WHERE client_id = ?")
        .bind(client_id)
        .fetch_optional(&store.pool)
        .await?;
    let (url, previous_until): (Option<String>, Option<i64>) = match row {
        Some(row) => (row.try_get("url")?, row.try_get("previous_until")?),
        None => (None, None),
    };
    let previous = match previous_until {
        Some(_) => read_secret(store, &previous_name(client_id)).await?,
        None => None,
    };
    Ok(WebhookSettings {
        client_id: client_id.to_string(),
        url,
        secret,
        previous,
        previous_until,
    })
}

pub(super) async fn set_webhook_url(
    store: &SqliteStore,
    client_id: &str,
    url: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO client_webhooks (client_id, url) VALUES (?, ?)
         ON CONFLICT (client_id) DO UPDATE SET url = excluded.url",
    )
    .bind(client_id)
    .bind(url)
    .execute(&store.pool)
    .await?;
    Ok(())
}

/// A new signing secret; the old one keeps signing until `previous_until` (None: drop it now).
pub(super) async fn rotate_webhook_secret(
    store: &SqliteStore,
    client_id: &str,
    previous_until: Option<i64>,
) -> Result<DataKey, StoreError> {
    let old = read_secret(store, &current_name(client_id)).await?;
    let fresh = DataKey::generate();
    let current = current_name(client_id);
    let previous = previous_name(client_id);
    let wrapped = store.keyring.wrap(&fresh, &format!("secret:{current}"));
    let mut tx = store.pool.begin().await?;
    sqlx::query("INSERT OR REPLACE INTO secrets (name, key_id, wrapped) VALUES (?, ?, ?)")
        .bind(&current)
        .bind(&wrapped.key_id)
        .bind(&wrapped.bytes)
        .execute(&mut *tx)
        .await?;
    let keep_until = match (old, previous_until) {
        (Some(old), Some(until)) => {
            let wrapped_old = store.keyring.wrap(&old, &format!("secret:{previous}"));
            sqlx::query("INSERT OR REPLACE INTO secrets (name, key_id, wrapped) VALUES (?, ?, ?)")
                .bind(&previous)
                .bind(&wrapped_old.key_id)
                .bind(&wrapped_old.bytes)
                .execute(&mut *tx)
                .await?;
            Some(until)
        }
        _ => {
            sqlx::query("DELETE FROM secrets WHERE name = ?")
                .bind(&previous)
                .execute(&mut *tx)
                .await?;
            None
        }
    };
    sqlx::query(
        "INSERT INTO client_webhooks (client_id, previous_until) VALUES (?, ?)
         ON CONFLICT (client_id) DO UPDATE SET previous_until = excluded.previous_until",
    )
    .bind(client_id)
    .bind(keep_until)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(fresh)
}
