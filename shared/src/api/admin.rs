//! The admin API's wire format (`/admin/*` for the product's backend over IAM,
//! `/org/*` for administrators in the web UI): who is calling, request bodies and
//! queries, and the views it answers with.

use std::collections::{BTreeMap, BTreeSet};

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    check_text, json_object, optional_string, optional_zone, truncate, wire_time, TokenView,
    DEFAULT_PAGE_SIZE, MAX_BODY_BYTES, MAX_DESCRIPTION_CHARS, MAX_NAME_CHARS, MAX_PAGE_SIZE,
};
use crate::directory::service_accounts::{ServiceAccountInput, MAX_OWNERS};
use crate::directory::UserWrite;
use crate::error::ApiError;
use crate::store::{InventoryFilter, StoredUser};
use crate::user::PrincipalKind;

/// Longest administrator's note on a revoke.
pub const MAX_NOTE_CHARS: usize = 500;
/// Most roles one principal may hold.
pub const MAX_ROLES: usize = 50;

/// The IAM principal that signed an `/admin/*` request (API Gateway fills
/// `requestContext.identity` only for `AWS_IAM` routes): its ARN.
pub fn iam_caller(request: &Request) -> Result<String, ApiError> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthenticated);
    };
    context
        .identity
        .user_arn
        .clone()
        .filter(|arn| arn.starts_with("arn:"))
        .ok_or(ApiError::Unauthenticated)
}

/// A path parameter, as given (the route's template names it).
pub fn path_parameter<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
}

fn role_list(body: &Map<String, Value>, required: bool) -> Result<Vec<String>, ApiError> {
    let field = "roles";
    let list = match body.get(field) {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) if !required => return Ok(Vec::new()),
        None | Some(Value::Null) => return Err(ApiError::invalid(field, "is required")),
        Some(_) => return Err(ApiError::invalid(field, "must be a list of role names")),
    };
    if list.len() > MAX_ROLES {
        return Err(ApiError::invalid(
            field,
            format!("may name at most {MAX_ROLES} roles"),
        ));
    }
    let mut roles: Vec<String> = Vec::new();
    for value in list {
        let role = value
            .as_str()
            .map(str::trim)
            .filter(|r| !r.is_empty() && r.chars().count() <= MAX_NAME_CHARS)
            .ok_or_else(|| ApiError::invalid(field, "must be a list of role names"))?;
        check_text(field, role, MAX_NAME_CHARS)?;
        if !roles.iter().any(|r| r == role) {
            roles.push(role.to_owned());
        }
    }
    Ok(roles)
}

fn optional_bool(
    body: &Map<String, Value>,
    field: &'static str,
    default: bool,
) -> Result<bool, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ApiError::invalid(field, "must be true or false")),
    }
}

/// `PUT /admin/users/{userId}`: `{"roles", "timeZone"?, "active"?}`.
pub fn put_user_request(request: &Request) -> Result<UserWrite, ApiError> {
    const FIELDS: &[&str] = &["roles", "timeZone", "active"];
    let body = json_object(request, FIELDS, MAX_BODY_BYTES, false)?;
    Ok(UserWrite {
        roles: role_list(&body, true)?,
        time_zone: optional_zone(&body)?,
        active: optional_bool(&body, "active", true)?,
        scim: None,
        if_version: None,
    })
}

/// `{"note"?}` of an administrator's revoke.
pub fn revoke_note(request: &Request) -> Result<Option<String>, ApiError> {
    let body = json_object(request, &["note"], MAX_BODY_BYTES, true)?;
    let note = optional_string(&body, "note")?
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned);
    if let Some(note) = &note {
        check_text("note", note, MAX_NOTE_CHARS)?;
    }
    Ok(note)
}

/// `POST|PUT …/service-accounts[/{id}]`: `{"name", "description"?, "owners",
/// "roles", "active"?}`.
pub fn service_account_request(request: &Request) -> Result<ServiceAccountInput, ApiError> {
    const FIELDS: &[&str] = &["name", "description", "owners", "roles", "active"];
    let body = json_object(request, FIELDS, MAX_BODY_BYTES, false)?;
    let name = optional_string(&body, "name")?
        .map(str::trim)
        .ok_or_else(|| ApiError::invalid("name", "is required"))?
        .to_owned();
    check_text("name", &name, MAX_NAME_CHARS)?;
    if name.is_empty() {
        return Err(ApiError::invalid("name", "must not be blank"));
    }
    let description = optional_string(&body, "description")?
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    if let Some(description) = &description {
        check_text("description", description, MAX_DESCRIPTION_CHARS)?;
    }
    let owners: BTreeSet<String> = match body.get("owners") {
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_OWNERS => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| ApiError::invalid("owners", "must be a list of user ids"))?,
        None | Some(Value::Null) => return Err(ApiError::invalid("owners", "is required")),
        _ => {
            return Err(ApiError::invalid(
                "owners",
                format!("must list 1 to {MAX_OWNERS} user ids"),
            ))
        }
    };
    Ok(ServiceAccountInput {
        name,
        description,
        owners,
        roles: role_list(&body, true)?,
        active: optional_bool(&body, "active", true)?,
    })
}

fn days(name: &'static str, value: &str, min: u32) -> Result<u32, ApiError> {
    value
        .parse()
        .ok()
        .filter(|n| (min..=3650).contains(n))
        .ok_or_else(|| {
            ApiError::invalid(
                name,
                format!("must be a whole number of days from {min} to 3650"),
            )
        })
}

/// `GET …/tokens` (the inventory): filters, `limit`, `nextToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryQuery {
    pub filter: InventoryFilter,
    pub limit: u32,
    pub after: Option<String>,
}

impl InventoryQuery {
    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        let mut query = InventoryQuery {
            filter: InventoryFilter::default(),
            limit: DEFAULT_PAGE_SIZE,
            after: None,
        };
        let Some(params) = request.query_string_parameters_ref() else {
            return Ok(query);
        };
        for (name, value) in params.iter() {
            let filter = &mut query.filter;
            match name {
                "owner" => {
                    filter.owner = Some(
                        crate::user::UserId::parse(value)
                            .ok_or_else(|| ApiError::invalid("owner", "is not a user or service account id"))?,
                    )
                }
                "ownerKind" => {
                    filter.owner_kind = Some(match value {
                        "user" => PrincipalKind::User,
                        "service" => PrincipalKind::Service,
                        _ => return Err(ApiError::invalid("ownerKind", "must be user or service")),
                    })
                }
                "scoped" => {
                    filter.scoped = Some(match value {
                        "true" => true,
                        "false" => false,
                        _ => return Err(ApiError::invalid("scoped", "must be true or false")),
                    })
                }
                "expiringWithinDays" => {
                    filter.expiring_within_days = Some(days("expiringWithinDays", value, 0)?)
                }
                "unusedForDays" => filter.unused_for_days = Some(days("unusedForDays", value, 1)?),
                "neverUsed" => {
                    filter.never_used = match value {
                        "true" => true,
                        "false" => false,
                        _ => return Err(ApiError::invalid("neverUsed", "must be true or false")),
                    }
                }
                "limit" => {
                    query.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                        .ok_or_else(|| {
                            ApiError::invalid(
                                "limit",
                                format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
                            )
                        })?
                }
                "nextToken" => {
                    if !crate::store::inventory::valid_cursor(value) {
                        return Err(ApiError::invalid("nextToken", "is not a value this API returned"));
                    }
                    query.after = Some(value.to_owned())
                }
                other => {
                    return Err(ApiError::InvalidField {
                        field: "query",
                        message: format!(
                            "unknown query parameter `{}`; allowed: owner, ownerKind, scoped, expiringWithinDays, unusedForDays, neverUsed, limit, nextToken",
                            truncate(other, 40)
                        ),
                    })
                }
            }
        }
        if query.filter.expiring_within_days.is_some()
            && (query.filter.unused_for_days.is_some() || query.filter.never_used)
            && query.filter.owner.is_none()
        {
            return Err(ApiError::invalid(
                "expiringWithinDays",
                "combines with unusedForDays or neverUsed only together with owner",
            ));
        }
        Ok(query)
    }
}

/// A user as the admin API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: String,
    pub user_name: Option<String>,
    pub roles: Vec<String>,
    pub time_zone: Option<String>,
    pub active: bool,
    pub display_name: Option<String>,
    pub created_at: Option<String>,
    pub modified_at: Option<String>,
    /// Whether the last access change has reached every token.
    pub synced: bool,
}

impl From<&StoredUser> for UserView {
    fn from(stored: &StoredUser) -> Self {
        let profile = &stored.profile;
        UserView {
            id: stored.user.id.as_str().to_owned(),
            user_name: profile.scim.user_name.clone(),
            roles: stored.user.roles.clone(),
            time_zone: stored.user.time_zone.map(|tz| tz.name().to_owned()),
            active: stored.user.active,
            display_name: profile.scim.display_name.clone(),
            created_at: profile.created_at.map(wire_time),
            modified_at: profile.modified_at.map(wire_time),
            synced: profile.synced_version >= stored.access_version,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owners: Vec<String>,
    pub roles: Vec<String>,
    pub active: bool,
    pub orphaned: bool,
    pub created_by: String,
    pub created_at: Option<String>,
    pub modified_at: Option<String>,
}

impl From<&StoredUser> for ServiceAccountView {
    fn from(stored: &StoredUser) -> Self {
        let service = stored.profile.service.clone().unwrap_or_default();
        ServiceAccountView {
            id: stored.user.id.as_str().to_owned(),
            name: service.name,
            description: service.description,
            owners: service.owners.into_iter().collect(),
            roles: stored.user.roles.clone(),
            active: stored.user.active,
            orphaned: service.orphaned,
            created_by: service.created_by,
            created_at: stored.profile.created_at.map(wire_time),
            modified_at: stored.profile.modified_at.map(wire_time),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountPage {
    pub service_accounts: Vec<ServiceAccountView>,
    pub next_token: Option<String>,
}

/// A page of one principal's tokens.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrincipalTokens {
    pub tokens: Vec<TokenView>,
    pub next_token: Option<String>,
}

/// A token in the inventory: its view, and whose it is.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InventoryTokenView {
    #[serde(flatten)]
    pub token: TokenView,
    pub owner_id: String,
    /// `user` (a person's token) or `service` (a service account's).
    pub owner_kind: &'static str,
    pub created_by: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryPageView {
    pub tokens: Vec<InventoryTokenView>,
    pub next_token: Option<String>,
}

/// Counts for the inventory's summary, at day resolution, for the partitions the
/// `ownerKind` and `scoped` filters select.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct InventorySummaryView {
    pub total: i64,
    pub by_owner_kind: BTreeMap<&'static str, i64>,
    pub scoped: i64,
    pub unscoped: i64,
    /// Days → tokens expiring within that many days.
    pub expiring_within_days: BTreeMap<String, i64>,
    /// Days → tokens unused for that many days (or never used and older).
    pub unused_for_days: BTreeMap<String, i64>,
    pub never_used: i64,
}

/// The answer that issues an integration credential: the only one that carries it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCredential {
    pub kind: &'static str,
    pub credential: String,
    /// Until when the credential it replaced keeps working.
    pub previous_valid_until: String,
}
