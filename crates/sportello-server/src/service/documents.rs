//! The result archive: built once when a request is closed, stored as a blob, served as the
//! commercial API's base64 JSON or streamed as binary.

use bytes::Bytes;
use futures::io::AsyncWriteExt;
use futures::stream::{BoxStream, StreamExt};
use sportello_store::crypto::DataKey;
use sportello_store::{ids, DocumentRecord, FileKind, FileRecord, StoreError};
use std::collections::HashSet;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio_util::sync::PollSender;

use super::base64_stream;
use super::requests::find_own;
use crate::auth::ClientCaller;
use crate::envelope::Envelope;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::wire::Documento;

/// Zips the result files (names made unique) and stores the archive, as a stream: each result
/// is decrypted piece by piece into the zip writer, whose output is sealed and uploaded as it
/// comes, so neither the results nor the archive are ever whole in memory (or on a disk).
///
/// `async_zip` writes each entry with a data descriptor (sizes and CRC after the data), which
/// needs no seeking back; the `zip` crate's writer seeks, so it would need the archive in memory
/// or a plaintext temporary file. Deflating runs on the runtime, a piece at a time.
pub async fn build_archive(
    state: &AppState,
    request_id: &str,
    results: &[FileRecord],
) -> ApiResult<DocumentRecord> {
    let key = super::data_key(state, request_id).await?;
    let mut taken = HashSet::new();
    let entries: Vec<(String, String)> = results
        .iter()
        .filter(|f| f.kind == FileKind::Result)
        .map(|f| (unique_name(&f.name, &mut taken), f.blob_key.clone()))
        .collect();
    let allegati = entries.iter().map(|(name, _)| name.clone()).collect();
    let blob_key = format!("requests/{request_id}/documento.zip");
    // A few writes of the zip writer in flight between it and the upload.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, StoreError>>(16);
    let zipping = async {
        let out = ArchiveSink(PollSender::new(tx.clone()));
        let zipped = zip_files(state, &key, &entries, out).await;
        if let Err(e) = &zipped {
            tracing::error!(error = %e, "building the result archive failed");
            // The upload ends with this error, so no partial archive is stored.
            let failed = std::io::Error::other("building the result archive failed");
            let _ = tx.send(Err(failed.into())).await;
        }
        drop(tx);
        zipped
    };
    // The receiver moves into the upload: if the upload stops early, the zip writer learns it.
    let archive = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let upload = state.blobs.put_sealed_stream(&blob_key, &key, archive);
    let (zipped, written) = tokio::join!(zipping, upload);
    if zipped.is_err() {
        return Err(ApiError::internal());
    }
    let written = written?;
    Ok(DocumentRecord {
        allegati,
        size: written.size,
        sha256: written.sha256,
        blob_key,
    })
}

/// Writes the zip of `entries` (name in the archive, blob key) into `out`.
async fn zip_files(
    state: &AppState,
    key: &DataKey,
    entries: &[(String, String)],
    out: ArchiveSink,
) -> Result<(), ArchiveError> {
    // Classic (non-zip64) headers, as the commercial API's archives and every reader know them;
    // a result too large for them fails here instead of producing an odd archive.
    let mut zip = async_zip::base::write::ZipFileWriter::new(out).force_no_zip64();
    for (name, blob_key) in entries {
        let entry =
            async_zip::ZipEntryBuilder::new(name.clone().into(), async_zip::Compression::Deflate)
                .unix_permissions(0o644);
        let mut writer = zip.write_entry_stream(entry).await?;
        let mut plain = state.blobs.stream_opened(blob_key, key).await?;
        while let Some(piece) = plain.next().await {
            writer.write_all(&piece?).await?;
        }
        writer.close().await?;
    }
    let mut out = zip.close().await?;
    out.close().await?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
enum ArchiveError {
    #[error(transparent)]
    Zip(#[from] async_zip::error::ZipError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The zip writer's output: every write becomes a piece of the stream the upload seals. Bounded,
/// so a slow upload slows the zipping instead of filling memory.
struct ArchiveSink(PollSender<Result<Bytes, StoreError>>);

impl futures::io::AsyncWrite for ArchiveSink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let gone = |_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload stopped");
        match self.0.poll_reserve(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r.map_err(gone)?,
        }
        self.0
            .send_item(Ok(Bytes::copy_from_slice(buf)))
            .map_err(gone)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.0.close();
        Poll::Ready(Ok(()))
    }
}

fn unique_name(name: &str, taken: &mut HashSet<String>) -> String {
    if taken.insert(name.to_string()) {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), format!(".{e}")),
        None => (name.to_string(), String::new()),
    };
    (2..)
        .map(|n| format!("{stem} ({n}){ext}"))
        .find(|candidate| taken.insert(candidate.clone()))
        .unwrap_or_default()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_are_numbered() {
        let mut taken = HashSet::new();
        assert_eq!(unique_name("esito.pdf", &mut taken), "esito.pdf");
        assert_eq!(unique_name("esito.pdf", &mut taken), "esito (2).pdf");
        assert_eq!(unique_name("esito.pdf", &mut taken), "esito (3).pdf");
        assert_eq!(unique_name("README", &mut taken), "README");
        assert_eq!(unique_name("README", &mut taken), "README (2)");
    }
}
