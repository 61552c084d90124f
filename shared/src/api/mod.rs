//! The token API's wire format: who the caller is, request reading, the views it
//! answers with ([`views`]), and the one place a handler's result becomes an HTTP response.

pub mod admin;
mod idempotency;
mod views;

pub use idempotency::*;
pub use views::*;

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::expiry::{parse_date, parse_time_zone};
use crate::token::TokenId;
use crate::user::UserId;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// Largest body of the token management routes.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest body of a leaked-credential report (1,000 tokens with room for JSON).
pub const MAX_REPORT_BODY_BYTES: usize = 128 * 1024;
/// Longest grace period of a rotated-out secret.
pub const MAX_GRACE_SECONDS: u32 = 86_400;
/// Most permissions one scoped token may list.
pub const MAX_SCOPE_PERMISSIONS: usize = 100;
/// Most strings in one leaked-credential report.
pub const MAX_REPORTED_CREDENTIALS: usize = 1000;
/// Page size of `GET /tokens`: default and largest.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 100;

/// Timestamps on the wire: RFC 3339, UTC, whole seconds.
pub fn wire_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn wire_date(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// The caller of a token management route: the signed-in user of the web UI, as the
/// session authorizer in front of the function identified them (the `sub` claim of a
/// Cognito user pool or JWT authorizer). A context from a Lambda authorizer, which is
/// what a personal access token produces, is refused: a token must never mint tokens
/// or outlive its own revocation by rotating itself.
pub fn web_session_caller(request: &Request) -> Result<UserId, ApiError> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthenticated);
    };
    let fields = &context.authorizer.fields;
    let session_claim = fields
        .get("claims")
        .and_then(|claims| claims.get("sub"))
        .and_then(Value::as_str);
    let jwt_claim = context
        .authorizer
        .jwt
        .as_ref()
        .and_then(|jwt| jwt.claims.get("sub"))
        .map(String::as_str);
    if let Some(sub) = session_claim.or(jwt_claim) {
        return UserId::parse(sub).ok_or(ApiError::Unauthenticated);
    }
    let lambda_authorizer = ["principalId", "userId", "tokenId"]
        .iter()
        .any(|key| fields.contains_key(*key));
    Err(if lambda_authorizer {
        ApiError::SessionRequired
    } else {
        ApiError::Unauthenticated
    })
}

/// The request body's bytes as received (what a signature covers).
pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

/// The request body as a JSON object with only `fields` in it, each once. An empty
/// body reads as `{}` when `empty_allowed`.
pub fn json_object(
    request: &Request,
    fields: &'static [&'static str],
    max_bytes: usize,
    empty_allowed: bool,
) -> Result<Map<String, Value>, ApiError> {
    let bytes = body_bytes(request);
    if bytes.len() > max_bytes {
        return Err(ApiError::PayloadTooLarge { max_bytes });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return if empty_allowed {
            Ok(Map::new())
        } else {
            Err(ApiError::InvalidJson(
                "the body is empty; send a JSON object".to_owned(),
            ))
        };
    }
    let parsed = crate::json::parse(bytes).map_err(|err| ApiError::InvalidJson(err.to_string()))?;
    let Value::Object(object) = parsed.value else {
        return Err(ApiError::InvalidJson(
            "the body must be a JSON object".to_owned(),
        ));
    };
    if let Some(unknown) = object.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(ApiError::InvalidField {
            field: "body",
            message: format!(
                "unknown field `{}`; allowed: {}",
                truncate(unknown, 40),
                fields.join(", ")
            ),
        });
    }
    if let Some(key) = parsed.duplicate {
        let field = fields
            .iter()
            .find(|f| **f == key)
            .copied()
            .unwrap_or("body");
        return Err(ApiError::invalid(
            field,
            "appears more than once in the body",
        ));
    }
    Ok(object)
}

fn optional_string<'a>(
    body: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(field, "must be a string")),
    }
}

fn check_text(field: &'static str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    if value.chars().count() > max_chars {
        return Err(ApiError::invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ApiError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

fn optional_date(body: &Map<String, Value>) -> Result<Option<NaiveDate>, ApiError> {
    optional_string(body, "expiresOn")?
        .map(|raw| {
            parse_date(raw)
                .ok_or_else(|| ApiError::invalid("expiresOn", "must be a date as YYYY-MM-DD"))
        })
        .transpose()
}

fn optional_zone(body: &Map<String, Value>) -> Result<Option<Tz>, ApiError> {
    optional_string(body, "timeZone")?
        .map(|raw| {
            parse_time_zone(raw).ok_or_else(|| {
                ApiError::invalid(
                    "timeZone",
                    "must be an IANA time zone name such as Europe/Paris",
                )
            })
        })
        .transpose()
}

/// A validated `POST /tokens` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTokenRequest {
    pub name: String,
    pub description: Option<String>,
    pub expires_on: NaiveDate,
    /// The zone the web UI reports for the user right now, if it sent one.
    pub time_zone: Option<Tz>,
    /// Limits the token to these permissions (names checked by the service).
    pub permissions: Option<BTreeSet<String>>,
}

impl CreateTokenRequest {
    pub const FIELDS: &'static [&'static str] = &[
        "name",
        "description",
        "expiresOn",
        "timeZone",
        "permissions",
    ];

    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        Self::from_json(&json_object(request, Self::FIELDS, MAX_BODY_BYTES, false)?)
    }

    pub fn from_json(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let name = match optional_string(body, "name")? {
            Some(name) => name.trim().to_owned(),
            None => return Err(ApiError::invalid("name", "is required")),
        };
        check_text("name", &name, MAX_NAME_CHARS)?;
        if name.is_empty() {
            return Err(ApiError::invalid("name", "must not be blank"));
        }
        let description = optional_string(body, "description")?
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if let Some(description) = &description {
            check_text("description", description, MAX_DESCRIPTION_CHARS)?;
        }
        let expires_on =
            optional_date(body)?.ok_or_else(|| ApiError::invalid("expiresOn", "is required"))?;
        Ok(CreateTokenRequest {
            name,
            description,
            expires_on,
            time_zone: optional_zone(body)?,
            permissions: permission_list(body)?,
        })
    }
}

fn permission_list(body: &Map<String, Value>) -> Result<Option<BTreeSet<String>>, ApiError> {
    let field = "permissions";
    let list = match body.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(list)) => list,
        Some(_) => {
            return Err(ApiError::invalid(
                field,
                "must be a list of permission names",
            ))
        }
    };
    if list.is_empty() {
        return Err(ApiError::invalid(
            field,
            "must name at least one permission; leave it out for all of yours",
        ));
    }
    if list.len() > MAX_SCOPE_PERMISSIONS {
        return Err(ApiError::invalid(
            field,
            format!("may name at most {MAX_SCOPE_PERMISSIONS} permissions"),
        ));
    }
    list.iter()
        .map(|value| {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::invalid(field, "must be a list of permission names"))
        })
        .collect::<Result<BTreeSet<_>, _>>()
        .map(Some)
}

/// A validated `POST /tokens/{id}/rotate` body (an empty body keeps everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotateTokenRequest {
    pub expires_on: Option<NaiveDate>,
    pub time_zone: Option<Tz>,
    pub grace_seconds: u32,
}

impl RotateTokenRequest {
    pub const FIELDS: &'static [&'static str] = &["expiresOn", "timeZone", "graceSeconds"];

    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        Self::from_json(&json_object(request, Self::FIELDS, MAX_BODY_BYTES, true)?)
    }

    pub fn from_json(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let grace_seconds = match body.get("graceSeconds") {
            None | Some(Value::Null) => 0,
            Some(value) => value
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n <= MAX_GRACE_SECONDS)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "graceSeconds",
                        format!("must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS}"),
                    )
                })?,
        };
        let expires_on = optional_date(body)?;
        let time_zone = optional_zone(body)?;
        if time_zone.is_some() && expires_on.is_none() {
            return Err(ApiError::invalid(
                "timeZone",
                "only applies with a new expiresOn",
            ));
        }
        Ok(RotateTokenRequest {
            expires_on,
            time_zone,
            grace_seconds,
        })
    }
}

/// A validated `POST /credentials/revoke` body: strings reported as leaked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakedCredentialsReport {
    pub credentials: Vec<String>,
}

impl LeakedCredentialsReport {
    pub const FIELDS: &'static [&'static str] = &["credentials"];

    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        let body = json_object(request, Self::FIELDS, MAX_REPORT_BODY_BYTES, false)?;
        let field = "credentials";
        let list = match body.get(field) {
            Some(Value::Array(list)) => list,
            None => return Err(ApiError::invalid(field, "is required")),
            Some(_) => return Err(ApiError::invalid(field, "must be a list of strings")),
        };
        if list.is_empty() || list.len() > MAX_REPORTED_CREDENTIALS {
            return Err(ApiError::invalid(
                field,
                format!("must hold 1 to {MAX_REPORTED_CREDENTIALS} strings"),
            ));
        }
        let credentials = list
            .iter()
            .map(|value| value.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::invalid(field, "must be a list of strings"))?;
        Ok(LeakedCredentialsReport { credentials })
    }
}

/// Which tokens `GET /tokens` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    Revoked,
}

/// `GET /tokens?status=&limit=&nextToken=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub status: TokenStatus,
    pub limit: u32,
    pub after: Option<TokenId>,
}

impl ListQuery {
    pub fn from_request(request: &Request) -> Result<Self, ApiError> {
        let params = request.query_string_parameters_ref();
        let mut query = ListQuery {
            status: TokenStatus::Active,
            limit: DEFAULT_PAGE_SIZE,
            after: None,
        };
        let Some(params) = params else {
            return Ok(query);
        };
        for (name, value) in params.iter() {
            match name {
                "status" => {
                    query.status = match value {
                        "active" => TokenStatus::Active,
                        "revoked" => TokenStatus::Revoked,
                        _ => return Err(ApiError::invalid("status", "must be active or revoked")),
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
                    query.after = Some(TokenId::parse(value).ok_or_else(|| {
                        ApiError::invalid("nextToken", "is not a value this API returned")
                    })?)
                }
                other => {
                    return Err(ApiError::InvalidField {
                        field: "query",
                        message: format!(
                            "unknown query parameter `{}`; allowed: status, limit, nextToken",
                            truncate(other, 40)
                        ),
                    })
                }
            }
        }
        Ok(query)
    }
}

/// The token id in the path (`/tokens/{id}`); an id that cannot exist is "not found".
pub fn token_id_parameter(request: &Request) -> Result<TokenId, ApiError> {
    request
        .path_parameters_ref()
        .and_then(|params| params.first("id"))
        .and_then(TokenId::parse)
        .ok_or(ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<CreateTokenRequest, ApiError> {
        CreateTokenRequest::from_json(body.as_object().unwrap())
    }

    fn request(body: &str) -> Request {
        let mut request = Request::new(Body::Text(body.to_owned()));
        *request.method_mut() = http::Method::POST;
        request
    }

    fn field_of(err: ApiError) -> &'static str {
        match err {
            ApiError::InvalidField { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_full_body_parses_and_trims() {
        let req = parse(json!({"name":"  ci deploy ","description":" for CI ","expiresOn":"2026-12-31","timeZone":"Asia/Kathmandu","permissions":["catalog:read","catalog:read"]})).unwrap();
        assert_eq!(req.name, "ci deploy");
        assert_eq!(req.description.as_deref(), Some("for CI"));
        assert_eq!(
            req.expires_on,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        assert_eq!(req.time_zone, Some(chrono_tz::Asia::Kathmandu));
        assert_eq!(
            req.permissions,
            Some(BTreeSet::from(["catalog:read".to_owned()]))
        );
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (json!({"expiresOn":"2026-12-31"}), "name"),
            (json!({"name":"   ","expiresOn":"2026-12-31"}), "name"),
            (json!({"name": 5,"expiresOn":"2026-12-31"}), "name"),
            (
                json!({"name":"x".repeat(101),"expiresOn":"2026-12-31"}),
                "name",
            ),
            (
                json!({"name":"a\u{0007}b","expiresOn":"2026-12-31"}),
                "name",
            ),
            (
                json!({"name":"ok","description":"d".repeat(501),"expiresOn":"2026-12-31"}),
                "description",
            ),
            (
                json!({"name":"ok","description":[],"expiresOn":"2026-12-31"}),
                "description",
            ),
            (json!({"name":"ok"}), "expiresOn"),
            (json!({"name":"ok","expiresOn":"31/12/2026"}), "expiresOn"),
            (json!({"name":"ok","expiresOn":"2026-02-30"}), "expiresOn"),
            (
                json!({"name":"ok","expiresOn":"2026-12-31","timeZone":"Mars/Base"}),
                "timeZone",
            ),
            (
                json!({"name":"ok","expiresOn":"2026-12-31","permissions":[]}),
                "permissions",
            ),
            (
                json!({"name":"ok","expiresOn":"2026-12-31","permissions":"catalog:read"}),
                "permissions",
            ),
            (
                json!({"name":"ok","expiresOn":"2026-12-31","permissions":[1]}),
                "permissions",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(parse(body.clone()).unwrap_err()), field, "{body}");
        }
    }

    #[test]
    fn unknown_and_duplicate_keys_are_refused_by_name() {
        let fields = CreateTokenRequest::FIELDS;
        let err = json_object(
            &request(r#"{"name":"ok","expiresOn":"2026-12-31","role":"Admin"}"#),
            fields,
            MAX_BODY_BYTES,
            false,
        )
        .unwrap_err();
        assert_eq!(field_of(err), "body");
        let err = json_object(
            &request(r#"{"expiresOn":"tomorrow","name":"ok","expiresOn":"2027-01-01"}"#),
            fields,
            MAX_BODY_BYTES,
            false,
        )
        .unwrap_err();
        assert_eq!(field_of(err), "expiresOn");
        let long = "x".repeat(101);
        let err = json_object(
            &request(&format!(
                r#"{{"name":"{long}","name":"ok","expiresOn":"2027-01-01"}}"#
            )),
            fields,
            MAX_BODY_BYTES,
            false,
        )
        .unwrap_err();
        assert_eq!(field_of(err), "name");
    }

    #[test]
    fn bodies_are_objects_within_the_size_limit() {
        let fields = CreateTokenRequest::FIELDS;
        for text in ["", "  ", "[]", "\"x\"", "{", "null"] {
            assert!(
                matches!(
                    json_object(&request(text), fields, 100, false),
                    Err(ApiError::InvalidJson(_))
                ),
                "{text:?}"
            );
        }
        assert_eq!(
            json_object(&request(" "), fields, 100, true).unwrap(),
            Map::new()
        );
        assert_eq!(
            json_object(&request(&"x".repeat(101)), fields, 100, false),
            Err(ApiError::PayloadTooLarge { max_bytes: 100 })
        );
    }

    #[test]
    fn rotate_bodies() {
        let parse = |body: Value| RotateTokenRequest::from_json(body.as_object().unwrap());
        assert_eq!(
            parse(json!({})).unwrap(),
            RotateTokenRequest {
                expires_on: None,
                time_zone: None,
                grace_seconds: 0
            }
        );
        assert_eq!(
            parse(json!({"graceSeconds": 86400})).unwrap().grace_seconds,
            86400
        );
        for bad in [json!(-1), json!(86401), json!(1.5), json!("60")] {
            assert_eq!(
                field_of(parse(json!({ "graceSeconds": bad })).unwrap_err()),
                "graceSeconds"
            );
        }
        assert_eq!(
            field_of(parse(json!({"timeZone":"Europe/Paris"})).unwrap_err()),
            "timeZone"
        );
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(parse(json!({"name":"é".repeat(100),"expiresOn":"2026-12-31"})).is_ok());
        assert!(
            parse(json!({"name":"ok","description":"ü".repeat(500),"expiresOn":"2026-12-31"}))
                .is_ok()
        );
    }
}
