//! What the token API answers with: token views, pages, and the one place a
//! handler's result becomes an HTTP response.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

use super::{wire_date, wire_time};
use crate::error::ApiError;
use crate::store::{RevokedToken, TokenRecord};

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
    pub hint: String,
    /// `None`: all of its user's permissions.
    pub permissions: Option<Vec<String>>,
    pub last_used_at: Option<String>,
    pub last_used_ip: Option<String>,
    pub last_used_user_agent: Option<String>,
    pub rotated_at: Option<String>,
    pub secret_reused_at: Option<String>,
    pub status: &'static str,
    pub revoked_at: Option<String>,
    pub revoked_reason: Option<&'static str>,
    /// Permissions the token relied on that its owner's roles no longer grant.
    pub permissions_lost: Vec<LostPermission>,
}

/// One permission a token lost to a role change, and when.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LostPermission {
    pub permission: String,
    pub lost_at: String,
}

impl From<&TokenRecord> for TokenView {
    fn from(record: &TokenRecord) -> Self {
        let last_use = record.last_use.as_ref();
        TokenView {
            id: record.id.as_str().to_owned(),
            name: record.name.clone(),
            description: record.description.clone(),
            created_at: wire_time(record.created_at),
            expires_at: wire_time(record.expiry.expires_at),
            expires_on: wire_date(record.expiry.expires_on),
            time_zone: record.expiry.time_zone.name().to_owned(),
            hint: record.hint.clone(),
            permissions: record
                .permissions
                .as_ref()
                .map(|set| set.iter().cloned().collect()),
            last_used_at: last_use.map(|u| wire_time(u.at)),
            last_used_ip: last_use.and_then(|u| u.ip.clone()),
            last_used_user_agent: last_use.and_then(|u| u.user_agent.clone()),
            rotated_at: record.rotated_at.map(wire_time),
            secret_reused_at: record.secret_reused_at.map(wire_time),
            status: "active",
            revoked_at: None,
            revoked_reason: None,
            permissions_lost: record
                .permissions_lost
                .iter()
                .map(|(permission, at)| LostPermission {
                    permission: permission.clone(),
                    lost_at: wire_time(*at),
                })
                .collect(),
        }
    }
}

impl From<&RevokedToken> for TokenView {
    fn from(revoked: &RevokedToken) -> Self {
        TokenView {
            status: "revoked",
            revoked_at: Some(wire_time(revoked.revoked_at)),
            revoked_reason: Some(revoked.reason.as_str()),
            ..TokenView::from(&revoked.token)
        }
    }
}

/// The answer that issues a secret (create, rotate): the only one that carries it.
#[derive(Debug, Serialize)]
pub struct IssuedToken {
    #[serde(flatten)]
    pub token: TokenView,
    /// The plaintext token, shown once.
    #[serde(rename = "token")]
    pub secret: String,
    /// The answer replays an earlier creation (header `Idempotent-Replayed: true`).
    #[serde(skip)]
    pub replayed: bool,
}

/// What the caller may give a token, so the web UI can offer exactly that.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CallerView {
    pub permissions: Vec<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub max_token_lifetime_days: u32,
    pub max_tokens_per_user: u32,
    pub max_grace_seconds: u32,
}

/// The `GET /tokens` answer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenPage {
    pub tokens: Vec<TokenView>,
    pub next_token: Option<String>,
    pub caller: CallerView,
    pub limits: Limits,
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

    /// The one place a handler's result becomes a response: `status` with the JSON of
    /// the value, or the error's status and body.
    pub fn respond<T: Serialize>(
        &self,
        status: StatusCode,
        result: Result<T, ApiError>,
    ) -> Response<Body> {
        match result.and_then(|value| serde_json::to_string(&value).map_err(|_| ApiError::Internal))
        {
            Ok(text) => self.build(status, Body::Text(text)),
            Err(err) => self.build(err.status(), Body::Text(err.body().to_string())),
        }
    }

    /// Like [`ResponseHeaders::respond`] for answers without a body (204, 202).
    pub fn respond_empty(
        &self,
        status: StatusCode,
        result: Result<(), ApiError>,
    ) -> Response<Body> {
        match result {
            Ok(()) => self.build(status, Body::Empty),
            Err(err) => self.build(err.status(), Body::Text(err.body().to_string())),
        }
    }

    fn build(&self, status: StatusCode, body: Body) -> Response<Body> {
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
            *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn error_responses_carry_cors_and_no_store() {
        let headers = ResponseHeaders::new(Some("https://portal.example.com".into()));
        let response = headers.respond::<()>(StatusCode::OK, Err(ApiError::NotFound));
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
        let empty = ResponseHeaders::default().respond_empty(StatusCode::NO_CONTENT, Ok(()));
        assert_eq!(empty.status(), 204);
        assert!(empty.headers().get("access-control-allow-origin").is_none());
        assert!(empty.headers().get("content-type").is_none());
    }
}
