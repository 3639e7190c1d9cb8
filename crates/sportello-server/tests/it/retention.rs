//! Retention: a closed request keeps its personal data for the service's retention period and
//! then loses it for good; what accounting needs stays.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use reqwest::Method;
use sportello_server::service::retention;

const DAY: i64 = 86_400;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_closed_request_is_purged_once_its_retention_has_passed() {
    let app = TestApp::spawn().await;
    let retention_days = app.state.catalog.get(FAMIGLIA).unwrap().retention_days;
    let closed = app.submit_valid(FAMIGLIA).await;
    let open = app.submit_valid(FAMIGLIA).await;
    app.work_to_the_end(&closed, &[("certificato.pdf", pdf("certificato"))])
        .await;

    let before = app.get(&format!("/richiesta/{closed}")).await;
    let closed_at = before.assert_ok()["timestamp_stati"]["visura_evasa"]
        .as_i64()
        .unwrap();
    assert_eq!(
        before.data()["delete_after"].as_i64().unwrap(),
        closed_at + i64::from(retention_days) * DAY
    );
    assert_eq!(
        app.get(&format!("/richiesta/{open}")).await.data()["delete_after"],
        serde_json::Value::Null
    );
    let wrapped = app.state.store.data_key(&closed).await.unwrap();
    assert!(wrapped.is_some());

    // A day before the deadline nothing goes.
    app.clock.advance(i64::from(retention_days) * DAY - DAY);
    assert!(retention::purge_expired(&app.state, false, "test")
        .await
        .unwrap()
        .is_empty());

    // Past it, once its provider has downloaded the case file (`retention_requires_export`,
    // see `fascicolo.rs`), a dry run lists it and changes nothing; a real pass destroys it.
    app.clock.advance(2 * DAY);
    app.op(
        Method::GET,
        &format!("/operator/requests/{closed}/fascicolo"),
        None,
    )
    .await;
    let listed = retention::purge_expired(&app.state, true, "test")
        .await
        .unwrap();
    assert_eq!(listed, vec![closed.clone()]);
    app.get(&format!("/documento/{closed}")).await.assert_ok();
    let purged = retention::purge_expired(&app.state, false, "test")
        .await
        .unwrap();
    assert_eq!(purged, vec![closed.clone()]);

    // Accounting survives: id, service, state, prices, dates.
    let after = app.get(&format!("/richiesta/{closed}")).await;
    let r = after.assert_ok();
    assert_eq!(r["stato_richiesta"], "Visura evasa");
    assert_eq!(r["purged"], true);
    assert_eq!(r["prezzo_visura"], before.data()["prezzo_visura"]);
    // The personal data does not.
    let doc = app.get(&format!("/documento/{closed}")).await;
    assert_eq!(doc.status, 410);
    assert_eq!(doc.error_code(), 917);
    let detail = app
        .op(Method::GET, &format!("/operator/requests/{closed}"), None)
        .await;
    assert!(detail.assert_ok()["campi"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["valore"].is_null() && c["file"].is_null()));
    assert!(app.state.store.data_key(&closed).await.unwrap().is_none());
    assert!(
        !app.dir
            .path()
            .join(format!("files/requests/{closed}"))
            .exists()
            || std::fs::read_dir(app.dir.path().join(format!("files/requests/{closed}")))
                .unwrap()
                .next()
                .is_none()
    );
    // The open request is untouched, and a second pass has nothing to do.
    assert!(app.state.store.data_key(&open).await.unwrap().is_some());
    assert!(retention::purge_expired(&app.state, false, "test")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_purged_key_cannot_be_read_back_from_the_database_files() {
    let app = TestApp::spawn().await;
    // SQLite only: this reads the database's own files, which a PostgreSQL server keeps out of
    // our reach (there, free space is reclaimed by VACUUM, outside any request).
    if !app.db.is_sqlite() {
        return;
    }
    let id = app.submit_valid(FAMIGLIA).await;
    app.work_to_the_end(&id, &[("certificato.pdf", pdf("x"))])
        .await;
    // The wrapped key as stored, read straight from the database.
    let db = app.dir.path().join("sportello.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let wrapped: Vec<u8> =
        sqlx::query_scalar("SELECT wrapped FROM request_keys WHERE request_id = ?")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    assert!(retention::purge(&app.state, &id, "admin:test")
        .await
        .unwrap());
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db.display());
        if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !contains(&bytes, &wrapped),
                "{path} still holds the wrapped key"
            );
        }
    }
    let history = app.state.store.history(&id).await.unwrap();
    assert_eq!(history.last().unwrap().action, "purge");
    assert_eq!(history.last().unwrap().actor, "admin:test");
}

#[tokio::test]
async fn an_erasure_request_finds_every_request_about_a_person_by_keyed_hash() {
    use sportello_domain::fields::codice_fiscale::CodiceFiscale;
    use sportello_server::service::requests::subject_key;

    let app = TestApp::spawn().await;
    let service = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let mut form = valid_json_visura(service.assert_ok());
    let first = app
        .post(
            "/richiesta",
            serde_json::json!({"hash_visura": FAMIGLIA, "json_visura": form.clone()}),
        )
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The same person written with an omocodia substitution.
    let variant = CodiceFiscale::parse(CF).unwrap().omocodia_variant(1);
    form["$7"] = serde_json::Value::String(variant.as_str().to_string());
    let second = app
        .post(
            "/richiesta",
            serde_json::json!({"hash_visura": FAMIGLIA, "json_visura": form.clone()}),
        )
        .await
        .assert_ok()["_id"]
        .as_str()
        .unwrap()
        .to_string();
    form["$7"] = serde_json::Value::String("QGLZBD80A01H501G".into());
    app.post(
        "/richiesta",
        serde_json::json!({"hash_visura": FAMIGLIA, "json_visura": form}),
    )
    .await
    .assert_ok();

    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    let found = app
        .state
        .store
        .find_by_subject(&subject_key(&CF.to_lowercase()))
        .await
        .unwrap();
    assert_eq!(found, expected);

    // The plain code is nowhere in the database.
    let [db, wal] = app.at_rest().await;
    assert!(!contains(&db, CF.as_bytes()) && !contains(&wal, CF.as_bytes()));

    // Once erased, the person is no longer findable.
    app.work_to_the_end(&first, &[("c.pdf", pdf("c"))]).await;
    assert!(retention::purge(&app.state, &first, "admin:erasure")
        .await
        .unwrap());
    let found = app
        .state
        .store
        .find_by_subject(&subject_key(CF))
        .await
        .unwrap();
    assert_eq!(found, vec![second]);
}

#[tokio::test]
async fn a_database_opened_with_another_master_key_refuses_to_start() {
    use sportello_store::crypto::{Keyring, MasterKey};
    let app = TestApp::spawn().await;
    app.submit_valid(FAMIGLIA).await;
    let other = std::sync::Arc::new(Keyring::new(MasterKey::generate().0, Vec::new()));
    let opened = app.db.open(other).await;
    let err = opened.err().expect("a foreign key ring must be refused");
    assert!(
        err.to_string().contains("no configured master key"),
        "{err}"
    );
}
