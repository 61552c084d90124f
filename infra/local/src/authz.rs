//! What API Gateway does with a Lambda authorizer's answer: cache it per identity
//! source value (the `Authorization` header) for the authorizer's TTL, and evaluate its
//! policy against each call's method ARN.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use patgate::permissions::{glob_match, Effect, PolicyDocument};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No statement allows the call: "User is not authorized to access this resource".
    ImplicitDeny,
    /// A Deny statement matches: "... with an explicit deny".
    ExplicitDeny,
}

impl Decision {
    pub fn message(self) -> Option<&'static str> {
        match self {
            Decision::Allow => None,
            Decision::ImplicitDeny => Some("User is not authorized to access this resource"),
            Decision::ExplicitDeny => {
                Some("User is not authorized to access this resource with an explicit deny")
            }
        }
    }
}

/// API Gateway's policy evaluation for `execute-api:Invoke`: an explicit Deny wins,
/// then an Allow, else deny. Agrees with [`PolicyDocument::allows`], and also tells
/// which kind of deny it was, since API Gateway's message differs.
pub fn evaluate(policy: &PolicyDocument, method_arn: &str) -> Decision {
    let matches = |effect: Effect| {
        policy
            .statement
            .iter()
            .filter(|s| {
                s.effect == effect
                    && (s.action == "execute-api:Invoke"
                        || s.action == "*"
                        || s.action == "execute-api:*")
            })
            .any(|s| {
                s.resource
                    .iter()
                    .any(|pattern| glob_match(pattern, method_arn))
            })
    };
    if matches(Effect::Deny) {
        Decision::ExplicitDeny
    } else if matches(Effect::Allow) {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// Authorizer results cached per identity source value, for `ttl` (0 disables caching).
#[derive(Debug)]
pub struct PolicyCache {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Authorization, Instant)>>,
}

impl PolicyCache {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        PolicyCache {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &str, now: Instant) -> Option<Authorization> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, stored)| now.saturating_duration_since(*stored) < self.ttl)
            .map(|(value, _)| value.clone())
    }

    pub fn insert(&self, key: &str, value: Authorization, now: Instant) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            let ttl = self.ttl;
            entries.retain(|_, (_, stored)| now.saturating_duration_since(*stored) < ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key.to_owned(), (value, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            evaluate(&auth.policy, &format!("{BASE}/GET/catalog")),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&auth.policy, &format!("{BASE}/GET/catalog/svc-1")),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&auth.policy, &format!("{BASE}/PUT/settings")),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate(&auth.policy, &format!("{BASE}/POST/catalog")),
            Decision::ImplicitDeny
        );
        assert_eq!(
            Decision::ExplicitDeny.message(),
            Some("User is not authorized to access this resource with an explicit deny")
        );
        assert_eq!(auth.context["userId"], "demo-viewer");
    }

    #[test]
    fn cached_answers_expire_after_the_ttl() {
        let cache = PolicyCache::new(Duration::from_secs(300), 100);
        let t0 = Instant::now();
        cache.insert("Bearer a", authorization(), t0);
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
        off.insert("k", authorization(), t0);
        assert!(off.get("k", t0).is_none());
        let small = PolicyCache::new(Duration::from_secs(60), 2);
        for i in 0..10 {
            small.insert(&format!("k{i}"), authorization(), t0);
        }
        assert!(small.entries.lock().unwrap().len() <= 2);
        assert!(small.get("k9", t0).is_some());
    }
}
