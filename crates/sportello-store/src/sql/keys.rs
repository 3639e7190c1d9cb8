//! Data keys: unwrapping a request's key, and re-wrapping keys and secrets under the current
//! master key.

use async_trait::async_trait;
use sqlx::Row;

use super::This;
use crate::crypto::DataKey;
use crate::rows::wrapped_from;
use crate::StoreError;

#[async_trait]
impl crate::Keys for This {
    async fn data_key(&self, request_id: &str) -> Result<Option<DataKey>, StoreError> {
        let row = sqlx::query("SELECT key_id, wrapped FROM request_keys WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(self.keyring.unwrap(&wrapped_from(&row)?, request_id)?)),
        }
    }

    async fn rewrap_keys(&self) -> Result<u64, StoreError> {
        let current = self.keyring.current_id().to_string();
        let mut done = 0;
        loop {
            // In batches, each its own transaction, so a running server is never blocked long.
            let rows = sqlx::query(
                "SELECT request_id, key_id, wrapped FROM request_keys WHERE key_id <> $1 LIMIT 500",
            )
            .bind(&current)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            let mut tx = self.pool.begin().await?;
            for row in &rows {
                let request_id: String = row.try_get("request_id")?;
                let old = wrapped_from(row)?;
                let key = self.keyring.unwrap(&old, &request_id)?;
                let new = self.keyring.wrap(&key, &request_id);
                sqlx::query(
                    "UPDATE request_keys SET key_id = $1, wrapped = $2 WHERE request_id = $3
                     AND key_id = $4",
                )
                .bind(&new.key_id)
                .bind(&new.bytes)
                .bind(&request_id)
                .bind(&old.key_id)
                .execute(&mut *tx)
                .await?;
                done += 1;
            }
            tx.commit().await?;
        }
        let secrets = sqlx::query("SELECT name, key_id, wrapped FROM secrets WHERE key_id <> $1")
            .bind(&current)
            .fetch_all(&self.pool)
            .await?;
        for row in &secrets {
            let name: String = row.try_get("name")?;
            let context = format!("secret:{name}");
            let old = wrapped_from(row)?;
            let new = self
                .keyring
                .wrap(&self.keyring.unwrap(&old, &context)?, &context);
            sqlx::query(
                "UPDATE secrets SET key_id = $1, wrapped = $2 WHERE name = $3 AND key_id = $4",
            )
            .bind(&new.key_id)
            .bind(&new.bytes)
            .bind(&name)
            .bind(&old.key_id)
            .execute(&self.pool)
            .await?;
        }
        // The second factors' keys: left under the old key, every login with TOTP would fail
        // once it is destroyed.
        let totp = sqlx::query("SELECT account, key_id, wrapped FROM totp_keys WHERE key_id <> $1")
            .bind(&current)
            .fetch_all(&self.pool)
            .await?;
        for row in &totp {
            let account: String = row.try_get("account")?;
            let context = format!("totp:{account}");
            let old = wrapped_from(row)?;
            let new = self
                .keyring
                .wrap(&self.keyring.unwrap(&old, &context)?, &context);
            done += sqlx::query(
                "UPDATE totp_keys SET key_id = $1, wrapped = $2 WHERE account = $3 AND key_id = $4",
            )
            .bind(&new.key_id)
            .bind(&new.bytes)
            .bind(&account)
            .bind(&old.key_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(done)
    }
}
