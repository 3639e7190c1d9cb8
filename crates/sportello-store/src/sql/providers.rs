//! Providers, the services they offer, their party data and versioned paperwork, and routing a
//! new request to one of them.

use async_trait::async_trait;
use sportello_domain::status::Status;
use sqlx::Row;

use super::{Db, This};
use crate::model::*;
use crate::StoreError;

#[async_trait]
impl crate::Providers for This {
    async fn create_provider(&self, p: &ProviderRecord) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        bind_party(
            sqlx::query(
                "INSERT INTO providers (id, name, created_at, tipo, codice_fiscale, indirizzo,
                    comune, provincia, email, pec, telefono, mandato_fes_accettato)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(&p.id)
            .bind(&p.name)
            .bind(p.created_at),
            &p.party,
        )
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
            party: Party {
                tipo: row.try_get("tipo")?,
                codice_fiscale: row.try_get("codice_fiscale")?,
                indirizzo: row.try_get("indirizzo")?,
                comune: row.try_get("comune")?,
                provincia: row.try_get("provincia")?,
                email: row.try_get("email")?,
                pec: row.try_get("pec")?,
                telefono: row.try_get("telefono")?,
                mandato_fes_accettato: row.try_get("mandato_fes_accettato")?,
            },
        }))
    }

    async fn update_provider(
        &self,
        id: &str,
        name: &str,
        party: &Party,
    ) -> Result<bool, StoreError> {
        let done = bind_party(
            sqlx::query(
                "UPDATE providers SET name = $1, tipo = $2, codice_fiscale = $3, indirizzo = $4,
                    comune = $5, provincia = $6, email = $7, pec = $8, telefono = $9,
                    mandato_fes_accettato = $10
                 WHERE id = $11",
            )
            .bind(name),
            party,
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn add_provider_document(
        &self,
        provider_id: &str,
        kind: PaperKind,
        testo: &str,
        at: i64,
        by: &str,
    ) -> Result<Option<ProviderDocument>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Touching the provider's row first takes its lock (PostgreSQL) or the write lock
        // (SQLite), so two edits at once number their versions one after the other.
        let known = sqlx::query("UPDATE providers SET name = name WHERE id = $1")
            .bind(provider_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        if !known {
            tx.rollback().await?;
            return Ok(None);
        }
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(versione) FROM provider_documents WHERE provider_id = $1 AND kind = $2",
        )
        .bind(provider_id)
        .bind(kind.as_db())
        .fetch_one(&mut *tx)
        .await?;
        let doc = ProviderDocument {
            provider_id: provider_id.to_string(),
            kind,
            versione: last.unwrap_or(0) + 1,
            testo: testo.to_string(),
            created_at: at,
            created_by: by.to_string(),
        };
        sqlx::query(
            "INSERT INTO provider_documents (provider_id, kind, versione, testo, created_at, created_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&doc.provider_id)
        .bind(kind.as_db())
        .bind(doc.versione)
        .bind(&doc.testo)
        .bind(doc.created_at)
        .bind(&doc.created_by)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(doc))
    }

    async fn provider_documents(
        &self,
        provider_id: &str,
        kind: PaperKind,
    ) -> Result<Vec<ProviderDocument>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM provider_documents WHERE provider_id = $1 AND kind = $2
             ORDER BY versione DESC",
        )
        .bind(provider_id)
        .bind(kind.as_db())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(document_from).collect()
    }

    async fn current_provider_document(
        &self,
        provider_id: &str,
        kind: PaperKind,
    ) -> Result<Option<ProviderDocument>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM provider_documents WHERE provider_id = $1 AND kind = $2
             ORDER BY versione DESC LIMIT 1",
        )
        .bind(provider_id)
        .bind(kind.as_db())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(document_from).transpose()
    }

    async fn provider_document(
        &self,
        provider_id: &str,
        kind: PaperKind,
        versione: i64,
    ) -> Result<Option<ProviderDocument>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM provider_documents WHERE provider_id = $1 AND kind = $2 AND versione = $3",
        )
        .bind(provider_id)
        .bind(kind.as_db())
        .bind(versione)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(document_from).transpose()
    }

    async fn current_provider_versions(
        &self,
        provider_id: &str,
    ) -> Result<PaperVersions, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, MAX(versione) AS versione FROM provider_documents
             WHERE provider_id = $1 GROUP BY kind",
        )
        .bind(provider_id)
        .fetch_all(&self.pool)
        .await?;
        let mut versions = PaperVersions::default();
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let versione: i64 = row.try_get("versione")?;
            match PaperKind::parse(&kind) {
                Some(PaperKind::Informativa) => versions.informativa = Some(versione),
                Some(PaperKind::Mandato) => versions.mandato = Some(versione),
                None => {
                    return Err(StoreError::Corrupt(format!(
                        "provider document kind {kind}"
                    )))
                }
            }
        }
        Ok(versions)
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

type Statement<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// Binds the party's columns in the order the INSERT and the UPDATE list them.
fn bind_party<'q>(q: Statement<'q>, p: &'q Party) -> Statement<'q> {
    q.bind(&p.tipo)
        .bind(&p.codice_fiscale)
        .bind(&p.indirizzo)
        .bind(&p.comune)
        .bind(&p.provincia)
        .bind(&p.email)
        .bind(&p.pec)
        .bind(&p.telefono)
        .bind(p.mandato_fes_accettato)
}

fn document_from(row: &<Db as sqlx::Database>::Row) -> Result<ProviderDocument, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(ProviderDocument {
        provider_id: row.try_get("provider_id")?,
        kind: PaperKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("provider document kind {kind}")))?,
        versione: row.try_get("versione")?,
        testo: row.try_get("testo")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}
