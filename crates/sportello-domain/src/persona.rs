//! The person a practice is about, as a service's fields hold it: which `$n` is the name, the
//! surname and the codice fiscale. The mandate a client prints is prefilled from them.
//!
//! CONTRACT: a service file may say, in an optional table,
//!
//! ```toml
//! [persona]
//! nome = "$0"              # each optional, a field of this service
//! cognome = "$1"
//! codice_fiscale = "$4"
//! mandato = "$7"           # a file field: the copy of the signed mandate, when the form has one
//! ```
//!
//! `catalog` hands the table to [`load`] with the service's fields, which checks that each key
//! names one of them (and that `mandato` names a file field). A key left out is a datum the
//! mandate prints as missing.

use crate::catalog::Field;
use crate::expression;
use serde::Deserialize;

/// Which fields of a service hold the person's data (field indexes, `$n` → `n`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Persona {
    pub nome: Option<u32>,
    pub cognome: Option<u32>,
    pub codice_fiscale: Option<u32>,
    /// The file field holding a copy of the signed mandate: a request with a file there has
    /// its mandate, as one with a supplied `mandato` document has.
    pub mandato: Option<u32>,
}

impl Persona {
    /// Each datum's mandate placeholder (`sportello_domain::paperwork::PLACEHOLDERS`) with the
    /// `$n` key holding it.
    pub fn placeholders(&self) -> Vec<(&'static str, String)> {
        [
            ("nome", self.nome),
            ("cognome", self.cognome),
            ("codice_fiscale", self.codice_fiscale),
        ]
        .into_iter()
        .filter_map(|(name, index)| index.map(|n| (name, format!("${n}"))))
        .collect()
    }
}

/// The `[persona]` table as written in a service file.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct PersonaFile {
    nome: Option<String>,
    cognome: Option<String>,
    codice_fiscale: Option<String>,
    mandato: Option<String>,
}

/// Checks the table against the service's fields.
pub(crate) fn load(raw: PersonaFile, fields: &[Field]) -> Result<Persona, String> {
    let index = |name: &str, key: Option<String>| -> Result<Option<u32>, String> {
        let Some(key) = key else {
            return Ok(None);
        };
        let n = expression::field_key(&key)
            .ok_or_else(|| format!("persona.{name} `{key}` is not of the form `$n`"))?;
        if !fields.iter().any(|f| f.index == n) {
            return Err(format!(
                "persona.{name} names `{key}`, which is not a field of the service"
            ));
        }
        Ok(Some(n))
    };
    let mandato = index("mandato", raw.mandato)?;
    if let Some(n) = mandato {
        if !fields
            .iter()
            .any(|f| f.index == n && f.tipo == crate::fields::FieldType::File)
        {
            return Err(format!(
                "persona.mandato names `${n}`, which is not a file field"
            ));
        }
    }
    Ok(Persona {
        nome: index("nome", raw.nome)?,
        cognome: index("cognome", raw.cognome)?,
        codice_fiscale: index("codice_fiscale", raw.codice_fiscale)?,
        mandato,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldType;

    fn fields() -> Vec<Field> {
        (0..3)
            .map(|index| Field {
                index,
                nome: format!("campo {index}"),
                tipo: FieldType::Testo,
                null: false,
                ordine: None,
                istruzioni: String::new(),
            })
            .collect()
    }

    fn file(nome: Option<&str>, cf: Option<&str>) -> PersonaFile {
        PersonaFile {
            nome: nome.map(str::to_string),
            cognome: None,
            codice_fiscale: cf.map(str::to_string),
            mandato: None,
        }
    }

    #[test]
    fn keys_name_fields_of_the_service() {
        let p = load(file(Some("$0"), Some("$2")), &fields()).expect("valid");
        assert_eq!(p.nome, Some(0));
        assert_eq!(p.cognome, None);
        assert_eq!(
            p.placeholders(),
            vec![
                ("nome", "$0".to_string()),
                ("codice_fiscale", "$2".to_string())
            ]
        );
    }

    #[test]
    fn an_unknown_field_or_a_malformed_key_is_refused() {
        let e = load(file(None, Some("$9")), &fields()).expect_err("no $9");
        assert!(
            e.contains("persona.codice_fiscale") && e.contains("$9"),
            "{e}"
        );
        let e = load(file(Some("nome"), None), &fields()).expect_err("not $n");
        assert!(e.contains("not of the form"), "{e}");
    }

    #[test]
    fn the_mandate_must_name_a_file_field() {
        let mut fields = fields();
        let raw = |key: &str| PersonaFile {
            mandato: Some(key.to_string()),
            ..file(None, None)
        };
        let e = load(raw("$1"), &fields).expect_err("$1 is text");
        assert!(e.contains("not a file field"), "{e}");
        fields[1].tipo = FieldType::File;
        assert_eq!(load(raw("$1"), &fields).expect("a file").mandato, Some(1));
    }
}
