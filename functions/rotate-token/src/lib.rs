//! `POST /tokens/{id}/rotate`: a new secret for one of the signed-in user's tokens.
//!
//! Body (all optional): `{"expiresOn", "timeZone", "graceSeconds"}`. The token keeps
//! its id, name and description; the replaced secret keeps working for
//! `graceSeconds` (default 0). Answers 201 with the new plaintext, shown this once;
//! 409 when a concurrent rotation won, 404 for a token that is not the caller's live one.
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use patgate::api::{token_id_parameter, web_session_caller, RotateTokenRequest};
use patgate::service::TokenService;

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("POST", "/tokens/{id}/rotate");

pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let result = async {
        let caller = web_session_caller(&request)?;
        let id = token_id_parameter(&request)?;
        let body = RotateTokenRequest::from_request(&request)?;
        service.rotate_token(&caller, &id, body, now).await
    };
    service.headers.respond(StatusCode::CREATED, result.await)
}
