//! The client against the real server: an in-process `sportello-server` on a fresh database
//! (SQLite, or a PostgreSQL schema when `SPORTELLO_TEST_POSTGRES` names a server), driven only
//! through `sportello_client` (and, for the operator's side, the operator API over plain HTTP).
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use sportello_client::{Client, Error, NewRichiesta};
use sportello_domain::catalog::Catalog;
use sportello_server::{setup, AppState, Limits, ManualClock};
use sportello_store::crypto::{Keyring, MasterKey};
use sportello_store::{BlobStore, PgStore, SqliteStore, Store};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

/// The server harness's credit for the demo wallet, funded the same way.
#[path = "../../../sportello-server/tests/it/common/credit.rs"]
mod credit;

/// Certificato stato di famiglia: eight fields, all required.
const FAMIGLIA: &str = "4c84e22bbabd5f25b0102bb3bfe82790";
const CF: &str = "RSSMRA85T10H501O";

struct Server {
    base: String,
    /// The demo client's live token (its wallet topped up): requests the operator works.
    client_token: String,
    /// The demo client's test token: requests the sandbox works.
    test_token: String,
    operator_token: String,
    _dir: TempDir,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

async fn start_with(limits: Limits) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let keyring = Arc::new(Keyring::new(MasterKey::generate().0, Vec::new()));
    let store: Arc<dyn Store> = match std::env::var("SPORTELLO_TEST_POSTGRES") {
        Ok(server) if !server.is_empty() => {
            let url = sportello_store::postgres::scratch::fresh_schema_url(&server)
                .await
                .unwrap();
            Arc::new(PgStore::open_url(&url, 4, keyring).await.unwrap())
        }
        _ => Arc::new(
            SqliteStore::open(&dir.path().join("sportello.db"), keyring)
                .await
                .unwrap(),
        ),
    };
    let state = AppState {
        store,
        blobs: BlobStore::local(&dir.path().join("files")).unwrap(),
        catalog: Arc::new(Catalog::embedded().unwrap()),
        clock: Arc::new(ManualClock::new(chrono_now())),
        limits,
        meter: Default::default(),
        callers: Default::default(),
        calendars: Default::default(),
        smtp: None,
    };
    let demo = setup::prepare(&state).await.unwrap().unwrap();
    credit::fill_demo_wallet(&state).await;
    // The sandbox's simulated operator, as `sportello serve` runs it.
    sportello_server::service::sandbox::spawn(
        state.clone(),
        Duration::from_millis(100),
        std::future::pending(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        sportello_server::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server {
        base,
        client_token: demo.live_client_token.secret,
        test_token: demo.client_token.secret,
        operator_token: demo.operator_token.secret,
        _dir: dir,
        _shutdown: tx,
    }
}

async fn start() -> Server {
    start_with(Limits::default()).await
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn famiglia() -> NewRichiesta {
    NewRichiesta::new(FAMIGLIA)
        .field("$0", "Mario")
        .field("$1", "Rossi")
        .field("$2", "1985-12-10")
        .field("$3", "Italia")
        .field("$4", "Roma")
        .field("$5", "RM")
        .field("$6", "H501")
        .field("$7", CF)
}

/// The operator's side, over the operator API.
async fn operator(server: &Server, id: &str, action: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}/operator/requests/{id}/{action}", server.base))
        .bearer_auth(&server.operator_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        answer.status().is_success(),
        "{action}: {}",
        answer.status()
    );
    answer.json().await.unwrap()
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

#[tokio::test]
async fn the_catalog_is_typed_and_in_field_order() {
    let server = start().await;
    let client = Client::new(&server.base, &server.client_token).unwrap();
    let visure = client.visure().await.unwrap();
    assert!(visure.iter().any(|v| v.hash_visura == FAMIGLIA));
    let visura = client.visura(FAMIGLIA).await.unwrap();
    assert_eq!(visura.nome_visura, "Certificato stato di famiglia");
    let keys: Vec<&str> = visura.fields().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, ["$0", "$1", "$2", "$3", "$4", "$5", "$6", "$7"]);
    assert!(visura.option("urgenza").is_some());
    let schema = client.form_schema(FAMIGLIA).await.unwrap();
    assert_eq!(schema["x-hash-visura"], FAMIGLIA);
}

#[tokio::test]
async fn a_refusal_keeps_the_servers_code_and_fields() {
    let server = start().await;
    let client = Client::new(&server.base, &server.client_token).unwrap();
    let err = client
        .submit(famiglia().field("$7", "RSSMRA85T10H501A"))
        .await
        .unwrap_err();
    match &err {
        Error::Api {
            status,
            code,
            details,
            ..
        } => {
            assert_eq!((*status, *code), (412, 250));
            assert_eq!(details[0].campo, "$7");
            assert_eq!(details[0].codice, "cf_check_character");
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_transient());
    let unknown = client.visura("00000000000000000000000000000000").await;
    assert_eq!(unknown.unwrap_err().code(), Some(200));
    let bad_token = Client::new(&server.base, "spt_test_nope").unwrap();
    assert!(matches!(
        bad_token.visure().await,
        Err(Error::Api { status: 401, .. })
    ));
}

#[tokio::test]
async fn the_same_idempotency_key_creates_one_request() {
    let server = start().await;
    let client = Client::new(&server.base, &server.client_token).unwrap();
    let first = client
        .submit(famiglia().idempotency_key("ordine-42"))
        .await
        .unwrap();
    let again = client
        .submit(famiglia().idempotency_key("ordine-42"))
        .await
        .unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(client.richieste(1, 100).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_request_goes_from_submission_through_integration_to_its_document() {
    let server = start().await;
    let client = Client::new(&server.base, &server.client_token).unwrap();
    let r = client.submit(famiglia().option("opzione_0")).await.unwrap();
    assert_eq!(r.stato_richiesta, "In erogazione");
    assert!(!r.is_final());
    assert_eq!(r.opzioni.as_ref().unwrap()[0].tipo, "urgenza");

    operator(&server, &r.id, "claim", json!({})).await;
    operator(
        &server,
        &r.id,
        "integration",
        json!({"messaggio": "Il comune di nascita è da verificare", "campi": ["$4"]}),
    )
    .await;
    let waiting = client.richiesta(&r.id).await.unwrap();
    assert!(waiting.awaits_integration());
    assert_eq!(waiting.integrazione.as_ref().unwrap().campi, ["$4"]);
    let supplied = client
        .supply(
            &r.id,
            &BTreeMap::from([("$4".to_string(), "Roma".to_string())]),
        )
        .await
        .unwrap();
    assert_eq!(supplied.stato_richiesta, "In erogazione");

    use base64::Engine as _;
    let file = base64::engine::general_purpose::STANDARD.encode(pdf());
    operator(
        &server,
        &r.id,
        "results",
        json!({"nome": "certificato.pdf", "file": file}),
    )
    .await;
    operator(
        &server,
        &r.id,
        "close",
        json!({"esito": {"codice": "0", "info": "OK"}}),
    )
    .await;

    let done = client
        .wait_until_final(&r.id, Duration::from_millis(50), Duration::from_secs(5))
        .await
        .unwrap();
    assert!(done.is_processed());
    let documento = client.documento(&r.id).await.unwrap();
    let downloaded = client.download(&r.id).await.unwrap();
    assert_eq!(documento.zip, downloaded.zip);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(documento.zip)).unwrap();
    let mut inside = Vec::new();
    zip.by_index(0).unwrap().read_to_end(&mut inside).unwrap();
    assert_eq!(inside, pdf());
}

#[tokio::test]
async fn a_request_nobody_took_can_be_cancelled() {
    let server = start().await;
    let client = Client::new(&server.base, &server.client_token).unwrap();
    let r = client.submit(famiglia()).await.unwrap();
    let cancelled = client
        .cancel(&r.id, Some("inviata per errore"))
        .await
        .unwrap();
    assert_eq!(cancelled.stato_richiesta, "Annullata");
    assert!(cancelled.is_final());
    assert!(client.documento(&r.id).await.is_err());
}

#[tokio::test]
async fn a_rate_limited_call_is_retried_after_the_servers_pause() {
    // 60 calls a minute: a burst of 10, then one a second.
    let server = start_with(Limits {
        rate_per_token_per_minute: 60,
        ..Limits::default()
    })
    .await;
    let patient = Client::builder(&server.base, &server.client_token)
        .attempts(4)
        .build()
        .unwrap();
    for _ in 0..12 {
        patient.visure().await.unwrap();
    }
    let impatient = Client::builder(&server.base, &server.client_token)
        .attempts(1)
        .build()
        .unwrap();
    let refused = impatient.visure().await.unwrap_err();
    assert!(
        matches!(refused, Error::Api { status: 429, .. }),
        "{refused:?}"
    );
    assert!(refused.is_transient());
}

#[path = "../../examples/flow.rs"]
#[allow(dead_code)] // its `main` is for `cargo run --example`
mod example;

#[tokio::test]
async fn the_example_runs_as_written() {
    // No delay: the harness's clock does not move by itself.
    let server = start_with(Limits {
        sandbox_delay_secs: 0,
        ..Limits::default()
    })
    .await;
    example::run(&server.base, &server.test_token)
        .await
        .unwrap();
}
