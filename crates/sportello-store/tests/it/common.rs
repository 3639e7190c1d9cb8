//! The world a story runs in (a fresh store on one backend, its master key, a way to reopen it)
//! and the records most stories start from.
#![allow(dead_code, clippy::unwrap_used)]

use rust_decimal::Decimal;
use sportello_domain::catalog::Vat;
use sportello_domain::pricing::{from_cents, to_cents, Line, LineKind, Quote};
use sportello_domain::status::Status;
use sportello_store::crypto::{DataKey, Keyring, MasterKey};
use sportello_store::ledger::{Funds, Kind, Transaction};
use sportello_store::{
    ids, ClientRecord, HistoryEntry, NewRequest, PgStore, ProviderRecord, RequestRecord,
    SqliteStore, Store, StoreError, StoredValue,
};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tempfile::TempDir;

/// A moment all stories count from (2023-11-14, a Tuesday).
pub const T0: i64 = 1_700_000_000;

/// A service hash, as the catalog names services.
pub const VISURA: &str = "a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4";
pub const OTHER_VISURA: &str = "f6e5d4c3b2a1f6e5d4c3b2a1f6e5d4c3";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

enum Place {
    Sqlite(PathBuf),
    Postgres(String),
}

/// A fresh, empty store and what it takes to open it again.
pub struct World {
    pub store: Arc<dyn Store>,
    pub backend: Backend,
    place: Place,
    /// The master key the store was opened with (base64), so a story can reopen or rotate.
    pub master_key: String,
    _dir: TempDir,
}

/// A new master key, in the text form configuration gives.
pub fn new_master_key() -> String {
    MasterKey::generate().1.to_string()
}

fn keyring(current: &str, previous: &[&str]) -> Arc<Keyring> {
    Arc::new(Keyring::new(
        MasterKey::from_base64(current).unwrap(),
        previous
            .iter()
            .map(|k| MasterKey::from_base64(k).unwrap())
            .collect(),
    ))
}

async fn open(place: &Place, keyring: Arc<Keyring>) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match place {
        Place::Sqlite(path) => Arc::new(SqliteStore::open(path, keyring).await?),
        // A few connections, as the server's suites use: stories run side by side.
        Place::Postgres(url) => Arc::new(PgStore::open_url(url, 4, keyring).await?),
    })
}

impl World {
    /// A fresh store on `backend`, or None (with a note) when PostgreSQL is asked for and
    /// `SPORTELLO_TEST_POSTGRES` names no server.
    pub async fn new(backend: Backend) -> Option<World> {
        let dir = tempfile::tempdir().unwrap();
        let place = match backend {
            Backend::Sqlite => Place::Sqlite(dir.path().join("story.db")),
            Backend::Postgres => match std::env::var("SPORTELLO_TEST_POSTGRES") {
                Ok(server) if !server.is_empty() => Place::Postgres(
                    sportello_store::postgres::scratch::fresh_schema_url(&server)
                        .await
                        .unwrap(),
                ),
                _ => {
                    eprintln!("SPORTELLO_TEST_POSTGRES is not set: PostgreSQL story skipped");
                    return None;
                }
            },
        };
        let master_key = new_master_key();
        let store = open(&place, keyring(&master_key, &[])).await.unwrap();
        Some(World {
            store,
            backend,
            place,
            master_key,
            _dir: dir,
        })
    }

    /// Opens the same database again with `current` as the master key and `previous` as the
    /// older ones a rotation still reads; the world's store becomes the new one.
    pub async fn reopen(&mut self, current: &str, previous: &[&str]) -> Result<(), StoreError> {
        self.store = open(&self.place, keyring(current, previous)).await?;
        current.clone_into(&mut self.master_key);
        Ok(())
    }
}

/// Runs `story` on a fresh store of `backend` (nothing, when that backend is not available).
pub async fn run<F, Fut>(backend: Backend, story: F)
where
    F: FnOnce(World) -> Fut,
    Fut: Future<Output = ()>,
{
    if let Some(world) = World::new(backend).await {
        story(world).await;
    }
}

/// One `#[tokio::test]` per story and backend, from stories written once as `async fn(World)`:
/// `topic::sqlite::story` and `topic::postgres::story`.
macro_rules! stories {
    ($($story:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $story() {
                    crate::common::run(crate::common::Backend::Sqlite, super::$story).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $story() {
                    crate::common::run(crate::common::Backend::Postgres, super::$story).await;
                }
            )+
        }
    };
}

// --- records ---------------------------------------------------------------------------------

pub async fn client(w: &World, id: &str) -> ClientRecord {
    let c = ClientRecord {
        id: id.to_string(),
        name: format!("Studio {id}"),
        owner_email: format!("{id}@example.com"),
        created_at: T0,
    };
    w.store.create_client(&c).await.unwrap();
    c
}

pub async fn provider(w: &World, id: &str, services: &[&str]) -> ProviderRecord {
    let p = ProviderRecord {
        id: id.to_string(),
        name: format!("CAF {id}"),
        services: services.iter().map(|s| s.to_string()).collect(),
        created_at: T0,
        party: Default::default(),
    };
    w.store.create_provider(&p).await.unwrap();
    p
}

/// One service line of `net` cents at the ordinary VAT rate (22 %).
pub fn quote(net: i64) -> Quote {
    Quote {
        righe: vec![Line::new(
            LineKind::Servizio,
            VISURA,
            "Visura catastale",
            from_cents(net),
            &Vat::default(),
        )],
    }
}

/// What a quote takes from a wallet, VAT included, in cents.
pub fn gross(q: &Quote) -> i64 {
    to_cents(q.totale())
}

/// Money an admin put in the client's wallet.
pub async fn top_up(w: &World, client_id: &str, cents: i64, at: i64) -> i64 {
    let t = Transaction::funding(Kind::Topup, client_id, cents, "bonifico", at, "admin:root");
    w.store.post(&t, Funds::NotRequired, None).await.unwrap().id
}

/// A live draft of [`VISURA`] opened at `at`, with one value in each sealed column.
pub fn draft(client_id: &str, at: i64) -> RequestRecord {
    RequestRecord {
        id: ids::request_id(at),
        client_id: client_id.to_string(),
        hash_visura: VISURA.to_string(),
        hash_requested: VISURA.to_string(),
        status: Status::Draft,
        live: true,
        provider_id: None,
        operator_id: None,
        fields: BTreeMap::from([
            (
                "$0".to_string(),
                StoredValue::Text("RSSMRA80A01H501U".into()),
            ),
            (
                "$1".to_string(),
                StoredValue::File {
                    file: "fil_0001".into(),
                },
            ),
        ]),
        opzioni: vec!["opzione_0".into()],
        prezzo_visura: Decimal::new(1000, 2),
        prezzo_totale: Decimal::new(1000, 2),
        price: Some(quote(1000)),
        email_target: Some("mario.rossi@example.com".into()),
        callback_data: Some(serde_json::json!({"url": "https://client.example/cb", "n": 1})),
        esito_codice: "0".into(),
        esito_info: "OK".into(),
        motivo_annullamento: None,
        integrazione: None,
        timestamp_stati: BTreeMap::from([("in_ricerca".to_string(), at)]),
        document: None,
        created_at: at,
        updated_at: at,
        closed_at: None,
        purged_at: None,
        version: 1,
        due_at: None,
        sla_paused_at: None,
        overdue_at: None,
        informativa_versione: None,
        mandato_versione: None,
        invito: None,
        invito_hash: None,
        consensi: Vec::new(),
    }
}

/// A live request submitted at `at` into `provider`'s queue, due a day later.
pub fn submitted(client_id: &str, provider: Option<&str>, at: i64) -> RequestRecord {
    let mut r = draft(client_id, at);
    r.status = Status::InErogazione;
    r.provider_id = provider.map(str::to_string);
    r.timestamp_stati.insert("in_erogazione".into(), at);
    r.due_at = Some(at + 86_400);
    r
}

/// The history entry of `action` bringing `r` to its current state.
pub fn entry(r: &RequestRecord, action: &str, actor: &str, at: i64) -> HistoryEntry {
    HistoryEntry {
        request_id: r.id.clone(),
        at,
        status: r.status,
        action: action.to_string(),
        actor: actor.to_string(),
        note: None,
        source: Some("192.0.2.7".into()),
    }
}

/// Inserts `r` with nothing else than its first history entry (`submit` unless a draft);
/// returns its data key.
pub async fn create(w: &World, r: &RequestRecord) -> DataKey {
    let key = DataKey::generate();
    let action = if r.status == Status::Draft {
        "open"
    } else {
        "submit"
    };
    w.store
        .insert_request(NewRequest {
            request: r,
            key: &key,
            files: &[],
            history: &entry(r, action, &format!("client:{}", r.client_id), r.created_at),
            idempotency: None,
            debit: None,
            subjects: &[],
        })
        .await
        .unwrap();
    key
}

/// Moves `r` to `status` by `action` at `at` (the next version, with its history entry), as the
/// service layer's `mutate` does; false when the stored version moved on meanwhile.
pub async fn change(
    w: &World,
    r: &mut RequestRecord,
    status: Status,
    action: &str,
    at: i64,
) -> bool {
    r.status = status;
    if let Some(key) = status.timestamp_key() {
        r.timestamp_stati.insert(key.to_string(), at);
    }
    r.updated_at = at;
    r.version += 1;
    // The store keeps `closed_at`: set once a final state is reached, cleared otherwise.
    r.closed_at = if status.is_final() {
        r.closed_at.or(Some(at))
    } else {
        None
    };
    let h = entry(r, action, "operator:op_1", at);
    w.store
        .update_request(r, &[], Some(&h), None)
        .await
        .unwrap()
}
