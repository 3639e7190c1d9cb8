//! The audit chain: appending a link inside a transaction, and reading the log and its head.

use async_trait::async_trait;
use sqlx::Row;

use super::{insert_rows, Counter, This, Tx};
use crate::audit::{AuditEntry, AuditEvent, ChainKey, Head};
use crate::rows::audit_entry_from;
use crate::StoreError;

#[async_trait]
impl crate::Audit for This {
    fn audit_key(&self) -> &ChainKey {
        &self.chain
    }

    async fn audit(&self, e: &AuditEvent) -> Result<AuditEntry, StoreError> {
        let mut tx = self.pool.begin().await?;
        let entry = append_audit(&mut tx, &self.chain, e).await?;
        tx.commit().await?;
        Ok(entry)
    }

    async fn audit_entries(
        &self,
        after_seq: i64,
        limit: u32,
        request_id: Option<&str>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = match request_id {
            Some(r) => sqlx::query(
                "SELECT * FROM audit_log WHERE seq > $1 AND request_id = $2 ORDER BY seq LIMIT $3",
            )
            .bind(after_seq)
            .bind(r)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?,
            None => {
                sqlx::query("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after_seq)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(audit_entry_from).collect()
    }

    async fn audit_head(&self) -> Result<Head, StoreError> {
        let row = sqlx::query("SELECT seq, hash, keyed_from FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(Head {
            seq: row.try_get("seq")?,
            hash: row.try_get("hash")?,
            keyed_from: row.try_get("keyed_from")?,
        })
    }
}

/// Appends to the audit chain inside the caller's transaction. Updating the head row first takes
/// its row lock: the transaction is the only writer of the chain until it commits.
pub(super) async fn append_audit(
    tx: &mut Tx<'_>,
    chain: &ChainKey,
    e: &AuditEvent,
) -> Result<AuditEntry, StoreError> {
    let row = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?;
    let seq: i64 = row.try_get("seq")?;
    let prev_hash: String = row.try_get("hash")?;
    let hash = chain.link(&prev_hash, seq, e);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor, action, request_id, detail, source,
         prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(seq)
    .bind(e.at)
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.request_id)
    .bind(&e.detail)
    .bind(&e.source)
    .bind(&prev_hash)
    .bind(&hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(AuditEntry {
        seq,
        event: e.clone(),
        prev_hash,
        hash,
    })
}

/// Appends `events`, in order, to the audit chain inside the caller's transaction: three
/// statements however many there are. The head's row is locked by the first, so a batch takes
/// it as late as it can (the chain is the one row every writer shares) and holds it until its
/// commit, as [`append_audit`] does.
pub(super) async fn append_audits(
    tx: &mut Tx<'_>,
    counter: &Counter,
    chain: &ChainKey,
    events: &[AuditEvent],
) -> Result<(), StoreError> {
    let Some(n) = i64::try_from(events.len()).ok().filter(|n| *n > 0) else {
        return Ok(());
    };
    counter.add(1);
    let row = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n)
        .fetch_one(&mut **tx)
        .await?;
    let last: i64 = row.try_get("seq")?;
    let mut prev_hash: String = row.try_get("hash")?;
    let mut links = Vec::with_capacity(events.len());
    for (seq, e) in (last - n + 1..).zip(events) {
        let hash = chain.link(&prev_hash, seq, e);
        links.push((
            seq,
            e,
            std::mem::replace(&mut prev_hash, hash.clone()),
            hash,
        ));
    }
    insert_rows(
        tx,
        counter,
        "INSERT INTO audit_log (seq, at, actor, action, request_id, detail, source,
         prev_hash, hash)",
        "",
        &links,
        |q, (seq, e, prev_hash, hash)| {
            Ok(q.bind(*seq)
                .bind(e.at)
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.request_id)
                .bind(&e.detail)
                .bind(&e.source)
                .bind(prev_hash)
                .bind(hash))
        },
    )
    .await?;
    counter.add(1);
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
