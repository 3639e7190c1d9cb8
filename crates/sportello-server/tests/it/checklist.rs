//! A service's checklist (`documenti`) and `mandato_richiesto` in `GET /visure/{hash}`, compared
//! with the catalog files themselves (read as plain TOML, not through the domain's loader).
#![allow(clippy::unwrap_used)]

use crate::common::*;
use serde_json::{json, Value};
use sportello_domain::catalog::Catalog;
use sportello_server::wire::Visura;

const CATALOG_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalog");
const ISEE: &str = "38934ffe45179c4d5b88e2a6b849799a";
/// The commercial catalogue's own hash for the ISEE.
const ISEE_ALIAS: &str = "6aa0789f5ba34684b2bc5ccf364f8929";

/// Every catalog file on disk, in file-name order, as TOML.
fn catalog_files() -> Vec<(String, toml::Table)> {
    let mut names: Vec<String> = std::fs::read_dir(CATALOG_DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let text = std::fs::read_to_string(format!("{CATALOG_DIR}/{n}")).unwrap();
            (n, text.parse::<toml::Table>().unwrap())
        })
        .collect()
}

/// The file's `[[documenti]]` as the API should show them: every member present, `note` null
/// when the file has none.
fn expected_documenti(file: &toml::Table) -> Value {
    let entries = file.get("documenti").and_then(toml::Value::as_array);
    let entries = entries.map(Vec::as_slice).unwrap_or_default();
    Value::Array(
        entries
            .iter()
            .map(|d| {
                json!({
                    "codice": d["codice"].as_str().unwrap(),
                    "descrizione": d["descrizione"].as_str().unwrap(),
                    "obbligatorio": d["obbligatorio"].as_bool().unwrap(),
                    "note": d.get("note").and_then(toml::Value::as_str),
                })
            })
            .collect(),
    )
}

#[tokio::test]
async fn every_service_shows_the_checklist_and_mandate_rule_of_its_catalog_file() {
    let app = TestApp::spawn().await;
    let files = catalog_files();
    assert_eq!(files.len(), app.state.catalog.services().len());
    for (name, file) in &files {
        let hash = file["hash_visura"].as_str().unwrap();
        let answer = app.get(&format!("/visure/{hash}")).await;
        let v = answer.assert_ok();
        let documenti = expected_documenti(file);
        assert!(!documenti.as_array().unwrap().is_empty(), "{name}");
        assert_eq!(v["documenti"], documenti, "{name}");
        let mandato = file.get("mandato_richiesto").and_then(toml::Value::as_bool);
        assert_eq!(v["mandato_richiesto"], mandato.unwrap_or(false), "{name}");
    }
}

#[tokio::test]
async fn the_isee_checklist_answers_by_alias_too_and_the_family_certificate_needs_no_mandate() {
    let app = TestApp::spawn().await;
    let isee = app.get(&format!("/visure/{ISEE}")).await;
    let isee = isee.assert_ok();
    assert_eq!(isee["mandato_richiesto"], true);
    let saldi = isee["documenti"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["codice"] == "saldi_giacenze")
        .unwrap();
    assert_eq!(
        members(saldi),
        members(&json!({"codice": 0, "descrizione": 0, "obbligatorio": 0, "note": 0}))
    );
    assert_eq!(saldi["obbligatorio"], true);
    assert!(isee["documenti"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["codice"] == "mandato" && d["obbligatorio"] == true));

    let alias = app.get(&format!("/visure/{ISEE_ALIAS}")).await;
    assert_eq!(alias.assert_ok()["documenti"], isee["documenti"]);

    let famiglia = app.get(&format!("/visure/{FAMIGLIA}")).await;
    let famiglia = famiglia.assert_ok();
    assert_eq!(famiglia["mandato_richiesto"], false);
    assert!(!famiglia["documenti"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["codice"] == "mandato"));
}

#[test]
fn a_service_without_a_checklist_shows_an_empty_one() {
    let file = r#"
hash_visura = "0123456789abcdef0123456789abcdef"
nome_visura = "Prova"
nome_categoria = "Patronato"
validazione = ""
prezzo_visura = "1"
[turnaround]
working_days = 1
"#;
    let catalog = Catalog::from_files(&[("prova.toml".to_string(), file.to_string())]).unwrap();
    let service = &catalog.services()[0];
    let v = serde_json::to_value(Visura::from_service(service, &service.hash_visura)).unwrap();
    assert_eq!(v["documenti"], json!([]));
    assert_eq!(v["mandato_richiesto"], false);
}
