//! Identifiers and secrets.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A 24-hex request id shaped like the commercial API's Mongo ObjectIds: 4 bytes of creation
/// time (so ids sort roughly by age) and 8 random bytes.
pub fn request_id(unix_seconds: i64) -> String {
    let mut bytes = [0u8; 12];
    let secs = u32::try_from(unix_seconds.max(0)).unwrap_or(u32::MAX);
    bytes[..4].copy_from_slice(&secs.to_be_bytes());
    rand::thread_rng().fill_bytes(&mut bytes[4..]);
    hex::encode(bytes)
}

/// A random id for clients, providers, operators, tokens, files.
pub fn short_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}_{}", hex::encode(bytes))
}

/// A bearer token secret: 32 random bytes, hex, with a readable prefix saying what it is.
pub fn token_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// How a token is kept: its SHA-256. The secret has 256 bits of entropy, so a slow hash adds
/// nothing and would slow every request.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn is_request_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
