//! GitHub's secret scanning partner alerts (`POST /integrations/github/secret-scanning`):
//! GitHub finds strings that look like this deployment's tokens in public places and
//! posts them, signed; every one that still authenticates is revoked exactly as
//! `POST /credentials/revoke` would (reason `leaked`, reported by `github`), and the
//! answer carries GitHub's feedback format, one label per match.
//!
//! The order of the checks, and why the endpoint is no oracle:
//! 1. Before anything is read from the body, the request must carry a key id and a
//!    signature that verifies, with ECDSA P-256 / SHA-256 over the raw body, under the
//!    key of that id in GitHub's key document ([`keys`], [`signature`]). Every refusal
//!    here (401 `invalid_signature`, or 400 for a missing header) depends on the
//!    headers and the body's bytes only, never on what tokens exist, and costs no
//!    table read: its answer and its timing are the same for a live token, a revoked
//!    one and a random string. Someone without GitHub's private key learns nothing.
//! 2. A verified message is recorded by the digest of (key id, signature in its
//!    canonical form, body) with a conditional put (DESIGN §10): the same message sent
//!    again within a day is refused (409 `replayed`) without being read, so a message
//!    captured in transit cannot be used again, even re-encoded (`(r, n − s)`).
//! 3. The labels depend on each string alone: `true_positive` for a well-formed token
//!    of this deployment (an accepted prefix, the length, base62 and the checksum),
//!    `false_positive` otherwise, whether the token is live, revoked, expired or was
//!    never issued. Anyone can compute them offline from the string, so they tell
//!    even GitHub nothing about which tokens exist; what GitHub learns is whether its
//!    pattern matched the format, which is the feedback it asks for. A well-formed
//!    string found in public is treated as compromised whatever its state.
//! 4. Timing after the check grows with the number of live tokens revoked. Only a
//!    sender holding GitHub's key sees it, and by the time the answer leaves, those
//!    tokens no longer authenticate.
//!
//! A message that fails after its marker is written (the table unavailable) has its
//! marker removed, so GitHub's retry of it is handled rather than refused as a replay.

pub mod keys;
pub mod signature;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::service::{LeakReporter, TokenService};
use crate::token::TokenHash;
use keys::{GitHubKeys, KeyError};
use signature::AlertSignature;

pub const KEY_ID_HEADER: &str = "Github-Public-Key-Identifier";
pub const SIGNATURE_HEADER: &str = "Github-Public-Key-Signature";
/// Largest alert body.
pub const MAX_ALERT_BODY_BYTES: usize = 1024 * 1024;
/// Most matches in one alert.
pub const MAX_ALERT_MATCHES: usize = 1000;
/// Longest key id looked up (GitHub's are 64 hex characters).
const MAX_KEY_ID_CHARS: usize = 128;

/// GitHub's feedback on one match: the SHA-256 of the string (never the string
/// itself), the type GitHub named, and the label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertLabel {
    pub token_hash: String,
    pub token_type: String,
    pub label: Label,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    TruePositive,
    FalsePositive,
}

/// One match of an alert: `{"token", "type", "url", "source"}`. GitHub owns the
/// format, so fields it may add later are ignored rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMatch {
    pub token: String,
    pub token_type: String,
}

/// The body of a verified alert: a JSON array of 1 to [`MAX_ALERT_MATCHES`] matches,
/// each an object with a string `token` (and `type`, a string, if present).
pub fn parse_matches(body: &[u8]) -> Result<Vec<AlertMatch>, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|err| ApiError::InvalidJson(err.to_string()))?;
    let Value::Array(list) = value else {
        return Err(ApiError::InvalidJson(
            "the body must be a JSON array of matches".to_owned(),
        ));
    };
    if list.is_empty() || list.len() > MAX_ALERT_MATCHES {
        return Err(ApiError::invalid(
            "body",
            format!("must hold 1 to {MAX_ALERT_MATCHES} matches"),
        ));
    }
    list.iter()
        .map(|entry| {
            let token = entry.get("token").and_then(Value::as_str);
            let token_type = match entry.get("type") {
                None | Some(Value::Null) => Some(""),
                Some(value) => value.as_str(),
            };
            match (token, token_type) {
                (Some(token), Some(token_type)) => Ok(AlertMatch {
                    token: token.to_owned(),
                    token_type: token_type.chars().take(200).collect(),
                }),
                _ => Err(ApiError::invalid(
                    "body",
                    "each match must be an object with a string `token` (and a string `type`)",
                )),
            }
        })
        .collect()
}

/// The replay marker's digest: SHA-256 of the key id (length first), the signature in
/// canonical form and the body, lowercase hex.
pub fn replay_digest(key_id: &str, signature: &AlertSignature, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(
        u32::try_from(key_id.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    hasher.update(key_id.as_bytes());
    hasher.update(signature.canonical());
    hasher.update(body);
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Handles one alert: the checks in the order the module describes, then the
/// revocation. `key_id` and `signature` are the headers' values, `body` the raw body.
pub async fn receive_alert(
    service: &TokenService,
    keys: &GitHubKeys,
    key_id: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<AlertLabel>, ApiError> {
    let refuse = |outcome: &'static str, err: ApiError| {
        tracing::warn!(outcome, "GitHub alert refused");
        service.metrics.count(
            "GitHubAlerts",
            &[("Service", "patgate"), ("Outcome", outcome)],
            now.timestamp_millis(),
        );
        err
    };
    if body.len() > MAX_ALERT_BODY_BYTES {
        return Err(refuse(
            "too_large",
            ApiError::PayloadTooLarge {
                max_bytes: MAX_ALERT_BODY_BYTES,
            },
        ));
    }
    let key_id = key_id
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            refuse(
                "missing_header",
                ApiError::invalid(KEY_ID_HEADER, "is required"),
            )
        })?;
    let signature = signature.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        refuse(
            "missing_header",
            ApiError::invalid(SIGNATURE_HEADER, "is required"),
        )
    })?;
    let signature = AlertSignature::from_header(signature).ok_or_else(|| {
        refuse(
            "bad_signature",
            ApiError::InvalidSignature("the signature is not a base64 DER ECDSA signature"),
        )
    })?;
    let key = if key_id.chars().count() > MAX_KEY_ID_CHARS {
        Err(KeyError::Unknown)
    } else {
        keys.key(key_id).await
    };
    let key = key.map_err(|err| match err {
        KeyError::Disabled => refuse(
            "disabled",
            ApiError::InvalidSignature("this deployment accepts no GitHub alerts"),
        ),
        KeyError::Unknown => refuse(
            "unknown_key",
            ApiError::InvalidSignature("unknown key identifier"),
        ),
        KeyError::Unavailable(cause) => {
            tracing::error!(error = %cause, "GitHub keys unavailable");
            refuse("keys_unavailable", ApiError::Unavailable)
        }
    })?;
    if !signature.verifies(&key, body) {
        return Err(refuse(
            "bad_signature",
            ApiError::InvalidSignature("the signature does not verify"),
        ));
    }
    let matches = parse_matches(body).map_err(|err| refuse("bad_body", err))?;
    let digest = replay_digest(key_id, &signature, body);
    match service.store.claim_replay_marker(&digest, now).await {
        Ok(true) => {}
        Ok(false) => return Err(refuse("replayed", ApiError::Replayed)),
        Err(err) => return Err(refuse("store_unavailable", err.into())),
    }
    let mut labels = Vec::with_capacity(matches.len());
    let mut leaked = Vec::new();
    for found in &matches {
        let text = found.token.trim();
        let label = match service.settings.parse_token(text) {
            Ok(secret) => {
                leaked.push(secret.hash());
                Label::TruePositive
            }
            Err(_) => Label::FalsePositive,
        };
        labels.push(AlertLabel {
            token_hash: TokenHash::of(&found.token).as_str().to_owned(),
            token_type: found.token_type.clone(),
            label,
        });
    }
    match service
        .revoke_leaked_hashes(leaked, LeakReporter::GitHub, now)
        .await
    {
        Ok(revoked) => {
            tracing::info!(matches = matches.len(), revoked, "GitHub alert handled");
            service.metrics.count(
                "GitHubAlerts",
                &[("Service", "patgate"), ("Outcome", "accepted")],
                now.timestamp_millis(),
            );
            Ok(labels)
        }
        Err(err) => {
            if let Err(release) = service.store.release_replay_marker(&digest).await {
                tracing::error!(error = %release, "replay marker of a failed GitHub alert left in place; GitHub's retry will be refused");
            }
            Err(refuse("store_unavailable", err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_are_read_leniently_but_must_carry_a_string_token() {
        let body = br#"[{"token":"pgt_x","type":"patgate_token","url":"https://github.com/o/r/blob/1/a","source":"content","new_field":1},{"token":"y"}]"#;
        let matches = parse_matches(body).unwrap();
        assert_eq!(
            matches,
            [
                AlertMatch {
                    token: "pgt_x".into(),
                    token_type: "patgate_token".into()
                },
                AlertMatch {
                    token: "y".into(),
                    token_type: String::new()
                },
            ]
        );
        for bad in [
            &b"{}"[..],
            b"[]",
            b"[1]",
            br#"[{"type":"t"}]"#,
            br#"[{"token":5}]"#,
            br#"[{"token":"a","type":3}]"#,
            b"not json",
        ] {
            assert!(
                parse_matches(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let many = format!(
            "[{}]",
            vec![r#"{"token":"a"}"#; MAX_ALERT_MATCHES + 1].join(",")
        );
        assert!(parse_matches(many.as_bytes()).is_err());
    }

    #[test]
    fn labels_serialize_in_githubs_feedback_format() {
        let label = AlertLabel {
            token_hash: "ab".into(),
            token_type: "patgate_token".into(),
            label: Label::FalsePositive,
        };
        assert_eq!(
            serde_json::to_value(&label).unwrap(),
            serde_json::json!({"token_hash": "ab", "token_type": "patgate_token", "label": "false_positive"})
        );
        assert_eq!(
            serde_json::to_value(Label::TruePositive).unwrap(),
            "true_positive"
        );
    }
}
