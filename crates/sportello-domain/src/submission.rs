//! Checking a whole `json_visura` against a service.
//!
//! Which fields are required is decided by the service's `validazione` expression alone. The
//! catalog's `null` flag is informational: the seed catalog marks every field `null: false`
//! while its expressions explicitly allow some of them to be absent (`$0 && ($5 || $6)`), and
//! the official SDK too judges presence only by `validazione`. Honouring `null` as well would
//! refuse submissions the expression accepts.

use crate::catalog::Service;
use crate::fields::{self, Context, FieldType, FieldValue};
use std::collections::{BTreeMap, BTreeSet};

/// A complete, valid submission: every present value validated and normalised.
#[derive(Debug, Clone)]
pub struct Submission {
    pub values: BTreeMap<u32, FieldValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// `$n`
    pub campo: String,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("invalid submission")]
pub struct SubmissionError {
    /// Values present but not valid for their `tipo`.
    pub invalid: Vec<FieldProblem>,
    /// `$n` keys the nearest alternative of `validazione` still needs.
    pub missing: Vec<String>,
    /// Keys that are not fields of the service.
    pub unknown: Vec<String>,
}

impl SubmissionError {
    pub fn is_empty(&self) -> bool {
        self.invalid.is_empty() && self.missing.is_empty() && self.unknown.is_empty()
    }
}

/// Validates every present value by type, then the `validazione` expression over the valid ones.
/// Empty strings count as absent.
///
/// - A key that is not `$n` for a field of the service goes to `unknown` (even with an empty
///   value: a misspelt key is worth reporting). `$01` is not `$1`.
/// - A present value that fails its type goes to `invalid`, sorted by field index.
/// - If the expression does not hold over the present-and-valid fields, `missing` lists the
///   fields its nearest alternative still needs, leaving out those already in `invalid` (fixing
///   them is the remedy, and naming a field twice would confuse).
///
/// Every problem is collected before answering, so a client fixes everything in one round —
/// except too many files (more than `ctx.max_files`), which is answered alone with the code
/// `too_many_files` on the member `json_visura`, before any file is decoded: decoding them first
/// would spend the very work the limit exists to spare.
pub fn check(
    service: &Service,
    json_visura: &BTreeMap<String, String>,
    ctx: &Context,
) -> Result<Submission, SubmissionError> {
    if let Some(e) = too_many_files(service, json_visura, ctx) {
        return Err(e);
    }

    let mut values = BTreeMap::new();
    let mut invalid: Vec<(u32, FieldProblem)> = Vec::new();
    let mut unknown = Vec::new();

    for (key, raw) in json_visura {
        let Some(field) = field_index(key).and_then(|n| service.field(n)) else {
            unknown.push(key.clone());
            continue;
        };
        if raw.trim().is_empty() {
            continue;
        }
        match fields::validate(field.tipo, &field.nome, raw, ctx) {
            Ok(value) => {
                values.insert(field.index, value);
            }
            Err(e) => invalid.push((
                field.index,
                FieldProblem {
                    campo: field.key(),
                    code: e.code,
                    message: e.message,
                },
            )),
        }
    }

    let present = |n: u32| values.contains_key(&n);
    let missing = if service.expression.eval(&present) {
        Vec::new()
    } else {
        let failed: BTreeSet<u32> = invalid.iter().map(|(n, _)| *n).collect();
        service
            .expression
            .nearest_completion(&present)
            .into_iter()
            .filter(|n| !failed.contains(n))
            .map(|n| format!("${n}"))
            .collect()
    };

    // `json_visura` iterates in key-text order (`$10` before `$2`); people read by index.
    invalid.sort_by_key(|(n, _)| *n);
    let error = SubmissionError {
        invalid: invalid.into_iter().map(|(_, p)| p).collect(),
        missing,
        unknown,
    };
    if error.is_empty() {
        Ok(Submission { values })
    } else {
        Err(error)
    }
}

/// The size limits of [`check`] for a draft, whose values may still be incomplete or wrong: a
/// draft keeps only fields of its service, at most `ctx.max_files` files, and no value larger
/// than a valid one of its type could be — `max_text_chars` characters for free text, the
/// longest address for an e-mail, `max_file_bytes` (decoded) for a file, and for the short codes
/// and dates the larger of the two text limits. Its content is checked when it is submitted.
pub fn check_draft(
    service: &Service,
    json_visura: &BTreeMap<String, String>,
    ctx: &Context,
) -> Result<(), SubmissionError> {
    if let Some(e) = too_many_files(service, json_visura, ctx) {
        return Err(e);
    }
    let mut invalid: Vec<(u32, FieldProblem)> = Vec::new();
    let mut unknown = Vec::new();
    for (key, raw) in json_visura {
        let Some(field) = field_index(key).and_then(|n| service.field(n)) else {
            unknown.push(key.clone());
            continue;
        };
        let problem = match field.tipo {
            FieldType::File => fields::file::check_size(raw, ctx.max_file_bytes).err(),
            tipo => {
                let max_chars = match tipo {
                    FieldType::Testo | FieldType::Denominazione => ctx.max_text_chars,
                    FieldType::Email => fields::email::MAX_LEN,
                    _ => ctx.max_text_chars.max(fields::email::MAX_LEN),
                };
                let len = raw.trim().chars().count();
                (len > max_chars).then(|| {
                    fields::FieldError::new(
                        "too_long",
                        format!("the value has {len} characters, at most {max_chars} are allowed"),
                    )
                })
            }
        };
        if let Some(e) = problem {
            invalid.push((
                field.index,
                FieldProblem {
                    campo: field.key(),
                    code: e.code,
                    message: e.message,
                },
            ));
        }
    }
    invalid.sort_by_key(|(n, _)| *n);
    let error = SubmissionError {
        invalid: invalid.into_iter().map(|(_, p)| p).collect(),
        missing: Vec::new(),
        unknown,
    };
    if error.is_empty() {
        Ok(())
    } else {
        Err(error)
    }
}

/// More non-empty `file` values than `ctx.max_files`: answered alone, before any is looked at.
fn too_many_files(
    service: &Service,
    json_visura: &BTreeMap<String, String>,
    ctx: &Context,
) -> Option<SubmissionError> {
    let files = json_visura
        .iter()
        .filter(|(key, raw)| {
            !raw.trim().is_empty()
                && field_index(key)
                    .and_then(|n| service.field(n))
                    .is_some_and(|f| f.tipo == FieldType::File)
        })
        .count();
    (files > ctx.max_files).then(|| SubmissionError {
        invalid: vec![FieldProblem {
            campo: "json_visura".into(),
            code: "too_many_files",
            message: format!(
                "{files} files in one request, more than the limit of {}",
                ctx.max_files
            ),
        }],
        ..SubmissionError::default()
    })
}

/// `$n` with `n` a decimal number without leading zeros (or `0` itself), as the catalog
/// writes keys.
fn field_index(key: &str) -> Option<u32> {
    let digits = key.strip_prefix('$')?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if canonical {
        digits.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::catalog::{Field, Turnaround};
    use crate::expression::Expr;
    use base64::Engine as _;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn ctx() -> Context {
        Context {
            today: NaiveDate::from_ymd_opt(2025, 6, 15).unwrap(),
            max_text_chars: 255,
            max_file_bytes: 10_000,
            max_image_pixels: 40_000_000,
            max_pdf_pages: 500,
            max_files: 20,
        }
    }

    fn field(index: u32, nome: &str, tipo: FieldType) -> Field {
        Field {
            index,
            nome: nome.to_string(),
            tipo,
            null: false,
            ordine: None,
            istruzioni: String::new(),
        }
    }

    /// Like the seed's family-allowance service: `$0 && $1 && $2 && ($3 || $4)`, where `$3` and
    /// `$4` are two ways to send the same document, and an optional `$5` the expression ignores.
    fn service() -> Service {
        use Expr::{And, Or, Var};
        Service {
            hash_visura: "0123456789abcdef0123456789abcdef".to_string(),
            aliases: Vec::new(),
            nome_visura: "Prova".to_string(),
            nome_categoria: "Prove".to_string(),
            fields: vec![
                field(0, "Nome e cognome", FieldType::Testo),
                field(1, "Codice fiscale", FieldType::CodiceFiscalePersonaFisica),
                field(2, "Data di nascita", FieldType::DataIso8601),
                field(3, "Documento fronte e retro", FieldType::File),
                field(4, "Documento fronte", FieldType::File),
                field(5, "Email", FieldType::Email),
                field(10, "Comune di residenza", FieldType::CodComune),
            ],
            validazione: "$0 && $1 && $2 && ($3 || $4)".to_string(),
            expression: And(vec![Var(0), Var(1), Var(2), Or(vec![Var(3), Var(4)])]),
            istruzioni: String::new(),
            istruzioni_ricerca: String::new(),
            opzioni: Vec::new(),
            prezzo_visura: Decimal::ZERO,
            prezzo_ricerca: Decimal::ZERO,
            ricerca: false,
            sincrona: false,
            fornitori: Vec::new(),
            turnaround: Turnaround::WorkingDays(5),
            urgent_turnaround: None,
            retention_days: 30,
            email_attachment: false,
            iva: crate::catalog::Vat::default(),
            documenti: Vec::new(),
            mandato_richiesto: false,
            persona: crate::persona::Persona::default(),
        }
    }

    fn pdf() -> String {
        format!(
            "doc.pdf|data:application/pdf;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4\n")
        )
    }

    fn visura(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn complete() -> BTreeMap<String, String> {
        visura(&[
            ("$0", " Mario Rossi "),
            ("$1", "rssmra85t10h501o"),
            ("$2", "10-12-1985"),
            ("$4", &pdf()),
        ])
    }

    fn campi(e: &SubmissionError) -> Vec<(&str, &str)> {
        e.invalid
            .iter()
            .map(|p| (p.campo.as_str(), p.code))
            .collect()
    }

    #[test]
    fn a_complete_submission_is_normalised() {
        let s = check(&service(), &complete(), &ctx()).unwrap();
        assert_eq!(s.values.len(), 4);
        assert_eq!(s.values[&0], FieldValue::Text("Mario Rossi".into()));
        assert_eq!(s.values[&1], FieldValue::Text("RSSMRA85T10H501O".into()));
        assert_eq!(s.values[&2], FieldValue::Text("1985-12-10".into()));
        assert!(matches!(&s.values[&4], FieldValue::File(f) if f.name == "doc.pdf"));
    }

    #[test]
    fn the_expression_alone_decides_what_is_required() {
        // Every field is `null: false`, yet `$3`, `$5` and `$10` may be absent.
        assert!(service().fields.iter().all(|f| !f.null));
        assert!(check(&service(), &complete(), &ctx()).is_ok());
    }

    #[test]
    fn optional_fields_are_still_validated_when_present() {
        let mut v = complete();
        v.insert("$5".into(), "not an address".into());
        let e = check(&service(), &v, &ctx()).unwrap_err();
        assert_eq!(campi(&e), [("$5", "email_invalid")]);
        assert!(e.missing.is_empty() && e.unknown.is_empty());
    }

    #[test]
    fn empty_and_blank_values_count_as_absent() {
        let mut v = complete();
        v.insert("$0".into(), "   ".into());
        v.insert("$5".into(), String::new());
        let e = check(&service(), &v, &ctx()).unwrap_err();
        assert!(e.invalid.is_empty());
        assert_eq!(e.missing, ["$0"]);
    }

    #[test]
    fn missing_names_the_nearest_alternative() {
        let v = visura(&[("$0", "Mario Rossi"), ("$2", "1985-12-10")]);
        let e = check(&service(), &v, &ctx()).unwrap_err();
        // Fewest missing; between $3 and $4 the earliest alternative.
        assert_eq!(e.missing, ["$1", "$3"]);
        assert!(e.invalid.is_empty() && e.unknown.is_empty());
    }

    #[test]
    fn an_invalid_value_is_not_also_reported_missing() {
        let mut v = complete();
        v.insert("$1".into(), "RSSMRA85T10H501A".into());
        v.insert("$2".into(), "2099-01-01".into());
        let e = check(&service(), &v, &ctx()).unwrap_err();
        assert_eq!(
            campi(&e),
            [("$1", "cf_check_character"), ("$2", "date_in_future")]
        );
        assert!(e.missing.is_empty());
    }

    #[test]
    fn unknown_keys_are_reported_even_when_empty() {
        let mut v = complete();
        for k in ["$6", "$01", "nome", "$", "$-1", "$99999999999", ""] {
            v.insert(k.into(), String::new());
        }
        v.insert("$7".into(), "x".into());
        let e = check(&service(), &v, &ctx()).unwrap_err();
        let mut unknown = e.unknown.clone();
        unknown.sort();
        assert_eq!(
            unknown,
            ["", "$", "$-1", "$01", "$6", "$7", "$99999999999", "nome"]
        );
        assert!(e.invalid.is_empty() && e.missing.is_empty());
    }

    #[test]
    fn every_problem_is_reported_at_once_in_field_order() {
        let v = visura(&[
            ("$10", "A002"),
            ("$2", "31-02-1985"),
            ("$0", "a\nb"),
            ("$x", "1"),
        ]);
        let e = check(&service(), &v, &ctx()).unwrap_err();
        assert_eq!(
            campi(&e),
            [
                ("$0", "control_characters"),
                ("$2", "date_invalid"),
                ("$10", "comune_suppressed")
            ]
        );
        assert_eq!(e.missing, ["$1", "$3"]);
        assert_eq!(e.unknown, ["$x"]);
    }

    #[test]
    fn messages_carry_no_personal_data() {
        let v = visura(&[
            ("$0", "Segreto\nRossi"),
            ("$1", "SEGRETO"),
            ("$5", "segreto@"),
        ]);
        let e = check(&service(), &v, &ctx()).unwrap_err();
        assert_eq!(e.invalid.len(), 3);
        for p in &e.invalid {
            assert!(
                !p.message.to_lowercase().contains("segreto"),
                "{}",
                p.message
            );
        }
    }

    #[test]
    fn a_draft_may_be_incomplete_or_wrong_but_not_larger_than_a_submission() {
        let c = ctx();
        // Half-typed, invalid values: a draft keeps them.
        let partial = visura(&[("$1", "RSSMRA8"), ("$2", "31-02"), ("$5", "mario@")]);
        assert_eq!(check_draft(&service(), &partial, &c), Ok(()));
        let long_text = "x".repeat(256);
        let long_code = "x".repeat(256);
        let huge_file = "A".repeat(20_000);
        let err = check_draft(
            &service(),
            &visura(&[
                ("$0", &long_text),
                ("$1", &long_code),
                ("$3", &huge_file),
                ("$9", "not a field"),
            ]),
            &c,
        )
        .unwrap_err();
        let codes: Vec<(&str, &str)> = err
            .invalid
            .iter()
            .map(|p| (p.campo.as_str(), p.code))
            .collect();
        assert_eq!(
            codes,
            [
                ("$0", "too_long"),
                ("$1", "too_long"),
                ("$3", "file_too_large")
            ]
        );
        assert_eq!(err.unknown, ["$9"]);
        assert!(err.missing.is_empty());
        // A file within the limit, as a data: URL, is kept without being decoded.
        assert_eq!(
            check_draft(&service(), &visura(&[("$3", &pdf())]), &c),
            Ok(())
        );
        let few = Context { max_files: 1, ..c };
        let two = visura(&[("$3", &pdf()), ("$4", &pdf())]);
        assert_eq!(
            check_draft(&service(), &two, &few).unwrap_err().invalid[0].code,
            "too_many_files"
        );
    }

    #[test]
    fn too_many_files_are_refused_before_any_is_decoded() {
        let mut v = complete();
        v.insert("$3".into(), pdf());
        let two = Context {
            max_files: 2,
            ..ctx()
        };
        assert!(check(&service(), &v, &two).is_ok());

        let one = Context {
            max_files: 1,
            ..ctx()
        };
        let e = check(&service(), &v, &one).unwrap_err();
        assert_eq!(campi(&e), [("json_visura", "too_many_files")]);
        assert!(e.missing.is_empty() && e.unknown.is_empty());
        // Undecodable files count too: the limit is on what is sent, not on what is valid.
        v.insert("$3".into(), "%%%".into());
        let e = check(&service(), &v, &one).unwrap_err();
        assert_eq!(campi(&e), [("json_visura", "too_many_files")]);
        // Blank values are absent, so they are not files.
        v.insert("$3".into(), "  ".into());
        assert!(check(&service(), &v, &one).is_ok());
    }

    #[test]
    fn an_always_true_expression_needs_nothing() {
        let mut s = service();
        s.expression = Expr::True;
        let sub = check(&s, &BTreeMap::new(), &ctx()).unwrap();
        assert!(sub.values.is_empty());
    }

    #[test]
    fn keys_are_parsed_strictly() {
        assert_eq!(field_index("$0"), Some(0));
        assert_eq!(field_index("$12"), Some(12));
        for k in [
            "$00",
            "$01",
            "$",
            "0",
            "$ 1",
            "$1 ",
            "$+1",
            "$4294967296",
            "$١",
        ] {
            assert_eq!(field_index(k), None, "{k}");
        }
    }

    /// A valid value of each type, as a client would send it.
    fn sample(tipo: FieldType) -> String {
        match tipo {
            FieldType::Testo => "Mario".into(),
            FieldType::Denominazione => "Rossi S.r.l.".into(),
            FieldType::Email => "mario.rossi@example.it".into(),
            FieldType::File => pdf(),
            FieldType::DataIso8601 => "10-12-1985".into(),
            FieldType::CodiceFiscale | FieldType::CodiceFiscalePersonaFisica => {
                "RSSMRA85T10H501O".into()
            }
            FieldType::PartitaIva => "12345670017".into(),
            FieldType::CodProvincia => "rm".into(),
            FieldType::CodComune => "h501".into(),
        }
    }

    #[test]
    fn every_catalog_service_accepts_a_complete_submission_and_names_what_is_missing() {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        for service in catalog.services() {
            let full: BTreeMap<String, String> = service
                .fields
                .iter()
                .map(|f| (f.key(), sample(f.tipo)))
                .collect();
            let sub = check(service, &full, &ctx())
                .unwrap_or_else(|e| panic!("{}: {e:?}", service.nome_visura));
            assert_eq!(sub.values.len(), service.fields.len());

            if service.expression != Expr::True {
                let e = check(service, &BTreeMap::new(), &ctx()).unwrap_err();
                assert!(!e.missing.is_empty(), "{}", service.nome_visura);
                assert!(e.invalid.is_empty() && e.unknown.is_empty());
            }
        }
    }
}
