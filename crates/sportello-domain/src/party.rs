//! A provider as a legal party: a CAF or a Patronato with its denominazione, codice fiscale
//! (or partita IVA), sede and contacts, parsed once at the edge.
//!
//! Invariant: a [`Party`] holds only checked values; errors never repeat the value refused.

use crate::fields::codice_fiscale::CodiceFiscale;
use crate::fields::partita_iva::PartitaIva;
use crate::fields::{email, territory};

const MAX_TEXT: usize = 200;

/// What kind of provider: the two the law knows for Sportello's services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tipo {
    /// Centro di assistenza fiscale (D.Lgs. 241/1997).
    Caf,
    /// Istituto di patronato (L. 152/2001).
    Patronato,
}

impl Tipo {
    pub fn as_str(self) -> &'static str {
        match self {
            Tipo::Caf => "CAF",
            Tipo::Patronato => "Patronato",
        }
    }

    /// `CAF` or `Patronato`, in any case.
    pub fn parse(s: &str) -> Option<Tipo> {
        match s.trim().to_ascii_lowercase().as_str() {
            "caf" => Some(Tipo::Caf),
            "patronato" => Some(Tipo::Patronato),
            _ => None,
        }
    }
}

/// A party's data as typed by an admin: every member optional, blanks meaning absent.
#[derive(Debug, Clone, Default)]
pub struct RawParty<'a> {
    pub denominazione: Option<&'a str>,
    pub tipo: Option<&'a str>,
    pub codice_fiscale: Option<&'a str>,
    pub indirizzo: Option<&'a str>,
    pub comune: Option<&'a str>,
    pub provincia: Option<&'a str>,
    pub email: Option<&'a str>,
    pub pec: Option<&'a str>,
    pub telefono: Option<&'a str>,
}

/// A checked party. Denominazione, tipo and codice fiscale are required; the sede and contacts
/// may be missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub denominazione: String,
    pub tipo: Tipo,
    /// An 11-digit codice fiscale / partita IVA (a legal person's), or a 16-character one.
    pub codice_fiscale: String,
    pub indirizzo: Option<String>,
    pub comune: Option<String>,
    /// A current province's sigla, upper case.
    pub provincia: Option<String>,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub telefono: Option<String>,
}

/// Why a party's data was refused: the member, a stable code, an English message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{campo}: {messaggio}")]
pub struct PartyError {
    pub campo: &'static str,
    pub codice: &'static str,
    pub messaggio: &'static str,
}

fn refuse(campo: &'static str, codice: &'static str, messaggio: &'static str) -> PartyError {
    PartyError {
        campo,
        codice,
        messaggio,
    }
}

fn present(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

fn text(campo: &'static str, v: Option<&str>) -> Result<Option<String>, PartyError> {
    match present(v) {
        Some(s) if s.chars().count() > MAX_TEXT || s.chars().any(char::is_control) => Err(refuse(
            campo,
            "text_invalid",
            "at most 200 characters, on one line",
        )),
        other => Ok(other.map(str::to_string)),
    }
}

/// A legal person's codice fiscale is 11 digits, checked like a partita IVA (DPR 605/1973
/// art. 11 gives both the same form); a natural person's is the 16-character one.
pub fn parse_codice_fiscale(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() == 11 {
        PartitaIva::parse(s).ok().map(|p| p.as_str().to_string())
    } else {
        CodiceFiscale::parse(s).ok().map(|c| c.as_str().to_string())
    }
}

/// A telephone number as people write it: digits with spaces, dots, dashes, slashes or
/// brackets, an optional leading `+`; 6 to 15 digits (ITU-T E.164's maximum).
fn telefono(v: Option<&str>) -> Result<Option<String>, PartyError> {
    let Some(s) = present(v) else {
        return Ok(None);
    };
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    let allowed = body
        .chars()
        .all(|c| c.is_ascii_digit() || " .-/()".contains(c));
    if !allowed || !(6..=15).contains(&digits) {
        return Err(refuse(
            "telefono",
            "telefono_invalid",
            "a telephone number has 6 to 15 digits",
        ));
    }
    Ok(Some(s.to_string()))
}

fn address(campo: &'static str, v: Option<&str>) -> Result<Option<String>, PartyError> {
    present(v)
        .map(|s| {
            email::validate(s).map_err(|_| refuse(campo, "email_invalid", "not an e-mail address"))
        })
        .transpose()
}

impl Party {
    /// The party, or the first member refused (see [`Party::parse_all`] for the order).
    pub fn parse(raw: &RawParty<'_>) -> Result<Party, PartyError> {
        Party::parse_all(raw).map_err(|mut errors| errors.remove(0))
    }

    /// The party, or every member refused (never an empty list): denominazione, tipo, codice
    /// fiscale, provincia, then the others in the order of [`RawParty`]. A form shows each
    /// error next to its field at once.
    pub fn parse_all(raw: &RawParty<'_>) -> Result<Party, Vec<PartyError>> {
        let denominazione = text("denominazione", raw.denominazione).and_then(|d| {
            d.ok_or_else(|| refuse("denominazione", "required", "the denominazione is required"))
        });
        let tipo = present(raw.tipo)
            .and_then(Tipo::parse)
            .ok_or_else(|| refuse("tipo", "tipo_invalid", "tipo is CAF or Patronato"));
        let codice_fiscale = present(raw.codice_fiscale)
            .and_then(parse_codice_fiscale)
            .ok_or_else(|| {
                refuse(
                    "codice_fiscale",
                    "codice_fiscale_invalid",
                    "a valid codice fiscale (11 digits, or 16 characters) or partita IVA is required",
                )
            });
        let provincia = match present(raw.provincia) {
            None => Ok(None),
            Some(s) => match territory::province(s) {
                Some(p) if p.current && s.len() == 2 => Ok(Some(p.sigla.to_string())),
                _ => Err(refuse(
                    "provincia",
                    "provincia_invalid",
                    "the sigla of a current province (two letters)",
                )),
            },
        };
        let indirizzo = text("indirizzo", raw.indirizzo);
        let comune = text("comune", raw.comune);
        let email = address("email", raw.email);
        let pec = address("pec", raw.pec);
        let telefono = telefono(raw.telefono);
        match (
            denominazione,
            tipo,
            codice_fiscale,
            indirizzo,
            comune,
            provincia,
            email,
            pec,
            telefono,
        ) {
            (
                Ok(denominazione),
                Ok(tipo),
                Ok(codice_fiscale),
                Ok(indirizzo),
                Ok(comune),
                Ok(provincia),
                Ok(email),
                Ok(pec),
                Ok(telefono),
            ) => Ok(Party {
                denominazione,
                tipo,
                codice_fiscale,
                indirizzo,
                comune,
                provincia,
                email,
                pec,
                telefono,
            }),
            (a, b, c, d, e, f, g, h, i) => Err([
                a.err(),
                b.err(),
                c.err(),
                f.err(),
                d.err(),
                e.err(),
                g.err(),
                h.err(),
                i.err(),
            ]
            .into_iter()
            .flatten()
            .collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> RawParty<'static> {
        RawParty {
            denominazione: Some(" CAF Demo S.r.l. "),
            tipo: Some("caf"),
            // A partita IVA with a correct check digit (office 120: Roma).
            codice_fiscale: Some("12345671205"),
            indirizzo: Some("Via Roma 1"),
            comune: Some("Roma"),
            provincia: Some("rm"),
            email: Some("info@cafdemo.example"),
            pec: Some("cafdemo@pec.example"),
            telefono: Some("+39 06 1234567"),
        }
    }

    #[test]
    fn a_complete_party_is_parsed_and_normalised() {
        let p = Party::parse(&demo()).expect("valid");
        assert_eq!(p.denominazione, "CAF Demo S.r.l.");
        assert_eq!(p.tipo, Tipo::Caf);
        assert_eq!(p.provincia.as_deref(), Some("RM"));
        assert_eq!(p.telefono.as_deref(), Some("+39 06 1234567"));
    }

    #[test]
    fn a_natural_persons_codice_fiscale_is_accepted_too() {
        let raw = RawParty {
            codice_fiscale: Some("rssmra85t10a562s"),
            ..demo()
        };
        assert_eq!(
            Party::parse(&raw).expect("valid").codice_fiscale,
            "RSSMRA85T10A562S"
        );
    }

    #[test]
    fn each_bad_member_is_named() {
        let cases: [(RawParty, &str); 7] = [
            (
                RawParty {
                    denominazione: Some("  "),
                    ..demo()
                },
                "denominazione",
            ),
            (
                RawParty {
                    tipo: Some("Comune"),
                    ..demo()
                },
                "tipo",
            ),
            (
                RawParty {
                    codice_fiscale: Some("12345678901"),
                    ..demo()
                },
                "codice_fiscale",
            ),
            (
                RawParty {
                    provincia: Some("Roma"),
                    ..demo()
                },
                "provincia",
            ),
            (
                RawParty {
                    email: Some("info"),
                    ..demo()
                },
                "email",
            ),
            (
                RawParty {
                    pec: Some("a@b"),
                    ..demo()
                },
                "pec",
            ),
            (
                RawParty {
                    telefono: Some("chiamami"),
                    ..demo()
                },
                "telefono",
            ),
        ];
        for (raw, campo) in cases {
            assert_eq!(Party::parse(&raw).expect_err(campo).campo, campo);
        }
    }

    #[test]
    fn every_bad_member_is_named_at_once_in_order() {
        let raw = RawParty {
            denominazione: None,
            codice_fiscale: Some("12345678901"),
            pec: Some("a@b"),
            ..demo()
        };
        let campi: Vec<&str> = Party::parse_all(&raw)
            .expect_err("invalid")
            .iter()
            .map(|e| e.campo)
            .collect();
        assert_eq!(campi, ["denominazione", "codice_fiscale", "pec"]);
        assert_eq!(
            Party::parse(&raw).expect_err("invalid").campo,
            "denominazione"
        );
    }

    #[test]
    fn sede_and_contacts_may_be_missing() {
        let raw = RawParty {
            indirizzo: None,
            comune: Some(""),
            provincia: None,
            email: None,
            pec: None,
            telefono: None,
            ..demo()
        };
        let p = Party::parse(&raw).expect("valid");
        assert_eq!((p.comune, p.provincia, p.pec), (None, None, None));
    }
}
