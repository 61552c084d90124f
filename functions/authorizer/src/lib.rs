//! The patgate Lambda authorizer, for REST APIs and HTTP APIs.
//!
//! Input: a REST API REQUEST event (`Authorization` header, the route template
//! `httpMethod` + `resource`, the stage variable `patgateApi`, the caller's source IP
//! and user agent), an HTTP API REQUEST event of payload format 2.0 (the same, with
//! the route key), or a TOKEN event (`authorizationToken` and the called method ARN
//! only; for an authorizer without cache). The header must read `Bearer <token>`
//! (scheme in any case, surrounding whitespace tolerated).
//!
//! Outcomes:
//! - anything malformed or with a bad checksum: the error `Unauthorized` (API Gateway
//!   answers 401) by parsing alone, before any DynamoDB call;
//! - a well-formed token: one consistent GetItem reads its hash item, which carries
//!   the token's validity, name, hint, expiry and permission list and its owner's
//!   current roles and active flag. An unknown, revoked or expired token, a
//!   rotated-out secret past its grace, a deactivated user: `Unauthorized`;
//! - a valid token: the call's route is looked up exactly in the route table its API
//!   names (`crate::decide`); an answer for that one route: Allow when the token's
//!   permissions (the user's now, narrowed to the token's own list) include the
//!   route's, Deny (403) otherwise, and Deny for an unknown API or an unlisted route.
//!   The identity sources include the route, so API Gateway caches one answer per
//!   token and route. The context carries the token's facts (see [`AuthorizerContext`]);
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
pub mod event;
pub mod response;
pub mod verdict;

pub use event::{read_event, AuthorizerCall, CalledRoute, MAX_USER_AGENT_CHARS};
pub use lambda_runtime::Diagnostic;
pub use response::{AuthorizerContext, AuthorizerResponse, PolicyResponse, SimpleResponse};

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use patgate::config::Settings;
use patgate::metrics::{Metrics, Unit};
use patgate::permissions::PermissionConfig;
use patgate::store::{HashRecord, LastUse, LastUseWrite, StoreError, TokenStore};
use patgate::token::{bearer_token, AcceptedPrefixes, TokenId};
use serde_json::Value;

use cache::TtlMap;
use verdict::{verdict, Verdict};

/// The longest a decision waits for its (throttled, best-effort) last-use write.
/// Normal writes take milliseconds; a slower store loses the record, not the call.
pub const LAST_USE_WAIT: Duration = Duration::from_millis(250);

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
        let (outcome, reason) = match &result {
            Ok(verdict) if verdict.response.is_allowed() => ("allow", verdict.reason),
            Ok(verdict) => ("deny", verdict.reason),
            Err(err @ AuthorizerError::Unauthorized(_)) => ("unauthorized", err.reason()),
            Err(err @ AuthorizerError::Unavailable(_)) => ("error", err.reason()),
        };
        let result = result.map(|verdict| verdict.response);
        let elapsed = started.elapsed();
        let latency_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let user_id = seen.as_ref().map(|s| s.user_id.as_str()).unwrap_or("");
        let token_id = seen.as_ref().map(|s| s.token_id.as_str()).unwrap_or("");
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
    ) -> Result<Verdict, AuthorizerError> {
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
        let context = AuthorizerContext::new(&found, &granted);
        let answer = verdict(
            &self.permissions,
            &call.route,
            found.user_id.as_str(),
            &granted,
            context,
        );
        // A method or route ARN that cannot be read names no call to answer for (as
        // before routes keyed the answers): refused, and no use is recorded.
        if answer.reason == verdict::MALFORMED_ARN {
            return Err(AuthorizerError::Unauthorized("malformed_method_arn"));
        }
        let last_use = LastUse {
            at: now,
            ip: call.source_ip,
            user_agent: call.user_agent,
        };
        self.record(&found, LastUseWrite::Used(last_use)).await;
        Ok(answer)
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

#[cfg(test)]
mod tests {
    use super::*;

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
