//! Field types (`tipo`) and their validators.
//!
//! CONTRACT: `validate` never panics and its error messages never contain the value.
//!
//! One file per family of types: `text` (`testo`, `denominazione`), `email`, `date`, `file`,
//! and the codes (`codice_fiscale`, `partita_iva`, `territory`). This module only dispatches on
//! the `tipo` and applies the rules that depend on the field's name.

pub mod codice_fiscale;
pub mod date;
pub mod email;
pub mod file;
pub mod partita_iva;
pub mod territory;
pub mod text;

use chrono::NaiveDate;
use codice_fiscale::{CfError, CodiceFiscale};
use partita_iva::{PartitaIva, PivaError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Testo,
    Denominazione,
    Email,
    File,
    DataIso8601,
    CodiceFiscale,
    CodiceFiscalePersonaFisica,
    PartitaIva,
    CodProvincia,
    CodComune,
}

impl FieldType {
    pub const ALL: [FieldType; 10] = [
        FieldType::Testo,
        FieldType::Denominazione,
        FieldType::Email,
        FieldType::File,
        FieldType::DataIso8601,
        FieldType::CodiceFiscale,
        FieldType::CodiceFiscalePersonaFisica,
        FieldType::PartitaIva,
        FieldType::CodProvincia,
        FieldType::CodComune,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Testo => "testo",
            FieldType::Denominazione => "denominazione",
            FieldType::Email => "email",
            FieldType::File => "file",
            FieldType::DataIso8601 => "data_iso8601",
            FieldType::CodiceFiscale => "codice_fiscale",
            FieldType::CodiceFiscalePersonaFisica => "codice_fiscale_persona_fisica",
            FieldType::PartitaIva => "partita_iva",
            FieldType::CodProvincia => "cod_provincia",
            FieldType::CodComune => "cod_comune",
        }
    }

    pub fn parse(s: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Limits and facts a validator needs from outside.
#[derive(Debug, Clone)]
pub struct Context {
    pub today: NaiveDate,
    pub max_text_chars: usize,
    pub max_file_bytes: usize,
    /// Largest image (width × height) a `file` may hold.
    pub max_image_pixels: u64,
    /// Most pages a PDF `file` may have.
    pub max_pdf_pages: u32,
    /// Most `file` values one submission may carry.
    pub max_files: usize,
}

impl Context {
    /// The limits a single `file` value is checked against.
    pub fn file_limits(&self) -> file::Limits {
        file::Limits {
            max_bytes: self.max_file_bytes,
            max_image_pixels: self.max_image_pixels,
            max_pdf_pages: self.max_pdf_pages,
        }
    }
}

/// A valid value, normalised (upper-cased codes, `YYYY-MM-DD` dates, decoded files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Text(String),
    File(FileUpload),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUpload {
    /// A safe file name (no path separators), with the extension of `kind`.
    pub name: String,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
}

impl FileKind {
    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
        }
    }
}

/// Why a value is not valid. `code` is machine-readable (`cf_check_character`, `date_invalid`…);
/// `message` is English prose for a developer, never containing the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(code: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            code,
            message: message.into(),
        }
    }
}

/// Every `code` a [`FieldError`] from [`validate`] can carry, for documentation and for the
/// tests that keep this list honest. The `cf_…` and `piva_…` codes come from
/// [`codice_fiscale::CfError::code`] and [`partita_iva::PivaError::code`].
pub const ERROR_CODES: &[&str] = &[
    "required",
    "too_long",
    "control_characters",
    "email_invalid",
    "date_invalid",
    "date_out_of_range",
    "date_in_future",
    "provincia_unknown",
    "comune_unknown",
    "comune_suppressed",
    "file_encoding",
    "file_empty",
    "file_type",
    "file_too_large",
    "image_too_large",
    "pdf_too_many_pages",
];

/// What a person reads next to a refused value, by code: plain Italian, never the value. Covers
/// every code of [`ERROR_CODES`], the codice fiscale's and partita IVA's, and the submission's
/// (`required`, `unknown_field`, `too_many_files`).
pub fn italian(code: &str) -> &'static str {
    match code {
        "required" => "Questo dato serve per completare la pratica.",
        "too_long" => "Il testo è troppo lungo.",
        "control_characters" => "Il testo contiene caratteri non ammessi (a capo, tabulazioni).",
        "email_invalid" => "L'indirizzo e-mail non è valido.",
        "date_invalid" => "La data non è valida: scrivila come 31/12/1980 o scegli dal calendario.",
        "date_out_of_range" => "La data è fuori dall'intervallo ammesso.",
        "date_in_future" => "La data non può essere nel futuro.",
        "provincia_unknown" => "Provincia sconosciuta: scrivi la sigla di due lettere, come RM.",
        "comune_unknown" => "Comune sconosciuto: scrivi il codice catastale, come H501 per Roma.",
        "comune_suppressed" => "Questo comune non esiste più: indica quello attuale.",
        "file_encoding" => "Il file non si legge: caricalo di nuovo.",
        "file_empty" => "Il file è vuoto.",
        "file_type" => "Il file deve essere un PDF, una foto JPEG o un'immagine PNG.",
        "file_too_large" => "Il file è troppo grande.",
        "image_too_large" => "L'immagine ha troppi pixel: riducila o fotografa di nuovo.",
        "pdf_too_many_pages" => "Il PDF ha troppe pagine.",
        "too_many_files" => "Ci sono troppi file in questa pratica.",
        "unknown_field" => "Questo dato non fa parte della pratica.",
        "cf_length" => "Il codice fiscale ha 16 caratteri (11 cifre per un'azienda).",
        "cf_format" => "Il codice fiscale non ha la forma giusta: controlla lettere e cifre.",
        "cf_month" | "cf_day" => {
            "Il codice fiscale non è valido: controlla i caratteri della data di nascita."
        }
        "cf_belfiore" => {
            "Il codice fiscale non è valido: controlla i caratteri del luogo di nascita."
        }
        "cf_check_character" => {
            "Il codice fiscale non è valido: probabilmente c'è un errore di battitura."
        }
        "piva_format" => "La partita IVA ha 11 cifre.",
        "piva_check_digit" => {
            "La partita IVA non è valida: probabilmente c'è un errore di battitura."
        }
        "piva_office" => "La partita IVA non è valida: le cifre dell'ufficio non esistono.",
        _ => "Questo dato non è valido.",
    }
}

/// Validates `raw` as a value of `tipo` for a field named `nome` (the name decides a few
/// contextual rules: a birth date may not be in the future, a residence comune must be current,
/// a birth place may be a foreign state).
///
/// Surrounding whitespace is always ignored, and an empty value is `required`: callers that
/// treat empty as absent (as [`crate::submission::check`] does) filter it out before.
pub fn validate(
    tipo: FieldType,
    nome: &str,
    raw: &str,
    ctx: &Context,
) -> Result<FieldValue, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new("required", "the value is empty"));
    }
    let name = NameHints::of(nome);
    let text = match tipo {
        FieldType::Testo | FieldType::Denominazione => text::validate(value, ctx.max_text_chars)?,
        FieldType::Email => email::validate(value)?,
        FieldType::DataIso8601 => date::validate(value, name.birth, ctx.today)?,
        FieldType::CodiceFiscale => personal_code_or_vat(value, Prefer::CodiceFiscale)?,
        FieldType::PartitaIva => personal_code_or_vat(value, Prefer::PartitaIva)?,
        FieldType::CodiceFiscalePersonaFisica => CodiceFiscale::parse(value)
            .map(|cf| cf.as_str().to_string())
            .map_err(cf_error)?,
        FieldType::CodProvincia => provincia(value)?,
        FieldType::CodComune => comune(value, name)?,
        FieldType::File => return file::validate(value, ctx.file_limits()).map(FieldValue::File),
    };
    Ok(FieldValue::Text(text))
}

/// What the field's `nome` says about its value. The catalog has no structured "purpose" for a
/// field, and its names are Italian prose ("Data di nascita del richiedente", "Comune di
/// residenza"), so a case-insensitive look for the key word is the honest test.
#[derive(Debug, Clone, Copy)]
pub struct NameHints {
    /// A birth date or birth place.
    pub birth: bool,
    /// A place of residence, which must exist today.
    pub residence: bool,
}

impl NameHints {
    pub fn of(nome: &str) -> NameHints {
        let nome = nome.to_lowercase();
        NameHints {
            birth: nome.contains("nascita"),
            residence: nome.contains("residenza"),
        }
    }
}

fn cf_error(e: CfError) -> FieldError {
    FieldError::new(e.code(), e.to_string())
}

fn piva_error(e: PivaError) -> FieldError {
    FieldError::new(e.code(), e.to_string())
}

/// Which error to report when a value is neither a valid codice fiscale nor a valid partita IVA
/// and its shape does not say which one it tried to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefer {
    CodiceFiscale,
    PartitaIva,
}

/// `codice_fiscale` and `partita_iva` accept either kind of code, as the official SDK does
/// (a company's codice fiscale *is* its partita IVA; a sole trader is known by a personal code).
fn personal_code_or_vat(value: &str, prefer: Prefer) -> Result<String, FieldError> {
    let cf_err = match CodiceFiscale::parse(value) {
        Ok(cf) => return Ok(cf.as_str().to_string()),
        Err(e) => e,
    };
    let piva_err = match PartitaIva::parse(value) {
        Ok(piva) => return Ok(piva.as_str().to_string()),
        Err(e) => e,
    };
    // Report the error of the kind the value looks like: eleven digits were meant as a partita
    // IVA, sixteen characters as a codice fiscale; otherwise the kind the field is named after.
    let looks_like_vat = value.len() == 11 && value.bytes().all(|b| b.is_ascii_digit());
    let looks_like_cf = value.chars().count() == 16;
    if looks_like_vat || (!looks_like_cf && prefer == Prefer::PartitaIva) {
        Err(piva_error(piva_err))
    } else {
        Err(cf_error(cf_err))
    }
}

/// A sigla, current or historical (a document may name a province that has since been merged,
/// like `CI` Carbonia-Iglesias). Normalised to upper case.
fn provincia(value: &str) -> Result<String, FieldError> {
    territory::province(value)
        .map(|p| p.sigla.to_string())
        .ok_or_else(|| {
            FieldError::new(
                "provincia_unknown",
                "not a known province sigla (two letters, like RM)",
            )
        })
}

/// A Belfiore code in the ANPR list, normalised to upper case. A residence must be in a comune
/// that exists today; a birth place may also be a foreign state (its Z-code, as in the codice
/// fiscale of someone born abroad).
fn comune(value: &str, name: NameHints) -> Result<String, FieldError> {
    if let Some(c) = territory::comune(value) {
        if name.residence && !c.current {
            return Err(FieldError::new(
                "comune_suppressed",
                "the comune no longer exists; a residence must be in a current comune",
            ));
        }
        return Ok(c.belfiore.to_string());
    }
    if name.birth {
        if let Some(state) = territory::foreign_state(value) {
            return Ok(state.belfiore.to_string());
        }
    }
    Err(FieldError::new(
        "comune_unknown",
        "not a known comune: give its Belfiore (cadastral) code, a letter and three digits, like H501",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

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

    fn text(tipo: FieldType, nome: &str, raw: &str) -> String {
        match validate(tipo, nome, raw, &ctx()) {
            Ok(FieldValue::Text(t)) => t,
            other => panic!("{tipo:?} {raw:?}: {other:?}"),
        }
    }

    fn code(tipo: FieldType, nome: &str, raw: &str) -> &'static str {
        match validate(tipo, nome, raw, &ctx()) {
            Err(e) => e.code,
            Ok(v) => panic!("{tipo:?} {raw:?} should be refused, got {v:?}"),
        }
    }

    const CF: &str = "RSSMRA85T10H501O";
    const CF_FOREIGN_BORN: &str = "VRDGPP70C15Z112V";
    const PIVA: &str = "12345670017";

    #[test]
    fn every_tipo_refuses_a_blank_value_as_required() {
        for tipo in FieldType::ALL {
            assert_eq!(code(tipo, "x", " \t "), "required", "{tipo:?}");
        }
    }

    #[test]
    fn text_types_use_the_configured_limit() {
        let c = Context {
            max_text_chars: 5,
            ..ctx()
        };
        for tipo in [FieldType::Testo, FieldType::Denominazione] {
            assert!(validate(tipo, "x", " abcde ", &c).is_ok());
            assert_eq!(
                validate(tipo, "x", "abcdef", &c).unwrap_err().code,
                "too_long"
            );
            assert_eq!(
                validate(tipo, "x", "ab\ncd", &c).unwrap_err().code,
                "control_characters"
            );
        }
    }

    #[test]
    fn birth_dates_are_recognised_by_the_field_name() {
        assert_eq!(
            code(FieldType::DataIso8601, "Data di Nascita", "2030-01-01"),
            "date_in_future"
        );
        assert_eq!(
            code(FieldType::DataIso8601, "DATA NASCITA figlio", "01-01-2030"),
            "date_in_future"
        );
        assert_eq!(
            text(FieldType::DataIso8601, "Data decorrenza", "01-01-2030"),
            "2030-01-01"
        );
    }

    #[test]
    fn codice_fiscale_takes_a_personal_code_or_a_partita_iva() {
        assert_eq!(
            text(FieldType::CodiceFiscale, "cf", " rssmra85t10h501o "),
            CF
        );
        assert_eq!(text(FieldType::CodiceFiscale, "cf", PIVA), PIVA);
        assert_eq!(text(FieldType::PartitaIva, "piva", PIVA), PIVA);
        assert_eq!(text(FieldType::PartitaIva, "piva", CF), CF);
        assert_eq!(
            text(FieldType::CodiceFiscalePersonaFisica, "cf", CF_FOREIGN_BORN),
            CF_FOREIGN_BORN
        );
    }

    #[test]
    fn codice_fiscale_persona_fisica_refuses_a_partita_iva() {
        assert!(code(FieldType::CodiceFiscalePersonaFisica, "cf", PIVA).starts_with("cf_"));
    }

    #[test]
    fn the_error_reported_matches_the_shape_of_the_value() {
        // Eleven digits: a partita IVA with a wrong check digit, whatever the field.
        for tipo in [FieldType::CodiceFiscale, FieldType::PartitaIva] {
            assert!(
                code(tipo, "x", "12345670010").starts_with("piva_"),
                "{tipo:?}"
            );
            assert!(
                code(tipo, "x", "RSSMRA85T10H501A").starts_with("cf_"),
                "{tipo:?}"
            );
        }
        // Neither shape: the kind the field is named after.
        assert!(code(FieldType::CodiceFiscale, "x", "ABC").starts_with("cf_"));
        assert!(code(FieldType::PartitaIva, "x", "ABC").starts_with("piva_"));
    }

    #[test]
    fn a_wrong_check_character_is_refused() {
        assert_eq!(
            code(
                FieldType::CodiceFiscalePersonaFisica,
                "cf",
                "RSSMRA85T10H501A"
            ),
            "cf_check_character"
        );
    }

    #[test]
    fn province_current_and_historical_any_case() {
        assert_eq!(text(FieldType::CodProvincia, "provincia", " rm "), "RM");
        assert_eq!(text(FieldType::CodProvincia, "provincia", "ci"), "CI");
        for bad in ["XX", "R", "ROM", "R1", "€€"] {
            assert_eq!(
                code(FieldType::CodProvincia, "provincia", bad),
                "provincia_unknown",
                "{bad}"
            );
        }
    }

    #[test]
    fn comune_by_belfiore_code_any_case() {
        assert_eq!(text(FieldType::CodComune, "Comune", "h501"), "H501");
        for bad in ["H50", "H5011", "Roma", "Z999", "1501"] {
            assert_eq!(
                code(FieldType::CodComune, "Comune", bad),
                "comune_unknown",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_residence_must_be_a_current_comune() {
        // A002 Abbadia Sopra Adda was suppressed in 1928.
        assert_eq!(
            code(FieldType::CodComune, "Comune di residenza", "A002"),
            "comune_suppressed"
        );
        assert_eq!(
            text(FieldType::CodComune, "Comune di nascita", "A002"),
            "A002"
        );
        assert_eq!(text(FieldType::CodComune, "Comune", "a002"), "A002");
    }

    #[test]
    fn a_birth_place_may_be_a_foreign_state() {
        assert_eq!(
            text(FieldType::CodComune, "Luogo di nascita", "z112"),
            "Z112"
        );
        // Jugoslavia no longer exists, but people were born there.
        assert_eq!(
            text(FieldType::CodComune, "Comune di nascita", "Z118"),
            "Z118"
        );
        assert_eq!(
            code(FieldType::CodComune, "Comune di residenza", "Z112"),
            "comune_unknown"
        );
    }

    #[test]
    fn files_come_back_decoded() {
        let raw = format!(
            "doc.png|data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4\n")
        );
        match validate(FieldType::File, "Documento", &raw, &ctx()).unwrap() {
            FieldValue::File(f) => {
                assert_eq!((f.kind, f.name.as_str()), (FileKind::Pdf, "doc.pdf"));
                assert_eq!(f.bytes, b"%PDF-1.4\n");
            }
            other => panic!("{other:?}"),
        }
        let c = Context {
            max_file_bytes: 4,
            ..ctx()
        };
        assert_eq!(
            validate(FieldType::File, "x", &raw, &c).unwrap_err().code,
            "file_too_large"
        );
    }

    #[test]
    fn every_own_error_code_is_listed() {
        let samples = [
            (FieldType::Testo, "x", ""),
            (FieldType::Testo, "x", "a\nb"),
            (FieldType::Email, "x", "a"),
            (FieldType::DataIso8601, "x", "2020-02-30"),
            (FieldType::DataIso8601, "x", "1800-01-01"),
            (FieldType::DataIso8601, "nascita", "2100-01-01"),
            (FieldType::CodProvincia, "x", "XX"),
            (FieldType::CodComune, "x", "X000"),
            (FieldType::CodComune, "residenza", "A002"),
            (FieldType::File, "x", "!!"),
            (FieldType::File, "x", "a|"),
            (FieldType::File, "x", "AAAA"),
        ];
        for (tipo, nome, raw) in samples {
            let c = code(tipo, nome, raw);
            assert!(ERROR_CODES.contains(&c), "{c} is not in ERROR_CODES");
        }
        let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let huge_image = b64(&file::content::samples::png(10_000, 10_000));
        let long_pdf = b64(format!("%PDF-1.4 {}", "/Type/Page ".repeat(501)).as_bytes());
        for (raw, want) in [
            (huge_image, "image_too_large"),
            (long_pdf, "pdf_too_many_pages"),
        ] {
            let c = code(FieldType::File, "x", &raw);
            assert_eq!(c, want);
            assert!(ERROR_CODES.contains(&c), "{c} is not in ERROR_CODES");
        }
    }

    #[test]
    fn field_types_round_trip_their_wire_names() {
        for t in FieldType::ALL {
            assert_eq!(FieldType::parse(t.as_str()), Some(t));
        }
        assert_eq!(FieldType::parse("numero"), None);
    }

    fn known_code(c: &str) -> bool {
        ERROR_CODES.contains(&c) || c.starts_with("cf_") || c.starts_with("piva_")
    }

    proptest! {
        #[test]
        fn no_input_makes_any_validator_panic(raw in "\\PC*|.*", nome in "(Data di )?(nascita|residenza|comune|)") {
            for tipo in FieldType::ALL {
                if let Err(e) = validate(tipo, &nome, &raw, &ctx()) {
                    prop_assert!(known_code(e.code), "{}", e.code);
                    prop_assert!(!e.message.is_empty());
                    let v = raw.trim();
                    if v.chars().count() >= 8 {
                        prop_assert!(!e.message.contains(v), "message echoes the value");
                    }
                }
            }
        }

        #[test]
        fn code_like_inputs_never_panic(raw in "[a-zA-Z0-9]{0,20}|[0-9]{11}|[A-Za-z]{6}[0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{3}[A-Za-z]|[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{2}-[0-9]{2}-[0-9]{4}") {
            for tipo in FieldType::ALL {
                let _ = validate(tipo, "Data di nascita", &raw, &ctx());
                let _ = validate(tipo, "Comune di residenza", &raw, &ctx());
            }
        }

        #[test]
        fn any_bytes_as_a_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), name in "\\PC{0,40}") {
            let enc = base64::engine::general_purpose::STANDARD.encode(&bytes);
            for raw in [enc.clone(), format!("{name}|data:application/pdf;base64,{enc}"), format!("data:;base64,{enc}")] {
                match validate(FieldType::File, "x", &raw, &ctx()) {
                    Ok(FieldValue::File(f)) => {
                        prop_assert_eq!(&f.bytes, &bytes);
                        prop_assert_eq!(file::sniff(&bytes), Some(f.kind));
                        prop_assert!(f.name.chars().count() <= file::MAX_NAME_CHARS);
                        prop_assert!(!f.name.contains(['/', '\\']));
                        prop_assert!(f.name.ends_with(f.kind.extension()));
                    }
                    Ok(other) => prop_assert!(false, "{other:?}"),
                    Err(e) => prop_assert!(known_code(e.code)),
                }
            }
        }

        #[test]
        fn sanitised_names_are_always_safe(raw in "\\PC*|.*") {
            for kind in [FileKind::Pdf, FileKind::Jpeg, FileKind::Png] {
                let n = file::sanitize_name(&raw, kind);
                prop_assert!(n.chars().count() <= file::MAX_NAME_CHARS);
                prop_assert!(!n.contains(['/', '\\']));
                prop_assert!(!n.chars().any(text::is_forbidden));
                prop_assert!(!n.starts_with('.'));
                let suffix = format!(".{}", kind.extension());
                prop_assert!(n.ends_with(&suffix));
                prop_assert!(n.len() > suffix.len());
            }
        }
    }

    #[test]
    fn every_code_has_its_italian_words() {
        let generic = italian("no_such_code");
        let mut codes: Vec<&str> = ERROR_CODES.to_vec();
        codes.extend([
            "cf_length",
            "cf_format",
            "cf_month",
            "cf_day",
            "cf_belfiore",
            "cf_check_character",
            "piva_format",
            "piva_check_digit",
            "piva_office",
            "too_many_files",
            "unknown_field",
        ]);
        for code in codes {
            assert_ne!(italian(code), generic, "{code}");
            assert!(italian(code).ends_with('.'), "{code}");
        }
    }
}
