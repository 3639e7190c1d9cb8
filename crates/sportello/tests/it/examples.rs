//! The examples in `examples/` run as a reader would run them, against the real binary, so
//! they cannot rot.

#![allow(clippy::unwrap_used)]

use crate::common;
use common::Install;
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn run_example(program: impl AsRef<std::ffi::OsStr>, script: &str) -> String {
    let install = Install::new();
    let server = install.start().await;
    // The test token alone: the sandbox works the request, at its default pace.
    let client = server.demo_test_token().unwrap();
    let out = Command::new(program)
        .arg(repo().join(script))
        .env("SPORTELLO_URL", &server.base)
        .env("SPORTELLO_TOKEN", client)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{script} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_curl_example_runs_to_the_document() {
    let out = run_example("bash", "examples/curl.sh").await;
    assert!(out.contains("incomplete form: HTTP 412"), "{out}");
    assert!(out.contains("now: Visura evasa"), "{out}");
    assert!(out.contains("sha256 verified"), "{out}");
}

#[tokio::test]
async fn the_python_example_runs_to_the_document() {
    // The example needs Python's standard library only; the tools' Python is a known one.
    let python = common::python::with_module("urllib.request");
    let out = run_example(python, "examples/python/flow.py").await;
    assert!(
        out.contains("refused: HTTP 412 error 250: $7 cf_check_character"),
        "{out}"
    );
    assert!(
        out.contains("operator asks: In attesa di integrazione ['$0']"),
        "{out}"
    );
    assert!(out.contains("answered: In erogazione"), "{out}");
    assert!(out.contains("now: Visura evasa"), "{out}");
    assert!(out.contains("documento:"), "{out}");
}
