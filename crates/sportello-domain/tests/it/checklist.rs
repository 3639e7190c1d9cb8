//! The services' checklists (`[[documenti]]`, `mandato_richiesto`): as shipped, and every reason a
//! checklist is refused.

// A failed unwrap is a failed test, which is what a test wants.
#![allow(clippy::unwrap_used)]

use sportello_domain::catalog::{Catalog, CatalogError, Service};
use sportello_domain::checklist::{is_codice, Documento, CODICE_MAX_CHARS, MANDATO};

/// The family status certificate: the one service a comune issues to whoever asks.
const FAMIGLIA: &str = "4c84e22bbabd5f25b0102bb3bfe82790";
const ISEE: &str = "38934ffe45179c4d5b88e2a6b849799a";

/// A small valid service without a checklist; tests append one.
const BASE: &str = r#"
hash_visura = "0123456789abcdef0123456789abcdef"
nome_visura = "Prova"
nome_categoria = "Patronato"
validazione = "$0"
prezzo_visura = "10"

[turnaround]
working_days = 3

[campi."$0"]
nome = "Nome"
tipo = "testo"
null = false
"#;

fn entry(codice: &str, descrizione: &str, obbligatorio: bool) -> String {
    format!(
        "\n[[documenti]]\ncodice = \"{codice}\"\ndescrizione = \"{descrizione}\"\nobbligatorio = {obbligatorio}\n"
    )
}

/// `BASE` with `top` among its top-level keys and `tail` appended.
fn service_file(top: &str, tail: &str) -> String {
    BASE.replacen("nome_visura", &format!("{top}\nnome_visura"), 1) + tail
}

fn load(text: &str) -> Result<Service, CatalogError> {
    Catalog::from_files(&[("prova.toml".to_string(), text.to_string())])
        .map(|c| c.services()[0].clone())
}

fn refused(text: &str, fragments: &[&str]) {
    let e = match load(text) {
        Ok(s) => panic!("accepted a bad checklist: {:?}", s.documenti),
        Err(e) => e,
    };
    assert_eq!(e.file, "prova.toml", "{e}");
    for f in fragments {
        assert!(e.problem.contains(f), "{:?} lacks {f:?}", e.problem);
    }
}

// ---- the shipped catalog --------------------------------------------------------------------

#[test]
fn every_service_but_the_family_certificate_needs_a_mandate_its_checklist_asks_for() {
    let catalog = Catalog::embedded().unwrap();
    for s in catalog.services() {
        assert!(
            !s.documenti.is_empty(),
            "{} has no checklist",
            s.nome_visura
        );
        let mandato = s.documento(MANDATO);
        if s.hash_visura == FAMIGLIA {
            assert!(!s.mandato_richiesto);
            assert!(mandato.is_none());
        } else {
            assert!(s.mandato_richiesto, "{}", s.nome_visura);
            assert!(mandato.unwrap().obbligatorio, "{}", s.nome_visura);
        }
        for d in &s.documenti {
            assert!(!d.descrizione.contains('"'), "{}", d.codice);
            assert!(d.note.as_deref().is_none_or(|n| !n.trim().is_empty()));
        }
    }
}

#[test]
fn the_isee_checklist_asks_for_what_a_dsu_needs() {
    let catalog = Catalog::embedded().unwrap();
    let isee = catalog.get(ISEE).unwrap();
    let obbligatorio = |codice: &str| isee.documento(codice).unwrap().obbligatorio;
    assert!(obbligatorio("codici_fiscali_nucleo"));
    assert!(obbligatorio("saldi_giacenze"));
    assert!(!obbligatorio("contratto_locazione"));
    assert!(!obbligatorio("targhe_veicoli"));
    assert!(!obbligatorio("certificazioni_disabilita"));
    // The variants for minors and students add their own cases to the ordinary list.
    for (hash, own) in [
        (
            "b60e09b74077f5c40377f140918ab322",
            "genitore_non_convivente",
        ),
        ("9b6436707b7dc7088f09e4a39952b66c", "studente_autonomo"),
    ] {
        let variant = catalog.get(hash).unwrap();
        for d in &isee.documenti {
            assert_eq!(variant.documento(&d.codice), Some(d), "{hash}");
        }
        assert!(variant.documento(own).is_some(), "{own}");
    }
}

// ---- loading ---------------------------------------------------------------------------------

#[test]
fn a_service_without_a_checklist_has_none_and_needs_no_mandate() {
    let s = load(BASE).unwrap();
    assert!(s.documenti.is_empty());
    assert!(!s.mandato_richiesto);
    assert_eq!(s.documento(MANDATO), None);
}

#[test]
fn entries_load_in_file_order_with_their_notes() {
    let tail = entry(MANDATO, "Mandato firmato", true)
        + "note = \"Uno per pratica.\"\n"
        + &entry("contratto_locazione", "Contratto d'affitto", false)
        + &entry("iban_2", "IBAN", false)
        + "note = \"  \"\n";
    let s = load(&service_file("mandato_richiesto = true", &tail)).unwrap();
    assert!(s.mandato_richiesto);
    assert_eq!(
        s.documenti,
        vec![
            Documento {
                codice: MANDATO.to_string(),
                descrizione: "Mandato firmato".to_string(),
                obbligatorio: true,
                note: Some("Uno per pratica.".to_string()),
            },
            Documento {
                codice: "contratto_locazione".to_string(),
                descrizione: "Contratto d'affitto".to_string(),
                obbligatorio: false,
                note: None,
            },
            // A blank note is no note.
            Documento {
                codice: "iban_2".to_string(),
                descrizione: "IBAN".to_string(),
                obbligatorio: false,
                note: None,
            },
        ]
    );
    assert_eq!(
        s.documento("iban_2").map(|d| d.descrizione.as_str()),
        Some("IBAN")
    );
}

#[test]
fn a_codice_is_a_short_slug() {
    for good in [
        "mandato",
        "iban_2",
        "2024",
        "_",
        &"a".repeat(CODICE_MAX_CHARS),
    ] {
        assert!(is_codice(good), "{good}");
    }
    for bad in [
        "",
        "Mandato",
        "contratto-locazione",
        "contratto locazione",
        "càsa",
        "mandato\n",
        &"a".repeat(CODICE_MAX_CHARS + 1),
    ] {
        assert!(!is_codice(bad), "{bad:?}");
    }
}

// ---- refusals: one per reason ---------------------------------------------------------------

#[test]
fn refuses_a_codice_that_is_not_a_slug_naming_its_entry() {
    for bad in ["Contratto", "contratto-locazione", "", "a b"] {
        let tail = entry("iban", "IBAN", true) + &entry(bad, "Contratto", false);
        refused(
            &service_file("", &tail),
            &[
                "[[documenti]] entry 2",
                &format!("codice `{bad}`"),
                "[a-z0-9_]",
            ],
        );
    }
}

#[test]
fn refuses_a_codice_listed_twice() {
    let tail = entry("iban", "IBAN", true) + &entry("iban", "IBAN del coniuge", false);
    refused(
        &service_file("", &tail),
        &["documento `iban` is listed twice"],
    );
}

#[test]
fn refuses_a_missing_or_empty_descrizione() {
    let missing = "\n[[documenti]]\ncodice = \"iban\"\nobbligatorio = true\n";
    refused(
        &service_file("", missing),
        &["invalid TOML at line", "descrizione"],
    );
    refused(
        &service_file("", &entry("iban", " ", true)),
        &["documento `iban` descrizione is empty"],
    );
}

#[test]
fn refuses_a_missing_obbligatorio_and_unknown_keys() {
    let missing = "\n[[documenti]]\ncodice = \"iban\"\ndescrizione = \"IBAN\"\n";
    refused(
        &service_file("", missing),
        &["invalid TOML", "obbligatorio"],
    );
    let misspelt = entry("iban", "IBAN", true) + "nota = \"x\"\n";
    refused(&service_file("", &misspelt), &["invalid TOML", "nota"]);
    refused(
        &service_file("mandato_richiesto = \"si\"", ""),
        &["invalid TOML at line 3", "expected a boolean"],
    );
}

#[test]
fn refuses_a_required_mandate_the_checklist_does_not_ask_for() {
    refused(
        &service_file("mandato_richiesto = true", &entry("iban", "IBAN", true)),
        &["mandato_richiesto = true", "codice `mandato`"],
    );
    refused(
        &service_file(
            "mandato_richiesto = true",
            &entry(MANDATO, "Mandato", false),
        ),
        &["documento `mandato` must be obbligatorio"],
    );
    // Without the requirement, an optional mandate entry is the catalog's business.
    let s = load(&service_file("", &entry(MANDATO, "Mandato", false))).unwrap();
    assert!(!s.mandato_richiesto);
}
