//! The Lambda functions the template names (by `BuildProperties.Binary`), called
//! in-process with the same inputs their `main.rs` hands them in the cloud.

use authorizer::{AuthorizerResponse, Diagnostic};
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use patgate::directory::Directory;
use patgate::github::keys::{GitHubKeys, KEY_REFETCH_INTERVAL};
use patgate::service::TokenService;

use crate::lifecycle::Lifecycle;
use serde_json::Value;
use std::sync::Arc;

/// The error message for which API Gateway answers 401 instead of 500.
const UNAUTHORIZED: &str = "Unauthorized";

/// A function that answers API requests (a Lambda proxy integration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFunction {
    CreateToken,
    ListTokens,
    RevokeToken,
    RotateToken,
    RevokeCredentials,
    DemoEcho,
    Admin,
    Scim,
}

impl ApiFunction {
    /// The function for a template binary name; `None` for one this crate cannot run.
    pub fn from_binary(binary: &str) -> Option<Self> {
        Some(match binary {
            "create-token" => ApiFunction::CreateToken,
            "list-tokens" => ApiFunction::ListTokens,
            "revoke-token" => ApiFunction::RevokeToken,
            "rotate-token" => ApiFunction::RotateToken,
            "revoke-credentials" => ApiFunction::RevokeCredentials,
            "demo-echo" => ApiFunction::DemoEcho,
            "admin" => ApiFunction::Admin,
            "scim" => ApiFunction::Scim,
            _ => return None,
        })
    }
}

/// Binary names of Lambda authorizers this crate can run.
pub const AUTHORIZER_BINARY: &str = "authorizer";

/// Everything the functions build at cold start, built once.
pub struct Functions {
    pub service: TokenService,
    /// The admin API's and SCIM's use cases (over the same token service).
    pub directory: Directory,
    /// GitHub's secret scanning keys, for the leak-report function's second route.
    pub github_keys: GitHubKeys,
    pub authorizer: authorizer::Authorizer,
    /// The events function and the reminder job.
    pub lifecycle: Arc<Lifecycle>,
}

impl Functions {
    /// The functions over `service`, with GitHub's keys from its settings.
    pub fn new(
        service: TokenService,
        directory: Directory,
        authorizer: authorizer::Authorizer,
        lifecycle: Arc<Lifecycle>,
    ) -> Self {
        let github_keys = GitHubKeys::new(
            service.settings.github_keys_url.clone(),
            KEY_REFETCH_INTERVAL,
        );
        Functions {
            service,
            directory,
            github_keys,
            authorizer,
            lifecycle,
        }
    }

    pub async fn call(
        &self,
        function: ApiFunction,
        request: Request,
        now: DateTime<Utc>,
    ) -> Response<Body> {
        match function {
            ApiFunction::CreateToken => create_token::handle(&self.service, request, now).await,
            ApiFunction::ListTokens => list_tokens::handle(&self.service, request, now).await,
            ApiFunction::RevokeToken => revoke_token::handle(&self.service, request, now).await,
            ApiFunction::RotateToken => rotate_token::handle(&self.service, request, now).await,
            ApiFunction::RevokeCredentials => {
                revoke_credentials::dispatch(&self.service, &self.github_keys, request, now).await
            }
            ApiFunction::DemoEcho => demo_echo::handle(&request),
            ApiFunction::Admin => admin::handle(&self.directory, request, now).await,
            ApiFunction::Scim => scim::handle(&self.directory, request, now).await,
        }
    }

    /// Runs the Lambda authorizer on `event`. An error is read as the Lambda runtime
    /// reports it (its [`Diagnostic`]): `Unauthorized` when its message is exactly that.
    pub async fn authorize(
        &self,
        event: Value,
        now: DateTime<Utc>,
    ) -> Result<AuthorizerResponse, AuthorizerFailure> {
        self.authorizer
            .handle(event, now)
            .await
            .map_err(|err| AuthorizerFailure::from(Diagnostic::from(err)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerFailure {
    /// The function failed with the message `Unauthorized`: API Gateway answers 401.
    Unauthorized,
    /// Any other failure: API Gateway answers 500.
    Error,
}

impl From<Diagnostic> for AuthorizerFailure {
    fn from(diagnostic: Diagnostic) -> Self {
        if diagnostic.error_message == UNAUTHORIZED {
            AuthorizerFailure::Unauthorized
        } else {
            AuthorizerFailure::Error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use authorizer::AuthorizerError;
    use patgate::store::StoreError;

    #[test]
    fn only_the_unauthorized_message_is_a_401() {
        let unauthorized = Diagnostic::from(AuthorizerError::Unauthorized("expired"));
        assert_eq!(
            AuthorizerFailure::from(unauthorized),
            AuthorizerFailure::Unauthorized
        );
        let failed = Diagnostic::from(AuthorizerError::Unavailable(StoreError::Unavailable(
            "down".into(),
        )));
        assert_eq!(AuthorizerFailure::from(failed), AuthorizerFailure::Error);
    }
}
