//! `POST /tokens`: creates a personal access token for the signed-in user.
//!
//! Body: `{"name", "description"?, "expiresOn": "YYYY-MM-DD", "timeZone"?, "permissions"?}`.
//! Answers 201 with the token's metadata and, this once, its plaintext. With an
//! `Idempotency-Key` header, a retry of the same request answers the token that key
//! created (its secret re-issued) with `Idempotent-Replayed: true`.
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use patgate::api::{
    idempotency_key, web_session_caller, CreateTokenRequest, IDEMPOTENT_REPLAYED_HEADER,
};
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
        let key = idempotency_key(&request)?;
        let body = CreateTokenRequest::from_request(&request)?;
        service
            .create_token_with_key(&caller, body, key.as_ref(), now)
            .await
    }
    .await;
    let replayed = result.as_ref().is_ok_and(|issued| issued.replayed);
    let mut response = service.headers.respond(StatusCode::CREATED, result);
    if replayed {
        let headers = response.headers_mut();
        headers.insert(IDEMPOTENT_REPLAYED_HEADER, HeaderValue::from_static("true"));
        // So that the web UI (another origin) may read it.
        if headers.contains_key("access-control-allow-origin") {
            headers.insert(
                "Access-Control-Expose-Headers",
                HeaderValue::from_static(IDEMPOTENT_REPLAYED_HEADER),
            );
        }
    }
    response
}
