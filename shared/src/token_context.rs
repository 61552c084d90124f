//! What the patgate authorizer tells the backend about a token caller: the context of
//! its answer (REST `requestContext.authorizer.*`, HTTP API
//! `requestContext.authorizer.lambda.*`). [`TokenContext::new`] is the one place it is
//! built, from the decision's one read (the hash item) and the permissions granted;
//! [`TokenContext::from_request`] is the one place a backend function reads it back.
//!
//! `GET /tokens/self` answers from it alone, and every response to a token caller can
//! carry [`TOKEN_EXPIRATION_HEADER`] with no read of its own.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::HashRecord;

/// The response header that tells a token caller when its token expires (RFC 3339,
/// UTC), as GitHub's `GitHub-Authentication-Token-Expiration` does.
pub const TOKEN_EXPIRATION_HEADER: &str = "Patgate-Token-Expiration";

/// `secretState` of a token's current secret.
pub const SECRET_CURRENT: &str = "current";
/// `secretState` of a secret replaced by a rotation, still within its grace.
pub const SECRET_GRACE: &str = "grace";

/// Every value is a string, as API Gateway requires of an authorizer's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenContext {
    pub user_id: String,
    pub token_id: String,
    /// What the token may do now, comma-separated.
    pub permissions: String,
    /// The token's expiry, RFC 3339 UTC.
    pub expires_at: String,
    pub token_name: String,
    /// The hint of the secret presented (`pgt_…abcd`).
    pub hint: String,
    /// `true` when the token has its own permission list.
    pub limited: String,
    /// Which secret of the token was presented: 1 at creation, +1 per rotation.
    pub secret_version: String,
    /// `user` or `service`.
    pub owner_kind: String,
    /// [`SECRET_CURRENT`], or [`SECRET_GRACE`] for a secret a rotation replaced.
    pub secret_state: String,
}

impl TokenContext {
    /// The context of an Allow for the secret whose hash item is `found`, granting
    /// `granted`.
    pub fn new(found: &HashRecord, granted: &BTreeSet<String>) -> Self {
        TokenContext {
            user_id: found.user_id.as_str().to_owned(),
            token_id: found.token_id.as_str().to_owned(),
            permissions: granted.iter().cloned().collect::<Vec<_>>().join(","),
            expires_at: found.expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            token_name: found.name.clone(),
            hint: found.hint.clone(),
            limited: found.permissions.is_some().to_string(),
            secret_version: found.secret_version.to_string(),
            owner_kind: found.owner_kind.as_str().to_owned(),
            secret_state: if found.rotated_out {
                SECRET_GRACE
            } else {
                SECRET_CURRENT
            }
            .to_owned(),
        }
    }

    /// The context the patgate authorizer gave this request; `None` when the request
    /// did not come through it (or through an older authorizer that set only part).
    pub fn from_request(request: &Request) -> Option<Self> {
        // REST proxy events (the functions' lambda_http is built for them only).
        #[allow(irrefutable_let_patterns)]
        let RequestContext::ApiGatewayV1(context) = request.request_context_ref()?
        else {
            return None;
        };
        let fields = &context.authorizer.fields;
        let map: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        serde_json::from_value(Value::Object(map)).ok()
    }

    /// The permissions, as a set.
    pub fn permission_set(&self) -> BTreeSet<String> {
        self.permissions
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(&self.expires_at)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }

    pub fn secret_version(&self) -> Option<u64> {
        self.secret_version.parse().ok()
    }

    pub fn is_limited(&self) -> bool {
        self.limited == "true"
    }

    pub fn in_grace(&self) -> bool {
        self.secret_state == SECRET_GRACE
    }
}

/// `GET /tokens/self`: the calling token, as the authorizer described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfView {
    pub id: String,
    pub name: String,
    /// The hint of the secret presented.
    pub hint: String,
    pub expires_at: String,
    pub user_id: String,
    pub owner_kind: String,
    /// What the token may do now (its owner's roles as they are, narrowed to its own
    /// list when it has one).
    pub permissions: Vec<String>,
    /// `true` when the token has its own permission list.
    pub limited: bool,
    pub rotation: RotationView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationView {
    /// Which secret was presented: 1 at creation, +1 per rotation.
    pub secret_version: u64,
    /// `current`, or `grace`: a rotation replaced this secret, which keeps working
    /// only until the grace that rotation gave it ends; switch to the new secret.
    pub secret_state: String,
    /// Whether `POST /tokens/self/rotate` is open to this token (`token:rotate-self`).
    pub can_rotate_self: bool,
}

impl From<&TokenContext> for SelfView {
    fn from(context: &TokenContext) -> Self {
        let permissions = context.permission_set();
        SelfView {
            id: context.token_id.clone(),
            name: context.token_name.clone(),
            hint: context.hint.clone(),
            expires_at: context.expires_at.clone(),
            user_id: context.user_id.clone(),
            owner_kind: context.owner_kind.clone(),
            limited: context.is_limited(),
            rotation: RotationView {
                secret_version: context.secret_version().unwrap_or(1),
                secret_state: context.secret_state.clone(),
                can_rotate_self: permissions.contains(crate::permissions::ROTATE_SELF),
            },
            permissions: permissions.into_iter().collect(),
        }
    }
}

/// The token's expiry for [`TOKEN_EXPIRATION_HEADER`], when `request` came from a
/// token caller through the patgate authorizer.
pub fn token_expiration(request: &Request) -> Option<String> {
    TokenContext::from_request(request).map(|context| context.expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenId;
    use crate::user::{PrincipalKind, UserId};

    fn found(rotated_out: bool) -> HashRecord {
        let at = DateTime::parse_from_rfc3339("2027-01-01T22:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        HashRecord {
            user_id: UserId::parse("ada").unwrap(),
            token_id: TokenId::parse("01JD0000000000000000000000").unwrap(),
            valid_until: at,
            rotated_out,
            permissions: Some(BTreeSet::from(["catalog:read".to_owned()])),
            roles: vec!["User".into()],
            active: true,
            owner_kind: PrincipalKind::Service,
            name: "ci".into(),
            hint: "pgt_…abcd".into(),
            expires_at: at,
            secret_version: 3,
        }
    }

    #[test]
    fn the_context_is_all_strings_in_the_documented_keys() {
        let granted = BTreeSet::from(["catalog:read".to_owned(), "entity:edit".to_owned()]);
        let wire = serde_json::to_value(TokenContext::new(&found(true), &granted)).unwrap();
        assert_eq!(
            wire,
            serde_json::json!({
                "userId": "ada", "tokenId": "01JD0000000000000000000000",
                "permissions": "catalog:read,entity:edit", "expiresAt": "2027-01-01T22:59:59Z",
                "tokenName": "ci", "hint": "pgt_…abcd", "limited": "true",
                "secretVersion": "3", "ownerKind": "service", "secretState": "grace"
            })
        );
        let current = TokenContext::new(&found(false), &BTreeSet::new());
        assert_eq!(current.secret_state, SECRET_CURRENT);
        assert!(current.permission_set().is_empty());
        assert_eq!(current.secret_version(), Some(3));
        assert_eq!(current.expires_at(), Some(found(false).expires_at));
    }
}
