//! `POST /tokens`: creates a personal access token for the caller.
//!
//! Body: `{"name", "description"?, "expiresOn": "YYYY-MM-DD", "timeZone"?}`. The token
//! expires at the end of `expiresOn` in `timeZone` (else the zone on the user's record,
//! else UTC). Answers 201 with the token's metadata and, this once, its plaintext.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use lambda_http::{Body, Request, Response};
use patgate::api::{caller, json_object, CreateTokenRequest, CreatedToken, TokenView};
use patgate::error::ApiError;
use patgate::expiry;
use patgate::service::TokenService;
use patgate::store::TokenRecord;
use patgate::token::{TokenId, TokenSecret};

/// The API Gateway route this function serves (template.yaml must say the same).
pub const ROUTE: (&str, &str) = ("POST", "/tokens");

pub async fn handle(
    service: &TokenService,
    request: Request,
    now: DateTime<Utc>,
) -> Response<Body> {
    match create(service, &request, now).await {
        Ok(created) => service.headers.json(201, &created),
        Err(err) => service.headers.error(err),
    }
}

async fn create(
    service: &TokenService,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<CreatedToken, ApiError> {
    let user_id = caller(request)?;
    let body = CreateTokenRequest::from_json(&json_object(request)?)?;
    let max_days = service.settings.max_token_lifetime_days;
    let resolve = |zone| {
        expiry::resolve(body.expires_on, zone, now, max_days)
            .map_err(|err| ApiError::invalid("expiresOn", err.to_string()))
    };
    // With the zone in the body, a bad date is refused before any DynamoDB call.
    let early = body.time_zone.map(resolve).transpose()?;
    let stored_user = match service.store.get_user_for_create(&user_id).await? {
        Some(stored) if stored.user.active => stored,
        _ => return Err(ApiError::AccountInactive),
    };
    let expiry = match early {
        Some(expiry) => expiry,
        None => resolve(stored_user.user.time_zone.unwrap_or(Tz::UTC))?,
    };

    let secret =
        TokenSecret::generate(&service.settings.token_prefix).map_err(|_| ApiError::Internal)?;
    let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
    let id = TokenId::generate(millis).map_err(|_| ApiError::Internal)?;
    let record = TokenRecord {
        id,
        user_id,
        name: body.name,
        description: body.description,
        hash: secret.hash(),
        hint: secret.hint(),
        created_at: now,
        expires_on: expiry.expires_on,
        time_zone: expiry.time_zone,
        expires_at: expiry.expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let limit = service.settings.max_tokens_per_user;
    service
        .store
        .create_token(&record, limit, Some(stored_user))
        .await?;
    tracing::info!(user_id = %record.user_id, token_id = %record.id, expires_at = %record.expires_at, "token created");
    Ok(CreatedToken {
        token: TokenView::from(&record),
        secret: secret.expose().to_owned(),
    })
}
