//! The patgate Lambda authorizer for API Gateway REST APIs.
//!
//! Input: a TOKEN event (`authorizationToken`) or a REQUEST event (`Authorization`
//! header), each with the `methodArn` of the call. The header must read
//! `Bearer <token>` (scheme in any case, surrounding whitespace tolerated).
//!
//! Outcomes:
//! - anything malformed, an unknown, revoked or expired token, or a missing or
//!   deactivated user: the error `Unauthorized` (API Gateway answers 401). Malformed
//!   and forged tokens are refused by parsing alone, before any DynamoDB call;
//! - a valid token: an IAM policy for principal = user id that allows the routes the
//!   user's permissions grant now and denies the other configured routes (403), for
//!   every route of the API since API Gateway caches it per token; context carries
//!   `userId`, `tokenId` and `permissions` (comma-separated);
//! - DynamoDB unavailable or failing: an error that is not `Unauthorized`, which API
//!   Gateway turns into a 500. Never an Allow.
//!
//! Every decision is logged as one structured line (outcome, reason, user id, token
//! id, latency); never the token or its hash.

pub mod cache;

pub use lambda_runtime::Diagnostic;

use std::collections::BTreeSet;
use std::time::Instant;

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
};
use chrono::{DateTime, Utc};
use patgate::config::Settings;
use patgate::permissions::{PermissionConfig, PolicyDocument};
use patgate::store::{HashRecord, StoreError, TokenStore};
use patgate::token::{TokenId, TokenPrefix, TokenSecret};
use patgate::user::{User, UserId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use cache::TtlMap;

/// The longest a decision waits for its last-use write (which is best effort).
const LAST_USE_WAIT: std::time::Duration = std::time::Duration::from_millis(50);

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
    /// The caller's permissions, comma-separated (context values must be strings).
    pub permissions: String,
}

pub struct Authorizer {
    store: TokenStore,
    prefix: TokenPrefix,
    permissions: PermissionConfig,
    last_use_interval: std::time::Duration,
    /// User records read within the last `USER_CACHE_TTL_SECONDS` (seconds, so role
    /// changes and deactivations apply almost at once).
    users: TtlMap<UserId, Option<User>>,
    /// Tokens whose use this container recorded within the last-use interval; spares
    /// a conditional write that would be refused anyway.
    recent_uses: TtlMap<TokenId, ()>,
}

impl Authorizer {
    pub fn new(settings: &Settings, store: TokenStore, permissions: PermissionConfig) -> Self {
        Authorizer {
            store,
            prefix: settings.token_prefix.clone(),
            permissions,
            last_use_interval: settings.last_use_interval,
            users: TtlMap::new(settings.user_cache_ttl, settings.user_cache_capacity),
            recent_uses: TtlMap::new(settings.last_use_interval, settings.user_cache_capacity),
        }
    }

    /// Decides one authorizer event and logs the decision.
    pub async fn handle(
        &self,
        event: Value,
        now: DateTime<Utc>,
    ) -> Result<AuthorizerResponse, AuthorizerError> {
        let started = Instant::now();
        let mut seen: Option<HashRecord> = None;
        let result = self.decide(&event, now, &mut seen).await;
        let latency_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let user_id = seen.as_ref().map(|s| s.user_id.as_str()).unwrap_or("");
        let token_id = seen.as_ref().map(|s| s.token_id.as_str()).unwrap_or("");
        match &result {
            Ok(_) => tracing::info!(
                outcome = "allow",
                reason = "valid_token",
                user_id,
                token_id,
                latency_us,
                "decision"
            ),
            Err(err @ AuthorizerError::Unauthorized(_)) => {
                tracing::info!(
                    outcome = "unauthorized",
                    reason = err.reason(),
                    user_id,
                    token_id,
                    latency_us,
                    "decision"
                )
            }
            Err(err @ AuthorizerError::Unavailable(cause)) => tracing::error!(
                outcome = "error",
                reason = err.reason(),
                user_id,
                token_id,
                latency_us,
                error = %cause,
                "decision"
            ),
        }
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
        let secret = TokenSecret::parse(&self.prefix, presented)
            .map_err(|e| AuthorizerError::Unauthorized(e.reason_code()))?;

        let found = self
            .store
            .find_by_hash(&secret.hash())
            .await
            .map_err(AuthorizerError::Unavailable)?
            .ok_or(AuthorizerError::Unauthorized("unknown_token"))?;
        *seen = Some(found.clone());
        // DynamoDB's TTL deletes expired items late (up to days): check expiry here.
        if now >= found.expires_at {
            return Err(AuthorizerError::Unauthorized("expired"));
        }

        // Recording the use runs alongside the user read, never after it; when the user
        // record is cached there is no read to hide behind, so its wait is bounded.
        let (user, _) = tokio::join!(
            self.user(&found.user_id),
            tokio::time::timeout(LAST_USE_WAIT, self.note_use(&found, now))
        );
        let user = user
            .map_err(AuthorizerError::Unavailable)?
            .ok_or(AuthorizerError::Unauthorized("unknown_user"))?;
        if !user.active {
            return Err(AuthorizerError::Unauthorized("user_inactive"));
        }
        let granted: BTreeSet<String> = self.permissions.permissions_of(&user.roles);
        let policy_document = self
            .permissions
            .policy(&granted, &call.method_arn)
            .ok_or(AuthorizerError::Unauthorized("malformed_method_arn"))?;
        Ok(AuthorizerResponse {
            principal_id: user.id.as_str().to_owned(),
            policy_document,
            context: AuthorizerContext {
                user_id: user.id.as_str().to_owned(),
                token_id: found.token_id.as_str().to_owned(),
                permissions: granted.into_iter().collect::<Vec<_>>().join(","),
            },
        })
    }

    async fn user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        let now = Instant::now();
        if let Some(cached) = self.users.get(id, now) {
            return Ok(cached);
        }
        let user = self.store.get_user(id).await?;
        self.users.insert(id.clone(), user.clone(), now);
        Ok(user)
    }

    /// Last use is best effort: a failure is logged and never changes the decision.
    async fn note_use(&self, found: &HashRecord, now: DateTime<Utc>) {
        let instant = Instant::now();
        if self.recent_uses.get(&found.token_id, instant).is_some() {
            return;
        }
        match self
            .store
            .record_last_use(&found.user_id, &found.token_id, now, self.last_use_interval)
            .await
        {
            Ok(_) => self.recent_uses.insert(found.token_id.clone(), (), instant),
            Err(err) => {
                tracing::warn!(token_id = %found.token_id, error = %err, "could not record last use")
            }
        }
    }
}

/// The parts of a TOKEN or REQUEST authorizer event the decision needs.
#[derive(Debug, PartialEq, Eq)]
pub struct AuthorizerCall {
    pub authorization: Option<String>,
    pub method_arn: String,
}

/// Header names are case-insensitive; `HeaderMap` keys are lower case.
const AUTHORIZATION: &str = "authorization";

/// Reads a TOKEN or REQUEST authorizer event as API Gateway sends it.
pub fn read_event(event: &Value) -> Option<AuthorizerCall> {
    match event.get("type")?.as_str()? {
        "TOKEN" => {
            let request: ApiGatewayCustomAuthorizerRequest =
                Deserialize::deserialize(event).ok()?;
            Some(AuthorizerCall {
                authorization: request.authorization_token,
                method_arn: request.method_arn?,
            })
        }
        "REQUEST" => {
            let request: ApiGatewayCustomAuthorizerRequestTypeRequest =
                Deserialize::deserialize(event).ok()?;
            let header = request
                .headers
                .get(AUTHORIZATION)
                .or_else(|| request.multi_value_headers.get(AUTHORIZATION))
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            Some(AuthorizerCall {
                authorization: header,
                method_arn: request.method_arn?,
            })
        }
        _ => None,
    }
}

/// The token in `Bearer <token>`: the scheme in any case, whitespace around tolerated,
/// exactly one token after it.
pub fn bearer_token(header: &str) -> Option<&str> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(|c: char| c.is_ascii_whitespace())?;
    let token = rest.trim();
    let ok = scheme.eq_ignore_ascii_case("bearer")
        && !token.is_empty()
        && !token.contains(|c: char| c.is_whitespace());
    ok.then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_whitespace_tolerant() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER   abc  "), Some("abc"));
        assert_eq!(bearer_token("  Bearer\tabc"), Some("abc"));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearerabc",
            "Bearer a b",
            "abc",
            "Token abc",
        ] {
            assert_eq!(bearer_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn token_and_request_events_are_read() {
        let token = json!({"type":"TOKEN","authorizationToken":"Bearer x","methodArn":"arn:a"});
        assert_eq!(
            read_event(&token),
            Some(AuthorizerCall {
                authorization: Some("Bearer x".into()),
                method_arn: "arn:a".into()
            })
        );
        let request = json!({"type":"REQUEST","methodArn":"arn:b","headers":{"AUTHORIZATION":"Bearer y"},"requestContext":{}});
        assert_eq!(
            read_event(&request).unwrap().authorization.as_deref(),
            Some("Bearer y")
        );
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
    fn only_unauthorized_reads_unauthorized() {
        let unauthorized: Diagnostic = AuthorizerError::Unauthorized("expired").into();
        assert_eq!(unauthorized.error_message, "Unauthorized");
        let failed: Diagnostic =
            AuthorizerError::Unavailable(StoreError::Unavailable("down".into())).into();
        assert_ne!(failed.error_message, "Unauthorized");
        assert!(!failed.error_message.contains("down"));
    }
}
