//! The optional second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 seconds, one step of skew).
//! The shared secret is derived from a random key that the store keeps wrapped by the master
//! key, so the database alone never reveals it. Time comes from the injectable clock.

use sportello_store::crypto::DataKey;
use sportello_store::StoreError;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::state::AppState;

const ISSUER: &str = "Sportello";

fn secret_bytes(key: &DataKey) -> Vec<u8> {
    // 160 bits, as RFC 4226 recommends.
    let mut bytes = hex::decode(key.keyed_hash("sportello-totp-secret")).unwrap_or_default();
    bytes.truncate(20);
    bytes
}

fn totp(key: &DataKey) -> Option<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret_bytes(key)).ok()
}

/// What the person types into an authenticator app.
pub struct Enrolment {
    /// Base32, as apps expect it.
    pub secret: String,
    /// `otpauth://` for apps that accept a link.
    pub uri: String,
}

/// Starts (or restarts) the set-up: a new key, not yet required at login.
pub async fn begin(state: &AppState, account: &str, label: &str) -> Result<Enrolment, StoreError> {
    let key = DataKey::generate();
    state.store.put_totp_key(account, &key).await?;
    let secret = Secret::Raw(secret_bytes(&key)).to_encoded().to_string();
    let label: String = label
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-' | '_'))
        .collect();
    let uri = format!(
        "otpauth://totp/{ISSUER}:{label}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits=6&period=30"
    );
    Ok(Enrolment { secret, uri })
}

fn matches(state: &AppState, key: &DataKey, code: &str) -> bool {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    code.len() == 6
        && code.bytes().all(|b| b.is_ascii_digit())
        && totp(key).is_some_and(|t| {
            u64::try_from(state.clock.now())
                .map(|now| t.check(&code, now))
                .unwrap_or(false)
        })
}

/// Turns the factor on once the person proves the app has the secret.
pub async fn confirm(state: &AppState, account: &str, code: &str) -> Result<bool, StoreError> {
    let Some((key, _)) = state.store.totp_key(account).await? else {
        return Ok(false);
    };
    if !matches(state, &key, code) {
        return Ok(false);
    }
    state.store.enable_totp(account, state.clock.now()).await
}

pub async fn enabled(state: &AppState, account: &str) -> Result<bool, StoreError> {
    Ok(matches!(
        state.store.totp_key(account).await?,
        Some((_, Some(_)))
    ))
}

/// Whether the login may proceed: no factor enabled, or the right code.
pub async fn satisfied(
    state: &AppState,
    account: &str,
    code: Option<&str>,
) -> Result<bool, StoreError> {
    match state.store.totp_key(account).await? {
        Some((key, Some(_))) => Ok(code.is_some_and(|c| matches(state, &key, c))),
        _ => Ok(true),
    }
}

pub async fn disable(state: &AppState, account: &str) -> Result<(), StoreError> {
    state.store.delete_totp(account).await
}

/// The current code, for tests and for nothing else.
pub fn code_at(secret_base32: &str, unix: u64) -> Option<String> {
    let bytes = Secret::Encoded(secret_base32.to_string()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes)
        .ok()
        .map(|t| t.generate(unix))
}
