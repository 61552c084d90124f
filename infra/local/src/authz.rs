//! Authorization as API Gateway does it for a route: a Lambda authorizer (REST TOKEN
//! or REQUEST, HTTP API payload 2.0) called unless one of its identity sources is
//! missing or empty, its answer cached by the identity sources' values for the
//! authorizer's TTL and applied to the call (a policy evaluated against the call's
//! ARN, or an HTTP API simple response's flag); or, for a Cognito user pool
//! authorizer, the development-only session check standing in for it.

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
use crate::event_v2::http_authorizer_event;
use crate::functions::{AuthorizerFailure, Functions, AUTHORIZER_BINARY};
use crate::response::header_value;
use crate::sam::{AuthorizerDef, IdentitySource, PayloadType};
use crate::session::{cognito_style_claims, SessionKeys};

/// Most answers kept per authorizer.
const POLICY_CACHE_CAPACITY: usize = 10_000;

/// Authorizer answers cached by their identity sources' values ([`cache_key`]), for
/// the authorizer's TTL (0 disables caching), with the authorizer function's own
/// bounded map.
pub type PolicyCache = TtlMap<String, AuthorizerResponse>;

/// The cache key of a call: its identity sources' values, in order. No value holds
/// a NUL, so joining with one keeps different lists apart.
pub fn cache_key(values: &[String]) -> String {
    values.join("\u{0}")
}

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
    /// event is derived from it, and its `requestContext` holds the context variables
    /// identity sources name (`httpMethod`, `resourcePath`, `routeKey`).
    pub proxy_event: &'a Value,
    pub identity: &'a ApiIdentity,
    pub functions: &'a Functions,
    /// The functions' clock.
    pub now: DateTime<Utc>,
}

/// The template's authorizers, with a cache per Lambda authorizer whose TTL is not 0.
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
                identity,
                timeout_seconds,
                payload,
                simple_responses,
                ..
            }) => {
                let lambda = Lambda {
                    name,
                    identity,
                    payload: *payload,
                    simple_responses: *simple_responses,
                    timeout: Duration::from_secs(*timeout_seconds),
                };
                self.lambda(lambda, input, note).await
            }
            Some(AuthorizerDef::CognitoUserPool { header }) => {
                self.session(name, header, input.call, note)
            }
        }
    }

    async fn lambda(
        &self,
        lambda: Lambda<'_>,
        input: AuthorizeCall<'_>,
        note: &mut String,
    ) -> Result<Value, GatewayError> {
        // A missing or empty identity source is refused before the authorizer is called.
        let values = identity_values(lambda.identity, &input)?;
        let key = cache_key(&values);
        let cache = self.caches.get(lambda.name).and_then(Option::as_ref);
        let call_arn = input
            .identity
            .method_arn(input.call.method, input.call.raw_path);
        let (answer, latency_ms) = match cache.and_then(|c| c.get(&key, Instant::now())) {
            Some(cached) => {
                self.counts.hits.fetch_add(1, Ordering::Relaxed);
                let _ = write!(note, "{}: cached", lambda.name);
                (cached, 0)
            }
            None => {
                self.counts.misses.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                let event = match lambda.payload {
                    PayloadType::Token => token_authorizer_event(&values[0], &call_arn),
                    PayloadType::Request => request_authorizer_event(input.proxy_event, &call_arn),
                    PayloadType::HttpV2 => {
                        http_authorizer_event(input.proxy_event, &call_arn, &values)
                    }
                };
                let outcome = tokio::time::timeout(
                    lambda.timeout,
                    input.functions.authorize(event, input.now),
                )
                .await;
                let latency_ms = started.elapsed().as_millis() as u64;
                let _ = write!(note, "{}: called, {latency_ms} ms", lambda.name);
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
                    cache.insert(key, answer.clone(), Instant::now());
                }
                (answer, latency_ms)
            }
        };
        let http = lambda.payload == PayloadType::HttpV2;
        let decision = match (&answer, http && lambda.simple_responses) {
            (AuthorizerResponse::Simple(simple), true) => match simple.is_authorized {
                true => PolicyDecision::Allow,
                false => PolicyDecision::ExplicitDeny,
            },
            (AuthorizerResponse::Policy(policy), false) => policy.policy_document.decide(&call_arn),
            // An answer of the other format is a misconfigured authorizer: API Gateway
            // fails the call.
            _ => return Err(GatewayError::AuthorizerFailure),
        };
        match decision {
            PolicyDecision::Allow => Ok(backend_context(&answer, latency_ms, http)),
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
        let token = header_value(call.headers, header)
            .filter(|v| !v.trim().is_empty())
            .ok_or(GatewayError::Unauthorized)?;
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

/// A Lambda authorizer's definition, for one call.
struct Lambda<'a> {
    name: &'a str,
    identity: &'a [IdentitySource],
    payload: PayloadType,
    simple_responses: bool,
    timeout: Duration,
}

/// The identity sources' values for a call; any missing or blank one refuses it.
fn identity_values(
    sources: &[IdentitySource],
    input: &AuthorizeCall<'_>,
) -> Result<Vec<String>, GatewayError> {
    sources
        .iter()
        .map(|source| {
            let value = match source {
                IdentitySource::Header(name) => {
                    header_value(input.call.headers, name).map(str::to_owned)
                }
                IdentitySource::Context(name) => input
                    .proxy_event
                    .pointer(&format!("/requestContext/{name}"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                IdentitySource::StageVariable(name) => {
                    input.identity.stage_variables.get(name).cloned()
                }
            };
            value
                .filter(|v| !v.trim().is_empty())
                .ok_or(GatewayError::Unauthorized)
        })
        .collect()
}

/// `requestContext.authorizer` for the backend. REST APIs: the answer's context, its
/// principal id and the authorizer's latency. HTTP APIs: the context under `lambda`.
fn backend_context(answer: &AuthorizerResponse, latency_ms: u64, http: bool) -> Value {
    let context = json!(answer.context());
    if http {
        return json!({ "lambda": context });
    }
    let mut context = context;
    if let Some(policy) = answer.policy() {
        context["principalId"] = json!(policy.principal_id);
    }
    context["integrationLatency"] = json!(latency_ms);
    context
}

#[cfg(test)]
mod tests;
