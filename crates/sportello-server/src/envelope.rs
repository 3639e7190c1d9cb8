//! The `{data, success, message, error}` envelope every answer travels in.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope<T> {
    pub data: T,
    pub success: bool,
    /// Empty on success; on failure a sentence for a person, never containing personal data.
    pub message: String,
    /// Null on success; on failure the integer error code (see the README's table).
    pub error: Option<u16>,
}

impl<T> Envelope<T> {
    pub fn ok(data: T) -> Envelope<T> {
        Envelope {
            data,
            success: true,
            message: String::new(),
            error: None,
        }
    }
}

/// The failure shape: `data` is null, and `details` (our extension) says which field failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorEnvelope {
    #[schema(value_type = Option<Object>)]
    pub data: Option<()>,
    pub success: bool,
    pub message: String,
    pub error: u16,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<Detail>,
    /// With 402/211: the wallet's balance, what the request costs and what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credito: Option<Credito>,
    /// Our extension: the call's `x-request-id` (the caller's, or one made up for it), which
    /// names the server's log lines about it. Not a richiesta's `_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Why a debit was refused, in euro.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Credito {
    pub saldo: crate::wire::Money,
    pub richiesto: crate::wire::Money,
    pub mancante: crate::wire::Money,
}

/// One problem with one input: `campo` is `$n`, `opzioni.opzione_3`, `email_target`, …
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Detail {
    pub campo: String,
    /// Machine-readable (`cf_check_character`, `required`, …).
    pub codice: String,
    pub messaggio: String,
}
