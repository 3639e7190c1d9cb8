//! The catalog of services, as data.
//!
//! CONTRACT: one TOML file per service under the repository's `catalog/` directory, embedded
//! with `include_str!`; `Catalog::from_files` takes (file name, text) pairs so the binary can
//! load an override directory. Loading checks the whole catalog and names the file and the
//! problem on error. Nothing here reads the disk.
//!
//! # Schema of a service file
//!
//! ```toml
//! hash_visura = "224fcc49770edad354cdd9c480a7e50e"   # required: 32 chars of [0-9a-z]
//! aliases = ["6aa0789f5ba34684b2bc5ccf364f8929"]     # optional: other hashes answering for it
//! nome_visura = "Domanda Assegno Unico"              # required, non-empty
//! nome_categoria = "Patronato"                       # required, non-empty
//! validazione = "($0 && $1) || $2"                   # required; "" means always satisfied
//! istruzioni = ""                                    # optional, default ""
//! istruzioni_ricerca = ""                            # optional, default ""
//! prezzo_visura = "19"                               # required, string or number, >= 0
//! prezzo_ricerca = "0"                               # optional, default 0, >= 0
//! ricerca = false                                    # optional, default false
//! sincrona = false                                   # optional, default false
//! fornitori = []                                     # optional, default []
//! retention_days = 365                               # optional, default 365, > 0
//! email_attachment = false                           # optional: e-mail the result as a file
//! aliquota_iva = "22"                                # optional, default 22: VAT percent, 0–100
//! esenzione_iva = "Esente art. 10 DPR 633/72"        # required with a zero rate, else refused
//! mandato_richiesto = true                           # optional, default false (see `checklist`)
//!
//! [turnaround]                                       # required: exactly one of
//! working_hours = 48                                 #   working_hours = n  (n > 0)
//!                                                    #   working_days = n   (n > 0)
//! [turnaround.urgent]                                # exactly when an option is `urgenza`:
//! working_hours = 24                                 #   the same shape, a shorter target
//!
//! [[opzioni]]                                        # zero or more, in wire order
//! nome = "opzione_0"                                 # `opzione_<n>`, unique in the service
//! tipo = "urgenza"                                   # non-empty
//! prezzo = "4"                                       # string or number, >= 0
//!
//! [campi."$0"]                                       # one table per field, key `$n`
//! nome = "Nome"                                      # non-empty
//! tipo = "testo"                                     # a `FieldType` name
//! null = false                                       # required
//! ordine = "1"                                       # optional string
//! istruzioni = "Inserisci il nome del richiedente"   # optional, default ""
//!
//! [[documenti]]                                      # the checklist, see `checklist`
//! codice = "mandato"
//! descrizione = "Mandato di assistenza e rappresentanza firmato"
//! obbligatorio = true
//!
//! [persona]                                          # optional, see `persona`: which fields
//! nome = "$0"                                        #   hold the person (each optional, a
//! cognome = "$1"                                     #   field of this service)
//! codice_fiscale = "$4"
//! mandato = "$7"                                     #   the form's copy of the mandate (a file)
//! ```
//!
//! Unknown keys are refused (a misspelt `prezo_visura` must not silently become a default).
//! Across the catalog, every canonical hash and alias is unique, every `$n` the `validazione`
//! names is a field, and there is at least one service. Prices are written as strings so that
//! `14.70` stays a decimal; plain TOML numbers are accepted too.

use crate::checklist::{self, Documento, DocumentoFile};
use crate::expression::{self, Expr};
use crate::fields::FieldType;
use crate::persona::{self, Persona, PersonaFile};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

/// Days a request's personal data is kept after it is closed, when a service file does not say.
/// A year covers the period in which a client may reasonably ask for the document again or
/// contest the outcome; services with legal reasons to differ state their own.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;

/// The VAT rate (percent) of a service whose catalog file does not state one: the ordinary
/// Italian rate (DPR 633/1972, art. 16).
pub const DEFAULT_VAT_PERCENT: Decimal = Decimal::from_parts(22, 0, 0, false, 0);

/// The service files shipped in the binary, in catalog order. Listed by hand: a new file in
/// `catalog/` must be added here (a test checks the list against the directory).
const EMBEDDED: &[(&str, &str)] = &[
    (
        "00-assegno-unico.toml",
        include_str!("../../../catalog/00-assegno-unico.toml"),
    ),
    (
        "01-congedo-parentale.toml",
        include_str!("../../../catalog/01-congedo-parentale.toml"),
    ),
    (
        "02-isee.toml",
        include_str!("../../../catalog/02-isee.toml"),
    ),
    (
        "03-pensione-vecchiaia.toml",
        include_str!("../../../catalog/03-pensione-vecchiaia.toml"),
    ),
    (
        "04-stato-di-famiglia.toml",
        include_str!("../../../catalog/04-stato-di-famiglia.toml"),
    ),
    (
        "05-isee-corrente.toml",
        include_str!("../../../catalog/05-isee-corrente.toml"),
    ),
    (
        "06-isee-minorenni.toml",
        include_str!("../../../catalog/06-isee-minorenni.toml"),
    ),
    (
        "07-isee-universita.toml",
        include_str!("../../../catalog/07-isee-universita.toml"),
    ),
];

#[derive(Debug, Clone)]
pub struct Catalog {
    services: Vec<Service>,
    /// Every canonical hash and alias → position in `services`.
    index: HashMap<String, usize>,
}

#[derive(Debug, Clone)]
pub struct Service {
    /// The canonical hash, listed by `GET /visure`.
    pub hash_visura: String,
    /// Other hashes that resolve to this service (the commercial catalogue's own).
    pub aliases: Vec<String>,
    pub nome_visura: String,
    pub nome_categoria: String,
    /// Sorted by index: `$0`, `$1`, …
    pub fields: Vec<Field>,
    pub validazione: String,
    pub expression: Expr,
    pub istruzioni: String,
    pub istruzioni_ricerca: String,
    pub opzioni: Vec<Opzione>,
    pub prezzo_visura: Decimal,
    pub prezzo_ricerca: Decimal,
    pub ricerca: bool,
    pub sincrona: bool,
    pub fornitori: Vec<String>,
    pub turnaround: Turnaround,
    /// The shorter target of a request with the `urgenza` option; present exactly when the
    /// service offers that option.
    pub urgent_turnaround: Option<Turnaround>,
    /// Days personal data is kept after the request is closed.
    pub retention_days: u32,
    /// Whether the result may travel as an e-mail attachment to `email_target` (otherwise the
    /// e-mail only says it is ready to download).
    pub email_attachment: bool,
    /// The VAT rate of its lines (options included), or its exemption.
    pub iva: Vat,
    /// The checklist: documents the provider needs beyond the form, in the file's order.
    pub documenti: Vec<Documento>,
    /// Whether a practice needs the person's signed mandate to the provider before it is closed.
    pub mandato_richiesto: bool,
    /// Which fields hold the person's name, surname and codice fiscale (`[persona]`).
    pub persona: Persona,
}

/// A service's VAT treatment, from its catalog file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vat {
    /// Percent, 0 to 100.
    pub aliquota: Decimal,
    /// The legal ground of an exemption (`"Esente art. 10 DPR 633/72"`), printed on its lines;
    /// only with a zero rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub esenzione: Option<String>,
}

impl Default for Vat {
    fn default() -> Vat {
        Vat {
            aliquota: DEFAULT_VAT_PERCENT,
            esenzione: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub index: u32,
    pub nome: String,
    pub tipo: FieldType,
    pub null: bool,
    pub ordine: Option<String>,
    pub istruzioni: String,
}

impl Field {
    /// The wire key, `$n`.
    pub fn key(&self) -> String {
        format!("${}", self.index)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opzione {
    /// `opzione_0`, `opzione_1`, …
    pub nome: String,
    /// `urgenza`, `assistenza_dedicata`, …
    pub tipo: String,
    pub prezzo: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turnaround {
    WorkingHours(u32),
    WorkingDays(u32),
}

/// The option `tipo` that asks for the urgent turnaround.
pub const URGENZA: &str = "urgenza";

impl Turnaround {
    /// Working hours, a working day counting 24 (the calendar's rule): only to compare targets.
    fn hours(self) -> u64 {
        match self {
            Turnaround::WorkingHours(h) => u64::from(h),
            Turnaround::WorkingDays(d) => u64::from(d) * 24,
        }
    }
}

impl Service {
    /// When a request of this service closed at `closed_at` (Unix seconds) loses its personal
    /// data: `retention_days` later (the retention pass purges it from then on).
    pub fn delete_after(&self, closed_at: i64) -> i64 {
        const DAY: i64 = 86_400;
        closed_at.saturating_add(i64::from(self.retention_days).saturating_mul(DAY))
    }

    /// The target for a request, urgent when it chose the `urgenza` option.
    pub fn turnaround_for(&self, urgent: bool) -> Turnaround {
        match self.urgent_turnaround {
            Some(t) if urgent => t,
            _ => self.turnaround,
        }
    }

    /// The option name (`opzione_n`) of the `urgenza` option, if the service has one.
    pub fn urgent_option(&self) -> Option<&str> {
        self.opzioni
            .iter()
            .find(|o| o.tipo == URGENZA)
            .map(|o| o.nome.as_str())
    }
}

impl fmt::Display for Turnaround {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Turnaround::WorkingHours(1) => f.write_str("1 working hour"),
            Turnaround::WorkingHours(n) => write!(f, "{n} working hours"),
            Turnaround::WorkingDays(1) => f.write_str("1 working day"),
            Turnaround::WorkingDays(n) => write!(f, "{n} working days"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct CatalogError {
    pub file: String,
    pub problem: String,
}

/// The `file` of errors about the catalog as a whole rather than one file.
const WHOLE_CATALOG: &str = "<catalog>";

impl Catalog {
    pub fn embedded() -> Result<Catalog, CatalogError> {
        let files: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect();
        Catalog::from_files(&files)
    }

    /// The (file name, text) pairs `embedded()` loads, for tools that show or export them.
    pub fn embedded_files() -> &'static [(&'static str, &'static str)] {
        EMBEDDED
    }

    /// Loads and checks a catalog. Services come in file-name order, whatever the order of
    /// `files`, so an override directory lists the same way on every machine; the first problem
    /// found (in that order) is returned.
    pub fn from_files(files: &[(String, String)]) -> Result<Catalog, CatalogError> {
        let mut sorted: Vec<&(String, String)> = files.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));

        let mut services = Vec::with_capacity(sorted.len());
        let mut index: HashMap<String, usize> = HashMap::new();
        // The file each service came from, for "already used by" messages.
        let mut origins: Vec<&str> = Vec::with_capacity(sorted.len());
        for (file, text) in sorted {
            let refuse = |problem: String| CatalogError {
                file: file.clone(),
                problem,
            };
            let service = load_service(text).map_err(refuse)?;
            let hashes: Vec<&str> = service.hashes().collect();
            for (i, hash) in hashes.iter().enumerate() {
                if hashes[..i].contains(hash) {
                    return Err(refuse(format!("hash `{hash}` is listed twice")));
                }
                if let Some(&o) = index.get(*hash) {
                    let owner = services
                        .get(o)
                        .map_or("", |s: &Service| s.nome_visura.as_str());
                    let origin = origins.get(o).copied().unwrap_or_default();
                    return Err(refuse(format!(
                        "hash `{hash}` is already used by `{owner}` in {origin}"
                    )));
                }
            }
            for hash in hashes {
                index.insert(hash.to_string(), services.len());
            }
            services.push(service);
            origins.push(file);
        }
        if services.is_empty() {
            return Err(CatalogError {
                file: WHOLE_CATALOG.to_string(),
                problem: "the catalog has no services".to_string(),
            });
        }
        Ok(Catalog { services, index })
    }

    /// Canonical services in catalog order.
    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// Looks a service up by its canonical hash or one of its aliases (exact, case-sensitive:
    /// hashes are lowercase on the wire).
    pub fn get(&self, hash: &str) -> Option<&Service> {
        self.index.get(hash).and_then(|&i| self.services.get(i))
    }
}

impl Service {
    pub fn field(&self, index: u32) -> Option<&Field> {
        self.fields.iter().find(|f| f.index == index)
    }

    /// The fields as forms and pages show them: by `ordine` (a string in the catalog), then,
    /// for fields without one or with the same, by `$n`.
    pub fn fields_in_order(&self) -> Vec<&Field> {
        let mut fields: Vec<&Field> = self.fields.iter().collect();
        fields.sort_by_key(|f| {
            (
                f.ordine
                    .as_deref()
                    .and_then(|o| o.trim().parse::<u32>().ok())
                    .unwrap_or(0),
                f.index,
            )
        });
        fields
    }

    pub fn option(&self, nome: &str) -> Option<&Opzione> {
        self.opzioni.iter().find(|o| o.nome == nome)
    }

    /// The canonical hash followed by the aliases.
    pub fn hashes(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.hash_visura.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

// ---- the file format ----------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceFile {
    hash_visura: String,
    #[serde(default)]
    aliases: Vec<String>,
    nome_visura: String,
    nome_categoria: String,
    validazione: String,
    #[serde(default)]
    istruzioni: String,
    #[serde(default)]
    istruzioni_ricerca: String,
    #[serde(deserialize_with = "price")]
    prezzo_visura: Decimal,
    #[serde(default, deserialize_with = "price")]
    prezzo_ricerca: Decimal,
    #[serde(default)]
    ricerca: bool,
    #[serde(default)]
    sincrona: bool,
    #[serde(default)]
    fornitori: Vec<String>,
    #[serde(default = "default_retention_days")]
    retention_days: u32,
    #[serde(default)]
    email_attachment: bool,
    #[serde(default, deserialize_with = "optional_price")]
    aliquota_iva: Option<Decimal>,
    #[serde(default)]
    esenzione_iva: Option<String>,
    turnaround: TurnaroundFile,
    #[serde(default)]
    opzioni: Vec<OpzioneFile>,
    #[serde(default)]
    campi: BTreeMap<String, FieldFile>,
    #[serde(default)]
    mandato_richiesto: bool,
    #[serde(default)]
    documenti: Vec<DocumentoFile>,
    #[serde(default)]
    persona: PersonaFile,
}

fn default_retention_days() -> u32 {
    DEFAULT_RETENTION_DAYS
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnaroundFile {
    working_hours: Option<u32>,
    working_days: Option<u32>,
    urgent: Option<TargetFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    working_hours: Option<u32>,
    working_days: Option<u32>,
}

fn target(what: &str, hours: Option<u32>, days: Option<u32>) -> Result<Turnaround, String> {
    match (hours, days) {
        (Some(0), None) | (None, Some(0)) => Err(format!("{what} must be greater than zero")),
        (Some(h), None) => Ok(Turnaround::WorkingHours(h)),
        (None, Some(d)) => Ok(Turnaround::WorkingDays(d)),
        _ => Err(format!(
            "{what} must give exactly one of `working_hours` or `working_days`"
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpzioneFile {
    nome: String,
    tipo: String,
    #[serde(deserialize_with = "price")]
    prezzo: Decimal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    nome: String,
    tipo: String,
    null: bool,
    ordine: Option<String>,
    #[serde(default)]
    istruzioni: String,
}

/// A price written as a string (`"14.70"`, exact) or a TOML number (`19`, `14.7`). A float is
/// read through its shortest decimal spelling, so `14.7` becomes exactly 14.7, not the nearest
/// binary fraction.
fn price<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    struct PriceVisitor;
    impl Visitor<'_> for PriceVisitor {
        type Value = Decimal;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a price as a string (\"14.70\") or a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            Decimal::from_str(v.trim())
                .map_err(|_| E::custom(format!("`{v}` is not a decimal number")))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            if !v.is_finite() {
                return Err(E::custom("a price must be a finite number"));
            }
            Decimal::from_str(&v.to_string())
                .map_err(|_| E::custom(format!("{v} is out of range for a price")))
        }
    }
    deserializer.deserialize_any(PriceVisitor)
}

fn optional_price<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    price(deserializer).map(Some)
}

/// The VAT of a service file: the ordinary rate unless stated; a zero rate must say why (the
/// invoice prints the legal ground of the exemption), and only a zero rate may.
fn vat(rate: Option<Decimal>, esenzione: Option<String>) -> Result<Vat, String> {
    let aliquota = rate.unwrap_or(DEFAULT_VAT_PERCENT);
    if aliquota.is_sign_negative() && !aliquota.is_zero() || aliquota > Decimal::ONE_HUNDRED {
        return Err(format!(
            "aliquota_iva must be between 0 and 100, not {aliquota}"
        ));
    }
    let esenzione = esenzione.filter(|e| !e.trim().is_empty());
    match (aliquota.is_zero(), &esenzione) {
        (true, None) => Err(
            "aliquota_iva 0 needs esenzione_iva: the legal ground printed on the invoice".into(),
        ),
        (false, Some(_)) => Err("esenzione_iva is only for aliquota_iva 0".into()),
        _ => Ok(Vat {
            aliquota,
            esenzione,
        }),
    }
}

fn load_service(text: &str) -> Result<Service, String> {
    let raw: ServiceFile = toml::from_str(text).map_err(|e| toml_problem(text, &e))?;

    check_hash("hash_visura", &raw.hash_visura)?;
    for alias in &raw.aliases {
        check_hash("alias", alias)?;
    }
    non_empty("nome_visura", &raw.nome_visura)?;
    non_empty("nome_categoria", &raw.nome_categoria)?;
    non_negative("prezzo_visura", raw.prezzo_visura)?;
    non_negative("prezzo_ricerca", raw.prezzo_ricerca)?;
    let iva = vat(raw.aliquota_iva, raw.esenzione_iva)?;
    if raw.retention_days == 0 {
        // Zero would destroy the result before the client could download it.
        return Err("retention_days must be greater than zero".to_string());
    }
    let turnaround = target(
        "turnaround",
        raw.turnaround.working_hours,
        raw.turnaround.working_days,
    )?;
    let urgent_turnaround = match &raw.turnaround.urgent {
        Some(u) => Some(target(
            "turnaround.urgent",
            u.working_hours,
            u.working_days,
        )?),
        None => None,
    };

    let mut fields = Vec::with_capacity(raw.campi.len());
    for (key, f) in raw.campi {
        let index = expression::field_key(&key)
            .ok_or_else(|| format!("field key `{key}` is not of the form `$n`"))?;
        non_empty(&format!("field `{key}` nome"), &f.nome)?;
        let tipo = FieldType::parse(&f.tipo).ok_or_else(|| {
            let known: Vec<&str> = FieldType::ALL.iter().map(|t| t.as_str()).collect();
            format!(
                "field `{key}` has unknown tipo `{}` (known: {})",
                f.tipo,
                known.join(", ")
            )
        })?;
        fields.push(Field {
            index,
            nome: f.nome,
            tipo,
            null: f.null,
            ordine: f.ordine,
            istruzioni: f.istruzioni,
        });
    }
    // The map is ordered by key text (`$10` before `$2`); the model promises index order.
    fields.sort_by_key(|f| f.index);

    let expression = expression::parse(&raw.validazione)
        .map_err(|e| format!("validazione does not parse: {e}"))?;
    for n in expression.variables() {
        if !fields.iter().any(|f| f.index == n) {
            let defined: Vec<String> = fields.iter().map(Field::key).collect();
            return Err(format!(
                "validazione{} names `${n}`, which is not a field (fields: {})",
                variable_offset(&raw.validazione, n)
                    .map(|o| format!(" at offset {o}"))
                    .unwrap_or_default(),
                if defined.is_empty() {
                    "none".to_string()
                } else {
                    defined.join(", ")
                }
            ));
        }
    }

    let mut opzioni: Vec<Opzione> = Vec::with_capacity(raw.opzioni.len());
    for o in raw.opzioni {
        let well_formed = o
            .nome
            .strip_prefix("opzione_")
            .and_then(|n| expression::field_key(&format!("${n}")))
            .is_some();
        if !well_formed {
            return Err(format!(
                "option name `{}` is not of the form `opzione_<n>`",
                o.nome
            ));
        }
        if opzioni.iter().any(|p| p.nome == o.nome) {
            return Err(format!("option `{}` is defined twice", o.nome));
        }
        non_empty(&format!("option `{}` tipo", o.nome), &o.tipo)?;
        non_negative(&format!("option `{}` prezzo", o.nome), o.prezzo)?;
        opzioni.push(Opzione {
            nome: o.nome,
            tipo: o.tipo,
            prezzo: o.prezzo,
        });
    }

    let offers_urgenza = opzioni.iter().any(|o| o.tipo == URGENZA);
    match urgent_turnaround {
        None if offers_urgenza => {
            return Err(
                "the service offers `urgenza`: [turnaround.urgent] must say its shorter target"
                    .to_string(),
            )
        }
        Some(_) if !offers_urgenza => {
            return Err(
                "[turnaround.urgent] is set but the service offers no `urgenza` option".to_string(),
            )
        }
        Some(u) if u.hours() >= turnaround.hours() => {
            return Err(format!(
                "turnaround.urgent ({u}) must be shorter than the turnaround ({turnaround})"
            ))
        }
        _ => {}
    }

    let documenti = checklist::load(raw.documenti, raw.mandato_richiesto)?;
    let persona = persona::load(raw.persona, &fields)?;

    Ok(Service {
        hash_visura: raw.hash_visura,
        aliases: raw.aliases,
        nome_visura: raw.nome_visura,
        nome_categoria: raw.nome_categoria,
        fields,
        validazione: raw.validazione,
        expression,
        istruzioni: raw.istruzioni,
        istruzioni_ricerca: raw.istruzioni_ricerca,
        opzioni,
        prezzo_visura: raw.prezzo_visura,
        prezzo_ricerca: raw.prezzo_ricerca,
        ricerca: raw.ricerca,
        sincrona: raw.sincrona,
        fornitori: raw.fornitori,
        turnaround,
        urgent_turnaround,
        retention_days: raw.retention_days,
        email_attachment: raw.email_attachment,
        iva,
        documenti,
        mandato_richiesto: raw.mandato_richiesto,
        persona,
    })
}

/// A TOML or schema error with its line and column (1-based), which `toml` gives as a byte span.
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    let location = e
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| {
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(" at line {line}, column {column}")
        })
        .unwrap_or_default();
    format!("invalid TOML{location}: {message}")
}

/// Hashes are 32 lowercase letters or digits: mostly md5 hex, but the commercial catalogue has
/// a few non-hex ones (`afa0b4cu7yd06226i5d89p00077c3j6t`), so any lowercase letter is allowed.
fn check_hash(what: &str, hash: &str) -> Result<(), String> {
    let ok = hash.len() == 32
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(format!("{what} `{hash}` is not 32 characters of [0-9a-z]"))
    }
}

fn non_empty(what: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        Err(format!("{what} is empty"))
    } else {
        Ok(())
    }
}

fn non_negative(what: &str, price: Decimal) -> Result<(), String> {
    if price.is_sign_negative() && !price.is_zero() {
        Err(format!("{what} is negative ({price})"))
    } else {
        Ok(())
    }
}

/// Byte offset of the first `$n` token in `src` (not the prefix of a longer `$nm`).
fn variable_offset(src: &str, n: u32) -> Option<usize> {
    let needle = format!("${n}");
    src.match_indices(&needle).map(|(i, _)| i).find(|&i| {
        !src.as_bytes()
            .get(i + needle.len())
            .is_some_and(u8::is_ascii_digit)
    })
}
