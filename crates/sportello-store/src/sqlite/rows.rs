//! Row → record mapping: reading clients, tokens, operators, requests and files out of
//! SQLite rows, and the JSON column helpers.

use sportello_domain::status::Status;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::sealing::{open, row_key};
use crate::crypto::{DataKey, Keyring};
use crate::model::*;
use crate::StoreError;

pub(super) fn status_of(row: &SqliteRow, column: &str) -> Result<Status, StoreError> {
    let s: String = row.try_get(column)?;
    Status::from_db(&s).ok_or_else(|| StoreError::Corrupt(format!("unknown status {s}")))
}

pub(super) fn client_from(row: &SqliteRow) -> Result<ClientRecord, StoreError> {
    Ok(ClientRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        owner_email: row.try_get("owner_email")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn token_from(row: &SqliteRow) -> Result<TokenRecord, StoreError> {
    let role: String = row.try_get("role")?;
    let scopes: String = row.try_get("scopes")?;
    Ok(TokenRecord {
        id: row.try_get("id")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role {role}")))?,
        client_id: row.try_get("client_id")?,
        operator_id: row.try_get("operator_id")?,
        label: row.try_get("label")?,
        scopes: serde_json::from_str(&scopes)?,
        live: row.try_get("live")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn operator_from(row: &SqliteRow) -> Result<OperatorRecord, StoreError> {
    Ok(OperatorRecord {
        id: row.try_get("id")?,
        provider_id: row.try_get("provider_id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        disabled: row.try_get("disabled")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn json_req<T: serde::de::DeserializeOwned>(
    row: &SqliteRow,
    column: &str,
) -> Result<T, StoreError> {
    let raw: String = row.try_get(column)?;
    Ok(serde_json::from_str(&raw)?)
}

pub(super) fn request_from(
    keyring: &Keyring,
    row: &SqliteRow,
) -> Result<RequestRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let key = row_key(keyring, row, &id)?;
    let key = key.as_ref();
    let fields = match open(key, &id, "fields", row.try_get("fields")?)? {
        Some(text) => serde_json::from_str(&text)?,
        None => Default::default(),
    };
    let callback_data = open(key, &id, "callback_data", row.try_get("callback_data")?)?
        .map(|t| serde_json::from_str(&t))
        .transpose()?;
    let integrazione = open(key, &id, "integrazione", row.try_get("integrazione")?)?
        .map(|t| serde_json::from_str(&t))
        .transpose()?;
    Ok(RequestRecord {
        client_id: row.try_get("client_id")?,
        hash_visura: row.try_get("hash_visura")?,
        hash_requested: row.try_get("hash_requested")?,
        status: status_of(row, "status")?,
        live: row.try_get("live")?,
        provider_id: row.try_get("provider_id")?,
        operator_id: row.try_get("operator_id")?,
        fields,
        opzioni: json_req(row, "opzioni")?,
        prezzo_visura: row.try_get("prezzo_visura")?,
        prezzo_totale: row.try_get("prezzo_totale")?,
        price: row
            .try_get::<Option<String>, _>("price")?
            .map(|p| serde_json::from_str(&p))
            .transpose()?,
        email_target: open(key, &id, "email_target", row.try_get("email_target")?)?,
        callback_data,
        esito_codice: row.try_get("esito_codice")?,
        esito_info: row.try_get("esito_info")?,
        motivo_annullamento: open(
            key,
            &id,
            "motivo_annullamento",
            row.try_get("motivo_annullamento")?,
        )?,
        integrazione,
        timestamp_stati: json_req(row, "timestamp_stati")?,
        document: open(key, &id, "document", row.try_get("document")?)?
            .map(|t| serde_json::from_str(&t))
            .transpose()?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        closed_at: row.try_get("closed_at")?,
        purged_at: row.try_get("purged_at")?,
        due_at: row.try_get("due_at")?,
        sla_paused_at: row.try_get("sla_paused_at")?,
        overdue_at: row.try_get("overdue_at")?,
        version: row.try_get("version")?,
        id,
    })
}

pub(super) fn file_from(key: Option<&DataKey>, row: &SqliteRow) -> Result<FileRecord, StoreError> {
    let kind: String = row.try_get("kind")?;
    let id: String = row.try_get("id")?;
    let request_id: String = row.try_get("request_id")?;
    // A file's name is personal too ("rossi_mario_ci.pdf"); once purged it reads as "".
    let name = open(
        key,
        &request_id,
        &format!("file_name:{id}"),
        row.try_get("name")?,
    )?
    .unwrap_or_default();
    let size: i64 = row.try_get("size")?;
    Ok(FileRecord {
        id,
        request_id,
        kind: match kind.as_str() {
            "input" => FileKind::Input,
            "result" => FileKind::Result,
            other => return Err(StoreError::Corrupt(format!("file kind {other}"))),
        },
        campo: row.try_get("campo")?,
        name,
        mime: row.try_get("mime")?,
        size: u64::try_from(size).map_err(|_| StoreError::Corrupt("negative size".into()))?,
        sha256: row.try_get("sha256")?,
        blob_key: row.try_get("blob_key")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    Ok(serde_json::to_string(value)?)
}

pub(super) fn to_json_opt<T: serde::Serialize>(
    value: &Option<T>,
) -> Result<Option<String>, StoreError> {
    value.as_ref().map(to_json).transpose()
}
