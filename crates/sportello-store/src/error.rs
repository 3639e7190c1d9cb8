//! Store errors. Messages carry no personal data: only ids and the database's own words.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (an idempotency key, a token hash…).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Blob(#[from] object_store::Error),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// The request's data key was destroyed: its personal data no longer exists.
    #[error("request {0} has been purged")]
    Purged(String),
    /// The client's wallet holds `balance` cents; the debit needs `required`.
    #[error("insufficient credit: {balance} cents held, {required} required")]
    InsufficientCredit { balance: i64, required: i64 },
    /// A setting of the store is unusable (a malformed storage URL…).
    #[error("configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
