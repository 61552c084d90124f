//! Leaked-token reports, two routes of one function:
//! - `POST /credentials/revoke`: anyone who finds patgate tokens exposed (a secret
//!   scanner, a colleague) reports them, and each one that still authenticates is
//!   revoked as its owner's revoke would, with the reason `leaked`. Body:
//!   `{"credentials": ["pgt_…", …]}`, 1 to 1,000 strings. No authorizer: the answer is
//!   202 whether or not any string was a live token, so the endpoint tells a caller
//!   nothing it did not already know (a live token authenticates anyway).
//! - `POST /integrations/github/secret-scanning`: GitHub's signed secret scanning
//!   alerts, revoked the same way; see [`patgate::github`] for the checks and why the
//!   answer is no oracle.
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use patgate::api::{body_bytes, LeakedCredentialsReport};
use patgate::error::ApiError;
use patgate::github::keys::GitHubKeys;
use patgate::github::{self, KEY_ID_HEADER, SIGNATURE_HEADER};
use patgate::service::TokenService;

/// The API Gateway routes this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("POST", "/credentials/revoke");
pub const GITHUB_ROUTE: (&str, &str) = ("POST", "/integrations/github/secret-scanning");

/// What the function keeps across invocations: the token service and GitHub's keys.
pub struct LeakReports {
    pub service: TokenService,
    pub github_keys: GitHubKeys,
}

impl LeakReports {
    pub fn new(service: TokenService) -> Self {
        let github_keys = GitHubKeys::new(
            service.settings.github_keys_url.clone(),
            github::keys::KEY_REFETCH_INTERVAL,
        );
        LeakReports {
            service,
            github_keys,
        }
    }

    /// Serves either route, by the route template API Gateway matched.
    pub async fn handle(&self, request: Request, now: DateTime<Utc>) -> Response<Body> {
        dispatch(&self.service, &self.github_keys, request, now).await
    }
}

/// Either route, by the route template API Gateway matched (the request context's
/// `resourcePath`); another route is 404.
pub async fn dispatch(
    service: &TokenService,
    github_keys: &GitHubKeys,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let resource = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.clone(),
        _ => None,
    };
    match resource.as_deref() {
        Some(path) if path == GITHUB_ROUTE.1 => {
            handle_github(service, github_keys, request, now).await
        }
        Some(path) if path == ROUTE.1 => handle(service, request, now).await,
        _ => service
            .headers
            .respond_empty(StatusCode::NOT_FOUND, Err(ApiError::NotFound)),
    }
}

/// `POST /credentials/revoke`.
pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let result = async {
        let report = LeakedCredentialsReport::from_request(&request)?;
        let reported = report.credentials.len();
        let revoked = service.revoke_leaked(report, now).await?;
        tracing::info!(reported, revoked, "leaked credentials report");
        Ok(())
    };
    service
        .headers
        .respond_empty(StatusCode::ACCEPTED, result.await)
}

/// `POST /integrations/github/secret-scanning`: 200 with one label per match.
pub async fn handle_github(
    service: &TokenService,
    keys: &GitHubKeys,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    let result = github::receive_alert(
        service,
        keys,
        header(KEY_ID_HEADER),
        header(SIGNATURE_HEADER),
        body_bytes(&request),
        now,
    )
    .await;
    service.headers.respond(StatusCode::OK, result)
}
