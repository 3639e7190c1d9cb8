//! File contents, kept outside the database through `object_store`: a local directory by
//! default, or an S3-compatible bucket.
//!
//! Invariant: every byte of a file reaches the backend sealed with its request's data key. The
//! only public writer is [`BlobStore::put_sealed`]; plain `put` is private (the readiness probe
//! alone writes a constant with it), so neither a bucket's operator nor its backups ever see a
//! document or a field value.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, PutPayload};
use std::path::Path;
use std::sync::Arc;

use crate::crypto::DataKey;
use crate::StoreError;

#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
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
        Ok(BlobStore { inner })
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

    /// Stores `bytes` sealed with the request's data key, bound to `key`.
    pub async fn put_sealed(
        &self,
        key: &str,
        data_key: &DataKey,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let sealed = data_key.seal_blob(key, bytes);
        self.put(key, Bytes::from(sealed)).await
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
    use super::parse_s3_url;

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
