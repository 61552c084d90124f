//! `Idempotency-Key` on `POST /tokens`: what the header may hold, and what makes two
//! creation requests "the same request".

use lambda_http::Request;
use sha2::{Digest, Sha256};

use super::CreateTokenRequest;
use crate::error::ApiError;

/// The request header a client retries a creation under.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The response header of an answer that replays an earlier creation.
pub const IDEMPOTENT_REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// Longest key (as Stripe's and the IETF draft's examples allow).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// A client's idempotency key. Only its hash is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// 1 to 255 printable ASCII characters (a UUID, say), without surrounding spaces.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let invalid = |message: &str| ApiError::invalid(IDEMPOTENCY_KEY_HEADER, message.to_owned());
        if raw.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if raw.len() > MAX_IDEMPOTENCY_KEY_CHARS {
            return Err(invalid("must be at most 255 characters"));
        }
        if !raw.bytes().all(|b| (0x20..=0x7e).contains(&b)) || raw.trim() != raw {
            return Err(invalid(
                "must be printable ASCII without leading or trailing spaces",
            ));
        }
        Ok(IdempotencyKey(raw.to_owned()))
    }

    /// SHA-256 of the key, hex: how the key is stored and looked up.
    pub fn hash(&self) -> String {
        hex_sha256(self.0.as_bytes())
    }
}

/// The request's `Idempotency-Key`, if it sent one (once).
pub fn idempotency_key(request: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    let mut values = request.headers().get_all(IDEMPOTENCY_KEY_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::invalid(
            IDEMPOTENCY_KEY_HEADER,
            "must be sent once",
        ));
    }
    let text = value
        .to_str()
        .map_err(|_| ApiError::invalid(IDEMPOTENCY_KEY_HEADER, "must be printable ASCII"))?;
    IdempotencyKey::parse(text).map(Some)
}

impl CreateTokenRequest {
    /// SHA-256 (hex) of the request as read (trimmed, the permission list as a set), so
    /// that a retry of the same request matches however its JSON was laid out.
    pub fn digest(&self) -> String {
        let canonical = serde_json::json!({
            "name": self.name,
            "description": self.description,
            "expiresOn": self.expires_on.format("%Y-%m-%d").to_string(),
            "timeZone": self.time_zone.map(|zone| zone.name().to_owned()),
            "permissions": self.permissions,
        });
        hex_sha256(canonical.to_string().as_bytes())
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;
    use serde_json::json;

    fn create(body: serde_json::Value) -> CreateTokenRequest {
        CreateTokenRequest::from_json(body.as_object().unwrap()).unwrap()
    }

    #[test]
    fn the_same_request_in_another_layout_has_the_same_digest() {
        let a = create(json!({"name": "ci", "expiresOn": "2027-01-01", "permissions": ["b", "a"]}));
        let b = create(
            json!({"permissions": ["a", "b", "a"], "expiresOn": "2027-01-01", "name": " ci "}),
        );
        assert_eq!(a.digest(), b.digest());
        let other =
            create(json!({"name": "ci", "expiresOn": "2027-01-02", "permissions": ["a", "b"]}));
        assert_ne!(a.digest(), other.digest());
        let zoned = create(
            json!({"name": "ci", "expiresOn": "2027-01-01", "permissions": ["a", "b"], "timeZone": "UTC"}),
        );
        assert_ne!(a.digest(), zoned.digest());
    }

    #[test]
    fn keys_are_printable_ascii_of_bounded_length_sent_once() {
        let with = |values: &[&str]| {
            let mut request = Request::new(Body::Empty);
            for value in values {
                request.headers_mut().append(
                    IDEMPOTENCY_KEY_HEADER,
                    http::HeaderValue::from_str(value).unwrap(),
                );
            }
            idempotency_key(&request)
        };
        assert_eq!(with(&[]), Ok(None));
        let key = with(&["0b7d9c1e-5d1a-4c5e-9a43-2f1f3b1a9e10"])
            .unwrap()
            .unwrap();
        assert_eq!(key.hash().len(), 64);
        assert_ne!(key.hash(), IdempotencyKey::parse("other").unwrap().hash());
        for bad in [vec![""], vec![" padded"], vec!["a", "b"]] {
            let err = with(&bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    ApiError::InvalidField {
                        field: IDEMPOTENCY_KEY_HEADER,
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse("tab\there").is_err());
    }
}
