//! The audit trail's entries and their chain hash. Entries never carry personal data: who (an
//! id), what (an action name), which request, when, from where, and a short non-personal detail.

use sha2::{Digest, Sha256};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: i64,
    /// `client:<id>`, `operator:<id>`, `admin:<who>`, `system:<job>`.
    pub actor: String,
    /// `read_personal_data`, `download_file`, `change_state`, `purge`, …
    pub action: String,
    pub request_id: Option<String>,
    pub detail: String,
    /// The peer address of the HTTP call, when there was one.
    pub source: Option<String>,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of entry `seq` given the previous hash. Fields are length-prefixed so no two
/// different entries can serialise alike.
pub fn chain_hash(prev_hash: &str, seq: i64, e: &AuditEvent) -> String {
    let mut h = Sha256::new();
    let mut field = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_be_bytes());
        h.update(bytes);
    };
    field(prev_hash.as_bytes());
    field(&seq.to_be_bytes());
    field(&e.at.to_be_bytes());
    field(e.actor.as_bytes());
    field(e.action.as_bytes());
    field(e.request_id.as_deref().unwrap_or("").as_bytes());
    field(&[u8::from(e.request_id.is_some())]);
    field(e.detail.as_bytes());
    field(e.source.as_deref().unwrap_or("").as_bytes());
    field(&[u8::from(e.source.is_some())]);
    hex::encode(h.finalize())
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: &'static str,
}

/// Checks entries given in order from the start of the chain. `head` is the stored head
/// `(seq, hash)`, which catches entries removed from the end.
pub fn verify(entries: &[AuditEntry], head: (i64, &str)) -> Result<u64, BrokenLink> {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for e in entries {
        if e.seq != expected_seq {
            return Err(BrokenLink {
                seq: expected_seq,
                reason: "an entry is missing",
            });
        }
        if e.prev_hash != prev {
            return Err(BrokenLink {
                seq: e.seq,
                reason: "it does not point to the previous entry",
            });
        }
        if chain_hash(&prev, e.seq, &e.event) != e.hash {
            return Err(BrokenLink {
                seq: e.seq,
                reason: "its content does not match its hash",
            });
        }
        prev = e.hash.clone();
        expected_seq += 1;
    }
    if head.0 != expected_seq - 1 || head.1 != prev {
        return Err(BrokenLink {
            seq: expected_seq,
            reason: "entries were removed from the end",
        });
    }
    Ok(entries.len() as u64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn event(n: i64) -> AuditEvent {
        AuditEvent {
            at: 1_700_000_000 + n,
            actor: format!("operator:op{n}"),
            action: "read_personal_data".into(),
            request_id: Some(format!("r{n}")),
            detail: String::new(),
            source: Some("127.0.0.1".into()),
        }
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let event = event(seq);
                let hash = chain_hash(&prev, seq, &event);
                let e = AuditEntry {
                    seq,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn head(c: &[AuditEntry]) -> (i64, String) {
        c.last()
            .map(|e| (e.seq, e.hash.clone()))
            .unwrap_or((0, GENESIS.to_string()))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        let (seq, hash) = head(&c);
        assert_eq!(verify(&c, (seq, &hash)), Ok(5));
        assert_eq!(verify(&[], (0, GENESIS)), Ok(0));
    }

    #[test]
    fn every_kind_of_tampering_is_pinpointed() {
        let c = chain(5);
        let (seq, hash) = head(&c);
        let mut changed = c.clone();
        changed[2].event.actor = "operator:someone-else".into();
        assert_eq!(verify(&changed, (seq, &hash)).unwrap_err().seq, 3);
        let mut removed = c.clone();
        removed.remove(1);
        assert_eq!(verify(&removed, (seq, &hash)).unwrap_err().seq, 2);
        let truncated = &c[..4];
        assert_eq!(verify(truncated, (seq, &hash)).unwrap_err().seq, 5);
        let mut none_to_some = c.clone();
        none_to_some[0].event.source = None;
        assert_eq!(verify(&none_to_some, (seq, &hash)).unwrap_err().seq, 1);
    }
}
