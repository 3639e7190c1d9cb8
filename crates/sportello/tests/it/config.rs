//! Where `serve` takes its settings from: defaults, then a TOML file, then `SPORTELLO_*`
//! variables, then flags, each overriding the one before; and what it refuses.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{free_port, free_ports, Install};

fn listen(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// A configuration file in the installation directory.
fn config_file(install: &Install, text: &str) -> std::path::PathBuf {
    let path = install.path().join("sportello.conf.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn the_config_file_sets_listen_and_data_dir() {
    let install = Install::new();
    let port = free_port();
    let file = config_file(
        &install,
        &format!(
            "listen = \"{}\"\ndata_dir = {:?}\n",
            listen(port),
            install.data_dir().to_str().unwrap()
        ),
    );
    let mut cmd = install.bare_command();
    cmd.arg("--config").arg(&file).arg("serve");
    let server = install.start_command(cmd, port).await;
    assert!(server.demo_tokens().is_some());
    assert!(install.data_dir().join("sportello.db").exists());
}

#[tokio::test]
async fn sportello_config_names_the_file_too() {
    let install = Install::new();
    let port = free_port();
    let file = config_file(&install, &format!("listen = \"{}\"\n", listen(port)));
    let mut cmd = install.command();
    cmd.env("SPORTELLO_CONFIG", &file).arg("serve");
    install.start_command(cmd, port).await;
}

#[tokio::test]
async fn sportello_toml_in_the_working_directory_is_read_by_default() {
    let install = Install::new();
    let port = free_port();
    std::fs::write(
        install.path().join("sportello.toml"),
        format!("listen = \"{}\"\n", listen(port)),
    )
    .unwrap();
    let mut cmd = install.command();
    cmd.arg("serve");
    install.start_command(cmd, port).await;
}

#[tokio::test]
async fn the_environment_overrides_the_file() {
    let install = Install::new();
    let [file_port, env_port] = free_ports();
    let file = config_file(&install, &format!("listen = \"{}\"\n", listen(file_port)));
    let mut cmd = install.command();
    cmd.arg("--config")
        .arg(&file)
        .env("SPORTELLO_LISTEN", listen(env_port))
        .arg("serve");
    let server = install.start_command(cmd, env_port).await;
    assert!(
        std::net::TcpStream::connect(listen(file_port)).is_err(),
        "{}",
        server.stderr()
    );
}

#[tokio::test]
async fn a_flag_overrides_the_environment() {
    let install = Install::new();
    let [file_port, env_port, flag_port] = free_ports();
    let file = config_file(&install, &format!("listen = \"{}\"\n", listen(file_port)));
    let mut cmd = install.command();
    cmd.arg("--config")
        .arg(&file)
        .env("SPORTELLO_LISTEN", listen(env_port))
        .args(["--listen", &listen(flag_port), "serve"]);
    let server = install.start_command(cmd, flag_port).await;
    assert!(
        std::net::TcpStream::connect(listen(env_port)).is_err(),
        "{}",
        server.stderr()
    );
    assert!(
        std::net::TcpStream::connect(listen(file_port)).is_err(),
        "{}",
        server.stderr()
    );
}

#[test]
fn an_unknown_key_in_the_config_file_is_refused() {
    let install = Install::new();
    let file = config_file(
        &install,
        "listen = \"127.0.0.1:1\"\nlisten_adress = \"x\"\n",
    );
    let mut cmd = install.command();
    cmd.arg("--config").arg(&file).args(["client", "list"]);
    let run = install.run_command(cmd);
    let err = run.failed();
    assert!(err.contains("reading the configuration"), "{run:#?}");
    assert!(err.contains("unknown field"), "{run:#?}");
    assert!(err.contains("listen_adress"), "{run:#?}");
    assert!(err.contains("sportello.conf.toml"), "{run:#?}");
}

#[test]
fn a_missing_config_file_is_refused() {
    let install = Install::new();
    let mut cmd = install.command();
    cmd.args(["--config", "nowhere.toml", "client", "list"]);
    let run = install.run_command(cmd);
    assert!(run.failed().contains("nowhere.toml"), "{run:#?}");
}

#[test]
fn a_value_of_the_wrong_type_is_refused() {
    let install = Install::new();
    let mut cmd = install.command();
    cmd.env("SPORTELLO_MAX_BODY_BYTES", "lots")
        .args(["client", "list"]);
    let run = install.run_command(cmd);
    let err = run.failed().to_ascii_lowercase();
    assert!(
        err.contains("max_body_bytes") && err.contains("sportello_"),
        "{run:#?}"
    );
}

#[tokio::test]
async fn an_unknown_sportello_variable_is_warned_about() {
    let install = Install::new();
    let port = free_port();
    let mut cmd = install.command();
    cmd.env("SPORTELLO_LSITEN", "127.0.0.1:1")
        .args(["--listen", &listen(port), "serve"]);
    let server = install.start_command(cmd, port).await;
    let log = server.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("unknown SPORTELLO_ variable")
                && l.contains("variable=SPORTELLO_LSITEN")),
        "{log}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_a_line() {
    let install = Install::new();
    let port = free_port();
    let mut cmd = install.command();
    cmd.args(["--log-format", "json", "--listen", &listen(port), "serve"]);
    let server = install.start_command(cmd, port).await;
    let log = server.stderr();
    let events: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events.iter().any(|e| e["fields"]["message"] == "listening"),
        "{log}"
    );
}

#[test]
fn an_unknown_log_format_is_refused() {
    let install = Install::new();
    let mut cmd = install.command();
    cmd.args(["--log-format", "jsn", "--listen", "127.0.0.1:1", "serve"]);
    let run = install.run_command(cmd);
    assert!(run.failed().contains("log_format"), "{run:#?}");
    assert!(run.stderr.contains("jsn"), "{run:#?}");
}

#[test]
fn a_verb_warns_about_an_unknown_sportello_variable_too() {
    let install = Install::new();
    let mut cmd = install.command();
    cmd.env("SPORTELLO_DATA_DIRECTORY", "elsewhere")
        .args(["client", "list"]);
    let run = install.run_command(cmd);
    run.ok();
    assert!(
        run.stderr
            .contains("unknown SPORTELLO_ variable ignored: SPORTELLO_DATA_DIRECTORY"),
        "{run:#?}"
    );
}

#[test]
fn an_outbox_lease_no_longer_than_a_call_is_refused() {
    let install = Install::new();
    let mut cmd = install.command();
    cmd.env("SPORTELLO_OUTBOX_LEASE_SECS", "30")
        .env("SPORTELLO_WEBHOOK_TIMEOUT_SECS", "30")
        .args(["--listen", "127.0.0.1:1", "serve"]);
    let run = install.run_command(cmd);
    let err = run.failed();
    assert!(
        err.contains("outbox_lease_secs (30) must be longer than webhook_timeout_secs (30)"),
        "{run:#?}"
    );
    // Refused before anything was opened or created.
    assert!(install.data_dir_untouched(), "{run:#?}");
}

#[tokio::test]
async fn an_outbox_lease_longer_than_a_call_is_taken() {
    let install = Install::new();
    let port = free_port();
    let mut cmd = install.command();
    cmd.env("SPORTELLO_OUTBOX_LEASE_SECS", "31")
        .env("SPORTELLO_WEBHOOK_TIMEOUT_SECS", "30")
        .args(["--listen", &listen(port), "serve"]);
    let server = install.start_command(cmd, port).await;
    let log = server.stderr();
    assert!(
        log.lines()
            .any(|l| l.contains("outbox worker starting") && l.contains("lease_secs=31")),
        "{log}"
    );
}
