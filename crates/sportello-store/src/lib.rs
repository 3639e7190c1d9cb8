//! Persistence for Sportello: the [`Store`] trait, its SQLite and PostgreSQL implementations,
//! and blob storage.
//!
//! Invariant: SQL lives here and nowhere else. The trait speaks in records; the rules about what
//! may change when live in the domain crate and the server's service layer.

pub mod audit;
pub mod backoffice;
pub mod blobs;
mod columns;
pub mod crypto;
pub mod error;
pub mod ids;
pub mod ledger;
pub mod model;
pub mod outbox;
pub mod postgres;
mod rows;
mod sealing;
pub mod setup_lock;
pub mod sqlite;

pub use backoffice::{
    AdminRecord, LoginAttempt, LoginLimits, LoginReservation, NoteRecord, SessionRecord,
};
pub use blobs::{BlobStore, S3Settings};
pub use error::StoreError;
pub use model::*;
pub use outbox::*;
pub use postgres::PgStore;
pub use setup_lock::SetupLock;
pub use sqlite::SqliteStore;

use async_trait::async_trait;

/// Clients, API tokens, operators, and the set-up lock. Implemented once, in `sql/accounts.rs`, for both backends.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// Taken by a starting process before the one-time set-up of a new installation (the demo,
    /// the first administrator), released after: processes starting together on one database
    /// take turns, so only one of them makes it (PostgreSQL: a session advisory lock; SQLite,
    /// whose database belongs to one process: nothing to wait for).
    async fn setup_lock(&self) -> Result<SetupLock, StoreError>;
    async fn create_client(&self, client: &ClientRecord) -> Result<(), StoreError>;
    async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError>;
    async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError>;
    async fn create_token(&self, token: &TokenRecord, secret_hash: &str) -> Result<(), StoreError>;
    async fn find_token(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Returns false when no such token exists.
    async fn revoke_token(&self, id: &str, at: i64) -> Result<bool, StoreError>;
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;
    async fn create_operator(&self, operator: &OperatorRecord) -> Result<(), StoreError>;
    async fn get_operator(&self, id: &str) -> Result<Option<OperatorRecord>, StoreError>;
    async fn list_operators(&self) -> Result<Vec<OperatorRecord>, StoreError>;
}

/// Providers, and routing a request to one. Implemented once, in `sql/providers.rs`, for both backends.
#[async_trait]
pub trait Providers: Send + Sync {
    async fn create_provider(&self, provider: &ProviderRecord) -> Result<(), StoreError>;
    async fn list_providers(&self) -> Result<Vec<ProviderRecord>, StoreError>;
    async fn get_provider(&self, id: &str) -> Result<Option<ProviderRecord>, StoreError>;
    /// Replaces a provider's denominazione and party data; false when no such provider exists.
    async fn update_provider(
        &self,
        id: &str,
        name: &str,
        party: &Party,
    ) -> Result<bool, StoreError>;
    /// Adds the next version (1, 2, …) of a provider's notice or mandate; None when no such
    /// provider exists. Earlier versions stay as they were.
    async fn add_provider_document(
        &self,
        provider_id: &str,
        kind: PaperKind,
        testo: &str,
        at: i64,
        by: &str,
    ) -> Result<Option<ProviderDocument>, StoreError>;
    /// Every version of a provider's notice or mandate, newest first.
    async fn provider_documents(
        &self,
        provider_id: &str,
        kind: PaperKind,
    ) -> Result<Vec<ProviderDocument>, StoreError>;
    /// The current (latest) version, if the provider has any.
    async fn current_provider_document(
        &self,
        provider_id: &str,
        kind: PaperKind,
    ) -> Result<Option<ProviderDocument>, StoreError>;
    /// One version of a provider's notice or mandate, if it exists.
    async fn provider_document(
        &self,
        provider_id: &str,
        kind: PaperKind,
        versione: i64,
    ) -> Result<Option<ProviderDocument>, StoreError>;
    /// The current version numbers of a provider's notice and mandate, in one statement and
    /// without reading the texts (the creation of every request asks).
    async fn current_provider_versions(
        &self,
        provider_id: &str,
    ) -> Result<PaperVersions, StoreError>;
    /// The provider offering `hash_visura` with the least open work, if any.
    async fn route(&self, hash_visura: &str) -> Result<Option<String>, StoreError>;
}

/// Requests: creation (with key, files, history, idempotency record, debit and subjects in one step), reading, listing, the optimistic update, idempotency look-ups. Implemented once, in `sql/requests.rs`, for both backends.
#[async_trait]
pub trait Requests: Send + Sync {
    /// Inserts a new request and all that comes with it ([`NewRequest`]) in one transaction. An
    /// idempotency key already taken gives [`StoreError::Conflict`]; a debit needs the funds:
    /// without enough credit nothing is written ([`StoreError::InsufficientCredit`]).
    async fn insert_request(&self, new: NewRequest<'_>) -> Result<(), StoreError>;
    async fn get_request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError>;
    async fn list_requests(&self, filter: &RequestFilter)
        -> Result<Vec<RequestRecord>, StoreError>;
    /// Writes `request` only if its stored version is still `request.version - 1`; returns false
    /// when someone else changed it first (optimistic concurrency). A `ledger` transaction (the
    /// debit of a submitted draft, the refund of a cancellation) is posted in the same
    /// transaction; a debit needs the funds, or nothing is written.
    async fn update_request(
        &self,
        request: &RequestRecord,
        files: &[FileRecord],
        history: Option<&HistoryEntry>,
        ledger: Option<&ledger::Transaction>,
    ) -> Result<bool, StoreError>;
    async fn find_idempotency(
        &self,
        client_id: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    /// The request whose current invitation's link secret hashes to `invito_hash` (SHA-256,
    /// hex); None for a revoked, replaced, purged or unknown link.
    async fn find_by_invitation(
        &self,
        invito_hash: &str,
    ) -> Result<Option<RequestRecord>, StoreError>;
}

/// Requests' data keys and their re-wrapping under a new master key. Implemented once, in `sql/keys.rs`, for both backends.
#[async_trait]
pub trait Keys: Send + Sync {
    /// The request's data key (None once purged).
    async fn data_key(&self, request_id: &str) -> Result<Option<crypto::DataKey>, StoreError>;
    /// Re-wraps every data key (requests' and second factors') and installation secret under
    /// the current master key; returns how many data keys changed.
    async fn rewrap_keys(&self) -> Result<u64, StoreError>;
}

/// What retention destroys, and the purge itself. Implemented once, in `sql/retention.rs`, for both backends.
#[async_trait]
pub trait Retention: Send + Sync {
    /// Closed, not yet purged requests of `hash_visura` closed before `closed_before`. With
    /// `requires_export`, a live request processed for a provider is listed only once that
    /// provider has downloaded its case file ([`Retention::record_fascicolo`]).
    async fn expired(
        &self,
        hash_visura: &str,
        closed_before: i64,
        requires_export: bool,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;
    /// Records that request `event.request_id`'s provider downloaded its case file (the first
    /// time is kept: retention asks only whether it was), with `event` in the audit trail, in
    /// one transaction. False (and nothing written) when no such request is left to export:
    /// unknown, or purged.
    async fn record_fascicolo(&self, event: &audit::AuditEvent) -> Result<bool, StoreError>;
    /// Live requests processed for a provider whose case file nobody downloaded yet and whose
    /// data is not purged, closed longest ago first: what retention may be waiting for.
    async fn awaiting_fascicolo(&self, limit: u32) -> Result<Vec<AwaitingFascicolo>, StoreError>;
    /// Test (sandbox) requests, in any state, created before `created_by` and not yet purged.
    async fn expired_tests(&self, created_by: i64, limit: u32) -> Result<Vec<String>, StoreError>;
    /// Drafts last changed before `updated_before` and not yet purged.
    async fn expired_drafts(
        &self,
        updated_before: i64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;
    /// Destroys a request's personal data: its data key, sealed columns, file names, notes and
    /// idempotency answers; keeps what accounting needs (ids, service, dates, prices, state).
    /// Recorded in the history as `purge` by `actor`. Returns the blobs to delete, or None if it
    /// was already purged or does not exist.
    async fn purge_request(
        &self,
        id: &str,
        at: i64,
        actor: &str,
    ) -> Result<Option<Purged>, StoreError>;
}

/// A request's files. Implemented once, in `sql/files.rs`, for both backends.
#[async_trait]
pub trait Files: Send + Sync {
    async fn list_files(&self, request_id: &str) -> Result<Vec<FileRecord>, StoreError>;
    /// Which of `request_ids` hold a file named by one of `campi` (an input file's `$n`, a
    /// supporting document's codice): each (request id, kind, campo) once. Reads no sealed
    /// column, so a page of many requests (the operators' queue) asks once, not once a row.
    async fn named_files(
        &self,
        request_ids: &[String],
        campi: &[String],
    ) -> Result<Vec<(String, FileKind, String)>, StoreError>;
}

/// A request's history. Implemented once, in `sql/history.rs`, for both backends.
#[async_trait]
pub trait History: Send + Sync {
    async fn history(&self, request_id: &str) -> Result<Vec<HistoryEntry>, StoreError>;
}

/// The keyed index of the people (codici fiscali) a request is about. Implemented once, in `sql/subjects.rs`, for both backends.
#[async_trait]
pub trait Subjects: Send + Sync {
    /// Records that the request concerns these people (codici fiscali, normalised), as keyed
    /// hashes only.
    async fn index_subjects(&self, request_id: &str, codes: &[String]) -> Result<(), StoreError>;
    /// The requests concerning this codice fiscale (normalised), not yet purged.
    async fn find_by_subject(&self, code: &str) -> Result<Vec<String>, StoreError>;
}

/// The audit chain. Implemented once, in `sql/audit.rs`, for both backends.
#[async_trait]
pub trait Audit: Send + Sync {
    /// Appends to the audit trail, chaining it to the previous entry.
    async fn audit(&self, event: &audit::AuditEvent) -> Result<audit::AuditEntry, StoreError>;
    /// Entries in order, from `after_seq` (exclusive), at most `limit`; optionally of one request.
    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u32,
        request_id: Option<&str>,
    ) -> Result<Vec<audit::AuditEntry>, StoreError>;
    /// The chain's head: the last sequence number and hash, and the first keyed entry.
    async fn audit_head(&self) -> Result<audit::Head, StoreError>;
    /// The key the chain's links are made with, to verify them.
    fn audit_key(&self) -> &audit::ChainKey;
}

/// The back office: admins, passwords, sessions, lock-out, TOTP, notes. Implemented once, in `sql/backoffice.rs`, for both backends.
#[async_trait]
pub trait Backoffice: Send + Sync {
    async fn create_admin(&self, admin: &AdminRecord) -> Result<(), StoreError>;
    async fn get_admin(&self, id: &str) -> Result<Option<AdminRecord>, StoreError>;
    /// By e-mail, compared case-insensitively.
    async fn find_admin_by_email(&self, email: &str) -> Result<Option<AdminRecord>, StoreError>;
    async fn list_admins(&self) -> Result<Vec<AdminRecord>, StoreError>;
    /// By e-mail, compared case-insensitively.
    async fn find_operators_by_email(&self, email: &str)
        -> Result<Vec<OperatorRecord>, StoreError>;
    /// Returns false when no such operator exists.
    async fn set_operator_disabled(&self, id: &str, disabled: bool) -> Result<bool, StoreError>;
    /// Stores the argon2id PHC string of `account` (`admin:<id>`, `operator:<id>`).
    async fn set_password(&self, account: &str, phc: &str, at: i64) -> Result<(), StoreError>;
    async fn password(&self, account: &str) -> Result<Option<String>, StoreError>;
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    async fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError>;
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of `account` (after a password change or when it is disabled).
    async fn delete_sessions(&self, account: &str) -> Result<(), StoreError>;
    /// Reserves a password check before it is made: the attempt is recorded as a failure
    /// unless its source or its e-mail hash already has its limit of attempts since
    /// `limits.since` (then nothing is written, and the answer says which). Count and record
    /// are one step for every process on the database: of any number of parallel attempts, at
    /// most the limit are reserved.
    async fn reserve_login(
        &self,
        attempt: &LoginAttempt,
        limits: &LoginLimits,
    ) -> Result<LoginReservation, StoreError>;
    /// A login succeeded: its reserved attempt (if any) is no failure, and the earlier failures
    /// of `email_hash` stop counting against that address (they still count against their
    /// sources).
    async fn login_succeeded(
        &self,
        attempt: Option<i64>,
        email_hash: &str,
    ) -> Result<(), StoreError>;
    /// Deletes the sessions last seen at or before `seen_by` or created at or before
    /// `created_by` (expired either way); how many.
    async fn delete_expired_sessions(
        &self,
        seen_by: i64,
        created_by: i64,
    ) -> Result<u64, StoreError>;
    /// Deletes the failed logins recorded before `before` (outside any lock-out window); how
    /// many.
    async fn delete_login_failures_before(&self, before: i64) -> Result<u64, StoreError>;
    /// Seals the note's body with the request's data key ([`StoreError::Purged`] without one).
    async fn add_note(&self, note: &NoteRecord) -> Result<(), StoreError>;
    /// Oldest first; empty once the request was purged.
    async fn notes(&self, request_id: &str) -> Result<Vec<NoteRecord>, StoreError>;
    /// Stores a new TOTP key for `account` (wrapped by the master key), not yet enabled.
    async fn put_totp_key(&self, account: &str, key: &crypto::DataKey) -> Result<(), StoreError>;
    /// Requires the TOTP key at login from now on; false when there is none.
    async fn enable_totp(&self, account: &str, at: i64) -> Result<bool, StoreError>;
    async fn delete_totp(&self, account: &str) -> Result<(), StoreError>;
    /// The key and when it was enabled (None while being set up).
    async fn totp_key(
        &self,
        account: &str,
    ) -> Result<Option<(crypto::DataKey, Option<i64>)>, StoreError>;
    /// Records that the TOTP code of time step `step` was accepted for `account`; false (a
    /// replay) when this step or a later one already was, or there is no key.
    async fn accept_totp_step(&self, account: &str, step: i64) -> Result<bool, StoreError>;
    /// Replaces the services a provider works; false when no such provider exists.
    async fn set_provider_services(
        &self,
        id: &str,
        services: &[String],
    ) -> Result<bool, StoreError>;
}

/// The outbox: events, deliveries and their leases, webhook settings. Implemented once, in `sql/outbox.rs`, for both backends.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Leases up to `limit` due deliveries to `owner` until `now + lease_secs`.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: i64,
        lease_secs: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Records an attempt made under `owner`'s lease; false when the lease was lost. Giving up
    /// writes a `delivery.failed` event in the same transaction.
    async fn finish_delivery(
        &self,
        id: &str,
        owner: &str,
        now: i64,
        outcome: &AttemptOutcome,
    ) -> Result<bool, StoreError>;
    /// Drops every lease `owner` still holds (a worker stopping cleanly), so another process
    /// claims those deliveries at once instead of after the lease expires. Returns how many.
    async fn release_leases(&self, owner: &str) -> Result<u64, StoreError>;
    async fn get_delivery(&self, id: &str) -> Result<Option<DeliveryRecord>, StoreError>;
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    /// Makes the delivery due now with a fresh retry window, unless it was replayed
    /// `limit.max` times within the last `limit.window_secs` (counted here, in the database, so
    /// every process sees the same count).
    async fn replay_delivery(
        &self,
        id: &str,
        now: i64,
        limit: &ReplayLimit,
    ) -> Result<Replay, StoreError>;
    /// A request's events, in order.
    async fn events(&self, request_id: &str) -> Result<Vec<EventRecord>, StoreError>;
    /// The client's webhook endpoint and signing secrets (a first secret is created if none).
    async fn webhook_settings(&self, client_id: &str) -> Result<WebhookSettings, StoreError>;
    async fn set_webhook_url(&self, client_id: &str, url: Option<&str>) -> Result<(), StoreError>;
    /// A new signing secret; the old one still signs until `previous_until` (None: not at all).
    async fn rotate_webhook_secret(
        &self,
        client_id: &str,
        previous_until: Option<i64>,
    ) -> Result<crypto::DataKey, StoreError>;
}

/// The SLA: overdue requests, a provider's queue, the dashboard's facts. Implemented once, in `sql/sla.rs`, for both backends.
#[async_trait]
pub trait Sla: Send + Sync {
    /// Open requests whose running SLA clock passed `due_at` before `now` and that are not
    /// marked overdue yet, most overdue first.
    async fn overdue_candidates(&self, now: i64, limit: u32) -> Result<Vec<String>, StoreError>;
    /// Per state, the requests of a provider's queue (drafts never), and how many are overdue.
    async fn queue_counts(&self, queue: &ProviderQueue) -> Result<Vec<QueueCount>, StoreError>;
    /// The SLA facts of every open request and of those closed since `closed_since`, for the
    /// dashboard.
    async fn sla_facts(&self, closed_since: i64) -> Result<Vec<SlaFact>, StoreError>;
}

/// What the metrics show of the queues. Implemented once, in `sql/metrics.rs`, for both backends.
#[async_trait]
pub trait Metrics: Send + Sync {
    /// What the metrics show of the queues at `now`: open requests by state, overdue ones, and
    /// the outbox backlog. A handful of aggregate counts, cheap enough for a scrape.
    async fn gauges(&self, now: i64) -> Result<Gauges, StoreError>;
    /// What the group commit's writers did since the store was opened (`sportello bench`
    /// divides it by the creations).
    fn write_counts(&self) -> WriteCounts;
}

/// Counters of the group commit's writers, since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// Statements run, BEGIN and COMMIT included. sqlx sends each as one round trip on
    /// PostgreSQL (and hands each to the connection's thread on SQLite).
    pub statements: u64,
    /// Creations written or refused.
    pub creations: u64,
    /// Transactions begun: one per batch, one more for a batch written again.
    pub transactions: u64,
    /// Batches written again one creation per savepoint.
    pub split: u64,
}

/// The ledger: money, metered calls, the books check, settlements. Implemented once, in `sql/ledger.rs`, for both backends.
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Posts a ledger transaction on its own (a top-up, an adjustment), with its audit entry in
    /// the same transaction. Returns its id and the client's balance right after it, read in
    /// that transaction (a movement posted at the same time is not in it).
    async fn post(
        &self,
        transaction: &ledger::Transaction,
        funds: ledger::Funds,
        audit: Option<&audit::AuditEvent>,
    ) -> Result<ledger::Posted, StoreError>;
    /// Like [`Store::post`] for a top-up or an adjustment made with an `Idempotency-Key`: the
    /// first call with a key posts and records the key, the transaction and the balance after
    /// it, in one transaction; a later one with the same fingerprint posts nothing and gets them
    /// back; one with another fingerprint is refused.
    async fn post_keyed(
        &self,
        transaction: &ledger::Transaction,
        audit: &audit::AuditEvent,
        key: &ledger::PostKey,
    ) -> Result<ledger::Keyed, StoreError>;
    /// A client's balance in cents: the sum of its wallet's legs (before `before`, if given).
    async fn balance(&self, client_id: &str, before: Option<i64>) -> Result<i64, StoreError>;
    /// Ledger transactions with their legs, oldest first, with `from <= at < to`, of one client
    /// or of all.
    async fn transactions(
        &self,
        client_id: Option<&str>,
        from: i64,
        to: i64,
    ) -> Result<Vec<ledger::Transaction>, StoreError>;
    /// Adds metered calls `(client_id, day, calls)` to their counters and bills every counted
    /// day before `today` (one fees transaction per client and day). Returns what it billed.
    async fn record_calls(
        &self,
        calls: &[(String, String, u64)],
        today: &str,
        at: i64,
    ) -> Result<Vec<ledger::Transaction>, StoreError>;
    /// Calls counted for a client and not yet billed, per day.
    async fn unbilled_calls(&self, client_id: &str) -> Result<Vec<(String, u64)>, StoreError>;
    /// Checks that the books balance.
    async fn check_ledger(&self) -> Result<ledger::Check, StoreError>;
    /// Live requests a provider processed (closed as evasa) with `from <= closed_at < to`.
    async fn processed(
        &self,
        provider_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<ProcessedRequest>, StoreError>;
}

/// Everything the server needs from a database: the sum of the parts above. Each method is one
/// transaction.
pub trait Store:
    Accounts
    + Providers
    + Requests
    + Keys
    + Retention
    + Files
    + History
    + Subjects
    + Audit
    + Backoffice
    + Outbox
    + Sla
    + Metrics
    + Ledger
    + 'static
{
}

impl Store for SqliteStore {}
impl Store for PgStore {}
