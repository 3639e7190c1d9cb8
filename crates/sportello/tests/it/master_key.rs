//! The master key as an administrator handles it: generated once on a new installation,
//! required ever after, and rotated with `keys generate` + `keys rotate` without losing a request.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{free_port, stato_di_famiglia, Install, Server, STATO_DI_FAMIGLIA};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Submits the family status certificate; returns the request id.
async fn submit(server: &Server, client: &str) -> String {
    let created = server
        .post(
            "/richiesta",
            client,
            json!({"hash_visura": STATO_DI_FAMIGLIA, "json_visura": stato_di_famiglia()}),
        )
        .await;
    created.ok()["_id"].as_str().unwrap().to_string()
}

/// The codice fiscale the operator reads back: only a server holding the right key decrypts it.
async fn codice_fiscale_seen_by_operator(server: &Server, operator: &str, id: &str) -> String {
    let detail = server
        .get(&format!("/operator/requests/{id}"), operator)
        .await;
    detail.ok()["campi"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["campo"] == "$7")
        .unwrap_or_else(|| panic!("no $7 in {:#}", detail.body))["valore"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `serve` with extra arguments, ready to answer.
async fn start_with(install: &Install, args: &[&str]) -> Server {
    let port = free_port();
    let mut cmd = install.command();
    cmd.args(args)
        .args(["--listen", &format!("127.0.0.1:{port}"), "serve"]);
    install.start_command(cmd, port).await
}

fn write_config(install: &Install, name: &str, text: &str) -> PathBuf {
    let path = install.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[cfg(unix)]
#[tokio::test]
async fn a_first_start_writes_a_key_only_its_owner_can_read_and_never_prints_it() {
    let install = Install::new();
    // Only the embedded database gets a key made for it (a URL one needs it beforehand).
    if !install.embedded() {
        return;
    }
    let key_file = install.data_dir().join("master.key");
    let server = install.start().await;

    assert_eq!(mode(&key_file), 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(!key.trim().is_empty());
    assert!(
        server.stderr().contains("BACK IT UP"),
        "{}",
        server.stderr()
    );
    assert!(server.stderr().contains(&key_file.display().to_string()));
    assert!(!server.stdout().contains(key.trim()), "the key is printed");
    assert!(!server.stderr().contains(key.trim()), "the key is logged");
    server.kill();

    // A restart reads the same key, and says nothing about a new one.
    let again = install.start().await;
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    assert!(!again.stderr().contains("BACK IT UP"), "{}", again.stderr());
}

#[tokio::test]
async fn a_database_whose_key_was_deleted_refuses_to_start() {
    let install = Install::new();
    let key_file = install.data_dir().join("master.key");
    let server = install.start().await;
    let (client, _) = server.demo_tokens().unwrap();
    submit(&server, &client).await;
    server.kill();

    std::fs::remove_file(&key_file).unwrap();
    let port = free_port();
    let mut cmd = install.command();
    cmd.args(["--listen", &format!("127.0.0.1:{port}"), "serve"]);
    let refused = match install.try_start_command(cmd, port).await {
        Ok(_) => panic!("serve started without the master key of its database"),
        Err(run) => run,
    };
    let stderr = refused.failed();
    assert!(stderr.contains("no master key"), "{stderr}");
    assert!(stderr.contains(&key_file.display().to_string()), "{stderr}");
    // The embedded database is known to hold data; one named by URL may be new, so the
    // message offers both ways.
    let advice = if install.embedded() {
        "restore the key file"
    } else {
        "(or restore it)"
    };
    assert!(stderr.contains(advice), "{stderr}");
    assert!(!key_file.exists(), "a new key was made that opens nothing");

    // The administration verbs refuse as well, rather than write with a key nobody has.
    let listed = install.run(&["client", "list"]);
    assert!(listed.failed().contains("no master key"), "{listed:#?}");
    assert!(!key_file.exists());
}

#[cfg(unix)]
#[test]
fn keys_generate_writes_a_private_file_and_never_overwrites_one() {
    let install = Install::new();
    let file = install.path().join("keys").join("new.key");
    let file_arg = file.to_str().unwrap();

    let wrote = install.run(&["keys", "generate", file_arg]);
    assert!(wrote.ok().starts_with("wrote master key "), "{wrote:#?}");
    assert!(wrote.stdout.contains(file_arg), "{wrote:#?}");
    assert_eq!(mode(&file), 0o600);
    let key = std::fs::read_to_string(&file).unwrap();
    assert!(!wrote.stdout.contains(key.trim()), "the key is printed");

    let again = install.run(&["keys", "generate", file_arg]);
    assert!(again.failed().contains(file_arg), "{again:#?}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        key,
        "a key was overwritten"
    );
}

#[tokio::test]
async fn after_a_rotation_the_new_key_alone_reads_the_old_requests() {
    let install = Install::new();
    let old_key = install.data_dir().join("master.key");
    let server = install.start().await;
    let (client, operator) = server.demo_tokens().unwrap();
    let id = submit(&server, &client).await;
    assert_eq!(
        codice_fiscale_seen_by_operator(&server, &operator, &id).await,
        "RSSMRA85T10H501O"
    );
    server.kill();

    let new_key = install.path().join("new.key");
    let new_arg = new_key.to_str().unwrap();
    install.run(&["keys", "generate", new_arg]).ok();

    // Before the rotation the new key alone cannot open the database: the server refuses to
    // start rather than fail every later read.
    let refused = install.run(&["--master-key-file", new_arg, "serve"]);
    assert!(
        refused.failed().contains("no configured master key"),
        "{refused:#?}"
    );

    // Rotating with only the new key cannot unwrap the old data keys: it says so.
    let blind = install.run(&["--master-key-file", new_arg, "keys", "rotate"]);
    assert!(
        blind.failed().contains("no configured master key"),
        "{blind:#?}"
    );

    let config = write_config(
        &install,
        "rotate.toml",
        &format!(
            "master_key_file = {:?}\nprevious_master_key_files = [{:?}]\n",
            new_key.display().to_string(),
            old_key.display().to_string()
        ),
    );
    let config_arg = config.to_str().unwrap();
    let rotated = install.run(&["--config", config_arg, "keys", "rotate"]);
    assert!(
        rotated.ok().starts_with("re-wrapped ") && !rotated.stdout.contains("re-wrapped 0 "),
        "{rotated:#?}"
    );
    let twice = install.run(&["--config", config_arg, "keys", "rotate"]);
    assert!(twice.ok().starts_with("re-wrapped 0 "), "{twice:#?}");

    // The old key is gone for good; the new one alone serves the request made before.
    std::fs::remove_file(&old_key).unwrap();
    let server = start_with(&install, &["--master-key-file", new_arg]).await;
    let request = server.get(&format!("/richiesta/{id}"), &client).await;
    assert_eq!(request.ok()["_id"], id.as_str());
    assert_eq!(request.ok()["stato_richiesta"], "In erogazione");
    assert_eq!(
        codice_fiscale_seen_by_operator(&server, &operator, &id).await,
        "RSSMRA85T10H501O"
    );
    // New requests are written under the new key too.
    let newer = submit(&server, &client).await;
    assert_eq!(
        codice_fiscale_seen_by_operator(&server, &operator, &newer).await,
        "RSSMRA85T10H501O"
    );
    server.kill();

    // The audit chain's key was re-wrapped with the rest: the entries made before the rotation
    // and after it verify with the new key alone.
    let verified = install.run(&["--master-key-file", new_arg, "audit", "verify"]);
    assert!(
        verified
            .ok()
            .contains("keyed (HMAC-SHA256 under the audit key) from entry 1"),
        "{verified:#?}"
    );
}

#[tokio::test]
async fn a_database_url_needs_a_key_made_beforehand_and_says_how() {
    let install = Install::new();
    // On PostgreSQL the harness made the key beforehand; this is about an installation without.
    if !install.embedded() {
        return;
    }
    let key_file = install.data_dir().join("master.key");
    let url = format!("sqlite:{}", install.path().join("elsewhere.db").display());

    let refused = install.run(&["--database-url", &url, "migrate"]);
    let stderr = refused.failed();
    assert!(stderr.contains("no master key"), "{refused:#?}");
    // Not "the database already holds data": it does not even exist yet.
    assert!(!stderr.contains("already holds data"), "{refused:#?}");
    assert!(
        stderr.contains(&format!("sportello keys generate {}", key_file.display())),
        "{refused:#?}"
    );
    assert!(!key_file.exists());

    let key_arg = key_file.to_str().unwrap();
    install.run(&["keys", "generate", key_arg]).ok();
    let server = start_with(&install, &["--database-url", &url]).await;
    let (client, operator) = server.demo_tokens().unwrap();
    let id = submit(&server, &client).await;
    server.kill();

    assert!(install.path().join("elsewhere.db").exists());
    assert!(!install.data_dir().join("sportello.db").exists());
    let server = start_with(&install, &["--database-url", &url]).await;
    assert_eq!(server.demo_tokens(), None);
    assert_eq!(
        codice_fiscale_seen_by_operator(&server, &operator, &id).await,
        "RSSMRA85T10H501O"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_key_file_readable_by_others_is_warned_about_by_verbs_and_server() {
    use std::os::unix::fs::PermissionsExt;
    let install = Install::new();
    let key_file = install.data_dir().join("master.key");
    install.run(&["migrate"]).ok();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let listed = install.run(&["client", "list"]);
    listed.ok();
    assert!(listed.stderr.contains("readable by others"), "{listed:#?}");
    let server = install.start().await;
    assert!(
        server.stderr().contains("readable by others"),
        "{}",
        server.stderr()
    );
    server.kill();

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let listed = install.run(&["client", "list"]);
    listed.ok();
    assert!(!listed.stderr.contains("readable"), "{listed:#?}");
}

#[tokio::test]
async fn a_rotation_can_be_configured_by_environment_variables() {
    let install = Install::new();
    let old_key = install.data_dir().join("master.key");
    let server = install.start().await;
    let (client, operator) = server.demo_tokens().unwrap();
    let id = submit(&server, &client).await;
    server.kill();

    let new_key = install.path().join("new.key");
    install
        .run(&["keys", "generate", new_key.to_str().unwrap()])
        .ok();
    let mut rotate = install.command();
    rotate
        .env("SPORTELLO_MASTER_KEY_FILE", &new_key)
        .env(
            "SPORTELLO_PREVIOUS_MASTER_KEY_FILES",
            format!("[{:?}]", old_key.display().to_string()),
        )
        .args(["keys", "rotate"]);
    let rotated = install.run_command(rotate);
    assert!(rotated.ok().starts_with("re-wrapped 1 "), "{rotated:#?}");
    assert!(!rotated.stderr.contains("unknown"), "{rotated:#?}");

    std::fs::remove_file(&old_key).unwrap();
    let port = free_port();
    let mut serve = install.command();
    serve.env("SPORTELLO_MASTER_KEY_FILE", &new_key).args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "serve",
    ]);
    let server = install.start_command(serve, port).await;
    assert_eq!(
        codice_fiscale_seen_by_operator(&server, &operator, &id).await,
        "RSSMRA85T10H501O"
    );
}

/// The back office as a browser without JavaScript uses it, just enough to log in and turn
/// the second factor on: cookies by hand, redirects not followed.
struct BackOffice {
    base: String,
    http: reqwest::Client,
    cookies: Vec<String>,
}

impl BackOffice {
    fn new(server: &Server) -> BackOffice {
        BackOffice {
            base: server.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    /// Sends a request with the cookies kept so far; keeps the new ones. Status and page.
    async fn send(&mut self, request: reqwest::RequestBuilder) -> (reqwest::StatusCode, String) {
        let answer = request
            .header("cookie", self.cookies.join("; "))
            .send()
            .await
            .unwrap();
        for set in answer.headers().get_all("set-cookie") {
            let pair = set.to_str().unwrap().split(';').next().unwrap().to_string();
            let name = pair.split('=').next().unwrap().to_string();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            self.cookies.push(pair);
        }
        (answer.status(), answer.text().await.unwrap())
    }

    async fn get(&mut self, path: &str) -> (reqwest::StatusCode, String) {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (reqwest::StatusCode, String) {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// Posts a form of the page at `page` with its CSRF token.
    async fn act(
        &mut self,
        page: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> (reqwest::StatusCode, String) {
        let (_, text) = self.get(page).await;
        let csrf = between(&text, "name=\"csrf\" value=\"", "\"");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(form);
        self.post(path, &all).await
    }
}

fn between(text: &str, start: &str, end: &str) -> String {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("no {start:?} in {text}"))
        + start.len();
    text[at..].split(end).next().unwrap().to_string()
}

/// The first administrator's e-mail and password, as the first start printed them.
fn first_admin(server: &Server) -> (String, String) {
    let out = server.stdout();
    let printed = |label: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {label:?} in {out}"))
    };
    (
        printed("administrator e-mail:"),
        printed("administrator password:"),
    )
}

/// The second-factor code of `secret` (base32) `ahead` seconds from now, by the system clock
/// the server reads too.
fn code(secret: &str, ahead: u64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    sportello_server::service::totp::code_at(secret, now + ahead).unwrap()
}

#[tokio::test]
async fn a_rotation_covers_the_second_factor_keys() {
    let install = Install::new();
    let old_key = install.data_dir().join("master.key");
    let server = install.start().await;
    let (email, password) = first_admin(&server);
    let mut admin = BackOffice::new(&server);
    admin
        .act(
            "/backoffice/login",
            "/backoffice/login",
            &[("email", &email), ("password", &password)],
        )
        .await;
    let (status, page) = admin
        .act(
            "/backoffice/account",
            "/backoffice/account/totp/inizia",
            &[],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let secret = between(&page, "id=\"chiave-totp\">", "<");
    let (status, page) = admin
        .act(
            "/backoffice/account",
            "/backoffice/account/totp/conferma",
            &[("codice", &code(&secret, 0))],
        )
        .await;
    assert_eq!(status, 303, "{page}");
    server.kill();

    let new_key = install.path().join("new.key");
    let new_arg = new_key.to_str().unwrap();
    install.run(&["keys", "generate", new_arg]).ok();
    let config = write_config(
        &install,
        "rotate.toml",
        &format!(
            "master_key_file = {:?}\nprevious_master_key_files = [{:?}]\n",
            new_key.display().to_string(),
            old_key.display().to_string()
        ),
    );
    install
        .run(&["--config", config.to_str().unwrap(), "keys", "rotate"])
        .ok();
    std::fs::remove_file(&old_key).unwrap();

    // The old key is gone: the administrator still logs in with the password and a code (the
    // next step's, one step of skew: the code that confirmed the set-up is used up).
    let server = start_with(&install, &["--master-key-file", new_arg]).await;
    let mut again = BackOffice::new(&server);
    let (status, page) = again
        .act(
            "/backoffice/login",
            "/backoffice/login",
            &[
                ("email", &email),
                ("password", &password),
                ("codice", &code(&secret, 30)),
            ],
        )
        .await;
    assert_eq!(status, 303, "{page}\n{}", server.stderr());
    let (status, _) = again.get("/backoffice/admin").await;
    assert_eq!(status, 200);
    server.kill();

    // A second-factor key under a master key the server is not given stops the start, like
    // any other data key, instead of failing at every login.
    install
        .execute_sql("UPDATE totp_keys SET key_id = 'ffffffffffffffff'")
        .await;
    let refused = install.run(&["--master-key-file", new_arg, "serve"]);
    assert!(
        refused.failed().contains("no configured master key"),
        "{refused:#?}"
    );
}
