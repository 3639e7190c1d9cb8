//! Argon2id hashing and checking of back-office passwords, off the async workers.
//!
//! One hash takes tens of milliseconds of CPU and ~19 MiB: run on a tokio worker it would stall
//! every other request that worker holds, and a flood of logins would stall the whole API. So
//! each runs on the blocking pool, and at most one per CPU at a time (process-wide: the CPUs
//! are), which also bounds their memory. The permit travels with the hash, so a login dropped
//! while waiting (its client gone, a timeout) cannot leave more hashes running than permits.
//!
//! The other secrets a person sends (a session's CSRF token, a TOTP code) are compared with
//! [`same_secret`], in time independent of where they differ.
//!
//! Never logs a password or a hash.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// How many hashes may run at once in this process: the CPUs it may use.
pub fn concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn permits() -> Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS
        .get_or_init(|| Arc::new(Semaphore::new(concurrency())))
        .clone()
}

/// Runs `work` on the blocking pool once a permit is free. None only if the work panicked or
/// the runtime is shutting down.
async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    let permit = permits().acquire_owned().await.ok()?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .ok()
}

/// The argon2id PHC string of `password`, with a fresh salt (None if hashing failed).
pub async fn hash(password: &str) -> Option<String> {
    let password = password.to_string();
    off_the_workers(move || hash_now(&password)).await.flatten()
}

/// Whether `password` matches `phc`; with no `phc` (no such account, or no password set) it is
/// checked against a dummy hash and refused, so an unknown address costs the time of a known
/// one.
pub async fn verify(password: &str, phc: Option<String>) -> bool {
    let password = password.to_string();
    off_the_workers(move || match phc {
        Some(phc) => verify_now(&password, &phc),
        None => {
            if let Some(dummy) = dummy() {
                let _ = verify_now(&password, dummy);
            }
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn dummy() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| hash_now("sportello-dummy-password"))
        .as_deref()
}

fn hash_now(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .ok()
}

fn verify_now(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_round_trip_and_are_argon2id() {
        let phc = hash("correct horse battery").await.expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", Some(phc.clone())).await);
        assert!(!verify("correct horse batterY", Some(phc)).await);
        assert!(!verify("x", Some("not a phc string".into())).await);
        assert!(!verify("sportello-dummy-password", None).await);
    }

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }
}
