//! SCIM User resources both ways, and the discovery documents.

use serde_json::{json, Map, Value};

use super::{ScimError, LIST_SCHEMA, MAX_COUNT, USER_SCHEMA};
use crate::api::wire_time;
use crate::directory::UserWrite;
use crate::expiry::parse_time_zone;
use crate::store::{Email, ScimAttributes, StoredUser};

/// A SCIM User as patgate keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimUser {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub active: bool,
    pub emails: Vec<Email>,
    pub roles: Vec<String>,
    pub timezone: Option<String>,
}

/// An attribute of `body` by name, in any case (SCIM names are case-insensitive).
pub(crate) fn attribute<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn text(value: Option<&Value>, name: &str) -> Result<Option<String>, ScimError> {
    match value {
        None => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= 256 => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{name} must be a string of at most 256 characters"
        ))),
    }
}

pub(crate) fn emails(value: Option<&Value>) -> Result<Vec<Email>, ScimError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let list = value
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("emails must be a list"))?;
    list.iter()
        .take(20)
        .map(|e| {
            let e = e
                .as_object()
                .ok_or_else(|| ScimError::invalid_value("emails[] must be objects"))?;
            Ok(Email {
                value: text(attribute(e, "value"), "emails.value")?
                    .ok_or_else(|| ScimError::invalid_value("emails[].value is required"))?,
                kind: text(attribute(e, "type"), "emails.type")?,
                primary: attribute(e, "primary")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect()
}

/// `roles`: a list of `{"value"}` objects (or of plain strings, which some providers send).
pub(crate) fn roles(value: Option<&Value>) -> Result<Vec<String>, ScimError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let list = value
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("roles must be a list"))?;
    let mut roles: Vec<String> = Vec::new();
    for role in list.iter().take(crate::api::admin::MAX_ROLES) {
        let name = match role {
            Value::String(s) => s.clone(),
            Value::Object(o) => text(attribute(o, "value"), "roles.value")?
                .ok_or_else(|| ScimError::invalid_value("roles[].value is required"))?,
            _ => {
                return Err(ScimError::invalid_value(
                    "roles[] must be objects with a value",
                ))
            }
        };
        let name = name.trim().to_owned();
        if !name.is_empty() && !roles.contains(&name) {
            roles.push(name);
        }
    }
    Ok(roles)
}

pub(crate) fn timezone(value: Option<&Value>) -> Result<Option<String>, ScimError> {
    let zone = text(value, "timezone")?;
    if let Some(zone) = &zone {
        if parse_time_zone(zone).is_none() {
            return Err(ScimError::invalid_value(
                "timezone must be an IANA time zone name",
            ));
        }
    }
    Ok(zone)
}

impl ScimUser {
    /// A User resource sent to create or replace one.
    pub fn from_json(body: &Value) -> Result<Self, ScimError> {
        let body = body.as_object().ok_or_else(|| {
            ScimError::new(400, Some("invalidSyntax"), "the body must be a JSON object")
        })?;
        let user_name = text(attribute(body, "userName"), "userName")?
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
        if crate::user::UserId::parse(&user_name).is_none() {
            return Err(ScimError::invalid_value(
                "userName must be 1 to 128 visible characters without spaces or #",
            ));
        }
        let active = match attribute(body, "active") {
            None => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ScimError::invalid_value("active must be a boolean")),
        };
        Ok(ScimUser {
            user_name,
            external_id: text(attribute(body, "externalId"), "externalId")?,
            display_name: text(attribute(body, "displayName"), "displayName")?,
            active,
            emails: emails(attribute(body, "emails"))?,
            roles: roles(attribute(body, "roles"))?,
            timezone: timezone(attribute(body, "timezone"))?,
        })
    }

    pub fn of(stored: &StoredUser) -> Self {
        let scim = &stored.profile.scim;
        ScimUser {
            user_name: scim
                .user_name
                .clone()
                .unwrap_or_else(|| stored.user.id.as_str().to_owned()),
            external_id: scim.external_id.clone(),
            display_name: scim.display_name.clone(),
            active: stored.user.active,
            emails: scim.emails.clone(),
            roles: stored.user.roles.clone(),
            timezone: stored.user.time_zone.map(|tz| tz.name().to_owned()),
        }
    }

    /// The directory write this resource means.
    pub fn write(&self, if_version: Option<u64>) -> UserWrite {
        UserWrite {
            roles: self.roles.clone(),
            time_zone: self.timezone.as_deref().and_then(parse_time_zone),
            active: self.active,
            scim: Some(ScimAttributes {
                user_name: Some(self.user_name.clone()),
                external_id: self.external_id.clone(),
                display_name: self.display_name.clone(),
                emails: self.emails.clone(),
            }),
            if_version,
        }
    }
}

/// `W/"n"`: a record's ETag.
pub fn etag(stored: &StoredUser) -> String {
    format!("W/\"{}\"", stored.profile.version)
}

/// The record version an `If-Match` header names, if it names one.
pub fn if_match(header: Option<&str>) -> Result<Option<u64>, ScimError> {
    match header.map(str::trim) {
        None | Some("*") => Ok(None),
        Some(tag) => tag
            .trim_start_matches("W/")
            .trim_matches('"')
            .parse()
            .map(Some)
            .map_err(|_| ScimError::new(412, None, "If-Match names no version of this resource")),
    }
}

/// The User resource of a stored user; `base` is `https://host[/stage]/scim/v2`.
pub fn user_resource(stored: &StoredUser, base: &str) -> Value {
    let user = ScimUser::of(stored);
    let id = stored.user.id.as_str();
    let mut resource = json!({
        "schemas": [USER_SCHEMA],
        "id": id,
        "userName": user.user_name,
        "active": user.active,
        "roles": user.roles.iter().map(|r| json!({"value": r})).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "User",
            "location": format!("{base}/Users/{id}"),
            "version": etag(stored),
        },
    });
    let meta = &mut resource["meta"];
    if let Some(at) = stored.profile.created_at {
        meta["created"] = json!(wire_time(at));
    }
    if let Some(at) = stored.profile.modified_at.or(stored.profile.created_at) {
        meta["lastModified"] = json!(wire_time(at));
    }
    for (name, value) in [
        ("externalId", user.external_id),
        ("displayName", user.display_name),
        ("timezone", user.timezone),
    ] {
        if let Some(value) = value {
            resource[name] = json!(value);
        }
    }
    if !user.emails.is_empty() {
        resource["emails"] = user
            .emails
            .iter()
            .map(|e| {
                let mut email = json!({"value": e.value, "primary": e.primary});
                if let Some(kind) = &e.kind {
                    email["type"] = json!(kind);
                }
                email
            })
            .collect();
    }
    resource
}

pub fn list_response(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/patgate/patgate/blob/main/infra/docs/api.md",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer credential",
            "description": "A credential patgate issues for the identity provider (POST /admin/integrations/scim/credential)",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}

pub fn resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person who may hold personal access tokens",
        "schema": USER_SCHEMA,
        "schemaExtensions": [],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

fn attribute_schema(
    name: &str,
    kind: &str,
    multi: bool,
    required: bool,
    mutability: &str,
    uniqueness: &str,
) -> Value {
    json!({
        "name": name, "type": kind, "multiValued": multi, "required": required,
        "caseExact": false, "mutability": mutability, "returned": "default",
        "uniqueness": uniqueness, "description": name,
    })
}

pub fn user_schema(base: &str) -> Value {
    let mut emails = attribute_schema("emails", "complex", true, false, "readWrite", "none");
    emails["subAttributes"] = json!([
        attribute_schema("value", "string", false, false, "readWrite", "none"),
        attribute_schema("type", "string", false, false, "readWrite", "none"),
        attribute_schema("primary", "boolean", false, false, "readWrite", "none"),
    ]);
    let mut roles = attribute_schema("roles", "complex", true, false, "readWrite", "none");
    roles["subAttributes"] = json!([attribute_schema(
        "value",
        "string",
        false,
        false,
        "readWrite",
        "none"
    )]);
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "User Account",
        "attributes": [
            attribute_schema("userName", "string", false, true, "immutable", "server"),
            attribute_schema("externalId", "string", false, false, "readWrite", "none"),
            attribute_schema("displayName", "string", false, false, "readWrite", "none"),
            attribute_schema("active", "boolean", false, false, "readWrite", "none"),
            attribute_schema("timezone", "string", false, false, "readWrite", "none"),
            emails,
            roles,
        ],
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}")},
    })
}
