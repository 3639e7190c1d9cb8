//! The result archive: built once when a request is closed, stored as a blob, served as the
//! commercial API's base64 JSON or streamed as binary.

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use sportello_store::crypto::DataKey;
use sportello_store::{ids, DocumentRecord, FileKind, FileRecord, StoreError};

use super::archive::{self, Archive, Content};
use super::base64_stream;
use super::tenancy::find_own;
use crate::auth::ClientCaller;
use crate::envelope::Envelope;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Documento;

/// Zips the result files (names made unique) and stores the archive.
pub async fn build_archive(
    state: &AppState,
    request_id: &str,
    results: &[FileRecord],
) -> ApiResult<DocumentRecord> {
    let key = super::data_key(state, request_id).await?;
    let mut archive = Archive::new();
    let allegati = results
        .iter()
        .filter(|f| f.kind == FileKind::Result)
        .map(|f| {
            archive.add(
                &f.name,
                Content::Stored {
                    blob_key: f.blob_key.clone(),
                    key: key.clone(),
                },
            )
        })
        .collect();
    let zip = archive::to_vec(&state.blobs, archive).await?;
    let blob_key = format!("requests/{request_id}/documento.zip");
    let doc = DocumentRecord {
        allegati,
        size: zip.len() as u64,
        sha256: ids::sha256_hex(&zip),
        blob_key: blob_key.clone(),
    };
    state.blobs.put_sealed(&blob_key, &key, &zip).await?;
    Ok(doc)
}

async fn ready_document(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
) -> ApiResult<DocumentRecord> {
    if !ids::is_request_id(id) {
        return Err(ApiError::invalid_id(243));
    }
    let r = find_own(state, caller, id)
        .await?
        .ok_or_else(|| ApiError::no_such_request(244, id))?;
    if r.purged_at.is_some() {
        return Err(ApiError::purged());
    }
    match (r.status.document_ready(), r.document) {
        (true, Some(doc)) => Ok(doc),
        _ => Err(ApiError::document_not_ready()),
    }
}

/// The ready document and its key, with the download recorded in the audit trail first.
async fn open_document(
    state: &AppState,
    caller: &ClientCaller,
    id: &str,
    form: &str,
) -> ApiResult<(DocumentRecord, DataKey)> {
    let doc = ready_document(state, caller, id).await?;
    let key = super::data_key(state, id).await?;
    super::audit::record(
        state,
        caller.actor(),
        "download_document",
        id,
        form.into(),
        caller.source.clone(),
    )
    .await?;
    Ok((doc, key))
}

/// `GET /documento/{_id}`, ready to send: its exact length and its bytes as a stream.
pub struct Streamed {
    pub length: u64,
    pub body: BoxStream<'static, Result<Bytes, StoreError>>,
}

/// Stands for the base64 in the rendered envelope; no base64, hex or id contains it.
const FILE_MARKER: &str = "<<file>>";

/// `GET /documento/{_id}`: the archive base64 inside the envelope, as the commercial API sends
/// it — byte for byte what serialising the whole [`Documento`] would give — but streamed: the
/// JSON before `file`, the base64 of the archive as it is decrypted, the JSON after it.
///
/// Everything that can be refused (id, owner, state, purge, the key, the audit record, the
/// stored object) is decided before the first byte, so those failures are still proper error
/// answers; once the body has started, a damaged file can only cut it short.
pub async fn get(state: &AppState, caller: &ClientCaller, id: &str) -> ApiResult<Streamed> {
    let (doc, key) = open_document(state, caller, id, "base64").await?;
    let archive = state.blobs.stream_opened(&doc.blob_key, &key).await?;
    let rendered = serde_json::to_string(&Envelope::ok(Documento {
        nome: format!("{id}.zip"),
        dimensione: doc.size,
        file: FILE_MARKER.to_string(),
        sha256: doc.sha256,
    }))
    .map_err(|_| ApiError::internal())?;
    let (prefix, suffix) = rendered
        .split_once(FILE_MARKER)
        .ok_or_else(ApiError::internal)?;
    let length = prefix.len() as u64 + base64_stream::encoded_len(doc.size) + suffix.len() as u64;
    let prefix = Bytes::from(prefix.to_string());
    let suffix = Bytes::from(suffix.to_string());
    let body = futures::stream::once(async move { Ok(prefix) })
        .chain(base64_stream::encode(archive, doc.size))
        .chain(futures::stream::once(async move { Ok(suffix) }))
        .boxed();
    Ok(Streamed { length, body })
}

pub struct Download {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub stream: BoxStream<'static, Result<Bytes, StoreError>>,
}

/// The same archive as a stream, so a large result never sits whole in memory.
pub async fn download(state: &AppState, caller: &ClientCaller, id: &str) -> ApiResult<Download> {
    let (doc, key) = open_document(state, caller, id, "stream").await?;
    Ok(Download {
        name: format!("{id}.zip"),
        size: doc.size,
        sha256: doc.sha256,
        stream: state.blobs.stream_opened(&doc.blob_key, &key).await?,
    })
}
