//! Request bodies as they come in: how large each route's may be, reading one within that
//! limit, and the bounded form of a JSON body (`members`).
//!
//! Invariant: no body is held past its route's limit, and none is turned into something much
//! larger than itself. Anyone may send a body — the back office's login takes one before any
//! check — so a body is refused by its `Content-Length` before a byte is read, or as soon as the
//! bytes read pass the limit, and parsing keeps only what the route reads.
//!
//! The limit is chosen by what a route reads, not by a layer on the route: each extractor that
//! reads a body names its [`BodyLimit`] (a form, a small JSON, a submission with files, an
//! operator's result file), so a handler's signature says how much it may receive and a new
//! route cannot forget its limit. Multipart uploads (the back office's result upload) are not
//! read here: they stream into the file store under `max_body_bytes`.

pub mod members;
pub mod operator;

use axum::body::Body;
use axum::http::{header, HeaderMap};
use futures::StreamExt;

use crate::state::Limits;

/// What a route's JSON body is: the members it reads ([`members::Shape`]) and how large it may
/// be.
pub trait JsonShape: members::Shape {
    const LIMIT: BodyLimit;
}

/// A back-office form: a few short fields. The longest an honest form carries is a 2000-character
/// note or message, up to 12 bytes a character once percent-encoded (a 4-byte UTF-8 character).
pub const FORM_BYTES: usize = 32 * 1024;

/// A JSON body that carries no file: a few members, the longest a 2000-character message, up to
/// 12 bytes a character as JSON escapes (a surrogate pair).
pub const JSON_BYTES: usize = 64 * 1024;

/// A provider's privacy notice or mandate template, as JSON or as a back-office form: up to
/// `paperwork::MAX_TEXT` (50,000) characters at 12 bytes a character, the worst case of either
/// encoding, and room for the other members.
pub const PAPERWORK_BYTES: usize = 50_000 * 12 + 16 * 1024;

/// Room for everything of a submission but its files: text fields, `callback_data`, options.
pub const SUBMISSION_MARGIN: usize = 64 * 1024;

/// Room for a file's name and its `data:` prefix, per file.
const FILE_MARGIN: usize = 1024;

/// What a route's body carries, and so how large it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// A back-office form ([`FORM_BYTES`]).
    Form,
    /// JSON without files ([`JSON_BYTES`]).
    Json,
    /// A provider's notice or mandate ([`PAPERWORK_BYTES`]), as JSON or as a form.
    Paperwork,
    /// `POST /richiesta`, `PUT /richiesta/{id}`: up to `max_files_per_request` files of
    /// `max_file_bytes`, base64 inside JSON.
    Submission,
    /// The operator API's result upload: one file, base64 inside JSON.
    Result,
}

impl BodyLimit {
    /// The limit in bytes; never more than `max_body_bytes`.
    pub fn bytes(self, limits: &Limits) -> usize {
        let wanted = match self {
            BodyLimit::Form => FORM_BYTES,
            BodyLimit::Json => JSON_BYTES,
            BodyLimit::Paperwork => PAPERWORK_BYTES,
            BodyLimit::Submission => files(limits, limits.max_files_per_request),
            BodyLimit::Result => files(limits, 1),
        };
        wanted.min(limits.max_body_bytes)
    }
}

/// `n` files of `max_file_bytes` as JSON carries them, and the rest of a body. Base64 takes 4
/// bytes for 3, and an eighth more covers what encoders add: PHP's `json_encode` writes `/` as
/// `\/` (a 64th of base64), and MIME-wrapped base64 has an escaped line break every 76 characters.
fn files(limits: &Limits, n: usize) -> usize {
    let base64 = limits.max_file_bytes.div_ceil(3).saturating_mul(4);
    let one = base64
        .saturating_add(base64 / 8)
        .saturating_add(FILE_MARGIN);
    one.saturating_mul(n).saturating_add(SUBMISSION_MARGIN)
}

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Longer than the limit (by its `Content-Length`, or by what arrived).
    TooLarge,
    /// The connection broke off or the framing was wrong.
    Broken,
}

/// The body, read whole, refused as soon as it is known to exceed `limit` bytes: at once when
/// its `Content-Length` says so, otherwise when the bytes received pass it (a chunked body).
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ReadError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(ReadError::TooLarge);
    }
    // The declared length is reserved once (pages become resident only as they are filled);
    // without one, the buffer grows with what arrives.
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0));
    let mut stream = body.into_data_stream();
    while let Some(frame) = stream.next().await {
        let chunk = frame.map_err(|_| ReadError::Broken)?;
        if bytes.len().saturating_add(chunk.len()) > limit {
            return Err(ReadError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_follow_the_settings_and_never_pass_max_body_bytes() {
        let defaults = Limits::default();
        assert_eq!(BodyLimit::Form.bytes(&defaults), FORM_BYTES);
        assert_eq!(BodyLimit::Json.bytes(&defaults), JSON_BYTES);
        assert_eq!(BodyLimit::Paperwork.bytes(&defaults), PAPERWORK_BYTES);
        // 20 files of 10 MiB are more than 64 MiB: the body limit caps it.
        assert_eq!(
            BodyLimit::Submission.bytes(&defaults),
            defaults.max_body_bytes
        );
        let result = BodyLimit::Result.bytes(&defaults);
        assert!(result > defaults.max_file_bytes / 3 * 4 && result < 17 * 1024 * 1024);

        let small = Limits {
            max_body_bytes: 4096,
            ..Limits::default()
        };
        for limit in [
            BodyLimit::Form,
            BodyLimit::Json,
            BodyLimit::Paperwork,
            BodyLimit::Submission,
            BodyLimit::Result,
        ] {
            assert_eq!(limit.bytes(&small), 4096);
        }

        let two_small_files = Limits {
            max_file_bytes: 3000,
            max_files_per_request: 2,
            ..Limits::default()
        };
        assert_eq!(
            BodyLimit::Submission.bytes(&two_small_files),
            2 * (4000 + 500 + FILE_MARGIN) + SUBMISSION_MARGIN
        );
    }
}
