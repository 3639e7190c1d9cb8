//! The outbox's records: events (what happened to a request) and deliveries (one per event and
//! destination), and which history actions make which event.
//!
//! Invariant: an event carries ids, a type, a state and a time — never personal data.

/// What happened, as the wire names it (`sportello-event` header, delivery log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Submitted,
    IntegrationRequested,
    IntegrationSupplied,
    DocumentAdded,
    Processed,
    Cancelled,
    Overdue,
    /// An admin moved the request to another provider: its `fornitore` changed.
    Reassigned,
    /// The client invited the person to their page by e-mail: the invitation's own message,
    /// delivered to the person only.
    InvitationSent,
    /// The person proved the link is theirs with the first code.
    InvitationOpened,
    /// The person submitted the practice from their page.
    InvitationCompleted,
    /// A delivery ran out of attempts.
    DeliveryFailed,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::Submitted,
        EventType::IntegrationRequested,
        EventType::IntegrationSupplied,
        EventType::DocumentAdded,
        EventType::Processed,
        EventType::Cancelled,
        EventType::Overdue,
        EventType::Reassigned,
        EventType::InvitationSent,
        EventType::InvitationOpened,
        EventType::InvitationCompleted,
        EventType::DeliveryFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Submitted => "request.submitted",
            EventType::IntegrationRequested => "request.integration_requested",
            EventType::IntegrationSupplied => "request.integration_supplied",
            EventType::DocumentAdded => "request.document_added",
            EventType::Processed => "request.processed",
            EventType::Cancelled => "request.cancelled",
            EventType::Overdue => "request.overdue",
            EventType::Reassigned => "request.reassigned",
            EventType::InvitationSent => "request.invitation_sent",
            EventType::InvitationOpened => "request.invitation_opened",
            EventType::InvitationCompleted => "request.invitation_completed",
            EventType::DeliveryFailed => "delivery.failed",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The event a history entry's action makes, if any. Actions that change nothing a client
    /// cares about (opening a draft, claiming, releasing, reading, notes, purges) make none.
    pub fn for_action(action: &str) -> Option<EventType> {
        match action {
            "submit" => Some(EventType::Submitted),
            "ask_integration" => Some(EventType::IntegrationRequested),
            "supply_integration" => Some(EventType::IntegrationSupplied),
            "attach_result" => Some(EventType::DocumentAdded),
            "close" => Some(EventType::Processed),
            "cancel" | "client_cancel" => Some(EventType::Cancelled),
            "overdue" => Some(EventType::Overdue),
            "reassign" => Some(EventType::Reassigned),
            "invite_email" => Some(EventType::InvitationSent),
            "invitation_opened" => Some(EventType::InvitationOpened),
            "invitation_completed" => Some(EventType::InvitationCompleted),
            _ => None,
        }
    }

    /// Whether `email_target` hears of it: the result, or that there will be none.
    pub fn is_mailed(self) -> bool {
        matches!(self, EventType::Processed | EventType::Cancelled)
    }

    /// Whether the invited person hears of it (at the invitation's address, while it is
    /// current): the invitation itself, something asked of them, the result, or that there
    /// will be none.
    pub fn is_told_to_person(self) -> bool {
        matches!(
            self,
            EventType::InvitationSent
                | EventType::IntegrationRequested
                | EventType::Processed
                | EventType::Cancelled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: i64,
    pub id: String,
    pub request_id: String,
    pub client_id: String,
    pub event_type: String,
    /// The request's state (database name) when it happened.
    pub status: String,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    /// To the request's `callback_data.url`, in the compat format.
    Callback,
    /// To the client's default webhook endpoint.
    Webhook,
    /// To the request's `email_target`.
    Email,
    /// To the address of the request's current invitation (the person's own page).
    Person,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Callback => "callback",
            DeliveryKind::Webhook => "webhook",
            DeliveryKind::Email => "email",
            DeliveryKind::Person => "persona",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryKind> {
        [
            DeliveryKind::Callback,
            DeliveryKind::Webhook,
            DeliveryKind::Email,
            DeliveryKind::Person,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Failed,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub request_id: String,
    pub client_id: String,
    pub kind: DeliveryKind,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub window_start: i64,
    pub last_error: Option<String>,
    pub last_status: Option<i64>,
    pub last_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
}

/// How an attempt ended, as the worker records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered {
        status: Option<i64>,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        error: String,
        status: Option<i64>,
        next_attempt_at: i64,
    },
    /// No more attempts: the delivery fails and a `delivery.failed` event is written.
    GiveUp {
        error: String,
        status: Option<i64>,
    },
}

/// Which deliveries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub client_id: Option<String>,
    /// Only deliveries of live (or of test) requests.
    pub live: Option<bool>,
    pub request_id: Option<String>,
    pub status: Option<DeliveryStatus>,
    pub limit: u32,
    pub offset: u32,
}

/// A client's default webhook endpoint and its signing secrets (raw bytes; `whsec_` + base64 on
/// the wire).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub client_id: String,
    pub url: Option<String>,
    pub secret: crate::crypto::DataKey,
    /// The secret before the last rotation, still signing until `previous_until`.
    pub previous: Option<crate::crypto::DataKey>,
    pub previous_until: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changes_make_events_and_other_history_entries_do_not() {
        for (action, event) in [
            ("submit", Some(EventType::Submitted)),
            ("ask_integration", Some(EventType::IntegrationRequested)),
            ("supply_integration", Some(EventType::IntegrationSupplied)),
            ("attach_result", Some(EventType::DocumentAdded)),
            ("close", Some(EventType::Processed)),
            ("cancel", Some(EventType::Cancelled)),
            ("client_cancel", Some(EventType::Cancelled)),
            ("overdue", Some(EventType::Overdue)),
            ("invite_email", Some(EventType::InvitationSent)),
            ("invitation_opened", Some(EventType::InvitationOpened)),
            ("invitation_completed", Some(EventType::InvitationCompleted)),
            ("invite_link", None),
            ("revoke_invitation", None),
            ("open", None),
            ("claim", None),
            ("release", None),
            ("read", None),
            ("note", None),
            ("purge", None),
        ] {
            assert_eq!(EventType::for_action(action), event, "{action}");
        }
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }
}

/// How often one delivery may be replayed: at most `max` replays within `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayLimit {
    pub max: u32,
    pub window_secs: i64,
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Due now, with a fresh retry window.
    Done,
    NotFound,
    /// Replayed `max` times within the window already; the next replay is allowed at
    /// `retry_at` (Unix seconds), when the oldest of them leaves the window.
    Limited {
        retry_at: i64,
    },
}
