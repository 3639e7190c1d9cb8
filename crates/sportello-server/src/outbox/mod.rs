//! The outbox delivery worker: it claims due deliveries under a lease, makes each call (a
//! signed callback or webhook, or an e-mail) outside any transaction, then records the outcome
//! and, on failure, the next attempt (exponential back-off with jitter over a window of about
//! three days, then given up).
//!
//! Invariant: a delivery's body is the request's public state, rendered when it is sent (the
//! `GET /richiesta/{_id}` envelope) — never field values or files. Only an e-mail to
//! `email_target` may carry the result archive, and only where the catalog allows it.

pub mod email;
pub mod guard;
pub mod http;
pub mod signing;

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use sportello_store::{
    ids, AttemptOutcome, DeliveryKind, DeliveryRecord, EventType, RequestRecord, StoreError,
};

use crate::envelope::Envelope;
use crate::periodic::Periodic;
use crate::state::AppState;
use crate::wire::Richiesta;
use email::SmtpSettings;
use guard::GuardPolicy;
use http::{CallResult, Outgoing};

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_GRACE_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Time between two passes of the running worker.
    pub interval: Duration,
    /// Retries stop once the next one would fall later than this after the first attempt.
    pub max_age_secs: i64,
    /// The first retry's delay; each next one doubles, up to `max_delay_secs`.
    pub base_delay_secs: i64,
    pub max_delay_secs: i64,
    /// How long a claimed delivery stays a worker's own (longer than any call may take).
    pub lease_secs: i64,
    /// Deliveries claimed per pass.
    pub batch: u32,
    pub guard: GuardPolicy,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// None: e-mails are not sent (their deliveries fail at once, and can be replayed later).
    pub smtp: Option<SmtpSettings>,
}

impl Default for OutboxConfig {
    fn default() -> OutboxConfig {
        OutboxConfig {
            interval: Duration::from_secs(5),
            max_age_secs: 3 * 24 * 3600,
            base_delay_secs: 30,
            max_delay_secs: 6 * 3600,
            lease_secs: 300,
            batch: 20,
            guard: GuardPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            smtp: None,
        }
    }
}

/// The delay before retry number `attempts` (1 = after the first failure), jittered by ±20%
/// so that the retries of many deliveries that failed together spread out.
pub fn backoff(config: &OutboxConfig, attempts: i64, jitter: f64) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 40) - 1).unwrap_or(0);
    let delay = config
        .base_delay_secs
        .max(1)
        .saturating_mul(2i64.saturating_pow(exp))
        .min(config.max_delay_secs.max(1));
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    ((delay as f64) * factor).round().max(1.0) as i64
}

/// How one attempt went, before it is turned into an [`AttemptOutcome`].
enum Attempted {
    Ok(Option<u16>),
    Temporary(String, Option<u16>),
    Permanent(String, Option<u16>),
}

pub struct Outbox {
    state: AppState,
    config: OutboxConfig,
    /// This worker's name on the leases it holds.
    owner: String,
}

impl Outbox {
    pub fn new(state: AppState, config: OutboxConfig) -> Outbox {
        Outbox {
            state,
            config,
            owner: ids::short_id("wrk"),
        }
    }

    /// One pass: claims the deliveries due now (by the injected clock) and attempts them.
    /// Returns how many were attempted. Tests call this instead of waiting for the timer.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let now = self.state.clock.now();
        let claimed = self
            .state
            .store
            .claim_deliveries(&self.owner, now, self.config.lease_secs, self.config.batch)
            .await?;
        let n = claimed.len();
        let results = futures::future::join_all(claimed.iter().map(|d| self.deliver(d))).await;
        for r in results {
            r?;
        }
        Ok(n)
    }

    /// The name on the leases this worker takes (for [`Store::release_leases`]).
    ///
    /// [`Store::release_leases`]: sportello_store::Store::release_leases
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The running worker: a pass every `interval` until `stop` resolves; then the pass under
    /// way finishes (its calls get their answers and are recorded), the worker gives back any
    /// lease it still holds, and ends. Aborting the task instead abandons the calls in flight;
    /// their leases then stay until [`Store::release_leases`] or their expiry.
    ///
    /// [`Store::release_leases`]: sportello_store::Store::release_leases
    pub fn spawn(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut passes = Periodic::new(self.config.interval, stop);
            while passes.next().await {
                // Drain what is due before sleeping again.
                loop {
                    match self.tick().await {
                        Ok(n) if n >= self.config.batch as usize => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::error!(error = %e, "outbox pass failed");
                            break;
                        }
                    }
                }
            }
            match self.state.store.release_leases(&self.owner).await {
                Ok(n) => tracing::info!(released = n, "outbox worker stopped"),
                Err(e) => tracing::error!(error = %e, "releasing the outbox leases failed"),
            }
        })
    }

    async fn deliver(&self, d: &DeliveryRecord) -> Result<(), StoreError> {
        let attempted = self.attempt(d).await;
        let now = self.state.clock.now();
        let outcome = match attempted {
            Attempted::Ok(status) => AttemptOutcome::Delivered {
                status: status.map(i64::from),
            },
            Attempted::Permanent(error, status) => AttemptOutcome::GiveUp {
                error,
                status: status.map(i64::from),
            },
            Attempted::Temporary(error, status) => {
                let jitter: f64 = rand::thread_rng().gen();
                let next = now.saturating_add(backoff(&self.config, d.attempts + 1, jitter));
                if next > d.window_start.saturating_add(self.config.max_age_secs) {
                    AttemptOutcome::GiveUp {
                        error,
                        status: status.map(i64::from),
                    }
                } else {
                    AttemptOutcome::Retry {
                        error,
                        status: status.map(i64::from),
                        next_attempt_at: next,
                    }
                }
            }
        };
        match &outcome {
            AttemptOutcome::Delivered { .. } => {
                tracing::info!(delivery = %d.id, kind = d.kind.as_str(), event = %d.event_type, "delivered")
            }
            AttemptOutcome::Retry { error, .. } => {
                tracing::warn!(delivery = %d.id, kind = d.kind.as_str(), %error, "delivery failed; will retry")
            }
            AttemptOutcome::GiveUp { error, .. } => {
                tracing::warn!(delivery = %d.id, kind = d.kind.as_str(), %error, "delivery given up")
            }
        }
        if !self
            .state
            .store
            .finish_delivery(&d.id, &self.owner, now, &outcome)
            .await?
        {
            tracing::info!(delivery = %d.id, "lease lost before the outcome was recorded");
        }
        Ok(())
    }

    async fn attempt(&self, d: &DeliveryRecord) -> Attempted {
        let r = match self.state.store.get_request(&d.request_id).await {
            Ok(Some(r)) => r,
            Ok(None) => return Attempted::Permanent("the request no longer exists".into(), None),
            Err(e) => return Attempted::Temporary(format!("store: {e}"), None),
        };
        match d.kind {
            DeliveryKind::Callback => self.callback(d, &r).await,
            DeliveryKind::Webhook => self.webhook(d, &r).await,
            DeliveryKind::Email => self.email(d, &r).await,
            DeliveryKind::Person => self.person(d, &r).await,
        }
    }

    /// The `GET /richiesta/{_id}` envelope of the request as it is now.
    async fn envelope(&self, r: &RequestRecord) -> Result<Vec<u8>, Attempted> {
        let service = self.state.catalog.get(&r.hash_visura).ok_or_else(|| {
            Attempted::Permanent(
                "the request's service is no longer in the catalog".into(),
                None,
            )
        })?;
        let owner = match self.state.store.get_client(&r.client_id).await {
            Ok(Some(c)) => c.owner_email,
            Ok(None) => String::new(),
            Err(e) => return Err(Attempted::Temporary(format!("store: {e}"), None)),
        };
        let mut rendered = Richiesta::render(r, service, &owner);
        crate::service::requests::extend(&self.state, r, &mut rendered)
            .await
            .map_err(|e| Attempted::Temporary(format!("rendering: {e:?}"), None))?;
        serde_json::to_vec(&Envelope::ok(rendered))
            .map_err(|e| Attempted::Permanent(format!("rendering: {e}"), None))
    }

    /// The secrets that sign now: the current one, and the previous one during a rotation.
    async fn signed_headers(
        &self,
        d: &DeliveryRecord,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, Attempted> {
        let settings = self
            .state
            .store
            .webhook_settings(&d.client_id)
            .await
            .map_err(|e| Attempted::Temporary(format!("store: {e}"), None))?;
        let now = self.state.clock.now();
        let mut secrets: Vec<&[u8]> = vec![settings.secret.expose()];
        if let (Some(prev), Some(until)) = (&settings.previous, settings.previous_until) {
            if until > now {
                secrets.push(prev.expose());
            }
        }
        Ok(vec![
            ("webhook-id", d.id.clone()),
            ("webhook-timestamp", now.to_string()),
            (
                "webhook-signature",
                signing::header(&secrets, &d.id, now, body),
            ),
            ("sportello-event", d.event_type.clone()),
        ])
    }

    async fn call(
        &self,
        url: &str,
        content_type: &'static str,
        body: Vec<u8>,
        headers: Vec<(&'static str, String)>,
    ) -> Attempted {
        let out = Outgoing {
            url,
            content_type,
            body,
            headers,
        };
        match http::post(
            out,
            &self.config.guard,
            self.config.connect_timeout,
            self.config.timeout,
        )
        .await
        {
            CallResult::Ok(status) => Attempted::Ok(Some(status)),
            CallResult::Failed { error, status } => Attempted::Temporary(error, status),
            CallResult::Refused(error) => Attempted::Permanent(error, None),
        }
    }

    /// The compat callback: `callback_data.method` JSON sends the envelope as the body, POST
    /// sends it as a form field named `callback_data.field` (default `visengineData`).
    async fn callback(&self, d: &DeliveryRecord, r: &RequestRecord) -> Attempted {
        let Some(cb) = &r.callback_data else {
            return Attempted::Permanent(
                "the request has no callback (its personal data may have been deleted)".into(),
                None,
            );
        };
        let Some(url) = cb.get("url").and_then(|u| u.as_str()) else {
            return Attempted::Permanent("callback_data has no url".into(), None);
        };
        let envelope = match self.envelope(r).await {
            Ok(e) => e,
            Err(a) => return a,
        };
        let form = cb.get("method").and_then(|m| m.as_str()) == Some("POST");
        let (content_type, body) = if form {
            let field = cb
                .get("field")
                .and_then(|f| f.as_str())
                .filter(|f| !f.is_empty())
                .unwrap_or("visengineData");
            let text = String::from_utf8_lossy(&envelope).into_owned();
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .append_pair(field, &text)
                .finish();
            ("application/x-www-form-urlencoded", encoded.into_bytes())
        } else {
            ("application/json", envelope)
        };
        let headers = match self.signed_headers(d, &body).await {
            Ok(h) => h,
            Err(a) => return a,
        };
        self.call(url, content_type, body, headers).await
    }

    /// The client's own endpoint: always the JSON envelope.
    async fn webhook(&self, d: &DeliveryRecord, r: &RequestRecord) -> Attempted {
        let url = match self.state.store.webhook_settings(&d.client_id).await {
            Ok(s) => match s.url {
                Some(u) => u,
                None => {
                    return Attempted::Permanent(
                        "the client has no webhook endpoint any more".into(),
                        None,
                    )
                }
            },
            Err(e) => return Attempted::Temporary(format!("store: {e}"), None),
        };
        let body = match self.envelope(r).await {
            Ok(e) => e,
            Err(a) => return a,
        };
        let headers = match self.signed_headers(d, &body).await {
            Ok(h) => h,
            Err(a) => return a,
        };
        self.call(&url, "application/json", body, headers).await
    }

    /// What every e-mail needs: the SMTP server, the request's service, the event.
    fn mail_of<'a>(
        &'a self,
        d: &DeliveryRecord,
        r: &RequestRecord,
    ) -> Result<
        (
            &'a SmtpSettings,
            &'a sportello_domain::catalog::Service,
            EventType,
        ),
        Attempted,
    > {
        let Some(smtp) = &self.config.smtp else {
            return Err(Attempted::Permanent(
                "e-mail is not configured (smtp_host)".into(),
                None,
            ));
        };
        let Some(service) = self.state.catalog.get(&r.hash_visura) else {
            return Err(Attempted::Permanent(
                "the request's service is no longer in the catalog".into(),
                None,
            ));
        };
        let Some(event) = EventType::parse(&d.event_type) else {
            return Err(Attempted::Permanent(
                "this event is not sent by e-mail".into(),
                None,
            ));
        };
        Ok((smtp, service, event))
    }

    async fn email(&self, d: &DeliveryRecord, r: &RequestRecord) -> Attempted {
        let (smtp, service, event) = match self.mail_of(d, r) {
            Ok(m) => m,
            Err(a) => return a,
        };
        let Some(to) = &r.email_target else {
            return Attempted::Permanent(
                "the request has no email_target (its personal data may have been deleted)".into(),
                None,
            );
        };
        let attachment = match (&r.document, service.email_attachment, event) {
            (Some(doc), true, EventType::Processed) => match self.archive(r, doc).await {
                Ok(bytes) => Some((format!("{}.zip", r.id), bytes)),
                Err(e) => return Attempted::Temporary(e, None),
            },
            _ => None,
        };
        let Some((subject, text)) = email::compose_text(event, r, service, attachment.is_some())
        else {
            return Attempted::Permanent("this event is not sent by e-mail".into(), None);
        };
        sent(email::send(smtp, to, subject, text, attachment).await)
    }

    /// A message to the invited person, with the link of their page (derived again from the
    /// request's key: it is stored nowhere).
    async fn person(&self, d: &DeliveryRecord, r: &RequestRecord) -> Attempted {
        let (smtp, service, event) = match self.mail_of(d, r) {
            Ok(m) => m,
            Err(a) => return a,
        };
        let (Some(inv), true) = (&r.invito, r.invito_hash.is_some()) else {
            return Attempted::Permanent(
                "the invitation was revoked, or the request's personal data deleted".into(),
                None,
            );
        };
        let key = match self.state.store.data_key(&r.id).await {
            Ok(Some(k)) => k,
            Ok(None) => {
                return Attempted::Permanent(
                    "the request's personal data has been deleted".into(),
                    None,
                )
            }
            Err(e) => return Attempted::Temporary(format!("store: {e}"), None),
        };
        let client = match self.state.store.get_client(&r.client_id).await {
            Ok(Some(c)) => c.name,
            Ok(None) => String::new(),
            Err(e) => return Attempted::Temporary(format!("store: {e}"), None),
        };
        let secret = crate::service::invitations::link_secret(&key, &inv.id);
        let link = crate::service::invitations::link_url(&self.state, &secret);
        let until = match (r.status, r.closed_at) {
            (sportello_domain::status::Status::Draft, _) => Some(inv.scadenza),
            (_, Some(closed)) => {
                Some(closed + i64::from(self.state.limits.invito_giorni_dopo_chiusura) * 86_400)
            }
            _ => None,
        };
        let Some((subject, text)) = email::person_text(
            event,
            &client,
            &service.nome_visura,
            &link,
            until,
            inv.risultato_visibile,
        ) else {
            return Attempted::Permanent("this event is not sent to the person".into(), None);
        };
        sent(email::send(smtp, &inv.email, subject, text, None).await)
    }

    /// The result archive, opened; its release by e-mail is recorded in the audit trail first.
    async fn archive(
        &self,
        r: &RequestRecord,
        doc: &sportello_store::DocumentRecord,
    ) -> Result<Vec<u8>, String> {
        let key = self
            .state
            .store
            .data_key(&r.id)
            .await
            .map_err(|e| format!("store: {e}"))?
            .ok_or_else(|| "the request's personal data has been deleted".to_string())?;
        crate::service::audit::record(
            &self.state,
            "system:outbox".into(),
            "email_document",
            &r.id,
            "email_target".into(),
            None,
        )
        .await
        .map_err(|e| e.message)?;
        let bytes = self
            .state
            .blobs
            .get_opened(&doc.blob_key, &key)
            .await
            .map_err(|e| format!("reading the result: {e}"))?;
        Ok(bytes.to_vec())
    }
}

/// An SMTP answer as an attempt's outcome: a permanent refusal is not retried.
fn sent(result: Result<(), email::MailError>) -> Attempted {
    match result {
        Ok(()) => Attempted::Ok(None),
        Err(e) if e.permanent => Attempted::Permanent(e.message, None),
        Err(e) => Attempted::Temporary(e.message, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_twenty_percent() {
        let c = OutboxConfig::default();
        assert_eq!(backoff(&c, 1, 0.5), 30);
        assert_eq!(backoff(&c, 2, 0.5), 60);
        assert_eq!(backoff(&c, 3, 0.0), 96);
        assert_eq!(backoff(&c, 3, 1.0), 144);
        assert_eq!(backoff(&c, 30, 0.5), 6 * 3600);
    }

    #[test]
    fn the_schedule_spans_about_three_days() {
        let c = OutboxConfig::default();
        let (mut elapsed, mut attempts) = (0i64, 1i64);
        loop {
            let next = elapsed + backoff(&c, attempts, 0.5);
            if next > c.max_age_secs {
                break;
            }
            elapsed = next;
            attempts += 1;
        }
        assert!(
            elapsed > 2 * 24 * 3600 && elapsed <= 3 * 24 * 3600,
            "{elapsed}"
        );
        assert!((15..=25).contains(&attempts), "{attempts}");
    }
}
