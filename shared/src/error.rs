//! The one error type of the token API and its HTTP status, code and JSON body.
//! (`api::ResponseHeaders::respond` is the one place a result becomes a response.)

use http::StatusCode;
use serde_json::json;

use crate::store::{CreateTokenError, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{field}: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    #[error("no caller identity in the request context")]
    Unauthenticated,
    #[error("token management needs a signed-in web session; a personal access token cannot manage tokens")]
    SessionRequired,
    #[error("your account is not active in patgate")]
    AccountInactive,
    #[error("no such token")]
    NotFound,
    #[error("no such {0}")]
    NoSuch(&'static str),
    #[error("this needs the patgate:admin permission")]
    Forbidden,
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error("{field} cannot be changed")]
    Immutable { field: &'static str },
    #[error("the record changed since it was read (ETag); read it again")]
    PreconditionFailed,
    #[error("you already have {limit} live tokens, the most allowed; revoke one first")]
    TokenLimitReached { limit: u32 },
    #[error("the token was changed at the same time (rotated elsewhere?); reload and try again")]
    Conflict,
    /// `Idempotency-Key` names an earlier creation this request cannot replay.
    #[error("this Idempotency-Key {reason}; send a new key for a new token")]
    IdempotencyKeyReused { reason: &'static str },
    #[error("request body is larger than {max_bytes} bytes")]
    PayloadTooLarge { max_bytes: usize },
    #[error("GitHub alert refused: {0}")]
    InvalidSignature(&'static str),
    #[error("this signed message was received before")]
    Replayed,
    #[error("the token store is unavailable; try again shortly")]
    Unavailable,
    #[error("internal error")]
    Internal,
}

impl ApiError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::InvalidField {
            field,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) | ApiError::InvalidField { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::InvalidSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Replayed => StatusCode::CONFLICT,
            ApiError::SessionRequired | ApiError::AccountInactive => StatusCode::FORBIDDEN,
            ApiError::NotFound | ApiError::NoSuch(_) => StatusCode::NOT_FOUND,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::AlreadyExists(_) => StatusCode::CONFLICT,
            ApiError::Immutable { .. } => StatusCode::BAD_REQUEST,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::TokenLimitReached { .. }
            | ApiError::Conflict
            | ApiError::IdempotencyKeyReused { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidField { .. } => "invalid_field",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidSignature(_) => "invalid_signature",
            ApiError::Replayed => "replayed",
            ApiError::SessionRequired => "session_required",
            ApiError::AccountInactive => "forbidden",
            ApiError::NotFound | ApiError::NoSuch(_) => "not_found",
            ApiError::Forbidden => "forbidden",
            ApiError::AlreadyExists(_) => "already_exists",
            ApiError::Immutable { .. } => "immutable",
            ApiError::PreconditionFailed => "precondition_failed",
            ApiError::TokenLimitReached { .. } => "token_limit_reached",
            ApiError::Conflict => "conflict",
            ApiError::IdempotencyKeyReused { .. } => "idempotency_key_reused",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unavailable => "service_unavailable",
            ApiError::Internal => "internal_error",
        }
    }

    /// `{"error":{"code","message"}}`, plus `field` for field errors.
    pub fn body(&self) -> serde_json::Value {
        let mut error = json!({ "code": self.code(), "message": self.to_string() });
        match self {
            ApiError::InvalidField { field, .. } | ApiError::Immutable { field } => {
                error["field"] = json!(field)
            }
            ApiError::IdempotencyKeyReused { .. } => {
                error["field"] = json!(crate::api::IDEMPOTENCY_KEY_HEADER)
            }
            _ => {}
        }
        json!({ "error": error })
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "token store unavailable");
                ApiError::Unavailable
            }
            StoreError::Internal(detail) => {
                tracing::error!(error = %detail, "token store failed");
                ApiError::Internal
            }
        }
    }
}

impl From<CreateTokenError> for ApiError {
    fn from(err: CreateTokenError) -> Self {
        match err {
            CreateTokenError::LimitReached(limit) => ApiError::TokenLimitReached { limit },
            CreateTokenError::IdempotencyKeyUsed => ApiError::Conflict,
            CreateTokenError::Store(err) => err.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_its_status_and_json_shape() {
        let cases = [
            (ApiError::InvalidJson("eof".into()), 400, "invalid_json"),
            (
                ApiError::invalid("name", "is required"),
                400,
                "invalid_field",
            ),
            (ApiError::Unauthenticated, 401, "unauthenticated"),
            (ApiError::SessionRequired, 403, "session_required"),
            (ApiError::AccountInactive, 403, "forbidden"),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::NoSuch("user"), 404, "not_found"),
            (ApiError::Forbidden, 403, "forbidden"),
            (ApiError::AlreadyExists("user"), 409, "already_exists"),
            (ApiError::Immutable { field: "userName" }, 400, "immutable"),
            (ApiError::PreconditionFailed, 412, "precondition_failed"),
            (
                ApiError::TokenLimitReached { limit: 50 },
                409,
                "token_limit_reached",
            ),
            (ApiError::Conflict, 409, "conflict"),
            (
                ApiError::IdempotencyKeyReused {
                    reason: "was used with another request",
                },
                409,
                "idempotency_key_reused",
            ),
            (
                ApiError::InvalidSignature("unknown key identifier"),
                401,
                "invalid_signature",
            ),
            (ApiError::Replayed, 409, "replayed"),
            (
                ApiError::PayloadTooLarge { max_bytes: 16 },
                413,
                "payload_too_large",
            ),
            (ApiError::Unavailable, 503, "service_unavailable"),
            (ApiError::Internal, 500, "internal_error"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status);
            let body = err.body();
            assert_eq!(body["error"]["code"], code);
            assert!(body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
        let field = ApiError::invalid("expiresOn", "must be YYYY-MM-DD").body();
        assert_eq!(field["error"]["field"], "expiresOn");
        assert_eq!(field["error"]["message"], "expiresOn: must be YYYY-MM-DD");
        let reused = ApiError::IdempotencyKeyReused {
            reason: "was used with another request",
        }
        .body();
        assert_eq!(reused["error"]["field"], "Idempotency-Key");
    }
}
