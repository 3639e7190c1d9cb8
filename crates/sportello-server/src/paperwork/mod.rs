//! Paperwork texts that ship with the server: the demo CAF's privacy notice and mandate
//! template, written to meet every item `shared/PAPERWORK.md` lists (GDPR art. 13 for the
//! notice, DM 193/2008 art. 4 for the mandate), so the demo shows what a complete text looks
//! like. They are examples, not legal advice: a real provider writes its own. `pdf` renders a
//! mandate and notice for signing.

pub mod acceptance;
pub mod pdf;

/// The demo CAF's privacy notice.
pub const DEMO_INFORMATIVA: &str = include_str!("demo/informativa.txt");
/// The demo CAF's mandate template (placeholders: `sportello_domain::paperwork::PLACEHOLDERS`).
pub const DEMO_MANDATO: &str = include_str!("demo/mandato.txt");

/// The demo CAF as a party (its partita IVA is made up, with a valid check digit).
pub fn demo_party() -> sportello_store::Party {
    sportello_store::Party {
        tipo: Some("CAF".into()),
        codice_fiscale: Some("12345671205".into()),
        indirizzo: Some("Via Roma 1".into()),
        comune: Some("Roma".into()),
        provincia: Some("RM".into()),
        email: Some("info@cafdemo.example.invalid".into()),
        pec: Some("cafdemo@pec.example.invalid".into()),
        telefono: Some("06 1234567".into()),
        mandato_fes_accettato: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sportello_domain::paperwork::{mandate_warnings, normalise, notice_warnings};

    #[test]
    fn the_demo_texts_raise_no_warning() {
        assert_eq!(notice_warnings(DEMO_INFORMATIVA), Vec::<String>::new());
        assert_eq!(mandate_warnings(DEMO_MANDATO), Vec::<String>::new());
        assert!(normalise(DEMO_INFORMATIVA).is_ok() && normalise(DEMO_MANDATO).is_ok());
    }
}
