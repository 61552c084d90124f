//! What the authorizer answers: an IAM policy (REST APIs, and HTTP APIs in IAM mode)
//! or a simple response (HTTP APIs in simple mode), each with the context the backend
//! receives.

use patgate::permissions::PolicyDocument;
use serde::{Deserialize, Serialize};

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
/// `requestContext.authorizer.lambda.*`), so that it needs no second lookup: built in
/// one place, shared with the functions that read it back.
pub use patgate::token_context::TokenContext as AuthorizerContext;
