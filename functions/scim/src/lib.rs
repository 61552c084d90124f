//! SCIM 2.0 (RFC 7643/7644) for identity providers: `/scim/v2/Users` (create, get,
//! list with `filter=userName eq "…"` and paging, replace, PATCH, delete) and the
//! discovery documents. Every call carries `Authorization: Bearer <credential>`, an
//! integration credential patgate issued for SCIM (`POST
//! /admin/integrations/scim/credential`), checked here; never a personal token.
//! Every write goes through the directory's use cases, so a deactivation reaches the
//! user's tokens before the answer (and the stream repair finishes a cut-off one).
#![forbid(unsafe_code)]

use chrono::{DateTime, Utc};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use patgate::directory::Directory;
use patgate::scim::{self, ScimError, ScimUser};
use patgate::store::IntegrationKind;
use patgate::token::bearer_token;
use patgate::user::{PrincipalKind, UserId};
use serde_json::Value;

/// Every route this function serves (template.yaml must say the same).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/scim/v2/Users"),
    ("POST", "/scim/v2/Users"),
    ("GET", "/scim/v2/Users/{id}"),
    ("PUT", "/scim/v2/Users/{id}"),
    ("PATCH", "/scim/v2/Users/{id}"),
    ("DELETE", "/scim/v2/Users/{id}"),
    ("GET", "/scim/v2/ServiceProviderConfig"),
    ("GET", "/scim/v2/ResourceTypes"),
    ("GET", "/scim/v2/ResourceTypes/{id}"),
    ("GET", "/scim/v2/Schemas"),
    ("GET", "/scim/v2/Schemas/{id}"),
];

/// Largest SCIM request body.
const MAX_BODY_BYTES: usize = 64 * 1024;

struct Answer {
    status: u16,
    body: Option<Value>,
    etag: Option<String>,
    location: Option<String>,
}

impl Answer {
    fn ok(status: u16, body: Value) -> Self {
        Answer {
            status,
            body: Some(body),
            etag: None,
            location: None,
        }
    }
}

pub async fn handle(directory: &Directory, request: Request, now: DateTime<Utc>) -> Response<Body> {
    let answer = match serve(directory, &request, now).await {
        Ok(answer) => answer,
        Err(err) => Answer::ok(err.status, err.body()),
    };
    let mut builder = Response::builder()
        .status(answer.status)
        .header("Cache-Control", "no-store");
    if let Some(etag) = &answer.etag {
        builder = builder.header("ETag", etag.as_str());
    }
    if let Some(location) = &answer.location {
        builder = builder.header("Location", location.as_str());
    }
    let body = match answer.body {
        Some(value) => {
            builder = builder.header("Content-Type", scim::CONTENT_TYPE);
            Body::Text(value.to_string())
        }
        None => Body::Empty,
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = Response::new(Body::Empty);
        *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `https://host[/stage]/scim/v2`, as the identity provider reaches this API.
fn base_url(request: &Request) -> String {
    let proto = header(request, "x-forwarded-proto").unwrap_or("https");
    let host = header(request, "host").unwrap_or("localhost");
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) if host.contains(".execute-api.") => context
            .stage
            .clone()
            .map(|s| format!("/{s}"))
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!("{proto}://{host}{stage}/scim/v2")
}

fn resource_path(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => {
            context.resource_path.clone().unwrap_or_default()
        }
        _ => String::new(),
    }
}

fn body(request: &Request) -> Result<Value, ScimError> {
    let bytes: &[u8] = match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ScimError::new(
            413,
            None,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ScimError::new(
            400,
            Some("invalidSyntax"),
            format!("the body is not JSON: {e}"),
        )
    })
}

fn user_id(request: &Request) -> Result<UserId, ScimError> {
    request
        .path_parameters_ref()
        .and_then(|p| p.first("id"))
        .and_then(UserId::parse)
        .filter(UserId::may_be_a_user)
        .ok_or_else(|| ScimError::new(404, None, "no such user"))
}

fn query<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
}

async fn serve(
    directory: &Directory,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<Answer, ScimError> {
    let presented = header(request, "authorization").and_then(bearer_token);
    let authenticated = match presented {
        Some(credential) => directory
            .check_credential(IntegrationKind::Scim, credential, now)
            .await
            .map_err(ScimError::from)?,
        None => false,
    };
    if !authenticated {
        return Err(ScimError::new(
            401,
            None,
            "a valid SCIM bearer credential is required",
        ));
    }
    let base = base_url(request);
    let resource = resource_path(request);
    let method = request.method().as_str().to_owned();
    let user_answer = |stored: &patgate::store::StoredUser, status: u16| {
        let mut answer = Answer::ok(status, scim::user_resource(stored, &base));
        answer.etag = Some(scim::etag(stored));
        answer
    };
    match (method.as_str(), resource.as_str()) {
        ("GET", "/scim/v2/ServiceProviderConfig") => {
            Ok(Answer::ok(200, scim::service_provider_config(&base)))
        }
        ("GET", "/scim/v2/ResourceTypes") => Ok(Answer::ok(
            200,
            scim::list_response(vec![scim::resource_type(&base)], 1, 1),
        )),
        ("GET", "/scim/v2/Schemas") => Ok(Answer::ok(
            200,
            scim::list_response(vec![scim::user_schema(&base)], 1, 1),
        )),
        ("GET", "/scim/v2/ResourceTypes/{id}") | ("GET", "/scim/v2/Schemas/{id}") => {
            let id = request
                .path_parameters_ref()
                .and_then(|p| p.first("id"))
                .unwrap_or("");
            match (resource.as_str(), id) {
                ("/scim/v2/ResourceTypes/{id}", "User") => {
                    Ok(Answer::ok(200, scim::resource_type(&base)))
                }
                ("/scim/v2/Schemas/{id}", scim::USER_SCHEMA) => {
                    Ok(Answer::ok(200, scim::user_schema(&base)))
                }
                _ => Err(ScimError::new(404, None, "no such resource")),
            }
        }
        ("POST", "/scim/v2/Users") => {
            let user = ScimUser::from_json(&body(request)?)?;
            let id = UserId::parse(&user.user_name)
                .ok_or_else(|| ScimError::invalid_value("userName"))?;
            if directory
                .store()
                .get_user(&id)
                .await
                .map_err(|e| ScimError::from(patgate::error::ApiError::from(e)))?
                .is_some()
                || directory
                    .store()
                    .user_by_name(&user.user_name)
                    .await
                    .map_err(|e| ScimError::from(patgate::error::ApiError::from(e)))?
                    .is_some()
            {
                return Err(ScimError::new(
                    409,
                    Some("uniqueness"),
                    "a user with this userName exists",
                ));
            }
            let (stored, _) = directory.put_user(&id, user.write(None), now).await?;
            let mut answer = user_answer(&stored, 201);
            answer.location = Some(format!("{base}/Users/{}", stored.user.id));
            Ok(answer)
        }
        ("GET", "/scim/v2/Users") => list(directory, request, &base).await,
        ("GET", "/scim/v2/Users/{id}") => {
            let stored = directory.get_user(&user_id(request)?).await?;
            Ok(user_answer(&stored, 200))
        }
        ("PUT", "/scim/v2/Users/{id}") => {
            let id = user_id(request)?;
            directory.get_user(&id).await?;
            let user = ScimUser::from_json(&body(request)?)?;
            let if_version = scim::if_match(header(request, "if-match"))?;
            let (stored, _) = directory.put_user(&id, user.write(if_version), now).await?;
            Ok(user_answer(&stored, 200))
        }
        ("PATCH", "/scim/v2/Users/{id}") => {
            let id = user_id(request)?;
            let current = directory.get_user(&id).await?;
            let mut user = ScimUser::of(&current);
            scim::apply_patch(&mut user, &body(request)?)?;
            let if_version =
                scim::if_match(header(request, "if-match"))?.or(Some(current.profile.version));
            let (stored, _) = directory.put_user(&id, user.write(if_version), now).await?;
            Ok(user_answer(&stored, 200))
        }
        ("DELETE", "/scim/v2/Users/{id}") => {
            directory.delete_user(&user_id(request)?, now).await?;
            Ok(Answer {
                status: 204,
                body: None,
                etag: None,
                location: None,
            })
        }
        _ => Err(ScimError::new(404, None, "no such endpoint")),
    }
}

/// `GET /Users`: `filter=userName eq "…"` (one read of the userName index), or a page
/// of every user (`startIndex`, 1-based, and `count`; reads grow with `startIndex`).
async fn list(directory: &Directory, request: &Request, base: &str) -> Result<Answer, ScimError> {
    let number = |name: &str, default: u64| -> Result<u64, ScimError> {
        match query(request, name) {
            None => Ok(default),
            Some(raw) => raw
                .parse::<i64>()
                .map(|n| u64::try_from(n.max(0)).unwrap_or(0))
                .map_err(|_| ScimError::invalid_value(format!("{name} must be a whole number"))),
        }
    };
    let start = number("startIndex", 1)?.max(1);
    let count = number("count", u64::from(scim::MAX_COUNT))?.min(u64::from(scim::MAX_COUNT));
    let store = directory.store();
    let to_scim =
        |e: patgate::store::StoreError| ScimError::from(patgate::error::ApiError::from(e));
    if let Some(filter) = query(request, "filter") {
        let user_name = scim::user_name_filter(filter)?;
        let found = match store.user_by_name(&user_name).await.map_err(to_scim)? {
            Some(id) => store.get_user(&id).await.map_err(to_scim)?,
            None => None,
        };
        let resources: Vec<Value> = found
            .iter()
            .filter(|u| u.profile.kind == PrincipalKind::User)
            .map(|u| scim::user_resource(u, base))
            .collect();
        let total = resources.len() as u64;
        let page = if start > 1 || count == 0 {
            Vec::new()
        } else {
            resources
        };
        return Ok(Answer::ok(200, scim::list_response(page, total, start)));
    }
    let total = store
        .directory_count(PrincipalKind::User)
        .await
        .map_err(to_scim)?;
    let mut resources = Vec::new();
    let mut skipped = 0u64;
    let mut after: Option<UserId> = None;
    while (resources.len() as u64) < count {
        let (users, next) = store
            .directory_page(PrincipalKind::User, scim::MAX_COUNT, after.as_ref())
            .await
            .map_err(to_scim)?;
        for user in &users {
            if skipped + 1 < start {
                skipped += 1;
            } else if (resources.len() as u64) < count {
                resources.push(scim::user_resource(user, base));
            }
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(Answer::ok(
        200,
        scim::list_response(resources, total, start),
    ))
}
