//! Development-only web sessions, standing in for the Cognito user pool authorizer.
//!
//! `POST /local/session` mints a short-lived HS256 JWT for a user that exists in the
//! table (the seeded demo users). The key is random per process, so sessions die with
//! the process and cannot be minted anywhere else. Routes whose authorizer is a
//! Cognito user pool authorizer get their `Authorization` header verified the way that
//! authorizer verifies an ID token: signature, algorithm, issuer, `token_use`, expiry;
//! their handler then sees `requestContext.authorizer.claims` (string values, as
//! Cognito passes them). None of this exists in the deployed functions.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Map, Value};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Longest session a caller may ask for, and the default.
pub const MAX_TTL: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionError {
    Malformed,
    BadSignature,
    WrongIssuer,
    Expired,
}

pub struct SessionKeys {
    key: [u8; 32],
    issuer: String,
}

impl SessionKeys {
    /// A fresh random key: sessions are valid only for this process.
    pub fn random(issuer: impl Into<String>) -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        SessionKeys {
            key,
            issuer: issuer.into(),
        }
    }

    #[cfg(test)]
    fn with_key(key: [u8; 32], issuer: &str) -> Self {
        SessionKeys {
            key,
            issuer: issuer.to_owned(),
        }
    }

    #[cfg(test)]
    fn issuer(&self) -> &str {
        &self.issuer
    }

    /// A JWT for `user_id` valid from `now` for `ttl`.
    pub fn mint(&self, user_id: &str, now: DateTime<Utc>, ttl: Duration) -> String {
        let iat = now.timestamp();
        let exp = iat + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let header = json!({"alg": "HS256", "typ": "JWT", "kid": "patgate-local"});
        let claims = json!({
            "sub": user_id,
            "cognito:username": user_id,
            "iss": self.issuer,
            "aud": "patgate-local",
            "token_use": "id",
            "auth_time": iat,
            "iat": iat,
            "exp": exp,
        });
        let signing_input = format!("{}.{}", encode(&header), encode(&claims));
        let signature = URL_SAFE_NO_PAD.encode(self.sign(signing_input.as_bytes()));
        format!("{signing_input}.{signature}")
    }

    /// Verifies `Authorization` header contents (`<jwt>` or `Bearer <jwt>`) and returns
    /// its claims.
    pub fn verify(
        &self,
        header: &str,
        now: DateTime<Utc>,
    ) -> Result<Map<String, Value>, SessionError> {
        let header = header.trim();
        let token = match header.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => header,
        };
        let mut parts = token.split('.');
        let (Some(head_part), Some(body_part), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SessionError::Malformed);
        };
        let head: Value = decode(head_part).ok_or(SessionError::Malformed)?;
        if head.get("alg").and_then(Value::as_str) != Some("HS256") {
            return Err(SessionError::Malformed);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| SessionError::Malformed)?;
        let mut mac = HmacSha256::new_from_slice(&self.key).map_err(|_| SessionError::Malformed)?;
        mac.update(&token.as_bytes()[..head_part.len() + 1 + body_part.len()]);
        mac.verify_slice(&signature)
            .map_err(|_| SessionError::BadSignature)?;
        let claims = match decode(body_part) {
            Some(Value::Object(claims)) => claims,
            _ => return Err(SessionError::Malformed),
        };
        if claims.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str())
            || claims.get("token_use").and_then(Value::as_str) != Some("id")
        {
            return Err(SessionError::WrongIssuer);
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or(SessionError::Malformed)?;
        if now.timestamp() >= exp {
            return Err(SessionError::Expired);
        }
        if claims
            .get("sub")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(SessionError::Malformed);
        }
        Ok(claims)
    }

    fn sign(&self, input: &[u8]) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    }
}

/// The claims as a Cognito user pool authorizer hands them to the backend in
/// `requestContext.authorizer.claims`: every value a string, times as
/// `Wed Nov 26 10:00:00 UTC 2025`.
pub fn cognito_style_claims(claims: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (name, value) in claims {
        let text = match (name.as_str(), value) {
            ("exp" | "iat", Value::Number(n)) => n
                .as_i64()
                .and_then(|secs| DateTime::from_timestamp(secs, 0))
                .map(|t| t.format("%a %b %d %H:%M:%S UTC %Y").to_string())
                .unwrap_or_else(|| n.to_string()),
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        };
        out.insert(name.clone(), Value::String(text));
    }
    Value::Object(out)
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn decode(part: &str) -> Option<Value> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> SessionKeys {
        SessionKeys::with_key([7; 32], "http://127.0.0.1:3000/local")
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn a_minted_session_verifies_until_it_expires() {
        let keys = keys();
        let jwt = keys.mint("demo-viewer", at(1_000), Duration::from_secs(60));
        let claims = keys.verify(&jwt, at(1_000)).unwrap();
        assert_eq!(claims["sub"], "demo-viewer");
        assert_eq!(claims["exp"], 1_060);
        assert!(keys.verify(&format!("Bearer {jwt}"), at(1_059)).is_ok());
        assert!(keys.verify(&format!("bearer   {jwt} "), at(1_059)).is_ok());
        assert_eq!(keys.verify(&jwt, at(1_060)), Err(SessionError::Expired));
    }

    #[test]
    fn tampering_another_key_and_alg_none_are_refused() {
        let keys = keys();
        let jwt = keys.mint("demo-viewer", at(1_000), Duration::from_secs(60));
        let (signing_input, _) = jwt.rsplit_once('.').unwrap();
        let (head, _) = signing_input.split_once('.').unwrap();
        let forged_claims = encode(
            &json!({"sub":"demo-admin","iss":keys.issuer(),"token_use":"id","exp":9_999_999_999i64}),
        );
        let forged = format!("{head}.{forged_claims}.{}", jwt.rsplit('.').next().unwrap());
        assert_eq!(
            keys.verify(&forged, at(1_000)),
            Err(SessionError::BadSignature)
        );
        let other = SessionKeys::with_key([8; 32], keys.issuer());
        assert_eq!(
            other.verify(&jwt, at(1_000)),
            Err(SessionError::BadSignature)
        );
        let none_head = encode(&json!({"alg":"none"}));
        assert_eq!(
            keys.verify(&format!("{none_head}.{forged_claims}."), at(1_000)),
            Err(SessionError::Malformed)
        );
        for junk in ["", "a.b", "a.b.c.d", "Bearer", "Basic abc"] {
            assert!(keys.verify(junk, at(1_000)).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn issuer_is_checked() {
        let keys = keys();
        let other_issuer = SessionKeys::with_key([7; 32], "http://elsewhere");
        let jwt = other_issuer.mint("demo-viewer", at(1_000), Duration::from_secs(60));
        assert_eq!(keys.verify(&jwt, at(1_000)), Err(SessionError::WrongIssuer));
    }

    #[test]
    fn claims_are_passed_on_as_strings() {
        let keys = keys();
        let jwt = keys.mint("demo-user", at(1_764_151_200), Duration::from_secs(3600));
        let claims = cognito_style_claims(&keys.verify(&jwt, at(1_764_151_200)).unwrap());
        assert_eq!(claims["sub"], "demo-user");
        assert_eq!(claims["exp"], "Wed Nov 26 11:00:00 UTC 2025");
        assert_eq!(claims["auth_time"], "1764151200");
    }
}
