//! Retention: which requests are past their time, and a purge that destroys a request's personal
//! data and keeps what accounting needs.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_domain::status::Status;
use sportello_store::crypto::DataKey;
use sportello_store::ledger::Transaction;
use sportello_store::{
    DocumentRecord, FileKind, FileRecord, HistoryEntry, IdempotencyRecord, Integration, NewRequest,
    Purged, RequestRecord, StoreError, StoredValue,
};
use std::collections::BTreeMap;

stories!(
    closed_requests_expire_by_service_and_test_requests_by_age,
    a_purge_destroys_the_personal_data_and_keeps_the_accounts,
    drafts_expire_by_their_last_change,
    a_processed_request_waits_for_its_case_file,
);

/// `r`, created then closed at `at`.
async fn closed(w: &World, mut r: RequestRecord, at: i64) -> RequestRecord {
    create(w, &r).await;
    assert!(change(w, &mut r, Status::VisuraEvasa, "close", at).await);
    r
}

async fn closed_requests_expire_by_service_and_test_requests_by_age(w: World) {
    client(&w, "cli_1").await;
    let r1 = closed(&w, submitted("cli_1", None, T0), T0 + 100).await;
    let r2 = closed(&w, submitted("cli_1", None, T0), T0 + 50).await;
    let mut other = submitted("cli_1", None, T0);
    other.hash_visura = OTHER_VISURA.into();
    let r3 = closed(&w, other, T0 + 10).await;
    create(&w, &submitted("cli_1", None, T0)).await;
    closed(&w, submitted("cli_1", None, T0), T0 + 300).await;

    // Oldest closed first, `closed_at < closed_before`, at most `limit`.
    assert_eq!(
        w.store.expired(VISURA, T0 + 200, false, 10).await.unwrap(),
        [r2.id.clone(), r1.id.clone()]
    );
    assert_eq!(
        w.store.expired(VISURA, T0 + 100, false, 10).await.unwrap(),
        vec![r2.id.clone()]
    );
    assert_eq!(
        w.store.expired(VISURA, T0 + 200, false, 1).await.unwrap(),
        vec![r2.id.clone()]
    );
    assert_eq!(
        w.store
            .expired(OTHER_VISURA, T0 + 200, false, 10)
            .await
            .unwrap(),
        vec![r3.id.clone()]
    );
    assert!(w
        .store
        .expired("0000", T0 + 1_000, false, 10)
        .await
        .unwrap()
        .is_empty());

    // Test requests go by age, whatever their state; live ones never do.
    let mut t1 = draft("cli_1", T0 - 100);
    t1.live = false;
    let mut t2 = submitted("cli_1", None, T0 - 50);
    t2.live = false;
    create(&w, &t1).await;
    create(&w, &t2).await;
    assert_eq!(
        w.store.expired_tests(T0 - 50, 10).await.unwrap(),
        vec![t1.id.clone()]
    );
    assert_eq!(
        w.store.expired_tests(T0 + 1_000, 10).await.unwrap(),
        [t1.id.clone(), t2.id.clone()]
    );
    assert_eq!(
        w.store.expired_tests(T0 + 1_000, 1).await.unwrap(),
        vec![t1.id.clone()]
    );

    // Once purged, neither list finds them again.
    for id in [&r2.id, &t1.id] {
        w.store
            .purge_request(id, T0 + 500, "system:retention")
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        w.store.expired(VISURA, T0 + 200, false, 10).await.unwrap(),
        vec![r1.id.clone()]
    );
    assert_eq!(
        w.store.expired_tests(T0 + 1_000, 10).await.unwrap(),
        vec![t2.id.clone()]
    );
}

async fn drafts_expire_by_their_last_change(w: World) {
    client(&w, "cli_1").await;
    let d1 = draft("cli_1", T0 + 10);
    let mut d2 = draft("cli_1", T0);
    let d3 = draft("cli_1", T0 + 100);
    for d in [&d1, &d2, &d3] {
        create(&w, d).await;
    }
    // Submitted requests never expire as drafts, however old.
    create(&w, &submitted("cli_1", None, T0 - 1_000)).await;

    // Least recently changed first, `updated_at < updated_before`, at most `limit`.
    assert_eq!(
        w.store.expired_drafts(T0 + 100, 10).await.unwrap(),
        [d2.id.clone(), d1.id.clone()]
    );
    assert_eq!(
        w.store.expired_drafts(T0 + 100, 1).await.unwrap(),
        vec![d2.id.clone()]
    );
    assert!(w.store.expired_drafts(T0, 10).await.unwrap().is_empty());

    // A draft changed is young again.
    assert!(change(&w, &mut d2, Status::Draft, "edit", T0 + 200).await);
    assert_eq!(
        w.store.expired_drafts(T0 + 150, 10).await.unwrap(),
        [d1.id.clone(), d3.id.clone()]
    );

    // Once purged, it is not found again.
    w.store
        .purge_request(&d1.id, T0 + 300, "system:retention")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        w.store.expired_drafts(T0 + 1_000, 10).await.unwrap(),
        [d3.id.clone(), d2.id.clone()]
    );
}

async fn a_purge_destroys_the_personal_data_and_keeps_the_accounts(w: World) {
    client(&w, "cli_1").await;
    provider(&w, "prv_1", &[VISURA]).await;
    top_up(&w, "cli_1", 10_000, T0 - 1).await;
    let mut r = submitted("cli_1", Some("prv_1"), T0);
    let input = FileRecord {
        id: "fil_in".into(),
        request_id: r.id.clone(),
        kind: FileKind::Input,
        campo: Some("$1".into()),
        name: "rossi_mario_ci.pdf".into(),
        mime: "application/pdf".into(),
        size: 2048,
        sha256: "aa".into(),
        blob_key: format!("requests/{}/fil_in", r.id),
        created_at: T0,
    };
    w.store
        .insert_request(NewRequest {
            request: &r,
            key: &DataKey::generate(),
            files: std::slice::from_ref(&input),
            history: &HistoryEntry {
                note: Some("per Mario Rossi".into()),
                ..entry(&r, "submit", "client:cli_1", T0)
            },
            idempotency: Some(&IdempotencyRecord {
                client_id: "cli_1".into(),
                key: "live:k".into(),
                body_sha256: "sha".into(),
                request_id: r.id.clone(),
                response: "{}".into(),
                created_at: T0,
            }),
            debit: Some(&Transaction::debit(
                &r.id,
                "cli_1",
                quote(1000),
                T0,
                "client:cli_1",
            )),
            subjects: &["RSSMRA80A01H501U".to_string()],
        })
        .await
        .unwrap();
    // Closed with a result, a document, an integration asked on the way and a note.
    let result = FileRecord {
        id: "fil_out".into(),
        kind: FileKind::Result,
        campo: None,
        name: "visura_rossi.pdf".into(),
        blob_key: format!("requests/{}/fil_out", r.id),
        ..input.clone()
    };
    r.integrazione = Some(Integration {
        messaggio: "Serve il documento di Mario Rossi".into(),
        campi: vec!["$1".into()],
        documenti: vec![sportello_store::AskedDocument {
            codice: "contratto_locazione".into(),
            descrizione: "Il contratto di Mario Rossi".into(),
            fornito: None,
        }],
        at: T0 + 10,
        campi_at: None,
    });
    r.document = Some(DocumentRecord {
        allegati: vec!["visura_rossi.pdf".into()],
        blob_key: format!("requests/{}/documento.zip", r.id),
        size: 4096,
        sha256: "bb".into(),
    });
    r.motivo_annullamento = Some("nessuno".into());
    r.status = Status::VisuraEvasa;
    r.timestamp_stati.insert("visura_evasa".into(), T0 + 100);
    r.updated_at = T0 + 100;
    r.closed_at = Some(T0 + 100);
    r.version = 2;
    let close = HistoryEntry {
        note: Some("consegnato a Mario".into()),
        ..entry(&r, "close", "operator:op_1", T0 + 100)
    };
    assert!(w
        .store
        .update_request(&r, std::slice::from_ref(&result), Some(&close), None)
        .await
        .unwrap());
    w.store
        .add_note(&sportello_store::NoteRecord {
            id: "not_1".into(),
            request_id: r.id.clone(),
            author: "operator:op_1".into(),
            body: "Mario Rossi richiama".into(),
            created_at: T0 + 50,
        })
        .await
        .unwrap();
    assert_eq!(w.store.get_request(&r.id).await.unwrap(), Some(r.clone()));
    let events_before = w.store.events(&r.id).await.unwrap();

    let purged = w
        .store
        .purge_request(&r.id, T0 + 500, "system:retention")
        .await
        .unwrap()
        .unwrap();
    let mut blobs = purged.blob_keys.clone();
    blobs.sort();
    let mut expected_blobs = vec![
        input.blob_key.clone(),
        result.blob_key.clone(),
        format!("requests/{}/documento.zip", r.id),
    ];
    expected_blobs.sort();
    assert_eq!(
        Purged {
            blob_keys: blobs,
            ..purged
        },
        Purged {
            request_id: r.id.clone(),
            blob_keys: expected_blobs
        }
    );

    // Gone: everything personal. Kept: ids, service, dates, prices, state.
    assert_eq!(
        w.store.get_request(&r.id).await.unwrap(),
        Some(RequestRecord {
            fields: BTreeMap::<String, StoredValue>::new(),
            email_target: None,
            callback_data: None,
            motivo_annullamento: None,
            integrazione: None,
            document: None,
            invito: None,
            invito_hash: None,
            purged_at: Some(T0 + 500),
            version: 3,
            ..r.clone()
        })
    );
    assert!(w.store.data_key(&r.id).await.unwrap().is_none());
    let files = w.store.list_files(&r.id).await.unwrap();
    assert_eq!(
        files,
        vec![
            FileRecord {
                name: String::new(),
                ..input.clone()
            },
            FileRecord {
                name: String::new(),
                ..result.clone()
            }
        ]
    );
    let history = w.store.history(&r.id).await.unwrap();
    assert!(history.iter().all(|h| h.note.is_none()), "{history:?}");
    assert_eq!(
        history.last().unwrap(),
        &HistoryEntry {
            request_id: r.id.clone(),
            at: T0 + 500,
            status: Status::VisuraEvasa,
            action: "purge".into(),
            actor: "system:retention".into(),
            note: None,
            source: None,
        }
    );
    assert_eq!(history.len(), 3);
    assert!(w.store.notes(&r.id).await.unwrap().is_empty());
    assert_eq!(
        w.store.find_idempotency("cli_1", "live:k").await.unwrap(),
        None
    );
    assert!(w
        .store
        .find_by_subject("RSSMRA80A01H501U")
        .await
        .unwrap()
        .is_empty());
    // Recorded in the audit trail, without an event for the client.
    let trail = w.store.audit_entries(0, 100, Some(&r.id)).await.unwrap();
    let last = &trail.last().unwrap().event;
    assert_eq!(
        (last.action.as_str(), last.actor.as_str(), last.at),
        ("purge", "system:retention", T0 + 500)
    );
    assert_eq!(w.store.events(&r.id).await.unwrap(), events_before);
    // The money stays as it was.
    assert_eq!(
        w.store.balance("cli_1", None).await.unwrap(),
        10_000 - gross(&quote(1000))
    );
    assert_eq!(
        w.store
            .processed("prv_1", T0, T0 + 1_000)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(w.store.check_ledger().await.unwrap().balanced());

    // Once only; and nothing to purge of a request that does not exist.
    assert_eq!(
        w.store
            .purge_request(&r.id, T0 + 600, "system:retention")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        w.store
            .purge_request("0123456789abcdef01234567", T0 + 600, "admin:root")
            .await
            .unwrap(),
        None
    );
    // A purged request cannot be changed again.
    r.version = 4;
    let e = w
        .store
        .update_request(&r, &[], None, None)
        .await
        .unwrap_err();
    assert!(matches!(e, StoreError::Purged(_)), "{e:?}");
}

fn fascicolo_event(id: &str, at: i64) -> sportello_store::audit::AuditEvent {
    sportello_store::audit::AuditEvent {
        at,
        actor: "operator:op_1".into(),
        action: "download_fascicolo".into(),
        request_id: Some(id.to_string()),
        detail: "fascicolo".into(),
        source: None,
    }
}

async fn a_processed_request_waits_for_its_case_file(w: World) {
    client(&w, "cli_1").await;
    provider(&w, "prv_1", &[VISURA]).await;
    let held = closed(&w, submitted("cli_1", Some("prv_1"), T0), T0 + 10).await;
    // Without a provider nobody can export it: never held.
    let unrouted = closed(&w, submitted("cli_1", None, T0), T0 + 20).await;
    let mut test = submitted("cli_1", Some("prv_1"), T0);
    test.live = false;
    let test = closed(&w, test, T0 + 30).await;
    let mut cancelled = submitted("cli_1", Some("prv_1"), T0);
    create(&w, &cancelled).await;
    assert!(change(&w, &mut cancelled, Status::Annullata, "cancel", T0 + 40).await);

    let all = vec![
        held.id.clone(),
        unrouted.id.clone(),
        test.id.clone(),
        cancelled.id.clone(),
    ];
    assert_eq!(
        w.store.expired(VISURA, T0 + 100, false, 10).await.unwrap(),
        all
    );
    assert_eq!(
        w.store.expired(VISURA, T0 + 100, true, 10).await.unwrap(),
        all[1..].to_vec()
    );
    let waiting = w.store.awaiting_fascicolo(10).await.unwrap();
    assert_eq!(
        waiting,
        vec![sportello_store::AwaitingFascicolo {
            request_id: held.id.clone(),
            hash_visura: VISURA.into(),
            provider_id: "prv_1".into(),
            closed_at: T0 + 10,
        }]
    );

    // The download is recorded with its audit entry; the first time is the one kept.
    let before = w.store.audit_head().await.unwrap().seq;
    assert!(w
        .store
        .record_fascicolo(&fascicolo_event(&held.id, T0 + 50))
        .await
        .unwrap());
    assert!(w
        .store
        .record_fascicolo(&fascicolo_event(&held.id, T0 + 60))
        .await
        .unwrap());
    let trail = w
        .store
        .audit_entries(before, 10, Some(&held.id))
        .await
        .unwrap();
    assert_eq!(trail.len(), 2);
    assert_eq!(trail[0].event.action, "download_fascicolo");
    assert!(w.store.awaiting_fascicolo(10).await.unwrap().is_empty());
    assert_eq!(
        w.store.expired(VISURA, T0 + 100, true, 10).await.unwrap(),
        all
    );

    // Nothing is left to export once purged, and an unknown request is not recorded.
    w.store
        .purge_request(&held.id, T0 + 70, "system:retention")
        .await
        .unwrap()
        .unwrap();
    assert!(!w
        .store
        .record_fascicolo(&fascicolo_event(&held.id, T0 + 80))
        .await
        .unwrap());
    let head = w.store.audit_head().await.unwrap().seq;
    assert!(!w
        .store
        .record_fascicolo(&fascicolo_event("0123456789abcdef01234567", T0 + 80))
        .await
        .unwrap());
    assert_eq!(w.store.audit_head().await.unwrap().seq, head);
}
