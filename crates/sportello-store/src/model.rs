//! The records the store keeps.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sportello_domain::status::Status;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    pub id: String,
    pub name: String,
    /// Shown as `owner` on the wire, as the commercial API shows the account e-mail.
    pub owner_email: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Client, Role::Operator, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub role: Role,
    pub client_id: Option<String>,
    pub operator_id: Option<String>,
    pub label: String,
    /// `METHOD:/segment` patterns, `*` as wildcard (`GET:/visure`, `*:/*`).
    pub scopes: Vec<String>,
    /// Live or test mode.
    pub live: bool,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    pub id: String,
    /// The denominazione (the column keeps its first name, `name`).
    pub name: String,
    /// Canonical hashes of the services it works.
    pub services: Vec<String>,
    pub created_at: i64,
    /// Who it is, as a client is told; empty until an admin fills it in.
    pub party: Party,
}

/// A provider's identity as a legal party. The store keeps what the server checked (a `tipo`
/// of `CAF` or `Patronato`, a valid codice fiscale or partita IVA, a province's sigla).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    pub tipo: Option<String>,
    pub codice_fiscale: Option<String>,
    pub indirizzo: Option<String>,
    pub comune: Option<String>,
    pub provincia: Option<String>,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub telefono: Option<String>,
    /// Whether an on-screen acceptance of the mandate (a *firma elettronica semplice*) counts
    /// as the signed mandate; false by default, as INPS practice wants a handwritten or
    /// advanced signature.
    pub mandato_fes_accettato: bool,
}

/// The two texts a provider gives the person it serves, each versioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperKind {
    /// The privacy notice (GDPR art. 13).
    Informativa,
    /// The mandate template ("mandato di assistenza e rappresentanza").
    Mandato,
}

impl PaperKind {
    pub fn as_db(self) -> &'static str {
        match self {
            PaperKind::Informativa => "informativa",
            PaperKind::Mandato => "mandato",
        }
    }

    pub fn parse(s: &str) -> Option<PaperKind> {
        match s {
            "informativa" => Some(PaperKind::Informativa),
            "mandato" => Some(PaperKind::Mandato),
            _ => None,
        }
    }
}

/// One version of a provider's notice or mandate. Never changed once written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderDocument {
    pub provider_id: String,
    pub kind: PaperKind,
    /// 1, 2, … per provider and kind; the highest is the current one.
    pub versione: i64,
    pub testo: String,
    pub created_at: i64,
    /// Who saved it (`admin:<token id>`, `backoffice:<account>`, `cli`, `system`).
    pub created_by: String,
}

/// The current version of a provider's notice and of its mandate (None: none saved yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaperVersions {
    pub informativa: Option<i64>,
    pub mandato: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRecord {
    pub id: String,
    pub provider_id: String,
    pub name: String,
    pub email: String,
    pub disabled: bool,
    pub created_at: i64,
}

/// A stored field value: text, or a reference to an uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredValue {
    Text(String),
    File { file: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub messaggio: String,
    /// `$n` keys the operator asks for.
    pub campi: Vec<String>,
    /// Documents beyond the form the operator asks for (empty on integrations asked before
    /// documents existed).
    #[serde(default)]
    pub documenti: Vec<AskedDocument>,
    pub at: i64,
    /// When the client answered `campi` while documents were still awaited: the request goes
    /// back to the queue once the last of them arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campi_at: Option<i64>,
}

/// A document an operator asks for: its slug (`contratto_locazione`) and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskedDocument {
    pub codice: String,
    pub descrizione: String,
    /// The file that answered it, once the client has sent one with this codice (recorded in
    /// the same write as the file, so no upload is missed or counted twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fornito: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// The names of the files inside the archive, shown as `allegati`.
    #[serde(default)]
    pub allegati: Vec<String>,
    pub blob_key: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub id: String,
    pub client_id: String,
    /// The canonical service hash.
    pub hash_visura: String,
    /// The hash the client used (an alias answers with itself).
    pub hash_requested: String,
    pub status: Status,
    pub live: bool,
    pub provider_id: Option<String>,
    pub operator_id: Option<String>,
    /// `$n` → value. Drafts keep raw text (files inline); submitted requests keep normalised
    /// text and file references.
    pub fields: BTreeMap<String, StoredValue>,
    /// Names of the chosen options (`opzione_0`…).
    pub opzioni: Vec<String>,
    /// Euros, exact (stored as the decimal's text).
    pub prezzo_visura: Decimal,
    pub prezzo_totale: Decimal,
    /// The price lines as priced at creation (None on requests older than billing). Never
    /// changed by an update: it is what the debit charged and a refund gives back.
    pub price: Option<sportello_domain::pricing::Quote>,
    pub email_target: Option<String>,
    pub callback_data: Option<serde_json::Value>,
    pub esito_codice: String,
    pub esito_info: String,
    pub motivo_annullamento: Option<String>,
    pub integrazione: Option<Integration>,
    pub timestamp_stati: BTreeMap<String, i64>,
    pub document: Option<DocumentRecord>,
    pub created_at: i64,
    pub updated_at: i64,
    /// When it reached a final state (kept by the store).
    pub closed_at: Option<i64>,
    /// When its personal data was destroyed (kept by the store).
    pub purged_at: Option<i64>,
    /// Bumped on every update; see [`crate::Store::update_request`].
    pub version: i64,
    /// SLA: when the work is due (fixed at submission, moved while waiting for the client).
    pub due_at: Option<i64>,
    /// SLA: when the clock stopped to wait for the client's integration; None while it runs.
    pub sla_paused_at: Option<i64>,
    /// SLA: when the escalation job marked it overdue (once).
    pub overdue_at: Option<i64>,
    /// The version of the provider's privacy notice current when the request was routed to it.
    pub informativa_versione: Option<i64>,
    /// The version of the provider's mandate template current when the request was routed.
    pub mandato_versione: Option<i64>,
    /// The invitation of the person the practice is about to their own page; sealed, since it
    /// holds their address.
    pub invito: Option<sportello_domain::invitation::Invitation>,
    /// SHA-256 of the current invitation's link secret: how the page finds its request. Cleared
    /// when the invitation is revoked and when the request is purged.
    pub invito_hash: Option<String>,
    /// What the person agreed to, in order. Nothing personal, so kept after the purge: the
    /// compliance record outlives the data.
    pub consensi: Vec<sportello_domain::invitation::Consent>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Uploaded by the client in `json_visura`.
    Input,
    /// Attached by an operator as part of the result.
    Result,
    /// A document beyond the form, supplied by the client (`POST /richiesta/{_id}/documenti`);
    /// its `campo` is the document's codice.
    Supporting,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Input => "input",
            FileKind::Result => "result",
            FileKind::Supporting => "supporting",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub id: String,
    pub request_id: String,
    pub kind: FileKind,
    /// The `$n` field an input file belongs to; a supporting document's codice.
    pub campo: Option<String>,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    pub blob_key: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub request_id: String,
    pub at: i64,
    pub status: Status,
    /// What happened (`submit`, `claim`, …).
    pub action: String,
    /// Who: `client:<id>`, `operator:<id>`, `system`.
    pub actor: String,
    pub note: Option<String>,
    /// Where the change came from (the caller's address), for the audit trail; not kept in the
    /// history itself.
    pub source: Option<String>,
}

/// Everything a request's creation writes, in one transaction: the request (its personal columns
/// sealed with `key`, which is stored wrapped by the master key), its input files, its first
/// history entry, the idempotency record, the debit and the subject index.
#[derive(Debug, Clone, Copy)]
pub struct NewRequest<'a> {
    pub request: &'a RequestRecord,
    pub key: &'a crate::crypto::DataKey,
    pub files: &'a [FileRecord],
    pub history: &'a HistoryEntry,
    pub idempotency: Option<&'a IdempotencyRecord>,
    pub debit: Option<&'a crate::ledger::Transaction>,
    /// The codici fiscali (and partite IVA) the request is about, in the form the lookup index
    /// keys on; they are stored only as keyed hashes.
    pub subjects: &'a [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub client_id: String,
    pub key: String,
    pub body_sha256: String,
    pub request_id: String,
    /// The JSON answer given the first time, replayed verbatim.
    pub response: String,
    pub created_at: i64,
}

/// Which requests to list. Newest first unless `oldest_first`.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub client_id: Option<String>,
    /// Test or live requests only.
    pub live: Option<bool>,
    /// Requests routed to this provider, or not routed yet but of a service it offers.
    pub provider_queue: Option<ProviderQueue>,
    pub statuses: Vec<Status>,
    pub hash_visura: Option<String>,
    pub operator_id: Option<String>,
    pub unassigned: bool,
    pub oldest_first: bool,
    /// Only requests the escalation job marked overdue (true) or not marked (false).
    pub overdue: Option<bool>,
    /// The operators' order: overdue first, then by due time (then oldest first).
    pub by_due: bool,
    pub limit: u32,
    pub offset: u32,
}

#[derive(Debug, Clone)]
pub struct ProviderQueue {
    pub provider_id: String,
    pub services: Vec<String>,
}

/// One submitted request as the SLA dashboard counts it: ids and times, nothing personal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaFact {
    pub provider_id: Option<String>,
    pub hash_visura: String,
    pub status: Status,
    pub live: bool,
    pub due_at: Option<i64>,
    pub sla_paused_at: Option<i64>,
    pub overdue_at: Option<i64>,
    /// When it left draft (`timestamp_stati.in_erogazione`).
    pub submitted_at: Option<i64>,
    pub closed_at: Option<i64>,
}

/// How many requests of a queue are in one state, and how many of them are overdue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCount {
    pub status: Status,
    pub total: u64,
    pub overdue: u64,
}

/// Aggregate counts for the metrics: nothing personal, nothing per request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Submitted requests not yet closed, by state (states with none are absent).
    pub open_by_status: Vec<(Status, u64)>,
    /// Open requests marked overdue.
    pub overdue: u64,
    /// Pending deliveries whose next attempt is due.
    pub deliveries_due: u64,
    /// Pending deliveries, due or waiting for a retry.
    pub deliveries_pending: u64,
}

/// What a purge leaves to delete outside the database: the request's blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purged {
    pub request_id: String,
    pub blob_keys: Vec<String>,
}

/// A processed request whose case file its provider has not downloaded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwaitingFascicolo {
    pub request_id: String,
    pub hash_visura: String,
    pub provider_id: String,
    pub closed_at: i64,
}

/// A processed request, for the provider's settlement.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedRequest {
    pub id: String,
    pub client_id: String,
    pub hash_visura: String,
    pub closed_at: i64,
    pub price: Option<sportello_domain::pricing::Quote>,
    pub prezzo_totale: Decimal,
}
