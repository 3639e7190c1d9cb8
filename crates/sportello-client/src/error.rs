//! What can go wrong talking to Sportello.

use serde::Deserialize;

/// One problem with one input, as the server names it: `campo` is `$n`, `email_target`, …
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Detail {
    pub campo: String,
    /// Machine-readable (`cf_check_character`, `required`, …).
    pub codice: String,
    pub messaggio: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server answered with its error envelope.
    #[error("HTTP {status}, error {code}: {message}")]
    Api {
        status: u16,
        /// The envelope's `error` (see the server's table of error codes).
        code: i64,
        message: String,
        /// Which fields failed, when the server says so.
        details: Vec<Detail>,
    },
    /// The server could not be reached, or the connection broke.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// An answer that is not what the API documents.
    #[error("unexpected answer: {0}")]
    Decode(String),
    /// A base URL or token that cannot be used.
    #[error("configuration: {0}")]
    Config(String),
}

impl Error {
    /// The server's error code, if the server answered.
    pub fn code(&self) -> Option<i64> {
        match self {
            Error::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// Worth trying again: the connection failed, the server was busy or rate-limited us.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            Error::Api { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }
}
