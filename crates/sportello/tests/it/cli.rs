//! The administration verbs as a user types them, checked against a running server.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::Install;
use reqwest::StatusCode;

/// The id of the active token owned by `owner`, from `token list`.
fn token_id_of(install: &Install, owner: &str) -> String {
    let list = install.run(&["token", "list"]);
    let ids: Vec<&str> = list
        .ok()
        .lines()
        .map(|line| line.split('\t').collect::<Vec<_>>())
        .filter(|cols| cols.get(2) == Some(&owner) && cols.contains(&"active"))
        .map(|cols| cols[0])
        .collect();
    assert_eq!(ids.len(), 1, "{list:#?}");
    ids[0].to_string()
}

#[tokio::test]
async fn a_client_and_its_token_made_on_the_command_line_work_until_revoked() {
    let install = Install::new();
    let server = install.start().await;

    let client = install
        .run(&[
            "client",
            "create",
            "--name",
            "Acme",
            "--email",
            "x@example.com",
        ])
        .ok()
        .to_string();
    assert!(
        !client.is_empty() && !client.contains(char::is_whitespace),
        "{client}"
    );
    assert!(install.run(&["client", "list"]).ok().contains(&client));

    let created = install.run(&["token", "create", "--client", &client]);
    let secret = created.ok().to_string();
    assert!(secret.starts_with("spt_test_"), "{created:#?}");
    assert!(created.stderr.contains("shown only once"), "{created:#?}");
    let visure = server.get("/visure", &secret).await;
    assert_eq!(visure.ok().as_array().unwrap().len(), 8);

    let list = install.run(&["token", "list"]);
    assert!(!list.stdout.contains(&secret), "token list shows a secret");
    let token_id = token_id_of(&install, &client);
    install.run(&["token", "revoke", &token_id]).ok();
    assert!(install.run(&["token", "list"]).ok().contains("revoked"));
    // Revoked in another process: the server trusts the token from memory for at most
    // `token_cache_secs` (2 s by default) more, then refuses it.
    let revoked = std::time::Instant::now();
    loop {
        let status = server.get("/visure", &secret).await.status;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            revoked.elapsed() < std::time::Duration::from_secs(10),
            "the revoked token still works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_operator_made_on_the_command_line_sees_the_queue() {
    let install = Install::new();
    let server = install.start().await;

    let provider = install
        .run(&["provider", "create", "--name", "CAF Nord", "--all-services"])
        .ok()
        .to_string();
    let listed = install.run(&["provider", "list"]);
    assert!(
        listed
            .ok()
            .lines()
            .any(|l| l.starts_with(&provider) && l.contains("8 services")),
        "{listed:#?}"
    );
    let operator = install
        .run(&[
            "operator",
            "create",
            "--provider",
            &provider,
            "--name",
            "Anna Bianchi",
            "--email",
            "anna@example.com",
        ])
        .ok()
        .to_string();
    assert!(install.run(&["operator", "list"]).ok().contains(&operator));

    let secret = install
        .run(&["token", "create", "--operator", &operator])
        .ok()
        .to_string();
    assert!(secret.starts_with("spt_op_"), "{secret}");
    server.get("/operator/requests", &secret).await.ok();
    // An operator token is not a client token.
    assert_ne!(server.get("/visure", &secret).await.status, StatusCode::OK);
}

#[test]
fn a_provider_is_edited_and_shown_on_the_command_line() {
    let install = Install::new();
    let id = install
        .run(&["provider", "create", "--name", "CAF Nord", "--all-services"])
        .ok()
        .to_string();
    let shown = install.run(&["provider", "show", &id]);
    for line in [
        "denominazione\tCAF Nord",
        "tipo\t-",
        "services\t8",
        "informativa\tnone",
        "mandato\tnone",
    ] {
        assert!(shown.ok().lines().any(|l| l == line), "{line}: {shown:#?}");
    }

    // The party: what is not given keeps its value; an empty value clears an optional one.
    let updated = install.run(&[
        "provider",
        "update",
        &id,
        "--tipo",
        "caf",
        "--codice-fiscale",
        "12345671205",
        "--comune",
        "Milano",
        "--provincia",
        "mi",
        "--pec",
        "caf@pec.example.com",
    ]);
    assert!(updated.ok().contains("party data saved"), "{updated:#?}");
    install
        .run(&[
            "provider",
            "update",
            &id,
            "--pec",
            "",
            "--telefono",
            "02 123456",
        ])
        .ok();

    // The texts, from files: each a new version, with the warnings of what it seems to lack.
    let notice = install.path().join("informativa.txt");
    let mandate = install.path().join("mandato.txt");
    std::fs::write(&notice, "Titolare del trattamento: CAF Nord.\n").unwrap();
    std::fs::write(&mandate, "Mandato a {{fornitore}} per {{servizio}}.").unwrap();
    let saved = install.run(&[
        "provider",
        "update",
        &id,
        "--informativa",
        notice.to_str().unwrap(),
        "--mandato",
        mandate.to_str().unwrap(),
    ]);
    let out = saved.ok();
    assert!(out.contains("informativa: version 1"), "{saved:#?}");
    assert!(out.contains("mandato: version 1"), "{saved:#?}");
    assert!(
        out.contains("  warning: ") && out.contains("Garante"),
        "{saved:#?}"
    );
    assert!(out.contains("{{data}}"), "{saved:#?}");
    let again = install.run(&[
        "provider",
        "update",
        &id,
        "--informativa",
        notice.to_str().unwrap(),
    ]);
    assert!(again.ok().contains("informativa: version 2"), "{again:#?}");

    let shown = install.run(&["provider", "show", &id]);
    for line in [
        "denominazione\tCAF Nord",
        "tipo\tCAF",
        "codice_fiscale\t12345671205",
        "comune\tMilano",
        "provincia\tMI",
        "pec\t-",
        "telefono\t02 123456",
    ] {
        assert!(shown.ok().lines().any(|l| l == line), "{line}: {shown:#?}");
    }
    assert!(
        shown
            .ok()
            .lines()
            .any(|l| l.starts_with("informativa\tversion 2, saved ") && l.ends_with(" by cli")),
        "{shown:#?}"
    );
    assert!(shown.ok().contains("  warning: "), "{shown:#?}");

    // Refusals change nothing.
    let bad = install.run(&["provider", "update", &id, "--codice-fiscale", "12345678901"]);
    assert!(bad.failed().contains("codice_fiscale"), "{bad:#?}");
    let empty = install.path().join("vuoto.txt");
    std::fs::write(&empty, "  \n").unwrap();
    let bad = install.run(&[
        "provider",
        "update",
        &id,
        "--comune",
        "Roma",
        "--mandato",
        empty.to_str().unwrap(),
    ]);
    assert!(bad.failed().contains("the text is empty"), "{bad:#?}");
    let bad = install.run(&["provider", "update", &id, "--informativa", "/nessun/file"]);
    assert!(bad.failed().contains("cannot read"), "{bad:#?}");
    let nothing = install.run(&["provider", "update", &id]);
    assert!(
        nothing.failed().contains("nothing to change"),
        "{nothing:#?}"
    );
    let shown = install.run(&["provider", "show", &id]);
    assert!(shown.ok().contains("codice_fiscale\t12345671205"));
    assert!(shown.ok().contains("comune\tMilano"));
    assert!(shown.ok().contains("mandato\tversion 1,"));

    let verbs: [&[&str]; 2] = [
        &["provider", "show", "nope"],
        &["provider", "update", "nope", "--comune", "Roma"],
    ];
    for args in verbs {
        let missing = install.run(args);
        assert!(
            missing.failed().contains("no provider with id nope"),
            "{args:?}: {missing:#?}"
        );
    }
}

#[test]
fn verbs_naming_what_does_not_exist_fail_clearly() {
    let install = Install::new();
    let err = install.run(&["token", "create", "--client", "nope"]);
    assert!(err.failed().contains("no client with id nope"), "{err:#?}");
    assert!(err.stdout.is_empty(), "{err:#?}");

    let err = install.run(&["token", "create", "--operator", "nope"]);
    assert!(
        err.failed().contains("no operator with id nope"),
        "{err:#?}"
    );

    let err = install.run(&[
        "operator",
        "create",
        "--provider",
        "nope",
        "--name",
        "N",
        "--email",
        "e@example.com",
    ]);
    assert!(
        err.failed().contains("no provider with id nope"),
        "{err:#?}"
    );

    let err = install.run(&["provider", "create", "--name", "P", "--service", "0123"]);
    assert!(
        err.failed().contains("no service with hash 0123"),
        "{err:#?}"
    );

    let err = install.run(&["token", "revoke", "tok_nope"]);
    assert!(
        err.failed().contains("no token with id tok_nope"),
        "{err:#?}"
    );

    let err = install.run(&["token", "create"]);
    assert!(err.failed().contains("--client"), "{err:#?}");
}

#[test]
fn help_works_for_the_root_and_every_verb() {
    let install = Install::new();
    let root = install.run(&["--help"]);
    for verb in [
        "serve", "migrate", "client", "token", "provider", "operator", "catalog", "purge", "keys",
    ] {
        assert!(
            root.ok().contains(verb),
            "root help lacks {verb}: {root:#?}"
        );
    }
    let verbs: &[&[&str]] = &[
        &["serve"],
        &["migrate"],
        &["client"],
        &["client", "create"],
        &["client", "list"],
        &["token"],
        &["token", "create"],
        &["token", "list"],
        &["token", "revoke"],
        &["provider"],
        &["provider", "create"],
        &["provider", "list"],
        &["provider", "update"],
        &["provider", "show"],
        &["operator"],
        &["operator", "create"],
        &["operator", "list"],
        &["catalog"],
        &["catalog", "check"],
        &["purge"],
        &["keys"],
        &["keys", "generate"],
        &["keys", "rotate"],
    ];
    for verb in verbs {
        let mut args = verb.to_vec();
        args.push("--help");
        let help = install.run(&args);
        let usage = format!("Usage: sportello {}", verb.join(" "));
        assert!(help.ok().contains(&usage), "{args:?}: {help:#?}");
    }
    let version = install.run(&["--version"]);
    assert!(version.ok().starts_with("sportello "), "{version:#?}");
    // Asking for help touches nothing.
    assert!(install.data_dir_untouched());
}

#[test]
fn migrate_creates_the_database_and_can_run_again() {
    let install = Install::new();
    assert_eq!(install.run(&["migrate"]).ok(), "database ready");
    // The embedded database is a file; a PostgreSQL one was checked by the line above.
    assert!(!install.embedded() || install.data_dir().join("sportello.db").exists());
    assert_eq!(install.run(&["migrate"]).ok(), "database ready");
}

#[test]
fn catalog_check_lists_the_embedded_services() {
    let install = Install::new();
    let check = install.run(&["catalog", "check"]);
    let out = check.ok();
    assert!(
        out.contains("4c84e22bbabd5f25b0102bb3bfe82790  Certificato stato di famiglia"),
        "{check:#?}"
    );
    assert!(out.ends_with("catalog OK: 8 services"), "{check:#?}");
    assert_eq!(out.lines().count(), 9, "{check:#?}");
}

/// A copy of the shipped catalog, in `<install>/catalog`.
fn copy_catalog(install: &Install) -> std::path::PathBuf {
    let dir = install.path().join("catalog");
    std::fs::create_dir_all(&dir).unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalog");
    for entry in std::fs::read_dir(shipped).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// A copy of the shipped catalog in which `file` has `from` replaced by `to`.
fn broken_catalog(install: &Install, file: &str, from: &str, to: &str) -> std::path::PathBuf {
    let dir = copy_catalog(install);
    let target = dir.join(file);
    let text = std::fs::read_to_string(&target).unwrap();
    assert!(text.contains(from), "{file} lacks {from}");
    std::fs::write(&target, text.replacen(from, to, 1)).unwrap();
    dir
}

#[test]
fn a_copy_of_the_shipped_catalog_checks_like_the_embedded_one() {
    let install = Install::new();
    let dir = copy_catalog(&install);
    let check = install.run(&["catalog", "check", "--catalog-dir", dir.to_str().unwrap()]);
    assert!(check.ok().ends_with("catalog OK: 8 services"), "{check:#?}");
}

#[test]
fn catalog_check_names_the_broken_file_and_the_problem() {
    let install = Install::new();
    let dir = broken_catalog(
        &install,
        "04-stato-di-famiglia.toml",
        r#"validazione = "$0 && $1"#,
        r#"validazione = "$9 && $1"#,
    );
    let check = install.run(&["catalog", "check", "--catalog-dir", dir.to_str().unwrap()]);
    let err = check.failed();
    assert!(err.contains("04-stato-di-famiglia.toml"), "{check:#?}");
    assert!(err.contains("`$9`, which is not a field"), "{check:#?}");
    assert!(!check.stdout.contains("catalog OK"), "{check:#?}");

    let install = Install::new();
    let dir = broken_catalog(
        &install,
        "02-isee.toml",
        "prezzo_visura = \"",
        "prezzo_visura = \"-",
    );
    let check = install.run(&["catalog", "check", "--catalog-dir", dir.to_str().unwrap()]);
    let err = check.failed();
    assert!(err.contains("02-isee.toml"), "{check:#?}");
    assert!(err.contains("prezzo_visura is negative"), "{check:#?}");
}

#[tokio::test]
async fn serve_refuses_a_broken_catalog() {
    let install = Install::new();
    let dir = broken_catalog(
        &install,
        "04-stato-di-famiglia.toml",
        r#"validazione = "$0 && $1"#,
        r#"validazione = "$9 && $1"#,
    );
    let port = common::free_port();
    let mut cmd = install.command();
    cmd.args(["--catalog-dir", dir.to_str().unwrap()]).args([
        "--listen",
        &format!("127.0.0.1:{port}"),
        "serve",
    ]);
    let run = match install.try_start_command(cmd, port).await {
        Ok(_) => panic!("serve started with a broken catalog"),
        Err(run) => run,
    };
    let err = run.failed();
    assert!(err.contains("04-stato-di-famiglia.toml"), "{run:#?}");
    assert!(err.contains("`$9`, which is not a field"), "{run:#?}");
    assert!(
        !run.stdout.contains("spt_"),
        "tokens printed by a server that did not start"
    );
}
