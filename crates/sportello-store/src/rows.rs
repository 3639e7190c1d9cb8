//! Row → record mapping, shared by the SQLite and PostgreSQL stores: reading clients, tokens,
//! operators, requests, files and the other records out of either backend's rows (through
//! `columns`).

use sportello_domain::status::Status;

use crate::audit::{AuditEntry, AuditEvent};
use crate::columns::{json_req, Columns};
use crate::crypto::{DataKey, Keyring, WrappedKey};
use crate::ledger;
use crate::model::*;
use crate::outbox::*;
use crate::sealing::{context, open, row_key};
use crate::StoreError;

pub(crate) fn status_of(row: &impl Columns, column: &str) -> Result<Status, StoreError> {
    let s: String = row.col(column)?;
    Status::from_db(&s).ok_or_else(|| StoreError::Corrupt(format!("unknown status {s}")))
}

/// An amount of euros, kept as the decimal's text: a value that does not parse is a corrupt row,
/// never €0.
pub(crate) fn money_of(
    row: &impl Columns,
    column: &str,
) -> Result<rust_decimal::Decimal, StoreError> {
    let text: String = row.col(column)?;
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} is not an amount")))
}

pub(crate) fn client_from(row: &impl Columns) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        id: row.col("id")?,
        name: row.col("name")?,
        owner_email: row.col("owner_email")?,
        created_at: row.col("created_at")?,
    })
}

pub(crate) fn token_from(row: &impl Columns) -> Result<TokenRecord, StoreError> {
    let role: String = row.col("role")?;
    let scopes: String = row.col("scopes")?;
    Ok(TokenRecord {
        id: row.col("id")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        client_id: row.col("client_id")?,
        operator_id: row.col("operator_id")?,
        label: row.col("label")?,
        scopes: serde_json::from_str(&scopes)?,
        live: row.col("live")?,
        expires_at: row.col("expires_at")?,
        revoked_at: row.col("revoked_at")?,
        created_at: row.col("created_at")?,
    })
}

pub(crate) fn operator_from(row: &impl Columns) -> Result<OperatorRecord, StoreError> {
    Ok(OperatorRecord {
        id: row.col("id")?,
        provider_id: row.col("provider_id")?,
        name: row.col("name")?,
        email: row.col("email")?,
        disabled: row.col("disabled")?,
        created_at: row.col("created_at")?,
    })
}

pub(crate) fn request_from(
    keyring: &Keyring,
    row: &impl Columns,
) -> Result<RequestRecord, StoreError> {
    let id: String = row.col("id")?;
    let key = row_key(keyring, row, &id)?;
    let key = key.as_ref();
    let fields = match open(key, &id, "fields", row.col("fields")?)? {
        Some(text) => serde_json::from_str(&text)?,
        None => Default::default(),
    };
    let callback_data = open(key, &id, "callback_data", row.col("callback_data")?)?
        .map(|t| serde_json::from_str(&t))
        .transpose()?;
    let integrazione = open(key, &id, "integrazione", row.col("integrazione")?)?
        .map(|t| serde_json::from_str(&t))
        .transpose()?;
    Ok(RequestRecord {
        client_id: row.col("client_id")?,
        hash_visura: row.col("hash_visura")?,
        hash_requested: row.col("hash_requested")?,
        status: status_of(row, "status")?,
        live: row.col("live")?,
        provider_id: row.col("provider_id")?,
        operator_id: row.col("operator_id")?,
        fields,
        opzioni: json_req(row, "opzioni")?,
        prezzo_visura: money_of(row, "prezzo_visura")?,
        prezzo_totale: money_of(row, "prezzo_totale")?,
        price: row
            .col::<Option<String>>("price")?
            .map(|p| serde_json::from_str(&p))
            .transpose()?,
        email_target: open(key, &id, "email_target", row.col("email_target")?)?,
        callback_data,
        esito_codice: row.col("esito_codice")?,
        esito_info: row.col("esito_info")?,
        motivo_annullamento: open(
            key,
            &id,
            "motivo_annullamento",
            row.col("motivo_annullamento")?,
        )?,
        integrazione,
        timestamp_stati: json_req(row, "timestamp_stati")?,
        document: open(key, &id, "document", row.col("document")?)?
            .map(|t| serde_json::from_str(&t))
            .transpose()?,
        created_at: row.col("created_at")?,
        updated_at: row.col("updated_at")?,
        closed_at: row.col("closed_at")?,
        purged_at: row.col("purged_at")?,
        due_at: row.col("due_at")?,
        sla_paused_at: row.col("sla_paused_at")?,
        overdue_at: row.col("overdue_at")?,
        informativa_versione: row.col("informativa_versione")?,
        mandato_versione: row.col("mandato_versione")?,
        invito: open(key, &id, "invito", row.col("invito")?)?
            .map(|t| serde_json::from_str(&t))
            .transpose()?,
        invito_hash: row.col("invito_hash")?,
        consensi: row
            .col::<Option<String>>("consensi")?
            .map(|t| serde_json::from_str(&t))
            .transpose()?
            .unwrap_or_default(),
        version: row.col("version")?,
        id,
    })
}

pub(crate) fn file_kind(kind: &str) -> Result<FileKind, StoreError> {
    Ok(match kind {
        "input" => FileKind::Input,
        "result" => FileKind::Result,
        "supporting" => FileKind::Supporting,
        other => return Err(StoreError::Corrupt(format!("file kind {other}"))),
    })
}

pub(crate) fn file_from(
    key: Option<&DataKey>,
    row: &impl Columns,
) -> Result<FileRecord, StoreError> {
    let kind: String = row.col("kind")?;
    let id: String = row.col("id")?;
    let request_id: String = row.col("request_id")?;
    // A file's name is personal too ("rossi_mario_ci.pdf"); once purged it reads as "".
    let name = open(
        key,
        &request_id,
        &format!("file_name:{id}"),
        row.col("name")?,
    )?
    .unwrap_or_default();
    let size: i64 = row.col("size")?;
    Ok(FileRecord {
        id,
        request_id,
        kind: file_kind(&kind)?,
        campo: row.col("campo")?,
        name,
        mime: row.col("mime")?,
        size: u64::try_from(size).map_err(|_| StoreError::Corrupt("negative size".into()))?,
        sha256: row.col("sha256")?,
        blob_key: row.col("blob_key")?,
        created_at: row.col("created_at")?,
    })
}

pub(crate) fn admin_from(row: &impl Columns) -> Result<crate::AdminRecord, StoreError> {
    Ok(crate::AdminRecord {
        id: row.col("id")?,
        name: row.col("name")?,
        email: row.col("email")?,
        disabled: row.col("disabled")?,
        created_at: row.col("created_at")?,
    })
}

pub(crate) fn session_from(row: &impl Columns) -> Result<crate::SessionRecord, StoreError> {
    Ok(crate::SessionRecord {
        id_hash: row.col("id_hash")?,
        account: row.col("account")?,
        csrf: row.col("csrf")?,
        created_at: row.col("created_at")?,
        last_seen_at: row.col("last_seen_at")?,
    })
}

/// A wrapped key from its `key_id` and `wrapped` columns.
pub(crate) fn wrapped_from(row: &impl Columns) -> Result<WrappedKey, StoreError> {
    Ok(WrappedKey {
        key_id: row.col("key_id")?,
        bytes: row.col("wrapped")?,
    })
}

/// A history entry; its note is sealed with the request's data key (None once purged).
pub(crate) fn history_from(
    key: Option<&DataKey>,
    request_id: &str,
    row: &impl Columns,
) -> Result<HistoryEntry, StoreError> {
    Ok(HistoryEntry {
        request_id: row.col("request_id")?,
        at: row.col("at")?,
        status: status_of(row, "status")?,
        action: row.col("action")?,
        actor: row.col("actor")?,
        note: open(key, request_id, "history_note", row.col("note")?)?,
        source: None,
    })
}

pub(crate) fn audit_entry_from(row: &impl Columns) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.col("seq")?,
        event: AuditEvent {
            at: row.col("at")?,
            actor: row.col("actor")?,
            action: row.col("action")?,
            request_id: row.col("request_id")?,
            detail: row.col("detail")?,
            source: row.col("source")?,
        },
        prev_hash: row.col("prev_hash")?,
        hash: row.col("hash")?,
    })
}

/// A note, its body opened with the request's data key.
pub(crate) fn note_from(
    key: &DataKey,
    request_id: &str,
    row: &impl Columns,
) -> Result<crate::NoteRecord, StoreError> {
    let id: String = row.col("id")?;
    let sealed: String = row.col("body")?;
    Ok(crate::NoteRecord {
        body: key.open_text(&context(request_id, &format!("note:{id}")), &sealed)?,
        id,
        request_id: request_id.to_string(),
        author: row.col("author")?,
        created_at: row.col("created_at")?,
    })
}

pub(crate) fn event_from(row: &impl Columns) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        seq: row.col("seq")?,
        id: row.col("id")?,
        request_id: row.col("request_id")?,
        client_id: row.col("client_id")?,
        event_type: row.col("type")?,
        status: row.col("status")?,
        at: row.col("at")?,
    })
}

/// A delivery, with its event's type joined in as `event_type`.
pub(crate) fn delivery_from(row: &impl Columns) -> Result<DeliveryRecord, StoreError> {
    let kind: String = row.col("kind")?;
    let status: String = row.col("status")?;
    Ok(DeliveryRecord {
        id: row.col("id")?,
        event_id: row.col("event_id")?,
        event_type: row.col("event_type")?,
        request_id: row.col("request_id")?,
        client_id: row.col("client_id")?,
        kind: DeliveryKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery kind {kind}")))?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status}")))?,
        attempts: row.col("attempts")?,
        next_attempt_at: row.col("next_attempt_at")?,
        window_start: row.col("window_start")?,
        last_error: row.col("last_error")?,
        last_status: row.col("last_status")?,
        last_attempt_at: row.col("last_attempt_at")?,
        delivered_at: row.col("delivered_at")?,
        created_at: row.col("created_at")?,
    })
}

/// A ledger transaction without its legs.
pub(crate) fn transaction_from(row: &impl Columns) -> Result<ledger::Transaction, StoreError> {
    let kind: String = row.col("kind")?;
    let lines: String = row.col("lines")?;
    Ok(ledger::Transaction {
        id: row.col("id")?,
        at: row.col("at")?,
        kind: ledger::Kind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown ledger kind {kind}")))?,
        client_id: row.col("client_id")?,
        request_id: row.col("request_id")?,
        day: row.col("day")?,
        calls: row.col("calls")?,
        actor: row.col("actor")?,
        reason: row.col("reason")?,
        lines: serde_json::from_str(&lines)?,
        entries: Vec::new(),
    })
}

pub(crate) fn processed_from(row: &impl Columns) -> Result<ProcessedRequest, StoreError> {
    let price: Option<String> = row.col("price")?;
    Ok(ProcessedRequest {
        id: row.col("id")?,
        client_id: row.col("client_id")?,
        hash_visura: row.col("hash_visura")?,
        closed_at: row.col("closed_at")?,
        price: price.map(|p| serde_json::from_str(&p)).transpose()?,
        prezzo_totale: money_of(row, "prezzo_totale")?,
    })
}

/// One row of the SLA dashboard's read (`submitted_at` extracted from `timestamp_stati`).
pub(crate) fn sla_fact_from(row: &impl Columns) -> Result<SlaFact, StoreError> {
    Ok(SlaFact {
        provider_id: row.col("provider_id")?,
        hash_visura: row.col("hash_visura")?,
        status: status_of(row, "status")?,
        live: row.col("live")?,
        due_at: row.col("due_at")?,
        sla_paused_at: row.col("sla_paused_at")?,
        overdue_at: row.col("overdue_at")?,
        submitted_at: row.col("submitted_at")?,
        closed_at: row.col("closed_at")?,
    })
}

/// One row of a queue's per-state counts (`total`, `overdue`).
pub(crate) fn queue_count_from(row: &impl Columns) -> Result<QueueCount, StoreError> {
    let total: i64 = row.col("total")?;
    let overdue: i64 = row.col("overdue")?;
    Ok(QueueCount {
        status: status_of(row, "status")?,
        total: u64::try_from(total).unwrap_or(0),
        overdue: u64::try_from(overdue).unwrap_or(0),
    })
}
