//! The audit trail's entries and their chain. Entries never carry personal data: who (an id),
//! what (an action name), which request, when, from where, and a short non-personal detail.
//!
//! Each entry's link is a MAC of its content and of the previous link, under the installation's
//! audit key ([`ChainKey`], kept wrapped by the master key like the other installation secrets):
//! someone who can write to the database but has no master key can neither alter an entry nor
//! re-chain the entries after it. Installations older than the key keep their earlier entries
//! linked by plain SHA-256 ([`chain_hash`]) up to the head's `keyed_from`; the first keyed entry
//! covers the last plain link, so that prefix cannot be rewritten either.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::crypto::DataKey;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The key of the chain's MACs (HMAC-SHA256). It never leaves the process: only links made
/// with it do.
pub struct ChainKey(DataKey);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(…)")
    }
}

impl ChainKey {
    pub fn new(key: DataKey) -> ChainKey {
        ChainKey(key)
    }

    /// The keyed link of entry `seq` given the previous link.
    pub fn link(&self, prev_hash: &str, seq: i64, e: &AuditEvent) -> String {
        // Any key length is valid for HMAC.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose()) else {
            return String::new();
        };
        mac.update(&serialise(prev_hash, seq, e));
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The chain's head as stored: the last entry and its link, and the first entry linked with the
/// key (entries before it are an older installation's plain links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    pub keyed_from: i64,
}

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

/// Fields are length-prefixed so no two different entries can serialise alike.
fn serialise(prev_hash: &str, seq: i64, e: &AuditEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    let mut field = |bytes: &[u8]| {
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
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
    out
}

/// The plain (unkeyed) link of entry `seq` given the previous link: how installations made
/// their entries before the chain was keyed. Anyone can compute it, so it is accepted only below
/// the head's `keyed_from`.
pub fn chain_hash(prev_hash: &str, seq: i64, e: &AuditEvent) -> String {
    hex::encode(Sha256::digest(serialise(prev_hash, seq, e)))
}

/// Where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: &'static str,
}

/// What a verification found intact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    /// The first entry linked with the key; those before it have plain SHA-256 links.
    pub keyed_from: i64,
}

/// Checks entries given in order from the start of the chain against the stored `head`, which
/// also catches entries removed from the end.
pub fn verify(entries: &[AuditEntry], head: &Head, key: &ChainKey) -> Result<Verified, BrokenLink> {
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
        let plain = chain_hash(&prev, e.seq, &e.event);
        if e.seq < head.keyed_from {
            if plain != e.hash {
                return Err(BrokenLink {
                    seq: e.seq,
                    reason: "its content does not match its hash",
                });
            }
        } else if key.link(&prev, e.seq, &e.event) != e.hash {
            return Err(BrokenLink {
                seq: e.seq,
                reason: if plain == e.hash {
                    "it was re-chained without the audit key"
                } else {
                    "its content does not match its keyed hash"
                },
            });
        }
        prev = e.hash.clone();
        expected_seq += 1;
    }
    if head.seq != expected_seq - 1 || head.hash != prev {
        return Err(BrokenLink {
            seq: expected_seq,
            reason: "entries were removed from the end",
        });
    }
    Ok(Verified {
        entries: entries.len() as u64,
        keyed_from: head.keyed_from,
    })
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

    fn key() -> ChainKey {
        ChainKey::new(DataKey::from_raw([7; 32]))
    }

    /// `n` entries, plain below `keyed_from`, keyed from it on, and the head.
    fn chain(n: i64, keyed_from: i64) -> (Vec<AuditEntry>, Head) {
        let key = key();
        let mut prev = GENESIS.to_string();
        let entries: Vec<AuditEntry> = (1..=n)
            .map(|seq| {
                let event = event(seq);
                let hash = if seq < keyed_from {
                    chain_hash(&prev, seq, &event)
                } else {
                    key.link(&prev, seq, &event)
                };
                let e = AuditEntry {
                    seq,
                    event,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect();
        let head = Head {
            seq: n,
            hash: prev,
            keyed_from,
        };
        (entries, head)
    }

    /// What an intruder without the key can do: re-link entries from `from` on with plain
    /// hashes, head included.
    fn rechain_plain(entries: &mut [AuditEntry], head: &mut Head, from: usize) {
        let mut prev = if from == 0 {
            GENESIS.to_string()
        } else {
            entries[from - 1].hash.clone()
        };
        for e in &mut entries[from..] {
            e.prev_hash = prev.clone();
            e.hash = chain_hash(&prev, e.seq, &e.event);
            prev = e.hash.clone();
        }
        head.hash = prev;
    }

    #[test]
    fn intact_chains_verify_keyed_plain_or_both() {
        for keyed_from in [1, 3, 6] {
            let (c, head) = chain(5, keyed_from);
            assert_eq!(
                verify(&c, &head, &key()),
                Ok(Verified {
                    entries: 5,
                    keyed_from
                })
            );
        }
        let empty = Head {
            seq: 0,
            hash: GENESIS.into(),
            keyed_from: 1,
        };
        assert_eq!(verify(&[], &empty, &key()).map(|v| v.entries), Ok(0));
    }

    #[test]
    fn every_kind_of_tampering_is_pinpointed() {
        let (c, head) = chain(5, 1);
        let k = key();
        let mut changed = c.clone();
        changed[2].event.actor = "operator:someone-else".into();
        assert_eq!(verify(&changed, &head, &k).unwrap_err().seq, 3);
        let mut removed = c.clone();
        removed.remove(1);
        assert_eq!(verify(&removed, &head, &k).unwrap_err().seq, 2);
        let truncated = &c[..4];
        assert_eq!(verify(truncated, &head, &k).unwrap_err().seq, 5);
        let mut none_to_some = c.clone();
        none_to_some[0].event.source = None;
        assert_eq!(verify(&none_to_some, &head, &k).unwrap_err().seq, 1);
    }

    #[test]
    fn a_keyed_entry_rewritten_and_rechained_without_the_key_is_found() {
        let (mut c, mut head) = chain(5, 2);
        c[2].event.actor = "operator:someone-else".into();
        rechain_plain(&mut c, &mut head, 2);
        let broken = verify(&c, &head, &key()).unwrap_err();
        assert_eq!(broken.seq, 3);
        assert_eq!(broken.reason, "it was re-chained without the audit key");
        // Nor does another key make valid links.
        let (c, head) = chain(5, 1);
        let other = ChainKey::new(DataKey::from_raw([8; 32]));
        assert_eq!(verify(&c, &head, &other).unwrap_err().seq, 1);
    }

    #[test]
    fn the_plain_prefix_is_held_by_the_first_keyed_entry() {
        let (mut c, mut head) = chain(5, 4);
        c[0].event.actor = "operator:someone-else".into();
        // Re-chained up to the last plain entry, and the first keyed one made to point there.
        let last_plain = head.keyed_from as usize - 1;
        let tail_hash = head.hash.clone();
        rechain_plain(&mut c[..last_plain], &mut head, 0);
        head.hash = tail_hash;
        c[last_plain].prev_hash = c[last_plain - 1].hash.clone();
        assert_eq!(verify(&c, &head, &key()).unwrap_err().seq, 4);
    }
}
