//! Requests: a creation and everything it writes, idempotency, optimistic updates, listing,
//! files, history and the subject index.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_domain::status::Status;
use sportello_store::crypto::DataKey;
use sportello_store::ledger::Transaction;
use sportello_store::{
    FileKind, FileRecord, HistoryEntry, IdempotencyRecord, NewRequest, OperatorRecord,
    ProviderQueue, RequestFilter, RequestRecord, StoreError, StoredValue,
};

stories!(
    a_creation_writes_the_request_and_everything_that_comes_with_it,
    a_taken_idempotency_key_refuses_the_second_creation_whole,
    an_update_is_refused_when_someone_else_changed_the_request_first,
    of_two_concurrent_updates_of_one_version_exactly_one_wins,
    requests_are_listed_by_filter_newest_first_oldest_first_or_by_due_time,
    subjects_are_indexed_by_keyed_hash_and_found_by_code,
    an_invitation_finds_its_request_by_its_link_until_revoked_or_purged,
    creations_sent_together_share_their_statements_and_keep_their_own_outcomes,
);

fn file(r: &RequestRecord, id: &str, kind: FileKind, at: i64) -> FileRecord {
    FileRecord {
        id: id.to_string(),
        request_id: r.id.clone(),
        kind,
        campo: (kind == FileKind::Input).then(|| "$1".to_string()),
        name: format!("rossi_mario_{id}.pdf"),
        mime: "application/pdf".into(),
        size: 1234,
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        blob_key: format!("requests/{}/{id}", r.id),
        created_at: at,
    }
}

fn ids(list: &[RequestRecord]) -> Vec<String> {
    list.iter().map(|r| r.id.clone()).collect()
}

fn of(list: &[&RequestRecord]) -> Vec<String> {
    list.iter().map(|r| r.id.clone()).collect()
}

async fn a_creation_writes_the_request_and_everything_that_comes_with_it(w: World) {
    client(&w, "cli_1").await;
    client(&w, "cli_2").await;
    provider(&w, "prv_1", &[VISURA]).await;
    top_up(&w, "cli_1", 10_000, T0 - 10).await;
    w.store
        .set_webhook_url("cli_1", Some("https://client.example/hook"))
        .await
        .unwrap();

    let r = submitted("cli_1", Some("prv_1"), T0);
    let key = DataKey::generate();
    let files = [file(&r, "fil_0001", FileKind::Input, T0)];
    let history = HistoryEntry {
        note: Some("urgente".into()),
        ..entry(&r, "submit", "client:cli_1", T0)
    };
    let idempotency = IdempotencyRecord {
        client_id: "cli_1".into(),
        key: "live:k-1".into(),
        body_sha256: "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c".into(),
        request_id: r.id.clone(),
        response: r#"{"success":true,"data":{"id":"x"}}"#.into(),
        created_at: T0,
    };
    let debit = Transaction::debit(&r.id, "cli_1", r.price.clone().unwrap(), T0, "client:cli_1");
    let subjects = ["RSSMRA80A01H501U".to_string(), "01234567890".to_string()];
    w.store
        .insert_request(NewRequest {
            request: &r,
            key: &key,
            files: &files,
            history: &history,
            idempotency: Some(&idempotency),
            debit: Some(&debit),
            subjects: &subjects,
        })
        .await
        .unwrap();

    // The request reads back as written, its sealed columns opened.
    assert_eq!(w.store.get_request(&r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(
        w.store
            .get_request("0123456789abcdef01234567")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        w.store.data_key(&r.id).await.unwrap().unwrap().expose(),
        key.expose()
    );
    assert!(w
        .store
        .data_key("0123456789abcdef01234567")
        .await
        .unwrap()
        .is_none());
    assert_eq!(w.store.list_files(&r.id).await.unwrap(), files.to_vec());
    // The history keeps the note; where the change came from goes to the audit trail only.
    assert_eq!(
        w.store.history(&r.id).await.unwrap(),
        vec![HistoryEntry {
            source: None,
            ..history.clone()
        }]
    );
    let audit = w.store.audit_entries(0, 100, Some(&r.id)).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].event.action, "change_state");
    assert_eq!(audit[0].event.actor, "client:cli_1");
    assert_eq!(audit[0].event.detail, "submit -> in_erogazione");
    assert_eq!(audit[0].event.source.as_deref(), Some("192.0.2.7"));

    // The answer to replay, for this client and key only.
    assert_eq!(
        w.store.find_idempotency("cli_1", "live:k-1").await.unwrap(),
        Some(idempotency)
    );
    assert_eq!(
        w.store.find_idempotency("cli_2", "live:k-1").await.unwrap(),
        None
    );
    assert_eq!(
        w.store.find_idempotency("cli_1", "test:k-1").await.unwrap(),
        None
    );

    // The people it is about, by code.
    for code in &subjects {
        assert_eq!(
            w.store.find_by_subject(code).await.unwrap(),
            vec![r.id.clone()]
        );
    }
    assert!(w
        .store
        .find_by_subject("BNCLRA85M41F205X")
        .await
        .unwrap()
        .is_empty());

    // The debit, in the same transaction.
    assert_eq!(
        w.store.balance("cli_1", None).await.unwrap(),
        10_000 - gross(&quote(1000))
    );
    let booked = w
        .store
        .transactions(Some("cli_1"), T0, T0 + 1)
        .await
        .unwrap();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].request_id.as_deref(), Some(r.id.as_str()));
    assert_eq!(
        Transaction {
            id: 0,
            ..booked[0].clone()
        },
        debit,
        "the debit reads back as posted"
    );

    // The event of the submission and its deliveries (callback and webhook; e-mail is for the end).
    let events = w.store.events(&r.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "request.submitted");
    assert_eq!(events[0].status, "in_erogazione");
    assert_eq!((events[0].client_id.as_str(), events[0].at), ("cli_1", T0));
}

async fn a_taken_idempotency_key_refuses_the_second_creation_whole(w: World) {
    client(&w, "cli_1").await;
    top_up(&w, "cli_1", 10_000, T0).await;
    let with_key = |r: &RequestRecord, response: &str| IdempotencyRecord {
        client_id: "cli_1".into(),
        key: "live:same".into(),
        body_sha256: "sha".into(),
        request_id: r.id.clone(),
        response: response.into(),
        created_at: r.created_at,
    };
    let first = submitted("cli_1", None, T0);
    let second = submitted("cli_1", None, T0 + 1);
    for (r, response) in [(&first, "first"), (&second, "second")] {
        let key = DataKey::generate();
        let debit = Transaction::debit(
            &r.id,
            "cli_1",
            r.price.clone().unwrap(),
            r.created_at,
            "client:cli_1",
        );
        let outcome = w
            .store
            .insert_request(NewRequest {
                request: r,
                key: &key,
                files: &[file(
                    r,
                    &format!("fil_{response}"),
                    FileKind::Input,
                    r.created_at,
                )],
                history: &entry(r, "submit", "client:cli_1", r.created_at),
                idempotency: Some(&with_key(r, response)),
                debit: Some(&debit),
                subjects: &["RSSMRA80A01H501U".to_string()],
            })
            .await;
        if r.id == first.id {
            outcome.unwrap();
        } else {
            let e = outcome.unwrap_err();
            assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
        }
    }

    // The winner's answer stays; nothing of the loser was written, nor charged.
    assert_eq!(
        w.store
            .find_idempotency("cli_1", "live:same")
            .await
            .unwrap()
            .unwrap()
            .response,
        "first"
    );
    assert_eq!(w.store.get_request(&second.id).await.unwrap(), None);
    assert!(w.store.list_files(&second.id).await.unwrap().is_empty());
    assert!(w.store.history(&second.id).await.unwrap().is_empty());
    assert!(w.store.events(&second.id).await.unwrap().is_empty());
    assert!(w.store.data_key(&second.id).await.unwrap().is_none());
    assert_eq!(
        w.store.find_by_subject("RSSMRA80A01H501U").await.unwrap(),
        vec![first.id.clone()]
    );
    assert_eq!(
        w.store.balance("cli_1", None).await.unwrap(),
        10_000 - gross(&quote(1000))
    );
    assert_eq!(
        w.store
            .audit_entries(0, 100, Some(&second.id))
            .await
            .unwrap(),
        vec![]
    );
}

async fn an_update_is_refused_when_someone_else_changed_the_request_first(w: World) {
    client(&w, "cli_1").await;
    let mut r = draft("cli_1", T0);
    create(&w, &r).await;
    let stale = r.clone();

    // The client edits its draft: version 2.
    r.fields
        .insert("$0".into(), StoredValue::Text("BNCLRA85M41F205X".into()));
    r.email_target = None;
    r.callback_data = Some(serde_json::json!({"url": "https://client.example/other"}));
    r.version = 2;
    r.updated_at = T0 + 10;
    assert!(w.store.update_request(&r, &[], None, None).await.unwrap());
    assert_eq!(w.store.get_request(&r.id).await.unwrap(), Some(r.clone()));

    // Whoever read version 1 writes nothing.
    let mut late = stale.clone();
    late.version = 2;
    late.esito_info = "late".into();
    assert!(!w
        .store
        .update_request(&late, &[], None, None)
        .await
        .unwrap());
    assert_eq!(w.store.get_request(&r.id).await.unwrap(), Some(r.clone()));
    // Nor does a writer that skips a version.
    let mut ahead = r.clone();
    ahead.version = 4;
    assert!(!w
        .store
        .update_request(&ahead, &[], None, None)
        .await
        .unwrap());

    // Submitted with its files and history entry, in one go. The price is never rewritten.
    let files = [
        file(&r, "fil_a", FileKind::Input, T0 + 20),
        file(&r, "fil_b", FileKind::Input, T0 + 20),
    ];
    r.status = Status::InErogazione;
    r.timestamp_stati.insert("in_erogazione".into(), T0 + 20);
    r.updated_at = T0 + 20;
    r.version = 3;
    let kept_price = r.price.replace(quote(1));
    let submit = entry(&r, "submit", "client:cli_1", T0 + 20);
    assert!(w
        .store
        .update_request(&r, &files, Some(&submit), None)
        .await
        .unwrap());
    r.price = kept_price;
    assert_eq!(w.store.get_request(&r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(w.store.list_files(&r.id).await.unwrap(), files.to_vec());
    let actions: Vec<String> = w
        .store
        .history(&r.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(actions, ["open", "submit"]);

    // A result, attached later, lists after the inputs.
    let result = file(&r, "fil_r", FileKind::Result, T0 + 30);
    r.version = 4;
    r.updated_at = T0 + 30;
    let attach = entry(&r, "attach_result", "operator:op_1", T0 + 30);
    assert!(w
        .store
        .update_request(&r, std::slice::from_ref(&result), Some(&attach), None)
        .await
        .unwrap());
    let listed = w.store.list_files(&r.id).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[2], result);

    // A supplied document, then which requests hold a named file (a page of the queue asks
    // once): each (request, kind, campo) once, a request or a name without files absent, and
    // nothing asked, nothing answered.
    let mandate = FileRecord {
        campo: Some("mandato".into()),
        ..file(&r, "fil_m", FileKind::Supporting, T0 + 40)
    };
    r.version = 5;
    r.updated_at = T0 + 40;
    let supply = entry(&r, "supply_document", "client:cli_1", T0 + 40);
    assert!(w
        .store
        .update_request(&r, std::slice::from_ref(&mandate), Some(&supply), None)
        .await
        .unwrap());
    let mut named = w
        .store
        .named_files(
            &[r.id.clone(), "req_altra".into()],
            &["$1".into(), "mandato".into(), "$9".into()],
        )
        .await
        .unwrap();
    named.sort_by_key(|(_, kind, campo)| (kind.as_str(), campo.clone()));
    assert_eq!(
        named,
        [
            (r.id.clone(), FileKind::Input, "$1".to_string()),
            (r.id.clone(), FileKind::Supporting, "mandato".to_string()),
        ]
    );
    assert!(w
        .store
        .named_files(&[], &["mandato".into()])
        .await
        .unwrap()
        .is_empty());
    assert!(w
        .store
        .named_files(std::slice::from_ref(&r.id), &[])
        .await
        .unwrap()
        .is_empty());

    // Closing stamps closed_at with the update's time; later updates keep it.
    assert!(change(&w, &mut r, Status::VisuraEvasa, "close", T0 + 100).await);
    let closed = w.store.get_request(&r.id).await.unwrap().unwrap();
    assert_eq!(closed.closed_at, Some(T0 + 100));
    r.esito_info = "corretto".into();
    r.version += 1;
    r.updated_at = T0 + 200;
    assert!(w.store.update_request(&r, &[], None, None).await.unwrap());
    assert_eq!(
        w.store.get_request(&r.id).await.unwrap().unwrap().closed_at,
        Some(T0 + 100)
    );

    // A request that does not exist has no key to seal with.
    let mut ghost = draft("cli_1", T0);
    ghost.version = 2;
    let e = w
        .store
        .update_request(&ghost, &[], None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, StoreError::Purged(ref id) if *id == ghost.id),
        "{e:?}"
    );
}

async fn of_two_concurrent_updates_of_one_version_exactly_one_wins(w: World) {
    client(&w, "cli_1").await;
    let r = submitted("cli_1", None, T0);
    create(&w, &r).await;
    let mut a = r.clone();
    let mut b = r.clone();
    for (x, who) in [(&mut a, "a"), (&mut b, "b")] {
        x.version = 2;
        x.esito_info = who.to_string();
        x.updated_at = T0 + 1;
    }
    let ha = entry(&a, "claim", "operator:a", T0 + 1);
    let hb = entry(&b, "claim", "operator:b", T0 + 1);
    let (one, two) = tokio::join!(
        w.store.update_request(&a, &[], Some(&ha), None),
        w.store.update_request(&b, &[], Some(&hb), None)
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    assert!(one ^ two, "exactly one update wins: {one} {two}");
    let stored = w.store.get_request(&r.id).await.unwrap().unwrap();
    assert_eq!(stored.esito_info, if one { "a" } else { "b" });
    assert_eq!(stored.version, 2);
    // The loser's history entry was not written either.
    assert_eq!(w.store.history(&r.id).await.unwrap().len(), 2);
}

async fn requests_are_listed_by_filter_newest_first_oldest_first_or_by_due_time(w: World) {
    client(&w, "cli_1").await;
    client(&w, "cli_2").await;
    provider(&w, "prv_1", &[VISURA]).await;
    provider(&w, "prv_2", &[OTHER_VISURA]).await;
    w.store
        .create_operator(&OperatorRecord {
            id: "op_1".into(),
            provider_id: "prv_2".into(),
            name: "Anna".into(),
            email: "anna@caf.example".into(),
            disabled: false,
            created_at: T0,
        })
        .await
        .unwrap();

    let r1 = draft("cli_1", T0);
    let r2 = submitted("cli_1", Some("prv_1"), T0 + 10);
    // The same second as r2: insertion order breaks the tie.
    let r3 = submitted("cli_1", None, T0 + 10);
    let mut r4 = submitted("cli_1", Some("prv_1"), T0 + 20);
    r4.live = false;
    let mut r5 = submitted("cli_2", Some("prv_2"), T0 + 30);
    r5.hash_visura = OTHER_VISURA.into();
    r5.operator_id = Some("op_1".into());
    let mut r6 = submitted("cli_1", Some("prv_1"), T0 + 40);
    r6.due_at = Some(T0 + 100);
    r6.overdue_at = Some(T0 + 200);
    for r in [&r1, &r2, &r3, &r4, &r5, &r6] {
        create(&w, r).await;
    }
    let list = |f: RequestFilter| {
        let store = w.store.clone();
        async move {
            ids(&store
                .list_requests(&RequestFilter {
                    limit: if f.limit == 0 { 100 } else { f.limit },
                    ..f
                })
                .await
                .unwrap())
        }
    };
    let all = RequestFilter::default;

    assert_eq!(list(all()).await, of(&[&r6, &r5, &r4, &r3, &r2, &r1]));
    assert_eq!(
        list(RequestFilter {
            oldest_first: true,
            ..all()
        })
        .await,
        of(&[&r1, &r2, &r3, &r4, &r5, &r6])
    );
    assert_eq!(
        list(RequestFilter {
            client_id: Some("cli_1".into()),
            live: Some(true),
            ..all()
        })
        .await,
        of(&[&r6, &r3, &r2, &r1])
    );
    assert_eq!(
        list(RequestFilter {
            live: Some(false),
            ..all()
        })
        .await,
        of(&[&r4])
    );
    assert_eq!(
        list(RequestFilter {
            statuses: vec![Status::Draft],
            ..all()
        })
        .await,
        of(&[&r1])
    );
    assert_eq!(
        list(RequestFilter {
            statuses: vec![Status::InErogazione, Status::VisuraEvasa],
            client_id: Some("cli_1".into()),
            live: Some(true),
            ..all()
        })
        .await,
        of(&[&r6, &r3, &r2])
    );
    assert_eq!(
        list(RequestFilter {
            hash_visura: Some(OTHER_VISURA.into()),
            ..all()
        })
        .await,
        of(&[&r5])
    );
    assert_eq!(
        list(RequestFilter {
            operator_id: Some("op_1".into()),
            ..all()
        })
        .await,
        of(&[&r5])
    );
    assert_eq!(
        list(RequestFilter {
            unassigned: true,
            ..all()
        })
        .await,
        of(&[&r6, &r4, &r3, &r2, &r1])
    );
    // A provider's queue: what is routed to it, and what is not routed yet but of its services
    // (drafts included: the caller filters states).
    assert_eq!(
        list(RequestFilter {
            provider_queue: Some(ProviderQueue {
                provider_id: "prv_1".into(),
                services: vec![VISURA.into()],
            }),
            ..all()
        })
        .await,
        of(&[&r6, &r4, &r3, &r2, &r1])
    );
    assert_eq!(
        list(RequestFilter {
            provider_queue: Some(ProviderQueue {
                provider_id: "prv_2".into(),
                services: vec![],
            }),
            ..all()
        })
        .await,
        of(&[&r5])
    );
    assert_eq!(
        list(RequestFilter {
            overdue: Some(true),
            ..all()
        })
        .await,
        of(&[&r6])
    );
    assert_eq!(
        list(RequestFilter {
            overdue: Some(false),
            ..all()
        })
        .await,
        of(&[&r5, &r4, &r3, &r2, &r1])
    );
    // The operators' order: overdue first, then by due time, then oldest; no due time last.
    assert_eq!(
        list(RequestFilter {
            by_due: true,
            ..all()
        })
        .await,
        of(&[&r6, &r2, &r3, &r4, &r5, &r1])
    );
    // Pages; a limit of 0 reads as 1.
    assert_eq!(
        list(RequestFilter {
            limit: 2,
            offset: 1,
            ..all()
        })
        .await,
        of(&[&r5, &r4])
    );
    assert_eq!(
        ids(&w
            .store
            .list_requests(&RequestFilter::default())
            .await
            .unwrap()),
        of(&[&r6])
    );
    assert_eq!(
        list(RequestFilter { offset: 6, ..all() }).await,
        Vec::<String>::new()
    );
}

async fn subjects_are_indexed_by_keyed_hash_and_found_by_code(w: World) {
    client(&w, "cli_1").await;
    let one = submitted("cli_1", None, T0);
    let two = submitted("cli_1", None, T0);
    create(&w, &one).await;
    create(&w, &two).await;
    let code = "RSSMRA80A01H501U".to_string();

    w.store
        .index_subjects(&one.id, &[code.clone(), "01234567890".into()])
        .await
        .unwrap();
    // Indexing again is harmless; nothing to index is nothing to do.
    w.store
        .index_subjects(&one.id, std::slice::from_ref(&code))
        .await
        .unwrap();
    w.store.index_subjects(&two.id, &[]).await.unwrap();
    assert_eq!(
        w.store.find_by_subject(&code).await.unwrap(),
        vec![one.id.clone()]
    );
    w.store
        .index_subjects(&two.id, std::slice::from_ref(&code))
        .await
        .unwrap();
    let mut both = vec![one.id.clone(), two.id.clone()];
    both.sort();
    assert_eq!(w.store.find_by_subject(&code).await.unwrap(), both);
    assert_eq!(
        w.store.find_by_subject("01234567890").await.unwrap(),
        vec![one.id.clone()]
    );
    // Exact codes: the caller normalises.
    assert!(w
        .store
        .find_by_subject("rssmra80a01h501u")
        .await
        .unwrap()
        .is_empty());
    // Only requests that exist.
    assert!(w
        .store
        .index_subjects("0123456789abcdef01234567", std::slice::from_ref(&code))
        .await
        .is_err());
}

fn invitation(id: &str, at: i64) -> sportello_domain::invitation::Invitation {
    use sportello_domain::invitation::{Consegna, Invitation, State};
    Invitation {
        id: id.to_string(),
        email: "mario.rossi@example.com".into(),
        consegna: Consegna::Email,
        messaggio: Some("Completa entro venerdì".into()),
        scadenza: at + 7 * 86_400,
        risultato_visibile: true,
        stato: State::Inviato,
        timestamp_stati: [("inviato".to_string(), at)].into(),
        code: None,
        codes_sent: vec![at],
        session: None,
        acceptance: None,
        informativa_at: None,
        prefilled: vec!["$0".into()],
    }
}

async fn an_invitation_finds_its_request_by_its_link_until_revoked_or_purged(w: World) {
    use sportello_domain::invitation::{Consent, ConsentKind, ConsentMethod};
    client(&w, "cli_1").await;
    let mut r = draft("cli_1", T0);
    r.invito = Some(invitation("inv_1", T0));
    r.invito_hash = Some("a".repeat(64));
    r.consensi = vec![Consent {
        tipo: ConsentKind::Informativa,
        fornitore: "prv_1".into(),
        versione: 2,
        sha256_testo: "b".repeat(64),
        metodo: ConsentMethod::CodiceEmail,
        timestamp: T0 + 1,
    }];
    create(&w, &r).await;
    let other = draft("cli_1", T0);
    create(&w, &other).await;

    // Found by the hash of its link, invitation and consents as written (the address sealed).
    let found = w.store.find_by_invitation(&"a".repeat(64)).await.unwrap();
    assert_eq!(found.as_ref(), Some(&r));
    assert!(w
        .store
        .find_by_invitation(&"c".repeat(64))
        .await
        .unwrap()
        .is_none());

    // A new invitation replaces the link: the old one finds nothing.
    r.version += 1;
    r.invito = Some(invitation("inv_2", T0 + 10));
    r.invito_hash = Some("d".repeat(64));
    assert!(w.store.update_request(&r, &[], None, None).await.unwrap());
    assert!(w
        .store
        .find_by_invitation(&"a".repeat(64))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        w.store
            .find_by_invitation(&"d".repeat(64))
            .await
            .unwrap()
            .map(|f| f.invito.map(|i| i.id)),
        Some(Some("inv_2".to_string()))
    );

    // One link, one request: another request cannot take the same hash.
    let mut clash = other.clone();
    clash.version += 1;
    clash.invito_hash = Some("d".repeat(64));
    assert!(w
        .store
        .update_request(&clash, &[], None, None)
        .await
        .is_err());

    // The purge takes the invitation and its link; the consents, which hold nothing personal,
    // stay as the compliance record.
    w.store
        .purge_request(&r.id, T0 + 100, "system:retention")
        .await
        .unwrap();
    assert!(w
        .store
        .find_by_invitation(&"d".repeat(64))
        .await
        .unwrap()
        .is_none());
    let purged = w.store.get_request(&r.id).await.unwrap().unwrap();
    assert_eq!(purged.invito, None);
    assert_eq!(purged.invito_hash, None);
    assert_eq!(purged.consensi, r.consensi);
}

/// A creation (with a debit and optionally an idempotency key) of `r`, as the service sends it.
async fn insert_paid(w: &World, r: &RequestRecord, key: Option<&str>) -> Result<(), StoreError> {
    let debit = Transaction::debit(
        &r.id,
        &r.client_id,
        r.price.clone().unwrap(),
        r.created_at,
        &format!("client:{}", r.client_id),
    );
    let idempotency = key.map(|k| IdempotencyRecord {
        client_id: r.client_id.clone(),
        key: k.into(),
        body_sha256: "sha".into(),
        request_id: r.id.clone(),
        response: r.id.clone(),
        created_at: r.created_at,
    });
    w.store
        .insert_request(NewRequest {
            request: r,
            key: &DataKey::generate(),
            files: &[],
            history: &entry(
                r,
                "submit",
                &format!("client:{}", r.client_id),
                r.created_at,
            ),
            idempotency: idempotency.as_ref(),
            debit: Some(&debit),
            subjects: &["RSSMRA80A01H501U".to_string()],
        })
        .await
}

/// Creations sent at once are written by one transaction (the group commit's batch) with one
/// statement per table, yet each is refused or written as if alone and in order: credit for
/// three of six, one request for six tries of one idempotency key.
async fn creations_sent_together_share_their_statements_and_keep_their_own_outcomes(w: World) {
    let price = gross(&quote(1000));
    client(&w, "cli_1").await;
    client(&w, "cli_2").await;
    top_up(&w, "cli_1", 3 * price + price / 2, T0).await;
    top_up(&w, "cli_2", 1_000 * price, T0).await;

    // A lone creation: its statements, BEGIN and COMMIT included. PostgreSQL locks the paying
    // client's row in a statement of its own.
    let before = w.store.write_counts();
    insert_paid(&w, &submitted("cli_2", None, T0), None)
        .await
        .unwrap();
    let lone = w.store.write_counts().statements - before.statements;
    let lock = u64::from(w.backend == Backend::Postgres);
    assert_eq!(
        lone,
        14 + lock,
        "begin, clients, request, ledger (transaction, legs), key, history, event, deliveries, \
         subject, audit (3), commit"
    );

    // Sixteen at once: one batch, the statements of one creation (16 is a power of two, one
    // statement per table), however many rows.
    let before = w.store.write_counts();
    let many: Vec<RequestRecord> = (0..16).map(|i| submitted("cli_2", None, T0 + i)).collect();
    for outcome in futures::future::join_all(many.iter().map(|r| insert_paid(&w, r, None))).await {
        outcome.unwrap();
    }
    let after = w.store.write_counts();
    assert_eq!(after.creations - before.creations, 16);
    let transactions = after.transactions - before.transactions;
    assert!(
        after.statements - before.statements <= transactions * lone * 4 && transactions < 16,
        "{before:?} -> {after:?}"
    );

    // Refusals inside a batch, each decided in order: credit for three of cli_1's six; one
    // key tried six times; then both kinds in one batch (written again one by one, as a key
    // lost beside a refusal for credit cannot be settled for the batch as a whole).
    let poor: Vec<RequestRecord> = (0..6).map(|i| submitted("cli_1", None, T0 + i)).collect();
    let keyed: Vec<RequestRecord> = (0..6).map(|i| submitted("cli_2", None, T0 + i)).collect();
    let both: Vec<RequestRecord> = (0..4).map(|i| submitted("cli_1", None, T0 + i)).collect();
    let late = submitted("cli_2", None, T0 + 9);
    let outcomes = futures::future::join_all(
        poor.iter()
            .map(|r| insert_paid(&w, r, None))
            .chain(keyed.iter().map(|r| insert_paid(&w, r, Some("live:once")))),
    )
    .await;
    let (poor_outcomes, keyed_outcomes) = outcomes.split_at(6);
    for (i, outcome) in poor_outcomes.iter().enumerate() {
        match (i < 3, outcome) {
            (true, Ok(())) => {}
            (false, Err(StoreError::InsufficientCredit { balance, required })) => {
                assert_eq!((*balance, *required), (price / 2, price));
            }
            other => panic!("creation {i} of cli_1: {other:?}"),
        }
    }
    assert!(keyed_outcomes[0].is_ok(), "{:?}", keyed_outcomes[0]);
    for outcome in &keyed_outcomes[1..] {
        assert!(
            matches!(outcome, Err(StoreError::Conflict(_))),
            "{outcome:?}"
        );
    }
    top_up(&w, "cli_1", price, T0).await;
    let outcomes = futures::future::join_all(
        both.iter()
            .map(|r| insert_paid(&w, r, Some("live:both")))
            .chain([insert_paid(&w, &late, Some("live:once"))]),
    )
    .await;
    assert!(outcomes[0].is_ok(), "{:?}", outcomes[0]);
    for outcome in &outcomes[1..4] {
        assert!(
            matches!(outcome, Err(StoreError::InsufficientCredit { .. })),
            "credit comes first: {outcome:?}"
        );
    }
    assert!(
        matches!(outcomes[4], Err(StoreError::Conflict(_))),
        "{:?}",
        outcomes[4]
    );

    // What was refused left nothing; the books balance; the audit chain links in order.
    for r in poor[3..]
        .iter()
        .chain(&keyed[1..])
        .chain(&both[1..])
        .chain([&late])
    {
        assert_eq!(w.store.get_request(&r.id).await.unwrap(), None);
        assert!(w.store.history(&r.id).await.unwrap().is_empty());
        assert!(w.store.events(&r.id).await.unwrap().is_empty());
    }
    assert_eq!(
        w.store
            .find_idempotency("cli_2", "live:once")
            .await
            .unwrap()
            .unwrap()
            .request_id,
        keyed[0].id
    );
    assert_eq!(w.store.balance("cli_1", None).await.unwrap(), price / 2);
    let books = w.store.check_ledger().await.unwrap();
    assert!(books.problems.is_empty(), "{:?}", books.problems);
    let entries = w.store.audit_entries(0, 1_000, None).await.unwrap();
    for pair in entries.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    for e in &entries {
        assert_eq!(
            w.store.audit_key().link(&e.prev_hash, e.seq, &e.event),
            e.hash
        );
    }
    assert_eq!(
        w.store
            .find_by_subject("RSSMRA80A01H501U")
            .await
            .unwrap()
            .len(),
        1 + 16 + 3 + 1 + 1
    );
}
