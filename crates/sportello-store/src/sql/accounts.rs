//! Clients, API tokens and operators.

use async_trait::async_trait;

use super::{dialect, This};
use crate::columns::to_json;
use crate::model::*;
use crate::rows::{client_from, operator_from, token_from};
use crate::setup_lock::SetupLock;
use crate::StoreError;

#[async_trait]
impl crate::Accounts for This {
    async fn setup_lock(&self) -> Result<SetupLock, StoreError> {
        dialect::setup_lock(self).await
    }

    async fn create_client(&self, c: &ClientRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO clients (id, name, owner_email, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(&c.owner_email)
        .bind(c.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        sqlx::query("SELECT * FROM clients WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(client_from)
            .transpose()
    }

    async fn list_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        sqlx::query("SELECT * FROM clients ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(client_from)
            .collect()
    }

    async fn create_token(&self, t: &TokenRecord, secret_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (id, secret_hash, role, client_id, operator_id, label, scopes,
             live, expires_at, revoked_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&t.id)
        .bind(secret_hash)
        .bind(t.role.as_str())
        .bind(&t.client_id)
        .bind(&t.operator_id)
        .bind(&t.label)
        .bind(to_json(&t.scopes)?)
        .bind(t.live)
        .bind(t.expires_at)
        .bind(t.revoked_at)
        .bind(t.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_token(&self, secret_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        sqlx::query("SELECT * FROM tokens WHERE secret_hash = $1")
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(token_from)
            .transpose()
    }

    async fn revoke_token(&self, id: &str, at: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        sqlx::query("SELECT * FROM tokens ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token_from)
            .collect()
    }

    async fn create_operator(&self, o: &OperatorRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO operators (id, provider_id, name, email, disabled, created_at) VALUES
             ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&o.id)
        .bind(&o.provider_id)
        .bind(&o.name)
        .bind(&o.email)
        .bind(o.disabled)
        .bind(o.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_operator(&self, id: &str) -> Result<Option<OperatorRecord>, StoreError> {
        sqlx::query("SELECT * FROM operators WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(operator_from)
            .transpose()
    }

    async fn list_operators(&self) -> Result<Vec<OperatorRecord>, StoreError> {
        sqlx::query("SELECT * FROM operators ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(operator_from)
            .collect()
    }
}
