//! Exit codes by class, as a script sees them: 0 success, 1 a usage or configuration error,
//! 2 a check that found a problem, 3 a database or file store that cannot be reached.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::*;
use serde_json::json;

fn code(run: &Run) -> i32 {
    run.status
        .code()
        .unwrap_or_else(|| panic!("killed: {run:#?}"))
}

#[test]
fn the_classes_are_listed_in_the_help() {
    let install = Install::new();
    let help = install.run(&["--help"]);
    assert_eq!(code(&help), 0);
    for line in [
        "Exit codes:",
        "1  usage or configuration error",
        "2  a check found a problem",
        "3  the database or the file store cannot be reached",
    ] {
        assert!(help.stdout.contains(line), "{line}: {help:#?}");
    }
}

#[test]
fn a_usage_or_configuration_mistake_is_1() {
    let install = Install::new();
    // clap's own usage errors (2 by its convention) are 1 like the others.
    let bad_flag = install.run(&["--no-such-flag", "migrate"]);
    assert_eq!(code(&bad_flag), 1, "{bad_flag:#?}");
    assert!(bad_flag.stderr.contains("--no-such-flag"), "{bad_flag:#?}");
    let no_verb = install.run(&["client", "frobnicate"]);
    assert_eq!(code(&no_verb), 1, "{no_verb:#?}");
    let missing = install.run(&["token", "create"]);
    assert_eq!(code(&missing), 1, "{missing:#?}");

    let file = install.path().join("bad.toml");
    std::fs::write(&file, "trusted_proxies = [\"proxy.lan\"]\n").unwrap();
    let bad_setting = install.run(&["--config", file.to_str().unwrap(), "migrate"]);
    assert_eq!(code(&bad_setting), 1, "{bad_setting:#?}");
    assert!(bad_setting.stderr.contains("proxy.lan"), "{bad_setting:#?}");

    let nobody = install.run(&["token", "revoke", "tok_nope"]);
    assert_eq!(code(&nobody), 1, "{nobody:#?}");
}

#[tokio::test]
async fn a_check_that_finds_a_problem_is_2() {
    let install = Install::new();
    let server = install.start().await;
    let (client, _) = server.demo_tokens().unwrap();
    server
        .post(
            "/richiesta",
            &client,
            json!({"hash_visura": STATO_DI_FAMIGLIA, "json_visura": stato_di_famiglia()}),
        )
        .await
        .ok();
    server.terminate();
    assert_eq!(code(&install.run(&["ledger", "verify"])), 0);
    assert_eq!(code(&install.run(&["audit", "verify"])), 0);
    assert_eq!(code(&install.run(&["catalog", "check"])), 0);

    // A leg written behind the store's back; an audit entry altered.
    install
        .execute_sql(
            "INSERT INTO ledger_entries (transaction_id, account, amount) VALUES (1, 'wallet:x', 5)",
        )
        .await;
    let ledger = install.run(&["ledger", "verify"]);
    assert_eq!(code(&ledger), 2, "{ledger:#?}");
    assert!(ledger.stderr.contains("does not balance"), "{ledger:#?}");
    install
        .execute_sql("UPDATE audit_log SET at = at + 1 WHERE seq = 2")
        .await;
    let audit = install.run(&["audit", "verify"]);
    assert_eq!(code(&audit), 2, "{audit:#?}");
    assert!(audit.stderr.contains("broken at entry 2"), "{audit:#?}");

    // A catalog that does not check is 2; a catalog directory that is not there is a setting's
    // mistake, 1.
    let catalog = install.path().join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(catalog.join("bad.toml"), "this is not a service").unwrap();
    let broken = install.run(&[
        "catalog",
        "check",
        "--catalog-dir",
        catalog.to_str().unwrap(),
    ]);
    assert_eq!(code(&broken), 2, "{broken:#?}");
    let absent = install.path().join("no-catalog");
    let absent = install.run(&[
        "catalog",
        "check",
        "--catalog-dir",
        absent.to_str().unwrap(),
    ]);
    assert_eq!(code(&absent), 1, "{absent:#?}");
}

#[test]
fn a_database_that_cannot_be_reached_is_3() {
    let install = Install::new();
    let key = install.path().join("master.key");
    std::fs::write(
        &key,
        format!(
            "{}\n",
            sportello_store::crypto::MasterKey::generate().1.as_str()
        ),
    )
    .unwrap();
    let token_list = |database_url: &str| {
        let mut cmd = install.bare_command();
        cmd.args(["--data-dir", install.data_dir().to_str().unwrap()])
            .args(["--master-key-file", key.to_str().unwrap()])
            .args(["--database-url", database_url])
            .args(["token", "list"]);
        install.run_command(cmd)
    };

    // Nothing listens on a port just freed.
    let port = free_port();
    let refused = token_list(&format!("postgres://postgres@127.0.0.1:{port}/sportello"));
    assert_eq!(code(&refused), 3, "{refused:#?}");

    // An embedded database in a directory that cannot be made: a file is in the way.
    let blocker = install.path().join("a-file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let unopenable = token_list(&format!("sqlite:{}/sportello.db", blocker.display()));
    assert_eq!(code(&unopenable), 3, "{unopenable:#?}");
}
