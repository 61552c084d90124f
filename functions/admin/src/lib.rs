//! The admin API, one function for two route families:
//! - `/admin/*`: the product's backend, authorized by IAM (`AWS_IAM`, SigV4); the
//!   caller is the signing principal's ARN;
//! - `/org/*`: administrators in the web UI, a web session whose roles grant
//!   `patgate:admin` now (403 `forbidden` otherwise).
//!
//! Both call the same use cases ([`patgate::directory::Directory`]); which route was
//! called is the request's resource template (`requestContext.resourcePath`).
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use patgate::api::admin::{
    iam_caller, path_parameter, put_user_request, revoke_note, service_account_request,
    InventoryQuery, PrincipalTokens, ServiceAccountPage, ServiceAccountView, UserView,
};
use patgate::api::{web_session_caller, CreateTokenRequest, ListQuery, TokenStatus};
use patgate::directory::Directory;
use patgate::error::ApiError;
use patgate::store::IntegrationKind;
use patgate::token::TokenId;
use patgate::user::UserId;
use serde_json::Value;

/// Every route this function serves (template.yaml must say the same).
pub const ROUTES: &[(&str, &str)] = &[
    ("PUT", "/admin/users/{userId}"),
    ("GET", "/admin/users/{userId}"),
    ("GET", "/admin/users/{userId}/tokens"),
    ("DELETE", "/admin/users/{userId}/tokens/{tokenId}"),
    ("POST", "/admin/users/{userId}/tokens/revoke-all"),
    ("GET", "/admin/tokens"),
    ("GET", "/admin/tokens/summary"),
    ("GET", "/admin/service-accounts"),
    ("POST", "/admin/service-accounts"),
    ("GET", "/admin/service-accounts/{id}"),
    ("PUT", "/admin/service-accounts/{id}"),
    ("POST", "/admin/service-accounts/{id}/tokens"),
    ("POST", "/admin/integrations/{kind}/credential"),
    ("GET", "/org/tokens"),
    ("GET", "/org/tokens/summary"),
    ("POST", "/org/tokens/{ownerId}/{tokenId}/revoke"),
    ("GET", "/org/service-accounts"),
    ("POST", "/org/service-accounts"),
    ("GET", "/org/service-accounts/{id}"),
    ("PUT", "/org/service-accounts/{id}"),
    ("POST", "/org/service-accounts/{id}/tokens"),
];

/// What an answer is: a JSON value with its status, or no body.
enum Answer {
    Json(StatusCode, Value),
    Empty(StatusCode),
}

fn json<T: serde::Serialize>(status: StatusCode, value: T) -> Result<Answer, ApiError> {
    serde_json::to_value(value)
        .map(|v| Answer::Json(status, v))
        .map_err(|_| ApiError::Internal)
}

pub async fn handle(directory: &Directory, request: Request, now: DateTime<Utc>) -> Response<Body> {
    let headers = &directory.tokens.headers;
    match route(directory, &request, now).await {
        Ok(Answer::Json(status, value)) => headers.respond(status, Ok(value)),
        Ok(Answer::Empty(status)) => headers.respond_empty(status, Ok(())),
        Err(err) => headers.respond::<()>(StatusCode::OK, Err(err)),
    }
}

fn resource(request: &Request) -> Option<String> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.resource_path.clone(),
        _ => None,
    }
}

fn principal_id(request: &Request, name: &str) -> Result<UserId, ApiError> {
    path_parameter(request, name)
        .and_then(UserId::parse)
        .ok_or(ApiError::NoSuch("user"))
}

fn token_id(request: &Request) -> Result<TokenId, ApiError> {
    path_parameter(request, "tokenId")
        .and_then(TokenId::parse)
        .ok_or(ApiError::NotFound)
}

fn account_id(request: &Request) -> Result<UserId, ApiError> {
    path_parameter(request, "id")
        .and_then(UserId::parse)
        .filter(UserId::is_service_account)
        .ok_or(ApiError::NoSuch("service account"))
}

async fn route(
    directory: &Directory,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    let resource = resource(request).ok_or(ApiError::Unauthenticated)?;
    let method = request.method().as_str().to_owned();
    // Who is calling: an IAM principal on /admin, an administrator's session on /org.
    let (caller, rest) = if let Some(rest) = resource.strip_prefix("/admin") {
        (iam_caller(request)?, rest)
    } else if let Some(rest) = resource.strip_prefix("/org") {
        let user = web_session_caller(request)?;
        directory.admin(&user).await?;
        (user.as_str().to_owned(), rest)
    } else {
        return Err(ApiError::NotFound);
    };
    let iam = resource.starts_with("/admin");
    match (method.as_str(), rest) {
        ("PUT", "/users/{userId}") if iam => {
            let id = principal_id(request, "userId")?;
            let write = put_user_request(request)?;
            let (stored, created) = directory.put_user(&id, write, now).await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            json(status, UserView::from(&stored))
        }
        ("GET", "/users/{userId}") if iam => {
            let stored = directory
                .get_user(&principal_id(request, "userId")?)
                .await?;
            json(StatusCode::OK, UserView::from(&stored))
        }
        ("GET", "/users/{userId}/tokens") if iam => {
            let id = principal_id(request, "userId")?;
            directory.get_user(&id).await?;
            principal_tokens(directory, request, &id, now).await
        }
        ("DELETE", "/users/{userId}/tokens/{tokenId}") if iam => {
            let id = principal_id(request, "userId")?;
            let note = revoke_note(request)?;
            directory
                .admin_revoke(&id, &token_id(request)?, &caller, note, now)
                .await?;
            Ok(Answer::Empty(StatusCode::NO_CONTENT))
        }
        ("POST", "/users/{userId}/tokens/revoke-all") if iam => {
            let id = principal_id(request, "userId")?;
            directory.get_user(&id).await?;
            let revoked = directory.revoke_all(&id, now).await?;
            json(StatusCode::OK, serde_json::json!({ "revoked": revoked }))
        }
        ("POST", "/tokens/{ownerId}/{tokenId}/revoke") => {
            let owner = principal_id(request, "ownerId")?;
            let note = revoke_note(request)?;
            directory
                .admin_revoke(&owner, &token_id(request)?, &caller, note, now)
                .await?;
            Ok(Answer::Empty(StatusCode::NO_CONTENT))
        }
        ("GET", "/tokens") => {
            let query = InventoryQuery::from_request(request)?;
            json(StatusCode::OK, directory.inventory(&query, now).await?)
        }
        ("GET", "/tokens/summary") => {
            let query = InventoryQuery::from_request(request)?;
            json(
                StatusCode::OK,
                directory.inventory_summary(&query.filter, now).await?,
            )
        }
        ("GET", "/service-accounts") => {
            let query = ListQuery::from_request(request)?;
            let after = request
                .query_string_parameters_ref()
                .and_then(|q| q.first("nextToken").map(str::to_owned));
            let after = after.as_deref().and_then(UserId::parse);
            let (accounts, next) = directory
                .list_service_accounts(query.limit, after.as_ref())
                .await?;
            json(
                StatusCode::OK,
                ServiceAccountPage {
                    service_accounts: accounts.iter().map(ServiceAccountView::from).collect(),
                    next_token: next.map(|id| id.as_str().to_owned()),
                },
            )
        }
        ("POST", "/service-accounts") => {
            let input = service_account_request(request)?;
            let stored = directory
                .create_service_account(input, &caller, now)
                .await?;
            json(StatusCode::CREATED, ServiceAccountView::from(&stored))
        }
        ("GET", "/service-accounts/{id}") => {
            let stored = directory.get_service_account(&account_id(request)?).await?;
            json(StatusCode::OK, ServiceAccountView::from(&stored))
        }
        ("PUT", "/service-accounts/{id}") => {
            let id = account_id(request)?;
            let input = service_account_request(request)?;
            let stored = directory.update_service_account(&id, input, now).await?;
            json(StatusCode::OK, ServiceAccountView::from(&stored))
        }
        ("POST", "/service-accounts/{id}/tokens") => {
            let id = account_id(request)?;
            let body = CreateTokenRequest::from_request(request)?;
            let issued = directory
                .create_service_token(&id, body, &caller, now)
                .await?;
            json(StatusCode::CREATED, issued)
        }
        ("POST", "/integrations/{kind}/credential") if iam => {
            let kind = path_parameter(request, "kind")
                .and_then(IntegrationKind::parse)
                .ok_or(ApiError::NoSuch("integration"))?;
            json(
                StatusCode::CREATED,
                directory.issue_credential(kind, &caller, now).await?,
            )
        }
        _ => Err(ApiError::NotFound),
    }
}

async fn principal_tokens(
    directory: &Directory,
    request: &Request,
    id: &UserId,
    now: DateTime<Utc>,
) -> Result<Answer, ApiError> {
    let query = ListQuery::from_request(request)?;
    let revoked = query.status == TokenStatus::Revoked;
    let page = directory
        .principal_tokens(id, revoked, query.limit, query.after.as_ref(), now)
        .await?;
    json(
        StatusCode::OK,
        PrincipalTokens {
            tokens: page.items,
            next_token: page.next.map(|id| id.as_str().to_owned()),
        },
    )
}
