//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): `webhook-signature` is
//! `v1,` + base64(HMAC-SHA256(secret, "{webhook-id}.{webhook-timestamp}.{body}")), several
//! space-separated while a rotated-out secret still signs. The secret is shown to the client as
//! `whsec_` + base64 of its bytes, which is what the standard's libraries accept.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `whsec_…` form of a secret, as shown (once) to the client.
pub fn display_secret(secret: &[u8]) -> String {
    format!("whsec_{}", STANDARD.encode(secret))
}

/// The raw bytes of a `whsec_…` secret (the prefix is optional, as in the standard's libraries).
pub fn parse_secret(text: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(text.strip_prefix("whsec_").unwrap_or(text))
        .ok()
}

/// One `v1,<base64>` signature.
pub fn sign(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        // HMAC takes keys of any length; this branch cannot be reached.
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header: one signature per secret that still signs.
pub fn header(secrets: &[&[u8]], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| sign(s, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a receiver does (and what the README shows): true if any signature in `header` is
/// `secret`'s, compared in constant time.
pub fn verify(secret: &[u8], id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return false;
    };
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|sig| mac.clone().verify_slice(&sig).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks reference vector (from the specification's test suite).
    #[test]
    fn matches_the_reference_vector() {
        let secret = parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap_or_default();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verification_accepts_any_listed_secret() {
        let (a, b) = (b"first".as_slice(), b"second".as_slice());
        let h = header(&[a, b], "id", 1, b"{}");
        assert!(verify(a, "id", 1, b"{}", &h));
        assert!(verify(b, "id", 1, b"{}", &h));
        assert!(!verify(b"third", "id", 1, b"{}", &h));
        assert!(!verify(a, "id", 2, b"{}", &h));
    }
}
