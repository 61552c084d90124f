//! `DELETE /tokens/{id}`: revokes one of the caller's tokens.
//!
//! 204 when the token is (now or already) revoked. An unknown id and another user's
//! id both answer the same 404, so ids of other users' tokens cannot be probed.

use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, RequestExt, Response};
use patgate::api::caller;
use patgate::error::ApiError;
use patgate::service::TokenService;
use patgate::store::RevokeOutcome;
use patgate::token::TokenId;

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("DELETE", "/tokens/{id}");

/// The path parameter of [`ROUTE`] that holds the token id.
const ID_PARAMETER: &str = "id";

pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    match revoke(service, &request, now).await {
        Ok(()) => service.headers.empty(204),
        Err(err) => service.headers.error(err),
    }
}

async fn revoke(
    service: &TokenService,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let user_id = caller(request)?;
    let id = request
        .path_parameters_ref()
        .and_then(|params| params.first(ID_PARAMETER))
        .and_then(TokenId::parse)
        .ok_or(ApiError::NotFound)?;
    match service.store.revoke_token(&user_id, &id, now).await? {
        RevokeOutcome::Revoked => {
            tracing::info!(user_id = %user_id, token_id = %id, "token revoked");
            Ok(())
        }
        RevokeOutcome::AlreadyRevoked => Ok(()),
        RevokeOutcome::NotFound => Err(ApiError::NotFound),
    }
}
