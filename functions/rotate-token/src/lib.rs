//! `POST /tokens/{id}/rotate`: a new secret for one of the signed-in user's tokens.
//! `POST /tokens/self/rotate`: the same, for the calling token itself, authenticated
//! by it through the patgate authorizer (see [`patgate::self_rotation`]).
//!
//! Body (all optional): `{"expiresOn", "timeZone", "graceSeconds"}`. The token keeps
//! its id, name and description; the replaced secret keeps working for
//! `graceSeconds` (default 0). Answers 201 with the new plaintext, shown this once;
//! 409 when a concurrent rotation won, 404 for a token that is not the caller's live one.
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use patgate::api::{token_id_parameter, web_session_caller, RotateTokenRequest};
use patgate::error::ApiError;
use patgate::service::TokenService;
use patgate::token_context::TokenContext;

/// The API Gateway routes this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("POST", "/tokens/{id}/rotate");
pub const SELF_ROUTE: (&str, &str) = ("POST", "/tokens/self/rotate");

pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let resource = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.clone(),
        _ => None,
    };
    if resource.as_deref() == Some(SELF_ROUTE.1) {
        return handle_self(service, request, now).await;
    }
    let result = async {
        let caller = web_session_caller(&request)?;
        let id = token_id_parameter(&request)?;
        let body = RotateTokenRequest::from_request(&request)?;
        service.rotate_token(&caller, &id, body, now).await
    };
    service.headers.respond(StatusCode::CREATED, result.await)
}

/// `POST /tokens/self/rotate`, by the route API Gateway matched.
pub async fn handle_self(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let result = async {
        let caller = TokenContext::from_request(&request).ok_or(ApiError::Unauthenticated)?;
        let body = RotateTokenRequest::from_request(&request)?;
        service.rotate_self(&caller, body, now).await
    };
    service.headers.respond(StatusCode::CREATED, result.await)
}
