//! The record of a mandate accepted on the person's page (a *firma elettronica semplice*): what
//! was shown, who typed which name, when, and how the address was proved. It is stored among the
//! request's documents as `mandato_fes` and travels in the practice's file.

use chrono::{DateTime, NaiveDate};
use sportello_domain::calendar::ROME;

use super::pdf::{case_file_pdf, CaseFileDocument, PdfError, ProviderDetails, Section};

/// An acceptance, as recorded.
#[derive(Debug, Clone)]
pub struct Acceptance {
    pub request_id: String,
    pub invitation_id: String,
    pub provider: ProviderDetails,
    pub service: String,
    pub versione: i64,
    /// The mandate's text as shown, filled with the person's data.
    pub testo: String,
    pub sha256_testo: String,
    /// The full name the person typed.
    pub nome: String,
    /// The invitation's address, masked (the record proves a code reached it, not what it is).
    pub email: String,
    /// When the box was ticked and the name typed.
    pub accepted_at: i64,
    /// When the code sent for it was entered.
    pub confirmed_at: i64,
}

fn rome(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(|t| {
            t.with_timezone(&ROME)
                .format("%d/%m/%Y %H:%M:%S (ora italiana)")
                .to_string()
        })
        .unwrap_or_default()
}

fn day(at: i64) -> NaiveDate {
    sportello_domain::calendar::local_date(at).unwrap_or_default()
}

/// The record as PDF bytes, on the case file's pages.
pub fn record_pdf(a: &Acceptance) -> Result<Vec<u8>, PdfError> {
    let facts = Section {
        title: "Accettazione".into(),
        rows: vec![
            (
                "Pratica".into(),
                format!("{} ({})", a.request_id, a.service),
            ),
            (
                "Fornitore".into(),
                format!("{} {}", a.provider.tipo, a.provider.denominazione)
                    .trim()
                    .to_string(),
            ),
            ("Mandato".into(), format!("versione {}", a.versione)),
            ("SHA-256 del testo".into(), a.sha256_testo.clone()),
            ("Nome e cognome scritti".into(), a.nome.clone()),
            ("Casella «accetto» spuntata il".into(), rome(a.accepted_at)),
            (
                "Verifica".into(),
                format!(
                    "codice di 6 cifre inviato a {} e inserito correttamente il {}",
                    a.email,
                    rome(a.confirmed_at)
                ),
            ),
            ("Invito".into(), a.invitation_id.clone()),
            (
                "Natura".into(),
                "firma elettronica semplice (Regolamento UE 910/2014, art. 3; CAD, art. 20)".into(),
            ),
        ],
        empty: String::new(),
    };
    let text = Section {
        title: "Testo accettato".into(),
        rows: a
            .testo
            .split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| (String::new(), l.to_string()))
            .collect(),
        empty: "(testo vuoto)".into(),
    };
    case_file_pdf(&CaseFileDocument {
        provider: Some(a.provider.clone()),
        title: "Mandato accettato online".into(),
        sections: vec![facts, text],
        date: day(a.confirmed_at),
        footer: a.request_id.clone(),
    })
}
