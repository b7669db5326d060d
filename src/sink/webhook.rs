//! Generic webhooks signed per Standard Webhooks
//! (https://www.standardwebhooks.com/): the body is the alert document
//! (docs/alerts.md), and three headers let a receiver verify and
//! de-duplicate it:
//!
//! - `webhook-id`: `alert-<id>`, the same on every retry of the alert;
//! - `webhook-timestamp`: seconds since the epoch, when the attempt was made;
//! - `webhook-signature`: `v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`.
//!
//! A secret written as `whsec_<base64>` (as Standard Webhooks libraries
//! generate them) is base64-decoded; any other secret is used as bytes.

use crate::alert::AlertDoc;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The idempotency key of an alert's deliveries.
pub fn message_id(alert: &AlertDoc) -> String {
    format!("alert-{}", alert.id)
}

fn key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` header value.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The body and headers of one attempt.
pub fn request(
    alert: &AlertDoc,
    secret: &str,
    timestamp: i64,
) -> (Vec<u8>, Vec<(&'static str, String)>) {
    let body = serde_json::to_vec(alert).expect("an alert document serialises");
    let id = message_id(alert);
    let sig = signature(secret, &id, timestamp, &body);
    let headers = vec![
        ("webhook-id", id),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", sig),
    ];
    (body, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        // The example of the Standard Webhooks specification's test suite.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = signature(
            secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
