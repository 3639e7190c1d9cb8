//! Clients, tokens, providers, operators, routing and the set-up lock.
#![allow(clippy::unwrap_used)]

use crate::common::*;
use sportello_domain::status::Status;
use sportello_store::{
    ClientRecord, OperatorRecord, PaperKind, Party, Role, StoreError, TokenRecord,
};
use std::time::Duration;

stories!(
    clients_are_kept_as_given_and_listed_oldest_first,
    a_token_is_found_by_the_hash_of_its_secret_and_revoked_once,
    providers_keep_their_services_which_can_be_replaced,
    providers_are_parties_with_versioned_paperwork,
    operators_are_found_by_email_whatever_its_case_and_can_be_disabled,
    a_new_request_goes_to_the_provider_with_the_least_open_work,
    the_setup_lock_is_held_by_one_process_at_a_time,
);

async fn clients_are_kept_as_given_and_listed_oldest_first(w: World) {
    let later = ClientRecord {
        id: "cli_a".into(),
        name: "Studio Bianchi & C.".into(),
        owner_email: "bianchi@example.com".into(),
        created_at: T0 + 10,
    };
    let earlier = ClientRecord {
        id: "cli_b".into(),
        name: "Studio Verdi".into(),
        owner_email: "verdi@example.com".into(),
        created_at: T0,
    };
    w.store.create_client(&later).await.unwrap();
    w.store.create_client(&earlier).await.unwrap();

    assert_eq!(
        w.store.get_client("cli_a").await.unwrap(),
        Some(later.clone())
    );
    assert_eq!(w.store.get_client("cli_zz").await.unwrap(), None);
    assert_eq!(
        w.store.list_clients().await.unwrap(),
        vec![earlier.clone(), later.clone()]
    );

    // An id is taken once; the refusal is the database's own.
    let again = w.store.create_client(&later).await.unwrap_err();
    assert!(matches!(again, StoreError::Database(_)), "{again:?}");
    assert_eq!(w.store.list_clients().await.unwrap().len(), 2);
}

async fn a_token_is_found_by_the_hash_of_its_secret_and_revoked_once(w: World) {
    client(&w, "cli_1").await;
    provider(&w, "prv_1", &[VISURA]).await;
    let operator = OperatorRecord {
        id: "op_1".into(),
        provider_id: "prv_1".into(),
        name: "Anna".into(),
        email: "anna@caf.example".into(),
        disabled: false,
        created_at: T0,
    };
    w.store.create_operator(&operator).await.unwrap();
    let live = TokenRecord {
        id: "tok_live".into(),
        role: Role::Client,
        client_id: Some("cli_1".into()),
        operator_id: None,
        label: "gestionale".into(),
        scopes: vec!["GET:/visure".into(), "*:/richiesta/*".into()],
        live: true,
        expires_at: Some(T0 + 3600),
        revoked_at: None,
        created_at: T0,
    };
    let op = TokenRecord {
        id: "tok_op".into(),
        role: Role::Operator,
        client_id: None,
        operator_id: Some("op_1".into()),
        label: "sportello".into(),
        scopes: vec!["*:/*".into()],
        live: false,
        expires_at: None,
        revoked_at: None,
        created_at: T0 + 1,
    };
    w.store.create_token(&live, "hash-live").await.unwrap();
    w.store.create_token(&op, "hash-op").await.unwrap();

    assert_eq!(
        w.store.find_token("hash-live").await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        w.store.find_token("hash-op").await.unwrap(),
        Some(op.clone())
    );
    assert_eq!(w.store.find_token("tok_live").await.unwrap(), None);
    assert_eq!(
        w.store.list_tokens().await.unwrap(),
        vec![live.clone(), op.clone()]
    );

    // A secret's hash opens one token only.
    let mut twin = op.clone();
    twin.id = "tok_twin".into();
    assert!(w.store.create_token(&twin, "hash-op").await.is_err());

    // Revoking keeps the first time: a second revocation still finds the token.
    assert!(w.store.revoke_token("tok_live", T0 + 100).await.unwrap());
    assert!(w.store.revoke_token("tok_live", T0 + 200).await.unwrap());
    assert!(!w.store.revoke_token("tok_nope", T0 + 200).await.unwrap());
    let revoked = w.store.find_token("hash-live").await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(T0 + 100));
    assert_eq!(
        TokenRecord {
            revoked_at: None,
            ..revoked
        },
        live
    );
}

async fn providers_keep_their_services_which_can_be_replaced(w: World) {
    let mut second = provider(&w, "prv_b", &[OTHER_VISURA, VISURA]).await;
    let first = sportello_store::ProviderRecord {
        id: "prv_a".into(),
        name: "CAF Roma".into(),
        services: vec![],
        created_at: T0 - 5,
        party: Default::default(),
    };
    w.store.create_provider(&first).await.unwrap();

    // Services come back sorted by hash, whatever order they were given in.
    second.services.sort();
    assert_eq!(
        w.store.get_provider("prv_b").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(w.store.get_provider("prv_zz").await.unwrap(), None);
    assert_eq!(
        w.store.list_providers().await.unwrap(),
        vec![first.clone(), second.clone()]
    );

    assert!(w
        .store
        .set_provider_services("prv_a", &[VISURA.to_string()])
        .await
        .unwrap());
    assert!(w.store.set_provider_services("prv_b", &[]).await.unwrap());
    assert!(!w
        .store
        .set_provider_services("prv_zz", &[VISURA.to_string()])
        .await
        .unwrap());
    assert_eq!(
        w.store
            .get_provider("prv_a")
            .await
            .unwrap()
            .unwrap()
            .services,
        vec![VISURA.to_string()]
    );
    assert!(w
        .store
        .get_provider("prv_b")
        .await
        .unwrap()
        .unwrap()
        .services
        .is_empty());
    // The route follows the services.
    assert_eq!(
        w.store.route(VISURA).await.unwrap(),
        Some("prv_a".to_string())
    );
    assert_eq!(w.store.route(OTHER_VISURA).await.unwrap(), None);

    // Twice the same service is refused as a whole: the old list stays.
    let twice = [OTHER_VISURA.to_string(), OTHER_VISURA.to_string()];
    assert!(w
        .store
        .set_provider_services("prv_a", &twice)
        .await
        .is_err());
    assert_eq!(
        w.store
            .get_provider("prv_a")
            .await
            .unwrap()
            .unwrap()
            .services,
        vec![VISURA.to_string()]
    );
}

async fn operators_are_found_by_email_whatever_its_case_and_can_be_disabled(w: World) {
    provider(&w, "prv_1", &[VISURA]).await;
    provider(&w, "prv_2", &[VISURA]).await;
    let anna = OperatorRecord {
        id: "op_anna".into(),
        provider_id: "prv_1".into(),
        name: "Anna".into(),
        email: "Anna.Neri@CAF.example".into(),
        disabled: false,
        created_at: T0,
    };
    // The same person working for a second provider: one e-mail, two operators.
    let anna_too = OperatorRecord {
        id: "op_anna2".into(),
        provider_id: "prv_2".into(),
        created_at: T0 + 1,
        ..anna.clone()
    };
    let bruno = OperatorRecord {
        id: "op_bruno".into(),
        provider_id: "prv_1".into(),
        name: "Bruno".into(),
        email: "bruno@caf.example".into(),
        disabled: true,
        created_at: T0 - 1,
    };
    for o in [&anna, &anna_too, &bruno] {
        w.store.create_operator(o).await.unwrap();
    }

    assert_eq!(
        w.store.get_operator("op_anna").await.unwrap(),
        Some(anna.clone())
    );
    assert_eq!(w.store.get_operator("op_zz").await.unwrap(), None);
    assert_eq!(
        w.store.list_operators().await.unwrap(),
        vec![bruno.clone(), anna.clone(), anna_too.clone()]
    );
    assert_eq!(
        w.store
            .find_operators_by_email("anna.neri@caf.EXAMPLE")
            .await
            .unwrap(),
        vec![anna.clone(), anna_too.clone()]
    );
    assert!(w
        .store
        .find_operators_by_email("nobody@caf.example")
        .await
        .unwrap()
        .is_empty());

    assert!(w
        .store
        .set_operator_disabled("op_anna", true)
        .await
        .unwrap());
    assert!(w
        .store
        .set_operator_disabled("op_bruno", false)
        .await
        .unwrap());
    assert!(!w.store.set_operator_disabled("op_zz", true).await.unwrap());
    assert!(
        w.store
            .get_operator("op_anna")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    assert!(
        !w.store
            .get_operator("op_bruno")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    // Only that operator: the same person's other account is untouched.
    assert!(
        !w.store
            .get_operator("op_anna2")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
}

async fn a_new_request_goes_to_the_provider_with_the_least_open_work(w: World) {
    client(&w, "cli_1").await;
    assert_eq!(w.store.route(VISURA).await.unwrap(), None);
    provider(&w, "prv_b", &[VISURA]).await;
    // One provider: it, whatever its queue.
    assert_eq!(
        w.store.route(VISURA).await.unwrap(),
        Some("prv_b".to_string())
    );
    provider(&w, "prv_a", &[VISURA, OTHER_VISURA]).await;
    provider(&w, "prv_c", &[OTHER_VISURA]).await;
    // A tie: the first by id.
    assert_eq!(
        w.store.route(VISURA).await.unwrap(),
        Some("prv_a".to_string())
    );

    // prv_a has two open requests (of any service), prv_b one.
    create(&w, &submitted("cli_1", Some("prv_a"), T0)).await;
    let mut other = submitted("cli_1", Some("prv_a"), T0);
    other.hash_visura = OTHER_VISURA.into();
    create(&w, &other).await;
    create(&w, &submitted("cli_1", Some("prv_b"), T0)).await;
    assert_eq!(
        w.store.route(VISURA).await.unwrap(),
        Some("prv_b".to_string())
    );
    let mut done = submitted("cli_1", Some("prv_b"), T0);
    create(&w, &done).await;
    assert_eq!(
        w.store.route(VISURA).await.unwrap(),
        Some("prv_a".to_string())
    );
    // Closed work does not count.
    assert!(change(&w, &mut done, Status::Annullata, "cancel", T0 + 5).await);
    assert_eq!(
        w.store.route(VISURA).await.unwrap(),
        Some("prv_b".to_string())
    );
    // Waiting for the client is open work.
    let mut waiting = submitted("cli_1", Some("prv_b"), T0);
    create(&w, &waiting).await;
    assert!(
        change(
            &w,
            &mut waiting,
            Status::InAttesaIntegrazione,
            "ask_integration",
            T0 + 6
        )
        .await
    );
    assert_eq!(
        w.store.route(VISURA).await.unwrap(),
        Some("prv_a".to_string())
    );
}

async fn the_setup_lock_is_held_by_one_process_at_a_time(w: World) {
    let first = w.store.setup_lock().await.unwrap();
    let (taken, mut told) = tokio::sync::oneshot::channel();
    let store = w.store.clone();
    let second = tokio::spawn(async move {
        let lock = store.setup_lock().await.unwrap();
        let _ = taken.send(());
        lock
    });
    match w.backend {
        // SQLite's database belongs to one process: nothing to wait for.
        Backend::Sqlite => {
            tokio::time::timeout(Duration::from_secs(10), &mut told)
                .await
                .unwrap()
                .unwrap();
        }
        // PostgreSQL: the second waits for the first's release (a session advisory lock).
        Backend::Postgres => {
            assert!(
                tokio::time::timeout(Duration::from_millis(300), &mut told)
                    .await
                    .is_err(),
                "a second set-up lock was granted while the first was held"
            );
            first.release().await.unwrap();
            tokio::time::timeout(Duration::from_secs(10), &mut told)
                .await
                .unwrap()
                .unwrap();
            second.await.unwrap().release().await.unwrap();
            // Released: the next one gets it at once.
            let third = tokio::time::timeout(Duration::from_secs(10), w.store.setup_lock())
                .await
                .unwrap()
                .unwrap();
            third.release().await.unwrap();
            return;
        }
    }
    first.release().await.unwrap();
    second.await.unwrap().release().await.unwrap();
}

async fn providers_are_parties_with_versioned_paperwork(w: World) {
    let mut p = provider(&w, "prv_a", &[VISURA]).await;
    assert_eq!(p.party, Party::default());
    let party = Party {
        tipo: Some("Patronato".into()),
        codice_fiscale: Some("12345671205".into()),
        indirizzo: Some("Via Po 3".into()),
        comune: Some("Torino".into()),
        provincia: Some("TO".into()),
        email: Some("info@example.com".into()),
        pec: None,
        telefono: Some("011 123456".into()),
        mandato_fes_accettato: true,
    };
    assert!(w
        .store
        .update_provider("prv_a", "Patronato Torino", &party)
        .await
        .unwrap());
    assert!(!w
        .store
        .update_provider("prv_zz", "Nessuno", &party)
        .await
        .unwrap());
    p.name = "Patronato Torino".into();
    p.party = party;
    assert_eq!(w.store.get_provider("prv_a").await.unwrap(), Some(p));

    // No paperwork yet; each save is the next version, per kind; old ones stay.
    let none = w
        .store
        .current_provider_document("prv_a", PaperKind::Informativa)
        .await
        .unwrap();
    assert_eq!(none, None);
    for (i, testo) in ["Informativa v1", "Informativa v2 è più completa"]
        .iter()
        .enumerate()
    {
        let doc = w
            .store
            .add_provider_document("prv_a", PaperKind::Informativa, testo, T0 + i as i64, "cli")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((doc.versione, doc.testo.as_str()), (i as i64 + 1, *testo));
    }
    let mandato = w
        .store
        .add_provider_document("prv_a", PaperKind::Mandato, "Mandato", T0, "admin:tok")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mandato.versione, 1);
    assert_eq!(mandato.created_by, "admin:tok");
    assert_eq!(
        w.store
            .add_provider_document("prv_zz", PaperKind::Mandato, "x", T0, "cli")
            .await
            .unwrap(),
        None
    );
    let versions = w
        .store
        .provider_documents("prv_a", PaperKind::Informativa)
        .await
        .unwrap();
    assert_eq!(
        versions.iter().map(|d| d.versione).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(versions[1].testo, "Informativa v1");
    let current = w
        .store
        .current_provider_document("prv_a", PaperKind::Informativa)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current, versions[0]);
    // One version by number; an unknown number or kind is none.
    let first = w
        .store
        .provider_document("prv_a", PaperKind::Informativa, 1)
        .await
        .unwrap();
    assert_eq!(first.as_ref(), Some(&versions[1]));
    for (kind, versione) in [(PaperKind::Informativa, 3), (PaperKind::Mandato, 2)] {
        let none = w
            .store
            .provider_document("prv_a", kind, versione)
            .await
            .unwrap();
        assert_eq!(none, None);
    }
    // Both current version numbers at once; a provider without paperwork has none.
    let numbers = w.store.current_provider_versions("prv_a").await.unwrap();
    assert_eq!((numbers.informativa, numbers.mandato), (Some(2), Some(1)));
    let none = w.store.current_provider_versions("prv_zz").await.unwrap();
    assert_eq!((none.informativa, none.mandato), (None, None));

    // A request keeps the versions it was shown.
    client(&w, "cli_a").await;
    let mut r = submitted("cli_a", Some("prv_a"), T0);
    r.informativa_versione = Some(2);
    r.mandato_versione = Some(1);
    create(&w, &r).await;
    let stored = w.store.get_request(&r.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.informativa_versione, stored.mandato_versione),
        (Some(2), Some(1))
    );
}
