//! Verifying the webhooks Sportello sends. They follow [Standard Webhooks]: each call carries
//! `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,<base64>`,
//! several separated by spaces while a secret is being rotated), the signature being the
//! HMAC-SHA256 of `id.timestamp.body` under your client's webhook secret (`whsec_<base64>`).
//!
//! ```
//! use sportello_client::webhook;
//!
//! let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let body = br#"{"data":{"_id":"5f1e2d3c4b5a69788796a5b4"}}"#;
//! let signature = webhook::sign(secret, "msg_1", 1_700_000_000, body).unwrap();
//! let headers = webhook::Headers { id: "msg_1", timestamp: "1700000000", signature: &signature };
//! assert!(webhook::verify(secret, &headers, body, 1_700_000_010).is_ok());
//! ```
//!
//! Check the signature over the raw body bytes, before parsing it; refuse old timestamps (a
//! replayed call), and use `webhook-id` to ignore a delivery you have already handled:
//! deliveries are at least once.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far the timestamp may be from now, in seconds, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// The three headers of a call, as received.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the secret is not whsec_ followed by base64")]
    Secret,
    #[error("the webhook-timestamp header is not a number")]
    Timestamp,
    #[error("the timestamp is more than five minutes away from now: a replay, or a wrong clock")]
    Stale,
    #[error("no signature matches: the body was changed, or the secret is wrong")]
    Signature,
}

/// Checks that the call comes from Sportello, unchanged, recently. `now` is Unix seconds.
pub fn verify(
    secret: &str,
    headers: &Headers<'_>,
    body: &[u8],
    now: i64,
) -> Result<(), WebhookError> {
    let key = secret_key(secret)?;
    let timestamp: i64 = headers
        .timestamp
        .trim()
        .parse()
        .map_err(|_| WebhookError::Timestamp)?;
    if (now - timestamp).abs() > TOLERANCE_SECS {
        return Err(WebhookError::Stale);
    }
    let matches = headers.signature.split_whitespace().any(|candidate| {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            return false;
        };
        let Ok(given) = STANDARD.decode(encoded) else {
            return false;
        };
        // `verify_slice` compares in constant time.
        mac(&key, headers.id, timestamp, body)
            .verify_slice(&given)
            .is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(WebhookError::Signature)
    }
}

/// The `webhook-signature` value for a call (what Sportello computes; useful in tests).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, WebhookError> {
    let key = secret_key(secret)?;
    let tag = mac(&key, id, timestamp, body).finalize().into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

fn secret_key(secret: &str) -> Result<Vec<u8>, WebhookError> {
    let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD
        .decode(encoded.trim())
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or(WebhookError::Secret)
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn the_specifications_example_verifies() {
        let body = br#"{"test": 2432232314}"#;
        let headers = Headers {
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: "1614265330",
            signature: "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        };
        assert_eq!(verify(SECRET, &headers, body, 1_614_265_330), Ok(()));
    }

    #[test]
    fn a_changed_body_a_wrong_secret_or_an_old_call_is_refused() {
        let body = b"{}";
        let signature = sign(SECRET, "id", 1000, body).unwrap();
        let headers = Headers {
            id: "id",
            timestamp: "1000",
            signature: &signature,
        };
        assert_eq!(verify(SECRET, &headers, body, 1000), Ok(()));
        assert_eq!(
            verify(SECRET, &headers, b"{ }", 1000),
            Err(WebhookError::Signature)
        );
        assert_eq!(
            verify("whsec_AAAA", &headers, body, 1000),
            Err(WebhookError::Signature)
        );
        assert_eq!(
            verify(SECRET, &headers, body, 1000 + TOLERANCE_SECS + 1),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            verify("whsec_!!", &headers, body, 1000),
            Err(WebhookError::Secret)
        );
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let body = b"x";
        let good = sign(SECRET, "id", 5, body).unwrap();
        let list = format!("v1,AAAA v2,zzz {good}");
        let headers = Headers {
            id: "id",
            timestamp: "5",
            signature: &list,
        };
        assert_eq!(verify(SECRET, &headers, body, 5), Ok(()));
    }
}
