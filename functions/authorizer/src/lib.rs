//! The patgate Lambda authorizer for API Gateway REST APIs.
//!
//! Input: a REQUEST event (`Authorization` header, caller's source IP and user agent)
//! or a TOKEN event (`authorizationToken`), each with the `methodArn` of the call.
//! The header must read `Bearer <token>` (scheme in any case, surrounding whitespace
//! tolerated).
//!
//! Outcomes:
//! - anything malformed or with a bad checksum: the error `Unauthorized` (API Gateway
//!   answers 401) by parsing alone, before any DynamoDB call;
//! - a well-formed token: one consistent GetItem reads its hash item, which carries
//!   the token's validity and permission list and its owner's current roles and active
//!   flag. An unknown, revoked or expired token, a rotated-out secret past its grace,
//!   a deactivated user: `Unauthorized`;
//! - a valid token: an IAM policy for principal = user id that allows the routes its
//!   permissions (the user's now, narrowed to the token's own list) grant and denies
//!   the other configured routes (403), for every route of the API since API Gateway
//!   caches it per token; context carries `userId`, `tokenId` and `permissions`;
//! - DynamoDB unavailable or failing: an error that is not `Unauthorized`, which API
//!   Gateway turns into a 500. Never an Allow.
//!
//! Every decision is counted as one metric line (outcome, reason, latency); at DEBUG
//! it is also logged as one structured line (outcome, reason, user id, token id,
//! latency), and a failed decision (the store) is logged as an ERROR line at any
//! level. Never the token or its hash. At INFO an uncached decision writes nothing
//! but its metric line: CloudWatch Logs bills every byte (infra/docs/costs.md).
#![forbid(unsafe_code)]

pub mod cache;

pub use lambda_runtime::Diagnostic;

use std::time::{Duration, Instant};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
};
use chrono::{DateTime, Utc};
use patgate::config::Settings;
use patgate::metrics::{Metrics, Unit};
use patgate::permissions::{PermissionConfig, PolicyDocument};
use patgate::store::{HashRecord, LastUse, LastUseWrite, StoreError, TokenStore};
use patgate::token::{bearer_token, AcceptedPrefixes, TokenId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use cache::TtlMap;

/// The longest a decision waits for its (throttled, best-effort) last-use write.
/// Normal writes take milliseconds; a slower store loses the record, not the call.
pub const LAST_USE_WAIT: Duration = Duration::from_millis(250);

/// Longest user agent kept as a token's last-used origin.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// Tokens whose use this container remembers having recorded (bounds memory).
const RECENT_USES_CAPACITY: usize = 10_000;

/// Why a call was refused or failed; the reason code goes to the decision log only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizerError {
    /// API Gateway answers 401 to exactly this message.
    #[error("Unauthorized")]
    Unauthorized(&'static str),
    /// Anything else: API Gateway answers 500, and nothing is allowed.
    #[error("authorizer unavailable")]
    Unavailable(StoreError),
}

impl AuthorizerError {
    pub fn reason(&self) -> &'static str {
        match self {
            AuthorizerError::Unauthorized(reason) => reason,
            AuthorizerError::Unavailable(StoreError::Unavailable(_)) => "store_unavailable",
            AuthorizerError::Unavailable(StoreError::Internal(_)) => "store_error",
        }
    }
}

impl From<AuthorizerError> for Diagnostic {
    fn from(err: AuthorizerError) -> Self {
        let error_type = match err {
            AuthorizerError::Unauthorized(_) => "Unauthorized",
            AuthorizerError::Unavailable(_) => "AuthorizerUnavailable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// What API Gateway expects back from a REST API Lambda authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerResponse {
    pub principal_id: String,
    pub policy_document: PolicyDocument,
    pub context: AuthorizerContext,
}

/// Handed to the backend as `requestContext.authorizer.*`, so it needs no second lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerContext {
    pub user_id: String,
    pub token_id: String,
    /// What the token may do, comma-separated (context values must be strings).
    pub permissions: String,
}

pub struct Authorizer {
    store: TokenStore,
    prefixes: AcceptedPrefixes,
    permissions: PermissionConfig,
    last_use_interval: Duration,
    /// Tokens whose use (or secret reuse) this container recorded within the last-use
    /// interval; spares a conditional write that would be refused anyway.
    recent_writes: TtlMap<(TokenId, bool), ()>,
    metrics: Metrics,
}

impl Authorizer {
    pub fn new(settings: &Settings, store: TokenStore, permissions: PermissionConfig) -> Self {
        Authorizer {
            store,
            prefixes: settings.accepted_prefixes(),
            permissions,
            last_use_interval: settings.last_use_interval,
            recent_writes: TtlMap::new(settings.last_use_interval, RECENT_USES_CAPACITY),
            metrics: Metrics::Off,
        }
    }

    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Decides one authorizer event and counts it (its metric line is its log at INFO).
    pub async fn handle(
        &self,
        event: Value,
        now: DateTime<Utc>,
    ) -> Result<AuthorizerResponse, AuthorizerError> {
        let started = Instant::now();
        let mut seen: Option<HashRecord> = None;
        let result = self.decide(&event, now, &mut seen).await;
        let elapsed = started.elapsed();
        let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let user_id = seen.as_ref().map(|s| s.user_id.as_str()).unwrap_or("");
        let token_id = seen.as_ref().map(|s| s.token_id.as_str()).unwrap_or("");
        let (outcome, reason) = match &result {
            Ok(_) => ("allow", "valid_token"),
            Err(err @ AuthorizerError::Unauthorized(_)) => ("unauthorized", err.reason()),
            Err(err @ AuthorizerError::Unavailable(_)) => ("error", err.reason()),
        };
        match &result {
            Err(AuthorizerError::Unavailable(cause)) => tracing::error!(
                outcome,
                reason,
                user_id,
                token_id,
                latency_us,
                error = %cause,
                "decision"
            ),
            _ => tracing::debug!(outcome, reason, user_id, token_id, latency_us, "decision"),
        }
        // By outcome and reason, and by outcome alone: the crash alarm subtracts every
        // Unauthorized from the function's Errors (a REST authorizer's 401 is one).
        self.metrics.emit_with_rollup(
            &[("Outcome", outcome), ("Reason", reason)],
            Some(&["Outcome"]),
            &[
                ("Decisions", Unit::Count, 1.0),
                (
                    "DecisionLatency",
                    Unit::Milliseconds,
                    elapsed.as_secs_f64() * 1000.0,
                ),
            ],
            now.timestamp_millis(),
        );
        result
    }

    async fn decide(
        &self,
        event: &Value,
        now: DateTime<Utc>,
        seen: &mut Option<HashRecord>,
    ) -> Result<AuthorizerResponse, AuthorizerError> {
        let call = read_event(event).ok_or(AuthorizerError::Unauthorized("malformed_event"))?;
        let presented = call
            .authorization
            .as_deref()
            .ok_or(AuthorizerError::Unauthorized("missing_header"))
            .and_then(|header| {
                bearer_token(header).ok_or(AuthorizerError::Unauthorized("malformed_header"))
            })?;
        let secret = self
            .prefixes
            .parse(presented)
            .map_err(|e| AuthorizerError::Unauthorized(e.reason_code()))?;

        let found = self
            .store
            .authorization_lookup(&secret.hash())
            .await
            .map_err(AuthorizerError::Unavailable)?
            .ok_or(AuthorizerError::Unauthorized("unknown_token"))?;
        *seen = Some(found.clone());
        // DynamoDB's TTL deletes expired items late (up to days): check validity here.
        if now >= found.valid_until {
            if found.rotated_out {
                self.record(&found, LastUseWrite::SecretReused(now)).await;
                return Err(AuthorizerError::Unauthorized("rotated_secret_reused"));
            }
            return Err(AuthorizerError::Unauthorized("expired"));
        }
        if !found.active {
            return Err(AuthorizerError::Unauthorized("user_inactive"));
        }
        let granted = self
            .permissions
            .effective(&found.roles, found.permissions.as_ref());
        let policy_document = self
            .permissions
            .policy(&granted, &call.method_arn)
            .ok_or(AuthorizerError::Unauthorized("malformed_method_arn"))?;
        let last_use = LastUse {
            at: now,
            ip: call.source_ip,
            user_agent: call.user_agent,
        };
        self.record(&found, LastUseWrite::Used(last_use)).await;
        Ok(AuthorizerResponse {
            principal_id: found.user_id.as_str().to_owned(),
            policy_document,
            context: AuthorizerContext {
                user_id: found.user_id.as_str().to_owned(),
                token_id: found.token_id.as_str().to_owned(),
                permissions: granted.into_iter().collect::<Vec<_>>().join(","),
            },
        })
    }

    /// Records a use (or a secret's reuse) at most once per interval per token and
    /// container, waiting at most [`LAST_USE_WAIT`]. Best effort: a failure is logged
    /// and never changes the decision.
    async fn record(&self, found: &HashRecord, write: LastUseWrite) {
        let key = (
            found.token_id.clone(),
            matches!(write, LastUseWrite::SecretReused(_)),
        );
        let instant = Instant::now();
        if self.recent_writes.get(&key, instant).is_some() {
            return;
        }
        let attempt = self.store.record_token_use(
            &found.user_id,
            &found.token_id,
            &write,
            self.last_use_interval,
        );
        match tokio::time::timeout(LAST_USE_WAIT, attempt).await {
            Ok(Ok(_)) => self.recent_writes.insert(key, (), instant),
            Ok(Err(err)) => {
                tracing::warn!(token_id = %found.token_id, error = %err, "could not record token use")
            }
            Err(_) => tracing::warn!(token_id = %found.token_id, "recording token use timed out"),
        }
    }
}

/// The parts of a REQUEST or TOKEN authorizer event the decision needs.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthorizerCall {
    pub authorization: Option<String>,
    pub method_arn: String,
    /// The caller's address and user agent (REQUEST events only).
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Header names are case-insensitive; `HeaderMap` keys are lower case.
const AUTHORIZATION: &str = "authorization";
const USER_AGENT: &str = "user-agent";

/// Reads a REQUEST or TOKEN authorizer event as API Gateway sends it.
pub fn read_event(event: &Value) -> Option<AuthorizerCall> {
    match event.get("type")?.as_str()? {
        "TOKEN" => {
            let request: ApiGatewayCustomAuthorizerRequest =
                Deserialize::deserialize(event).ok()?;
            Some(AuthorizerCall {
                authorization: request.authorization_token,
                method_arn: request.method_arn?,
                source_ip: None,
                user_agent: None,
            })
        }
        "REQUEST" => {
            let request: ApiGatewayCustomAuthorizerRequestTypeRequest =
                Deserialize::deserialize(event).ok()?;
            let header = |name: &str| {
                request
                    .headers
                    .get(name)
                    .or_else(|| request.multi_value_headers.get(name))
                    // UTF-8, not only visible ASCII (`to_str`): user agents may hold more.
                    .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
                    .map(str::to_owned)
            };
            let identity = request.request_context.identity.as_ref();
            let user_agent = header(USER_AGENT).or_else(|| {
                event
                    .pointer("/requestContext/identity/userAgent")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            Some(AuthorizerCall {
                authorization: header(AUTHORIZATION),
                method_arn: request.method_arn?,
                source_ip: identity
                    .and_then(|i| i.source_ip.clone())
                    .map(|ip| ip.chars().take(64).collect()),
                user_agent: user_agent
                    .map(|agent| agent.chars().take(MAX_USER_AGENT_CHARS).collect()),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_and_request_events_are_read() {
        let token = json!({"type":"TOKEN","authorizationToken":"Bearer x","methodArn":"arn:a"});
        assert_eq!(
            read_event(&token),
            Some(AuthorizerCall {
                authorization: Some("Bearer x".into()),
                method_arn: "arn:a".into(),
                source_ip: None,
                user_agent: None,
            })
        );
        let request = json!({"type":"REQUEST","methodArn":"arn:b",
            "headers":{"AUTHORIZATION":"Bearer y","User-Agent":"curl/8.5"},
            "requestContext":{"identity":{"sourceIp":"198.51.100.7"}}});
        let call = read_event(&request).unwrap();
        assert_eq!(call.authorization.as_deref(), Some("Bearer y"));
        assert_eq!(call.source_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(call.user_agent.as_deref(), Some("curl/8.5"));
        let no_header =
            json!({"type":"REQUEST","methodArn":"arn:b","headers":{},"requestContext":{}});
        assert_eq!(read_event(&no_header).unwrap().authorization, None);
        assert_eq!(read_event(&json!({"type":"OTHER"})), None);
        assert_eq!(
            read_event(&json!({"type":"TOKEN","authorizationToken":"x"})),
            None
        );
    }

    #[test]
    fn long_user_agents_are_cut_to_256_characters() {
        let agent = "é".repeat(300);
        let request = json!({"type":"REQUEST","methodArn":"arn:b",
            "headers":{"user-agent": agent},"requestContext":{"identity":{"userAgent":"ignored"}}});
        let call = read_event(&request).unwrap();
        assert_eq!(
            call.user_agent.unwrap().chars().count(),
            MAX_USER_AGENT_CHARS
        );
        let from_identity = json!({"type":"REQUEST","methodArn":"arn:b","headers":{},
            "requestContext":{"identity":{"userAgent":"Mozilla/5.0"}}});
        assert_eq!(
            read_event(&from_identity).unwrap().user_agent.as_deref(),
            Some("Mozilla/5.0")
        );
    }

    #[test]
    fn only_unauthorized_reads_unauthorized() {
        let unauthorized: Diagnostic = AuthorizerError::Unauthorized("expired").into();
        assert_eq!(unauthorized.error_message, "Unauthorized");
        let failed: Diagnostic =
            AuthorizerError::Unavailable(StoreError::Unavailable("down".into())).into();
        assert_ne!(failed.error_message, "Unauthorized");
        assert!(!failed.error_message.contains("down"));
    }
}
