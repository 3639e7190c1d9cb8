//! The books: top-ups and adjustments, a request's debit and refund, balances, statements,
//! metered calls and their daily fees, the check that the books balance, a provider's
//! settlement.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_domain::status::Status;
use sportello_store::audit::AuditEvent;
use sportello_store::crypto::DataKey;
use sportello_store::ledger::{self, Entry, Funds, Kind, Transaction};
use sportello_store::{NewRequest, ProcessedRequest, StoreError};

stories!(
    money_put_in_and_taken_out_moves_the_balance_and_is_audited,
    a_request_is_debited_once_and_refunded_once,
    paid_creations_at_once_never_overdraw_the_wallet,
    metered_calls_are_counted_then_billed_once_per_day,
    the_books_check_names_what_does_not_add_up,
    a_provider_is_settled_for_the_live_requests_it_processed,
    a_keyed_top_up_posts_once_and_its_retries_get_the_same_answer,
);

fn funding(kind: Kind, client_id: &str, cents: i64, at: i64) -> Transaction {
    Transaction::funding(kind, client_id, cents, "bonifico 42", at, "admin:root")
}

/// `t` as the store gives it back: with its id.
fn posted(t: &Transaction, id: i64) -> Transaction {
    Transaction { id, ..t.clone() }
}

async fn money_put_in_and_taken_out_moves_the_balance_and_is_audited(w: World) {
    client(&w, "cli_1").await;
    client(&w, "cli_2").await;
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 0);

    let topup = funding(Kind::Topup, "cli_1", 10_000, T0);
    let why = AuditEvent {
        at: T0,
        actor: "admin:root".into(),
        action: "wallet_topup".into(),
        request_id: None,
        detail: "cli_1 +10000".into(),
        source: Some("192.0.2.1".into()),
    };
    let topup_posted = w
        .store
        .post(&topup, Funds::NotRequired, Some(&why))
        .await
        .unwrap();
    let topup_id = topup_posted.id;
    assert!(topup_id > 0);
    assert_eq!(topup_posted.balance_after, 10_000);
    let head = w.store.audit_head().await.unwrap();
    let trail = w.store.audit_entries(0, 100, None).await.unwrap();
    assert_eq!(trail.last().unwrap().event, why);
    assert_eq!(head.seq, trail.last().unwrap().seq);
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 10_000);

    let out = funding(Kind::Adjustment, "cli_1", -2_500, T0 + 10);
    let out_posted = w.store.post(&out, Funds::NotRequired, None).await.unwrap();
    let out_id = out_posted.id;
    assert!(out_id > topup_id);
    assert_eq!(out_posted.balance_after, 7_500);
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 7_500);

    // Asked to need the funds, a withdrawal beyond them writes nothing, its audit entry neither.
    let too_much = funding(Kind::Adjustment, "cli_1", -10_000, T0 + 20);
    let e = w
        .store
        .post(&too_much, Funds::Required, Some(&why))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::InsufficientCredit {
                balance: 7_500,
                required: 10_000
            }
        ),
        "{e:?}"
    );
    assert_eq!(w.store.audit_head().await.unwrap(), head);
    // Not asked to, it goes below zero.
    let below = w
        .store
        .post(&too_much, Funds::NotRequired, None)
        .await
        .unwrap()
        .id;
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), -2_500);

    // Legs that do not sum to zero are refused.
    let mut lopsided = funding(Kind::Adjustment, "cli_1", 100, T0 + 30);
    lopsided.entries.pop();
    let e = w
        .store
        .post(&lopsided, Funds::NotRequired, None)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), -2_500);

    // Past balances count what happened strictly before.
    for (before, balance) in [
        (T0, 0),
        (T0 + 1, 10_000),
        (T0 + 10, 10_000),
        (T0 + 11, 7_500),
    ] {
        assert_eq!(
            w.store.balance("cli_1", Some(before)).await.unwrap(),
            balance,
            "before {before}"
        );
    }

    let other = funding(Kind::Topup, "cli_2", 5_000, T0 + 5);
    let other_id = w
        .store
        .post(&other, Funds::Required, None)
        .await
        .unwrap()
        .id;
    assert_eq!(w.store.balance("cli_2", None).await.unwrap(), 5_000);

    // Statements: oldest first, with their legs, `from <= at < to`.
    assert_eq!(
        w.store
            .transactions(Some("cli_1"), T0, T0 + 100)
            .await
            .unwrap(),
        vec![
            posted(&topup, topup_id),
            posted(&out, out_id),
            posted(&too_much, below)
        ]
    );
    assert_eq!(
        w.store.transactions(None, T0, T0 + 100).await.unwrap(),
        vec![
            posted(&topup, topup_id),
            posted(&other, other_id),
            posted(&out, out_id),
            posted(&too_much, below)
        ]
    );
    assert_eq!(
        w.store
            .transactions(Some("cli_1"), T0 + 10, T0 + 20)
            .await
            .unwrap(),
        vec![posted(&out, out_id)]
    );
    assert!(w
        .store
        .transactions(Some("cli_1"), T0 + 21, T0 + 100)
        .await
        .unwrap()
        .is_empty());

    assert_eq!(
        w.store.check_ledger().await.unwrap(),
        ledger::Check {
            transactions: 4,
            entries: 8,
            total: 0,
            problems: vec![],
        }
    );
}

async fn a_request_is_debited_once_and_refunded_once(w: World) {
    client(&w, "cli_1").await;
    top_up(&w, "cli_1", 2_000, T0 - 1).await;
    let price = gross(&quote(1000));
    assert_eq!(price, 1_220);

    // A draft costs nothing; its submission is debited with it.
    let mut r = draft("cli_1", T0);
    create(&w, &r).await;
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 2_000);
    r.status = Status::InErogazione;
    r.timestamp_stati.insert("in_erogazione".into(), T0 + 1);
    r.version = 2;
    r.updated_at = T0 + 1;
    let debit = Transaction::debit(
        &r.id,
        "cli_1",
        r.price.clone().unwrap(),
        T0 + 1,
        "client:cli_1",
    );
    let submit = entry(&r, "submit", "client:cli_1", T0 + 1);
    assert!(w
        .store
        .update_request(&r, &[], Some(&submit), Some(&debit))
        .await
        .unwrap());
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 2_000 - price);

    // Another submission finds too little: neither the change nor its history is written.
    let mut poor = draft("cli_1", T0 + 2);
    create(&w, &poor).await;
    let before = poor.clone();
    poor.status = Status::InErogazione;
    poor.version = 2;
    let e = w
        .store
        .update_request(
            &poor,
            &[],
            Some(&entry(&poor, "submit", "client:cli_1", T0 + 3)),
            Some(&Transaction::debit(
                &poor.id,
                "cli_1",
                quote(1000),
                T0 + 3,
                "client:cli_1",
            )),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::InsufficientCredit {
                balance: 780,
                required: 1_220
            }
        ),
        "{e:?}"
    );
    assert_eq!(w.store.get_request(&poor.id).await.unwrap(), Some(before));
    assert_eq!(w.store.history(&poor.id).await.unwrap().len(), 1);
    assert!(w.store.events(&poor.id).await.unwrap().is_empty());

    // Once only.
    let e = w
        .store
        .post(&debit, Funds::NotRequired, None)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");

    // Cancelled: the same price goes back, once.
    r.status = Status::Annullata;
    r.version = 3;
    r.updated_at = T0 + 5;
    let refund = Transaction::refund(
        &r.id,
        "cli_1",
        r.price.clone().unwrap(),
        T0 + 5,
        "client:cli_1",
    );
    assert!(w
        .store
        .update_request(
            &r,
            &[],
            Some(&entry(&r, "client_cancel", "client:cli_1", T0 + 5)),
            Some(&refund)
        )
        .await
        .unwrap());
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 2_000);
    let e = w
        .store
        .post(&refund, Funds::NotRequired, None)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");

    let kinds: Vec<Kind> = w
        .store
        .transactions(Some("cli_1"), 0, T0 + 100)
        .await
        .unwrap()
        .iter()
        .map(|t| t.kind)
        .collect();
    assert_eq!(kinds, [Kind::Topup, Kind::Debit, Kind::Refund]);
    let check = w.store.check_ledger().await.unwrap();
    assert!(check.balanced(), "{check:?}");
    assert_eq!((check.transactions, check.entries), (3, 8));
}

async fn paid_creations_at_once_never_overdraw_the_wallet(w: World) {
    client(&w, "cli_1").await;
    top_up(&w, "cli_1", 5_000, T0 - 1).await;
    let requests: Vec<_> = (0..10).map(|_| submitted("cli_1", None, T0)).collect();
    let keys: Vec<_> = requests.iter().map(|_| DataKey::generate()).collect();
    let histories: Vec<_> = requests
        .iter()
        .map(|r| entry(r, "submit", "client:cli_1", T0))
        .collect();
    let debits: Vec<_> = requests
        .iter()
        .map(|r| Transaction::debit(&r.id, "cli_1", quote(1000), T0, "client:cli_1"))
        .collect();
    let outcomes = futures::future::join_all((0..requests.len()).map(|i| {
        w.store.insert_request(NewRequest {
            request: &requests[i],
            key: &keys[i],
            files: &[],
            history: &histories[i],
            idempotency: None,
            debit: Some(&debits[i]),
            subjects: &[],
        })
    }))
    .await;
    let made = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(made, 4, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(
        o,
        Ok(())
            | Err(StoreError::InsufficientCredit {
                required: 1_220,
                ..
            })
    )));
    assert_eq!(
        w.store.balance("cli_1", None).await.unwrap(),
        5_000 - 4 * 1_220
    );
    for (r, outcome) in requests.iter().zip(&outcomes) {
        assert_eq!(
            w.store.get_request(&r.id).await.unwrap().is_some(),
            outcome.is_ok()
        );
    }
    let check = w.store.check_ledger().await.unwrap();
    assert!(check.balanced(), "{check:?}");
}

async fn metered_calls_are_counted_then_billed_once_per_day(w: World) {
    client(&w, "cli_1").await;
    client(&w, "cli_2").await;
    let calls = |c: &str, day: &str, n: u64| (c.to_string(), day.to_string(), n);

    // The day before today is billed; today is counted.
    let billed = w
        .store
        .record_calls(
            &[
                calls("cli_1", "2024-03-01", 1_500),
                calls("cli_1", "2024-03-02", 300),
                calls("cli_2", "2024-03-02", 7),
            ],
            "2024-03-02",
            T0,
        )
        .await
        .unwrap();
    let expected = Transaction::fees("cli_1", "2024-03-01", 1_500, T0);
    assert_eq!(billed.len(), 1);
    assert!(billed[0].id > 0);
    assert_eq!(posted(&expected, billed[0].id), billed[0]);
    assert_eq!(
        w.store.balance("cli_1", None).await.unwrap(),
        expected.wallet_effect()
    );
    assert_eq!(expected.wallet_effect(), -183);
    assert_eq!(
        w.store.unbilled_calls("cli_1").await.unwrap(),
        [("2024-03-02".to_string(), 300)]
    );
    assert_eq!(
        w.store.unbilled_calls("cli_2").await.unwrap(),
        [("2024-03-02".to_string(), 7)]
    );

    // More of today adds up.
    assert!(w
        .store
        .record_calls(&[calls("cli_1", "2024-03-02", 200)], "2024-03-02", T0 + 1)
        .await
        .unwrap()
        .is_empty());
    // Calls of a day already billed, arriving late, go on today's count.
    assert!(w
        .store
        .record_calls(&[calls("cli_1", "2024-03-01", 40)], "2024-03-02", T0 + 2)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        w.store.unbilled_calls("cli_1").await.unwrap(),
        [("2024-03-02".to_string(), 540)]
    );

    // The next day bills every client's yesterday.
    let mut billed = w
        .store
        .record_calls(&[], "2024-03-03", T0 + 3)
        .await
        .unwrap();
    billed.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    let summary: Vec<_> = billed
        .iter()
        .map(|t| (t.client_id.as_str(), t.kind, t.day.as_deref(), t.calls))
        .collect();
    assert_eq!(
        summary,
        [
            ("cli_1", Kind::Fees, Some("2024-03-02"), Some(540)),
            ("cli_2", Kind::Fees, Some("2024-03-02"), Some(7)),
        ]
    );
    assert!(w.store.unbilled_calls("cli_1").await.unwrap().is_empty());
    assert!(w.store.unbilled_calls("cli_2").await.unwrap().is_empty());
    // Fees are taken whatever the balance: the calls were served.
    assert_eq!(
        w.store.balance("cli_2", None).await.unwrap(),
        Transaction::fees("cli_2", "2024-03-02", 7, T0 + 3).wallet_effect()
    );
    assert_eq!(
        w.store
            .transactions(Some("cli_1"), T0, T0 + 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let check = w.store.check_ledger().await.unwrap();
    assert!(check.balanced(), "{check:?}");
}

async fn the_books_check_names_what_does_not_add_up(w: World) {
    client(&w, "cli_1").await;
    client(&w, "cli_2").await;
    top_up(&w, "cli_1", 100_000, T0).await;
    top_up(&w, "cli_2", 100_000, T0).await;
    assert!(w.store.check_ledger().await.unwrap().balanced());

    // A test request is never charged.
    let mut test = submitted("cli_1", None, T0);
    test.live = false;
    create(&w, &test).await;
    let debit_test = Transaction::debit(&test.id, "cli_1", quote(1000), T0, "x");
    let test_tx = w
        .store
        .post(&debit_test, Funds::NotRequired, None)
        .await
        .unwrap()
        .id;
    // Nor is a client charged for another's request.
    let mut theirs = draft("cli_1", T0);
    theirs.timestamp_stati.clear();
    create(&w, &theirs).await;
    let wrong_client = Transaction::debit(&theirs.id, "cli_2", quote(1000), T0, "x");
    let wrong_tx = w
        .store
        .post(&wrong_client, Funds::NotRequired, None)
        .await
        .unwrap()
        .id;
    // A live submission without its debit.
    let unpaid = submitted("cli_1", None, T0);
    create(&w, &unpaid).await;
    // A refund of more than was debited.
    let over = submitted("cli_1", None, T0);
    create(&w, &over).await;
    w.store
        .post(
            &Transaction::debit(&over.id, "cli_1", quote(1000), T0, "x"),
            Funds::NotRequired,
            None,
        )
        .await
        .unwrap();
    w.store
        .post(
            &Transaction::refund(&over.id, "cli_1", quote(2000), T0, "x"),
            Funds::NotRequired,
            None,
        )
        .await
        .unwrap();

    let check = w.store.check_ledger().await.unwrap();
    assert!(!check.balanced());
    assert_eq!(check.total, 0, "every transaction still balances");
    let mut problems = check.problems.clone();
    problems.sort();
    let mut expected = vec![
        format!("transaction {test_tx}: not the debit or refund of a live request of its client"),
        format!("transaction {wrong_tx}: not the debit or refund of a live request of its client"),
        format!("request {}: submitted live without a debit", unpaid.id),
        format!(
            "request {}: refunded without a debit of the same amount",
            over.id
        ),
    ];
    expected.sort();
    assert_eq!(problems, expected);
    // Legs are written as given: one on a wallet, one elsewhere, summing to zero.
    let legs = &w
        .store
        .transactions(Some("cli_2"), T0, T0 + 1)
        .await
        .unwrap()[1]
        .entries;
    assert_eq!(
        legs[0],
        Entry {
            account: ledger::wallet("cli_2"),
            amount: -1_220
        }
    );
    assert_eq!(legs.iter().map(|e| e.amount).sum::<i64>(), 0);
}

async fn a_provider_is_settled_for_the_live_requests_it_processed(w: World) {
    client(&w, "cli_1").await;
    provider(&w, "prv_1", &[VISURA]).await;
    provider(&w, "prv_2", &[VISURA]).await;
    let mut closed = Vec::new();
    for (prv, live, to, at) in [
        ("prv_1", true, Status::VisuraEvasa, T0 + 100),
        ("prv_1", true, Status::VisuraEvasa, T0 + 200),
        ("prv_1", false, Status::VisuraEvasa, T0 + 150),
        ("prv_1", true, Status::Annullata, T0 + 120),
        ("prv_2", true, Status::VisuraEvasa, T0 + 130),
        ("prv_1", true, Status::InErogazione, T0 + 140),
    ] {
        let mut r = submitted("cli_1", Some(prv), T0);
        r.live = live;
        create(&w, &r).await;
        let action = if to == Status::Annullata {
            "cancel"
        } else {
            "close"
        };
        assert!(change(&w, &mut r, to, action, at).await);
        closed.push(r);
    }
    let settled = |r: &sportello_store::RequestRecord| ProcessedRequest {
        id: r.id.clone(),
        client_id: r.client_id.clone(),
        hash_visura: r.hash_visura.clone(),
        closed_at: r.closed_at.unwrap(),
        price: r.price.clone(),
        prezzo_totale: r.prezzo_totale,
    };
    assert_eq!(
        w.store.processed("prv_1", T0, T0 + 1_000).await.unwrap(),
        vec![settled(&closed[0]), settled(&closed[1])]
    );
    assert_eq!(
        w.store
            .processed("prv_1", T0 + 100, T0 + 200)
            .await
            .unwrap(),
        vec![settled(&closed[0])]
    );
    assert_eq!(
        w.store.processed("prv_2", T0, T0 + 1_000).await.unwrap(),
        vec![settled(&closed[4])]
    );
    assert!(w
        .store
        .processed("prv_zz", T0, T0 + 1_000)
        .await
        .unwrap()
        .is_empty());
}

async fn a_keyed_top_up_posts_once_and_its_retries_get_the_same_answer(w: World) {
    client(&w, "cli_1").await;
    top_up(&w, "cli_1", 1_000, T0).await;
    let why = |detail: &str| AuditEvent {
        at: T0 + 10,
        actor: "admin:root".into(),
        action: "wallet_topup".into(),
        request_id: None,
        detail: detail.into(),
        source: Some("192.0.2.1".into()),
    };
    let key = ledger::PostKey {
        key: "k-1".into(),
        fingerprint: "fp-1".into(),
    };
    let t = funding(Kind::Topup, "cli_1", 5_000, T0 + 10);
    let first = w
        .store
        .post_keyed(&t, &why("cli_1 +5000"), &key)
        .await
        .unwrap();
    let ledger::Keyed::Posted { id, balance_after } = first else {
        panic!("not posted: {first:?}");
    };
    assert_eq!(balance_after, 6_000);
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 6_000);
    let trail = w.store.audit_entries(0, 100, None).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].event, why("cli_1 +5000"));

    // A retry with the same key and fingerprint posts nothing and gets the first answer back,
    // even after the balance moved on.
    top_up(&w, "cli_1", 100, T0 + 20).await;
    let retry = funding(Kind::Topup, "cli_1", 5_000, T0 + 30);
    assert_eq!(
        w.store
            .post_keyed(&retry, &why("again"), &key)
            .await
            .unwrap(),
        ledger::Keyed::Replayed {
            transaction: Box::new(posted(&t, id)),
            balance_after: 6_000,
        }
    );
    // The same key with another fingerprint is refused, and posts nothing either.
    let other = ledger::PostKey {
        key: "k-1".into(),
        fingerprint: "fp-2".into(),
    };
    assert_eq!(
        w.store
            .post_keyed(&retry, &why("other"), &other)
            .await
            .unwrap(),
        ledger::Keyed::KeyReused
    );
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 6_100);
    assert_eq!(
        w.store
            .transactions(Some("cli_1"), 0, i64::MAX)
            .await
            .unwrap()
            .len(),
        3
    );
    assert_eq!(w.store.audit_entries(0, 100, None).await.unwrap().len(), 1);

    // Two first attempts with one key at once: one posts, the other gets its answer.
    let key2 = ledger::PostKey {
        key: "k-2".into(),
        fingerprint: "fp-1".into(),
    };
    let out = funding(Kind::Adjustment, "cli_1", -600, T0 + 40);
    let audit = why("cli_1 -600");
    let (a, b) = futures::future::join(
        w.store.post_keyed(&out, &audit, &key2),
        w.store.post_keyed(&out, &audit, &key2),
    )
    .await;
    let answers = [a.unwrap(), b.unwrap()];
    let posted_now: Vec<i64> = answers
        .iter()
        .filter_map(|k| match k {
            ledger::Keyed::Posted { id, balance_after } => {
                assert_eq!(*balance_after, 5_500);
                Some(*id)
            }
            _ => None,
        })
        .collect();
    assert_eq!(posted_now.len(), 1, "{answers:?}");
    assert!(answers.iter().any(|k| *k
        == ledger::Keyed::Replayed {
            transaction: Box::new(posted(&out, posted_now[0])),
            balance_after: 5_500,
        }));
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), 5_500);
    assert_eq!(w.store.audit_entries(0, 100, None).await.unwrap().len(), 2);
}
