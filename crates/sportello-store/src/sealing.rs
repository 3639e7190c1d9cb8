//! Sealing of the personal columns with the request's data key: the per-column context,
//! seal/open, the key joined into request rows, and the sealed form of a request.

use crate::columns::{to_json, to_json_opt, Columns};
use crate::crypto::{DataKey, Keyring, WrappedKey};
use crate::model::*;
use crate::StoreError;

/// The columns that hold personal data, sealed with the request's data key. The context binds
/// each value to its request and column.
pub(crate) fn context(request_id: &str, column: &str) -> String {
    format!("{request_id}:{column}")
}

pub(crate) fn seal(
    key: &DataKey,
    request_id: &str,
    column: &str,
    plain: Option<String>,
) -> Option<String> {
    plain.map(|p| key.seal_text(&context(request_id, column), &p))
}

pub(crate) fn open(
    key: Option<&DataKey>,
    request_id: &str,
    column: &str,
    sealed: Option<String>,
) -> Result<Option<String>, StoreError> {
    match (key, sealed) {
        (Some(key), Some(s)) => Ok(Some(key.open_text(&context(request_id, column), &s)?)),
        // No key: the request was purged and its personal data is gone.
        _ => Ok(None),
    }
}

/// The request's data key, from the `k_key_id`/`k_wrapped` columns joined in.
pub(crate) fn row_key(
    keyring: &Keyring,
    row: &impl Columns,
    request_id: &str,
) -> Result<Option<DataKey>, StoreError> {
    let key_id: Option<String> = row.col("k_key_id")?;
    let wrapped: Option<Vec<u8>> = row.col("k_wrapped")?;
    match (key_id, wrapped) {
        (Some(key_id), Some(bytes)) => Ok(Some(
            keyring.unwrap(&WrappedKey { key_id, bytes }, request_id)?,
        )),
        _ => Ok(None),
    }
}

pub(crate) const REQUEST_SELECT: &str = "SELECT r.*, k.key_id AS k_key_id, k.wrapped AS k_wrapped
     FROM requests r LEFT JOIN request_keys k ON k.request_id = r.id";

/// The personal columns of `r`, sealed.
pub(crate) struct Sealed {
    pub(crate) fields: Option<String>,
    pub(crate) email_target: Option<String>,
    pub(crate) callback_data: Option<String>,
    pub(crate) motivo_annullamento: Option<String>,
    pub(crate) integrazione: Option<String>,
    pub(crate) document: Option<String>,
    pub(crate) invito: Option<String>,
}

pub(crate) fn seal_request(key: &DataKey, r: &RequestRecord) -> Result<Sealed, StoreError> {
    Ok(Sealed {
        fields: seal(key, &r.id, "fields", Some(to_json(&r.fields)?)),
        email_target: seal(key, &r.id, "email_target", r.email_target.clone()),
        callback_data: seal(key, &r.id, "callback_data", to_json_opt(&r.callback_data)?),
        motivo_annullamento: seal(
            key,
            &r.id,
            "motivo_annullamento",
            r.motivo_annullamento.clone(),
        ),
        integrazione: seal(key, &r.id, "integrazione", to_json_opt(&r.integrazione)?),
        document: seal(key, &r.id, "document", to_json_opt(&r.document)?),
        invito: seal(key, &r.id, "invito", to_json_opt(&r.invito)?),
    })
}
