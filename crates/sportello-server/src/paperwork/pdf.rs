//! The mandate a client prints and signs, as a PDF: the provider's heading, the mandate text
//! already filled with the person's data, a box for place, date and signatures, then the
//! provider's privacy notice from a new page. A4, DejaVu Serif embedded (subset, with a
//! ToUnicode map, so the text can be searched and extracted), "Pagina N di M" on every page.
//!
//! The same pages carry the practice's file, `fascicolo.pdf` ([`case_file_pdf`]): sections of
//! labelled rows.
//!
//! Invariant: rendering is a pure function of [`MandateDocument`]: the same document gives the
//! same bytes, so a hash of the PDF identifies what the person was shown (PAPERWORK.md §4).

mod fill;
mod wrap;

pub use fill::fill;

use chrono::{Datelike, NaiveDate};
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::{DateTime, Metadata};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::{Data, Document};
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

/// Everything printed on a mandate. Texts are plain: paragraphs separated by blank lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MandateDocument {
    pub provider: ProviderDetails,
    /// The service the mandate is for, as the catalog titles it.
    pub service: String,
    /// The provider's mandate template, already filled (see [`fill`]).
    pub mandate: VersionedText,
    /// The provider's privacy notice (GDPR art. 13).
    pub privacy_notice: VersionedText,
    /// The day the document is issued.
    pub date: NaiveDate,
}

/// The provider as its heading shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderDetails {
    pub denominazione: String,
    /// `CAF` or `Patronato`.
    pub tipo: String,
    pub codice_fiscale: String,
    /// Address, comune and provincia on one line.
    pub sede: Option<String>,
    pub email: Option<String>,
    pub pec: Option<String>,
    pub telefono: Option<String>,
}

/// A text the provider versions: each edit is a new `versione`, printed on the document so the
/// paper says which text the person signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionedText {
    pub versione: i64,
    pub testo: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The embedded font did not parse: a broken build, never the caller's input.
    #[error("the embedded font could not be read")]
    Font,
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// The mandate, its signature box and the privacy notice as PDF bytes.
pub fn mandate_pdf(doc: &MandateDocument) -> Result<Vec<u8>, PdfError> {
    let fonts = Fonts::load()?;
    let pages = compose(doc, &fonts);
    let footer = format!(
        "Mandato v. {} · Informativa v. {} · {}",
        doc.mandate.versione,
        doc.privacy_notice.versione,
        italian_date(doc.date)
    );
    let title = format!(
        "Mandato di assistenza e rappresentanza – {}",
        doc.provider.denominazione
    );
    render(
        &fonts,
        &pages,
        &footer,
        metadata(title, &doc.provider.denominazione, doc.date),
    )
}

/// A practice's file (`fascicolo.pdf`): the request's data, its history and who looked at it,
/// as sections of labelled rows, for the provider's own archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFileDocument {
    /// The provider whose archive it is for; None for a request never routed.
    pub provider: Option<ProviderDetails>,
    pub title: String,
    pub sections: Vec<Section>,
    /// The day the file is made.
    pub date: NaiveDate,
    /// The left of every footer (the request's id, say).
    pub footer: String,
}

/// A titled list of rows, each a label and its value (the value wrapped in its column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub rows: Vec<(String, String)>,
    /// Printed instead of the rows when there are none.
    pub empty: String,
}

/// The case file as PDF bytes: A4, the same fonts, margins and page numbers as the mandate.
pub fn case_file_pdf(doc: &CaseFileDocument) -> Result<Vec<u8>, PdfError> {
    let fonts = Fonts::load()?;
    let pages = compose_case_file(doc, &fonts);
    let author = doc
        .provider
        .as_ref()
        .map(|p| p.denominazione.clone())
        .unwrap_or_else(|| "Sportello".into());
    let footer = format!("{} · {}", doc.footer, italian_date(doc.date));
    render(
        &fonts,
        &pages,
        &footer,
        metadata(doc.title.clone(), &author, doc.date),
    )
}

fn compose_case_file(doc: &CaseFileDocument, fonts: &Fonts) -> Vec<Vec<Mark>> {
    let mut c = Composer::new(fonts);
    if let Some(provider) = &doc.provider {
        c.provider_heading(provider);
    }
    c.title(&doc.title);
    c.paragraph(
        &[&format!("Prodotto il {}", italian_date(doc.date))],
        DETAILS,
    );
    for section in &doc.sections {
        c.skip(PARAGRAPH_GAP);
        c.title(&section.title);
        if section.rows.is_empty() {
            c.paragraph(&[&section.empty], DETAILS);
        }
        for (label, value) in &section.rows {
            c.row(label, value);
        }
    }
    c.finish()
}

// --- Fonts ---------------------------------------------------------------------------------------

static SERIF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSerif.ttf");
static SERIF_BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSerif-Bold.ttf");

/// A font as krilla embeds it, and its character map and advances to set text with. Text is
/// set one glyph per character at its advance width, with no shaping: Italian needs no
/// ligatures or contextual forms, and a line is then exactly as wide as measured. (Kerning is
/// left out with shaping: krilla's shaper, rustybuzz, is unmaintained, RUSTSEC-2026-0206.)
struct Typeface {
    font: Font,
    charmap: Charmap<'static>,
    advances: GlyphMetrics<'static>,
    units_per_em: f32,
}

impl Typeface {
    fn load(bytes: &'static [u8]) -> Result<Typeface, PdfError> {
        let face = FontRef::new(bytes).map_err(|_| PdfError::Font)?;
        let units_per_em = face
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em;
        if units_per_em == 0 {
            return Err(PdfError::Font);
        }
        Ok(Typeface {
            font: Font::new(Data::from(bytes), 0).ok_or(PdfError::Font)?,
            charmap: face.charmap(),
            advances: face.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(units_per_em),
        })
    }

    /// The glyphs of `text`, advances in ems. A character the font lacks prints as its
    /// missing-glyph box but keeps its place in the text, so it still extracts.
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(at, c)| {
                let glyph = self.charmap.map(c).unwrap_or(skrifa::GlyphId::NOTDEF);
                let advance = self.advances.advance_width(glyph).unwrap_or(0.0);
                KrillaGlyph::new(
                    GlyphId::new(glyph.to_u32()),
                    advance / self.units_per_em,
                    0.0,
                    0.0,
                    0.0,
                    at..at + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }

    /// The width of `text` set at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        self.glyphs(text).iter().map(|g| g.x_advance).sum::<f32>() * size
    }
}

struct Fonts {
    regular: Typeface,
    bold: Typeface,
}

impl Fonts {
    fn load() -> Result<Fonts, PdfError> {
        Ok(Fonts {
            regular: Typeface::load(SERIF)?,
            bold: Typeface::load(SERIF_BOLD)?,
        })
    }

    fn face(&self, style: Style) -> &Typeface {
        if style.bold {
            &self.bold
        } else {
            &self.regular
        }
    }
}

// --- Page geometry and styles (points, y down from the top edge as krilla draws) -------------

/// ISO 216 A4: 210 × 297 mm.
const PAGE_WIDTH: f32 = 595.276;
const PAGE_HEIGHT: f32 = 841.89;
/// 2 cm margins; the footer sits in the bottom one.
const MARGIN: f32 = 56.7;
const TEXT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const TEXT_BOTTOM: f32 = PAGE_HEIGHT - MARGIN;
const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 30.0;
const PARAGRAPH_GAP: f32 = 6.0;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Style {
    bold: bool,
    size: f32,
    grey: bool,
}

impl Style {
    /// The height of one line.
    fn leading(self) -> f32 {
        self.size * 1.4
    }
}

const BODY: Style = Style {
    bold: false,
    size: 10.5,
    grey: false,
};
const LABEL: Style = Style { bold: true, ..BODY };
const DETAILS: Style = Style {
    size: 9.5,
    grey: true,
    ..BODY
};
const FOOTER: Style = Style {
    size: 8.0,
    ..DETAILS
};
const NAME: Style = Style {
    bold: true,
    size: 15.0,
    grey: false,
};
const TITLE: Style = Style { size: 13.0, ..NAME };

// --- Composition: the document as pages of positioned marks -----------------------------------

/// One thing drawn on a page.
#[derive(Debug, Clone, PartialEq)]
enum Mark {
    Text {
        x: f32,
        baseline: f32,
        style: Style,
        text: String,
    },
    /// A horizontal hairline.
    Rule { x1: f32, x2: f32, y: f32 },
    /// A rectangle's outline.
    Frame { x: f32, y: f32, w: f32, h: f32 },
}

/// Lays text down the page, starting a new page when the next line does not fit.
struct Composer<'f> {
    fonts: &'f Fonts,
    done: Vec<Vec<Mark>>,
    page: Vec<Mark>,
    /// The top of the next line.
    y: f32,
}

impl<'f> Composer<'f> {
    fn new(fonts: &'f Fonts) -> Self {
        Composer {
            fonts,
            done: Vec::new(),
            page: Vec::new(),
            y: MARGIN,
        }
    }

    fn new_page(&mut self) {
        self.done.push(std::mem::take(&mut self.page));
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` more points fit on this one (and this one is not
    /// still empty: something taller than a page goes on a page of its own).
    fn keep(&mut self, height: f32) {
        if self.y + height > TEXT_BOTTOM && !self.page.is_empty() {
            self.new_page();
        }
    }

    fn skip(&mut self, height: f32) {
        self.y += height;
    }

    fn line(&mut self, text: String, style: Style) {
        self.keep(style.leading());
        self.page.push(Mark::Text {
            x: MARGIN,
            baseline: self.y + style.size,
            style,
            text,
        });
        self.y += style.leading();
    }

    /// A paragraph of one or more lines (kept as written), each wrapped to the text width.
    fn paragraph(&mut self, lines: &[&str], style: Style) {
        let face = self.fonts.face(style);
        let measure = |s: &str| face.width(s, style.size);
        for line in lines {
            for wrapped in wrap::wrap(line, TEXT_WIDTH, &measure) {
                self.line(wrapped, style);
            }
        }
        self.skip(PARAGRAPH_GAP);
    }

    /// A plain text: paragraphs separated by blank lines.
    fn text(&mut self, text: &str) {
        let text = wrap::typography(text);
        for paragraph in wrap::paragraphs(&text) {
            self.paragraph(&paragraph, BODY);
        }
    }

    /// A title, moved to the next page with the start of what it heads rather than left alone
    /// at the bottom of one.
    fn title(&mut self, text: &str) {
        self.keep(TITLE.leading() + 3.0 * BODY.leading());
        self.paragraph(&[text], TITLE);
    }

    /// A label in bold in a left column and its value wrapped beside it; a row is not split
    /// across pages unless it is taller than one.
    fn row(&mut self, label: &str, value: &str) {
        const LABEL_COLUMN: f32 = 150.0;
        const GUTTER: f32 = 8.0;
        let label_face = self.fonts.face(LABEL);
        let body_face = self.fonts.face(BODY);
        let label_lines = wrap::wrap(
            &wrap::typography(label),
            LABEL_COLUMN - GUTTER,
            &|s: &str| label_face.width(s, LABEL.size),
        );
        let value = wrap::typography(value);
        let mut value_lines = Vec::new();
        for line in value.lines() {
            value_lines.extend(wrap::wrap(line, TEXT_WIDTH - LABEL_COLUMN, &|s: &str| {
                body_face.width(s, BODY.size)
            }));
        }
        let count = label_lines.len().max(value_lines.len()).max(1);
        self.keep(count as f32 * BODY.leading());
        for i in 0..count {
            self.keep(BODY.leading());
            let baseline = self.y + BODY.size;
            if let Some(text) = label_lines.get(i) {
                self.page.push(Mark::Text {
                    x: MARGIN,
                    baseline,
                    style: LABEL,
                    text: text.clone(),
                });
            }
            if let Some(text) = value_lines.get(i) {
                self.page.push(Mark::Text {
                    x: MARGIN + LABEL_COLUMN,
                    baseline,
                    style: BODY,
                    text: text.clone(),
                });
            }
            self.y += BODY.leading();
        }
        self.skip(PARAGRAPH_GAP / 2.0);
    }

    fn rule(&mut self) {
        self.skip(2.0);
        self.page.push(Mark::Rule {
            x1: MARGIN,
            x2: PAGE_WIDTH - MARGIN,
            y: self.y,
        });
        self.skip(10.0);
    }

    fn provider_heading(&mut self, provider: &ProviderDetails) {
        self.paragraph(&[&provider.denominazione], NAME);
        let mut lines = vec![format!(
            "{} · Codice fiscale {}",
            provider.tipo, provider.codice_fiscale
        )];
        lines.extend(provider.sede.as_ref().map(|s| format!("Sede: {s}")));
        let contacts: Vec<String> = [
            ("E-mail", &provider.email),
            ("PEC", &provider.pec),
            ("Tel.", &provider.telefono),
        ]
        .into_iter()
        .filter_map(|(label, value)| {
            let value = value.as_deref()?.trim();
            (!value.is_empty()).then(|| format!("{label} {value}"))
        })
        .collect();
        if !contacts.is_empty() {
            lines.push(contacts.join(" · "));
        }
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.paragraph(&lines, DETAILS);
        self.rule();
    }

    /// The box the person and the operator fill in by hand: DM 193/2008 art. 4 wants the
    /// mandate dated and signed by both (PAPERWORK.md §1).
    fn signature_box(&mut self) {
        const HEIGHT: f32 = 118.0;
        const PAD: f32 = 10.0;
        self.skip(PARAGRAPH_GAP);
        self.keep(HEIGHT);
        let top = self.y;
        let half = TEXT_WIDTH / 2.0;
        self.page.push(Mark::Frame {
            x: MARGIN,
            y: top,
            w: TEXT_WIDTH,
            h: HEIGHT,
        });
        let cells = [
            ("Luogo e data", MARGIN + PAD, top + PAD, half - 2.0 * PAD),
            (
                "Firma del mandante",
                MARGIN + PAD,
                top + 60.0,
                half - 2.0 * PAD,
            ),
            (
                "Firma dell’operatore incaricato",
                MARGIN + half + PAD,
                top + 60.0,
                half - 2.0 * PAD,
            ),
        ];
        for (label, x, y, width) in cells {
            self.page.push(Mark::Text {
                x,
                baseline: y + LABEL.size,
                style: LABEL,
                text: label.to_string(),
            });
            self.page.push(Mark::Rule {
                x1: x,
                x2: x + width,
                y: y + 42.0,
            });
        }
        self.y = top + HEIGHT + PARAGRAPH_GAP;
    }

    fn finish(mut self) -> Vec<Vec<Mark>> {
        self.done.push(self.page);
        self.done
    }
}

fn compose(doc: &MandateDocument, fonts: &Fonts) -> Vec<Vec<Mark>> {
    let mut c = Composer::new(fonts);
    c.provider_heading(&doc.provider);
    c.title("Mandato di assistenza e rappresentanza");
    c.paragraph(
        &[
            &format!("Servizio: {}", doc.service),
            &format!(
                "Testo del mandato: versione {} · Data: {}",
                doc.mandate.versione,
                italian_date(doc.date)
            ),
        ],
        DETAILS,
    );
    c.skip(PARAGRAPH_GAP);
    c.text(&doc.mandate.testo);
    c.signature_box();

    c.new_page();
    c.provider_heading(&doc.provider);
    c.title("Informativa sul trattamento dei dati personali");
    c.paragraph(
        &[&format!(
            "ai sensi dell’art. 13 del Regolamento (UE) 2016/679 · versione {}",
            doc.privacy_notice.versione
        )],
        DETAILS,
    );
    c.skip(PARAGRAPH_GAP);
    c.text(&doc.privacy_notice.testo);
    c.finish()
}

fn italian_date(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

// --- Rendering -----------------------------------------------------------------------------------

fn render(
    fonts: &Fonts,
    pages: &[Vec<Mark>],
    footer_left: &str,
    metadata: Metadata,
) -> Result<Vec<u8>, PdfError> {
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
        .ok_or_else(|| PdfError::Write("page size".into()))?;
    let mut document = Document::new();
    document.set_metadata(metadata);
    let total = pages.len();
    for (index, marks) in pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for mark in marks {
            draw(&mut surface, fonts, mark);
        }
        let number = format!("Pagina {} di {}", index + 1, total);
        let number_x = PAGE_WIDTH - MARGIN - fonts.face(FOOTER).width(&number, FOOTER.size);
        for (x, text) in [(MARGIN, footer_left.to_string()), (number_x, number)] {
            let footer = Mark::Text {
                x,
                baseline: FOOTER_BASELINE,
                style: FOOTER,
                text,
            };
            draw(&mut surface, fonts, &footer);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| PdfError::Write(format!("{e:?}")))
}

fn metadata(title: String, author: &str, date: NaiveDate) -> Metadata {
    // The document's own date, not the clock: the same document renders to the same bytes.
    // Day precision only (chrono's month and day always fit a u8).
    let created = DateTime::new(u16::try_from(date.year()).unwrap_or(0))
        .month(date.month() as u8)
        .day(date.day() as u8);
    Metadata::new()
        .title(title)
        .authors(vec![author.to_string()])
        .language("it-IT".into())
        .creator("Sportello".into())
        .creation_date(created)
}

fn draw(surface: &mut Surface<'_>, fonts: &Fonts, mark: &Mark) {
    let ink = rgb::Color::new(0, 0, 0);
    let grey = rgb::Color::new(90, 90, 90);
    match mark {
        Mark::Text {
            x,
            baseline,
            style,
            text,
        } => {
            surface.set_fill(Some(Fill {
                paint: if style.grey { grey } else { ink }.into(),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            let face = fonts.face(*style);
            surface.draw_glyphs(
                Point::from_xy(*x, *baseline),
                &face.glyphs(text),
                face.font.clone(),
                text,
                style.size,
                false,
            );
        }
        Mark::Rule { x1, x2, y } => {
            let mut path = PathBuilder::new();
            path.move_to(*x1, *y);
            path.line_to(*x2, *y);
            stroke(surface, path, 0.6);
        }
        Mark::Frame { x, y, w, h } => {
            let mut path = PathBuilder::new();
            path.move_to(*x, *y);
            path.line_to(x + w, *y);
            path.line_to(x + w, y + h);
            path.line_to(*x, y + h);
            path.close();
            stroke(surface, path, 0.8);
        }
    }
}

fn stroke(surface: &mut Surface<'_>, path: PathBuilder, width: f32) {
    // An empty path (never built here) would simply draw nothing.
    let Some(path) = path.finish() else { return };
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        width,
        ..Stroke::default()
    }));
    surface.draw_path(&path);
    surface.set_stroke(None);
}

#[cfg(test)]
mod tests;
