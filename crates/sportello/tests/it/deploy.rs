//! The deployment recipes in `deploy/`: the systemd unit is valid for systemd and starts the
//! binary with flags it has; the Containerfile builds and copies the binary this crate makes and
//! checks the health route the server answers.
#![allow(clippy::unwrap_used)]

use crate::common::Install;
use std::path::PathBuf;

fn deploy(file: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `KEY=value` lines of a unit file's or Containerfile's section, comments skipped.
fn directives(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_systemd_unit_starts_the_binary_with_flags_it_knows() {
    let unit = deploy("sportello.service");
    let exec = directives(&unit, "ExecStart");
    assert_eq!(exec.len(), 1, "{exec:?}");
    let words: Vec<&str> = exec[0].split_whitespace().collect();
    assert_eq!(words[0], "/usr/local/bin/sportello");
    assert_eq!(words.last(), Some(&"serve"));
    let help = Install::new().run(&["serve", "--help"]);
    let help = help.ok();
    for flag in words.iter().filter(|w| w.starts_with("--")) {
        assert!(
            help.contains(flag),
            "`sportello serve --help` has no {flag}"
        );
    }
    for hardening in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "StateDirectory=sportello",
        "Restart=on-failure",
        "User=sportello",
    ] {
        assert!(unit.lines().any(|l| l.trim() == hardening), "{hardening}");
    }
    assert_eq!(
        directives(&unit, "EnvironmentFile"),
        vec!["/etc/sportello/sportello.env"]
    );
}

/// systemd's own checker, where the machine has it: the unit with its `ExecStart` pointed at
/// the binary under test must verify without a single complaint (unknown keys are only warned
/// about, so any output is a failure).
#[test]
fn systemd_analyze_verifies_the_unit() {
    let has_tool = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_tool {
        eprintln!("systemd-analyze is not installed; the unit was checked by parsing only");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let unit = deploy("sportello.service")
        .replace("/usr/local/bin/sportello", env!("CARGO_BIN_EXE_sportello"));
    let path = dir.path().join("sportello.service");
    std::fs::write(&path, unit).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: Vec<&str> = complaints
        .lines()
        .filter(|l| l.contains("sportello.service"))
        .collect();
    assert!(out.status.success() && ours.is_empty(), "{complaints}");
}

#[test]
fn the_containerfile_builds_this_binary_and_checks_its_health_route() {
    let file = deploy("Containerfile");
    assert!(
        file.contains("cargo build --release --locked -p sportello"),
        "a locked release build of this package"
    );
    // The binary the build stage makes is the one this test runs (same package, same name).
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sportello"));
    let name = bin.file_name().unwrap().to_str().unwrap();
    assert!(file.contains(&format!("target/release/{name} /usr/local/bin/{name}")));
    assert!(file.contains(&format!(
        "COPY --from=build /usr/local/bin/{name} /usr/local/bin/{name}"
    )));
    assert!(file.contains(&format!("ENTRYPOINT [\"/usr/local/bin/{name}\"]")));
    assert!(file.contains("CMD [\"serve\"]"));
    // The verb exists, the health route it checks is the server's, the port is the one exposed.
    assert!(Install::new().run(&["serve", "--help"]).status.success());
    assert!(file.contains("http://127.0.0.1:8080/healthz"));
    assert!(file.contains("SPORTELLO_LISTEN=0.0.0.0:8080"));
    assert!(file.lines().any(|l| l.trim() == "EXPOSE 8080"));
    assert!(file.lines().any(|l| l.trim() == "USER sportello"));
    assert!(file.contains("VOLUME [\"/var/lib/sportello\"]"));
    assert!(file.contains("SPORTELLO_DATA_DIR=/var/lib/sportello"));
    // The build image is at least the toolchain the workspace declares.
    let manifest =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml"))
            .unwrap();
    let declared = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    let image = file
        .lines()
        .find_map(|l| l.strip_prefix("FROM docker.io/library/rust:"))
        .unwrap();
    let image_version = image.split('-').next().unwrap();
    let minor = |v: &str| v.split('.').nth(1).unwrap().parse::<u32>().unwrap();
    assert!(
        minor(image_version) >= minor(declared),
        "{image_version} < {declared}"
    );
}
