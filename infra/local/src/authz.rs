//! Authorization as API Gateway does it for a route: a Lambda (REQUEST or TOKEN)
//! authorizer's answer cached per identity source value (the `Authorization` header) for the
//! authorizer's TTL, its policy evaluated against each call's method ARN; or, for a
//! Cognito user pool authorizer, the development-only session check standing in for it.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use authorizer::cache::TtlMap;
use authorizer::AuthorizerResponse;
use chrono::{DateTime, Utc};
use patgate::permissions::PolicyDecision;
use serde_json::{json, Value};

use crate::event::{request_authorizer_event, token_authorizer_event, ApiIdentity, HttpCall};
use crate::functions::{AuthorizerFailure, Functions, AUTHORIZER_BINARY};
use crate::response::header_value;
use crate::sam::{AuthorizerDef, PayloadType};
use crate::session::{cognito_style_claims, SessionKeys};

/// Most policies kept per authorizer.
const POLICY_CACHE_CAPACITY: usize = 10_000;

/// Authorizer answers cached per identity source value, for the authorizer's TTL
/// (0 disables caching), with the authorizer function's own bounded map.
pub type PolicyCache = TtlMap<String, AuthorizerResponse>;

/// Why API Gateway answers a call itself instead of calling the route's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayError {
    Unauthorized,
    AccessDenied(PolicyDecision),
    AuthorizerFailure,
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

/// What an authorizer is handed for one call.
pub struct AuthorizeCall<'a> {
    pub call: &'a HttpCall<'a>,
    /// The call's proxy event, without an authorizer context: a REQUEST authorizer's
    /// event is derived from it.
    pub proxy_event: &'a Value,
    pub identity: &'a ApiIdentity,
    pub functions: &'a Functions,
    /// The functions' clock.
    pub now: DateTime<Utc>,
}

/// The template's authorizers, with a policy cache per Lambda authorizer whose TTL
/// is not 0.
pub struct Authorizers {
    definitions: BTreeMap<String, AuthorizerDef>,
    /// `None`: caching off (TTL 0), so no answer is copied into a map never read.
    caches: BTreeMap<String, Option<PolicyCache>>,
    sessions: Arc<SessionKeys>,
    counts: CacheCounts,
}

/// How the Lambda authorizers' caches answered since the stack started.
#[derive(Debug, Default)]
pub struct CacheCounts {
    /// Answers taken from a cache.
    pub hits: AtomicU64,
    /// Authorizer calls (no cached answer, or caching off).
    pub misses: AtomicU64,
    /// Flushes of the stage's authorizer caches.
    pub flushes: AtomicU64,
}

impl Authorizers {
    /// Checks that every authorizer can run here.
    pub fn new(
        definitions: &BTreeMap<String, AuthorizerDef>,
        sessions: Arc<SessionKeys>,
    ) -> Result<Self, String> {
        let mut caches = BTreeMap::new();
        for (name, definition) in definitions {
            let AuthorizerDef::Lambda {
                binary,
                payload,
                ttl_seconds,
                ..
            } = definition
            else {
                continue;
            };
            if binary != AUTHORIZER_BINARY {
                return Err(format!(
                    "authorizer {name} ({binary}, {payload:?}) is not supported by the local stack"
                ));
            }
            let ttl = Duration::from_secs(*ttl_seconds);
            let cache = (!ttl.is_zero()).then(|| PolicyCache::new(ttl, POLICY_CACHE_CAPACITY));
            caches.insert(name.clone(), cache);
        }
        Ok(Authorizers {
            definitions: definitions.clone(),
            caches,
            sessions,
            counts: CacheCounts::default(),
        })
    }

    /// Empties every authorizer cache of the stage, as API Gateway's
    /// `FlushStageAuthorizersCache` does.
    pub fn flush(&self) {
        for cache in self.caches.values().flatten() {
            cache.clear();
        }
        self.counts.flushes.fetch_add(1, Ordering::Relaxed);
    }

    pub fn counts(&self) -> &CacheCounts {
        &self.counts
    }

    /// Runs authorizer `name`; `Ok` is the `requestContext.authorizer` value.
    pub async fn authorize(
        &self,
        name: &str,
        input: AuthorizeCall<'_>,
        note: &mut String,
    ) -> Result<Value, GatewayError> {
        match self.definitions.get(name) {
            None => Err(GatewayError::AuthorizerFailure),
            Some(AuthorizerDef::Lambda {
                header,
                timeout_seconds,
                payload,
                ..
            }) => {
                let timeout = Duration::from_secs(*timeout_seconds);
                self.lambda(name, (header, *payload), timeout, input, note)
                    .await
            }
            Some(AuthorizerDef::CognitoUserPool { header }) => {
                self.session(name, header, input.call, note)
            }
        }
    }

    async fn lambda(
        &self,
        name: &str,
        (header, payload): (&str, PayloadType),
        timeout: Duration,
        input: AuthorizeCall<'_>,
        note: &mut String,
    ) -> Result<Value, GatewayError> {
        // An empty identity source is refused before the authorizer is called.
        let token = identity_source(input.call, header)?;
        let cache = self.caches.get(name).and_then(Option::as_ref);
        let method_arn = input
            .identity
            .method_arn(input.call.method, input.call.raw_path);
        let (answer, latency_ms) = match cache.and_then(|c| c.get(token, Instant::now())) {
            Some(cached) => {
                self.counts.hits.fetch_add(1, Ordering::Relaxed);
                let _ = write!(note, "{name}: cached");
                (cached, 0)
            }
            None => {
                self.counts.misses.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let event = match payload {
                    PayloadType::Token => token_authorizer_event(token, &method_arn),
                    PayloadType::Request => {
                        request_authorizer_event(input.proxy_event, &method_arn)
                    }
                };
                let outcome =
                    tokio::time::timeout(timeout, input.functions.authorize(event, input.now))
                        .await;
                let latency_ms = started.elapsed().as_millis() as u64;
                let _ = write!(note, "{name}: called, {latency_ms} ms");
                let answer = match outcome {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(AuthorizerFailure::Unauthorized)) => {
                        return Err(GatewayError::Unauthorized)
                    }
                    Ok(Err(AuthorizerFailure::Error)) | Err(_) => {
                        return Err(GatewayError::AuthorizerFailure)
                    }
                };
                if let Some(cache) = cache {
                    cache.insert(token.to_owned(), answer.clone(), Instant::now());
                }
                (answer, latency_ms)
            }
        };
        match answer.policy_document.decide(&method_arn) {
            PolicyDecision::Allow => Ok(backend_context(&answer, latency_ms)),
            denied => Err(GatewayError::AccessDenied(denied)),
        }
    }

    /// The development-only session standing in for a Cognito user pool ID token.
    fn session(
        &self,
        name: &str,
        header: &str,
        call: &HttpCall<'_>,
        note: &mut String,
    ) -> Result<Value, GatewayError> {
        let token = identity_source(call, header)?;
        let claims = self
            .sessions
            .verify(token, Utc::now())
            .map_err(|_| GatewayError::Unauthorized)?;
        note.push_str(&format!(
            "{name}: session of {}",
            claims.get("sub").and_then(Value::as_str).unwrap_or("?")
        ));
        Ok(json!({ "claims": cognito_style_claims(&claims) }))
    }
}

/// The identity source header's value; missing or blank is refused at once.
fn identity_source<'a>(call: &'a HttpCall<'_>, header: &str) -> Result<&'a str, GatewayError> {
    header_value(call.headers, header)
        .filter(|v| !v.trim().is_empty())
        .ok_or(GatewayError::Unauthorized)
}

/// `requestContext.authorizer` for the backend: the answer's context, its principal
/// id and the authorizer's latency.
fn backend_context(answer: &AuthorizerResponse, latency_ms: u64) -> Value {
    let mut context = json!(answer.context);
    context["principalId"] = json!(answer.principal_id);
    context["integrationLatency"] = json!(latency_ms);
    context
}

#[cfg(test)]
mod tests {
    use super::*;
    use authorizer::AuthorizerContext;
    use serde_json::json;

    const BASE: &str = "arn:aws:execute-api:us-east-1:123456789012:local/v1";

    fn authorization() -> AuthorizerResponse {
        AuthorizerResponse {
            principal_id: "demo-viewer".into(),
            policy_document: serde_json::from_value(json!({"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [format!("{BASE}/GET/catalog"), format!("{BASE}/GET/catalog/*")]},
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [format!("{BASE}/PUT/settings")]}
            ]}))
            .unwrap(),
            context: AuthorizerContext {
                user_id: "demo-viewer".into(),
                token_id: "01J".into(),
                permissions: "catalog:read".into(),
                expires_at: "2027-01-01T22:59:59Z".into(),
                token_name: "demo".into(),
                hint: "pgt_…abcd".into(),
                limited: "false".into(),
                secret_version: "1".into(),
                owner_kind: "user".into(),
                secret_state: "current".into(),
            },
        }
    }

    #[test]
    fn evaluation_tells_allow_explicit_and_implicit_deny_apart() {
        let auth = authorization();
        assert_eq!(
            auth.policy_document.decide(&format!("{BASE}/GET/catalog")),
            PolicyDecision::Allow
        );
        assert_eq!(
            auth.policy_document
                .decide(&format!("{BASE}/GET/catalog/svc-1")),
            PolicyDecision::Allow
        );
        assert_eq!(
            auth.policy_document.decide(&format!("{BASE}/PUT/settings")),
            PolicyDecision::ExplicitDeny
        );
        assert_eq!(
            auth.policy_document.decide(&format!("{BASE}/POST/catalog")),
            PolicyDecision::ImplicitDeny
        );
        assert_eq!(
            deny_message(PolicyDecision::ExplicitDeny),
            Some("User is not authorized to access this resource with an explicit deny")
        );
        assert_eq!(backend_context(&auth, 3)["userId"], "demo-viewer");
    }

    #[test]
    fn the_backend_sees_the_context_the_principal_and_the_latency() {
        let context = backend_context(&authorization(), 12);
        assert_eq!(
            context,
            json!({"userId": "demo-viewer", "tokenId": "01J", "permissions": "catalog:read",
                   "expiresAt": "2027-01-01T22:59:59Z", "tokenName": "demo", "hint": "pgt_…abcd",
                   "limited": "false", "secretVersion": "1", "ownerKind": "user",
                   "secretState": "current",
                   "principalId": "demo-viewer", "integrationLatency": 12})
        );
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
    fn a_stage_flush_empties_the_cache_before_the_ttl() {
        let cache = PolicyCache::new(Duration::from_secs(300), 100);
        let t0 = Instant::now();
        cache.insert("Bearer a".to_owned(), authorization(), t0);
        cache.insert("Bearer b".to_owned(), authorization(), t0);
        cache.clear();
        assert!(cache.get("Bearer a", t0).is_none());
        assert!(cache.is_empty());
        cache.insert("Bearer a".to_owned(), authorization(), t0);
        assert!(
            cache.get("Bearer a", t0).is_some(),
            "refilled by the next call"
        );
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
