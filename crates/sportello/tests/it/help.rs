//! Every verb the binary lists answers `--help`: found by walking the help itself, so a verb
//! added later is covered without touching this file.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::Install;

/// The subcommands a help text lists under `Commands:` (clap's own `help` left out).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_verb_found_in_the_help_has_help_of_its_own() {
    let install = Install::new();
    let mut seen = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = install.run(&args);
        let help = run.ok();
        let usage = ["Usage: sportello".to_string(), path.join(" ")]
            .join(" ")
            .trim_end()
            .to_string();
        assert!(help.contains(&usage), "{args:?}: {run:#?}");
        assert!(run.stderr.is_empty(), "{args:?}: {run:#?}");
        for sub in subcommands(help) {
            let mut next = path.clone();
            next.push(sub);
            todo.push(next);
        }
        seen.push(path.join(" "));
    }
    seen.sort();
    for verb in [
        "",
        "serve",
        "migrate",
        "client create",
        "client list",
        "client topup",
        "client adjust",
        "client balance",
        "client statement",
        "ledger verify",
        "token create",
        "token list",
        "token revoke",
        "provider create",
        "provider list",
        "provider update",
        "provider show",
        "operator create",
        "operator list",
        "catalog check",
        "purge",
        "export",
        "keys generate",
        "keys rotate",
    ] {
        assert!(
            seen.iter().any(|s| s == verb),
            "{verb:?} not found in {seen:?}"
        );
    }
    // Asking for help touches nothing.
    assert!(install.data_dir_untouched());
}

#[test]
fn the_version_is_the_crate_version_and_the_commit() {
    let install = Install::new();
    let run = install.run(&["--version"]);
    let out = run.ok();
    let commit = out
        .strip_prefix(&format!("sportello {} (", env!("CARGO_PKG_VERSION")))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not `sportello VERSION (COMMIT)`: {out:?}"));
    // Built from this checkout (unless a packager named the commit): its HEAD, which build.rs
    // watches, so a new commit rebuilds the binary before this runs.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    match head {
        Some(head) if std::env::var("SPORTELLO_BUILD_COMMIT").is_err() => {
            assert_eq!(commit, head)
        }
        _ => assert!(!commit.is_empty()),
    }
}

#[test]
fn a_verb_that_does_not_exist_fails_with_usage() {
    let install = Install::new();
    let run = install.run(&["frobnicate"]);
    let err = run.failed();
    assert!(
        err.contains("unrecognized subcommand 'frobnicate'"),
        "{run:#?}"
    );
    assert!(err.contains("Usage: sportello"), "{run:#?}");
    // A usage error is 1, like every other (2 means a check found a problem).
    assert_eq!(run.status.code(), Some(1));
    assert!(install.data_dir_untouched());
}
