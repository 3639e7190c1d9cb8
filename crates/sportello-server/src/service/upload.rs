//! One uploaded file into the file store: checked like every file (magic bytes, size, pixels,
//! pages), measured (size, SHA-256) and sealed with the request's data key. Operators' result
//! files and clients' documents beyond the form both come in this way, as a JSON string (base64
//! or a `data:` URL, with an optional `name|` prefix) or as a multipart stream.
//!
//! Invariant: nothing is left in the store when a check fails, and a stream is never whole in
//! memory.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sportello_domain::fields::file::inspect::{Inspected, Inspector};
use sportello_domain::fields::{self, FieldError, FieldType, FieldValue};
use sportello_store::crypto::DataKey;
use sportello_store::StoreError;

use super::field_context;
use crate::body::operator::Invalid;
use crate::envelope::Detail;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A file sealed into the store under `blob_key`.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// A safe name with the extension of the detected type.
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
}

/// A file refused by its checks: 412/229 naming `file` and why.
pub fn refused(e: FieldError) -> ApiError {
    ApiError::validation(
        229,
        vec![Detail {
            campo: "file".into(),
            codice: e.code.to_string(),
            messaggio: e.message,
        }],
    )
}

/// Seals a file sent inside JSON. `name` (when given) takes the place of the one in the value.
pub async fn seal_text(
    state: &AppState,
    key: &DataKey,
    blob_key: &str,
    raw: &str,
    name: Option<&str>,
) -> ApiResult<Sealed> {
    let upload = match fields::validate(FieldType::File, "file", raw, &field_context(state)) {
        Ok(FieldValue::File(f)) => f,
        Ok(FieldValue::Text(_)) => return Err(ApiError::internal()),
        Err(e) => return Err(refused(e)),
    };
    state.blobs.put_sealed(blob_key, key, &upload.bytes).await?;
    Ok(Sealed {
        name: match name {
            Some(n) => sanitize_name(n, upload.kind.extension()),
            None => upload.name.clone(),
        },
        mime: upload.kind.mime().to_string(),
        size: upload.bytes.len() as u64,
        sha256: sportello_store::ids::sha256_hex(&upload.bytes),
    })
}

/// Why a streamed upload stopped before its end.
enum Stop {
    Refused(FieldError),
    /// The body broke off or passed the body limit.
    Unreadable,
}

/// Seals a file read as a stream (a multipart part): the inspector sees each piece before it is
/// sealed, and a refusal ends the stream with an error, which makes the store abandon the
/// upload.
pub async fn seal_stream<S, E>(
    state: &AppState,
    key: &DataKey,
    blob_key: &str,
    file_name: &str,
    body: S,
) -> ApiResult<Sealed>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let inspector = Inspector::new(field_context(state).file_limits());
    let mut verdict: Option<Result<Inspected, Stop>> = None;
    let checked = futures::stream::unfold(
        (Box::pin(body), Some(inspector), &mut verdict),
        |(mut body, mut inspector, verdict)| async move {
            let stopped = || StoreError::Corrupt("the upload was refused on the way".into());
            let current = inspector.as_mut()?;
            match body.next().await {
                Some(Ok(piece)) => match current.push(&piece) {
                    Ok(()) => Some((Ok(piece), (body, inspector, verdict))),
                    Err(e) => {
                        *verdict = Some(Err(Stop::Refused(e)));
                        Some((Err(stopped()), (body, None, verdict)))
                    }
                },
                Some(Err(_)) => {
                    *verdict = Some(Err(Stop::Unreadable));
                    Some((Err(stopped()), (body, None, verdict)))
                }
                None => match inspector.take()?.finish() {
                    Ok(inspected) => {
                        *verdict = Some(Ok(inspected));
                        None
                    }
                    Err(e) => {
                        *verdict = Some(Err(Stop::Refused(e)));
                        Some((Err(stopped()), (body, None, verdict)))
                    }
                },
            }
        },
    );
    let written = state.blobs.put_sealed_stream(blob_key, key, checked).await;
    let (written, inspected) = match (written, verdict) {
        (_, Some(Err(Stop::Refused(e)))) if e.code == "file_empty" => {
            return Err(Invalid::NoFileChosen.into())
        }
        (_, Some(Err(Stop::Refused(e)))) => return Err(refused(e)),
        (_, Some(Err(Stop::Unreadable))) => {
            return Err(ApiError::malformed("the uploaded file could not be read"))
        }
        (Err(e), _) => return Err(e.into()),
        (Ok(written), Some(Ok(inspected))) => (written, inspected),
        (Ok(_), None) => return Err(ApiError::internal()),
    };
    let name = if file_name.trim().is_empty() {
        fields::file::sanitize_name("", inspected.kind)
    } else {
        sanitize_name(file_name, inspected.kind.extension())
    };
    Ok(Sealed {
        name,
        mime: inspected.kind.mime().to_string(),
        size: written.size,
        sha256: written.sha256,
    })
}

/// Removes a sealed file that ended up belonging to nothing (the request moved on meanwhile).
pub async fn discard(state: &AppState, blob_key: &str) {
    if let Err(e) = state.blobs.delete(blob_key).await {
        tracing::warn!(error = %e, "removing an unrecorded file failed");
    }
}

/// Keeps a name safe to put in a zip and a Content-Disposition: no paths, no control characters,
/// the extension of the detected type.
pub fn sanitize_name(name: &str, extension: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(100)
        .collect();
    let stem = cleaned
        .rsplit_once('.')
        .map(|(s, _)| s.to_string())
        .unwrap_or(cleaned);
    let stem = stem.trim().trim_start_matches('.');
    let stem = if stem.is_empty() { "risultato" } else { stem };
    format!("{stem}.{extension}")
}

#[cfg(test)]
mod tests {
    use super::sanitize_name;

    #[test]
    fn names_lose_paths_and_get_the_real_extension() {
        assert_eq!(sanitize_name("../../etc/passwd", "pdf"), "passwd.pdf");
        assert_eq!(sanitize_name("esito.exe", "pdf"), "esito.pdf");
        assert_eq!(sanitize_name("", "png"), "risultato.png");
        assert_eq!(sanitize_name(".hidden", "pdf"), "risultato.pdf");
    }
}
