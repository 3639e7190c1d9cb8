//! The outbox: events and their deliveries written with the change they record,
//! claiming due deliveries under a lease, recording attempts, the delivery log and replays, and
//! the clients' webhook endpoints and signing secrets.

use async_trait::async_trait;
use sqlx::Row;

use super::load_or_create_secret;
use super::{dialect, insert_rows, Counter, Db, This, Tx};
use crate::crypto::DataKey;
use crate::ids;
use crate::model::HistoryEntry;
use crate::outbox::*;
use crate::rows::{delivery_from, event_from, wrapped_from};
use crate::StoreError;

#[async_trait]
impl crate::Outbox for This {
    /// Leases up to `limit` due deliveries to `owner` until `now + lease_secs`, in one statement:
    /// two workers (or two processes) never get the same row while its lease runs, and on PostgreSQL
    /// never wait for each other either (`skip_locked!`: rows another worker is claiming are
    /// skipped, not waited for). A worker that dies mid-call leaves the lease to expire, and the
    /// delivery is claimed again (at least once).
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: i64,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        let claimed: Vec<String> = sqlx::query_scalar(concat!(
            "UPDATE deliveries SET lease_owner = $1, lease_until = $2
             WHERE id IN (
             SELECT id FROM deliveries
             WHERE status = 'pending' AND next_attempt_at <= $3
             AND (lease_until IS NULL OR lease_until <= $4)
             ORDER BY next_attempt_at, created_at LIMIT $5",
            skip_locked!(),
            ") RETURNING id"
        ))
        .bind(owner)
        .bind(now.saturating_add(lease_secs))
        .bind(now)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(claimed.len());
        for id in claimed {
            if let Some(d) = self.get_delivery(&id).await? {
                out.push(d);
            }
        }
        out.sort_by_key(|d| (d.next_attempt_at, d.created_at));
        Ok(out)
    }

    /// Drops the leases `owner` holds on deliveries still pending: the attempt in flight was
    /// abandoned (the worker stopped), so the delivery is due again for whoever claims next.
    async fn release_leases(&self, owner: &str) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
             WHERE lease_owner = $1 AND status = 'pending'",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Records an attempt made under `owner`'s lease. False when the lease was lost meanwhile (it
    /// expired and another worker claimed it, or an admin replayed it): that worker's word counts.
    async fn finish_delivery(
        &self,
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
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = attempts + 1, last_error = $2,
             last_status = $3,
             last_attempt_at = $4, next_attempt_at = $5, delivered_at = COALESCE($6, delivered_at),
             lease_owner = NULL, lease_until = NULL
             WHERE id = $7 AND lease_owner = $8 AND status = 'pending'",
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
                "SELECT d.request_id, d.kind, r.status FROM deliveries d JOIN requests r ON
                 r.id = d.request_id
                 WHERE d.id = $1",
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
                 SELECT $1, id, client_id, $2, $3, $4 FROM requests WHERE id = $5",
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

    async fn get_delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError> {
        sqlx::query(&format!("{DELIVERY_SELECT} WHERE d.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(delivery_from)
            .transpose()
    }

    async fn list_deliveries(&self, f: &DeliveryFilter) -> Result<Vec<DeliveryRecord>, StoreError> {
        let mut q = sqlx::QueryBuilder::<Db>::new(format!("{DELIVERY_SELECT} WHERE 1 = 1"));
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
        q.push(concat!(
            " ORDER BY d.created_at DESC, d.",
            row_order!(),
            " DESC LIMIT "
        ))
        .push_bind(i64::from(f.limit.max(1)));
        q.push(" OFFSET ").push_bind(i64::from(f.offset));
        q.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(delivery_from)
            .collect()
    }

    /// Makes a delivery due now with a fresh retry window, whatever its state: a replay always
    /// works. A lease in flight is dropped, so a late answer of that attempt is not recorded.
    async fn replay_delivery(
        &self,
        id: &str,
        now: i64,
        limit: &ReplayLimit,
    ) -> Result<Replay, StoreError> {
        // Concurrent replays (from any process) are counted one after the other: SQLite's write
        // lock is taken first; PostgreSQL's row lock, by the SELECT.
        let mut tx = dialect::begin_write(&self.pool).await?;
        let found: Option<String> = sqlx::query_scalar(concat!(
            "SELECT id FROM deliveries WHERE id = $1",
            for_update!()
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            tx.rollback().await?;
            return Ok(Replay::NotFound);
        }
        let window_start = now.saturating_sub(limit.window_secs);
        sqlx::query("DELETE FROM delivery_replays WHERE delivery_id = $1 AND at <= $2")
            .bind(id)
            .bind(window_start)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM delivery_replays WHERE delivery_id = $1",
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
        sqlx::query("INSERT INTO delivery_replays (delivery_id, at) VALUES ($1, $2)")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = $1, window_start = $2,
             lease_owner = NULL, lease_until = NULL
             WHERE id = $3",
        )
        .bind(now)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Replay::Done)
    }

    async fn events(&self, request_id: &str) -> Result<Vec<EventRecord>, StoreError> {
        sqlx::query("SELECT * FROM events WHERE request_id = $1 ORDER BY seq")
            .bind(request_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(event_from)
            .collect()
    }

    /// The client's endpoint and secrets; a client without a secret yet gets one now.
    async fn webhook_settings(&self, client_id: &str) -> Result<WebhookSettings, StoreError> {
        let secret =
            load_or_create_secret(&self.pool, &self.keyring, &current_name(client_id)).await?;
        let row =
            sqlx::query("SELECT url, previous_until FROM client_webhooks WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        let (url, previous_until): (Option<String>, Option<i64>) = match row {
            Some(row) => (row.try_get("url")?, row.try_get("previous_until")?),
            None => (None, None),
        };
        let previous = match previous_until {
            Some(_) => read_secret(self, &previous_name(client_id)).await?,
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

    async fn set_webhook_url(&self, client_id: &str, url: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO client_webhooks (client_id, url) VALUES ($1, $2)
             ON CONFLICT (client_id) DO UPDATE SET url = excluded.url",
        )
        .bind(client_id)
        .bind(url)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A new signing secret; the old one keeps signing until `previous_until` (None: drop it now).
    async fn rotate_webhook_secret(
        &self,
        client_id: &str,
        previous_until: Option<i64>,
    ) -> Result<DataKey, StoreError> {
        let old = read_secret(self, &current_name(client_id)).await?;
        let fresh = DataKey::generate();
        let current = current_name(client_id);
        let previous = previous_name(client_id);
        let wrapped = self.keyring.wrap(&fresh, &format!("secret:{current}"));
        let mut tx = self.pool.begin().await?;
        sqlx::query(UPSERT_SECRET)
            .bind(&current)
            .bind(&wrapped.key_id)
            .bind(&wrapped.bytes)
            .execute(&mut *tx)
            .await?;
        let keep_until = match (old, previous_until) {
            (Some(old), Some(until)) => {
                let wrapped_old = self.keyring.wrap(&old, &format!("secret:{previous}"));
                sqlx::query(UPSERT_SECRET)
                    .bind(&previous)
                    .bind(&wrapped_old.key_id)
                    .bind(&wrapped_old.bytes)
                    .execute(&mut *tx)
                    .await?;
                Some(until)
            }
            _ => {
                sqlx::query("DELETE FROM secrets WHERE name = $1")
                    .bind(&previous)
                    .execute(&mut *tx)
                    .await?;
                None
            }
        };
        sqlx::query(
            "INSERT INTO client_webhooks (client_id, previous_until) VALUES ($1, $2)
             ON CONFLICT (client_id) DO UPDATE SET previous_until = excluded.previous_until",
        )
        .bind(client_id)
        .bind(keep_until)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(fresh)
    }
}

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
         SELECT $1, id, client_id, $2, $3, $4 FROM requests WHERE id = $5",
    )
    .bind(&event_id)
    .bind(event_type.as_str())
    .bind(h.status.as_db())
    .bind(h.at)
    .bind(&h.request_id)
    .execute(&mut **tx)
    .await?;
    fan_out(tx, &event_id, &h.request_id, h.at, &kinds(event_type)).await
}

/// The destinations an event of `event_type` is meant for (each only if it exists).
fn kinds(event_type: EventType) -> Vec<DeliveryKind> {
    // A result attached before the close is not the client's to see yet (it shows in
    // `allegati` once processed), and a reassignment changes the provider, not the state: the
    // compat callback, which receivers read as "the request changed state", hears of neither;
    // the client's own endpoint does.
    // The invitation's own message is the person's alone.
    let mut kinds = match event_type {
        EventType::DocumentAdded | EventType::Reassigned => vec![DeliveryKind::Webhook],
        EventType::InvitationSent => Vec::new(),
        _ => vec![DeliveryKind::Callback, DeliveryKind::Webhook],
    };
    if event_type.is_mailed() {
        kinds.push(DeliveryKind::Email);
    }
    if event_type.is_told_to_person() {
        kinds.push(DeliveryKind::Person);
    }
    kinds
}

/// A change of a request just written in the same transaction, and which of its destinations
/// exist: what [`record_event`] reads from the request's row, known here without reading it.
pub(super) struct Change<'a> {
    pub history: &'a HistoryEntry,
    pub client_id: &'a str,
    pub callback: bool,
    pub email: bool,
    pub webhook: bool,
    /// The request has a current invitation (its person hears of what concerns them).
    pub person: bool,
}

/// [`record_event`] for many changes at once: one statement for the events, one for their
/// deliveries.
pub(super) async fn record_events(
    tx: &mut Tx<'_>,
    counter: &Counter,
    changes: &[Change<'_>],
) -> Result<(), StoreError> {
    let mut events = Vec::new();
    let mut deliveries = Vec::new();
    for c in changes {
        let Some(event_type) = EventType::for_action(&c.history.action) else {
            continue;
        };
        let event_id = ids::short_id("evt");
        for kind in kinds(event_type) {
            let exists = match kind {
                DeliveryKind::Callback => c.callback,
                DeliveryKind::Email => c.email,
                DeliveryKind::Webhook => c.webhook,
                DeliveryKind::Person => c.person,
            };
            if exists {
                deliveries.push((ids::short_id("dlv"), event_id.clone(), c, kind));
            }
        }
        events.push((event_id, c, event_type));
    }
    insert_rows(
        tx,
        counter,
        "INSERT INTO events (id, request_id, client_id, type, status, at)",
        "",
        &events,
        |q, (id, c, event_type)| {
            Ok(q.bind(id)
                .bind(&c.history.request_id)
                .bind(c.client_id)
                .bind(event_type.as_str())
                .bind(c.history.status.as_db())
                .bind(c.history.at))
        },
    )
    .await?;
    insert_rows(
        tx,
        counter,
        "INSERT INTO deliveries (id, event_id, request_id, client_id, kind, status, attempts,
         next_attempt_at, window_start, created_at)",
        "",
        &deliveries,
        |q, (id, event_id, c, kind)| {
            let at = c.history.at;
            Ok(q.bind(id)
                .bind(event_id)
                .bind(&c.history.request_id)
                .bind(c.client_id)
                .bind(kind.as_str())
                .bind("pending")
                .bind(0_i64)
                .bind(at)
                .bind(at)
                .bind(at))
        },
    )
    .await?;
    Ok(())
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
            DeliveryKind::Person => "r.invito_hash IS NOT NULL",
            DeliveryKind::Webhook => {
                "EXISTS (SELECT 1 FROM client_webhooks w WHERE w.client_id = r.client_id
                 AND w.url IS NOT NULL)"
            }
        };
        sqlx::query(&format!(
            "INSERT INTO deliveries (id, event_id, request_id, client_id, kind, status, attempts,
             next_attempt_at, window_start, created_at)
             SELECT $1, $2, r.id, r.client_id, $3, 'pending', 0, $4, $5, $6
             FROM requests r WHERE r.id = $7 AND {condition}"
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

const UPSERT_SECRET: &str = "INSERT INTO secrets (name, key_id, wrapped) VALUES ($1, $2, $3)
                             ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, wrapped = excluded.wrapped";

fn current_name(client_id: &str) -> String {
    format!("webhook:{client_id}")
}

fn previous_name(client_id: &str) -> String {
    format!("webhook_previous:{client_id}")
}

async fn read_secret(store: &This, name: &str) -> Result<Option<DataKey>, StoreError> {
    let row = sqlx::query("SELECT key_id, wrapped FROM secrets WHERE name = $1")
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
