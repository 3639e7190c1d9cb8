//! The back office's records: admins, passwords, sessions, failed logins, notes and TOTP keys.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_store::crypto::DataKey;
use sportello_store::{
    AdminRecord, LoginAttempt, LoginLimits, LoginReservation, NoteRecord, SessionRecord, StoreError,
};

stories!(
    admins_are_found_by_email_whatever_its_case,
    a_password_is_kept_per_account_and_replaced,
    sessions_are_found_by_hash_touched_forward_and_ended,
    logins_are_reserved_up_to_a_limit_and_a_success_forgets_the_address,
    notes_are_sealed_with_the_request_and_gone_with_its_key,
    a_totp_key_is_set_up_then_enabled_then_removed,
    a_totp_step_is_accepted_once_and_never_an_older_one,
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

fn limits(since: i64, per_email: u32, per_source: u32) -> LoginLimits {
    LoginLimits {
        since,
        per_email,
        per_source,
    }
}

/// Reserves an attempt of `email` from `source` at `at`.
async fn reserve(
    w: &World,
    email: &str,
    source: Option<&str>,
    at: i64,
    limits: LoginLimits,
) -> LoginReservation {
    let attempt = LoginAttempt {
        email_hash: email.into(),
        source_hash: source.map(str::to_string),
        at,
    };
    w.store.reserve_login(&attempt, &limits).await.unwrap()
}

fn reserved(r: LoginReservation) -> i64 {
    match r {
        LoginReservation::Reserved(id) => id,
        other => panic!("not reserved: {other:?}"),
    }
}

async fn logins_are_reserved_up_to_a_limit_and_a_success_forgets_the_address(w: World) {
    let lim = limits(T0, 3, 2);
    // Up to the limit, each attempt is reserved (recorded as a failure) under its own id.
    let first = w
        .store
        .reserve_login(
            &LoginAttempt {
                email_hash: "mail-a".into(),
                source_hash: Some("net-1".into()),
                at: T0,
            },
            &limits(T0, 3, 5),
        )
        .await
        .unwrap();
    let mut ids = vec![reserved(first)];
    for at in [T0 + 1, T0 + 2] {
        ids.push(reserved(
            reserve(&w, "mail-a", Some("net-1"), at, limits(T0, 3, 5)).await,
        ));
    }
    assert!(ids.windows(2).all(|p| p[0] < p[1]), "{ids:?}");

    // The limit-th + 1 is refused for the e-mail, and writes nothing: net-2 still has both of
    // its attempts afterwards.
    assert_eq!(
        reserve(&w, "mail-a", Some("net-2"), T0 + 3, lim).await,
        LoginReservation::EmailLocked
    );
    reserved(reserve(&w, "mail-b", Some("net-2"), T0 + 4, lim).await);
    reserved(reserve(&w, "mail-c", Some("net-2"), T0 + 5, lim).await);
    assert_eq!(
        reserve(&w, "mail-d", Some("net-2"), T0 + 6, lim).await,
        LoginReservation::SourceLocked
    );
    // ...which wrote nothing either: mail-d has no attempt against it.
    reserved(reserve(&w, "mail-d", None, T0 + 6, limits(T0, 1, 2)).await);
    // No per-source limit at 0, nor for an unknown source.
    reserved(reserve(&w, "mail-e", Some("net-2"), T0 + 6, limits(T0, 3, 0)).await);
    reserved(reserve(&w, "mail-f", None, T0 + 7, lim).await);
    // Only attempts since `limits.since` count.
    let last = reserved(reserve(&w, "mail-a", Some("net-1"), T0 + 8, limits(T0 + 1, 3, 5)).await);
    assert_eq!(
        reserve(&w, "mail-a", Some("net-3"), T0 + 9, lim).await,
        LoginReservation::EmailLocked
    );

    // A success: its own attempt is no failure, and the address's earlier failures stop
    // counting against it, but still count against their source.
    w.store.login_succeeded(Some(last), "mail-a").await.unwrap();
    reserved(reserve(&w, "mail-a", Some("net-3"), T0 + 10, limits(T0, 1, 5)).await);
    assert_eq!(
        reserve(&w, "mail-a", Some("net-3"), T0 + 11, limits(T0, 1, 5)).await,
        LoginReservation::EmailLocked
    );
    // net-1 holds the three earlier failures (the successful attempt is gone).
    reserved(reserve(&w, "mail-z", Some("net-1"), T0 + 12, limits(T0, 3, 4)).await);
    assert_eq!(
        reserve(&w, "mail-y", Some("net-1"), T0 + 13, limits(T0, 3, 4)).await,
        LoginReservation::SourceLocked
    );
    // Without an attempt, a success only forgets the address's failures.
    w.store.login_succeeded(None, "mail-b").await.unwrap();
    reserved(reserve(&w, "mail-b", None, T0 + 14, limits(T0, 1, 0)).await);
    // Other addresses keep theirs.
    assert_eq!(
        reserve(&w, "mail-c", None, T0 + 15, limits(T0, 1, 0)).await,
        LoginReservation::EmailLocked
    );

    // The clean-up drops what is older than the lock-out window, whatever it counted against.
    assert_eq!(
        w.store.delete_login_failures_before(T0 + 3).await.unwrap(),
        3
    );
    reserved(reserve(&w, "mail-y", Some("net-1"), T0 + 16, limits(T0, 3, 2)).await);
    assert_eq!(
        w.store
            .delete_login_failures_before(T0 + 100)
            .await
            .unwrap(),
        9
    );
    reserved(reserve(&w, "mail-c", None, T0 + 100, limits(T0, 1, 0)).await);
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

async fn a_totp_step_is_accepted_once_and_never_an_older_one(w: World) {
    let account = "admin:adm_root";
    // No key, no step.
    assert!(!w.store.accept_totp_step(account, 100).await.unwrap());

    w.store
        .put_totp_key(account, &DataKey::generate())
        .await
        .unwrap();
    assert!(w.store.enable_totp(account, T0).await.unwrap());
    assert!(w.store.accept_totp_step(account, 100).await.unwrap());
    // The same step again is a replay, and so is an older one.
    assert!(!w.store.accept_totp_step(account, 100).await.unwrap());
    assert!(!w.store.accept_totp_step(account, 99).await.unwrap());
    assert!(w.store.accept_totp_step(account, 102).await.unwrap());
    assert!(!w.store.accept_totp_step(account, 101).await.unwrap());

    // Each account has its own steps.
    w.store
        .put_totp_key("operator:op_1", &DataKey::generate())
        .await
        .unwrap();
    assert!(w.store.accept_totp_step("operator:op_1", 50).await.unwrap());

    // Of logins racing with the same code, one is accepted.
    let racing =
        futures::future::join_all((0..8).map(|_| w.store.accept_totp_step("operator:op_1", 51)))
            .await;
    assert_eq!(
        racing.into_iter().filter(|r| *r.as_ref().unwrap()).count(),
        1
    );

    // A new key starts over; a removed one accepts nothing.
    w.store
        .put_totp_key(account, &DataKey::generate())
        .await
        .unwrap();
    assert!(w.store.accept_totp_step(account, 1).await.unwrap());
    w.store.delete_totp(account).await.unwrap();
    assert!(!w.store.accept_totp_step(account, 200).await.unwrap());
}
