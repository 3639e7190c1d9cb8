//! What a release ships besides the server, run as a packager and a script would: the shell
//! completions and the manual page generated from the command line, the version with its
//! commit, `--json` from the list and show verbs on a fresh installation, and the script that
//! puts a release together.
#![allow(clippy::unwrap_used)]

use crate::common::Install;
use serde_json::Value;

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    let install = Install::new();
    for (shell, marker) in [
        ("bash", "complete -F _sportello"),
        ("zsh", "#compdef sportello"),
        ("fish", "complete -c sportello"),
    ] {
        let run = install.run(&["completions", shell]);
        let script = run.ok();
        assert!(script.contains(marker), "{shell}: {script:.300}");
        // Every verb is completed, those added with the completions too.
        for verb in ["serve", "purge", "export", "completions", "man"] {
            assert!(script.contains(verb), "{shell} lacks {verb}");
        }
    }
    let run = install.run(&["completions", "powershell"]);
    assert!(
        run.failed().contains("possible values: bash, zsh, fish"),
        "{run:#?}"
    );
    // Describing the command line opens nothing.
    assert!(install.data_dir_untouched());
}

#[test]
fn the_manual_page_is_roff_with_every_verb_and_the_version() {
    let install = Install::new();
    let version = install.run(&["--version"]).ok().to_owned();
    let page = install.run(&["man"]).ok().to_owned();
    // The title line carries the same version and commit as --version.
    assert!(
        page.contains(&format!(".TH sportello 1  \"{version}\"")),
        "{page:.400}"
    );
    assert!(page.contains(".SH SUBCOMMANDS"));
    for verb in ["serve", "keys", "audit", "completions"] {
        assert!(
            page.contains(&format!("sportello\\-{verb}")),
            "lacks {verb}"
        );
    }
    // The exit codes come along (the command's after-help).
    assert!(page.contains("Exit codes"), "{page:.2000}");
    assert!(install.data_dir_untouched());
}

#[test]
fn list_verbs_print_json_on_a_fresh_installation() {
    let install = Install::new();
    let empty: Value = serde_json::from_str(install.run(&["client", "list", "--json"]).ok())
        .expect("client list --json is JSON");
    assert_eq!(empty, Value::Array(vec![]));

    let client = install
        .run(&[
            "client",
            "create",
            "--name",
            "Acme",
            "--email",
            "it@acme.example",
        ])
        .ok()
        .to_owned();
    let secret = install
        .run(&["token", "create", "--client", &client, "--label", "ci"])
        .ok()
        .to_owned();

    let clients: Value =
        serde_json::from_str(install.run(&["client", "list", "--json"]).ok()).unwrap();
    assert_eq!(clients[0]["id"], client.as_str());
    assert_eq!(clients[0]["name"], "Acme");
    assert_eq!(clients[0]["owner"], "it@acme.example");
    assert!(clients[0]["created_at"].as_str().unwrap().ends_with('Z'));

    let out = install.run(&["token", "list", "--json"]).ok().to_owned();
    let tokens: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(tokens.as_array().unwrap().len(), 1, "{out}");
    assert_eq!(tokens[0]["client"], client.as_str());
    assert_eq!(tokens[0]["role"], "client");
    assert_eq!(tokens[0]["live"], false);
    assert_eq!(tokens[0]["revoked_at"], Value::Null);
    assert!(!out.contains(&secret), "a token list never shows a secret");

    let provider = install
        .run(&["provider", "create", "--name", "CAF Uno", "--all-services"])
        .ok()
        .to_owned();
    let shown: Value =
        serde_json::from_str(install.run(&["provider", "show", &provider, "--json"]).ok()).unwrap();
    assert_eq!(shown["denominazione"], "CAF Uno");
    assert!(!shown["services"].as_array().unwrap().is_empty());
    assert_eq!(shown["mandato"], Value::Null);

    let balance: Value =
        serde_json::from_str(install.run(&["client", "balance", &client, "--json"]).ok()).unwrap();
    assert!(balance.get("saldo").is_some(), "{balance}");

    for verb in [
        &["operator", "list", "--json"][..],
        &["admin", "list", "--json"],
    ] {
        let list: Value = serde_json::from_str(install.run(verb).ok()).unwrap();
        assert!(list.is_array(), "{verb:?}");
    }
    let audit: Value =
        serde_json::from_str(install.run(&["audit", "list", "--json"]).ok()).unwrap();
    assert!(audit.is_array());

    // The human lines stay the default.
    let lines = install.run(&["client", "list"]).ok().to_owned();
    assert_eq!(lines, format!("{client}\tAcme\tit@acme.example"));
}

#[test]
fn long_verbs_draw_no_progress_when_stderr_is_not_a_terminal() {
    let install = Install::new();
    install.run(&["migrate"]).ok();
    let run = install.run(&["keys", "rotate"]);
    assert!(run.ok().starts_with("re-wrapped "), "{run:#?}");
    // Captured to a file, as by a script or a unit's journal: no spinner, no escape codes.
    assert!(!run.stderr.contains("re-wrapping"), "{run:#?}");
    assert!(!run.stderr.contains('\u{1b}'), "{run:#?}");
}

/// `deploy/release.sh` is not run here (a release build takes many minutes): what is cheap is
/// checked — it parses, shellcheck (where installed) finds nothing, the files it packs exist,
/// and every verb it asks the binary for is one the binary has.
#[test]
fn the_release_script_is_sound_and_packs_what_exists() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let script = root.join("deploy/release.sh");
    let text = std::fs::read_to_string(&script).unwrap();

    let parsed = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(parsed.status.success(), "{parsed:?}");
    match std::process::Command::new("shellcheck")
        .arg(&script)
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => eprintln!("shellcheck is not installed; the script was only parsed"),
    }

    for file in ["README.md", "LICENSE", "CHANGELOG.md"] {
        assert!(text.contains(file), "the script does not pack {file}");
        assert!(root.join(file).is_file(), "{file} is missing");
    }
    let install = Install::new();
    for verb in [
        &["man"][..],
        &["completions", "bash"],
        &["completions", "zsh"],
        &["completions", "fish"],
    ] {
        assert!(
            text.contains(&format!("\"$describer\" {}", verb.join(" "))),
            "{verb:?}"
        );
        install.run(verb).ok();
    }
    // The tarball's name and the SBOM's follow the version in Cargo.toml.
    assert!(text.contains("name=\"sportello-$version-$target\""));
    assert!(text.contains("SHA256SUMS"));
    assert!(text.contains("cargo cyclonedx"));
    // dist/ is never committed.
    let ignored = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(ignored.lines().any(|l| l == "/dist/"));
}

/// The README's PHP webhook verifier, run as written against the Standard Webhooks reference
/// vector (the one `outbox::signing` is tested with): a rotation's two signatures pass, a wrong
/// one and an old timestamp do not. Skipped where PHP is not installed.
#[test]
fn the_readme_php_verifier_accepts_our_signatures() {
    let has_php = std::process::Command::new("php")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_php {
        eprintln!("php is not installed; the README's PHP verifier was not run");
        return;
    }
    let readme = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
    )
    .unwrap();
    let start = readme.find("```php\nfunction sportello_verify").unwrap() + "```php\n".len();
    let function = &readme[start..start + readme[start..].find("```").unwrap()];
    let script = format!(
        r#"<?php
{function}
$secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
$body = '{{"test": 2432232314}}';
$h = ['webhook-id' => 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp' => '1614265330',
      'webhook-signature' => 'v1,bm90IG91cnM= v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='];
echo sportello_verify($secret, $h, $body, PHP_INT_MAX) ? 'yes' : 'no', "\n";
echo sportello_verify($secret, $h, $body) ? 'yes' : 'no', "\n";
$h['webhook-signature'] = 'v1,bm90IG91cnM=';
echo sportello_verify($secret, $h, $body, PHP_INT_MAX) ? 'yes' : 'no', "\n";
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("verify.php");
    std::fs::write(&path, script).unwrap();
    let out = std::process::Command::new("php")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "yes\nno\nno\n");
}
