//! The audit trail: appended as a chain of keyed links, read in order, its head, verified with
//! the installation's chain key.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_store::audit::{chain_hash, verify, AuditEntry, AuditEvent, Head, Verified, GENESIS};

stories!(
    the_trail_is_a_chain_read_in_order_from_any_point,
    history_and_direct_entries_share_one_unbroken_chain,
);

fn event(n: i64, request_id: Option<&str>) -> AuditEvent {
    AuditEvent {
        at: T0 + n,
        actor: format!("operator:op_{n}"),
        action: "read_personal_data".into(),
        request_id: request_id.map(str::to_string),
        detail: format!("campo ${n}"),
        source: (n % 2 == 0).then(|| "198.51.100.4".to_string()),
    }
}

async fn the_trail_is_a_chain_read_in_order_from_any_point(mut w: World) {
    // A new installation keys its chain from the first entry.
    let empty = Head {
        seq: 0,
        hash: GENESIS.to_string(),
        keyed_from: 1,
    };
    assert_eq!(w.store.audit_head().await.unwrap(), empty);
    assert_eq!(
        verify(&[], &empty, w.store.audit_key()),
        Ok(Verified {
            entries: 0,
            keyed_from: 1
        })
    );
    assert!(w.store.audit_entries(0, 10, None).await.unwrap().is_empty());

    let request = "65536f00aabbccddeeff0011";
    let events = [event(1, None), event(2, Some(request)), event(3, None)];
    let mut written: Vec<AuditEntry> = Vec::new();
    for e in &events {
        written.push(w.store.audit(e).await.unwrap());
    }
    let mut prev = GENESIS.to_string();
    for (i, (entry, e)) in written.iter().zip(&events).enumerate() {
        let seq = i64::try_from(i).unwrap() + 1;
        assert_eq!(entry.seq, seq);
        assert_eq!(&entry.event, e);
        assert_eq!(entry.prev_hash, prev);
        // Linked with the installation's key, not by a plain hash anyone could recompute.
        assert_eq!(entry.hash, w.store.audit_key().link(&prev, seq, e));
        assert_ne!(entry.hash, chain_hash(&prev, seq, e));
        prev = entry.hash.clone();
    }
    let head = w.store.audit_head().await.unwrap();
    assert_eq!(
        head,
        Head {
            seq: 3,
            hash: prev.clone(),
            keyed_from: 1
        }
    );

    let all = w.store.audit_entries(0, 100, None).await.unwrap();
    assert_eq!(all, written);
    let intact = Ok(Verified {
        entries: 3,
        keyed_from: 1,
    });
    assert_eq!(verify(&all, &head, w.store.audit_key()), intact);
    // An entry changed is pinpointed.
    let mut changed = all.clone();
    changed[1].event.actor = "operator:someone-else".into();
    assert_eq!(
        verify(&changed, &head, w.store.audit_key())
            .unwrap_err()
            .seq,
        2
    );
    // The key is the installation's (kept wrapped in the database): opened again with the same
    // master key, the store verifies the same chain.
    let master_key = w.master_key.clone();
    w.reopen(&master_key, &[]).await.unwrap();
    assert_eq!(w.store.audit_head().await.unwrap(), head);
    assert_eq!(verify(&all, &head, w.store.audit_key()), intact);
    // After a sequence number, at most `limit`, of one request.
    assert_eq!(
        w.store.audit_entries(1, 1, None).await.unwrap(),
        written[1..2].to_vec()
    );
    assert_eq!(
        w.store.audit_entries(1, 100, None).await.unwrap(),
        written[1..].to_vec()
    );
    assert!(w
        .store
        .audit_entries(3, 100, None)
        .await
        .unwrap()
        .is_empty());
    assert!(w.store.audit_entries(0, 0, None).await.unwrap().is_empty());
    assert_eq!(
        w.store.audit_entries(0, 100, Some(request)).await.unwrap(),
        written[1..2].to_vec()
    );
    assert!(w
        .store
        .audit_entries(2, 100, Some(request))
        .await
        .unwrap()
        .is_empty());
}

async fn history_and_direct_entries_share_one_unbroken_chain(w: World) {
    client(&w, "cli_1").await;
    w.store.audit(&event(1, None)).await.unwrap();
    let mut r = submitted("cli_1", None, T0);
    create(&w, &r).await;
    // Appends from many callers at once still make one chain.
    let many: Vec<AuditEvent> = (2..12).map(|n| event(n, Some(&r.id))).collect();
    let appended = futures::future::join_all(many.iter().map(|e| w.store.audit(e))).await;
    assert!(appended.iter().all(Result::is_ok), "{appended:?}");
    assert!(
        change(
            &w,
            &mut r,
            sportello_domain::status::Status::Annullata,
            "cancel",
            T0 + 50
        )
        .await
    );

    let head = w.store.audit_head().await.unwrap();
    assert_eq!(head.seq, 13);
    let all = w.store.audit_entries(0, 100, None).await.unwrap();
    assert_eq!(
        verify(&all, &head, w.store.audit_key()),
        Ok(Verified {
            entries: 13,
            keyed_from: 1
        })
    );
    let own: Vec<(String, String)> = w
        .store
        .audit_entries(0, 100, Some(&r.id))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.action == "change_state")
        .map(|e| (e.event.actor, e.event.detail))
        .collect();
    assert_eq!(
        own,
        [
            (
                "client:cli_1".to_string(),
                "submit -> in_erogazione".to_string()
            ),
            (
                "operator:op_1".to_string(),
                "cancel -> annullata".to_string()
            ),
        ]
    );
}
