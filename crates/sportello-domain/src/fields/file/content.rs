//! What an uploaded file holds, read from its headers alone: an image's width and height, a
//! PDF's page count.
//!
//! CONTRACT: these functions never decode pixels or streams, never allocate in proportion to
//! the input, and never panic, whatever the bytes (a truncated file answers `None`).

/// Width and height from a PNG's `IHDR` chunk, which ISO/IEC 15948 §11.2.2 requires to be the
/// first chunk, right after the 8-byte signature: length (13), `IHDR`, width, height (each a
/// big-endian 4-byte integer from 1 to 2³¹−1).
pub fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if bytes.get(..8)? != SIGNATURE || bytes.get(8..12)? != [0, 0, 0, 13] {
        return None;
    }
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let width = be_u32(bytes.get(16..20)?)?;
    let height = be_u32(bytes.get(20..24)?)?;
    let valid = 1..=0x7FFF_FFFF;
    (valid.contains(&width) && valid.contains(&height)).then_some((width, height))
}

/// Width and height from a JPEG's frame header (`SOFn`, ITU-T T.81 §B.2.2), walking the marker
/// segments from the start: each is `FF xx` (with optional `FF` fill bytes before it, §B.1.1.2)
/// and, unless standalone (`RSTn`, `TEM`), a 2-byte length that counts itself. A scan (`SOS`) or
/// the end of the image before any frame header means the file cannot be measured. A height of 0
/// (to be given later by a `DNL` segment, which almost no encoder writes) is refused too.
pub fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2usize;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        match marker {
            0x01 | 0xD0..=0xD7 => continue,
            0x00 | 0xD8..=0xDA => return None,
            _ => {}
        }
        let length = usize::from(be_u16(bytes.get(at..at.checked_add(2)?)?)?);
        if length < 2 {
            return None;
        }
        if is_frame_header(marker) {
            // Lf (2), P (1), Y = lines (2), X = samples per line (2).
            let height = be_u16(bytes.get(at + 3..at + 5)?)?;
            let width = be_u16(bytes.get(at + 5..at + 7)?)?;
            return (width > 0 && height > 0).then_some((u32::from(width), u32::from(height)));
        }
        at = at.checked_add(length)?;
    }
}

/// `SOF0`–`SOF15` except `DHT` (C4), `JPG` (C8) and `DAC` (CC), which share the range.
fn is_frame_header(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

/// The number of page objects: dictionaries whose `/Type` is `/Page` (ISO 32000-1 §7.7.3.3), as
/// opposed to the page-tree nodes `/Pages`. Whitespace between the key and the value is
/// optional (`/Type/Page`); the name must end there, so `/Pages` and `/PageLabel` do not count.
///
/// Pages inside compressed object streams (PDF 1.5, §7.5.7) are not seen: counting them would
/// mean inflating streams, which is what this check exists to avoid doing on untrusted input.
/// The count is therefore a floor, which is what a cap needs to be cheap for honest files.
pub fn pdf_page_count(bytes: &[u8]) -> usize {
    const KEY: &[u8] = b"/Type";
    const VALUE: &[u8] = b"/Page";
    let mut count = 0;
    let mut at = 0;
    while let Some(found) = find(bytes.get(at..).unwrap_or_default(), KEY) {
        let mut value = at + found + KEY.len();
        while bytes.get(value).copied().is_some_and(is_pdf_whitespace) {
            value += 1;
        }
        let rest = bytes.get(value..).unwrap_or_default();
        if rest.starts_with(VALUE) {
            let next = rest.get(VALUE.len()).copied();
            if next.is_none_or(|b| is_pdf_whitespace(b) || is_pdf_delimiter(b)) {
                count += 1;
            }
        }
        at = at + found + KEY.len();
    }
    count
}

/// [`pdf_page_count`] for a file that arrives in pieces: the same count whatever the piece
/// sizes, in constant memory (a match cut between two pieces is followed across the cut).
#[derive(Debug, Default, Clone)]
pub struct PageCounter {
    count: usize,
    state: PageState,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum PageState {
    /// `n` bytes of `/Type` matched (0: none).
    #[default]
    Key0,
    Key(usize),
    /// `/Type` seen, whitespace being skipped.
    Space,
    /// `/Type`, whitespace, then `n` bytes of `/Page` (at least 1).
    Value(usize),
    /// `/Type /Page` whole: the next byte says whether the name ends there.
    End,
}

impl PageCounter {
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.step(b);
        }
    }

    /// The count, taking the end of the file as the end of a name.
    pub fn finish(&self) -> usize {
        self.count + usize::from(self.state == PageState::End)
    }

    /// Pages counted so far (a floor of [`PageCounter::finish`]).
    pub fn so_far(&self) -> usize {
        self.count
    }

    fn step(&mut self, b: u8) {
        const KEY: &[u8] = b"/Type";
        const VALUE: &[u8] = b"/Page";
        self.state = match self.state {
            PageState::Key0 => Self::key_from(0, b),
            PageState::Key(n) => Self::key_from(n, b),
            PageState::Space if is_pdf_whitespace(b) => PageState::Space,
            PageState::Space if b == VALUE[0] => PageState::Value(1),
            PageState::Space => Self::key_from(0, b),
            PageState::Value(n) if b == VALUE[n] => {
                if n + 1 == VALUE.len() {
                    PageState::End
                } else {
                    PageState::Value(n + 1)
                }
            }
            // Only the leading `/` of the value can also begin a `/Type`.
            PageState::Value(1) => Self::key_from(1, b),
            PageState::Value(_) => Self::key_from(0, b),
            PageState::End => {
                if is_pdf_whitespace(b) || is_pdf_delimiter(b) {
                    self.count += 1;
                }
                Self::key_from(0, b)
            }
        };
        if self.state == PageState::Key(KEY.len()) {
            self.state = PageState::Space;
        }
    }

    /// After `n` bytes of `/Type`, byte `b`: how much of `/Type` is matched now. No proper
    /// prefix of `/Type` recurs inside it but `/`, so a mismatch restarts at `/` or nothing.
    fn key_from(n: usize, b: u8) -> PageState {
        const KEY: &[u8] = b"/Type";
        if b == KEY[n] {
            PageState::Key(n + 1)
        } else if b == KEY[0] {
            PageState::Key(1)
        } else {
            PageState::Key0
        }
    }
}

/// ISO 32000-1 §7.2.2, Table 1.
fn is_pdf_whitespace(b: u8) -> bool {
    matches!(b, 0x00 | 0x09 | 0x0A | 0x0C | 0x0D | 0x20)
}

/// ISO 32000-1 §7.2.2, Table 2.
fn is_pdf_delimiter(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn be_u16(b: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(b.try_into().ok()?))
}

fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

/// Minimal well-formed headers, for tests here and in the callers.
#[cfg(test)]
pub(crate) mod samples {
    /// A PNG of `width`×`height`: the signature and a complete `IHDR` (CRC left zero: we do not
    /// check it, and no pixel data follows).
    pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
        let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        v.extend_from_slice(b"IHDR");
        v.extend_from_slice(&width.to_be_bytes());
        v.extend_from_slice(&height.to_be_bytes());
        v.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    /// A JPEG with an APP0 (JFIF) segment, a quantisation table and a baseline frame header.
    pub(crate) fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        v.extend_from_slice(&[
            0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0,
        ]);
        v.extend_from_slice(&[0xFF, 0xDB, 0, 3, 0]);
        v.extend_from_slice(&[0xFF, 0xFF, 0xC0, 0, 11, 8]);
        v.extend_from_slice(&height.to_be_bytes());
        v.extend_from_slice(&width.to_be_bytes());
        v.extend_from_slice(&[1, 1, 0x11, 0]);
        v.extend_from_slice(&[0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0]);
        v
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::samples::{jpeg, png};
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Text made of the pieces of the names, whitespace and delimiters, cut anywhere.
        #[test]
        fn pages_counted_in_pieces_are_the_pages_counted_whole(
            words in proptest::collection::vec(
                prop_oneof![
                    Just("/Type"), Just("/Page"), Just("/Pages"), Just("/"), Just("/T"),
                    Just("/P"), Just("Page"), Just(" "), Just("\n"), Just("("), Just("x"),
                    Just("/Type/Page"), Just("/Type /Page"), Just("/Ty")
                ],
                0..60,
            ),
            cuts in proptest::collection::vec(1usize..12, 1..30),
        ) {
            let text = words.concat();
            let bytes = text.as_bytes();
            let mut counter = PageCounter::default();
            let mut at = 0;
            for cut in cuts.iter().cycle() {
                if at >= bytes.len() {
                    break;
                }
                let end = (at + cut).min(bytes.len());
                counter.push(&bytes[at..end]);
                at = end;
            }
            prop_assert_eq!(counter.finish(), pdf_page_count(bytes), "{:?}", text);
        }
    }

    #[test]
    fn png_dimensions_come_from_ihdr() {
        assert_eq!(png_dimensions(&png(640, 480)), Some((640, 480)));
        assert_eq!(png_dimensions(&png(1, 1)), Some((1, 1)));
        assert_eq!(png_dimensions(&png(0, 10)), None);
        assert_eq!(png_dimensions(&png(10, 0x8000_0000)), None);
        let mut wrong_chunk = png(10, 10);
        wrong_chunk[12..16].copy_from_slice(b"IDAT");
        assert_eq!(png_dimensions(&wrong_chunk), None);
        let full = png(10, 10);
        for cut in 0..24 {
            assert_eq!(png_dimensions(&full[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn jpeg_dimensions_come_from_the_frame_header() {
        assert_eq!(jpeg_dimensions(&jpeg(1024, 768)), Some((1024, 768)));
        // Progressive (SOF2) too.
        let mut progressive = jpeg(3, 2);
        let sof = progressive
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .unwrap();
        progressive[sof + 1] = 0xC2;
        assert_eq!(jpeg_dimensions(&progressive), Some((3, 2)));
        // DHT (C4) shares the range and is skipped, not read as a frame.
        let mut with_dht = vec![0xFF, 0xD8, 0xFF, 0xC4, 0, 4, 0xAA, 0xBB];
        with_dht.extend_from_slice(&jpeg(5, 6)[2..]);
        assert_eq!(jpeg_dimensions(&with_dht), Some((5, 6)));
        // A height to be given by DNL, a scan before any frame, garbage between segments.
        assert_eq!(jpeg_dimensions(&jpeg(5, 0)), None);
        assert_eq!(jpeg_dimensions(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2]), None);
        assert_eq!(jpeg_dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 2, 0x12]), None);
        assert_eq!(jpeg_dimensions(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1]), None);
        let full = jpeg(10, 10);
        let sof = full.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        for cut in 0..sof + 9 {
            assert_eq!(jpeg_dimensions(&full[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn pdf_pages_are_counted_without_page_tree_nodes() {
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
            2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >> endobj\n\
            3 0 obj << /Type /Page /Parent 2 0 R >> endobj\n\
            4 0 obj <</Type/Page/Parent 2 0 R>> endobj\n\
            5 0 obj <</Type\r\n\t/Page>> endobj\n\
            6 0 obj << /Type /PageLabel >> endobj\n\
            7 0 obj << /Type /Pagesque >> endobj\n/Type /Page";
        assert_eq!(pdf_page_count(pdf), 4);
        assert_eq!(pdf_page_count(b"%PDF-1.7\n"), 0);
        assert_eq!(pdf_page_count(b"/Type"), 0);
        assert_eq!(pdf_page_count(b"/Type /Pag"), 0);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
            let prefixes: [&[u8]; 5] = [
                &[],
                &[0xFF, 0xD8],
                &[0xFF, 0xD8, 0xFF, 0xC0],
                &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'],
                b"%PDF-1.4 /Type /Page",
            ];
            for prefix in prefixes {
                let bytes = [prefix, &tail].concat();
                if let Some((w, h)) = png_dimensions(&bytes) {
                    prop_assert!(w > 0 && h > 0);
                }
                if let Some((w, h)) = jpeg_dimensions(&bytes) {
                    prop_assert!(w > 0 && h > 0);
                }
                prop_assert!(pdf_page_count(&bytes) <= bytes.len() / 10 + 1);
            }
        }

        #[test]
        fn segment_soup_never_panics(segments in proptest::collection::vec((any::<u8>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..12)), 0..12)) {
            let mut bytes = vec![0xFF, 0xD8];
            for (marker, length, body) in segments {
                bytes.extend_from_slice(&[0xFF, marker]);
                bytes.extend_from_slice(&length.to_be_bytes());
                bytes.extend_from_slice(&body);
            }
            let _ = jpeg_dimensions(&bytes);
        }
    }
}
