//! File contents, kept outside the database through `object_store` (a local directory by
//! default; S3-compatible stores later).

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
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

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), StoreError> {
        self.inner
            .put(&ObjectPath::from(key), PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        let got = self.inner.get(&ObjectPath::from(key)).await?;
        Ok(got.bytes().await?)
    }

    /// The content as a stream of chunks, so large files never sit whole in memory.
    pub async fn stream(
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
