//! Rotating the master key: every data key and installation secret re-wrapped under the new
//! one, after which the old key can go.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_store::crypto::CryptoError;
use sportello_store::{NoteRecord, StoreError};

stories!(a_new_master_key_rewraps_every_data_key_and_secret_and_the_old_one_can_go);

async fn a_new_master_key_rewraps_every_data_key_and_secret_and_the_old_one_can_go(mut w: World) {
    client(&w, "cli_1").await;
    let requests = [
        submitted("cli_1", None, T0),
        submitted("cli_1", None, T0 + 1),
        draft("cli_1", T0 + 2),
    ];
    let mut keys = Vec::new();
    for r in &requests {
        keys.push(create(&w, r).await);
    }
    let code = "RSSMRA80A01H501U".to_string();
    w.store
        .index_subjects(&requests[0].id, std::slice::from_ref(&code))
        .await
        .unwrap();
    let note = NoteRecord {
        id: "not_1".into(),
        request_id: requests[0].id.clone(),
        author: "operator:op_1".into(),
        body: "Mario Rossi".into(),
        created_at: T0 + 5,
    };
    w.store.add_note(&note).await.unwrap();
    let secret = w.store.webhook_settings("cli_1").await.unwrap().secret;
    // Nothing to do while every key is under the current master key.
    assert_eq!(w.store.rewrap_keys().await.unwrap(), 0);

    // Step 2 of the README's rotation: the new key current, the old one still read.
    let old = w.master_key.clone();
    let new = new_master_key();
    w.reopen(&new, &[&old]).await.unwrap();
    assert_eq!(
        w.store.get_request(&requests[0].id).await.unwrap().as_ref(),
        Some(&requests[0])
    );
    // Step 3: one per request; a second run finds nothing left.
    assert_eq!(w.store.rewrap_keys().await.unwrap(), 3);
    assert_eq!(w.store.rewrap_keys().await.unwrap(), 0);

    // Step 4: the old key gone, everything reads as before.
    w.reopen(&new, &[]).await.unwrap();
    for (r, key) in requests.iter().zip(&keys) {
        assert_eq!(w.store.get_request(&r.id).await.unwrap().as_ref(), Some(r));
        assert_eq!(
            w.store.data_key(&r.id).await.unwrap().unwrap().expose(),
            key.expose(),
            "the data key itself never changes"
        );
    }
    assert_eq!(w.store.notes(&requests[0].id).await.unwrap(), vec![note]);
    assert_eq!(
        w.store.find_by_subject(&code).await.unwrap(),
        vec![requests[0].id.clone()],
        "the lookup secret is the same key, re-wrapped"
    );
    assert_eq!(
        w.store
            .webhook_settings("cli_1")
            .await
            .unwrap()
            .secret
            .expose(),
        secret.expose()
    );

    // The old key alone no longer opens this database: it refuses to start.
    let refused = w.reopen(&old, &[]).await.err().unwrap();
    assert!(
        matches!(refused, StoreError::Crypto(CryptoError::UnknownKey(_))),
        "{refused:?}"
    );
}
