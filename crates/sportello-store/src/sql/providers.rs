//! Providers, the services they offer, and routing a new request to one of them.

use async_trait::async_trait;
use sportello_domain::status::Status;
use sqlx::Row;

use super::This;
use crate::model::*;
use crate::StoreError;

#[async_trait]
impl crate::Providers for This {
    async fn create_provider(&self, p: &ProviderRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO providers (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&p.id)
            .bind(&p.name)
            .bind(p.created_at)
            .execute(&mut *tx)
            .await?;
        for hash in &p.services {
            sqlx::query("INSERT INTO provider_services (provider_id, hash_visura) VALUES ($1, $2)")
                .bind(&p.id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_providers(&self) -> Result<Vec<ProviderRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM providers ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            out.push(self.get_provider(&id).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("provider {id} vanished while listing"))
            })?);
        }
        Ok(out)
    }

    async fn get_provider(&self, id: &str) -> Result<Option<ProviderRecord>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM providers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let services = sqlx::query_scalar(
            "SELECT hash_visura FROM provider_services WHERE provider_id = $1 ORDER BY hash_visura",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(ProviderRecord {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            services,
            created_at: row.try_get("created_at")?,
        }))
    }

    async fn route(&self, hash_visura: &str) -> Result<Option<String>, StoreError> {
        // The usual case, one provider per service, needs no counting: the count walks every
        // open request of each candidate.
        let candidates: Vec<String> = sqlx::query_scalar(
            "SELECT provider_id FROM provider_services WHERE hash_visura = $1 ORDER BY provider_id",
        )
        .bind(hash_visura)
        .fetch_all(&self.pool)
        .await?;
        if candidates.len() < 2 {
            return Ok(candidates.into_iter().next());
        }
        let open = [
            Status::InErogazione.as_db(),
            Status::InAttesaIntegrazione.as_db(),
            Status::DatiDisponibili.as_db(),
        ];
        let provider = sqlx::query_scalar(
            "SELECT ps.provider_id FROM provider_services ps
             LEFT JOIN requests r ON r.provider_id = ps.provider_id AND r.status IN ($1, $2, $3)
             WHERE ps.hash_visura = $4
             GROUP BY ps.provider_id
             -- Counting a column of the queue index, not `r.id`: the count reads only the index,
             -- never the open requests' rows.
             ORDER BY COUNT(r.provider_id) ASC, ps.provider_id ASC
             LIMIT 1",
        )
        .bind(open[0])
        .bind(open[1])
        .bind(open[2])
        .bind(hash_visura)
        .fetch_optional(&self.pool)
        .await?;
        Ok(provider)
    }
}
