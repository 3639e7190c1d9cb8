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

impl StoreError {
    /// Whether the database or the file store could not be reached at all (down, refusing
    /// connections, a file that cannot be opened), as opposed to refusing what was asked.
    pub fn is_unreachable(&self) -> bool {
        match self {
            StoreError::Database(e) => database_unreachable(e),
            StoreError::Migration(sqlx::migrate::MigrateError::Execute(e)) => {
                database_unreachable(e)
            }
            StoreError::Io(_) => true,
            // What object_store answers when a bucket's service cannot be talked to; the
            // other kinds (not found, precondition…) are answers.
            StoreError::Blob(object_store::Error::Generic { .. }) => true,
            _ => false,
        }
    }
}

fn database_unreachable(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::Tls(_) | E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed => true,
        E::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                // SQLSTATE class 08 (connection exception), 57P03 (cannot connect now).
                pg.code().starts_with("08") || pg.code() == "57P03"
            } else {
                // SQLite's SQLITE_CANTOPEN (14), in its extended forms too.
                db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                    && db
                        .code()
                        .and_then(|c| c.parse::<i32>().ok())
                        .is_some_and(|c| c & 0xff == 14)
            }
        }
        _ => false,
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
