//! Encryption at rest with envelope keys: every request has its own random data key; personal
//! values and files are sealed with it (XChaCha20-Poly1305); the data key is stored only wrapped
//! by a master key from configuration. Destroying a request's wrapped key destroys its data,
//! backups included (crypto-shredding).
//!
//! Every ciphertext is bound to where it belongs by its associated data (the request id and the
//! column, or the blob's key), so a value moved to another row or file does not decrypt.

use base64::Engine;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// XChaCha's 24-byte nonce less the STREAM construction's 5-byte counter and last-block flag.
const STREAM_PREFIX_LEN: usize = 19;
/// Plaintext bytes per sealed chunk of a file: large enough to be cheap, small enough that a
/// download never holds more than one chunk.
pub const BLOB_CHUNK: usize = 64 * 1024;
const BLOB_MAGIC: &[u8; 4] = b"SPB1";
const TEXT_PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the data could not be decrypted: wrong key, or it was altered")]
    Decrypt,
    #[error("no configured master key has id {0}")]
    UnknownKey(String),
    #[error("invalid key material: {0}")]
    BadKey(&'static str),
    #[error("malformed ciphertext")]
    Malformed,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::thread_rng().fill_bytes(&mut out);
    out
}

/// A key-encryption key, from configuration. Its id (a fingerprint) is stored beside each
/// wrapped data key, so during a rotation both the old and the new master key can be loaded.
pub struct MasterKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, CryptoError> {
        if bytes.len() != KEY_LEN {
            return Err(CryptoError::BadKey("a master key is 32 bytes"));
        }
        let digest = Sha256::digest([b"sportello master key id:".as_slice(), bytes].concat());
        Ok(MasterKey {
            id: hex::encode(&digest[..8]),
            cipher: XChaCha20Poly1305::new_from_slice(bytes)
                .map_err(|_| CryptoError::BadKey("a master key is 32 bytes"))?,
        })
    }

    /// The text form kept in a key file or an environment variable: base64 of 32 bytes.
    pub fn from_base64(text: &str) -> Result<MasterKey, CryptoError> {
        let bytes = Zeroizing::new(
            b64()
                .decode(text.trim())
                .map_err(|_| CryptoError::BadKey("a master key is base64 of 32 bytes"))?,
        );
        MasterKey::from_bytes(&bytes)
    }

    /// A new random key and its text form.
    pub fn generate() -> (MasterKey, Zeroizing<String>) {
        let bytes = Zeroizing::new(random::<KEY_LEN>());
        let text = Zeroizing::new(b64().encode(bytes.as_slice()));
        // 32 bytes always make a key.
        let key = MasterKey::from_bytes(bytes.as_slice()).unwrap_or_else(|_| unreachable!());
        (key, text)
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// A data key wrapped by a master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

/// The master keys a process knows: the current one wraps, any of them unwraps.
#[derive(Debug)]
pub struct Keyring {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Keyring {
        Keyring { current, previous }
    }

    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Whether a key with this id is configured (current or previous).
    pub fn knows(&self, key_id: &str) -> bool {
        self.current.id == key_id || self.previous.iter().any(|k| k.id == key_id)
    }

    /// `context` binds the wrapped key to its owner (the request id).
    pub fn wrap(&self, key: &DataKey, context: &str) -> WrappedKey {
        WrappedKey {
            key_id: self.current.id.clone(),
            bytes: seal_with(&self.current.cipher, context.as_bytes(), key.0.as_slice()),
        }
    }

    pub fn unwrap(&self, wrapped: &WrappedKey, context: &str) -> Result<DataKey, CryptoError> {
        let master = std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id == wrapped.key_id)
            .ok_or_else(|| CryptoError::UnknownKey(wrapped.key_id.clone()))?;
        let plain = Zeroizing::new(open_with(
            &master.cipher,
            context.as_bytes(),
            &wrapped.bytes,
        )?);
        let bytes: [u8; KEY_LEN] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed)?;
        Ok(DataKey(Zeroizing::new(bytes)))
    }
}

fn seal_with(cipher: &XChaCha20Poly1305, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce = random::<NONCE_LEN>();
    let mut out = nonce.to_vec();
    // Encryption with a valid key and in-memory buffers cannot fail.
    let sealed = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_default();
    out.extend_from_slice(&sealed);
    out
}

fn open_with(
    cipher: &XChaCha20Poly1305,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Malformed);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| CryptoError::Decrypt)
}

/// A request's own key. Never stored in the clear; zeroed when dropped.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; KEY_LEN]>);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    pub fn generate() -> DataKey {
        DataKey(Zeroizing::new(random::<KEY_LEN>()))
    }

    /// A fixed key, for tests that read files sealed long ago.
    #[cfg(test)]
    pub(crate) fn from_raw(bytes: [u8; KEY_LEN]) -> DataKey {
        DataKey(Zeroizing::new(bytes))
    }

    /// The raw key, for the one use that needs it outside sealing: a webhook signing secret
    /// is shown to its client (once) and keys an HMAC.
    pub fn expose(&self) -> &[u8] {
        self.0.as_slice()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        // The key is always 32 bytes.
        XChaCha20Poly1305::new(self.0.as_slice().into())
    }

    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        seal_with(&self.cipher(), context.as_bytes(), plaintext)
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open_with(&self.cipher(), context.as_bytes(), sealed)
    }

    /// A sealed value as text, for a TEXT column: `v1:` + base64.
    pub fn seal_text(&self, context: &str, plaintext: &str) -> String {
        format!(
            "{TEXT_PREFIX}{}",
            b64().encode(self.seal(context, plaintext.as_bytes()))
        )
    }

    pub fn open_text(&self, context: &str, sealed: &str) -> Result<String, CryptoError> {
        let body = sealed
            .strip_prefix(TEXT_PREFIX)
            .ok_or(CryptoError::Malformed)?;
        let bytes = b64().decode(body).map_err(|_| CryptoError::Malformed)?;
        String::from_utf8(self.open(context, &bytes)?).map_err(|_| CryptoError::Malformed)
    }

    /// Seals a whole file in chunks (the STREAM construction), so it can be decrypted while it
    /// streams out: `SPB1`, a 19-byte nonce prefix, then chunks of `BLOB_CHUNK` + tag. The same
    /// bytes as feeding a [`BlobSealer`] the file in pieces.
    pub fn seal_blob(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut sealer = self.blob_sealer(context);
        let mut out = Vec::with_capacity(
            BLOB_MAGIC.len()
                + STREAM_PREFIX_LEN
                + plaintext.len()
                + TAG_LEN * (plaintext.len() / BLOB_CHUNK + 1),
        );
        out.extend(sealer.push(plaintext));
        out.extend(sealer.finish());
        out
    }

    /// Seals a file fed in pieces of any size, for files that are never whole in memory.
    pub fn blob_sealer(&self, context: &str) -> BlobSealer {
        let prefix = random::<STREAM_PREFIX_LEN>();
        let mut header = Vec::with_capacity(BLOB_MAGIC.len() + STREAM_PREFIX_LEN);
        header.extend_from_slice(BLOB_MAGIC);
        header.extend_from_slice(&prefix);
        BlobSealer {
            encryptor: EncryptorBE32::from_aead(self.cipher(), prefix.as_slice().into()),
            context: context.as_bytes().to_vec(),
            header: Some(header),
            buffer: Vec::with_capacity(BLOB_CHUNK),
        }
    }

    /// A keyed hash (HMAC-SHA256, hex) of `value`: equal values give equal digests, and without
    /// the key nobody can test a guess.
    pub fn keyed_hash(&self, value: &str) -> String {
        use hmac::{Hmac, Mac};
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_slice()) else {
            return String::new();
        };
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn blob_opener(&self, context: &str) -> BlobOpener {
        BlobOpener {
            cipher: Some(self.cipher()),
            decryptor: None,
            context: context.as_bytes().to_vec(),
            buffer: Vec::new(),
        }
    }

    pub fn open_blob(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut opener = self.blob_opener(context);
        let mut out = opener.push(sealed)?;
        out.extend(opener.finish()?);
        Ok(out)
    }
}

/// Seals a file fed in pieces of any size into the format [`BlobOpener`] reads. A full chunk is
/// sealed only once a byte after it has arrived (or at `finish`), because the last chunk —
/// however long — is sealed with the last-block flag: the output is the same whatever the
/// piece sizes, and the same as [`DataKey::seal_blob`]'s. It holds at most one chunk.
pub struct BlobSealer {
    encryptor: EncryptorBE32<XChaCha20Poly1305>,
    context: Vec<u8>,
    /// `SPB1` and the nonce prefix, until they are handed out with the first bytes.
    header: Option<Vec<u8>>,
    buffer: Vec<u8>,
}

impl BlobSealer {
    /// Takes more plaintext; returns the sealed bytes that are ready (possibly none).
    pub fn push(&mut self, mut data: &[u8]) -> Vec<u8> {
        let mut out = self.header.take().unwrap_or_default();
        while !data.is_empty() {
            if self.buffer.len() == BLOB_CHUNK {
                // More is coming, so the buffered chunk is not the last one.
                let sealed = self
                    .encryptor
                    .encrypt_next(Payload {
                        msg: &self.buffer,
                        aad: &self.context,
                    })
                    .unwrap_or_default();
                out.extend_from_slice(&sealed);
                self.buffer.clear();
            }
            let take = (BLOB_CHUNK - self.buffer.len()).min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        out
    }

    /// Seals what is left as the last chunk (empty for an empty file).
    pub fn finish(self) -> Vec<u8> {
        let mut out = self.header.unwrap_or_default();
        // Encryption with a valid key and in-memory buffers cannot fail.
        let sealed = self
            .encryptor
            .encrypt_last(Payload {
                msg: &self.buffer,
                aad: &self.context,
            })
            .unwrap_or_default();
        out.extend_from_slice(&sealed);
        out
    }
}

/// Decrypts a sealed file fed in pieces of any size. A chunk is opened only once the next bytes
/// have arrived (or at `finish`), because the last chunk is sealed differently: a truncated file
/// is detected, not silently shortened.
pub struct BlobOpener {
    cipher: Option<XChaCha20Poly1305>,
    decryptor: Option<DecryptorBE32<XChaCha20Poly1305>>,
    context: Vec<u8>,
    buffer: Vec<u8>,
}

impl BlobOpener {
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.buffer.extend_from_slice(data);
        let header = BLOB_MAGIC.len() + STREAM_PREFIX_LEN;
        if self.decryptor.is_none() {
            if self.buffer.len() < header {
                return Ok(Vec::new());
            }
            if &self.buffer[..BLOB_MAGIC.len()] != BLOB_MAGIC {
                return Err(CryptoError::Malformed);
            }
            let cipher = self.cipher.take().ok_or(CryptoError::Malformed)?;
            let prefix = &self.buffer[BLOB_MAGIC.len()..header];
            self.decryptor = Some(DecryptorBE32::from_aead(cipher, prefix.into()));
            self.buffer.drain(..header);
        }
        let sealed_chunk = BLOB_CHUNK + TAG_LEN;
        let mut out = Vec::new();
        while self.buffer.len() > sealed_chunk {
            let decryptor = self.decryptor.as_mut().ok_or(CryptoError::Malformed)?;
            let plain = decryptor
                .decrypt_next(Payload {
                    msg: &self.buffer[..sealed_chunk],
                    aad: &self.context,
                })
                .map_err(|_| CryptoError::Decrypt)?;
            out.extend_from_slice(&plain);
            self.buffer.drain(..sealed_chunk);
        }
        Ok(out)
    }

    pub fn finish(self) -> Result<Vec<u8>, CryptoError> {
        let decryptor = self.decryptor.ok_or(CryptoError::Malformed)?;
        decryptor
            .decrypt_last(Payload {
                msg: &self.buffer,
                aad: &self.context,
            })
            .map_err(|_| CryptoError::Decrypt)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_wrapped_key_opens_only_with_its_master_and_context() {
        let (master, _) = MasterKey::generate();
        let (other, _) = MasterKey::generate();
        let ring = Keyring::new(master, Vec::new());
        let dk = DataKey::generate();
        let wrapped = ring.wrap(&dk, "req-1");
        let back = ring.unwrap(&wrapped, "req-1").unwrap();
        assert_eq!(back.0.as_slice(), dk.0.as_slice());
        assert_eq!(
            ring.unwrap(&wrapped, "req-2").unwrap_err(),
            CryptoError::Decrypt
        );
        let stranger = Keyring::new(other, Vec::new());
        assert!(matches!(
            stranger.unwrap(&wrapped, "req-1"),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_previous_master_key_still_unwraps_during_rotation() {
        let (old, old_text) = MasterKey::generate();
        let dk = DataKey::generate();
        let wrapped = Keyring::new(old, Vec::new()).wrap(&dk, "r");
        let (new, _) = MasterKey::generate();
        let ring = Keyring::new(new, vec![MasterKey::from_base64(&old_text).unwrap()]);
        let back = ring.unwrap(&wrapped, "r").unwrap();
        let rewrapped = ring.wrap(&back, "r");
        assert_eq!(rewrapped.key_id, ring.current_id());
        assert_ne!(rewrapped.key_id, wrapped.key_id);
    }

    #[test]
    fn text_is_bound_to_its_context() {
        let dk = DataKey::generate();
        let sealed = dk.seal_text("r1:fields", "RSSMRA85T10H501O");
        assert!(!sealed.contains("RSSMRA"));
        assert_eq!(
            dk.open_text("r1:fields", &sealed).unwrap(),
            "RSSMRA85T10H501O"
        );
        assert_eq!(
            dk.open_text("r2:fields", &sealed),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(
            DataKey::generate().open_text("r1:fields", &sealed),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn keyed_hashes_depend_on_the_key() {
        let k = DataKey::generate();
        assert_eq!(
            k.keyed_hash("RSSMRA85T10H501O"),
            k.keyed_hash("RSSMRA85T10H501O")
        );
        assert_ne!(
            k.keyed_hash("RSSMRA85T10H501O"),
            k.keyed_hash("RSSMRA85T10H501P")
        );
        assert_ne!(
            k.keyed_hash("RSSMRA85T10H501O"),
            DataKey::generate().keyed_hash("RSSMRA85T10H501O")
        );
        assert_eq!(k.keyed_hash("x").len(), 64);
    }

    #[test]
    fn bad_master_keys_are_refused() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&b64().encode([0u8; 16])).is_err());
    }

    #[test]
    fn a_truncated_or_altered_blob_does_not_open() {
        let dk = DataKey::generate();
        let data = vec![7u8; BLOB_CHUNK * 2 + 10];
        let sealed = dk.seal_blob("k", &data);
        // Cut exactly at a chunk boundary: the last-chunk flag catches it.
        let cut = &sealed[..BLOB_MAGIC.len() + STREAM_PREFIX_LEN + BLOB_CHUNK + TAG_LEN];
        assert!(dk.open_blob("k", cut).is_err());
        let mut altered = sealed.clone();
        let n = altered.len() - 1;
        altered[n] ^= 1;
        assert!(dk.open_blob("k", &altered).is_err());
        assert!(dk.open_blob("other", &sealed).is_err());
    }

    /// A file sealed by the whole-buffer `seal_blob` of before streaming existed (a 32-byte key of
    /// sevens, two chunks): the format did not change, so it still opens, whole or in pieces.
    #[test]
    fn a_blob_written_before_sealing_streamed_still_opens() {
        let dk = DataKey::from_raw([7u8; KEY_LEN]);
        let context = "requests/0123456789abcdef01234567/f_fixture";
        let sealed = include_bytes!("../testdata/spb1-written-by-seal_blob.bin");
        let data: Vec<u8> = (0..BLOB_CHUNK + 1000).map(|i| (i % 251) as u8).collect();
        assert_eq!(dk.open_blob(context, sealed).unwrap(), data);
        let mut opener = dk.blob_opener(context);
        let mut out = Vec::new();
        for piece in sealed.chunks(1000) {
            out.extend(opener.push(piece).unwrap());
        }
        out.extend(opener.finish().unwrap());
        assert_eq!(out, data);
        // What the sealer writes today has the same layout, byte for byte but the random
        // nonce prefix: the same length and the same header.
        let today = dk.seal_blob(context, &data);
        assert_eq!(today.len(), sealed.len());
        assert_eq!(today[..BLOB_MAGIC.len()], sealed[..BLOB_MAGIC.len()]);
    }

    proptest! {
        // Each case seals up to 200 KB in a debug build: fewer cases keep the suite quick.
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_file_sealed_in_pieces_opens_whole(
            len in 0usize..(3 * BLOB_CHUNK + 100),
            piece in 1usize..100_000,
        ) {
            let dk = DataKey::generate();
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut sealer = dk.blob_sealer("requests/x/f");
            let mut sealed = Vec::new();
            for part in data.chunks(piece) {
                sealed.extend(sealer.push(part));
            }
            sealed.extend(sealer.finish());
            prop_assert_eq!(sealed.len(), dk.seal_blob("requests/x/f", &data).len());
            prop_assert_eq!(dk.open_blob("requests/x/f", &sealed).unwrap(), data);
        }
    }

    proptest! {
        #[test]
        fn blobs_round_trip_whatever_the_piece_sizes(
            len in 0usize..(3 * BLOB_CHUNK + 100),
            piece in 1usize..100_000,
        ) {
            let dk = DataKey::generate();
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let sealed = dk.seal_blob("requests/x/f", &data);
            let mut opener = dk.blob_opener("requests/x/f");
            let mut out = Vec::new();
            for part in sealed.chunks(piece) {
                out.extend(opener.push(part).unwrap());
            }
            out.extend(opener.finish().unwrap());
            prop_assert_eq!(out, data);
        }
    }
}
