//! What operators send about a request, parsed once at the edge into the types the operator use
//! cases take: the operator API reads them from a JSON body's members, the back office from its
//! forms (`backoffice::form`), the sandbox builds them itself. Both readers share the rules here
//! (lengths, defaults, no NUL), and every problem is an [`Invalid`], named for each audience by
//! an exhaustive `match`.
//!
//! Invariant: no message quotes what was sent (it may be personal data).

use crate::body::members::{Member, Members, Read, Shape};
use crate::body::{BodyLimit, JsonShape};

/// The longest message asking the client for an integration.
pub const MAX_MESSAGGIO_CHARS: usize = 2000;
/// The longest reason for cancelling.
pub const MAX_MOTIVO_CHARS: usize = 1000;
/// The longest `esito.info`.
pub const MAX_ESITO_INFO_CHARS: usize = 1000;
/// The longest `esito.codice`, in bytes.
const MAX_ESITO_CODICE_BYTES: usize = 16;
/// The longest name of a result file.
const MAX_NOME_CHARS: usize = 100;
/// The longest note between operators.
pub const MAX_NOTE_CHARS: usize = 2000;
/// The longest description of a document asked for.
pub const MAX_DESCRIZIONE_CHARS: usize = 300;
/// The most documents one integration request may ask for.
pub const MAX_DOCUMENTI: usize = 20;

/// Why something an operator (or an admin, for a reassignment) sent was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Messaggio,
    /// `campi` is not a list.
    Campi,
    /// An entry of `campi` is not a field of the request's service.
    UnknownCampo,
    /// `documenti` is not a list of at most [`MAX_DOCUMENTI`] objects `{codice, descrizione}`.
    Documenti,
    /// A document's `codice` is not a slug of `[a-z0-9_]` (1–64).
    DocumentoCodice,
    /// A document's `descrizione` is missing (and not in the service's checklist) or too long.
    DocumentoDescrizione,
    Motivo,
    /// The name of a result file.
    Nome,
    /// The API's result file is missing.
    File,
    /// The back office's upload carried an empty file.
    NoFileChosen,
    /// `esito` is not an object.
    Esito,
    EsitoCodice,
    EsitoInfo,
    Nota,
    /// A reassignment to a provider that does not exist.
    Provider,
    /// A text holds the NUL character, which PostgreSQL's text columns cannot store.
    Nul(Text),
}

/// The texts an operator writes, each refused on its own terms (and named when it holds a NUL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Messaggio,
    Motivo,
    Nome,
    Nota,
    EsitoCodice,
    EsitoInfo,
    Descrizione,
}

impl Text {
    /// What refuses it when it is missing, blank where it must not be, or too long.
    fn invalid(self) -> Invalid {
        match self {
            Text::Messaggio => Invalid::Messaggio,
            Text::Motivo => Invalid::Motivo,
            Text::Nome => Invalid::Nome,
            Text::Nota => Invalid::Nota,
            Text::EsitoCodice => Invalid::EsitoCodice,
            Text::EsitoInfo => Invalid::EsitoInfo,
            Text::Descrizione => Invalid::DocumentoDescrizione,
        }
    }
}

impl Invalid {
    /// The member named in the envelope's `details` (`campo`).
    pub fn campo(self) -> &'static str {
        match self {
            Invalid::Messaggio => "messaggio",
            Invalid::Campi | Invalid::UnknownCampo => "campi",
            Invalid::Documenti => "documenti",
            Invalid::DocumentoCodice => "documenti.codice",
            Invalid::DocumentoDescrizione => "documenti.descrizione",
            Invalid::Motivo => "motivo",
            Invalid::Nome => "nome",
            Invalid::File | Invalid::NoFileChosen => "file",
            Invalid::Esito => "esito",
            Invalid::EsitoCodice => "esito.codice",
            Invalid::EsitoInfo => "esito.info",
            Invalid::Nota => "nota",
            Invalid::Provider => "provider",
            Invalid::Nul(text) => text.invalid().campo(),
        }
    }

    /// The detail's `codice`.
    pub fn codice(self) -> &'static str {
        match self {
            Invalid::Messaggio | Invalid::Motivo | Invalid::Nome | Invalid::Nota => "text_invalid",
            Invalid::Campi => "campi_invalid",
            Invalid::UnknownCampo => "unknown_field",
            Invalid::Documenti => "documenti_invalid",
            Invalid::DocumentoCodice => "codice_invalid",
            Invalid::DocumentoDescrizione => "text_invalid",
            Invalid::File | Invalid::NoFileChosen => "required",
            Invalid::Esito | Invalid::EsitoCodice | Invalid::EsitoInfo => "esito_invalid",
            Invalid::Provider => "unknown",
            Invalid::Nul(_) => "nul_character",
        }
    }

    /// English, for API callers: the detail's `messaggio`.
    pub fn message(self) -> &'static str {
        match self {
            Invalid::Messaggio => "messaggio must be a non-empty string of at most 2000 characters",
            Invalid::Campi => "campi must be a list like [\"$5\"]",
            Invalid::UnknownCampo => {
                "every entry of campi must be a field of the service, like \"$5\""
            }
            Invalid::Documenti => {
                "documenti must be a list of at most 20 objects like {\"codice\": \"contratto_locazione\", \"descrizione\": \"…\"}"
            }
            Invalid::DocumentoCodice => {
                "every codice of documenti must be 1 to 64 characters of a-z, 0-9 and _"
            }
            Invalid::DocumentoDescrizione => {
                "every document needs a descrizione of at most 300 characters (it may be left out for a document of the service's checklist)"
            }
            Invalid::Motivo => "motivo must be a non-empty string of at most 1000 characters",
            Invalid::Nome => "nome must be a non-empty string of at most 100 characters",
            Invalid::File => "file is required: base64 or a data: URL",
            Invalid::NoFileChosen => "file is required: choose a file to upload",
            Invalid::Esito => "esito must be an object {codice, info}",
            Invalid::EsitoCodice => "esito.codice must be a short string",
            Invalid::EsitoInfo => "esito.info must be a string of at most 1000 characters",
            Invalid::Nota => "nota must be a non-empty string of at most 2000 characters",
            Invalid::Provider => "no such provider",
            Invalid::Nul(_) => "the text must not contain the NUL character (\\u0000)",
        }
    }

    /// Italian, for the back office's pages.
    pub fn italian(self) -> &'static str {
        match self {
            Invalid::Messaggio => "Scrivi il messaggio per il cliente (al massimo 2000 caratteri).",
            Invalid::Campi | Invalid::UnknownCampo => {
                "Uno dei campi indicati non appartiene al servizio."
            }
            Invalid::Documenti => "Puoi chiedere al massimo 20 documenti alla volta.",
            Invalid::DocumentoCodice => {
                "Il codice di un documento può contenere solo lettere minuscole, cifre e _ (al massimo 64)."
            }
            Invalid::DocumentoDescrizione => {
                "Descrivi ogni documento richiesto (al massimo 300 caratteri)."
            }
            Invalid::Motivo => "Scrivi il motivo dell'annullamento (al massimo 1000 caratteri).",
            Invalid::Nome => "Il nome del file non è valido (al massimo 100 caratteri).",
            Invalid::File | Invalid::NoFileChosen => "Scegli un file da caricare.",
            Invalid::Esito | Invalid::EsitoCodice | Invalid::EsitoInfo => {
                "L'esito indicato non è valido (codice breve, descrizione di al massimo 1000 caratteri)."
            }
            Invalid::Nota => "Scrivi la nota (al massimo 2000 caratteri).",
            Invalid::Provider => "Fornitore sconosciuto.",
            Invalid::Nul(_) => "Il testo contiene un carattere non ammesso (NUL): toglilo e riprova.",
        }
    }
}

/// A text the operator wrote, trimmed; `None` when absent or blank and not `required`. The
/// length is counted before trimming, as it always was.
fn text(
    raw: Option<&str>,
    which: Text,
    max: usize,
    required: bool,
) -> Result<Option<String>, Invalid> {
    let Some(raw) = raw.filter(|s| !s.trim().is_empty()) else {
        return if required {
            Err(which.invalid())
        } else {
            Ok(None)
        };
    };
    if raw.contains('\0') {
        return Err(Invalid::Nul(which));
    }
    if raw.chars().count() > max {
        return Err(which.invalid());
    }
    Ok(Some(raw.trim().to_string()))
}

/// A member read as an optional string: absent and `null` are `None`, anything else not a
/// string is `invalid`.
fn string_member(m: Option<&Member>, invalid: Invalid) -> Result<Option<&str>, Invalid> {
    match m {
        None | Some(Member::Null) => Ok(None),
        Some(Member::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid),
    }
}

/// `POST /operator/requests/{id}/integration`: what the client is asked, which fields and which
/// documents.
#[derive(Debug, Clone)]
pub struct AskIntegration {
    pub messaggio: String,
    /// `"$n"` keys, sorted, without repeats; the use case checks them against the service.
    pub campi: Vec<String>,
    /// Documents beyond the form, in the order asked, one per codice.
    pub documenti: Vec<AskedDocument>,
}

/// A document asked for; without a description, the use case takes the checklist's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskedDocument {
    pub codice: String,
    pub descrizione: Option<String>,
}

impl AskedDocument {
    pub fn new(codice: &str, descrizione: Option<&str>) -> Result<Self, Invalid> {
        let codice = codice.trim();
        if !sportello_domain::checklist::is_codice(codice) {
            return Err(Invalid::DocumentoCodice);
        }
        let descrizione = text(descrizione, Text::Descrizione, MAX_DESCRIZIONE_CHARS, false)?;
        Ok(AskedDocument {
            codice: codice.to_string(),
            descrizione,
        })
    }
}

impl AskIntegration {
    pub fn new(
        messaggio: Option<&str>,
        campi: Vec<String>,
        documenti: Vec<AskedDocument>,
    ) -> Result<Self, Invalid> {
        let messaggio =
            text(messaggio, Text::Messaggio, MAX_MESSAGGIO_CHARS, true)?.unwrap_or_default();
        let mut campi = campi;
        campi.sort();
        campi.dedup();
        if documenti.len() > MAX_DOCUMENTI {
            return Err(Invalid::Documenti);
        }
        let mut unique: Vec<AskedDocument> = Vec::with_capacity(documenti.len());
        for d in documenti {
            if !unique.iter().any(|u| u.codice == d.codice) {
                unique.push(d);
            }
        }
        Ok(AskIntegration {
            messaggio,
            campi,
            documenti: unique,
        })
    }

    pub fn from_members(m: Members) -> Result<Self, Invalid> {
        let messaggio = string_member(m.get("messaggio"), Invalid::Messaggio)?;
        let campi = match m.get("campi") {
            None | Some(Member::Null) => Vec::new(),
            // An entry that is not a string names no field.
            Some(Member::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or(Invalid::UnknownCampo)?,
            Some(_) => return Err(Invalid::Campi),
        };
        let documenti = match m.get("documenti") {
            None | Some(Member::Null) => Vec::new(),
            Some(Member::Raw(text)) => documenti(text)?,
            Some(_) => return Err(Invalid::Documenti),
        };
        AskIntegration::new(messaggio, campi, documenti)
    }
}

/// `documenti` as sent: a list of `{codice, descrizione}` (the route's body limit bounds it).
fn documenti(text: &str) -> Result<Vec<AskedDocument>, Invalid> {
    #[derive(serde::Deserialize)]
    struct Sent {
        codice: Option<serde_json::Value>,
        descrizione: Option<serde_json::Value>,
    }
    let sent: Option<Vec<Sent>> = serde_json::from_str(text).map_err(|_| Invalid::Documenti)?;
    let sent = sent.unwrap_or_default();
    if sent.len() > MAX_DOCUMENTI {
        return Err(Invalid::Documenti);
    }
    sent.into_iter()
        .map(|d| {
            let codice = match &d.codice {
                Some(serde_json::Value::String(c)) => c.as_str(),
                _ => return Err(Invalid::DocumentoCodice),
            };
            let descrizione = match &d.descrizione {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(t)) => Some(t.as_str()),
                Some(_) => return Err(Invalid::DocumentoDescrizione),
            };
            AskedDocument::new(codice, descrizione)
        })
        .collect()
}

impl Shape for AskIntegration {
    const MEMBERS: &'static [(&'static str, Read)] = &[
        ("messaggio", Read::Value),
        ("campi", Read::Value),
        ("documenti", Read::Raw),
    ];
}

impl JsonShape for AskIntegration {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

/// `POST /operator/requests/{id}/results`: one file, base64 or a `data:` URL, checked by the use
/// case (its kind comes from its bytes).
#[derive(Debug, Clone)]
pub struct ResultFile {
    pub nome: Option<String>,
    pub file: String,
}

impl ResultFile {
    pub fn from_members(mut m: Members) -> Result<Self, Invalid> {
        let nome = text(
            string_member(m.get("nome"), Invalid::Nome)?,
            Text::Nome,
            MAX_NOME_CHARS,
            false,
        )?;
        // Taken, not copied: it can be megabytes.
        let file = match m.take("file") {
            Some(Member::String(s)) if !s.is_empty() => s,
            _ => return Err(Invalid::File),
        };
        Ok(ResultFile { nome, file })
    }
}

impl Shape for ResultFile {
    const MEMBERS: &'static [(&'static str, Read)] =
        &[("nome", Read::Value), ("file", Read::Value)];
}

impl JsonShape for ResultFile {
    const LIMIT: BodyLimit = BodyLimit::Result;
}

/// The outcome recorded on closing; `{"codice": "0", "info": "OK"}` when not given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Esito {
    pub codice: String,
    pub info: String,
}

impl Esito {
    /// `None` takes the default; an empty `codice` is refused, an empty `info` kept.
    pub fn new(codice: Option<&str>, info: Option<&str>) -> Result<Esito, Invalid> {
        let codice = match codice {
            None => "0",
            Some(c) if c.contains('\0') => return Err(Invalid::Nul(Text::EsitoCodice)),
            Some(c) if !c.is_empty() && c.len() <= MAX_ESITO_CODICE_BYTES => c,
            Some(_) => return Err(Invalid::EsitoCodice),
        };
        let info = match info {
            None => "OK",
            Some(i) if i.contains('\0') => return Err(Invalid::Nul(Text::EsitoInfo)),
            Some(i) if i.chars().count() <= MAX_ESITO_INFO_CHARS => i,
            Some(_) => return Err(Invalid::EsitoInfo),
        };
        Ok(Esito {
            codice: codice.to_string(),
            info: info.to_string(),
        })
    }
}

/// `POST /operator/requests/{id}/close`.
#[derive(Debug, Clone)]
pub struct Close {
    pub esito: Esito,
}

impl Close {
    pub fn from_members(m: Members) -> Result<Self, Invalid> {
        let esito = match m.get("esito") {
            None | Some(Member::Null) => Esito::new(None, None)?,
            Some(Member::Object(e)) => {
                // A number is a code too (`{"codice": 0}`).
                let number;
                let codice = match e.get("codice") {
                    None => None,
                    Some(Member::String(s)) => Some(s.as_str()),
                    Some(Member::Number(n)) => {
                        number = n.to_string();
                        Some(number.as_str())
                    }
                    Some(_) => return Err(Invalid::EsitoCodice),
                };
                let info = match e.get("info") {
                    None => None,
                    Some(Member::String(s)) => Some(s.as_str()),
                    Some(_) => return Err(Invalid::EsitoInfo),
                };
                Esito::new(codice, info)?
            }
            Some(_) => return Err(Invalid::Esito),
        };
        Ok(Close { esito })
    }
}

impl Shape for Close {
    const MEMBERS: &'static [(&'static str, Read)] = &[("esito", Read::Value)];
}

impl JsonShape for Close {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

/// `POST /operator/requests/{id}/cancel`: why, in words the client will read.
#[derive(Debug, Clone)]
pub struct Cancel {
    pub motivo: String,
}

impl Cancel {
    pub fn new(motivo: Option<&str>) -> Result<Self, Invalid> {
        let motivo = text(motivo, Text::Motivo, MAX_MOTIVO_CHARS, true)?;
        Ok(Cancel {
            motivo: motivo.unwrap_or_default(),
        })
    }

    pub fn from_members(m: Members) -> Result<Self, Invalid> {
        Cancel::new(string_member(m.get("motivo"), Invalid::Motivo)?)
    }
}

impl Shape for Cancel {
    const MEMBERS: &'static [(&'static str, Read)] = &[("motivo", Read::Value)];
}

impl JsonShape for Cancel {
    const LIMIT: BodyLimit = BodyLimit::Json;
}

/// A note between the operators of a request.
#[derive(Debug, Clone)]
pub struct Note {
    pub text: String,
}

impl Note {
    pub fn new(text_sent: Option<&str>) -> Result<Self, Invalid> {
        let text = text(text_sent, Text::Nota, MAX_NOTE_CHARS, true)?;
        Ok(Note {
            text: text.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::body::members;
    use serde_json::json;

    /// `v` read as the operator API reads a body (every member these inputs name).
    fn members(v: serde_json::Value) -> Members {
        struct Every;
        impl Shape for Every {
            const MEMBERS: &'static [(&'static str, Read)] = &[
                ("messaggio", Read::Value),
                ("campi", Read::Value),
                ("nome", Read::Value),
                ("file", Read::Value),
                ("esito", Read::Value),
                ("motivo", Read::Value),
            ];
        }
        members::parse::<Every>(v.to_string().as_bytes(), 32).unwrap()
    }

    #[test]
    fn a_nul_character_is_refused_in_every_text_naming_its_member() {
        let nul = "a\u{0}b";
        assert_eq!(
            Close::from_members(members(json!({"esito": {"info": nul}}))).unwrap_err(),
            Invalid::Nul(Text::EsitoInfo)
        );
        assert_eq!(
            Close::from_members(members(json!({"esito": {"codice": nul}}))).unwrap_err(),
            Invalid::Nul(Text::EsitoCodice)
        );
        assert_eq!(
            Cancel::new(Some(nul)).unwrap_err(),
            Invalid::Nul(Text::Motivo)
        );
        assert_eq!(
            AskIntegration::new(Some(nul), Vec::new(), Vec::new()).unwrap_err(),
            Invalid::Nul(Text::Messaggio)
        );
        assert_eq!(Note::new(Some(nul)).unwrap_err(), Invalid::Nul(Text::Nota));
        let file = members(json!({"nome": nul, "file": "x"}));
        assert_eq!(
            ResultFile::from_members(file).unwrap_err(),
            Invalid::Nul(Text::Nome)
        );
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(Cancel::new(Some("  doppia ")).unwrap().motivo, "doppia");
        assert_eq!(Cancel::new(Some("   ")).unwrap_err(), Invalid::Motivo);
        assert_eq!(Cancel::new(None).unwrap_err(), Invalid::Motivo);
        let long = "x".repeat(MAX_MOTIVO_CHARS + 1);
        assert_eq!(Cancel::new(Some(&long)).unwrap_err(), Invalid::Motivo);
    }

    #[test]
    fn esito_has_defaults_and_takes_a_numeric_code() {
        let default = Close::from_members(members(json!({}))).unwrap();
        assert_eq!(default.esito, Esito::new(None, None).unwrap());
        assert_eq!(default.esito.codice, "0");
        assert_eq!(default.esito.info, "OK");
        let numeric = Close::from_members(members(json!({"esito": {"codice": 3}}))).unwrap();
        assert_eq!(numeric.esito.codice, "3");
        assert_eq!(
            Close::from_members(members(json!({"esito": "ok"}))).unwrap_err(),
            Invalid::Esito
        );
    }

    #[test]
    fn campi_are_strings_sorted_once() {
        let ask = AskIntegration::from_members(members(
            json!({"messaggio": "m", "campi": ["$5", "$1", "$5"]}),
        ))
        .unwrap();
        assert_eq!(ask.campi, ["$1", "$5"]);
        let not_a_list = members(json!({"messaggio": "m", "campi": "$5"}));
        assert_eq!(
            AskIntegration::from_members(not_a_list).unwrap_err(),
            Invalid::Campi
        );
        let not_a_key = members(json!({"messaggio": "m", "campi": [5]}));
        assert_eq!(
            AskIntegration::from_members(not_a_key).unwrap_err(),
            Invalid::UnknownCampo
        );
    }

    #[test]
    fn every_problem_names_a_member_in_every_language() {
        let all = [
            Invalid::Messaggio,
            Invalid::Campi,
            Invalid::UnknownCampo,
            Invalid::Motivo,
            Invalid::Nome,
            Invalid::File,
            Invalid::NoFileChosen,
            Invalid::Esito,
            Invalid::EsitoCodice,
            Invalid::EsitoInfo,
            Invalid::Nota,
            Invalid::Provider,
            Invalid::Nul(Text::Motivo),
        ];
        for i in all {
            assert!(!i.campo().is_empty() && !i.codice().is_empty(), "{i:?}");
            assert!(!i.message().is_empty() && !i.italian().is_empty(), "{i:?}");
        }
    }
}
