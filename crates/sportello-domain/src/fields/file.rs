//! `file`: a document sent inline in `json_visura`.
//!
//! The commercial API has no upload endpoint: files travel as `name|data:<mime>;base64,<data>`
//! (what its SDKs build), and we also take a bare `data:` URL or bare base64. The declared MIME
//! type and the name's extension are ignored: the kind is decided by the first bytes (the "magic
//! numbers" of ISO 32000-1 §7.5.2 for PDF, JFIF/Exif SOI + marker for JPEG, the PNG signature
//! of ISO/IEC 15948 §5.2), because a client's label is a claim and the operator who opens the
//! file needs the truth. The name is only a label for people: it is sanitised and given the
//! extension of the detected kind.
//!
//! The content is then measured without being decoded (headers only, see `content`): an image
//! over the pixel cap or a PDF over the page cap is refused, so an operator's viewer is never
//! handed a decompression bomb.

pub mod content;
pub mod inspect;

use super::{text, FieldError, FileKind, FileUpload};
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

/// The longest file name we keep, extension included.
pub const MAX_NAME_CHARS: usize = 100;
/// The name used when the client sends none (or nothing usable is left of it).
pub const DEFAULT_NAME: &str = "documento";

/// Base64 as real clients produce it: padding optional (many encoders drop it), stray low bits
/// in the last character tolerated. Whitespace is removed before decoding (MIME encoders wrap
/// lines at 76 characters).
const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
/// Some clients (JavaScript's `btoa` replacements, JWT libraries) send the URL-safe alphabet.
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// What a file may weigh and contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest decoded size, in bytes.
    pub max_bytes: usize,
    /// Largest image, in pixels (width × height).
    pub max_image_pixels: u64,
    /// Most pages in a PDF.
    pub max_pdf_pages: u32,
}

/// Parses, decodes and checks one file value.
pub fn validate(raw: &str, limits: Limits) -> Result<FileUpload, FieldError> {
    let max_bytes = limits.max_bytes;
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new("required", "the value is empty"));
    }
    check_size(value, max_bytes)?;

    // Base64 and `data:` headers never contain `|`, so the last one ends the name.
    let (name, rest) = match value.rsplit_once('|') {
        Some((name, rest)) => (name, rest.trim()),
        None => ("", value),
    };
    let payload = strip_data_url(rest)?;

    let significant = payload.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    if significant == 0 {
        return Err(FieldError::new("file_empty", "the file is empty"));
    }
    if significant > max_bytes.div_ceil(3).saturating_mul(4) {
        return Err(too_large(max_bytes));
    }
    let compact: Vec<u8> = payload
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let engine = if compact.iter().any(|&b| b == b'-' || b == b'_') {
        &URL_SAFE
    } else {
        &STANDARD
    };
    let bytes = engine.decode(&compact).map_err(|_| {
        FieldError::new(
            "file_encoding",
            "the file is not valid base64 (expected name|data:<mime>;base64,<data>, a data: URL or base64)",
        )
    })?;
    if bytes.is_empty() {
        return Err(FieldError::new("file_empty", "the file is empty"));
    }
    if bytes.len() > max_bytes {
        return Err(too_large(max_bytes));
    }
    let kind = sniff(&bytes).ok_or_else(wrong_type)?;
    check_content(kind, &bytes, limits)?;
    Ok(FileUpload {
        name: sanitize_name(name, kind),
        kind,
        bytes,
    })
}

/// Measures what the file holds: pixels for an image, pages for a PDF.
fn check_content(kind: FileKind, bytes: &[u8], limits: Limits) -> Result<(), FieldError> {
    match kind {
        FileKind::Png | FileKind::Jpeg => {
            let dimensions = image_dimensions(kind, bytes).ok_or_else(unreadable_image)?;
            check_pixels(dimensions, limits)
        }
        FileKind::Pdf => check_pages(content::pdf_page_count(bytes), limits),
    }
}

/// Width and height from an image's header (`None` for a PDF, or a header not readable).
fn image_dimensions(kind: FileKind, bytes: &[u8]) -> Option<(u32, u32)> {
    match kind {
        FileKind::Png => content::png_dimensions(bytes),
        FileKind::Jpeg => content::jpeg_dimensions(bytes),
        FileKind::Pdf => None,
    }
}

fn unreadable_image() -> FieldError {
    FieldError::new(
        "file_type",
        "the image header cannot be read (a truncated or damaged file)",
    )
}

fn wrong_type() -> FieldError {
    FieldError::new(
        "file_type",
        "only PDF, JPEG and PNG files are accepted (the type is read from the content, not from the name or the declared type)",
    )
}

fn check_pixels((width, height): (u32, u32), limits: Limits) -> Result<(), FieldError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_image_pixels {
        return Err(FieldError::new(
            "image_too_large",
            format!(
                "the image has {pixels} pixels ({width}×{height}), more than the limit of {}",
                limits.max_image_pixels
            ),
        ));
    }
    Ok(())
}

fn check_pages(pages: usize, limits: Limits) -> Result<(), FieldError> {
    if pages > limits.max_pdf_pages as usize {
        return Err(FieldError::new(
            "pdf_too_many_pages",
            format!("the PDF has more than {} pages", limits.max_pdf_pages),
        ));
    }
    Ok(())
}

/// Whether a file value could be at most `max_bytes` once decoded, without decoding it: the
/// whole value within twice its base64 size (room for line breaks, the name and the `data:`
/// prefix), its base64 characters within 4 per 3 bytes. What a draft's file value is held to,
/// before it is complete enough to be checked for real.
pub fn check_size(raw: &str, max_bytes: usize) -> Result<(), FieldError> {
    let value = raw.trim();
    let max_encoded = max_bytes.div_ceil(3).saturating_mul(4);
    if value.len() > max_encoded.saturating_mul(2).saturating_add(4096) {
        return Err(too_large(max_bytes));
    }
    let payload = value
        .rsplit_once('|')
        .map_or(value, |(_, rest)| rest.trim());
    // The base64 after a `data:` header's comma (or the whole, when bare).
    let is_data_url = payload
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("data:"));
    let payload = match payload.split_once(',') {
        Some((_, data)) if is_data_url => data,
        _ => payload,
    };
    let significant = payload.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    if significant > max_encoded {
        return Err(too_large(max_bytes));
    }
    Ok(())
}

fn too_large(max_bytes: usize) -> FieldError {
    FieldError::new(
        "file_too_large",
        format!("the file is larger than the limit of {max_bytes} bytes"),
    )
}

/// `data:[<mime>][;param…];base64,<data>` → `<data>`; anything not starting with `data:` is
/// taken as bare base64 (`:` is not a base64 character, so there is no ambiguity).
fn strip_data_url(s: &str) -> Result<&str, FieldError> {
    let is_data_url = s.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("data:"));
    if !is_data_url {
        return Ok(s);
    }
    let Some((header, data)) = s.split_once(',') else {
        return Err(FieldError::new(
            "file_encoding",
            "the data: URL has no comma before its content",
        ));
    };
    let base64 = header
        .rsplit(';')
        .next()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("base64"));
    if !base64 {
        return Err(FieldError::new(
            "file_encoding",
            "only base64 data: URLs are accepted (data:<mime>;base64,<data>)",
        ));
    }
    Ok(data)
}

/// The kind of a file, from its first bytes.
pub fn sniff(bytes: &[u8]) -> Option<FileKind> {
    if bytes.starts_with(b"%PDF-") {
        Some(FileKind::Pdf)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(FileKind::Jpeg)
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(FileKind::Png)
    } else {
        None
    }
}

/// A name safe to show and to offer as a download: no directories, no control or
/// direction-override characters, none of the characters Windows forbids in names, no leading
/// dot (hidden files) or trailing dot or space, at most [`MAX_NAME_CHARS`] characters, and the
/// extension of `kind` in place of whatever the client wrote.
pub fn sanitize_name(raw: &str, kind: FileKind) -> String {
    // Both separators: a name typed on Windows arrives with backslashes.
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|&c| !text::is_forbidden(c))
        .map(|c| if "<>:\"|?*".contains(c) { '_' } else { c })
        .collect();
    let edge = |c: char| c.is_whitespace() || c == '.';
    let trimmed = cleaned.trim_matches(edge);
    let stem = match trimmed.rsplit_once('.') {
        Some((stem, ext)) if looks_like_extension(ext) => stem.trim_end_matches(edge),
        _ => trimmed,
    };
    let ext = kind.extension();
    let room = MAX_NAME_CHARS.saturating_sub(ext.len() + 1);
    let stem: String = stem.chars().take(room).collect();
    let stem = stem.trim_end_matches(edge);
    let stem = if stem.is_empty() { DEFAULT_NAME } else { stem };
    format!("{stem}.{ext}")
}

/// `pdf`, `JPEG`, `docx`: short, alphanumeric, with a letter (so `v.2` keeps its `2`).
fn looks_like_extension(ext: &str) -> bool {
    (1..=5).contains(&ext.len())
        && ext.bytes().all(|b| b.is_ascii_alphanumeric())
        && ext.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::content::samples;
    use super::*;
    use base64::engine::general_purpose::STANDARD as B64;

    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n";

    fn jpeg() -> Vec<u8> {
        samples::jpeg(2, 2)
    }

    fn png() -> Vec<u8> {
        samples::png(2, 2)
    }

    fn limits(max_bytes: usize) -> Limits {
        Limits {
            max_bytes,
            max_image_pixels: 100,
            max_pdf_pages: 3,
        }
    }

    fn ok(raw: &str) -> FileUpload {
        validate(raw, limits(1000)).unwrap()
    }

    fn code(raw: &str) -> &'static str {
        validate(raw, limits(1000)).unwrap_err().code
    }

    #[test]
    fn the_commercial_api_form_is_accepted() {
        let f = ok(&format!(
            "carta identità.pdf|data:application/pdf;base64,{}",
            B64.encode(PDF)
        ));
        assert_eq!(f.kind, FileKind::Pdf);
        assert_eq!(f.bytes, PDF);
        assert_eq!(f.name, "carta identità.pdf");
    }

    #[test]
    fn a_bare_data_url_and_bare_base64_are_accepted() {
        let f = ok(&format!("data:image/png;base64,{}", B64.encode(png())));
        assert_eq!((f.kind, f.name.as_str()), (FileKind::Png, "documento.png"));
        let f = ok(&B64.encode(jpeg()));
        assert_eq!((f.kind, f.name.as_str()), (FileKind::Jpeg, "documento.jpg"));
        let f = ok(&format!(
            "DATA:image/jpeg;name=x.jpg;BASE64,{}",
            B64.encode(jpeg())
        ));
        assert_eq!(f.kind, FileKind::Jpeg);
    }

    #[test]
    fn the_content_decides_the_type_not_the_label() {
        let f = ok(&format!(
            "foto.png|data:image/png;base64,{}",
            B64.encode(PDF)
        ));
        assert_eq!((f.kind, f.name.as_str()), (FileKind::Pdf, "foto.pdf"));
        let exe = b"MZ\x90\x00\x03\x00\x00\x00";
        assert_eq!(
            code(&format!(
                "a.pdf|data:application/pdf;base64,{}",
                B64.encode(exe)
            )),
            "file_type"
        );
        assert_eq!(code(&B64.encode(b"<html><script>")), "file_type");
    }

    #[test]
    fn lenient_base64_missing_padding_line_breaks_and_url_safe() {
        let enc = B64.encode(PDF);
        let unpadded = enc.trim_end_matches('=');
        assert_eq!(ok(unpadded).bytes, PDF);
        let wrapped: String = enc
            .as_bytes()
            .chunks(10)
            .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert_eq!(
            ok(&format!("x.pdf|data:application/pdf;base64,\n{wrapped}")).bytes,
            PDF
        );
        let url_safe = enc.replace('+', "-").replace('/', "_");
        assert_eq!(ok(&url_safe).bytes, PDF);
    }

    #[test]
    fn broken_encodings_are_refused() {
        assert_eq!(code("data:application/pdf,%25PDF-1.4"), "file_encoding");
        assert_eq!(code("data:application/pdf;base64"), "file_encoding");
        assert_eq!(code("not base64 at all!"), "file_encoding");
        assert_eq!(code("a.pdf|data:application/pdf;base64,"), "file_empty");
        assert_eq!(code("a.pdf|"), "file_empty");
        assert_eq!(code("   "), "required");
    }

    #[test]
    fn size_is_checked_after_decoding_and_before() {
        let mut big = PDF.to_vec();
        big.resize(1000, b' ');
        assert!(validate(&B64.encode(&big), limits(1000)).is_ok());
        big.push(b' ');
        assert_eq!(
            validate(&B64.encode(&big), limits(1000)).unwrap_err().code,
            "file_too_large"
        );
        // Far too long: refused without decoding (it is not even valid base64).
        let huge = "!".repeat(10_000);
        assert_eq!(
            validate(&huge, limits(1000)).unwrap_err().code,
            "file_too_large"
        );
    }

    #[test]
    fn names_are_sanitised() {
        let cases = [
            ("../../etc/passwd", FileKind::Pdf, "passwd.pdf"),
            (
                "C:\\Users\\mario\\Desktop\\CI fronte.JPEG",
                FileKind::Jpeg,
                "CI fronte.jpg",
            ),
            ("scansione.png", FileKind::Jpeg, "scansione.jpg"),
            ("relazione v.2", FileKind::Pdf, "relazione v.2.pdf"),
            (".hidden", FileKind::Pdf, "hidden.pdf"),
            ("....", FileKind::Pdf, "documento.pdf"),
            ("", FileKind::Png, "documento.png"),
            ("a\u{0}b\nc\u{202e}fdp.exe", FileKind::Pdf, "abcfdp.pdf"),
            ("what?<is>:this*.pdf", FileKind::Pdf, "what__is__this_.pdf"),
            ("name. . .pdf", FileKind::Pdf, "name.pdf"),
        ];
        for (raw, kind, want) in cases {
            assert_eq!(sanitize_name(raw, kind), want, "{raw:?}");
        }
        let long = format!("{}.pdf", "è".repeat(300));
        let name = sanitize_name(&long, FileKind::Pdf);
        assert_eq!(name.chars().count(), MAX_NAME_CHARS);
        assert!(name.ends_with("è.pdf"));
    }

    #[test]
    fn the_name_may_contain_a_pipe() {
        let f = ok(&format!(
            "a|b.pdf|data:application/pdf;base64,{}",
            B64.encode(PDF)
        ));
        assert_eq!(f.name, "a_b.pdf");
    }

    #[test]
    fn messages_never_echo_the_name_or_content() {
        for raw in [
            "segreto.pdf|data:application/pdf;base64,c2VncmV0bw==",
            "segreto.pdf|%%%",
            "segreto.pdf|data:x",
        ] {
            let e = validate(raw, limits(1000)).unwrap_err();
            assert!(
                !e.message.contains("segreto") && !e.message.contains("c2Vn"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn images_over_the_pixel_cap_are_refused() {
        let data = |bytes: &[u8]| format!("x|data:image/png;base64,{}", B64.encode(bytes));
        assert!(validate(&data(&samples::png(10, 10)), limits(1000)).is_ok());
        assert!(validate(&data(&samples::jpeg(20, 5)), limits(1000)).is_ok());
        assert_eq!(code(&data(&samples::png(10, 11))), "image_too_large");
        assert_eq!(code(&data(&samples::jpeg(101, 1))), "image_too_large");
        // The largest dimensions a PNG may declare do not overflow the product.
        assert_eq!(
            code(&data(&samples::png(0x7FFF_FFFF, 0x7FFF_FFFF))),
            "image_too_large"
        );
    }

    #[test]
    fn images_whose_header_cannot_be_read_are_refused_as_file_type() {
        let png = png();
        let jpeg = jpeg();
        for truncated in [&png[..12], &png[..20], &jpeg[..4], &[0xFF, 0xD8, 0xFF][..]] {
            let e = validate(&B64.encode(truncated), limits(1000)).unwrap_err();
            assert_eq!(e.code, "file_type");
            assert!(e.message.contains("header"), "{}", e.message);
        }
    }

    #[test]
    fn pdfs_over_the_page_cap_are_refused() {
        let pdf = |pages: usize| {
            let mut v = b"%PDF-1.4\n1 0 obj << /Type /Pages /Count 9 >> endobj\n".to_vec();
            for n in 0..pages {
                v.extend_from_slice(format!("{} 0 obj <</Type/Page>> endobj\n", n + 2).as_bytes());
            }
            B64.encode(v)
        };
        assert!(validate(&pdf(3), limits(1000)).is_ok());
        let e = validate(&pdf(4), limits(1000)).unwrap_err();
        assert_eq!(e.code, "pdf_too_many_pages");
        assert!(e.message.contains('3'), "{}", e.message);
    }
}
