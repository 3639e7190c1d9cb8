//! The back office's records: admins, passwords, sessions, failed logins, notes and TOTP keys.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_store::crypto::DataKey;
use sportello_store::{AdminRecord, NoteRecord, SessionRecord, StoreError};

stories!(
    admins_are_found_by_email_whatever_its_case,
    a_password_is_kept_per_account_and_replaced,
    sessions_are_found_by_hash_touched_forward_and_ended,
    failed_logins_are_counted_since_a_time_and_forgotten,
    notes_are_sealed_with_the_request_and_gone_with_its_key,
    a_totp_key_is_set_up_then_enabled_then_removed,
);

async fn admins_are_found_by_email_whatever_its_case(w: World) {
    let root = AdminRecord {
        id: "adm_root".into(),
        name: "Root".into(),
        email: "Root@Sportello.example".into(),
        disabled: false,
        created_at: T0 + 1,
    };
    let first = AdminRecord {
        id: "adm_z".into(),
        name: "Zeta".into(),
        email: "zeta@sportello.example".into(),
        disabled: true,
        created_at: T0,
    };
    w.store.create_admin(&root).await.unwrap();
    w.store.create_admin(&first).await.unwrap();

    assert_eq!(
        w.store.get_admin("adm_root").await.unwrap(),
        Some(root.clone())
    );
    assert_eq!(w.store.get_admin("adm_nope").await.unwrap(), None);
    assert_eq!(
        w.store
            .find_admin_by_email("root@SPORTELLO.example")
            .await
            .unwrap(),
        Some(root.clone())
    );
    assert_eq!(
        w.store
            .find_admin_by_email("nobody@sportello.example")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        w.store.list_admins().await.unwrap(),
        vec![first.clone(), root.clone()]
    );

    // One admin per e-mail, as stored; and per id.
    let twin = AdminRecord {
        id: "adm_twin".into(),
        ..root.clone()
    };
    let e = w.store.create_admin(&twin).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    let same_id = AdminRecord {
        email: "other@sportello.example".into(),
        ..root.clone()
    };
    let e = w.store.create_admin(&same_id).await.unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
    assert_eq!(w.store.list_admins().await.unwrap().len(), 2);
}

async fn a_password_is_kept_per_account_and_replaced(w: World) {
    assert_eq!(w.store.password("admin:adm_root").await.unwrap(), None);
    let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    w.store
        .set_password("admin:adm_root", phc, T0)
        .await
        .unwrap();
    w.store
        .set_password("operator:op_1", "$argon2id$other", T0)
        .await
        .unwrap();
    assert_eq!(
        w.store.password("admin:adm_root").await.unwrap().as_deref(),
        Some(phc)
    );
    w.store
        .set_password("admin:adm_root", "$argon2id$new", T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        w.store.password("admin:adm_root").await.unwrap().as_deref(),
        Some("$argon2id$new")
    );
    assert_eq!(
        w.store.password("operator:op_1").await.unwrap().as_deref(),
        Some("$argon2id$other")
    );
}

async fn sessions_are_found_by_hash_touched_forward_and_ended(w: World) {
    let session = |hash: &str, account: &str, at: i64| SessionRecord {
        id_hash: hash.into(),
        account: account.into(),
        csrf: format!("csrf-{hash}"),
        created_at: at,
        last_seen_at: at,
    };
    let a = session("h-a", "admin:adm_root", T0);
    let b = session("h-b", "admin:adm_root", T0 + 10);
    let c = session("h-c", "operator:op_1", T0 + 20);
    for s in [&a, &b, &c] {
        w.store.create_session(s).await.unwrap();
    }
    assert_eq!(w.store.session("h-a").await.unwrap(), Some(a.clone()));
    assert_eq!(w.store.session("h-zz").await.unwrap(), None);
    assert!(w.store.create_session(&a).await.is_err());

    // Seen later moves it; a late, older touch does not move it back.
    w.store.touch_session("h-a", T0 + 100).await.unwrap();
    w.store.touch_session("h-a", T0 + 50).await.unwrap();
    w.store.touch_session("h-zz", T0 + 50).await.unwrap();
    assert_eq!(
        w.store.session("h-a").await.unwrap().unwrap().last_seen_at,
        T0 + 100
    );

    // Expired: seen at or before one bound, or created at or before the other.
    assert_eq!(
        w.store
            .delete_expired_sessions(T0 + 10, T0 - 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(w.store.session("h-b").await.unwrap(), None);
    assert!(w.store.session("h-a").await.unwrap().is_some());
    assert_eq!(
        w.store.delete_expired_sessions(T0, T0).await.unwrap(),
        1,
        "created at the bound: h-a"
    );
    assert_eq!(w.store.session("h-a").await.unwrap(), None);
    assert_eq!(w.store.delete_expired_sessions(T0, T0).await.unwrap(), 0);

    // Logging out ends one session; a password change ends all of an account's.
    for s in [&a, &b] {
        w.store.create_session(s).await.unwrap();
    }
    w.store.delete_session("h-a").await.unwrap();
    w.store.delete_session("h-zz").await.unwrap();
    assert_eq!(w.store.session("h-a").await.unwrap(), None);
    w.store.create_session(&a).await.unwrap();
    w.store.delete_sessions("admin:adm_root").await.unwrap();
    assert_eq!(w.store.session("h-a").await.unwrap(), None);
    assert_eq!(w.store.session("h-b").await.unwrap(), None);
    assert_eq!(w.store.session("h-c").await.unwrap(), Some(c));
}

async fn failed_logins_are_counted_since_a_time_and_forgotten(w: World) {
    for at in [T0, T0 + 10, T0 + 20, T0 + 20] {
        w.store.record_login_failure("mail-a", at).await.unwrap();
    }
    w.store.record_login_failure("mail-b", T0).await.unwrap();
    assert_eq!(w.store.login_failures("mail-a", T0).await.unwrap(), 4);
    assert_eq!(w.store.login_failures("mail-a", T0 + 10).await.unwrap(), 3);
    assert_eq!(w.store.login_failures("mail-a", T0 + 21).await.unwrap(), 0);
    assert_eq!(w.store.login_failures("mail-zz", T0).await.unwrap(), 0);

    // A successful login forgets that e-mail's failures only.
    w.store.clear_login_failures("mail-a").await.unwrap();
    assert_eq!(w.store.login_failures("mail-a", 0).await.unwrap(), 0);
    assert_eq!(w.store.login_failures("mail-b", 0).await.unwrap(), 1);

    // The clean-up drops what is older than the lock-out window.
    for at in [T0 + 30, T0 + 40] {
        w.store.record_login_failure("mail-a", at).await.unwrap();
    }
    assert_eq!(
        w.store.delete_login_failures_before(T0 + 30).await.unwrap(),
        1
    );
    assert_eq!(w.store.login_failures("mail-a", 0).await.unwrap(), 2);
    assert_eq!(w.store.login_failures("mail-b", 0).await.unwrap(), 0);
}

async fn notes_are_sealed_with_the_request_and_gone_with_its_key(w: World) {
    client(&w, "cli_1").await;
    let r = submitted("cli_1", None, T0);
    create(&w, &r).await;
    let note = |id: &str, body: &str, at: i64| NoteRecord {
        id: id.into(),
        request_id: r.id.clone(),
        author: "operator:op_1".into(),
        body: body.into(),
        created_at: at,
    };
    let later = note("not_1", "Chiesto il documento al cliente", T0 + 20);
    let earlier = note("not_2", "Mario Rossi ha chiamato", T0 + 10);
    let same_time = note("not_0", "Richiamare lunedì", T0 + 20);
    for n in [&later, &earlier, &same_time] {
        w.store.add_note(n).await.unwrap();
    }
    // Oldest first; at the same second, in the order written.
    assert_eq!(
        w.store.notes(&r.id).await.unwrap(),
        vec![earlier.clone(), later.clone(), same_time.clone()]
    );
    assert!(w
        .store
        .notes("0123456789abcdef01234567")
        .await
        .unwrap()
        .is_empty());

    // No key, no note: a request that does not exist, or one purged.
    let e = w
        .store
        .add_note(&NoteRecord {
            request_id: "0123456789abcdef01234567".into(),
            ..later.clone()
        })
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Purged(_)), "{e:?}");
    w.store
        .purge_request(&r.id, T0 + 30, "system:retention")
        .await
        .unwrap()
        .unwrap();
    assert!(w.store.notes(&r.id).await.unwrap().is_empty());
    let e = w
        .store
        .add_note(&note("not_3", "dopo", T0 + 40))
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Purged(ref id) if *id == r.id),
        "{e:?}"
    );
}

async fn a_totp_key_is_set_up_then_enabled_then_removed(w: World) {
    let account = "admin:adm_root";
    assert!(w.store.totp_key(account).await.unwrap().is_none());
    assert!(!w.store.enable_totp(account, T0).await.unwrap());

    let key = DataKey::generate();
    w.store.put_totp_key(account, &key).await.unwrap();
    let (stored, enabled) = w.store.totp_key(account).await.unwrap().unwrap();
    assert_eq!(stored.expose(), key.expose());
    assert_eq!(enabled, None);

    assert!(w.store.enable_totp(account, T0 + 5).await.unwrap());
    assert_eq!(
        w.store.totp_key(account).await.unwrap().unwrap().1,
        Some(T0 + 5)
    );
    // Enabling again restamps it.
    assert!(w.store.enable_totp(account, T0 + 6).await.unwrap());
    assert_eq!(
        w.store.totp_key(account).await.unwrap().unwrap().1,
        Some(T0 + 6)
    );

    // A new key starts over, not enabled.
    let replacement = DataKey::generate();
    w.store.put_totp_key(account, &replacement).await.unwrap();
    let (stored, enabled) = w.store.totp_key(account).await.unwrap().unwrap();
    assert_eq!(stored.expose(), replacement.expose());
    assert_eq!(enabled, None);
    // Another account's is its own.
    assert!(w.store.totp_key("operator:op_1").await.unwrap().is_none());

    w.store.delete_totp(account).await.unwrap();
    w.store.delete_totp("operator:op_1").await.unwrap();
    assert!(w.store.totp_key(account).await.unwrap().is_none());
}
