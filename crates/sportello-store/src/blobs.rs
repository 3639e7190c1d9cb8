//! File contents, kept outside the database through `object_store`: a local directory by
//! default, or an S3-compatible bucket.
//!
//! Invariant: every byte of a file reaches the backend sealed with its request's data key. The
//! only public writers are [`BlobStore::put_sealed_stream`] and its whole-buffer wrapper
//! [`BlobStore::put_sealed`]; plain `put` is private (the readiness probe alone writes a constant
//! with it), so neither a bucket's operator nor its backups ever see a document or a field value.
//!
//! Files are written as they are sealed: one `PUT` when the sealed file fits in one part,
//! otherwise a multipart upload (S3's, or the local store's staging file) whose parts are sent
//! as they fill, so an upload holds a few parts in memory whatever the file's size.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

use crate::crypto::DataKey;
use crate::StoreError;

/// A multipart part on S3: the smallest size S3 accepts for every part but the last.
const S3_PART: usize = 5 * 1024 * 1024;
/// A part on the local store, which has no minimum: smaller parts, less memory per upload.
const LOCAL_PART: usize = 1024 * 1024;
/// Parts of one upload in flight at once: enough to overlap sealing and sending.
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// Sealed bytes per multipart part (and the largest file written with a single `PUT`).
    part_size: usize,
}

/// What [`BlobStore::put_sealed_stream`] wrote, measured on the plaintext as it went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub size: u64,
    /// SHA-256 of the plaintext, hex.
    pub sha256: String,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.inner)
    }
}

impl BlobStore {
    pub fn local(dir: &Path) -> Result<BlobStore, StoreError> {
        std::fs::create_dir_all(dir)?;
        let fs = LocalFileSystem::new_with_prefix(dir)?;
        Ok(BlobStore {
            inner: Arc::new(fs),
            part_size: LOCAL_PART,
        })
    }

    /// A bucket of an S3-compatible service. Credentials not given here come from the usual
    /// `AWS_*` environment variables (and, on AWS, the instance's role).
    pub fn s3(settings: &S3Settings) -> Result<BlobStore, StoreError> {
        let (bucket, prefix) = parse_s3_url(&settings.url)?;
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_allow_http(settings.allow_http);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &settings.region {
            builder = builder.with_region(region);
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let s3 = builder.build()?;
        let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        Ok(BlobStore {
            inner,
            part_size: S3_PART,
        })
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.inner
            .put(&ObjectPath::from(key), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let got = self.inner.get(&ObjectPath::from(key)).await?;
        Ok(got.bytes().await?)
    }

    /// The content as a stream of chunks, so large files never sit whole in memory.
    async fn stream(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let got = self.inner.get(&ObjectPath::from(key)).await?;
        Ok(got
            .into_stream()
            .map(|r| r.map_err(StoreError::from))
            .boxed())
    }

    /// Writes and removes a small object: the store is reachable and accepts writes. Several
    /// processes may probe at once; each uses its own key.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let key = format!("readyz/{}", crate::ids::short_id("probe"));
        self.put(&key, Bytes::from_static(b"ok")).await?;
        self.delete(&key).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(&ObjectPath::from(key)).await?;
        Ok(())
    }

    /// Stores `bytes` sealed with the request's data key, bound to `key`: the whole-buffer form of
    /// [`BlobStore::put_sealed_stream`], for files already in memory (a request's inputs).
    pub async fn put_sealed(
        &self,
        key: &str,
        data_key: &DataKey,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let whole = futures::stream::iter([Ok::<_, StoreError>(Bytes::copy_from_slice(bytes))]);
        self.put_sealed_stream(key, data_key, whole).await?;
        Ok(())
    }

    /// Stores the bytes of `plaintext`, sealed chunk by chunk with the request's data key and
    /// bound to `key`, as they arrive; their size and SHA-256 are measured on the way.
    ///
    /// If the stream yields an error, nothing is stored: a multipart upload already begun is
    /// aborted (its parts deleted), and the stream's error is returned. A caller that checks
    /// the content as it passes can therefore refuse it by ending the stream with an error.
    pub async fn put_sealed_stream<S, E>(
        &self,
        key: &str,
        data_key: &DataKey,
        plaintext: S,
    ) -> Result<Written, StoreError>
    where
        S: futures::Stream<Item = Result<Bytes, E>>,
        StoreError: From<E>,
    {
        let mut plaintext = std::pin::pin!(plaintext);
        let mut sealer = data_key.blob_sealer(key);
        let mut digest = Sha256::new();
        let mut size = 0u64;
        // Sealed bytes kept until they fill a part: a small file is then one plain PUT.
        let mut pending: Vec<u8> = Vec::new();
        let mut upload: Option<WriteMultipart> = None;
        while let Some(next) = plaintext.next().await {
            let chunk = match next {
                Ok(chunk) => chunk,
                Err(e) => {
                    abort(upload, key).await;
                    return Err(e.into());
                }
            };
            size += chunk.len() as u64;
            digest.update(&chunk);
            let sealed = sealer.push(&chunk);
            match upload.as_mut() {
                Some(writer) => {
                    // Back-pressure: at most PARTS_IN_FLIGHT parts sent, one filling.
                    if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                        abort(upload, key).await;
                        return Err(e.into());
                    }
                    writer.put(Bytes::from(sealed));
                }
                None => {
                    pending.extend_from_slice(&sealed);
                    if pending.len() >= self.part_size {
                        let started = self.inner.put_multipart(&ObjectPath::from(key)).await?;
                        let mut writer =
                            WriteMultipart::new_with_chunk_size(started, self.part_size);
                        writer.put(Bytes::from(std::mem::take(&mut pending)));
                        upload = Some(writer);
                    }
                }
            }
        }
        let last = sealer.finish();
        match upload {
            None => {
                pending.extend_from_slice(&last);
                self.put(key, Bytes::from(pending)).await?;
            }
            // `finish` aborts the upload itself when completing it fails.
            Some(mut writer) => {
                writer.put(Bytes::from(last));
                writer.finish().await?;
            }
        }
        Ok(Written {
            size,
            sha256: hex::encode(digest.finalize()),
        })
    }

    pub async fn get_opened(&self, key: &str, data_key: &DataKey) -> Result<Bytes, StoreError> {
        let sealed = self.get(key).await?;
        Ok(Bytes::from(data_key.open_blob(key, &sealed)?))
    }

    /// The plaintext as a stream, decrypted chunk by chunk: memory stays flat however large the
    /// file. A tampered or truncated file ends the stream with an error.
    pub async fn stream_opened(
        &self,
        key: &str,
        data_key: &DataKey,
    ) -> Result<BoxStream<'static, Result<Bytes, StoreError>>, StoreError> {
        let sealed = self.stream(key).await?;
        let opener = data_key.blob_opener(key);
        let state = (sealed, Some(opener));
        Ok(
            futures::stream::unfold(state, |(mut sealed, opener)| async move {
                let mut opener = opener?;
                loop {
                    match sealed.next().await {
                        Some(Ok(piece)) => match opener.push(&piece) {
                            Ok(plain) if plain.is_empty() => continue,
                            Ok(plain) => {
                                return Some((Ok(Bytes::from(plain)), (sealed, Some(opener))))
                            }
                            Err(e) => return Some((Err(e.into()), (sealed, None))),
                        },
                        Some(Err(e)) => return Some((Err(e), (sealed, None))),
                        None => {
                            return match opener.finish() {
                                Ok(plain) => Some((Ok(Bytes::from(plain)), (sealed, None))),
                                Err(e) => Some((Err(e.into()), (sealed, None))),
                            }
                        }
                    }
                }
            })
            .boxed(),
        )
    }
}

/// Abandons a multipart upload; its own failure is only logged, the caller reports why it stopped.
async fn abort(upload: Option<WriteMultipart>, key: &str) {
    if let Some(writer) = upload {
        if let Err(e) = writer.abort().await {
            tracing::warn!(key, error = %e, "aborting a multipart upload failed");
        }
    }
}

/// Where an S3-compatible store is and how to reach it.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub url: String,
    /// The service's address, for anything but AWS itself (`http://127.0.0.1:9000`).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Permit a plain-HTTP endpoint (a local test server); the files are sealed either way.
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Settings {
    // By hand, so the secret key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// `s3://bucket/some/prefix` → (`bucket`, `some/prefix`).
fn parse_s3_url(url: &str) -> Result<(&str, &str), StoreError> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| {
        StoreError::Config(format!("a storage URL starts with s3://, not {url:?}"))
    })?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(StoreError::Config(format!(
            "no bucket in the storage URL {url:?}"
        )));
    }
    Ok((bucket, prefix.trim_matches('/')))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(files_under(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    /// `len` bytes that never repeat within a chunk, cut into uneven pieces.
    fn pieces(len: usize) -> (Vec<u8>, Vec<Result<Bytes, StoreError>>) {
        let data: Vec<u8> = (0..len)
            .map(|i| (i % 253) as u8 ^ (i / 253) as u8)
            .collect();
        let mut out = Vec::new();
        let mut at = 0;
        let mut size = 1;
        while at < len {
            let end = (at + size).min(len);
            out.push(Ok(Bytes::copy_from_slice(&data[at..end])));
            at = end;
            size = size * 7 % 300_000 + 1;
        }
        (data, out)
    }

    #[tokio::test]
    async fn a_file_written_before_streaming_uploads_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let key = "requests/0123456789abcdef01234567/f_fixture";
        let path = dir.path().join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            include_bytes!("../testdata/spb1-written-by-seal_blob.bin"),
        )
        .unwrap();
        let blobs = BlobStore::local(dir.path()).unwrap();
        let dk = DataKey::from_raw([7u8; 32]);
        let data: Vec<u8> = (0..crate::crypto::BLOB_CHUNK + 1000)
            .map(|i| (i % 251) as u8)
            .collect();
        assert_eq!(blobs.get_opened(key, &dk).await.unwrap().to_vec(), data);
        let mut streamed = Vec::new();
        let mut stream = blobs.stream_opened(key, &dk).await.unwrap();
        while let Some(piece) = stream.next().await {
            streamed.extend_from_slice(&piece.unwrap());
        }
        assert_eq!(streamed, data);
    }

    #[tokio::test]
    async fn a_large_stream_is_sealed_in_parts_and_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::local(dir.path()).unwrap();
        let dk = DataKey::generate();
        // Over three local parts, so the multipart path is taken.
        let (data, stream) = pieces(3 * LOCAL_PART + 12_345);
        let written = blobs
            .put_sealed_stream("requests/r/big", &dk, futures::stream::iter(stream))
            .await
            .unwrap();
        assert_eq!(written.size, data.len() as u64);
        assert_eq!(written.sha256, crate::ids::sha256_hex(&data));
        let stored = std::fs::read(dir.path().join("requests/r/big")).unwrap();
        assert_eq!(stored.len(), dk.seal_blob("requests/r/big", &data).len());
        assert!(!stored.windows(64).any(|w| w == &data[1000..1064]));
        assert_eq!(
            blobs
                .get_opened("requests/r/big", &dk)
                .await
                .unwrap()
                .to_vec(),
            data
        );
        // The whole-buffer wrapper writes the same format.
        blobs
            .put_sealed("requests/r/small", &dk, b"%PDF-1.4")
            .await
            .unwrap();
        assert_eq!(
            blobs
                .get_opened("requests/r/small", &dk)
                .await
                .unwrap()
                .as_ref(),
            b"%PDF-1.4"
        );
        assert_eq!(files_under(dir.path()).len(), 2);
    }

    #[tokio::test]
    async fn a_stream_that_fails_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::local(dir.path()).unwrap();
        let dk = DataKey::generate();
        for len in [1000, 3 * LOCAL_PART] {
            let (_, mut stream) = pieces(len);
            stream.push(Err(StoreError::Corrupt("refused on the way".into())));
            let refused = blobs
                .put_sealed_stream("requests/r/f", &dk, futures::stream::iter(stream))
                .await;
            assert!(
                matches!(refused, Err(StoreError::Corrupt(_))),
                "{refused:?}"
            );
            assert_eq!(files_under(dir.path()), Vec::<std::path::PathBuf>::new());
        }
    }

    #[test]
    fn an_s3_url_names_a_bucket_and_an_optional_prefix() {
        assert_eq!(parse_s3_url("s3://docs").unwrap(), ("docs", ""));
        assert_eq!(parse_s3_url("s3://docs/").unwrap(), ("docs", ""));
        assert_eq!(
            parse_s3_url("s3://docs/sportello/prod/").unwrap(),
            ("docs", "sportello/prod")
        );
        assert!(parse_s3_url("https://docs").is_err());
        assert!(parse_s3_url("s3:///x").is_err());
    }
}
