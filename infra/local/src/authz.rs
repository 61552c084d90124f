//! What API Gateway does with a Lambda authorizer's answer: cache it per identity
//! source value (the `Authorization` header) for the authorizer's TTL, and evaluate its
//! policy against each call's method ARN.

pub use authorizer::cache::TtlMap;
use patgate::permissions::{PolicyDecision, PolicyDocument};
use serde_json::{Map, Value};

/// A Lambda authorizer's answer, as API Gateway keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub principal_id: String,
    pub policy: PolicyDocument,
    /// The `context` map, handed to the backend as `requestContext.authorizer.*`.
    pub context: Map<String, Value>,
}

impl Authorization {
    /// Reads the authorizer's JSON answer (`principalId`, `policyDocument`, `context`).
    pub fn from_response(response: Value) -> Option<Self> {
        let principal_id = response.get("principalId")?.as_str()?.to_owned();
        let policy: PolicyDocument =
            serde_json::from_value(response.get("policyDocument")?.clone()).ok()?;
        let context = response
            .get("context")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        Some(Authorization {
            principal_id,
            policy,
            context,
        })
    }
}

/// API Gateway's answer body for a call the policy does not allow.
pub fn deny_message(decision: PolicyDecision) -> Option<&'static str> {
    match decision {
        PolicyDecision::Allow => None,
        PolicyDecision::ImplicitDeny => Some("User is not authorized to access this resource"),
        PolicyDecision::ExplicitDeny => {
            Some("User is not authorized to access this resource with an explicit deny")
        }
    }
}

/// Authorizer results cached per identity source value, for the authorizer's TTL
/// (0 disables caching), with the authorizer function's own bounded map.
pub type PolicyCache = TtlMap<String, Authorization>;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::{Duration, Instant};

    const BASE: &str = "arn:aws:execute-api:us-east-1:123456789012:local/v1";

    fn authorization() -> Authorization {
        Authorization::from_response(json!({
            "principalId": "demo-viewer",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [format!("{BASE}/GET/catalog"), format!("{BASE}/GET/catalog/*")]},
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [format!("{BASE}/PUT/settings")]}
            ]},
            "context": {"userId": "demo-viewer", "tokenId": "01J", "permissions": "catalog:read"}
        }))
        .unwrap()
    }

    #[test]
    fn evaluation_tells_allow_explicit_and_implicit_deny_apart() {
        let auth = authorization();
        assert_eq!(
            auth.policy.decide(&format!("{BASE}/GET/catalog")),
            PolicyDecision::Allow
        );
        assert_eq!(
            auth.policy.decide(&format!("{BASE}/GET/catalog/svc-1")),
            PolicyDecision::Allow
        );
        assert_eq!(
            auth.policy.decide(&format!("{BASE}/PUT/settings")),
            PolicyDecision::ExplicitDeny
        );
        assert_eq!(
            auth.policy.decide(&format!("{BASE}/POST/catalog")),
            PolicyDecision::ImplicitDeny
        );
        assert_eq!(
            deny_message(PolicyDecision::ExplicitDeny),
            Some("User is not authorized to access this resource with an explicit deny")
        );
        assert_eq!(auth.context["userId"], "demo-viewer");
    }

    #[test]
    fn cached_answers_expire_after_the_ttl() {
        let cache = PolicyCache::new(Duration::from_secs(300), 100);
        let t0 = Instant::now();
        cache.insert("Bearer a".to_owned(), authorization(), t0);
        assert!(cache
            .get("Bearer a", t0 + Duration::from_secs(299))
            .is_some());
        assert!(cache
            .get("Bearer a", t0 + Duration::from_secs(300))
            .is_none());
        // The key is the whole header value: another spelling is another entry.
        assert!(cache.get("bearer a", t0).is_none());
    }

    #[test]
    fn zero_ttl_disables_caching_and_capacity_bounds_it() {
        let t0 = Instant::now();
        let off = PolicyCache::new(Duration::ZERO, 100);
        off.insert("k".to_owned(), authorization(), t0);
        assert!(off.get("k", t0).is_none());
        let small = PolicyCache::new(Duration::from_secs(60), 2);
        for i in 0..10 {
            small.insert(format!("k{i}"), authorization(), t0);
        }
        assert!(small.len() <= 2);
        assert!(small.get("k9", t0).is_some());
    }
}
