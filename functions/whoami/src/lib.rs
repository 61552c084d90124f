//! `GET /tokens/self`: what the calling token is — its id, name, hint and expiry, the
//! permissions it has now and whether it is limited, and its rotation state.
//!
//! Called with a token through the patgate authorizer, it answers from the
//! authorizer's context alone and reads nothing: the decision read the token's hash
//! item once (or API Gateway answered from its cache, reading nothing), so a call
//! costs at most the reads of a decision. The answer is as fresh as the decision:
//! within the authorizer cache's TTL, and revocations and role changes flush that cache.
#![forbid(unsafe_code)]

use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use patgate::api::ResponseHeaders;
use patgate::error::ApiError;
use patgate::token_context::{SelfView, TokenContext, TOKEN_EXPIRATION_HEADER};

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("GET", "/tokens/self");

pub fn handle(headers: &ResponseHeaders, request: &Request) -> Response<Body> {
    let context = TokenContext::from_request(request);
    let view = context
        .as_ref()
        .ok_or(ApiError::Unauthenticated)
        .map(SelfView::from);
    let mut response = headers.respond(StatusCode::OK, view);
    if let Some(value) = context.and_then(|c| HeaderValue::from_str(&c.expires_at).ok()) {
        response
            .headers_mut()
            .insert(TOKEN_EXPIRATION_HEADER, value);
    }
    response
}
