//! The optional second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 seconds, one step of skew).
//! The shared secret is derived from a random key that the store keeps wrapped by the master
//! key, so the database alone never reveals it. Time comes from the injectable clock. A code is
//! accepted once (RFC 6238 §5.2): the store keeps the last time step accepted per account, so a
//! code seen over a shoulder or replayed from a captured form is refused within its window.

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

const STEP_SECS: i64 = 30;

/// The time step whose code `code` is, within one step of skew (the latest, if several).
fn matching_step(state: &AppState, key: &DataKey, code: &str) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(key)?;
    let now = state.clock.now().div_euclid(STEP_SECS);
    (now - 1..=now + 1).rev().find(|step| {
        u64::try_from(step * STEP_SECS)
            .is_ok_and(|at| super::passwords::same_secret(&totp.generate(at), &code))
    })
}

/// Whether `code` is the account's current code and was never accepted before; accepting it
/// uses it up.
async fn accept(
    state: &AppState,
    account: &str,
    key: &DataKey,
    code: &str,
) -> Result<bool, StoreError> {
    match matching_step(state, key, code) {
        Some(step) => state.store.accept_totp_step(account, step).await,
        None => Ok(false),
    }
}

/// Turns the factor on once the person proves the app has the secret.
pub async fn confirm(state: &AppState, account: &str, code: &str) -> Result<bool, StoreError> {
    let Some((key, _)) = state.store.totp_key(account).await? else {
        return Ok(false);
    };
    if !accept(state, account, &key, code).await? {
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

/// Whether the login (or a change of the factor) may proceed: no factor enabled, or a right
/// code not used before (which this uses up).
pub async fn satisfied(
    state: &AppState,
    account: &str,
    code: Option<&str>,
) -> Result<bool, StoreError> {
    match (state.store.totp_key(account).await?, code) {
        (Some((key, Some(_))), Some(code)) => accept(state, account, &key, code).await,
        (Some((_, Some(_))), None) => Ok(false),
        _ => Ok(true),
    }
}

/// Whether the account has the factor enabled and `code` is a right, unused code (used up
/// now). The way through a locked account: see `accounts::login`.
pub async fn proves(state: &AppState, account: &str, code: &str) -> Result<bool, StoreError> {
    match state.store.totp_key(account).await? {
        Some((key, Some(_))) => accept(state, account, &key, code).await,
        _ => Ok(false),
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
