//! `DELETE /tokens/{id}`: revokes one of the signed-in user's tokens.
//!
//! 204 when the token is (now or already) revoked. An unknown id and another user's
//! id both answer the same 404, so ids of other users' tokens cannot be probed.
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use patgate::api::{token_id_parameter, web_session_caller};
use patgate::service::TokenService;

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("DELETE", "/tokens/{id}");

pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let result = async {
        let caller = web_session_caller(&request)?;
        let id = token_id_parameter(&request)?;
        service.revoke_token(&caller, &id, now).await
    };
    service
        .headers
        .respond_empty(StatusCode::NO_CONTENT, result.await)
}
