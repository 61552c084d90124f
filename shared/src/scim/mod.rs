//! SCIM 2.0 (RFC 7643/7644) for identity providers: users only.
//!
//! Mapping (documented in infra/docs/api.md): SCIM `id` = `userName` as the identity
//! provider sent it = the patgate user id (immutable: a change is refused with
//! `scimType: mutability`); `active` → active; `roles[].value` → role names;
//! `timezone` → the user's zone; `externalId`, `displayName`, `emails` kept as given;
//! `meta.version` is the record's write counter (`W/"n"`). Unknown attributes are
//! ignored, as RFC 7643 §3.1 allows. Errors use SCIM's error shape ([`ScimError`]).

mod patch;
mod resources;

pub use patch::apply_patch;
pub use resources::*;

use serde_json::{json, Value};

use crate::error::ApiError;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const CONTENT_TYPE: &str = "application/scim+json";
/// Largest page of a list, and its default.
pub const MAX_COUNT: u32 = 100;

/// A SCIM error: HTTP status, `scimType` when RFC 7644 §3.12 names one, and detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::new(400, Some("invalidValue"), detail)
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(kind) = self.scim_type {
            body["scimType"] = json!(kind);
        }
        body
    }
}

/// The one mapping of the API's errors to SCIM's.
impl From<ApiError> for ScimError {
    fn from(err: ApiError) -> Self {
        let detail = err.to_string();
        let status = err.status().as_u16();
        let scim_type = match &err {
            ApiError::InvalidJson(_) => Some("invalidSyntax"),
            ApiError::InvalidField { .. } => Some("invalidValue"),
            ApiError::Immutable { .. } => Some("mutability"),
            ApiError::AlreadyExists(_) => Some("uniqueness"),
            _ => None,
        };
        ScimError {
            status,
            scim_type,
            detail,
        }
    }
}

/// `filter=userName eq "value"` (attribute name in any case, `eq` only): the value.
pub fn user_name_filter(filter: &str) -> Result<String, ScimError> {
    let invalid = || {
        ScimError::new(
            400,
            Some("invalidFilter"),
            "only `userName eq \"value\"` is supported",
        )
    };
    let trimmed = filter.trim();
    let (attribute, rest) = trimmed
        .split_once(char::is_whitespace)
        .ok_or_else(invalid)?;
    let (operator, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(invalid)?;
    if !attribute.eq_ignore_ascii_case("userName")
        && !attribute.eq_ignore_ascii_case(&format!("{USER_SCHEMA}:userName"))
    {
        return Err(invalid());
    }
    if !operator.eq_ignore_ascii_case("eq") {
        return Err(invalid());
    }
    match serde_json::from_str::<Value>(value.trim()) {
        Ok(Value::String(value)) => Ok(value),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_name_the_user_name_only() {
        assert_eq!(
            user_name_filter(r#"userName eq "ann@example.com""#).unwrap(),
            "ann@example.com"
        );
        assert_eq!(
            user_name_filter(r#"USERNAME Eq "a \"q\"""#).unwrap(),
            "a \"q\""
        );
        for bad in [
            r#"displayName eq "x""#,
            r#"userName co "x""#,
            "userName eq x",
            "userName",
            r#"userName eq "x" and active eq true"#,
        ] {
            let err = user_name_filter(bad).unwrap_err();
            assert_eq!(
                (err.status, err.scim_type),
                (400, Some("invalidFilter")),
                "{bad}"
            );
        }
    }

    #[test]
    fn api_errors_become_scim_errors() {
        let err = ScimError::from(ApiError::AlreadyExists("userName"));
        assert_eq!(err.body()["scimType"], "uniqueness");
        assert_eq!(err.body()["status"], "409");
        assert_eq!(err.body()["schemas"][0], ERROR_SCHEMA);
        let err = ScimError::from(ApiError::Immutable { field: "userName" });
        assert_eq!((err.status, err.scim_type), (400, Some("mutability")));
        assert_eq!(ScimError::from(ApiError::NoSuch("user")).status, 404);
    }
}
