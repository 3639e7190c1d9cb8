//! Several `sportello serve` processes on one PostgreSQL database and one S3 bucket, as behind a
//! load balancer, and one of them killed outright (SIGKILL) while requests and callbacks are in
//! flight (issue 9, item 3). A driver plays the client and the operator, sending each call to a
//! process drawn at random and retrying a call its process died under on another one, as a
//! client behind a load balancer would (creations with the same `Idempotency-Key`). Then: no
//! request lost or duplicated, every request in the state the driver's actions imply and
//! readable from every survivor, the books balanced, every event's callback delivered, and each
//! delivery called exactly as many times as its log records attempts.
//!
//! The seed of the driver's choices is printed; `SPORTELLO_TEST_SEED=N` replays a run's choices
//! (which process serves a call, and when the kill comes, still depend on timing).
#![allow(clippy::unwrap_used)]

use crate::common::received::read_request;
use crate::common::s3::S3Server;
use crate::common::{free_port, stato_di_famiglia, Install, Server, STATO_DI_FAMIGLIA};
use base64::Engine;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PROCESSES: usize = 3;
/// Live requests the driver creates.
const REQUESTS: usize = 48;
/// Requests worked at once (each one's steps run in order).
const CONCURRENCY: usize = 8;
/// Short, so the killed process's deliveries are sent again within the test. It must stay
/// longer than [`WEBHOOK_TIMEOUT_SECS`], or the start is refused.
const LEASE_SECS: u64 = 10;
const WEBHOOK_TIMEOUT_SECS: u64 = 6;
/// Money put in the demo client's wallet before the run (euro).
const TOPUP_EURO: i64 = 3000;

/// What the driver does with one request after creating it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Claim, attach a result, close.
    Close,
    /// Claim, ask for integration, the client answers, attach a result, close.
    IntegrateThenClose,
    /// Claim, then the operator cancels.
    OperatorCancel,
    /// The client cancels before any operator takes it.
    ClientCancel,
}

impl Plan {
    fn draw(rng: &mut StdRng) -> Plan {
        match rng.gen_range(0..10) {
            0..=3 => Plan::Close,
            4..=6 => Plan::IntegrateThenClose,
            7..=8 => Plan::OperatorCancel,
            _ => Plan::ClientCancel,
        }
    }

    fn processed(self) -> bool {
        matches!(self, Plan::Close | Plan::IntegrateThenClose)
    }

    /// The final `stato_richiesta`.
    fn final_state(self) -> &'static str {
        if self.processed() {
            "Visura evasa"
        } else {
            "Annullata"
        }
    }

    /// The events that reach the request's callback, in order (claims make none; a result
    /// attached before the close is not announced to the callback).
    fn callback_events(self) -> Vec<&'static str> {
        match self {
            Plan::Close => vec!["request.submitted", "request.processed"],
            Plan::IntegrateThenClose => vec![
                "request.submitted",
                "request.integration_requested",
                "request.integration_supplied",
                "request.processed",
            ],
            Plan::OperatorCancel | Plan::ClientCancel => {
                vec!["request.submitted", "request.cancelled"]
            }
        }
    }

    /// Calls the driver makes for it, creation included (for the kill's timing).
    fn steps(self) -> usize {
        match self {
            Plan::Close => 4,
            Plan::IntegrateThenClose => 6,
            Plan::OperatorCancel => 3,
            Plan::ClientCancel => 2,
        }
    }
}

/// One call the receiver read in full.
#[derive(Debug, Clone)]
struct Call {
    delivery: String,
    event: String,
    request: String,
}

/// The callback receiver on 127.0.0.1: records every call it reads in full, then answers 200
/// after a pause of up to 1.5 s, so that calls are under way whenever the kill comes.
struct Receiver {
    url: String,
    calls: Mutex<Vec<Call>>,
    /// The deliveries whose call was read and is not answered yet, with when it will be.
    pending: Mutex<BTreeMap<String, Instant>>,
}

impl Receiver {
    async fn start() -> Arc<Receiver> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Arc::new(Receiver {
            url: format!("http://{}/callback", listener.local_addr().unwrap()),
            calls: Mutex::new(Vec::new()),
            pending: Mutex::new(BTreeMap::new()),
        });
        let r = receiver.clone();
        tokio::spawn(async move {
            let mut n: u64 = 0;
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                n += 1;
                let pause = Duration::from_millis(100 + (n * 389) % 1400);
                tokio::spawn(r.clone().serve(socket, pause));
            }
        });
        receiver
    }

    async fn serve(self: Arc<Self>, mut socket: tokio::net::TcpStream, pause: Duration) {
        // None: a sender killed mid-request, nothing was received.
        let Some(received) = read_request(&mut socket).await else {
            return;
        };
        let header = |name: &str| received.header(name).to_string();
        let body: Value = serde_json::from_slice(&received.body).unwrap();
        let delivery = header("webhook-id");
        self.calls.lock().unwrap().push(Call {
            delivery: delivery.clone(),
            event: header("sportello-event"),
            request: body["data"]["_id"].as_str().unwrap_or_default().to_string(),
        });
        self.pending
            .lock()
            .unwrap()
            .insert(delivery.clone(), Instant::now() + pause);
        tokio::time::sleep(pause).await;
        let _ = socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        self.pending.lock().unwrap().remove(&delivery);
    }

    /// Whether one of `deliveries` has a call read and left unanswered for `at_least` more.
    fn holding(&self, deliveries: &[String], at_least: Duration) -> bool {
        let pending = self.pending.lock().unwrap();
        deliveries.iter().any(|d| {
            pending
                .get(d)
                .is_some_and(|until| *until > Instant::now() + at_least)
        })
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

/// What the driver shares between its requests: where the processes listen, which are alive,
/// and how many calls each has under way.
struct Cluster {
    bases: Vec<String>,
    alive: Vec<AtomicBool>,
    in_flight: Vec<AtomicUsize>,
    http: reqwest::Client,
    client_token: String,
    operator_token: String,
    callback_url: String,
    seed: u64,
    /// The process that is killed.
    victim: usize,
    steps_done: AtomicUsize,
    /// Set once the victim is dead: the last quarter of the requests waits for it, so the
    /// survivors have work of their own to finish and the driver cannot end before the kill.
    killed: AtomicBool,
    /// Calls that failed in transit (their process died) and were sent again elsewhere.
    retried: AtomicUsize,
}

/// Whether a call took effect, read on the operator's view of the request.
type Effect = fn(&Value) -> bool;

/// One call of the driver.
struct Step<'a> {
    method: Method,
    path: String,
    token: &'a str,
    body: Option<Value>,
    /// Creations: the key that makes a retry safe.
    idempotency_key: Option<&'a str>,
    /// Other calls: the operator's view of the request (`/operator/requests/{id}`), and what
    /// shows there once the call took effect.
    done: Option<(&'a str, Effect)>,
}

/// A decoded answer.
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:#}", self.body);
        &self.body["data"]
    }
}

impl Cluster {
    /// A living process, drawn at random, as a load balancer would pick one.
    fn pick(&self, rng: &mut StdRng) -> usize {
        let alive: Vec<usize> = (0..self.bases.len())
            .filter(|&i| self.alive[i].load(Ordering::SeqCst))
            .collect();
        alive[rng.gen_range(0..alive.len())]
    }

    /// One attempt on process `p`; Err when the call did not get an answer (the process died
    /// under it, or refused the connection).
    async fn send(
        &self,
        p: usize,
        method: Method,
        path: &str,
        token: &str,
        body: &Option<Value>,
        idempotency_key: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.bases[p]))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(body);
        }
        if let Some(key) = idempotency_key {
            req = req.header("Idempotency-Key", key);
        }
        self.in_flight[p].fetch_add(1, Ordering::SeqCst);
        let res = async {
            let res = req.send().await?;
            let status = res.status();
            let text = res.text().await?;
            Ok(Answer {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            })
        }
        .await;
        self.in_flight[p].fetch_sub(1, Ordering::SeqCst);
        res
    }

    /// A call to a random living process. When it gets no answer, `done` is asked (through
    /// another process) whether the call took effect anyway — the process may have died after
    /// committing — and if not the call is sent again elsewhere. An answer other than 200 to a
    /// retried call is accepted when `done` says the effect is there: the first try made it.
    async fn call(&self, rng: &mut StdRng, step: Step<'_>) -> Option<Answer> {
        let Step {
            method,
            path,
            token,
            body,
            idempotency_key,
            done,
        } = step;
        let path = path.as_str();
        let mut failures = 0;
        loop {
            // A person's or a program's pace: calls of many requests interleave.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..300))).await;
            let p = self.pick(rng);
            match self
                .send(p, method.clone(), path, token, &body, idempotency_key)
                .await
            {
                Ok(answer) if answer.status == StatusCode::OK || failures == 0 => {
                    self.steps_done.fetch_add(1, Ordering::SeqCst);
                    return Some(answer);
                }
                Ok(answer) => {
                    // A creation has no effect to look for: its retry must be answered 200.
                    let (detail, effect) = done.unwrap_or_else(|| {
                        panic!(
                            "a retried {method} {path} answered {}: {:#}",
                            answer.status, answer.body
                        )
                    });
                    assert!(
                        effect(&self.operator_view(rng, detail).await),
                        "a retried {method} {path} answered {} and its effect is not there: {:#}",
                        answer.status,
                        answer.body
                    );
                    self.steps_done.fetch_add(1, Ordering::SeqCst);
                    return None;
                }
                Err(e) => {
                    failures += 1;
                    self.retried.fetch_add(1, Ordering::SeqCst);
                    assert!(failures < 20, "{method} {path} never got an answer: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if let Some((detail, effect)) = done {
                        if effect(&self.operator_view(rng, detail).await) {
                            self.steps_done.fetch_add(1, Ordering::SeqCst);
                            return None;
                        }
                    }
                }
            }
        }
    }

    /// The first creation's first try: sent to the victim with only half its body, the rest
    /// held back until the victim is dead — a call certainly under way when the kill comes. The
    /// victim never answers it; the driver then retries it like any call that got no answer.
    async fn held_creation(&self, token: &str, body: &Value, key: &str) {
        let victim = self.victim;
        let address = self.bases[victim].trim_start_matches("http://").to_string();
        let body = serde_json::to_vec(body).unwrap();
        let (first, rest) = body.split_at(body.len() / 2);
        self.in_flight[victim].fetch_add(1, Ordering::SeqCst);
        let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
        let head = format!(
            "POST /richiesta HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
             idempotency-key: {key}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(first).await.unwrap();
        while !self.killed.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The process is gone: the rest goes nowhere, and no answer comes back.
        let _ = socket.write_all(rest).await;
        let mut answer = Vec::new();
        let _ = socket.read_to_end(&mut answer).await;
        assert!(answer.is_empty(), "the killed process answered");
        self.in_flight[victim].fetch_sub(1, Ordering::SeqCst);
        self.retried.fetch_add(1, Ordering::SeqCst);
    }

    /// `GET /operator/requests/{id}` from a living process (retried like any call).
    async fn operator_view(&self, rng: &mut StdRng, path: &str) -> Value {
        for _ in 0..20 {
            let p = self.pick(rng);
            if let Ok(answer) = self
                .send(p, Method::GET, path, &self.operator_token, &None, None)
                .await
            {
                return answer.ok().clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("GET {path} never got an answer");
    }

    /// Creates request `i` and works it to the end of its plan. Returns its id, its price in
    /// cents and the result uploaded (if any).
    async fn work(self: Arc<Self>, i: usize, plan: Plan) -> (String, i64, Option<Vec<u8>>) {
        let mut rng = StdRng::seed_from_u64(self.seed.wrapping_add(i as u64 * 7919));
        if i >= REQUESTS * 3 / 4 {
            while !self.killed.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let key = format!("cluster-{}-{i}", self.seed);
        let body = json!({
            "hash_visura": STATO_DI_FAMIGLIA,
            "json_visura": stato_di_famiglia(),
            "callback_data": {"url": self.callback_url, "data": {"n": i}},
        });
        let (client, operator) = (self.client_token.clone(), self.operator_token.clone());
        if i == 0 {
            self.held_creation(&client, &body, &key).await;
        }
        // With the same key a retry gets the first answer (or creates the request, if the
        // first try never committed): never a second request.
        let created = self
            .call(
                &mut rng,
                Step {
                    method: Method::POST,
                    path: "/richiesta".to_string(),
                    token: &client,
                    body: Some(body),
                    idempotency_key: Some(&key),
                    done: None,
                },
            )
            .await
            .unwrap();
        let id = created.ok()["_id"].as_str().unwrap().to_string();
        let price = cents(&created.ok()["prezzo"]["totale"]);
        let detail = format!("/operator/requests/{id}");
        let op = |action: &str| format!("/operator/requests/{id}/{action}");
        fn claimed(v: &Value) -> bool {
            !v["operatore"].is_null()
        }
        fn waiting(v: &Value) -> bool {
            v["richiesta"]["stato_richiesta"] == "In attesa di integrazione"
        }
        fn answered(v: &Value) -> bool {
            v["richiesta"]["stato_richiesta"] == "In erogazione"
                && v["storia"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| h["azione"] == "supply_integration")
        }
        fn has_result(v: &Value) -> bool {
            !v["risultati"].as_array().unwrap().is_empty()
        }
        fn processed(v: &Value) -> bool {
            v["richiesta"]["stato_richiesta"] == "Visura evasa"
        }
        fn cancelled(v: &Value) -> bool {
            v["richiesta"]["stato_richiesta"] == "Annullata"
        }
        let expect_ok = |a: Option<Answer>| {
            if let Some(a) = a {
                a.ok();
            }
        };
        if plan == Plan::ClientCancel {
            let cancel = self
                .call(
                    &mut rng,
                    Step {
                        method: Method::DELETE,
                        path: format!("/richiesta/{id}"),
                        token: &client,
                        body: Some(json!({"motivo": "non serve più"})),
                        idempotency_key: None,
                        done: Some((&detail, cancelled)),
                    },
                )
                .await;
            expect_ok(cancel);
            return (id, price, None);
        }
        let claim = self
            .call(
                &mut rng,
                Step {
                    method: Method::POST,
                    path: op("claim"),
                    token: &operator,
                    body: Some(json!({})),
                    idempotency_key: None,
                    done: Some((&detail, claimed)),
                },
            )
            .await;
        expect_ok(claim);
        if plan == Plan::OperatorCancel {
            let cancel = self
                .call(
                    &mut rng,
                    Step {
                        method: Method::POST,
                        path: op("cancel"),
                        token: &operator,
                        body: Some(json!({"motivo": "documentazione insufficiente"})),
                        idempotency_key: None,
                        done: Some((&detail, cancelled)),
                    },
                )
                .await;
            expect_ok(cancel);
            return (id, price, None);
        }
        if plan == Plan::IntegrateThenClose {
            let ask = self
                .call(
                    &mut rng,
                    Step {
                        method: Method::POST,
                        path: op("integration"),
                        token: &operator,
                        body: Some(
                            json!({"messaggio": "Il nome è da correggere", "campi": ["$0"]}),
                        ),
                        idempotency_key: None,
                        done: Some((&detail, waiting)),
                    },
                )
                .await;
            expect_ok(ask);
            let answer = self
                .call(
                    &mut rng,
                    Step {
                        method: Method::PUT,
                        path: format!("/richiesta/{id}"),
                        token: &client,
                        body: Some(json!({"json_visura.$0": "Maria"})),
                        idempotency_key: None,
                        done: Some((&detail, answered)),
                    },
                )
                .await;
            expect_ok(answer);
        }
        let result = pdf(&format!("esito {} {i}", self.seed));
        let attach = self
            .call(
                &mut rng,
                Step {
                    method: Method::POST,
                    path: op("results"),
                    token: &operator,
                    body: Some(json!({
                        "nome": "certificato.pdf",
                        "file": base64::engine::general_purpose::STANDARD.encode(&result),
                    })),
                    idempotency_key: None,
                    done: Some((&detail, has_result)),
                },
            )
            .await;
        expect_ok(attach);
        let close = self
            .call(
                &mut rng,
                Step {
                    method: Method::POST,
                    path: op("close"),
                    token: &operator,
                    body: Some(json!({"esito": {"codice": "0", "info": "OK"}})),
                    idempotency_key: None,
                    done: Some((&detail, processed)),
                },
            )
            .await;
        expect_ok(close);
        (id, price, Some(result))
    }
}

/// A money amount of the API (a JSON number of euro) in cents.
fn cents(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("not an amount: {v}")) * 100.0).round() as i64
}

/// A small well-formed PDF carrying `tag`.
fn pdf(tag: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% {tag}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// The value after `key=` on the log line containing `message`.
fn logged(log: &str, message: &str, key: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains(message))?;
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    line[start..].split_whitespace().next().map(str::to_string)
}

async fn scalar(db: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(db).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_one_killed_lose_nothing_and_call_back_once_per_attempt() {
    let install = Install::new();
    // PostgreSQL only: several processes share one database there. This runs in the
    // PostgreSQL pass of the README's test command (`SPORTELLO_TEST_POSTGRES=…`).
    let Some(database_url) = install.database_url.clone() else {
        return;
    };
    let seed: u64 = match std::env::var("SPORTELLO_TEST_SEED") {
        Ok(s) => s.parse().expect("SPORTELLO_TEST_SEED must be a number"),
        Err(_) => rand::thread_rng().gen(),
    };
    println!("cluster test seed: {seed} (SPORTELLO_TEST_SEED={seed} replays its choices)");
    let started = Instant::now();
    let s3 = S3Server::start(install.path()).await;
    let receiver = Receiver::start().await;

    // The same installation — data directory, master key, database, bucket — for every
    // process; only the port differs. They start together, as after a deployment.
    let ports: Vec<u16> = (0..PROCESSES).map(|_| free_port()).collect();
    let starts = ports.iter().map(|&port| {
        let mut cmd = install.command();
        cmd.args(["--listen", &format!("127.0.0.1:{port}"), "serve"])
            .env("SPORTELLO_DATABASE_POOL_SIZE", "5")
            .env("SPORTELLO_OUTBOX_LEASE_SECS", LEASE_SECS.to_string())
            .env("SPORTELLO_OUTBOX_INTERVAL_SECS", "1")
            .env(
                "SPORTELLO_WEBHOOK_TIMEOUT_SECS",
                WEBHOOK_TIMEOUT_SECS.to_string(),
            )
            .env("SPORTELLO_WEBHOOK_ALLOW_HTTP", "true")
            .env("SPORTELLO_WEBHOOK_ALLOW_HOSTS", r#"["127.0.0.1"]"#)
            // The driver's pace is not what this test is about.
            .env("SPORTELLO_RATE_PER_TOKEN_PER_MINUTE", "0")
            .env("SPORTELLO_RATE_PER_IP_PER_MINUTE", "0");
        s3.configure(&mut cmd, "cluster");
        install.start_command(cmd, port)
    });
    let mut servers: Vec<Option<Server>> = futures::future::join_all(starts)
        .await
        .into_iter()
        .map(Some)
        .collect();
    // One installation, so one demo: exactly one process found the database new.
    let demos: Vec<(String, String)> = servers
        .iter()
        .filter_map(|s| s.as_ref().unwrap().demo_tokens())
        .collect();
    assert_eq!(
        demos.len(),
        1,
        "processes starting together each made a demo: {demos:?}"
    );
    let (client_token, operator_token) = demos[0].clone();
    let db = PgPool::connect(&database_url).await.unwrap();
    assert_eq!(scalar(&db, "SELECT count(*) FROM clients").await, 1);
    assert_eq!(scalar(&db, "SELECT count(*) FROM admins").await, 1);

    let client_id: String = sqlx::query_scalar("SELECT id FROM clients")
        .fetch_one(&db)
        .await
        .unwrap();
    install
        .run(&[
            "client",
            "topup",
            "--client",
            &client_id,
            "--amount",
            &TOPUP_EURO.to_string(),
            "--reason",
            "bonifico di prova",
        ])
        .ok();
    let balance_before = cents(
        &servers[0]
            .as_ref()
            .unwrap()
            .get("/conto", &client_token)
            .await
            .ok()["saldo"],
    );

    let mut plan_rng = StdRng::seed_from_u64(seed);
    let plans: Vec<Plan> = (0..REQUESTS).map(|_| Plan::draw(&mut plan_rng)).collect();
    let victim = plan_rng.gen_range(0..PROCESSES);
    let total_steps: usize = plans.iter().map(|p| p.steps()).sum();
    let victim_owner = logged(
        &servers[victim].as_ref().unwrap().stderr(),
        "outbox worker starting",
        "owner",
    )
    .expect("the outbox worker logs the owner of its leases");

    let cluster = Arc::new(Cluster {
        bases: servers
            .iter()
            .map(|s| s.as_ref().unwrap().base.clone())
            .collect(),
        alive: (0..PROCESSES).map(|_| AtomicBool::new(true)).collect(),
        in_flight: (0..PROCESSES).map(|_| AtomicUsize::new(0)).collect(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        client_token: client_token.clone(),
        operator_token: operator_token.clone(),
        callback_url: receiver.url.clone(),
        seed,
        victim,
        steps_done: AtomicUsize::new(0),
        killed: AtomicBool::new(false),
        retried: AtomicUsize::new(0),
    });
    let driver = tokio::spawn({
        use futures::StreamExt;
        let (cluster, plans) = (cluster.clone(), plans.clone());
        async move {
            // Unordered: the held creation must not keep the requests after it from starting.
            let mut worked = futures::stream::iter(plans.into_iter().enumerate())
                .map(|(i, plan)| {
                    let cluster = cluster.clone();
                    async move { (i, tokio::spawn(cluster.work(i, plan)).await.unwrap()) }
                })
                .buffer_unordered(CONCURRENCY)
                .collect::<Vec<_>>()
                .await;
            worked.sort_by_key(|(i, _)| *i);
            worked.into_iter().map(|(_, w)| w).collect::<Vec<_>>()
        }
    });

    // The kill: a quarter of the way in or later, while the driver has calls under way on the
    // victim (at least the held creation) and the receiver holds, unanswered, a call the victim
    // made under its lease — so that call is cut after the receiver read it and before the
    // victim could record it.
    let kill_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if cluster.steps_done.load(Ordering::SeqCst) * 4 >= total_steps
            && cluster.in_flight[victim].load(Ordering::SeqCst) > 0
        {
            let leased: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM deliveries WHERE status = 'pending' AND lease_owner = $1",
            )
            .bind(&victim_owner)
            .fetch_all(&db)
            .await
            .unwrap();
            if receiver.holding(&leased, Duration::from_millis(300)) {
                break;
            }
        }
        assert!(
            Instant::now() < kill_deadline,
            "the victim never had a call cut while serving the driver ({} of {total_steps} steps done)",
            cluster.steps_done.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let calls_cut = cluster.in_flight[victim].load(Ordering::SeqCst);
    cluster.alive[victim].store(false, Ordering::SeqCst);
    let victim_server = servers[victim].take().unwrap();
    victim_server.kill();
    cluster.killed.store(true, Ordering::SeqCst);
    // The deliveries whose lease the killed process held: the others cannot claim them until
    // the lease runs out, so the rows still carry its name.
    let orphaned: BTreeSet<String> = sqlx::query_scalar(
        "SELECT id FROM deliveries WHERE status = 'pending' AND lease_owner = $1",
    )
    .bind(&victim_owner)
    .fetch_all(&db)
    .await
    .unwrap()
    .into_iter()
    .collect();
    println!(
        "killed process {victim} after {:?}, {} of {total_steps} steps done, {} calls in flight to it, holding {} leases",
        started.elapsed(),
        cluster.steps_done.load(Ordering::SeqCst),
        calls_cut,
        orphaned.len()
    );

    let worked = tokio::time::timeout(Duration::from_secs(120), driver)
        .await
        .expect("the driver did not finish in 2 minutes")
        .unwrap();
    println!(
        "driver done after {:?}; {} calls retried on another process",
        started.elapsed(),
        cluster.retried.load(Ordering::SeqCst)
    );

    // The survivors deliver everything, the killed process's leases included once they run out.
    let outbox_deadline = Instant::now() + Duration::from_secs(60);
    while scalar(
        &db,
        "SELECT count(*) FROM deliveries WHERE status = 'pending'",
    )
    .await
        > 0
    {
        assert!(
            Instant::now() < outbox_deadline,
            "deliveries still pending a minute after the driver finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("outbox drained after {:?}", started.elapsed());
    let survivors: Vec<&Server> = servers.iter().flatten().collect();
    assert_eq!(survivors.len(), PROCESSES - 1);

    // Every acknowledged creation exists, once: one request per key, no request without one.
    let ids: BTreeSet<&str> = worked.iter().map(|(id, _, _)| id.as_str()).collect();
    assert_eq!(
        ids.len(),
        REQUESTS,
        "two keys were answered with one request"
    );
    assert_eq!(
        scalar(&db, "SELECT count(*) FROM requests").await,
        REQUESTS as i64
    );
    let by_key: BTreeMap<String, String> =
        sqlx::query_as("SELECT key, request_id FROM idempotency_keys")
            .fetch_all(&db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    for (i, (id, _, _)) in worked.iter().enumerate() {
        // Stored per environment: a live token's keys are apart from a test token's.
        assert_eq!(
            by_key.get(&format!("live:cluster-{seed}-{i}")),
            Some(id),
            "key {i}"
        );
    }
    assert_eq!(by_key.len(), REQUESTS);

    // Each request is in the state the driver's actions imply, the same through every survivor,
    // and a processed one serves the very result uploaded, out of the bucket.
    for (i, ((id, _, result), plan)) in worked.iter().zip(&plans).enumerate() {
        for server in &survivors {
            let seen = server.get(&format!("/richiesta/{id}"), &client_token).await;
            assert_eq!(
                seen.ok()["stato_richiesta"],
                plan.final_state(),
                "{id} ({plan:?}) through {}",
                server.base
            );
        }
        if let Some(result) = result {
            let server = survivors[i % survivors.len()];
            let res = server
                .http
                .get(format!("{}/documento/{id}/download", server.base))
                .bearer_auth(&client_token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{id}");
            let checksum = res.headers()["x-checksum-sha256"]
                .to_str()
                .unwrap()
                .to_string();
            let archive = res.bytes().await.unwrap();
            assert_eq!(checksum, sportello_store::ids::sha256_hex(&archive), "{id}");
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive.to_vec())).unwrap();
            assert_eq!(zip.len(), 1, "{id}: one result, attached once");
            let mut inside = Vec::new();
            zip.by_index(0).unwrap().read_to_end(&mut inside).unwrap();
            assert_eq!(
                sportello_store::ids::sha256_hex(&inside),
                sportello_store::ids::sha256_hex(result),
                "{id}: the result downloaded is not the one uploaded"
            );
        }
    }

    // The books: balanced, and the wallet holds the top-up less what the requests that were
    // not cancelled cost (a cancelled one is refunded).
    install.run(&["ledger", "verify"]).ok();
    let spent: i64 = worked
        .iter()
        .zip(&plans)
        .filter(|(_, p)| p.processed())
        .map(|((_, price, _), _)| price)
        .sum();
    for server in &survivors {
        let saldo = cents(&server.get("/conto", &client_token).await.ok()["saldo"]);
        assert_eq!(saldo, balance_before - spent, "through {}", server.base);
    }

    // Every event that concerns the callback got one delivery, and it was delivered.
    let deliveries: Vec<(String, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT d.id, d.request_id, e.type, d.kind, d.status, d.attempts
         FROM deliveries d JOIN events e ON e.id = d.event_id ORDER BY d.seq",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    for ((id, _, _), plan) in worked.iter().zip(&plans) {
        let mut events: Vec<String> = sqlx::query_scalar(
            "SELECT type FROM events WHERE request_id = $1 AND type <> 'request.document_added'
             ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&db)
        .await
        .unwrap();
        assert_eq!(events, plan.callback_events(), "{id} ({plan:?})");
        let mut delivered: Vec<String> = deliveries
            .iter()
            .filter(|d| d.1 == *id && d.3 == "callback" && d.4 == "delivered")
            .map(|d| d.2.clone())
            .collect();
        events.sort();
        delivered.sort();
        assert_eq!(delivered, events, "{id}: the callbacks delivered");
    }
    // The receiver heard each delivery exactly as many times as its log counts attempts. The
    // one exception: a call the killed process had made (the receiver read it) but died before
    // recording — it shows one call more than its attempts, and only on a delivery whose lease
    // the killed process held.
    let calls = receiver.calls();
    let known: BTreeMap<&str, &(String, String, String, String, String, i64)> =
        deliveries.iter().map(|d| (d.0.as_str(), d)).collect();
    for call in &calls {
        let d = known
            .get(call.delivery.as_str())
            .unwrap_or_else(|| panic!("a call for an unknown delivery: {call:?}"));
        assert_eq!(call.event, d.2, "{call:?}");
        assert_eq!(call.request, d.1, "{call:?}");
    }
    let mut extra = 0;
    for (id, request, event, kind, status, attempts) in &deliveries {
        assert_eq!(kind, "callback", "the demo client has no other destination");
        assert_eq!(status, "delivered", "{id} ({event} of {request})");
        let heard = calls.iter().filter(|c| c.delivery == *id).count() as i64;
        if heard == attempts + 1 && orphaned.contains(id) {
            extra += 1;
            continue;
        }
        assert_eq!(
            heard, *attempts,
            "delivery {id} ({event} of {request}): {heard} calls received, {attempts} attempts logged"
        );
    }
    // The kill came while the receiver held one of the victim's calls: it was sent again.
    assert!(extra >= 1, "no call of the killed process was cut");
    println!(
        "{} deliveries, {} calls received, {extra} cut by the kill and sent again; done in {:?}",
        deliveries.len(),
        calls.len(),
        started.elapsed()
    );
    db.close().await;
}
