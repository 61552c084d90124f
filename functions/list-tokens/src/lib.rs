//! `GET /tokens`: a page of the signed-in user's tokens, newest first, without
//! secrets or hashes (`?status=revoked` for recently revoked ones).
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use patgate::api::{web_session_caller, ListQuery};
use patgate::service::TokenService;

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("GET", "/tokens");

pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    let result = async {
        let caller = web_session_caller(&request)?;
        let query = ListQuery::from_request(&request)?;
        service.list_tokens(&caller, query, now).await
    };
    service.headers.respond(StatusCode::OK, result.await)
}
