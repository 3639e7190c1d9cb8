//! The harness for tests of the `sportello` binary as a user runs it: a temporary installation
//! directory, the verbs run to completion with a deadline, and `serve` on a free local port,
//! killed when the test ends whatever its outcome. With `SPORTELLO_TEST_POSTGRES` naming a
//! PostgreSQL server, each installation's database is a fresh schema there instead of the
//! embedded SQLite file.
#![allow(dead_code, clippy::unwrap_used)]

pub mod received;
pub mod s3;
// One definition for both test crates: which Python runs the test tools.
#[path = "../../../../sportello-server/tests/it/common/python.rs"]
pub mod python;

use reqwest::StatusCode;
use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Longest a verb may run, and longest `serve` may take to answer `/readyz`.
const DEADLINE: Duration = Duration::from_secs(60);

/// The family status certificate: eight mandatory fields, no files.
pub const STATO_DI_FAMIGLIA: &str = "4c84e22bbabd5f25b0102bb3bfe82790";

/// A complete, valid `json_visura` for [`STATO_DI_FAMIGLIA`].
pub fn stato_di_famiglia() -> Value {
    serde_json::json!({
        "$0": "Mario", "$1": "Rossi", "$2": "1985-12-10", "$3": "Italia",
        "$4": "Roma", "$5": "RM", "$6": "H501", "$7": "RSSMRA85T10H501O"
    })
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    free_ports::<1>()[0]
}

/// `N` different ports nobody listens on right now.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<_> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().unwrap().port())
}

/// A finished run of the binary.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout, trimmed.
    pub fn ok(&self) -> &str {
        assert!(self.status.success(), "{self:#?}");
        self.stdout.trim()
    }

    /// Asserts failure and returns stderr.
    pub fn failed(&self) -> &str {
        assert!(!self.status.success(), "{self:#?}");
        &self.stderr
    }
}

/// A directory to run the binary in; its data directory is `<dir>/data`.
pub struct Install {
    pub dir: TempDir,
    runs: std::cell::Cell<u32>,
    /// The PostgreSQL database given to [`Install::command`] (None: the embedded SQLite).
    pub database_url: Option<String>,
}

impl Install {
    pub fn new() -> Install {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match std::env::var("SPORTELLO_TEST_POSTGRES") {
            Ok(server) if !server.is_empty() => {
                // A database named by URL gets no key made on its behalf: the operator makes
                // one first, as the README says.
                let key = dir.path().join("data").join("master.key");
                std::fs::create_dir_all(key.parent().unwrap()).unwrap();
                std::fs::write(
                    &key,
                    format!(
                        "{}\n",
                        sportello_store::crypto::MasterKey::generate().1.as_str()
                    ),
                )
                .unwrap();
                Some(fresh_schema(&server))
            }
            _ => None,
        };
        Install {
            dir,
            runs: std::cell::Cell::new(0),
            database_url,
        }
    }

    /// Runs SQL straight on the installation's database, behind the server's back.
    pub async fn execute_sql(&self, sql: &str) {
        match &self.database_url {
            Some(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
            None => {
                let db = self.data_dir().join("sportello.db");
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
                    .await
                    .unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }
    }

    /// The rows of a one-column text query, straight from the installation's database.
    pub async fn query_strings(&self, sql: &str) -> Vec<String> {
        match &self.database_url {
            Some(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
            None => {
                let db = self.data_dir().join("sportello.db");
                let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
                    .await
                    .unwrap();
                let rows = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
                pool.close().await;
                rows
            }
        }
    }

    /// Whether the data directory is as the harness left it: absent, or on PostgreSQL holding
    /// only the master key made beforehand.
    pub fn data_dir_untouched(&self) -> bool {
        match std::fs::read_dir(self.data_dir()) {
            Err(_) => true,
            Ok(entries) => {
                let names: Vec<_> = entries.map(|e| e.unwrap().file_name()).collect();
                !self.embedded() && names == ["master.key"]
            }
        }
    }

    /// Whether the binary runs on its embedded SQLite database (no `SPORTELLO_TEST_POSTGRES`).
    pub fn embedded(&self) -> bool {
        self.database_url.is_none()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The binary, run in the installation directory with no `SPORTELLO_*` variable inherited
    /// from the test's environment, and no flag.
    pub fn bare_command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sportello"));
        cmd.current_dir(self.path()).stdin(Stdio::null());
        for (key, _) in std::env::vars() {
            if key.starts_with("SPORTELLO_") {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// The binary with `--data-dir` set (and the database, on PostgreSQL).
    pub fn command(&self) -> Command {
        let mut cmd = self.bare_command();
        cmd.arg("--data-dir").arg(self.data_dir());
        if let Some(url) = &self.database_url {
            // A few connections each: the test processes share the server's connection limit.
            cmd.env("SPORTELLO_DATABASE_URL", url)
                .env("SPORTELLO_DATABASE_POOL_SIZE", "3");
        }
        cmd
    }

    /// Fresh files to send a child's output to.
    fn output_files(&self) -> (PathBuf, PathBuf) {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        (
            self.path().join(format!("out-{n}.txt")),
            self.path().join(format!("err-{n}.txt")),
        )
    }

    /// `sportello --data-dir … ARGS`, to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        self.run_command(cmd)
    }

    /// Runs `cmd` to completion (killed past the deadline).
    pub fn run_command(&self, mut cmd: Command) -> Run {
        let (out, err) = self.output_files();
        cmd.stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap());
        let mut child = Guard(cmd.spawn().unwrap());
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{cmd:?} did not finish in {DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Run {
            status,
            stdout: std::fs::read_to_string(out).unwrap(),
            stderr: std::fs::read_to_string(err).unwrap(),
        }
    }

    /// `sportello --data-dir … --listen 127.0.0.1:PORT serve`, ready to answer.
    pub async fn start(&self) -> Server {
        let port = free_port();
        let mut cmd = self.command();
        cmd.args(["--listen", &format!("127.0.0.1:{port}"), "serve"]);
        self.start_command(cmd, port).await
    }

    /// Spawns `cmd` (a `serve`) and waits until `/readyz` answers 200 on `port`: the process
    /// serves and its database and file store answer (`/healthz` says only that it serves).
    pub async fn start_command(&self, cmd: Command, port: u16) -> Server {
        match self.try_start_command(cmd, port).await {
            Ok(server) => server,
            Err(run) => panic!("the server did not start: {run:#?}"),
        }
    }

    /// Like `start_command`, but a server that exits before answering gives back its `Run`.
    pub async fn try_start_command(&self, mut cmd: Command, port: u16) -> Result<Server, Run> {
        let (out, err) = self.output_files();
        cmd.stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap());
        let mut server = Server {
            child: Guard(cmd.spawn().unwrap()),
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            stdout: out,
            stderr: err,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.0.try_wait().unwrap() {
                return Err(Run {
                    status,
                    stdout: server.stdout(),
                    stderr: server.stderr(),
                });
            }
            let ready = server
                .http
                .get(format!("{}/readyz", server.base))
                .send()
                .await;
            if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
                return Ok(server);
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no answer on {} in {DEADLINE:?}; stderr:\n{}",
                server.base,
                server.stderr()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A fresh schema on the PostgreSQL server `server`, made on a thread of its own: the callers
/// may be inside a runtime, which cannot block on another.
fn fresh_schema(server: &str) -> String {
    let server = server.to_string();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(sportello_store::postgres::scratch::fresh_schema_url(
                &server,
            ))
            .unwrap()
    })
    .join()
    .unwrap()
}

/// Kills its child on drop, so a failing test leaves no server behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running `sportello serve`.
pub struct Server {
    child: Guard,
    pub base: String,
    pub http: reqwest::Client,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// A decoded answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    /// Asserts a 200 success envelope and returns its `data`.
    pub fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:#}", self.body);
        assert_eq!(self.body["success"], Value::Bool(true), "{:#}", self.body);
        &self.body["data"]
    }
}

impl Server {
    /// What the server printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap()
    }

    /// What the server logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap()
    }

    /// The two tokens a first start prints: (client, operator).
    /// The demo client's live token and the demo operator's token, as the first start printed
    /// them (None on a later start).
    pub fn demo_tokens(&self) -> Option<(String, String)> {
        Some((
            self.printed_token("client token (live):")?,
            self.printed_token("operator token:")?,
        ))
    }

    /// The demo client's test token: its requests are worked by the sandbox.
    pub fn demo_test_token(&self) -> Option<String> {
        self.printed_token("client token (test):")
    }

    /// The token printed after `label` (the first word: a remark may follow it).
    fn printed_token(&self, label: &str) -> Option<String> {
        self.stdout().lines().find_map(|l| {
            l.trim()
                .strip_prefix(label)
                .and_then(|t| t.split_whitespace().next())
                .map(str::to_string)
        })
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// SIGTERM, as a service manager stops it, then waits for the exit (bounded).
    #[cfg(unix)]
    pub fn terminate(mut self) -> Run {
        let pid = self.child.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success(), "kill -TERM {pid} failed");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no exit {DEADLINE:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Run {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    /// The server's process id, to signal it.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Waits for the server to exit by itself (bounded), after a signal sent with [`Self::pid`].
    pub fn wait(mut self) -> Run {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.0.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < DEADLINE, "no exit in {DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        Run {
            status,
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    /// SIGKILL on unix: no graceful shutdown, no chance to flush anything.
    pub fn kill(self) {
        drop(self);
    }
}
