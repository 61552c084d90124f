//! The token API's wire types, request reading and response writing.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{ApiError, MAX_BODY_BYTES};
use crate::expiry::{parse_date, parse_time_zone};
use crate::store::{items::timestamp, TokenRecord};
use crate::user::UserId;

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// The caller, as the API Gateway authorizer in front of the function identified them:
/// a Lambda authorizer's `userId` context key or `principalId`, or the `sub` claim of
/// a Cognito user pool / JWT authorizer (the web UI's session).
pub fn caller(request: &Request) -> Result<UserId, ApiError> {
    let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
        return Err(ApiError::Unauthenticated);
    };
    let fields = &context.authorizer.fields;
    let lambda_authorizer = fields
        .get("userId")
        .or_else(|| fields.get("principalId"))
        .and_then(Value::as_str);
    let session_claim = fields.get("claims").and_then(claim_sub);
    let jwt_claim = context
        .authorizer
        .jwt
        .as_ref()
        .and_then(|jwt| jwt.claims.get("sub"))
        .map(String::as_str);
    lambda_authorizer
        .or(session_claim)
        .or(jwt_claim)
        .and_then(UserId::parse)
        .ok_or(ApiError::Unauthenticated)
}

fn claim_sub(claims: &Value) -> Option<&str> {
    claims.get("sub").and_then(Value::as_str)
}

/// The request body as a JSON object, refusing bodies over [`MAX_BODY_BYTES`].
pub fn json_object(request: &Request) -> Result<Map<String, Value>, ApiError> {
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidJson(
            "the body is empty; send a JSON object".to_owned(),
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::InvalidJson(
            "the body must be a JSON object".to_owned(),
        )),
        Err(err) => Err(ApiError::InvalidJson(err.to_string())),
    }
}

/// A validated `POST /tokens` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateTokenRequest {
    pub name: String,
    pub description: Option<String>,
    pub expires_on: NaiveDate,
    /// The zone the web UI reports for the user right now, if it sent one.
    pub time_zone: Option<Tz>,
}

impl CreateTokenRequest {
    pub const FIELDS: [&'static str; 4] = ["name", "description", "expiresOn", "timeZone"];

    pub fn from_json(body: &Map<String, Value>) -> Result<Self, ApiError> {
        if let Some(unknown) = body.keys().find(|k| !Self::FIELDS.contains(&k.as_str())) {
            return Err(ApiError::InvalidField {
                field: "body",
                message: format!(
                    "unknown field `{}`; allowed: {}",
                    truncate(unknown, 40),
                    Self::FIELDS.join(", ")
                ),
            });
        }
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
        let expires_on = match optional_string(body, "expiresOn")? {
            Some(raw) => parse_date(raw)
                .ok_or_else(|| ApiError::invalid("expiresOn", "must be a date as YYYY-MM-DD"))?,
            None => return Err(ApiError::invalid("expiresOn", "is required")),
        };
        let time_zone = match optional_string(body, "timeZone")? {
            Some(raw) => Some(parse_time_zone(raw).ok_or_else(|| {
                ApiError::invalid(
                    "timeZone",
                    "must be an IANA time zone name such as Europe/Paris",
                )
            })?),
            None => None,
        };
        Ok(CreateTokenRequest {
            name,
            description,
            expires_on,
            time_zone,
        })
    }
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

/// A token as the API shows it: metadata and a hint, never the secret or its hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenView {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub expires_on: String,
    pub time_zone: String,
    pub last_used_at: Option<String>,
    pub hint: String,
}

impl From<&TokenRecord> for TokenView {
    fn from(record: &TokenRecord) -> Self {
        TokenView {
            id: record.id.as_str().to_owned(),
            name: record.name.clone(),
            description: record.description.clone(),
            created_at: timestamp(record.created_at),
            expires_at: timestamp(record.expires_at),
            expires_on: record.expires_on.format("%Y-%m-%d").to_string(),
            time_zone: record.time_zone.name().to_owned(),
            last_used_at: record.last_used_at.map(timestamp),
            hint: record.hint.clone(),
        }
    }
}

/// The `POST /tokens` answer: the only response that ever carries the plaintext.
#[derive(Debug, Serialize)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: TokenView,
    /// The plaintext token, shown once.
    #[serde(rename = "token")]
    pub secret: String,
}

#[derive(Debug, Serialize)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

impl TokenList {
    /// Live tokens only: revoked ones and those past expiry that TTL has not removed yet are left out.
    pub fn live(records: &[TokenRecord], now: DateTime<Utc>) -> Self {
        TokenList {
            tokens: records
                .iter()
                .filter(|t| t.is_live(now))
                .map(TokenView::from)
                .collect(),
        }
    }
}

/// Headers every token API response carries.
#[derive(Debug, Clone, Default)]
pub struct ResponseHeaders {
    /// The web UI origin allowed to read responses (CORS).
    pub web_origin: Option<String>,
}

impl ResponseHeaders {
    pub fn new(web_origin: Option<String>) -> Self {
        ResponseHeaders { web_origin }
    }

    pub fn json(&self, status: u16, body: &impl Serialize) -> Response<Body> {
        match serde_json::to_string(body) {
            Ok(text) => self.build(status, Body::Text(text)),
            Err(_) => self.error(ApiError::Internal),
        }
    }

    pub fn empty(&self, status: u16) -> Response<Body> {
        self.build(status, Body::Empty)
    }

    /// The one place an [`ApiError`] becomes a response.
    pub fn error(&self, err: ApiError) -> Response<Body> {
        self.build(err.status().as_u16(), Body::Text(err.body().to_string()))
    }

    fn build(&self, status: u16, body: Body) -> Response<Body> {
        let mut builder = Response::builder()
            .status(status)
            // Token responses may carry a secret: never cache them anywhere.
            .header("Cache-Control", "no-store");
        if !matches!(body, Body::Empty) {
            builder = builder.header("Content-Type", "application/json");
        }
        if let Some(origin) = &self.web_origin {
            builder = builder
                .header("Access-Control-Allow-Origin", origin.as_str())
                .header("Vary", "Origin");
        }
        builder.body(body).unwrap_or_else(|_| {
            let mut fallback = Response::new(Body::Empty);
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<CreateTokenRequest, ApiError> {
        CreateTokenRequest::from_json(body.as_object().unwrap())
    }

    fn field_of(err: ApiError) -> &'static str {
        match err {
            ApiError::InvalidField { field, .. } => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn a_full_body_parses_and_trims() {
        let req = parse(json!({"name":"  ci deploy ","description":" for CI ","expiresOn":"2026-12-31","timeZone":"Asia/Kathmandu"})).unwrap();
        assert_eq!(req.name, "ci deploy");
        assert_eq!(req.description.as_deref(), Some("for CI"));
        assert_eq!(
            req.expires_on,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        assert_eq!(req.time_zone, Some(chrono_tz::Asia::Kathmandu));
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
                json!({"name":"ok","expiresOn":"2026-12-31","role":"Admin"}),
                "body",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(field_of(parse(body.clone()).unwrap_err()), field, "{body}");
        }
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(parse(json!({"name":"é".repeat(100),"expiresOn":"2026-12-31"})).is_ok());
        assert!(
            parse(json!({"name":"ok","description":"ü".repeat(500),"expiresOn":"2026-12-31"}))
                .is_ok()
        );
    }

    #[test]
    fn error_responses_carry_cors_and_no_store() {
        let headers = ResponseHeaders::new(Some("https://portal.example.com".into()));
        let response = headers.error(ApiError::NotFound);
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://portal.example.com"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        let body: Value = serde_json::from_str(text).unwrap();
        assert_eq!(body["error"]["code"], "not_found");
        assert!(ResponseHeaders::default()
            .empty(204)
            .headers()
            .get("access-control-allow-origin")
            .is_none());
    }
}
