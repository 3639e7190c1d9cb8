//! The back office's tables: admins, passwords, sessions, failed logins, TOTP keys, notes,
//! providers' services.

use sqlx::Row;

use super::keys;
use super::SqliteStore;
use crate::crypto::DataKey;
use crate::model::*;
use crate::rows::{admin_from, note_from, operator_from, session_from, wrapped_from};
use crate::sealing::context;
use crate::{
    AdminRecord, LoginAttempt, LoginLimits, LoginReservation, NoteRecord, SessionRecord, StoreError,
};

fn unique_violation(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict("already exists".into())
        }
        _ => StoreError::Database(e),
    }
}

pub(super) async fn create_admin(store: &SqliteStore, a: &AdminRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO admins (id, name, email, disabled, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&a.id)
    .bind(&a.name)
    .bind(&a.email)
    .bind(a.disabled)
    .bind(a.created_at)
    .execute(&store.pool)
    .await
    .map_err(unique_violation)?;
    Ok(())
}

pub(super) async fn get_admin(
    store: &SqliteStore,
    id: &str,
) -> Result<Option<AdminRecord>, StoreError> {
    sqlx::query("SELECT * FROM admins WHERE id = ?")
        .bind(id)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(admin_from)
        .transpose()
}

pub(super) async fn find_admin_by_email(
    store: &SqliteStore,
    email: &str,
) -> Result<Option<AdminRecord>, StoreError> {
    sqlx::query("SELECT * FROM admins WHERE lower(email) = lower(?)")
        .bind(email)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(admin_from)
        .transpose()
}

pub(super) async fn list_admins(store: &SqliteStore) -> Result<Vec<AdminRecord>, StoreError> {
    sqlx::query("SELECT * FROM admins ORDER BY created_at, id")
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(admin_from)
        .collect()
}

pub(super) async fn find_operators_by_email(
    store: &SqliteStore,
    email: &str,
) -> Result<Vec<OperatorRecord>, StoreError> {
    sqlx::query("SELECT * FROM operators WHERE lower(email) = lower(?) ORDER BY created_at, id")
        .bind(email)
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(operator_from)
        .collect()
}

pub(super) async fn set_operator_disabled(
    store: &SqliteStore,
    id: &str,
    disabled: bool,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE operators SET disabled = ? WHERE id = ?")
        .bind(disabled)
        .bind(id)
        .execute(&store.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn set_password(
    store: &SqliteStore,
    account: &str,
    phc: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO passwords (account, phc, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (account) DO UPDATE SET phc = excluded.phc, updated_at = excluded.updated_at",
    )
    .bind(account)
    .bind(phc)
    .bind(at)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn password(
    store: &SqliteStore,
    account: &str,
) -> Result<Option<String>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT phc FROM passwords WHERE account = ?")
            .bind(account)
            .fetch_optional(&store.pool)
            .await?,
    )
}

pub(super) async fn create_session(
    store: &SqliteStore,
    s: &SessionRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, account, csrf, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&s.id_hash)
    .bind(&s.account)
    .bind(&s.csrf)
    .bind(s.created_at)
    .bind(s.last_seen_at)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn session(
    store: &SqliteStore,
    id_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    sqlx::query("SELECT * FROM sessions WHERE id_hash = ?")
        .bind(id_hash)
        .fetch_optional(&store.pool)
        .await?
        .as_ref()
        .map(session_from)
        .transpose()
}

pub(super) async fn touch_session(
    store: &SqliteStore,
    id_hash: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sessions SET last_seen_at = MAX(last_seen_at, ?) WHERE id_hash = ?")
        .bind(at)
        .bind(id_hash)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn delete_session(store: &SqliteStore, id_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
        .bind(id_hash)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn delete_sessions(store: &SqliteStore, account: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE account = ?")
        .bind(account)
        .execute(&store.pool)
        .await?;
    Ok(())
}

/// One `BEGIN IMMEDIATE` transaction: it holds the database's write lock from its first
/// statement, so no other connection or process counts between our count and our insert.
pub(super) async fn reserve_login(
    store: &SqliteStore,
    attempt: &LoginAttempt,
    limits: &LoginLimits,
) -> Result<LoginReservation, StoreError> {
    let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await?;
    if let (Some(source), true) = (&attempt.source_hash, limits.per_source > 0) {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE source_hash = ? AND at >= ?",
        )
        .bind(source)
        .bind(limits.since)
        .fetch_one(&mut *tx)
        .await?;
        if n >= i64::from(limits.per_source) {
            tx.rollback().await?;
            return Ok(LoginReservation::SourceLocked);
        }
    }
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM login_attempts WHERE email_hash = ? AND at >= ?")
            .bind(&attempt.email_hash)
            .bind(limits.since)
            .fetch_one(&mut *tx)
            .await?;
    if n >= i64::from(limits.per_email) {
        tx.rollback().await?;
        return Ok(LoginReservation::EmailLocked);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_attempts (email_hash, source_hash, at) VALUES (?, ?, ?) RETURNING id",
    )
    .bind(&attempt.email_hash)
    .bind(&attempt.source_hash)
    .bind(attempt.at)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(LoginReservation::Reserved(id))
}

pub(super) async fn login_succeeded(
    store: &SqliteStore,
    attempt: Option<i64>,
    email_hash: &str,
) -> Result<(), StoreError> {
    let mut tx = store.pool.begin().await?;
    if let Some(id) = attempt {
        sqlx::query("DELETE FROM login_attempts WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("UPDATE login_attempts SET email_hash = NULL WHERE email_hash = ?")
        .bind(email_hash)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn delete_expired_sessions(
    store: &SqliteStore,
    seen_by: i64,
    created_by: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= ? OR created_at <= ?")
        .bind(seen_by)
        .bind(created_by)
        .execute(&store.pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn delete_login_failures_before(
    store: &SqliteStore,
    before: i64,
) -> Result<u64, StoreError> {
    let done = sqlx::query("DELETE FROM login_attempts WHERE at < ?")
        .bind(before)
        .execute(&store.pool)
        .await?;
    Ok(done.rows_affected())
}

pub(super) async fn add_note(store: &SqliteStore, n: &NoteRecord) -> Result<(), StoreError> {
    let key = keys::data_key(store, &n.request_id)
        .await?
        .ok_or_else(|| StoreError::Purged(n.request_id.clone()))?;
    let sealed = key.seal_text(&context(&n.request_id, &format!("note:{}", n.id)), &n.body);
    sqlx::query(
        "INSERT INTO request_notes (id, request_id, author, body, created_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&n.id)
    .bind(&n.request_id)
    .bind(&n.author)
    .bind(sealed)
    .bind(n.created_at)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn notes(
    store: &SqliteStore,
    request_id: &str,
) -> Result<Vec<NoteRecord>, StoreError> {
    // Without the data key the notes are unreadable by design (crypto-shredding).
    let Some(key) = keys::data_key(store, request_id).await? else {
        return Ok(Vec::new());
    };
    let rows =
        sqlx::query("SELECT * FROM request_notes WHERE request_id = ? ORDER BY created_at, rowid")
            .bind(request_id)
            .fetch_all(&store.pool)
            .await?;
    rows.iter()
        .map(|row| note_from(&key, request_id, row))
        .collect()
}

pub(super) async fn set_provider_services(
    store: &SqliteStore,
    id: &str,
    services: &[String],
) -> Result<bool, StoreError> {
    let mut tx = store.pool.begin().await?;
    let known = sqlx::query("UPDATE providers SET name = name WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        > 0;
    if !known {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query("DELETE FROM provider_services WHERE provider_id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    for hash in services {
        sqlx::query("INSERT INTO provider_services (provider_id, hash_visura) VALUES (?, ?)")
            .bind(id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// The TOTP key of an account, wrapped by the master key (context: the account).
pub(super) async fn put_totp_key(
    store: &SqliteStore,
    account: &str,
    key: &DataKey,
) -> Result<(), StoreError> {
    let wrapped = store.keyring.wrap(key, &format!("totp:{account}"));
    sqlx::query(
        "INSERT INTO totp_keys (account, key_id, wrapped, enabled_at) VALUES (?, ?, ?, NULL)
         ON CONFLICT (account) DO UPDATE SET key_id = excluded.key_id, wrapped = excluded.wrapped,
             enabled_at = NULL, last_step = NULL",
    )
    .bind(account)
    .bind(&wrapped.key_id)
    .bind(&wrapped.bytes)
    .execute(&store.pool)
    .await?;
    Ok(())
}

pub(super) async fn enable_totp(
    store: &SqliteStore,
    account: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE totp_keys SET enabled_at = ? WHERE account = ?")
        .bind(at)
        .bind(account)
        .execute(&store.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_totp(store: &SqliteStore, account: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM totp_keys WHERE account = ?")
        .bind(account)
        .execute(&store.pool)
        .await?;
    Ok(())
}

pub(super) async fn totp_key(
    store: &SqliteStore,
    account: &str,
) -> Result<Option<(DataKey, Option<i64>)>, StoreError> {
    let Some(row) = sqlx::query("SELECT * FROM totp_keys WHERE account = ?")
        .bind(account)
        .fetch_optional(&store.pool)
        .await?
    else {
        return Ok(None);
    };
    let key = store
        .keyring
        .unwrap(&wrapped_from(&row)?, &format!("totp:{account}"))?;
    Ok(Some((key, row.try_get("enabled_at")?)))
}

/// One conditional UPDATE: of two logins racing with the same code, one writes the step.
pub(super) async fn accept_totp_step(
    store: &SqliteStore,
    account: &str,
    step: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE totp_keys SET last_step = ? WHERE account = ? AND (last_step IS NULL OR last_step < ?)",
    )
    .bind(step)
    .bind(account)
    .bind(step)
    .execute(&store.pool)
    .await?;
    Ok(done.rows_affected() > 0)
}
