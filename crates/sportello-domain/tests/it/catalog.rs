//! The catalog as shipped, and every reason a catalog is refused.

// A failed unwrap is a failed test, which is what a test wants.
#![allow(clippy::unwrap_used)]

use rust_decimal::Decimal;
use sportello_domain::catalog::{Catalog, CatalogError, Turnaround, DEFAULT_RETENTION_DAYS};
use sportello_domain::expression::Expr;
use sportello_domain::fields::FieldType;
use std::str::FromStr;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn embedded() -> Catalog {
    Catalog::embedded().unwrap()
}

/// A small valid service file; tests replace one line to break it.
const VALID: &str = r#"
hash_visura = "0123456789abcdef0123456789abcdef"
nome_visura = "Prova"
nome_categoria = "Patronato"
validazione = "$0 && ($1 || $2)"
prezzo_visura = "10.50"

[turnaround]
working_days = 3

[turnaround.urgent]
working_days = 1

[[opzioni]]
nome = "opzione_0"
tipo = "urgenza"
prezzo = 4

[campi."$0"]
nome = "Nome"
tipo = "testo"
null = false

[campi."$1"]
nome = "Email"
tipo = "email"
null = true
ordine = "1"

[campi."$2"]
nome = "Codice fiscale"
tipo = "codice_fiscale"
null = true
"#;

fn files(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect()
}

fn refuse(list: &[(&str, &str)]) -> CatalogError {
    match Catalog::from_files(&files(list)) {
        Ok(c) => panic!("accepted a bad catalog: {:?}", c.services()),
        Err(e) => e,
    }
}

fn with(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "{from:?} not in the template");
    VALID.replacen(from, to, 1)
}

// ---- the shipped catalog --------------------------------------------------------------------

#[test]
fn embedded_catalog_has_the_eight_services_in_order() {
    let catalog = embedded();
    let got: Vec<(&str, &str, Decimal, usize)> = catalog
        .services()
        .iter()
        .map(|s| {
            (
                s.hash_visura.as_str(),
                s.nome_visura.as_str(),
                s.prezzo_visura,
                s.fields.len(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "224fcc49770edad354cdd9c480a7e50e",
                "Domanda Assegno Unico",
                dec("19"),
                8
            ),
            (
                "8a7c8386fff43d28182cfa2ad24a3532",
                "Indennità per congedo parentale",
                dec("14.70"),
                8
            ),
            ("38934ffe45179c4d5b88e2a6b849799a", "ISEE", dec("11.70"), 8),
            (
                "e767a64dec5b382cbff27b3e46f41441",
                "Pensione Vecchiaia",
                dec("12.70"),
                8
            ),
            (
                "4c84e22bbabd5f25b0102bb3bfe82790",
                "Certificato stato di famiglia",
                dec("40"),
                8
            ),
            (
                "1854dacfe0bc4c4244c7d0d31d6d683b",
                "ISEE Corrente",
                dec("11.70"),
                8
            ),
            (
                "b60e09b74077f5c40377f140918ab322",
                "ISEE Minorenni",
                dec("11.70"),
                8
            ),
            (
                "9b6436707b7dc7088f09e4a39952b66c",
                "ISEE Università",
                dec("11.70"),
                8
            ),
        ]
    );
}

#[test]
fn every_service_has_the_seed_constants() {
    for s in embedded().services() {
        assert_eq!(s.nome_categoria, "Patronato", "{}", s.nome_visura);
        assert_eq!(s.prezzo_ricerca, Decimal::ZERO);
        assert!(!s.ricerca && !s.sincrona);
        assert!(s.fornitori.is_empty());
        assert_eq!(s.istruzioni_ricerca, "");
        assert_eq!(s.retention_days, DEFAULT_RETENTION_DAYS);
        assert_eq!(
            s.option("opzione_0").map(|o| (o.tipo.as_str(), o.prezzo)),
            Some(("urgenza", dec("4")))
        );
        // The doubled quotes of the pages must not survive anywhere.
        for f in &s.fields {
            assert!(
                !f.nome.contains('"') && !f.istruzioni.contains('"'),
                "{}",
                f.nome
            );
        }
        assert_eq!(
            s.fields.iter().map(|f| f.index).collect::<Vec<_>>(),
            (0..8).collect::<Vec<u32>>()
        );
        assert_eq!(s.fields[0].ordine, None, "$0 has no ordine in the pages");
        assert!(s
            .expression
            .variables()
            .iter()
            .all(|n| s.field(*n).is_some()));
    }
}

#[test]
fn the_isee_variants_have_their_documented_hashes() {
    // The three added hashes are md5("sportello:<slug>") as catalog/README.md says.
    let catalog = embedded();
    for (slug, hash) in [
        ("isee-corrente", "1854dacfe0bc4c4244c7d0d31d6d683b"),
        ("isee-minorenni", "b60e09b74077f5c40377f140918ab322"),
        ("isee-universita", "9b6436707b7dc7088f09e4a39952b66c"),
    ] {
        assert!(catalog.get(hash).is_some(), "{slug}");
    }
}

#[test]
fn the_first_four_have_assistenza_dedicata_and_the_certificate_does_not() {
    let catalog = embedded();
    for hash in [
        "224fcc49770edad354cdd9c480a7e50e",
        "8a7c8386fff43d28182cfa2ad24a3532",
        "38934ffe45179c4d5b88e2a6b849799a",
        "e767a64dec5b382cbff27b3e46f41441",
    ] {
        let s = catalog.get(hash).unwrap();
        assert_eq!(s.opzioni.len(), 2);
        let o = s.option("opzione_1").unwrap();
        assert_eq!(
            (o.tipo.as_str(), o.prezzo),
            ("assistenza_dedicata", dec("10"))
        );
    }
    let famiglia = catalog.get("4c84e22bbabd5f25b0102bb3bfe82790").unwrap();
    assert_eq!(famiglia.opzioni.len(), 1);
    assert!(famiglia.option("opzione_1").is_none());
}

#[test]
fn the_common_form_is_fixed_and_typed() {
    let s = embedded();
    let s = s.get("224fcc49770edad354cdd9c480a7e50e").unwrap();
    let cf = s.field(4).unwrap();
    assert_eq!(cf.nome, "CODICE FISCALE");
    assert_eq!(cf.tipo, FieldType::CodiceFiscalePersonaFisica);
    assert_eq!(cf.ordine.as_deref(), Some("2"));
    assert_eq!(s.field(2).unwrap().tipo, FieldType::Email);
    assert_eq!(s.field(7).unwrap().tipo, FieldType::File);
    assert_eq!(
        s.validazione,
        "($0 && $1 && $2 && $3 && $4 && $5 && $6 && $7) || ($0 && $1 && $2 && $3 && $4 && $5 && $6)"
    );
    // The mandate ($7) is optional: the second alternative holds without it.
    assert!(s.expression.eval(&|n| n < 7));
    assert_eq!(s.expression.nearest_completion(&|n| n < 5), vec![5, 6]);
}

#[test]
fn the_family_status_certificate_has_eight_distinct_fields() {
    let catalog = embedded();
    let s = catalog.get("4c84e22bbabd5f25b0102bb3bfe82790").unwrap();
    let tipi: Vec<FieldType> = s.fields.iter().map(|f| f.tipo).collect();
    assert_eq!(
        tipi,
        vec![
            FieldType::Testo,
            FieldType::Testo,
            FieldType::DataIso8601,
            FieldType::Testo,
            FieldType::Testo,
            FieldType::CodProvincia,
            FieldType::CodComune,
            FieldType::CodiceFiscale,
        ]
    );
    assert_eq!(
        s.field(5).unwrap().istruzioni,
        "Inserire la provincia di residenza"
    );
    assert_eq!(s.field(7).unwrap().nome, "Codice Fiscale");
    assert_eq!(s.field(7).unwrap().ordine.as_deref(), Some("8"));
    assert_eq!(
        s.validazione,
        "$0 && $1 && $2 && $3 && $4 && $5 && $6 && $7"
    );
    assert_eq!(s.expression, Expr::And((0..8).map(Expr::Var).collect()));
}

#[test]
fn turnarounds_are_those_the_pages_state() {
    let catalog = embedded();
    let t = |h: &str| catalog.get(h).unwrap().turnaround;
    assert_eq!(
        t("224fcc49770edad354cdd9c480a7e50e"),
        Turnaround::WorkingHours(48)
    );
    assert_eq!(
        t("8a7c8386fff43d28182cfa2ad24a3532"),
        Turnaround::WorkingDays(2)
    );
    assert_eq!(
        t("38934ffe45179c4d5b88e2a6b849799a"),
        Turnaround::WorkingDays(5)
    );
    assert_eq!(
        t("e767a64dec5b382cbff27b3e46f41441"),
        Turnaround::WorkingDays(2)
    );
    assert_eq!(
        t("4c84e22bbabd5f25b0102bb3bfe82790"),
        Turnaround::WorkingDays(20)
    );
    assert_eq!(Turnaround::WorkingHours(48).to_string(), "48 working hours");
}

#[test]
fn urgent_requests_have_a_shorter_target_on_every_service() {
    let catalog = embedded();
    let urgent = |h: &str| catalog.get(h).unwrap().turnaround_for(true);
    assert_eq!(
        urgent("224fcc49770edad354cdd9c480a7e50e"),
        Turnaround::WorkingHours(24)
    );
    assert_eq!(
        urgent("8a7c8386fff43d28182cfa2ad24a3532"),
        Turnaround::WorkingDays(1)
    );
    assert_eq!(
        urgent("38934ffe45179c4d5b88e2a6b849799a"),
        Turnaround::WorkingDays(4)
    );
    assert_eq!(
        urgent("4c84e22bbabd5f25b0102bb3bfe82790"),
        Turnaround::WorkingDays(10)
    );
    for s in catalog.services() {
        assert!(s.urgent_option().is_some(), "{}", s.nome_visura);
        assert_ne!(s.turnaround_for(true), s.turnaround_for(false));
    }
}

#[test]
fn refuses_a_missing_useless_or_not_shorter_urgent_target() {
    let without = with("\n[turnaround.urgent]\nworking_days = 1\n", "");
    let e = refuse(&[("a.toml", &without)]);
    assert_refused(&e, "a.toml", &["offers `urgenza`", "[turnaround.urgent]"]);

    let no_option = with(r#"tipo = "urgenza""#, r#"tipo = "assistenza_dedicata""#);
    let e = refuse(&[("a.toml", &no_option)]);
    assert_refused(&e, "a.toml", &["no `urgenza` option"]);

    let e = refuse(&[("a.toml", &with("working_days = 1", "working_hours = 72"))]);
    assert_refused(
        &e,
        "a.toml",
        &["turnaround.urgent (72 working hours) must be shorter than the turnaround (3 working days)"],
    );
    let e = refuse(&[("a.toml", &with("working_days = 1", "working_days = 0"))]);
    assert_refused(
        &e,
        "a.toml",
        &["turnaround.urgent must be greater than zero"],
    );
}

#[test]
fn aliases_resolve_to_the_canonical_service() {
    let catalog = embedded();
    let isee = catalog.get("6aa0789f5ba34684b2bc5ccf364f8929").unwrap();
    assert_eq!(isee.hash_visura, "38934ffe45179c4d5b88e2a6b849799a");
    assert_eq!(isee.nome_visura, "ISEE");
    let pensione = catalog.get("5fec14002548c9ae115758500c8981ee").unwrap();
    assert_eq!(pensione.hash_visura, "e767a64dec5b382cbff27b3e46f41441");
    // Aliases are not listed as services of their own.
    assert_eq!(catalog.services().len(), 8);
    // Lookups are exact.
    assert!(catalog.get("6AA0789F5BA34684B2BC5CCF364F8929").is_none());
    assert!(catalog.get(" 6aa0789f5ba34684b2bc5ccf364f8929").is_none());
    assert!(catalog.get("").is_none());
}

#[test]
fn every_file_in_the_catalog_directory_is_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../catalog");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    on_disk.sort();
    let embedded: Vec<String> = Catalog::embedded_files()
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    assert_eq!(embedded, on_disk);
    for (name, text) in Catalog::embedded_files() {
        let from_disk = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
        assert_eq!(*text, from_disk, "{name}");
    }
}

// ---- loading ---------------------------------------------------------------------------------

#[test]
fn a_valid_file_loads_with_defaults() {
    let catalog = Catalog::from_files(&files(&[("prova.toml", VALID)])).unwrap();
    let s = &catalog.services()[0];
    assert_eq!(s.prezzo_visura, dec("10.50"));
    assert_eq!(s.prezzo_ricerca, Decimal::ZERO);
    assert_eq!(s.option("opzione_0").unwrap().prezzo, dec("4"));
    assert_eq!(s.retention_days, DEFAULT_RETENTION_DAYS);
    assert_eq!(s.istruzioni, "");
    assert!(s.aliases.is_empty());
    assert!(s.field(1).unwrap().null);
}

#[test]
fn float_prices_are_read_exactly() {
    let text = with(r#"prezzo_visura = "10.50""#, "prezzo_visura = 14.7");
    let catalog = Catalog::from_files(&files(&[("prova.toml", &text)])).unwrap();
    assert_eq!(catalog.services()[0].prezzo_visura, dec("14.7"));
}

#[test]
fn fields_are_sorted_by_index_not_by_key_text() {
    let text =
        format!("{VALID}\n[campi.\"$10\"]\nnome = \"Dieci\"\ntipo = \"testo\"\nnull = true\n");
    let catalog = Catalog::from_files(&files(&[("prova.toml", &text)])).unwrap();
    let indices: Vec<u32> = catalog.services()[0]
        .fields
        .iter()
        .map(|f| f.index)
        .collect();
    assert_eq!(indices, vec![0, 1, 2, 10]);
}

#[test]
fn services_come_in_file_name_order() {
    let other = with(
        "0123456789abcdef0123456789abcdef",
        "ffffffffffffffffffffffffffffffff",
    )
    .replace("Prova", "Altra");
    let catalog = Catalog::from_files(&files(&[("b.toml", VALID), ("a.toml", &other)])).unwrap();
    let names: Vec<&str> = catalog
        .services()
        .iter()
        .map(|s| s.nome_visura.as_str())
        .collect();
    assert_eq!(names, vec!["Altra", "Prova"]);
}

// ---- refusals: one per reason ---------------------------------------------------------------

fn assert_refused(e: &CatalogError, file: &str, fragments: &[&str]) {
    assert_eq!(e.file, file, "{e}");
    for f in fragments {
        assert!(e.problem.contains(f), "{:?} lacks {f:?}", e.problem);
    }
    assert!(e.to_string().starts_with(&format!("{file}: ")));
}

#[test]
fn refuses_a_hash_used_twice() {
    let twin = VALID.replace("Prova", "Gemello");
    let e = refuse(&[("a.toml", VALID), ("b.toml", &twin)]);
    assert_refused(
        &e,
        "b.toml",
        &["0123456789abcdef0123456789abcdef", "already used", "a.toml"],
    );
}

#[test]
fn refuses_an_alias_that_is_another_services_hash() {
    let other = with(
        "hash_visura = \"0123456789abcdef0123456789abcdef\"",
        "hash_visura = \"ffffffffffffffffffffffffffffffff\"\naliases = [\"0123456789abcdef0123456789abcdef\"]",
    );
    let e = refuse(&[("a.toml", VALID), ("b.toml", &other)]);
    assert_refused(&e, "b.toml", &["already used", "a.toml"]);
}

#[test]
fn refuses_an_alias_equal_to_its_own_hash() {
    let text = with(
        "nome_visura",
        "aliases = [\"0123456789abcdef0123456789abcdef\"]\nnome_visura",
    );
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(&e, "a.toml", &["listed twice"]);
}

#[test]
fn refuses_a_malformed_hash() {
    for bad in [
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef",
        "0123456789abcdef0123456789abcde!",
    ] {
        let text = with("0123456789abcdef0123456789abcdef", bad);
        let e = refuse(&[("a.toml", &text)]);
        assert_refused(&e, "a.toml", &["hash_visura", "32 characters"]);
    }
}

#[test]
fn refuses_an_undefined_field_in_validazione() {
    let text = with(
        r#"validazione = "$0 && ($1 || $2)""#,
        r#"validazione = "$0 && ($1 || $9)""#,
    );
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(
        &e,
        "a.toml",
        &[
            "validazione",
            "`$9`",
            "not a field",
            "offset 13",
            "$0, $1, $2",
        ],
    );
}

#[test]
fn refuses_a_validazione_that_does_not_parse() {
    let text = with(
        r#"validazione = "$0 && ($1 || $2)""#,
        r#"validazione = "$0 && ($1 || $2""#,
    );
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(
        &e,
        "a.toml",
        &[
            "validazione does not parse",
            "offset 6",
            "unclosed parenthesis",
        ],
    );
}

#[test]
fn refuses_an_unknown_tipo() {
    let text = with(r#"tipo = "email""#, r#"tipo = "telefono""#);
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(
        &e,
        "a.toml",
        &["`$1`", "unknown tipo `telefono`", "codice_fiscale"],
    );
}

#[test]
fn refuses_a_negative_price() {
    let text = with(r#"prezzo_visura = "10.50""#, r#"prezzo_visura = "-1""#);
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(&e, "a.toml", &["prezzo_visura is negative"]);

    let text = with("prezzo = 4", "prezzo = -4");
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(&e, "a.toml", &["opzione_0", "negative"]);
}

#[test]
fn refuses_a_price_that_is_not_a_number() {
    let text = with(r#"prezzo_visura = "10.50""#, r#"prezzo_visura = "dieci""#);
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(&e, "a.toml", &["line 6", "not a decimal number"]);
}

#[test]
fn refuses_a_toml_syntax_error_with_its_line() {
    let text = with(r#"nome_visura = "Prova""#, r#"nome_visura = ""Prova""#);
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(&e, "a.toml", &["invalid TOML at line 3"]);
}

#[test]
fn refuses_unknown_and_missing_keys() {
    let text = with("prezzo_visura", "prezo_visura");
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(&e, "a.toml", &["invalid TOML", "prezo_visura"]);

    let text = with(
        "[turnaround]\nworking_days = 3\n\n[turnaround.urgent]\nworking_days = 1\n",
        "",
    );
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(&e, "a.toml", &["invalid TOML", "turnaround"]);
}

#[test]
fn refuses_a_field_key_that_is_not_dollar_n() {
    for bad in ["campi.\"$01\"", "campi.\"0\"", "campi.\"$x\""] {
        let text = with("campi.\"$0\"", bad);
        let e = refuse(&[("a.toml", &text)]);
        assert_refused(&e, "a.toml", &["field key", "not of the form `$n`"]);
    }
}

#[test]
fn refuses_bad_option_names() {
    let text = with(r#"nome = "opzione_0""#, r#"nome = "urgente""#);
    let e = refuse(&[("a.toml", &text)]);
    assert_refused(&e, "a.toml", &["`urgente`", "opzione_<n>"]);

    let twice =
        format!("{VALID}\n[[opzioni]]\nnome = \"opzione_0\"\ntipo = \"altro\"\nprezzo = 1\n");
    let e = refuse(&[("a.toml", &twice)]);
    assert_refused(&e, "a.toml", &["`opzione_0` is defined twice"]);
}

#[test]
fn refuses_empty_names() {
    let e = refuse(&[(
        "a.toml",
        &with(r#"nome_visura = "Prova""#, r#"nome_visura = "  ""#),
    )]);
    assert_refused(&e, "a.toml", &["nome_visura is empty"]);
    let e = refuse(&[("a.toml", &with(r#"nome = "Nome""#, r#"nome = """#))]);
    assert_refused(&e, "a.toml", &["field `$0` nome is empty"]);
    let e = refuse(&[("a.toml", &with(r#"tipo = "urgenza""#, r#"tipo = """#))]);
    assert_refused(&e, "a.toml", &["option `opzione_0` tipo is empty"]);
}

#[test]
fn refuses_a_zero_or_ambiguous_turnaround() {
    let e = refuse(&[("a.toml", &with("working_days = 3", "working_days = 0"))]);
    assert_refused(&e, "a.toml", &["turnaround must be greater than zero"]);
    let e = refuse(&[(
        "a.toml",
        &with("working_days = 3", "working_days = 3\nworking_hours = 8"),
    )]);
    assert_refused(&e, "a.toml", &["exactly one"]);
}

#[test]
fn refuses_zero_retention() {
    let e = refuse(&[(
        "a.toml",
        &with("nome_visura", "retention_days = 0\nnome_visura"),
    )]);
    assert_refused(&e, "a.toml", &["retention_days"]);
}

#[test]
fn refuses_an_empty_catalog() {
    let e = refuse(&[]);
    assert!(e.problem.contains("no services"), "{e}");
}

// ---- VAT ------------------------------------------------------------------------------------

#[test]
fn vat_is_22_percent_unless_the_file_says_otherwise() {
    let ok = |text: &str| Catalog::from_files(&files(&[("a.toml", text)])).unwrap();
    let default = ok(VALID);
    assert_eq!(default.services()[0].iva.aliquota, Decimal::from(22));
    assert_eq!(default.services()[0].iva.esenzione, None);
    let reduced = ok(&with("nome_visura", "aliquota_iva = \"10\"\nnome_visura"));
    assert_eq!(reduced.services()[0].iva.aliquota, Decimal::from(10));
    let exempt = ok(&with(
        "nome_visura",
        "aliquota_iva = 0\nesenzione_iva = \"Esente art. 10 DPR 633/72\"\nnome_visura",
    ));
    assert!(exempt.services()[0].iva.aliquota.is_zero());
    assert_eq!(
        exempt.services()[0].iva.esenzione.as_deref(),
        Some("Esente art. 10 DPR 633/72")
    );
}

#[test]
fn refuses_a_vat_rate_out_of_range_or_an_unexplained_exemption() {
    let e = refuse(&[(
        "a.toml",
        &with("nome_visura", "aliquota_iva = \"122\"\nnome_visura"),
    )]);
    assert_refused(&e, "a.toml", &["aliquota_iva", "between 0 and 100"]);
    let e = refuse(&[(
        "a.toml",
        &with("nome_visura", "aliquota_iva = \"-1\"\nnome_visura"),
    )]);
    assert_refused(&e, "a.toml", &["aliquota_iva"]);
    let e = refuse(&[(
        "a.toml",
        &with("nome_visura", "aliquota_iva = \"0\"\nnome_visura"),
    )]);
    assert_refused(&e, "a.toml", &["esenzione_iva"]);
    let e = refuse(&[(
        "a.toml",
        &with("nome_visura", "esenzione_iva = \"art. 10\"\nnome_visura"),
    )]);
    assert_refused(&e, "a.toml", &["only for aliquota_iva 0"]);
}
