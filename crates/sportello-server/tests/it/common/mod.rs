//! The test harness: a real server on a fresh database and a temporary file store, listening on
//! a random port, driven over HTTP. The database is SQLite, or PostgreSQL when
//! `SPORTELLO_TEST_POSTGRES` names a server (`postgres://postgres@127.0.0.1:5432`): the same
//! suite runs on both.
#![allow(dead_code, clippy::unwrap_used)]

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sportello_domain::calendar::Calendars;
use sportello_domain::catalog::Catalog;
use sportello_server::setup::{self, TokenSpec};
use sportello_server::{AppState, Limits, ManualClock};
use sportello_store::crypto::{Keyring, MasterKey};
use sportello_store::{BlobStore, PgStore, Role, SqliteStore, Store, StoreError};
use std::sync::Arc;
use tempfile::TempDir;

mod credit;
pub mod python;
pub mod smtp;

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    /// The demo client's live token: its requests reach the demo CAF's queue and are paid from
    /// the demo wallet, which the harness fills with [`credit::HARNESS_CREDIT_CENTS`].
    pub client_token: String,
    /// The demo client's test token: its requests are the sandbox's (see `sandbox.rs`).
    pub test_token: String,
    /// The demo CAF's operator token.
    pub operator_token: String,
    pub dir: TempDir,
    /// Where the store lives.
    pub db: TestDb,
    /// The master key (base64), so [`TestApp::restart`] can reopen the same database.
    master_key: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A decoded answer: status, and the JSON body (Null when it is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// Asserts the failure envelope and returns the error code.
    pub fn error_code(&self) -> i64 {
        assert_eq!(self.body["success"], json!(false), "{:#}", self.body);
        assert_eq!(self.body["data"], Value::Null, "{:#}", self.body);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{:#}",
            self.body
        );
        self.body["error"].as_i64().unwrap()
    }

    /// The `campo`s named in `details`.
    pub fn failing_fields(&self) -> Vec<String> {
        self.body["details"]
            .as_array()
            .map(|d| {
                d.iter()
                    .map(|x| x["campo"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:#}", self.body);
        assert_eq!(self.body["success"], json!(true), "{:#}", self.body);
        assert_eq!(self.body["error"], Value::Null);
        assert_eq!(self.body["message"], json!(""));
        &self.body["data"]
    }
}

/// The test app's database: a SQLite file in its directory, or a fresh PostgreSQL schema.
#[derive(Clone, Debug)]
pub enum TestDb {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl TestDb {
    /// A new, empty database for a test app whose files are in `dir`.
    pub async fn fresh(dir: &std::path::Path) -> TestDb {
        match std::env::var("SPORTELLO_TEST_POSTGRES") {
            Ok(server) if !server.is_empty() => TestDb::Postgres(
                sportello_store::postgres::scratch::fresh_schema_url(&server)
                    .await
                    .unwrap(),
            ),
            _ => TestDb::Sqlite(dir.join("sportello.db")),
        }
    }

    pub async fn open(&self, keyring: Arc<Keyring>) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            TestDb::Sqlite(path) => Arc::new(SqliteStore::open(path, keyring).await?),
            // A few connections: hundreds of test apps share the server's connection limit.
            TestDb::Postgres(url) => Arc::new(PgStore::open_url(url, 4, keyring).await?),
        })
    }

    /// Runs SQL straight on the database, behind the store's back (as an intruder with write
    /// access would). Written without parameters, it is the same text on both backends.
    pub async fn execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match self {
            TestDb::Sqlite(path) => {
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display())).await?;
                let done = sqlx::query(sql).execute(&pool).await;
                pool.close().await;
                Ok(done?.rows_affected())
            }
            TestDb::Postgres(url) => {
                let pool = sqlx::PgPool::connect(url).await?;
                let done = sqlx::query(sql).execute(&pool).await;
                pool.close().await;
                Ok(done?.rows_affected())
            }
        }
    }

    /// Every row of every table of a PostgreSQL test database, as text (SQLite: empty, its
    /// files are in the app's directory).
    pub async fn dump(&self) -> Vec<u8> {
        let TestDb::Postgres(url) = self else {
            return Vec::new();
        };
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema()",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert!(tables.len() > 10, "{tables:?}");
        let mut out = Vec::new();
        for table in tables {
            let rows: Vec<String> = sqlx::query_scalar(&format!("SELECT t::TEXT FROM {table} t"))
                .fetch_all(&pool)
                .await
                .unwrap();
            for row in rows {
                out.extend_from_slice(row.as_bytes());
                out.push(b'\n');
            }
        }
        pool.close().await;
        out
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, TestDb::Sqlite(_))
    }
}

impl TestApp {
    /// A fresh administrator token (not scoped, no expiry).
    pub async fn admin_token(&self) -> String {
        setup::issue_token(
            &self.state,
            TokenSpec {
                role: Role::Admin,
                client_id: None,
                operator_id: None,
                label: "admin".into(),
                live: false,
                ttl_secs: None,
                scopes: None,
            },
        )
        .await
        .unwrap()
        .secret
    }

    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(Limits::default()).await
    }

    pub async fn spawn_with(limits: Limits) -> TestApp {
        TestApp::spawn_configured(limits, Calendars::default()).await
    }

    /// With providers' calendars (closures), by provider name.
    pub async fn spawn_with_calendars(calendars: Calendars) -> TestApp {
        TestApp::spawn_configured(Limits::default(), calendars).await
    }

    pub async fn spawn_configured(limits: Limits, calendars: Calendars) -> TestApp {
        TestApp::spawn_full(limits, calendars, None).await
    }

    /// With e-mail (the SMTP server the person's codes go through), and links to the person's
    /// page pointing at this server.
    pub async fn spawn_with_smtp(smtp: sportello_server::outbox::email::SmtpSettings) -> TestApp {
        TestApp::spawn_full(Limits::default(), Calendars::default(), Some(smtp)).await
    }

    async fn spawn_full(
        mut limits: Limits,
        calendars: Calendars,
        smtp: Option<sportello_server::outbox::email::SmtpSettings>,
    ) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let (key, key_text) = MasterKey::generate();
        let clock = Arc::new(ManualClock::new(chrono::Utc::now().timestamp()));
        let db = TestDb::fresh(dir.path()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        limits.public_url = format!("http://{}", listener.local_addr().unwrap());
        let mut state =
            Self::open(&dir, &db, key, clock.clone(), limits, Arc::new(calendars)).await;
        state.smtp = smtp.map(Arc::new);
        let demo = setup::prepare(&state).await.unwrap().unwrap();
        credit::fill_demo_wallet(&state).await;
        let (base, tx) = Self::serve_on(listener, state.clone());
        TestApp {
            base,
            http: reqwest::Client::new(),
            state,
            clock,
            client_token: demo.live_client_token.secret,
            test_token: demo.client_token.secret,
            operator_token: demo.operator_token.secret,
            dir,
            db,
            master_key: key_text.to_string(),
            shutdown: Some(tx),
        }
    }

    async fn open(
        dir: &TempDir,
        db: &TestDb,
        key: MasterKey,
        clock: Arc<ManualClock>,
        limits: Limits,
        calendars: Arc<Calendars>,
    ) -> AppState {
        let keyring = Arc::new(Keyring::new(key, Vec::new()));
        let store = db.open(keyring).await.unwrap();
        let blobs = BlobStore::local(&dir.path().join("files")).unwrap();
        AppState {
            store,
            blobs,
            catalog: Arc::new(Catalog::embedded().unwrap()),
            clock,
            limits,
            calendars,
            meter: Default::default(),
            callers: Default::default(),
            smtp: None,
        }
    }

    async fn listen(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve_on(listener, state)
    }

    fn serve_on(
        listener: tokio::net::TcpListener,
        state: AppState,
    ) -> (String, tokio::sync::oneshot::Sender<()>) {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            sportello_server::serve(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        (base, tx)
    }

    /// Stops the server and starts a new one on the same database and files (a restart: what
    /// was committed survives, what was in memory does not). Tokens stay valid; time goes on.
    pub async fn restart(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let key = MasterKey::from_base64(&self.master_key).unwrap();
        let smtp = self.state.smtp.clone();
        self.state = Self::open(
            &self.dir,
            &self.db,
            key,
            self.clock.clone(),
            self.state.limits.clone(),
            self.state.calendars.clone(),
        )
        .await;
        self.state.smtp = smtp;
        let (base, tx) = Self::listen(self.state.clone()).await;
        self.base = base;
        self.shutdown = Some(tx);
    }

    /// What the database holds at rest, to search for what must not be there: SQLite's file
    /// and its WAL, or every row of the PostgreSQL schema as text (and nothing).
    pub async fn at_rest(&self) -> [Vec<u8>; 2] {
        match &self.db {
            TestDb::Sqlite(path) => [
                std::fs::read(path).unwrap(),
                std::fs::read(format!("{}-wal", path.display())).unwrap_or_default(),
            ],
            TestDb::Postgres(_) => [self.db.dump().await, Vec::new()],
        }
    }

    /// A new client (tenant) and a test token for it.
    pub async fn new_client(&self, name: &str) -> String {
        let client = setup::create_client(&self.state, name, &format!("{name}@example.com"))
            .await
            .unwrap();
        self.token_for(&client.id, None).await
    }

    /// A new client (tenant) and a live token for it (its wallet is empty).
    pub async fn new_live_client(&self, name: &str) -> String {
        let client = setup::create_client(&self.state, name, &format!("{name}@example.com"))
            .await
            .unwrap();
        self.issue_client_token(&client.id, None, true).await
    }

    /// A new client with `euro` of credit (`"0"`: an empty wallet), topped up through the wallet
    /// service as an admin would, and a live token; returns (client id, live token).
    pub async fn funded_client(&self, name: &str, euro: &str) -> (String, String) {
        let client = setup::create_client(&self.state, name, &format!("{name}@example.com"))
            .await
            .unwrap();
        if euro != "0" {
            sportello_server::service::wallet::fund(
                &self.state,
                sportello_store::ledger::Kind::Topup,
                &client.id,
                euro,
                "bonifico",
                "admin:test",
                None,
                None,
            )
            .await
            .unwrap();
        }
        let token = self.issue_client_token(&client.id, None, true).await;
        (client.id, token)
    }

    pub async fn token_for(&self, client_id: &str, ttl_secs: Option<i64>) -> String {
        self.issue_client_token(client_id, ttl_secs, false).await
    }

    async fn issue_client_token(
        &self,
        client_id: &str,
        ttl_secs: Option<i64>,
        live: bool,
    ) -> String {
        setup::issue_token(
            &self.state,
            TokenSpec {
                role: Role::Client,
                client_id: Some(client_id.to_string()),
                operator_id: None,
                label: "test".into(),
                live,
                ttl_secs,
                scopes: None,
            },
        )
        .await
        .unwrap()
        .secret
    }

    /// A second provider working `services`, with one operator; returns the operator's token.
    pub async fn new_operator(&self, provider_name: &str, services: Vec<String>) -> String {
        let provider = setup::create_provider(&self.state, provider_name, services)
            .await
            .unwrap();
        let op = setup::create_operator(&self.state, &provider.id, "Op", "op@example.com")
            .await
            .unwrap();
        setup::issue_token(
            &self.state,
            TokenSpec {
                role: Role::Operator,
                client_id: None,
                operator_id: Some(op.id),
                label: "test".into(),
                live: false,
                ttl_secs: None,
                scopes: None,
            },
        )
        .await
        .unwrap()
        .secret
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::answer(req.send().await.unwrap()).await
    }

    pub async fn raw(&self, req: reqwest::RequestBuilder) -> Answer {
        Self::answer(req.send().await.unwrap()).await
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, &self.client_token, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, &self.client_token, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, &self.client_token, Some(body))
            .await
    }

    pub async fn op(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call(method, path, &self.operator_token, body).await
    }

    /// Submits a complete, valid request for `hash` and returns its `_id`.
    pub async fn submit_valid(&self, hash: &str) -> String {
        let service = self.get(&format!("/visure/{hash}")).await;
        let answer = self
            .post(
                "/richiesta",
                json!({"hash_visura": hash, "json_visura": valid_json_visura(service.assert_ok())}),
            )
            .await;
        answer.assert_ok()["_id"].as_str().unwrap().to_string()
    }

    /// The demo operator claims `id`: the request is in its hands from now on.
    pub async fn claim(&self, id: &str) {
        self.op(
            Method::POST,
            &format!("/operator/requests/{id}/claim"),
            None,
        )
        .await
        .assert_ok();
    }

    /// The operator takes `id`, attaches `files` and closes it.
    pub async fn work_to_the_end(&self, id: &str, files: &[(&str, Vec<u8>)]) {
        self.claim(id).await;
        for (name, bytes) in files {
            self.op(
                Method::POST,
                &format!("/operator/requests/{id}/results"),
                Some(json!({"nome": name, "file": b64(bytes)})),
            )
            .await
            .assert_ok();
        }
        self.op(
            Method::POST,
            &format!("/operator/requests/{id}/close"),
            Some(json!({"esito": {"codice": "0", "info": "OK"}})),
        )
        .await
        .assert_ok();
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Every file under `dir`, recursively (none when `dir` does not exist).
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A small but well-formed PDF whose text carries `tag`, so different files differ.
pub fn pdf(tag: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {tag}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

pub fn png() -> Vec<u8> {
    let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    v.extend_from_slice(&[
        0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
    ]);
    v
}

/// A real, valid codice fiscale (Mario Rossi, born 10 Dec 1985 in Roma).
pub const CF: &str = "RSSMRA85T10H501O";

/// A value valid for `tipo`, in the forms a real client sends.
pub fn valid_value(tipo: &str, key: &str) -> String {
    match tipo {
        "testo" | "denominazione" => format!("Valore {key}"),
        "email" => "mario.rossi@example.com".into(),
        "data_iso8601" => "1985-12-10".into(),
        "codice_fiscale" | "codice_fiscale_persona_fisica" | "partita_iva" => CF.into(),
        "cod_provincia" => "RM".into(),
        "cod_comune" => "H501".into(),
        "file" => format!(
            "documento_{}.pdf|data:application/pdf;base64,{}",
            key.trim_start_matches('$'),
            b64(&pdf(key))
        ),
        other => panic!("no sample for tipo {other}"),
    }
}

/// Every field of a `GET /visure/{hash}` answer filled with a valid value.
pub fn valid_json_visura(visura: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (key, campo) in visura["json_struttura"]["campi"].as_object().unwrap() {
        out.insert(
            key.clone(),
            Value::String(valid_value(campo["tipo"].as_str().unwrap(), key)),
        );
    }
    Value::Object(out)
}

/// Domanda Assegno Unico (seed 000): €19, `opzione_0` urgenza €4, `opzione_1` €10; `$5`, `$6`,
/// `$7` are files and `$7` is optional.
pub const ASSEGNO: &str = "224fcc49770edad354cdd9c480a7e50e";
/// Certificato stato di famiglia (seed 004): testo, data_iso8601 (birth), cod_provincia,
/// cod_comune (residence), codice_fiscale; €40, only `opzione_0`.
pub const FAMIGLIA: &str = "4c84e22bbabd5f25b0102bb3bfe82790";

/// The members of the seed page's `POST /richiesta` answer.
pub const SEED_MEMBERS: [&str; 21] = [
    "_id",
    "state",
    "hash_visura",
    "nome",
    "ricerca",
    "id_ricerca",
    "prezzo_visura",
    "prezzo_ricerca",
    "indice_ricerca",
    "stato_richiesta",
    "email_target",
    "allegati",
    "timestamp_creation",
    "timestamp_last_update",
    "timestamp_stati",
    "callback_data",
    "opzioni",
    "owner",
    "sincrona",
    "ricerche",
    "esito",
];

/// The members of an item of `GET /richiesta` (the commercial API's `Richieste` schema).
pub const SUMMARY_MEMBERS: [&str; 15] = [
    "_id",
    "state",
    "hash_visura",
    "nome",
    "ricerca",
    "id_ricerca",
    "prezzo_visura",
    "prezzo_ricerca",
    "indice_ricerca",
    "stato_richiesta",
    "email_target",
    "timestamp_creation",
    "timestamp_last_update",
    "owner",
    "sincrona",
];

/// Extensions on an item of `GET /richiesta` (issue 17: the client knows its provider).
pub const SUMMARY_EXTENSIONS: [&str; 1] = ["fornitore"];

/// The member names of a JSON object.
pub fn members(v: &Value) -> std::collections::BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

/// A file field value in the commercial API's form, a small PDF named `name`.
pub fn pdf_field(name: &str) -> String {
    format!("{name}|data:application/pdf;base64,{}", b64(&pdf(name)))
}

/// A complete Assegno Unico submission with real-looking values.
pub fn assegno_form() -> serde_json::Map<String, Value> {
    json!({
        "$0": "Mario",
        "$1": "Rossi",
        "$2": "mario.rossi@example.com",
        "$3": "3331234567",
        "$4": CF,
        "$5": pdf_field("documento.pdf"),
        "$6": pdf_field("codice_fiscale.pdf"),
        "$7": pdf_field("mandato.pdf"),
    })
    .as_object()
    .unwrap()
    .clone()
}

/// A complete family status certificate submission.
pub fn famiglia_form() -> serde_json::Map<String, Value> {
    json!({
        "$0": "Mario",
        "$1": "Rossi",
        "$2": "1985-12-10",
        "$3": "Italia",
        "$4": "Roma",
        "$5": "RM",
        "$6": "H501",
        "$7": CF,
    })
    .as_object()
    .unwrap()
    .clone()
}
