//! `POST /credentials/revoke`: anyone who finds patgate tokens exposed (a secret
//! scanner, a colleague) reports them, and each one that still authenticates is
//! revoked as its owner's revoke would, with the reason `leaked`.
//!
//! Body: `{"credentials": ["pgt_…", …]}`, 1 to 1,000 strings. No authorizer: the
//! answer is 202 whether or not any string was a live token, so the endpoint tells a
//! caller nothing it did not already know (a live token authenticates anyway).
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use patgate::api::LeakedCredentialsReport;
use patgate::service::TokenService;

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("POST", "/credentials/revoke");

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
