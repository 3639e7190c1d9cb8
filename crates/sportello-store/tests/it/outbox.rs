//! The outbox: events and deliveries written with the change, leases, attempts, replays, and the
//! clients' webhook endpoints and signing secrets.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_domain::status::Status;
use sportello_store::{
    AttemptOutcome, DeliveryFilter, DeliveryKind, DeliveryRecord, DeliveryStatus, FileKind,
    FileRecord, Replay, ReplayLimit, RequestRecord,
};
use std::collections::BTreeSet;

stories!(
    a_change_makes_an_event_and_a_delivery_per_destination,
    due_deliveries_are_leased_to_one_worker_which_records_its_attempts,
    a_failed_callback_is_announced_to_the_webhook_and_a_replay_starts_over,
    replays_are_limited_per_delivery_within_a_window,
    a_stopping_worker_releases_its_leases,
    workers_claiming_at_once_never_share_a_delivery,
    a_client_has_a_webhook_endpoint_and_rotating_signing_secrets,
    the_invited_person_hears_of_what_concerns_them_while_the_invitation_is_current,
);

/// A client with a webhook endpoint and a submitted request of it with a callback and an
/// e-mail target: its submission made a callback and a webhook delivery, due at `at`.
async fn hooked(w: &World, client_id: &str, at: i64) -> RequestRecord {
    if w.store.get_client(client_id).await.unwrap().is_none() {
        client(w, client_id).await;
        w.store
            .set_webhook_url(client_id, Some("https://client.example/hook"))
            .await
            .unwrap();
    }
    let r = submitted(client_id, None, at);
    create(w, &r).await;
    r
}

async fn deliveries_of(w: &World, request_id: &str) -> Vec<DeliveryRecord> {
    w.store
        .list_deliveries(&DeliveryFilter {
            request_id: Some(request_id.to_string()),
            limit: 100,
            ..DeliveryFilter::default()
        })
        .await
        .unwrap()
}

fn of_kind(list: &[DeliveryRecord], kind: DeliveryKind) -> DeliveryRecord {
    let found: Vec<_> = list.iter().filter(|d| d.kind == kind).collect();
    assert_eq!(found.len(), 1, "{list:#?}");
    found[0].clone()
}

/// A limit no story but the limits' own reaches.
const HOURLY: ReplayLimit = ReplayLimit {
    max: 10,
    window_secs: 3_600,
};

fn id_set(list: &[DeliveryRecord]) -> BTreeSet<String> {
    list.iter().map(|d| d.id.clone()).collect()
}

async fn a_change_makes_an_event_and_a_delivery_per_destination(w: World) {
    let mut r = hooked(&w, "cli_1", T0).await;
    let submitted_deliveries = deliveries_of(&w, &r.id).await;
    assert_eq!(submitted_deliveries.len(), 2);
    let callback = of_kind(&submitted_deliveries, DeliveryKind::Callback);
    let events = w.store.events(&r.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        callback,
        DeliveryRecord {
            id: callback.id.clone(),
            event_id: events[0].id.clone(),
            event_type: "request.submitted".into(),
            request_id: r.id.clone(),
            client_id: "cli_1".into(),
            kind: DeliveryKind::Callback,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: T0,
            window_start: T0,
            last_error: None,
            last_status: None,
            last_attempt_at: None,
            delivered_at: None,
            created_at: T0,
        }
    );
    assert_eq!(
        w.store.get_delivery(&callback.id).await.unwrap(),
        Some(callback.clone())
    );
    assert_eq!(w.store.get_delivery("dlv_nope").await.unwrap(), None);

    // A claim concerns nobody outside; a result attached before the close is the client's
    // endpoint's news only; the close is everybody's, e-mail included.
    assert!(change(&w, &mut r, Status::InErogazione, "claim", T0 + 5).await);
    r.version += 1;
    r.updated_at = T0 + 10;
    let result = FileRecord {
        id: "fil_r".into(),
        request_id: r.id.clone(),
        kind: FileKind::Result,
        campo: None,
        name: "visura.pdf".into(),
        mime: "application/pdf".into(),
        size: 10,
        sha256: "00".into(),
        blob_key: format!("requests/{}/fil_r", r.id),
        created_at: T0 + 10,
    };
    let attach = entry(&r, "attach_result", "operator:op_1", T0 + 10);
    assert!(w
        .store
        .update_request(&r, &[result], Some(&attach), None)
        .await
        .unwrap());
    assert!(change(&w, &mut r, Status::VisuraEvasa, "close", T0 + 20).await);

    let events = w.store.events(&r.id).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "request.submitted",
            "request.document_added",
            "request.processed"
        ]
    );
    assert!(events.windows(2).all(|p| p[0].seq < p[1].seq));
    assert_eq!(
        events
            .iter()
            .map(|e| (e.status.as_str(), e.at))
            .collect::<Vec<_>>(),
        [
            ("in_erogazione", T0),
            ("in_erogazione", T0 + 10),
            ("visura_evasa", T0 + 20)
        ]
    );

    // Newest first; within one change, the order they were written in, reversed.
    let all = deliveries_of(&w, &r.id).await;
    let seen: Vec<(&str, DeliveryKind)> = all
        .iter()
        .map(|d| (d.event_type.as_str(), d.kind))
        .collect();
    assert_eq!(
        seen,
        [
            ("request.processed", DeliveryKind::Email),
            ("request.processed", DeliveryKind::Webhook),
            ("request.processed", DeliveryKind::Callback),
            ("request.document_added", DeliveryKind::Webhook),
            ("request.submitted", DeliveryKind::Webhook),
            ("request.submitted", DeliveryKind::Callback),
        ]
    );

    // A request with nowhere to go makes its events and no delivery.
    client(&w, "cli_2").await;
    let mut quiet = submitted("cli_2", None, T0 + 30);
    quiet.callback_data = None;
    quiet.email_target = None;
    create(&w, &quiet).await;
    assert_eq!(w.store.events(&quiet.id).await.unwrap().len(), 1);
    assert!(deliveries_of(&w, &quiet.id).await.is_empty());

    // The log's filters.
    let list = |f: DeliveryFilter| {
        let store = w.store.clone();
        async move {
            store
                .list_deliveries(&DeliveryFilter { limit: 100, ..f })
                .await
                .unwrap()
        }
    };
    assert_eq!(
        list(DeliveryFilter {
            client_id: Some("cli_1".into()),
            ..Default::default()
        })
        .await,
        all
    );
    assert!(list(DeliveryFilter {
        client_id: Some("cli_2".into()),
        ..Default::default()
    })
    .await
    .is_empty());
    assert_eq!(
        list(DeliveryFilter {
            status: Some(DeliveryStatus::Pending),
            live: Some(true),
            ..Default::default()
        })
        .await,
        all
    );
    assert!(list(DeliveryFilter {
        status: Some(DeliveryStatus::Delivered),
        ..Default::default()
    })
    .await
    .is_empty());
    assert!(list(DeliveryFilter {
        live: Some(false),
        ..Default::default()
    })
    .await
    .is_empty());
    assert_eq!(
        w.store
            .list_deliveries(&DeliveryFilter {
                limit: 2,
                offset: 1,
                ..Default::default()
            })
            .await
            .unwrap(),
        all[1..3].to_vec()
    );
    // A limit of 0 reads as 1.
    assert_eq!(
        w.store
            .list_deliveries(&DeliveryFilter::default())
            .await
            .unwrap(),
        all[..1].to_vec()
    );
}

async fn due_deliveries_are_leased_to_one_worker_which_records_its_attempts(w: World) {
    let r = hooked(&w, "cli_1", T0).await;
    let made = deliveries_of(&w, &r.id).await;
    let callback = of_kind(&made, DeliveryKind::Callback).id;
    let webhook = of_kind(&made, DeliveryKind::Webhook).id;

    // Not due before its time.
    assert!(w
        .store
        .claim_deliveries("w1", T0 - 1, 60, 10)
        .await
        .unwrap()
        .is_empty());
    let claimed = w
        .store
        .claim_deliveries("w1", T0 + 1, 60, 10)
        .await
        .unwrap();
    assert_eq!(id_set(&claimed), id_set(&made));
    // Leased: another worker gets nothing until the lease runs out.
    assert!(w
        .store
        .claim_deliveries("w2", T0 + 60, 60, 10)
        .await
        .unwrap()
        .is_empty());

    // Only the lease holder records an attempt.
    let delivered = AttemptOutcome::Delivered { status: Some(200) };
    assert!(!w
        .store
        .finish_delivery(&callback, "w2", T0 + 5, &delivered)
        .await
        .unwrap());
    assert!(w
        .store
        .finish_delivery(&callback, "w1", T0 + 5, &delivered)
        .await
        .unwrap());
    let done = w.store.get_delivery(&callback).await.unwrap().unwrap();
    assert_eq!(done.status, DeliveryStatus::Delivered);
    assert_eq!(
        (
            done.attempts,
            done.last_status,
            done.last_error.clone(),
            done.last_attempt_at,
            done.delivered_at,
            done.next_attempt_at
        ),
        (1, Some(200), None, Some(T0 + 5), Some(T0 + 5), T0 + 5)
    );
    // Once recorded, a second word on it is refused.
    assert!(!w
        .store
        .finish_delivery(&callback, "w1", T0 + 6, &delivered)
        .await
        .unwrap());

    let retry = AttemptOutcome::Retry {
        error: "HTTP 500".into(),
        status: Some(500),
        next_attempt_at: T0 + 100,
    };
    assert!(w
        .store
        .finish_delivery(&webhook, "w1", T0 + 6, &retry)
        .await
        .unwrap());
    let waiting = w.store.get_delivery(&webhook).await.unwrap().unwrap();
    assert_eq!(waiting.status, DeliveryStatus::Pending);
    assert_eq!(
        (
            waiting.attempts,
            waiting.last_status,
            waiting.last_error.as_deref(),
            waiting.next_attempt_at,
            waiting.delivered_at
        ),
        (1, Some(500), Some("HTTP 500"), T0 + 100, None)
    );
    assert!(w
        .store
        .claim_deliveries("w2", T0 + 99, 60, 10)
        .await
        .unwrap()
        .is_empty());
    let again = w
        .store
        .claim_deliveries("w2", T0 + 100, 60, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, webhook);
    assert_eq!(again[0].attempts, 1);

    // Giving up on the client's own endpoint: failed, a `delivery.failed` event, and no
    // delivery announcing it to the endpoint that failed.
    let give_up = AttemptOutcome::GiveUp {
        error: "HTTP 410".into(),
        status: Some(410),
    };
    assert!(w
        .store
        .finish_delivery(&webhook, "w2", T0 + 101, &give_up)
        .await
        .unwrap());
    let failed = w.store.get_delivery(&webhook).await.unwrap().unwrap();
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert_eq!(
        (
            failed.attempts,
            failed.last_error.as_deref(),
            failed.delivered_at
        ),
        (2, Some("HTTP 410"), None)
    );
    let events = w.store.events(&r.id).await.unwrap();
    assert_eq!(events.last().unwrap().event_type, "delivery.failed");
    assert_eq!(events.last().unwrap().status, "in_erogazione");
    assert_eq!(events.last().unwrap().at, T0 + 101);
    assert_eq!(deliveries_of(&w, &r.id).await.len(), 2);

    // `limit` caps a claim; due ones come oldest due first.
    let later = hooked(&w, "cli_1", T0 + 200).await;
    let one = w
        .store
        .claim_deliveries("w3", T0 + 300, 60, 1)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].request_id, later.id);
}

async fn a_failed_callback_is_announced_to_the_webhook_and_a_replay_starts_over(w: World) {
    let r = hooked(&w, "cli_1", T0).await;
    let made = deliveries_of(&w, &r.id).await;
    let callback = of_kind(&made, DeliveryKind::Callback).id;
    let webhook = of_kind(&made, DeliveryKind::Webhook).id;
    w.store.claim_deliveries("w1", T0, 60, 10).await.unwrap();
    let give_up = AttemptOutcome::GiveUp {
        error: "connection refused".into(),
        status: None,
    };
    assert!(w
        .store
        .finish_delivery(&callback, "w1", T0 + 3, &give_up)
        .await
        .unwrap());

    let events = w.store.events(&r.id).await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].event_type, "delivery.failed");
    let all = deliveries_of(&w, &r.id).await;
    assert_eq!(all.len(), 3);
    let announced = &all[0];
    assert_eq!(
        (
            announced.kind,
            announced.event_type.as_str(),
            announced.event_id.as_str(),
            announced.status,
            announced.next_attempt_at,
            announced.created_at
        ),
        (
            DeliveryKind::Webhook,
            "delivery.failed",
            events[1].id.as_str(),
            DeliveryStatus::Pending,
            T0 + 3,
            T0 + 3
        )
    );

    // A replay: due now, a new retry window, its history kept.
    assert_eq!(
        w.store
            .replay_delivery(&callback, T0 + 50, &HOURLY)
            .await
            .unwrap(),
        Replay::Done
    );
    assert_eq!(
        w.store
            .replay_delivery("dlv_nope", T0 + 50, &HOURLY)
            .await
            .unwrap(),
        Replay::NotFound
    );
    let replayed = w.store.get_delivery(&callback).await.unwrap().unwrap();
    assert_eq!(
        (
            replayed.status,
            replayed.next_attempt_at,
            replayed.window_start,
            replayed.attempts,
            replayed.last_error.as_deref()
        ),
        (
            DeliveryStatus::Pending,
            T0 + 50,
            T0 + 50,
            1,
            Some("connection refused")
        )
    );

    // A replay drops a lease in flight: the late answer of that attempt is not recorded, and
    // another worker may claim it at once.
    let claimed = w
        .store
        .claim_deliveries("w1", T0 + 50, 60, 10)
        .await
        .unwrap();
    assert!(claimed.iter().any(|d| d.id == callback));
    assert_eq!(
        w.store
            .replay_delivery(&callback, T0 + 51, &HOURLY)
            .await
            .unwrap(),
        Replay::Done
    );
    let delivered = AttemptOutcome::Delivered { status: Some(204) };
    assert!(!w
        .store
        .finish_delivery(&callback, "w1", T0 + 52, &delivered)
        .await
        .unwrap());
    let taken = w
        .store
        .claim_deliveries("w2", T0 + 51, 60, 10)
        .await
        .unwrap();
    assert_eq!(
        taken.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [callback.as_str()]
    );
    assert!(w
        .store
        .finish_delivery(&callback, "w2", T0 + 52, &delivered)
        .await
        .unwrap());
    // Even a delivered one goes out again when replayed.
    assert_eq!(
        w.store
            .replay_delivery(&callback, T0 + 60, &HOURLY)
            .await
            .unwrap(),
        Replay::Done
    );
    let again = w.store.get_delivery(&callback).await.unwrap().unwrap();
    assert_eq!(again.status, DeliveryStatus::Pending);
    assert_eq!(again.delivered_at, Some(T0 + 52));
    assert_eq!(again.attempts, 2);
    // The webhook delivery was leased to w1 all along and is still its own.
    assert!(w
        .store
        .finish_delivery(&webhook, "w1", T0 + 55, &delivered)
        .await
        .unwrap());
}

async fn replays_are_limited_per_delivery_within_a_window(w: World) {
    let r = hooked(&w, "cli_1", T0).await;
    let made = deliveries_of(&w, &r.id).await;
    let callback = of_kind(&made, DeliveryKind::Callback).id;
    let webhook = of_kind(&made, DeliveryKind::Webhook).id;
    let limit = ReplayLimit {
        max: 2,
        window_secs: 3_600,
    };
    for at in [T0 + 10, T0 + 20] {
        assert_eq!(
            w.store
                .replay_delivery(&callback, at, &limit)
                .await
                .unwrap(),
            Replay::Done
        );
    }
    // The third within the hour is refused until the oldest leaves the window, and changes
    // nothing.
    assert_eq!(
        w.store
            .replay_delivery(&callback, T0 + 30, &limit)
            .await
            .unwrap(),
        Replay::Limited {
            retry_at: T0 + 10 + 3_600
        }
    );
    let kept = w.store.get_delivery(&callback).await.unwrap().unwrap();
    assert_eq!(
        (kept.next_attempt_at, kept.window_start),
        (T0 + 20, T0 + 20)
    );
    // Counted per delivery: the webhook's are its own.
    assert_eq!(
        w.store
            .replay_delivery(&webhook, T0 + 30, &limit)
            .await
            .unwrap(),
        Replay::Done
    );
    // A refused replay is not counted: once the first leaves the window, one more goes.
    assert_eq!(
        w.store
            .replay_delivery(&callback, T0 + 3_610, &limit)
            .await
            .unwrap(),
        Replay::Done
    );
    assert_eq!(
        w.store
            .replay_delivery(&callback, T0 + 3_611, &limit)
            .await
            .unwrap(),
        Replay::Limited {
            retry_at: T0 + 20 + 3_600
        }
    );
    let replayed = w.store.get_delivery(&callback).await.unwrap().unwrap();
    assert_eq!(replayed.next_attempt_at, T0 + 3_610);

    // Replays at once are counted one after the other: at most `max` go.
    let racing = futures::future::join_all(
        (0..6).map(|_| w.store.replay_delivery(&webhook, T0 + 8_000, &limit)),
    )
    .await;
    let done = racing
        .into_iter()
        .filter(|r| *r.as_ref().unwrap() == Replay::Done)
        .count();
    assert_eq!(done, 2);
}

async fn a_stopping_worker_releases_its_leases(w: World) {
    let r = hooked(&w, "cli_1", T0).await;
    let made = deliveries_of(&w, &r.id).await;
    assert_eq!(
        w.store
            .claim_deliveries("w1", T0, 600, 10)
            .await
            .unwrap()
            .len(),
        2
    );
    // One of them was delivered: its lease ended with the attempt.
    let callback = of_kind(&made, DeliveryKind::Callback).id;
    assert!(w
        .store
        .finish_delivery(
            &callback,
            "w1",
            T0 + 1,
            &AttemptOutcome::Delivered { status: None }
        )
        .await
        .unwrap());
    assert_eq!(w.store.release_leases("w1").await.unwrap(), 1);
    assert_eq!(w.store.release_leases("w1").await.unwrap(), 0);
    assert_eq!(w.store.release_leases("nobody").await.unwrap(), 0);
    // Due again at once for whoever claims, long before the lease would have run out.
    let taken = w
        .store
        .claim_deliveries("w2", T0 + 2, 600, 10)
        .await
        .unwrap();
    assert_eq!(
        taken.iter().map(|d| d.kind).collect::<Vec<_>>(),
        [DeliveryKind::Webhook]
    );
}

async fn workers_claiming_at_once_never_share_a_delivery(w: World) {
    let mut made = BTreeSet::new();
    for i in 0..5 {
        let r = hooked(&w, "cli_1", T0 + i).await;
        made.extend(id_set(&deliveries_of(&w, &r.id).await));
    }
    assert_eq!(made.len(), 10);
    let (one, two) = tokio::join!(
        w.store.claim_deliveries("w1", T0 + 10, 60, 10),
        w.store.claim_deliveries("w2", T0 + 10, 60, 10)
    );
    let (one, two) = (id_set(&one.unwrap()), id_set(&two.unwrap()));
    assert!(one.is_disjoint(&two), "{one:?} {two:?}");
    assert_eq!(one.union(&two).cloned().collect::<BTreeSet<_>>(), made);
}

async fn a_client_has_a_webhook_endpoint_and_rotating_signing_secrets(w: World) {
    client(&w, "cli_1").await;
    client(&w, "cli_2").await;
    let first = w.store.webhook_settings("cli_1").await.unwrap();
    assert_eq!(first.client_id, "cli_1");
    assert_eq!(first.url, None);
    assert!(first.previous.is_none());
    assert_eq!(first.previous_until, None);
    // A secret is made once.
    let again = w.store.webhook_settings("cli_1").await.unwrap();
    assert_eq!(again.secret.expose(), first.secret.expose());
    // Each client its own.
    let other = w.store.webhook_settings("cli_2").await.unwrap();
    assert_ne!(other.secret.expose(), first.secret.expose());

    w.store
        .set_webhook_url("cli_1", Some("https://a.example/hook"))
        .await
        .unwrap();
    w.store
        .set_webhook_url("cli_1", Some("https://b.example/hook"))
        .await
        .unwrap();
    assert_eq!(
        w.store
            .webhook_settings("cli_1")
            .await
            .unwrap()
            .url
            .as_deref(),
        Some("https://b.example/hook")
    );

    // A rotation: the new secret signs; the old one too, until told.
    let fresh = w
        .store
        .rotate_webhook_secret("cli_1", Some(T0 + 3600))
        .await
        .unwrap();
    assert_ne!(fresh.expose(), first.secret.expose());
    let rotating = w.store.webhook_settings("cli_1").await.unwrap();
    assert_eq!(rotating.secret.expose(), fresh.expose());
    assert_eq!(
        rotating.previous.as_ref().map(|k| k.expose().to_vec()),
        Some(first.secret.expose().to_vec())
    );
    assert_eq!(rotating.previous_until, Some(T0 + 3600));
    assert_eq!(rotating.url.as_deref(), Some("https://b.example/hook"));

    // Rotating without a grace period drops the old secret at once.
    let newest = w.store.rotate_webhook_secret("cli_1", None).await.unwrap();
    let rotated = w.store.webhook_settings("cli_1").await.unwrap();
    assert_eq!(rotated.secret.expose(), newest.expose());
    assert!(rotated.previous.is_none());
    assert_eq!(rotated.previous_until, None);

    w.store.set_webhook_url("cli_1", None).await.unwrap();
    assert_eq!(w.store.webhook_settings("cli_1").await.unwrap().url, None);

    // A client whose secret was never read has nothing to keep signing with.
    client(&w, "cli_3").await;
    let made = w
        .store
        .rotate_webhook_secret("cli_3", Some(T0 + 3600))
        .await
        .unwrap();
    let third = w.store.webhook_settings("cli_3").await.unwrap();
    assert_eq!(third.secret.expose(), made.expose());
    assert!(third.previous.is_none());
    assert_eq!(third.previous_until, None);
}

async fn the_invited_person_hears_of_what_concerns_them_while_the_invitation_is_current(w: World) {
    client(&w, "cli_1").await;
    w.store
        .set_webhook_url("cli_1", Some("https://client.example/hook"))
        .await
        .unwrap();
    let mut r = draft("cli_1", T0);
    r.email_target = None;
    create(&w, &r).await;
    let kinds = |list: Vec<DeliveryRecord>, event: &str| -> BTreeSet<&'static str> {
        list.iter()
            .filter(|d| d.event_type == event)
            .map(|d| d.kind.as_str())
            .collect()
    };

    // The invitation's own message goes to the person alone.
    r.invito_hash = Some("a".repeat(64));
    r.version += 1;
    r.updated_at = T0 + 1;
    let invite = entry(&r, "invite_email", "client:cli_1", T0 + 1);
    assert!(w
        .store
        .update_request(&r, &[], Some(&invite), None)
        .await
        .unwrap());
    assert_eq!(
        kinds(deliveries_of(&w, &r.id).await, "request.invitation_sent"),
        BTreeSet::from(["persona"])
    );
    // Opening and completing are the client's to hear, not the person's.
    assert!(change(&w, &mut r, Status::Draft, "invitation_opened", T0 + 2).await);
    assert_eq!(
        kinds(deliveries_of(&w, &r.id).await, "request.invitation_opened"),
        BTreeSet::from(["callback", "webhook"])
    );
    assert!(change(&w, &mut r, Status::InErogazione, "submit", T0 + 3).await);
    assert!(
        change(
            &w,
            &mut r,
            Status::InErogazione,
            "invitation_completed",
            T0 + 3
        )
        .await
    );
    assert_eq!(
        kinds(
            deliveries_of(&w, &r.id).await,
            "request.invitation_completed"
        ),
        BTreeSet::from(["callback", "webhook"])
    );
    // What is asked of them, and the outcome, reach them too.
    assert!(
        change(
            &w,
            &mut r,
            Status::InAttesaIntegrazione,
            "ask_integration",
            T0 + 4
        )
        .await
    );
    assert_eq!(
        kinds(
            deliveries_of(&w, &r.id).await,
            "request.integration_requested"
        ),
        BTreeSet::from(["callback", "persona", "webhook"])
    );
    // Revoked (its link cleared), the person hears nothing more.
    r.invito_hash = None;
    assert!(change(&w, &mut r, Status::Annullata, "cancel", T0 + 5).await);
    assert_eq!(
        kinds(deliveries_of(&w, &r.id).await, "request.cancelled"),
        BTreeSet::from(["callback", "webhook"])
    );
}
