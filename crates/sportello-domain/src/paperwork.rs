//! A provider's paperwork texts: the privacy notice (GDPR art. 13) and the mandate template, the
//! placeholders a mandate may hold, and the checks that name what a text seems to lack.
//!
//! The checks are a **heuristic**: they look for the words and headings an Italian notice or
//! mandate uses for each item (`titolare del trattamento`, `Garante`, `firma`…), not for its
//! legal substance. A text that passes may still be wrong, and one that words an item unusually
//! gets a warning it can ignore: a warning never stops a save. The items and their sources are
//! those of `shared/PAPERWORK.md` §1 (DM 10/10/2008 n. 193 art. 4 c. 1) and §3 (GDPR art. 13).

/// The longest notice or mandate accepted, in characters.
pub const MAX_TEXT: usize = 50_000;

/// The placeholders a mandate template may hold, filled with the request's data when the
/// mandate is produced, and what each becomes.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("nome", "the person's first name"),
    ("cognome", "the person's surname"),
    ("codice_fiscale", "the person's codice fiscale"),
    (
        "servizio",
        "the service requested (its title in the catalog)",
    ),
    ("data", "the date the mandate is produced (dd/mm/yyyy)"),
    ("richiesta", "the request's id"),
    ("fornitore", "the provider's denominazione"),
    ("fornitore_codice_fiscale", "the provider's codice fiscale"),
    ("sede", "the provider's sede (indirizzo, comune, provincia)"),
];

/// One item a text must contain: its name in the warning, and the ways of saying it (each
/// alternative a set of words that must all appear, case-insensitive).
struct Item {
    nome: &'static str,
    any_of: &'static [&'static [&'static str]],
}

/// GDPR art. 13, items 1–12 of PAPERWORK.md §3 less the two that apply only sometimes and that
/// a text cannot show do not apply: legitimate interests (13(1)(d), only under art. 6(1)(f))
/// and transfers outside the EU (13(1)(f)). Item 13 (notice of a new purpose, 13(3)) is a
/// future duty, not content. Consent (13(2)(c)) and the DPO (13(1)(b)) are checked always: a
/// notice that relies on no consent, or has no DPO, should say so.
const NOTICE: &[Item] = &[
    Item {
        nome: "identità e dati di contatto del titolare del trattamento (art. 13.1.a)",
        any_of: &[&["titolare del trattamento"]],
    },
    Item {
        nome: "dati di contatto del responsabile della protezione dei dati (art. 13.1.b)",
        any_of: &[
            &["responsabile della protezione dei dati"],
            &["dpo"],
            &["rpd"],
        ],
    },
    Item {
        nome: "finalità e base giuridica del trattamento (art. 13.1.c)",
        any_of: &[&["finalità", "base giuridica"], &["finalità", "base di liceità"]],
    },
    Item {
        nome: "destinatari dei dati (art. 13.1.e)",
        any_of: &[&["destinatari"], &["comunicati a"]],
    },
    Item {
        nome: "periodo di conservazione dei dati (art. 13.2.a)",
        any_of: &[&["conservazione"], &["conservati"]],
    },
    Item {
        nome: "diritti dell'interessato: accesso, rettifica, cancellazione, limitazione, opposizione, portabilità (art. 13.2.b)",
        any_of: &[&[
            "accesso",
            "rettifica",
            "cancellazione",
            "limitazione",
            "opposizione",
            "portabilità",
        ]],
    },
    Item {
        nome: "revoca del consenso (art. 13.2.c)",
        any_of: &[&["revoca", "consenso"], &["revocare", "consenso"]],
    },
    Item {
        nome: "reclamo al Garante per la protezione dei dati personali (art. 13.2.d)",
        any_of: &[&["reclamo", "garante"]],
    },
    Item {
        nome: "obbligo di fornire i dati e conseguenze del rifiuto (art. 13.2.e)",
        any_of: &[&["obbligatori"], &["obbligo", "conferimento"], &["rifiuto"]],
    },
    Item {
        nome: "esistenza di processi decisionali automatizzati o profilazione (art. 13.2.f)",
        any_of: &[&["automatizzat"], &["profilazione"]],
    },
];

/// The mandate's content under DM 193/2008 art. 4 c. 1 (PAPERWORK.md §1); the person's
/// identity is not listed there but a mandate is useless without it.
const MANDATE: &[Item] = &[
    Item {
        nome: "identità della persona: {{nome}}, {{cognome}}, {{codice_fiscale}}",
        any_of: &[&["{{nome}}", "{{cognome}}", "{{codice_fiscale}}"]],
    },
    Item {
        nome: "il mandatario (il fornitore: {{fornitore}})",
        any_of: &[&["{{fornitore}}"]],
    },
    Item {
        nome: "l'ufficio che cura la pratica ({{sede}})",
        any_of: &[&["{{sede}}"]],
    },
    Item {
        nome: "l'oggetto del mandato ({{servizio}})",
        any_of: &[&["{{servizio}}"]],
    },
    Item {
        nome: "la data ({{data}})",
        any_of: &[&["{{data}}"]],
    },
    Item {
        nome: "le dichiarazioni sul trattamento dei dati personali",
        any_of: &[&["trattamento dei dati"], &["protezione dei dati"]],
    },
    Item {
        nome: "la firma della persona",
        any_of: &[
            &["firma", "mandante"],
            &["firma", "interessat"],
            &["firma", "assistit"],
        ],
    },
    Item {
        nome: "la firma dell'operatore incaricato",
        any_of: &[&["firma", "operatore"]],
    },
];

/// Why a text cannot be saved at all (a missing item only warns).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is longer than 50000 characters")]
    TooLong,
}

/// Trims and bounds a notice or mandate; `\r\n` becomes `\n`, so a text saved from a browser's
/// form and from a file is the same text.
pub fn normalise(testo: &str) -> Result<String, TextError> {
    let t = testo.replace("\r\n", "\n");
    let t = t.trim();
    if t.is_empty() {
        return Err(TextError::Empty);
    }
    if t.chars().count() > MAX_TEXT {
        return Err(TextError::TooLong);
    }
    Ok(t.to_string())
}

fn missing(items: &[Item], testo: &str) -> Vec<String> {
    let lower = testo.to_lowercase();
    items
        .iter()
        .filter(|item| {
            !item
                .any_of
                .iter()
                .any(|words| words.iter().all(|w| lower.contains(w)))
        })
        .map(|item| format!("Manca: {}", item.nome))
        .collect()
}

/// The warnings for a privacy notice: one per GDPR art. 13 item it seems to lack.
pub fn notice_warnings(testo: &str) -> Vec<String> {
    missing(NOTICE, testo)
}

/// The warnings for a mandate template: one per DM 193/2008 item it seems to lack, and one per
/// placeholder it uses that is not in [`PLACEHOLDERS`] (it would be printed as it is).
pub fn mandate_warnings(testo: &str) -> Vec<String> {
    let mut out = missing(MANDATE, testo);
    for name in placeholders(testo) {
        if !PLACEHOLDERS.iter().any(|(known, _)| *known == name) {
            out.push(format!("Segnaposto sconosciuto: {{{{{name}}}}}"));
        }
    }
    out
}

/// The names inside `{{…}}` in `testo`, in order, each once.
pub fn placeholders(testo: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut rest = testo;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &after[end + 2..];
    }
    out
}

// Filling a template is `paperwork::pdf::fill` in the server, next to the one place that
// prints the result.

#[cfg(test)]
mod tests {
    use super::*;

    const NOTICE_OK: &str = "Titolare del trattamento: CAF X, info@x.it. Responsabile della \
        protezione dei dati: dpo@x.it. Finalità e base giuridica: … Destinatari: INPS. \
        Periodo di conservazione: 5 anni. Diritti: accesso, rettifica, cancellazione, \
        limitazione, opposizione, portabilità. Revoca del consenso in ogni momento. Reclamo al \
        Garante. Il conferimento è obbligatorio; il rifiuto impedisce la pratica. Nessun \
        processo decisionale automatizzato.";

    const MANDATE_OK: &str = "Il/La sottoscritto/a {{nome}} {{cognome}}, C.F. {{codice_fiscale}}, \
        conferisce a {{fornitore}}, sede {{sede}}, mandato per {{servizio}}. Dichiara di aver \
        ricevuto l'informativa sul trattamento dei dati. Data {{data}}. Firma del mandante ____ \
        Firma dell'operatore ____";

    #[test]
    fn a_complete_notice_raises_no_warning() {
        assert_eq!(notice_warnings(NOTICE_OK), Vec::<String>::new());
    }

    #[test]
    fn a_notice_without_the_garante_is_told_so() {
        let w = notice_warnings(&NOTICE_OK.replace("Reclamo al Garante.", ""));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("Garante"), "{w:?}");
    }

    #[test]
    fn every_right_must_be_named() {
        let w = notice_warnings(&NOTICE_OK.replace("portabilità", ""));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("diritti"), "{w:?}");
    }

    #[test]
    fn an_empty_notice_lacks_every_item() {
        assert_eq!(notice_warnings("Informativa").len(), NOTICE.len());
    }

    #[test]
    fn a_complete_mandate_raises_no_warning() {
        assert_eq!(mandate_warnings(MANDATE_OK), Vec::<String>::new());
    }

    #[test]
    fn a_mandate_without_date_or_operator_signature_is_told_so() {
        let text = MANDATE_OK
            .replace("Data {{data}}.", "")
            .replace("Firma dell'operatore ____", "");
        let w = mandate_warnings(&text);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("{{data}}") && w[1].contains("operatore"));
    }

    #[test]
    fn unknown_placeholders_are_named() {
        let w = mandate_warnings(&format!("{MANDATE_OK} {{{{indirizzo_persona}}}}"));
        assert_eq!(w, vec!["Segnaposto sconosciuto: {{indirizzo_persona}}"]);
    }

    #[test]
    fn texts_are_trimmed_bounded_and_given_unix_line_ends() {
        assert_eq!(normalise(" a\r\nb "), Ok("a\nb".to_string()));
        assert_eq!(normalise(" \n "), Err(TextError::Empty));
        assert_eq!(
            normalise(&"x".repeat(MAX_TEXT + 1)),
            Err(TextError::TooLong)
        );
    }
}
