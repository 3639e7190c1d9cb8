//! `sportello bench --quick`: every measurement runs and has its line. The numbers of a debug
//! build with tiny counts mean nothing, so none is checked.

use crate::common::*;

#[test]
fn a_quick_bench_prints_every_measurement() {
    let install = Install::new();
    let out = install.run(&["bench", "--quick"]);
    let out = out.ok();
    for label in [
        "commit ceiling",
        "grouped ceiling, 64 per commit",
        "create, 1 tenant, 1 caller",
        "create, 1 tenant, 16 callers",
        "create, 1 tenant, 64 callers",
        "create, 16 tenants, 16 callers",
        "create, 16 tenants, 64 callers",
        "writes, 1 tenant, 1 caller",
        "writes, 1 tenant, 64 callers",
        "writes, 16 tenants, 64 callers",
        "GET /visure, 16 clients",
        "trivial handler, 16 clients",
        "codice fiscale validations",
        "RSS idle",
        "RSS under creation load",
        "RSS during 10 downloads of 1 MB",
        "RSS during 10 GET /documento 1 MB",
        "/healthz during 50 failed logins",
        "RSS hostile JSON 1 MB",
        "RSS hostile form 1 MB",
        "RSS 30 made-up methods",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"));
        assert!(
            line.chars().any(|c| c.is_ascii_digit()),
            "{label:?} has no number: {line}"
        );
        assert!(!line.contains("FAILED"), "{line}");
    }
    // The hostile bodies are answered: the JSON read and judged (an unknown service), the form
    // refused by its size.
    assert!(out.contains("400/200 after reading it"), "{out}");
    assert!(out.contains("413 refused by size"), "{out}");
    assert!(
        out.contains("not measured: no --postgres-url"),
        "the PostgreSQL column says why it is empty:\n{out}"
    );
}
