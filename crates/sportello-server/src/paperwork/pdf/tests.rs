//! The PDF read back as a reader sees it: pages, page size and extractable text (lopdf).

use super::*;
use std::collections::BTreeMap;

const TEMPLATE: &str =
    "Il/La sottoscritto/a {{nome}} {{cognome}}, codice fiscale {{codice_fiscale}}, \
    residente nella Città di Forlì, conferisce a {{fornitore}} mandato di assistenza e \
    rappresentanza per la pratica «{{servizio}}», compresa l'eventuale marca da bollo di € 16,00.\n\
    \n\
    Il mandato è conferito ai sensi del D.M. 10 ottobre 2008, n. 193, art. 4; perché sia \
    efficace l’operatore ne verifica l’identità. Qualità e onestà: così è, così sarà.";

fn sample(paragraphs: usize) -> MandateDocument {
    let values: BTreeMap<&str, String> = [
        ("nome", "Niccolò".to_string()),
        ("cognome", "D'Annunzio".to_string()),
        ("codice_fiscale", "DNNNCC80A01D704X".to_string()),
        ("fornitore", "CAF Esempio Città S.r.l.".to_string()),
        ("servizio", "ISEE ordinario".to_string()),
    ]
    .into_iter()
    .collect();
    let filled = fill(TEMPLATE, &values);
    let mut mandate = filled.clone();
    for i in 1..paragraphs {
        mandate.push_str(&format!(
            "\n\n{i}. Il mandante autorizza l’operatore a compilare, verificare e trasmettere la \
             dichiarazione, a ricevere l’attestazione e a conservarne copia; dichiara che i dati \
             forniti sono veri e si impegna a comunicare ogni variazione entro trenta giorni."
        ));
    }
    MandateDocument {
        provider: ProviderDetails {
            denominazione: "CAF Esempio Città S.r.l.".into(),
            tipo: "CAF".into(),
            codice_fiscale: "01234567890".into(),
            sede: Some("Via Università 1, 47121 Forlì (FC)".into()),
            email: Some("info@caf-esempio.it".into()),
            pec: Some("caf-esempio@pec.it".into()),
            telefono: None,
        },
        service: "ISEE ordinario".into(),
        mandate: VersionedText {
            versione: 3,
            testo: mandate,
        },
        privacy_notice: VersionedText {
            versione: 7,
            testo: "Titolare del trattamento è CAF Esempio Città S.r.l.\n\nI dati sono \
                    conservati per cinque anni; può proporre reclamo al Garante per la \
                    protezione dei dati personali."
                .into(),
        },
        date: NaiveDate::from_ymd_opt(2026, 3, 12).expect("a valid date"),
    }
}

struct Read {
    pages: usize,
    sizes: Vec<(f32, f32)>,
    text: Vec<String>,
}

fn read(bytes: &[u8]) -> Read {
    let pdf = lopdf::Document::load_mem(bytes).expect("a PDF lopdf can parse");
    let pages = pdf.get_pages();
    let sizes = pages
        .values()
        .map(|id| {
            let page = pdf.get_dictionary(*id).expect("a page dictionary");
            let media = page
                .get(b"MediaBox")
                .and_then(|o| o.as_array())
                .expect("a MediaBox");
            let n: Vec<f32> = media
                .iter()
                .map(|o| o.as_float().expect("a number"))
                .collect();
            (n[2] - n[0], n[3] - n[1])
        })
        .collect();
    let text = pages
        .keys()
        .map(|n| pdf.extract_text(&[*n]).expect("extractable text"))
        .collect();
    Read {
        pages: pages.len(),
        sizes,
        text,
    }
}

/// Extracted text with line breaks and runs of spaces as single spaces: a phrase may wrap.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_long_mandate_reads_back_with_its_data_and_italian_characters() {
    let bytes = mandate_pdf(&sample(30)).expect("a PDF");
    assert!(bytes.starts_with(b"%PDF-"));
    let read = read(&bytes);
    assert!(
        read.pages >= 3,
        "mandate on 2+ pages, notice on its own: {}",
        read.pages
    );
    let all = flat(&read.text.join("\n"));
    for expected in [
        "Niccolò",
        "D’Annunzio",
        "DNNNCC80A01D704X",
        "CAF Esempio Città S.r.l.",
        "Città",
        "Forlì",
        "perché",
        "€ 16,00",
        "«ISEE ordinario»",
        "l’operatore",
        "Qualità e onestà: così è, così sarà.",
        "Mandato di assistenza e rappresentanza",
        "Luogo e data",
        "Firma del mandante",
        "Firma dell’operatore incaricato",
        "Informativa sul trattamento dei dati personali",
        "reclamo al Garante",
        "Testo del mandato: versione 3",
        "versione 7",
        "Pagina 1 di",
    ] {
        assert!(all.contains(expected), "{expected:?} not in {all}");
    }
}

#[test]
fn every_page_is_a4_and_numbered_out_of_the_total() {
    let read = read(&mandate_pdf(&sample(30)).expect("a PDF"));
    let total = read.pages;
    for (i, (size, text)) in read.sizes.iter().zip(&read.text).enumerate() {
        assert_eq!(
            (size.0.round(), size.1.round()),
            (595.0, 842.0),
            "page {}",
            i + 1
        );
        let number = format!("Pagina {} di {}", i + 1, total);
        assert!(flat(text).contains(&number), "{number:?} not in {text}");
    }
}

#[test]
fn the_privacy_notice_starts_on_a_new_page_after_the_signature_box() {
    let read = read(&mandate_pdf(&sample(1)).expect("a PDF"));
    assert_eq!(read.pages, 2, "a short mandate, then the notice");
    let first = flat(&read.text[0]);
    let second = flat(&read.text[1]);
    assert!(first.contains("Firma del mandante"), "{first}");
    assert!(!first.contains("Informativa sul trattamento"), "{first}");
    assert!(second.contains("Informativa sul trattamento"), "{second}");
    assert!(second.contains("CAF Esempio Città S.r.l."), "{second}");
}

#[test]
fn the_same_document_renders_to_the_same_bytes() {
    let doc = sample(5);
    assert_eq!(
        mandate_pdf(&doc).expect("a PDF"),
        mandate_pdf(&doc).expect("a PDF")
    );
}

#[test]
fn empty_texts_and_missing_contacts_still_render() {
    let mut doc = sample(1);
    doc.mandate.testo = String::new();
    doc.privacy_notice.testo = "  \n\n ".into();
    doc.provider.sede = None;
    doc.provider.email = None;
    doc.provider.pec = Some("  ".into());
    let read = read(&mandate_pdf(&doc).expect("a PDF"));
    assert_eq!(read.pages, 2);
    assert!(flat(&read.text[0]).contains("Luogo e data"));
    assert!(!flat(&read.text[0]).contains("PEC"));
}

#[test]
fn the_embedded_fonts_have_every_italian_character() {
    let fonts = Fonts::load().expect("the embedded fonts");
    for face in [&fonts.regular, &fonts.bold] {
        for c in "àèéìíòóùúÀÈÉÌÒÙ€«»’‘“”–—…·°ªº§".chars() {
            assert!(face.charmap.map(c).is_some(), "{c:?} has no glyph");
        }
    }
}

#[test]
fn lines_fit_the_text_width_and_the_box_fits_its_page() {
    let fonts = Fonts::load().expect("the embedded fonts");
    for page in compose(&sample(30), &fonts) {
        for mark in page {
            match mark {
                Mark::Text { x, style, text, .. } => {
                    let right = x + fonts.face(style).width(&text, style.size);
                    assert!(right <= PAGE_WIDTH - MARGIN + 0.01, "{text:?} overflows");
                }
                Mark::Frame { y, h, .. } => assert!(y + h <= TEXT_BOTTOM, "box overflows"),
                Mark::Rule { y, .. } => assert!(y <= TEXT_BOTTOM),
            }
        }
    }
}

/// A sample to look at: `cargo test -p sportello-server --lib write_sample -- --ignored`
/// writes `mandato-esempio.pdf` in the temporary directory.
#[test]
#[ignore]
fn write_sample() {
    let path = std::env::temp_dir().join("mandato-esempio.pdf");
    std::fs::write(&path, mandate_pdf(&sample(30)).expect("a PDF")).expect("written");
    println!("{}", path.display());
}

fn case_file(rows: usize) -> CaseFileDocument {
    CaseFileDocument {
        provider: Some(sample(1).provider),
        title: "Fascicolo della pratica 6b11a12e21b57faee54c5424".into(),
        sections: vec![
            Section {
                title: "Dati della richiesta".into(),
                rows: vec![
                    ("Nome".into(), "Niccolò".into()),
                    (
                        "COPIA DOCUMENTO D'IDENTITÀ FRONTE RETRO, UN'ETICHETTA LUNGA".into(),
                        "file: carta d’identità.pdf".into(),
                    ),
                ],
                empty: "Nessun dato.".into(),
            },
            Section {
                title: "Storia della pratica".into(),
                rows: (0..rows)
                    .map(|i| {
                        (
                            format!("12/03/2026 10:{:02}", i % 60),
                            format!(
                                "In erogazione · passaggio {i} · Operatore Demo\nUna nota su \
                                 più righe: così è, perché l’integrazione è arrivata."
                            ),
                        )
                    })
                    .collect(),
                empty: "Nessun passaggio.".into(),
            },
            Section {
                title: "Registro degli accessi (audit)".into(),
                rows: Vec::new(),
                empty: "Nessuna voce registrata.".into(),
            },
        ],
        date: NaiveDate::from_ymd_opt(2026, 3, 12).expect("a valid date"),
        footer: "Fascicolo 6b11a12e21b57faee54c5424".into(),
    }
}

#[test]
fn a_long_case_file_reads_back_on_numbered_a4_pages() {
    let read = read(&case_file_pdf(&case_file(120)).expect("a PDF"));
    assert!(read.pages > 2, "{} pages", read.pages);
    let all = flat(&read.text.join(" "));
    for expected in [
        "CAF Esempio Città S.r.l.",
        "Fascicolo della pratica 6b11a12e21b57faee54c5424",
        "Niccolò",
        "passaggio 119",
        "Nessuna voce registrata.",
    ] {
        assert!(all.contains(expected), "{expected:?} not in {all}");
    }
    for (i, (size, text)) in read.sizes.iter().zip(&read.text).enumerate() {
        assert_eq!((size.0.round(), size.1.round()), (595.0, 842.0));
        let number = format!("Pagina {} di {}", i + 1, read.pages);
        assert!(flat(text).contains(&number), "{number:?} not in {text}");
    }
}

#[test]
fn the_same_case_file_renders_to_the_same_bytes() {
    assert_eq!(
        case_file_pdf(&case_file(3)).expect("a PDF"),
        case_file_pdf(&case_file(3)).expect("a PDF")
    );
}

#[test]
fn case_file_rows_fit_their_columns_and_the_page() {
    let fonts = Fonts::load().expect("the embedded fonts");
    for page in compose_case_file(&case_file(120), &fonts) {
        for mark in page {
            if let Mark::Text {
                x,
                baseline,
                style,
                text,
            } = mark
            {
                let right = x + fonts.face(style).width(&text, style.size);
                assert!(right <= PAGE_WIDTH - MARGIN + 0.01, "{text:?} overflows");
                assert!(baseline <= TEXT_BOTTOM, "{text:?} below the text area");
            }
        }
    }
}
