//! `GET /tokens`: the caller's live tokens, newest first, without secrets or hashes.

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use patgate::api::{caller, TokenList};
use patgate::error::ApiError;
use patgate::service::TokenService;

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("GET", "/tokens");

pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    match list(service, &request, now).await {
        Ok(list) => service.headers.json(200, &list),
        Err(err) => service.headers.error(err),
    }
}

async fn list(
    service: &TokenService,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<TokenList, ApiError> {
    let user_id = caller(request)?;
    let records = service.store.list_tokens(&user_id).await?;
    Ok(TokenList::live(&records, now))
}
