//! Issue 24 for API clients: `GET /tokens/self` and the expiry header ([`whoami`]),
//! `POST /tokens/self/rotate` ([`self_rotation`]), and GitLab's token revocation API
//! ([`gitlab`]). Token calls go as API Gateway sends them: the REST REQUEST
//! authorizer's decision for the route first, then the proxy event carrying its
//! context in `requestContext.authorizer`.

mod gitlab;
mod self_rotation;
mod whoami;

use authorizer::AuthorizerError;
use chrono::{DateTime, Utc};
use lambda_http::Request;
use patgate_tests::*;
use serde_json::{json, Value};

/// How API Gateway ended a token call before the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The authorizer said `Unauthorized`: 401.
    Unauthorized(&'static str),
    /// The policy does not allow the route: 403.
    Forbidden,
}

/// The event the function receives for `METHOD path` (route `resource`) called with
/// `token`, or how API Gateway refused it.
pub async fn token_event(
    app: &TestApp,
    token: &str,
    (method, resource, path): (&str, &str, &str),
    body: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Value, Refused> {
    let authorizer = app.authorizer();
    let decision = match app.authorize(&authorizer, token, method, path, now).await {
        Ok(decision) => decision,
        Err(AuthorizerError::Unauthorized(reason)) => return Err(Refused::Unauthorized(reason)),
        Err(other) => panic!("the authorizer failed: {other:?}"),
    };
    if !decision.is_allowed() {
        return Err(Refused::Forbidden);
    }
    let mut event = proxy_event(method, resource, path, body, &Caller::Anonymous);
    let mut context = json!(decision.context());
    if let Some(policy) = decision.policy() {
        context["principalId"] = json!(policy.principal_id);
    }
    context["integrationLatency"] = json!(3);
    event["requestContext"]["authorizer"] = context;
    event["headers"]["Authorization"] = json!(format!("Bearer {token}"));
    Ok(event)
}

/// Like [`token_event`], as the function's request.
pub async fn token_call(
    app: &TestApp,
    token: &str,
    route: (&str, &str, &str),
    body: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Request, Refused> {
    Ok(request(&token_event(app, token, route, body, now).await?))
}

/// The hash items and each token's current hash and secret version: what a rotation
/// changes (last-use records aside).
pub async fn secrets(app: &TestApp) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = app
        .table
        .all_items()
        .await
        .iter()
        .filter_map(|item| {
            let pk = item["pk"].as_s().ok()?;
            if pk.starts_with("HASH#") {
                Some((pk.clone(), String::new()))
            } else if item.contains_key("token_hash") {
                let hash = item["token_hash"].as_s().ok()?;
                let version = item.get("secret_version").and_then(|v| v.as_n().ok());
                Some((hash.clone(), version.cloned().unwrap_or_default()))
            } else {
                None
            }
        })
        .collect();
    found.sort();
    found
}

/// A token of `caller` with its own permission list.
pub async fn scoped(app: &TestApp, caller: &Caller, permissions: &[&str]) -> Issued {
    app.issue_with(caller, json!({ "permissions": permissions }))
        .await
}
