//! `POST /tokens`: creates a personal access token for the signed-in user.
//!
//! Body: `{"name", "description"?, "expiresOn": "YYYY-MM-DD", "timeZone"?, "permissions"?}`.
//! Answers 201 with the token's metadata and, this once, its plaintext.
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use patgate::api::{web_session_caller, CreateTokenRequest};
use patgate::service::TokenService;

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("POST", "/tokens");

pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let result = async {
        let caller = web_session_caller(&request)?;
        let body = CreateTokenRequest::from_request(&request)?;
        service.create_token(&caller, body, now).await
    };
    service.headers.respond(StatusCode::CREATED, result.await)
}
