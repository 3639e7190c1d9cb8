//! A file checked as it arrives, for uploads that are never whole in memory: the same verdicts
//! as [`super::validate`] gives on the decoded bytes (size, kind by magic bytes, pixels, pages),
//! reached piece by piece, with a refusal as soon as one is certain (the size limit passed, a
//! page too many) so the rest need not be read.
//!
//! It keeps only an image's beginning, up to [`HEAD_BYTES`], to read its dimensions there; a
//! JPEG whose frame header comes later (more than a megabyte of metadata first) is refused as
//! unreadable.

use super::{
    check_pages, check_pixels, content, image_dimensions, sniff, too_large, unreadable_image,
    wrong_type, Limits,
};
use crate::fields::{FieldError, FileKind};

/// The beginning of an image kept to find its dimensions.
pub const HEAD_BYTES: usize = 1024 * 1024;
/// Bytes needed to tell the kinds apart (the PNG signature is the longest).
const MAGIC_BYTES: usize = 8;

/// What a file turned out to be, once all of it went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    pub kind: FileKind,
    pub size: u64,
}

#[derive(Debug)]
pub struct Inspector {
    limits: Limits,
    size: usize,
    kind: Option<FileKind>,
    /// The first bytes: the magic number, then an image's header until it is measured.
    head: Vec<u8>,
    /// The dimensions were found and allowed (images), or are not needed (PDF).
    measured: bool,
    pages: content::PageCounter,
}

impl Inspector {
    pub fn new(limits: Limits) -> Inspector {
        Inspector {
            limits,
            size: 0,
            kind: None,
            head: Vec::new(),
            measured: false,
            pages: content::PageCounter::default(),
        }
    }

    /// Takes the next piece; an error means the file is refused whatever follows.
    pub fn push(&mut self, data: &[u8]) -> Result<(), FieldError> {
        self.size = self.size.saturating_add(data.len());
        if self.size > self.limits.max_bytes {
            return Err(too_large(self.limits.max_bytes));
        }
        if !self.measured && self.head.len() < HEAD_BYTES {
            let room = HEAD_BYTES - self.head.len();
            self.head.extend_from_slice(&data[..room.min(data.len())]);
        }
        if self.kind.is_none() && self.head.len() >= MAGIC_BYTES {
            self.kind = Some(sniff(&self.head).ok_or_else(wrong_type)?);
        }
        match self.kind {
            Some(FileKind::Pdf) => {
                self.head = Vec::new();
                self.measured = true;
                self.pages.push(data);
                check_pages(self.pages.so_far(), self.limits)?;
            }
            Some(kind) if !self.measured => {
                if let Some(dimensions) = image_dimensions(kind, &self.head) {
                    check_pixels(dimensions, self.limits)?;
                    self.head = Vec::new();
                    self.measured = true;
                } else if self.head.len() >= HEAD_BYTES {
                    return Err(unreadable_image());
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The verdict on the whole file.
    pub fn finish(self) -> Result<Inspected, FieldError> {
        if self.size == 0 {
            return Err(FieldError::new("file_empty", "the file is empty"));
        }
        let kind = match self.kind {
            Some(kind) => kind,
            None => sniff(&self.head).ok_or_else(wrong_type)?,
        };
        match kind {
            FileKind::Pdf => check_pages(self.pages.finish(), self.limits)?,
            _ if self.measured => {}
            _ => check_pixels(
                image_dimensions(kind, &self.head).ok_or_else(unreadable_image)?,
                self.limits,
            )?,
        }
        Ok(Inspected {
            kind,
            size: self.size as u64,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::content::samples;
    use super::super::validate;
    use super::*;
    use base64::Engine;
    use proptest::prelude::*;

    fn limits() -> Limits {
        Limits {
            max_bytes: 4000,
            max_image_pixels: 100,
            max_pdf_pages: 3,
        }
    }

    fn inspect(bytes: &[u8], piece: usize) -> Result<Inspected, FieldError> {
        let mut inspector = Inspector::new(limits());
        for part in bytes.chunks(piece.max(1)) {
            inspector.push(part)?;
        }
        inspector.finish()
    }

    fn whole(bytes: &[u8]) -> Result<FileKind, FieldError> {
        if bytes.is_empty() {
            return Err(FieldError::new("file_empty", "the file is empty"));
        }
        let raw = base64::engine::general_purpose::STANDARD.encode(bytes);
        validate(&raw, limits()).map(|f| f.kind)
    }

    fn pdf(pages: usize, pad: usize) -> Vec<u8> {
        let mut v = b"%PDF-1.7\n".to_vec();
        for _ in 0..pages {
            v.extend_from_slice(b"1 0 obj << /Type /Page /Parent 2 0 R >> endobj\n");
        }
        v.extend(std::iter::repeat_n(b'x', pad));
        v
    }

    fn samples() -> Vec<Vec<u8>> {
        vec![
            Vec::new(),
            b"%PDF".to_vec(),
            b"just text, not a document".to_vec(),
            pdf(1, 0),
            pdf(3, 100),
            pdf(4, 0),
            pdf(1, 5000),
            samples::png(10, 10),
            samples::png(11, 10),
            samples::png(10, 10)[..20].to_vec(),
            samples::jpeg(10, 10),
            samples::jpeg(20, 20),
            samples::jpeg(10, 10)[..12].to_vec(),
        ]
    }

    proptest! {
        #[test]
        fn a_file_in_pieces_gets_the_verdict_it_gets_whole(
            which in 0usize..13,
            piece in 1usize..64,
        ) {
            let bytes = &samples()[which];
            let streamed = inspect(bytes, piece).map(|i| i.kind).map_err(|e| e.code);
            prop_assert_eq!(streamed, whole(bytes).map_err(|e| e.code), "sample {}", which);
        }
    }

    #[test]
    fn the_size_limit_stops_the_file_as_soon_as_it_is_passed() {
        let mut inspector = Inspector::new(limits());
        inspector.push(&pdf(1, 3000)).unwrap();
        assert_eq!(
            inspector.push(&[b'x'; 2000]).unwrap_err().code,
            "file_too_large"
        );
    }

    #[test]
    fn an_image_header_beyond_the_kept_beginning_is_unreadable() {
        let mut inspector = Inspector::new(Limits {
            max_bytes: 4 * HEAD_BYTES,
            ..limits()
        });
        // A JPEG start, then comment segments (FF FE, 64 KiB each) past the kept beginning.
        inspector.push(&[0xFF, 0xD8]).unwrap();
        let mut refused = None;
        for _ in 0..20 {
            let mut segment = vec![0xFF, 0xFE, 0xFF, 0xFF];
            segment.extend(std::iter::repeat_n(0u8, 0xFFFF - 2));
            if let Err(e) = inspector.push(&segment) {
                refused = Some(e);
                break;
            }
        }
        assert_eq!(refused.unwrap().code, "file_type");
    }
}
