//! The back office's tables: admins, passwords, sessions, failed logins, TOTP keys, notes,
//! providers' services.

use async_trait::async_trait;
use sqlx::Row;

use super::{dialect, This};
use crate::crypto::DataKey;
use crate::model::*;
use crate::rows::{admin_from, note_from, operator_from, session_from, wrapped_from};
use crate::sealing::context;
use crate::Keys;
use crate::{
    AdminRecord, LoginAttempt, LoginLimits, LoginReservation, NoteRecord, SessionRecord, StoreError,
};

#[async_trait]
impl crate::Backoffice for This {
    async fn create_admin(&self, a: &AdminRecord) -> Result<(), StoreError> {
        sqlx::query(
        "INSERT INTO admins (id, name, email, disabled, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&a.id)
    .bind(&a.name)
    .bind(&a.email)
    .bind(a.disabled)
    .bind(a.created_at)
    .execute(&self.pool)
    .await
    .map_err(unique_violation)?;
        Ok(())
    }

    async fn get_admin(&self, id: &str) -> Result<Option<AdminRecord>, StoreError> {
        sqlx::query("SELECT * FROM admins WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(admin_from)
            .transpose()
    }

    async fn find_admin_by_email(&self, email: &str) -> Result<Option<AdminRecord>, StoreError> {
        sqlx::query("SELECT * FROM admins WHERE lower(email) = lower($1)")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(admin_from)
            .transpose()
    }

    async fn list_admins(&self) -> Result<Vec<AdminRecord>, StoreError> {
        sqlx::query("SELECT * FROM admins ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(admin_from)
            .collect()
    }

    async fn find_operators_by_email(
        &self,
        email: &str,
    ) -> Result<Vec<OperatorRecord>, StoreError> {
        sqlx::query(
            "SELECT * FROM operators WHERE lower(email) = lower($1) ORDER BY created_at, id",
        )
        .bind(email)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(operator_from)
        .collect()
    }

    async fn set_operator_disabled(&self, id: &str, disabled: bool) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE operators SET disabled = $1 WHERE id = $2")
            .bind(disabled)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password(&self, account: &str, phc: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO passwords (account, phc, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (account) DO UPDATE SET phc = excluded.phc, updated_at = excluded.updated_at",
        )
        .bind(account)
        .bind(phc)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn password(&self, account: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT phc FROM passwords WHERE account = $1")
                .bind(account)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn create_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, account, csrf, created_at, last_seen_at) VALUES
             ($1, $2, $3, $4, $5)",
        )
        .bind(&s.id_hash)
        .bind(&s.account)
        .bind(&s.csrf)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        sqlx::query("SELECT * FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(session_from)
            .transpose()
    }

    async fn touch_session(&self, id_hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(concat!(
            "UPDATE sessions SET last_seen_at = ",
            greatest!(),
            "(last_seen_at, $1) WHERE id_hash = $2"
        ))
        .bind(at)
        .bind(id_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_sessions(&self, account: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE account = $1")
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// One transaction serialised on each of the attempt's keys until it commits (see
    /// `dialect::serialize`): two transactions would otherwise both count four and both insert the
    /// fifth. The count runs after the lock is granted, so it sees every reservation committed
    /// by the lock's previous holder, in this process or another.
    async fn reserve_login(
        &self,
        attempt: &LoginAttempt,
        limits: &LoginLimits,
    ) -> Result<LoginReservation, StoreError> {
        let mut tx = dialect::begin_write(&self.pool).await?;
        if let (Some(source), true) = (&attempt.source_hash, limits.per_source > 0) {
            dialect::serialize(&mut tx, SOURCE_LOCK, source).await?;
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM login_attempts WHERE source_hash = $1 AND at >= $2",
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
        dialect::serialize(&mut tx, EMAIL_LOCK, &attempt.email_hash).await?;
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE email_hash = $1 AND at >= $2",
        )
        .bind(&attempt.email_hash)
        .bind(limits.since)
        .fetch_one(&mut *tx)
        .await?;
        if n >= i64::from(limits.per_email) {
            tx.rollback().await?;
            return Ok(LoginReservation::EmailLocked);
        }
        let id: i64 = sqlx::query_scalar(
        "INSERT INTO login_attempts (email_hash, source_hash, at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(&attempt.email_hash)
    .bind(&attempt.source_hash)
    .bind(attempt.at)
    .fetch_one(&mut *tx)
    .await?;
        tx.commit().await?;
        Ok(LoginReservation::Reserved(id))
    }

    async fn login_succeeded(
        &self,
        attempt: Option<i64>,
        email_hash: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if let Some(id) = attempt {
            sqlx::query("DELETE FROM login_attempts WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE login_attempts SET email_hash = NULL WHERE email_hash = $1")
            .bind(email_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_expired_sessions(
        &self,
        seen_by: i64,
        created_by: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at <= $1 OR created_at <= $2")
            .bind(seen_by)
            .bind(created_by)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn delete_login_failures_before(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM login_attempts WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn add_note(&self, n: &NoteRecord) -> Result<(), StoreError> {
        let key = self
            .data_key(&n.request_id)
            .await?
            .ok_or_else(|| StoreError::Purged(n.request_id.clone()))?;
        let sealed = key.seal_text(&context(&n.request_id, &format!("note:{}", n.id)), &n.body);
        sqlx::query(
            "INSERT INTO request_notes (id, request_id, author, body, created_at) VALUES ($1,
             $2, $3, $4, $5)",
        )
        .bind(&n.id)
        .bind(&n.request_id)
        .bind(&n.author)
        .bind(sealed)
        .bind(n.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn notes(&self, request_id: &str) -> Result<Vec<NoteRecord>, StoreError> {
        // Without the data key the notes are unreadable by design (crypto-shredding).
        let Some(key) = self.data_key(request_id).await? else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(concat!(
            "SELECT * FROM request_notes WHERE request_id = $1 ORDER BY created_at, ",
            row_order!()
        ))
        .bind(request_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| note_from(&key, request_id, row))
            .collect()
    }

    async fn set_provider_services(
        &self,
        id: &str,
        services: &[String],
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let known = sqlx::query("UPDATE providers SET name = name WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if !known {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("DELETE FROM provider_services WHERE provider_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for hash in services {
            sqlx::query("INSERT INTO provider_services (provider_id, hash_visura) VALUES ($1, $2)")
                .bind(id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The TOTP key of an account, wrapped by the master key (context: the account).
    async fn put_totp_key(&self, account: &str, key: &DataKey) -> Result<(), StoreError> {
        let wrapped = self.keyring.wrap(key, &format!("totp:{account}"));
        sqlx::query(
            "INSERT INTO totp_keys (account, key_id, wrapped, enabled_at) VALUES ($1, $2, $3, NULL)
             ON CONFLICT (account) DO UPDATE SET key_id = excluded.key_id, wrapped = excluded.wrapped,
             enabled_at = NULL, last_step = NULL",
        )
        .bind(account)
        .bind(&wrapped.key_id)
        .bind(&wrapped.bytes)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn enable_totp(&self, account: &str, at: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE totp_keys SET enabled_at = $1 WHERE account = $2")
            .bind(at)
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_totp(&self, account: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM totp_keys WHERE account = $1")
            .bind(account)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn totp_key(&self, account: &str) -> Result<Option<(DataKey, Option<i64>)>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM totp_keys WHERE account = $1")
            .bind(account)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let key = self
            .keyring
            .unwrap(&wrapped_from(&row)?, &format!("totp:{account}"))?;
        Ok(Some((key, row.try_get("enabled_at")?)))
    }

    /// One conditional UPDATE: of two logins racing with the same code, the second re-checks the
    /// row after the first commits and finds the step taken.
    async fn accept_totp_step(&self, account: &str, step: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE totp_keys SET last_step = $1 WHERE account = $2 AND (last_step IS NULL OR
             last_step < $1)",
        )
        .bind(step)
        .bind(account)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn unique_violation(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict("already exists".into())
        }
        _ => StoreError::Database(e),
    }
}

/// The lock classes of the lock-out's keys ("LgSr", "LgEm"): two key spaces, always taken
/// source first, so two reservations can never wait for each other in a cycle.
const SOURCE_LOCK: i32 = 0x4c67_5372;
const EMAIL_LOCK: i32 = 0x4c67_456d;
