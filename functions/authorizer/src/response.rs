//! What the authorizer answers: an IAM policy (REST APIs, and HTTP APIs in IAM mode)
//! or a simple response (HTTP APIs in simple mode), each with the context the backend
//! receives.

use chrono::{DateTime, SecondsFormat, Utc};
use patgate::permissions::PolicyDocument;
use patgate::store::HashRecord;
use serde::{Deserialize, Serialize};

use std::collections::BTreeSet;

/// An answer API Gateway reads: its JSON is the authorizer's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AuthorizerResponse {
    Policy(PolicyResponse),
    Simple(SimpleResponse),
}

/// `{"principalId", "policyDocument", "context"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyResponse {
    pub principal_id: String,
    pub policy_document: PolicyDocument,
    pub context: AuthorizerContext,
}

/// `{"isAuthorized", "context"}` (HTTP APIs with simple responses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleResponse {
    pub is_authorized: bool,
    pub context: AuthorizerContext,
}

impl AuthorizerResponse {
    pub fn context(&self) -> &AuthorizerContext {
        match self {
            AuthorizerResponse::Policy(policy) => &policy.context,
            AuthorizerResponse::Simple(simple) => &simple.context,
        }
    }

    /// The policy answer (REST APIs, TOKEN events, HTTP APIs in IAM mode).
    pub fn policy(&self) -> Option<&PolicyResponse> {
        match self {
            AuthorizerResponse::Policy(policy) => Some(policy),
            AuthorizerResponse::Simple(_) => None,
        }
    }

    /// Whether the answer lets the call through: a simple response's flag, or a
    /// policy whose one statement allows.
    pub fn is_allowed(&self) -> bool {
        match self {
            AuthorizerResponse::Simple(simple) => simple.is_authorized,
            AuthorizerResponse::Policy(policy) => {
                let statements = &policy.policy_document.statement;
                !statements.is_empty()
                    && statements
                        .iter()
                        .all(|s| s.effect == patgate::permissions::Effect::Allow)
            }
        }
    }
}

/// Handed to the backend (REST `requestContext.authorizer.*`, HTTP API
/// `requestContext.authorizer.lambda.*`), so that it needs no second lookup. Every
/// value is a string, as API Gateway requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizerContext {
    pub user_id: String,
    pub token_id: String,
    /// What the token may do, comma-separated.
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
    /// `current`, or `grace` for a secret replaced by a rotation, within its grace.
    pub secret_state: String,
}

impl AuthorizerContext {
    pub fn new(found: &HashRecord, granted: &BTreeSet<String>) -> Self {
        let time = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
        AuthorizerContext {
            user_id: found.user_id.as_str().to_owned(),
            token_id: found.token_id.as_str().to_owned(),
            permissions: granted.iter().cloned().collect::<Vec<_>>().join(","),
            expires_at: time(found.expires_at),
            token_name: found.name.clone(),
            hint: found.hint.clone(),
            limited: found.permissions.is_some().to_string(),
            secret_version: found.secret_version.to_string(),
            owner_kind: found.owner_kind.as_str().to_owned(),
            secret_state: if found.rotated_out {
                "grace"
            } else {
                "current"
            }
            .to_owned(),
        }
    }
}
