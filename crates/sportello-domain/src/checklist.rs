//! A service's checklist: the documents a CAF or Patronato needs from the person beyond the
//! form (a lease, the bank balances of an ISEE, the mandate…), as the catalog declares them.
//!
//! CONTRACT: a service file lists them as `[[documenti]]` entries and may say
//! `mandato_richiesto = true`; `catalog` reads the file and hands the entries to [`load`], which
//! checks them. A `codice` is the slug an operator's integration request and a client's upload
//! name a document by, so [`is_codice`] is the one rule for every such slug.
//!
//! ```toml
//! mandato_richiesto = true                            # optional, default false
//!
//! [[documenti]]                                       # zero or more, in the order shown
//! codice = "contratto_locazione"                      # 1–64 of [a-z0-9_], unique in the service
//! descrizione = "Contratto di affitto registrato"     # non-empty, plain Italian
//! obbligatorio = false                                # required
//! note = "Solo se la famiglia vive in affitto."      # optional
//! ```
//!
//! A service with `mandato_richiesto = true` must list a compulsory `mandato` entry: the
//! checklist is where a client learns that the practice cannot be closed without one.

use crate::catalog::Service;
use serde::Deserialize;

/// The `codice` of the mandate (the Patronato's "mandato di assistenza e rappresentanza", the
/// CAF's modello A): a document with this codice counts as the signed mandate.
pub const MANDATO: &str = "mandato";
/// The codice of the record of a mandate accepted on the person's page with an e-mailed code
/// (a *firma elettronica semplice*): the signed mandate only where its provider accepts one.
pub const MANDATO_FES: &str = "mandato_fes";

/// The longest `codice`: a slug, not a description.
pub const CODICE_MAX_CHARS: usize = 64;

/// One entry of a service's checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Documento {
    /// A slug of `[a-z0-9_]`, unique within the service.
    pub codice: String,
    /// What the person provides, in plain Italian.
    pub descrizione: String,
    /// Whether every practice of the service needs it (otherwise only in the cases `note` says).
    pub obbligatorio: bool,
    pub note: Option<String>,
}

/// Whether `s` may name a document: 1–64 characters of lowercase ASCII letters, digits and `_`.
pub fn is_codice(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= CODICE_MAX_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Service {
    /// The checklist entry with this codice, if the service lists one.
    pub fn documento(&self, codice: &str) -> Option<&Documento> {
        self.documenti.iter().find(|d| d.codice == codice)
    }
}

/// A `[[documenti]]` entry as written in a service file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DocumentoFile {
    codice: String,
    descrizione: String,
    // Required rather than defaulted: a forgotten line must not quietly make a document optional.
    obbligatorio: bool,
    #[serde(default)]
    note: Option<String>,
}

/// Checks a service file's checklist; the problem names the entry (by its codice, or by its
/// position when the codice itself is wrong).
pub(crate) fn load(
    raw: Vec<DocumentoFile>,
    mandato_richiesto: bool,
) -> Result<Vec<Documento>, String> {
    let mut documenti: Vec<Documento> = Vec::with_capacity(raw.len());
    for (i, d) in raw.into_iter().enumerate() {
        if !is_codice(&d.codice) {
            return Err(format!(
                "[[documenti]] entry {}: codice `{}` is not 1–{CODICE_MAX_CHARS} characters of [a-z0-9_]",
                i + 1,
                d.codice
            ));
        }
        if documenti.iter().any(|o| o.codice == d.codice) {
            return Err(format!("documento `{}` is listed twice", d.codice));
        }
        if d.descrizione.trim().is_empty() {
            return Err(format!("documento `{}` descrizione is empty", d.codice));
        }
        documenti.push(Documento {
            codice: d.codice,
            descrizione: d.descrizione,
            obbligatorio: d.obbligatorio,
            note: d.note.filter(|n| !n.trim().is_empty()),
        });
    }
    if mandato_richiesto {
        match documenti.iter().find(|d| d.codice == MANDATO) {
            None => {
                return Err(format!(
                    "mandato_richiesto = true needs a [[documenti]] entry with codice `{MANDATO}`"
                ))
            }
            Some(d) if !d.obbligatorio => {
                return Err(format!(
                    "documento `{MANDATO}` must be obbligatorio: the service has mandato_richiesto = true"
                ))
            }
            Some(_) => {}
        }
    }
    Ok(documenti)
}
