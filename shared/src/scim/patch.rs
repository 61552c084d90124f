//! SCIM PATCH (RFC 7644 §3.5.2) of a User: `add`, `replace` and `remove` of
//! `active`, `roles` (also `roles[value eq "X"]`), `displayName`, `externalId`,
//! `timezone` and `emails`, with a path or with a value object (as Entra ID and Okta
//! send). Other attributes patgate does not keep are ignored; `userName` cannot change.

use serde_json::{Map, Value};

use super::resources::{attribute, emails, roles, timezone, ScimUser};
use super::{ScimError, PATCH_SCHEMA, USER_SCHEMA};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

fn no_target(detail: impl Into<String>) -> ScimError {
    ScimError::new(400, Some("noTarget"), detail)
}

/// Applies a PatchOp message to `user`; nothing is applied unless every operation is.
pub fn apply_patch(user: &mut ScimUser, body: &Value) -> Result<(), ScimError> {
    let body = body.as_object().ok_or_else(|| {
        ScimError::new(
            400,
            Some("invalidSyntax"),
            "the body must be a PatchOp object",
        )
    })?;
    let schemas_ok = attribute(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(PATCH_SCHEMA)));
    if !schemas_ok {
        return Err(ScimError::new(
            400,
            Some("invalidSyntax"),
            format!("schemas must list {PATCH_SCHEMA}"),
        ));
    }
    let operations = attribute(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| {
            ScimError::new(
                400,
                Some("invalidSyntax"),
                "Operations must be a non-empty list",
            )
        })?;
    let mut patched = user.clone();
    for operation in operations {
        let operation = operation.as_object().ok_or_else(|| {
            ScimError::new(
                400,
                Some("invalidSyntax"),
                "each operation must be an object",
            )
        })?;
        let op = match attribute(operation, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            _ => {
                return Err(ScimError::new(
                    400,
                    Some("invalidSyntax"),
                    "op must be add, replace or remove",
                ))
            }
        };
        let value = attribute(operation, "value");
        match attribute(operation, "path").and_then(Value::as_str) {
            Some(path) => apply_path(&mut patched, op, path.trim(), value)?,
            None if op == Op::Remove => return Err(no_target("remove needs a path")),
            None => {
                let object = value.and_then(Value::as_object).ok_or_else(|| {
                    ScimError::invalid_value("an operation without a path needs an object value")
                })?;
                for (name, value) in object {
                    apply_path(&mut patched, op, name, Some(value))?;
                }
            }
        }
    }
    *user = patched;
    Ok(())
}

fn apply_path(
    user: &mut ScimUser,
    op: Op,
    path: &str,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let path = path
        .strip_prefix(USER_SCHEMA)
        .map(|p| p.trim_start_matches(':'))
        .unwrap_or(path);
    if let Some((name, filter)) = path.split_once('[') {
        return apply_filtered(user, op, name, filter);
    }
    let name = path.to_ascii_lowercase();
    if op == Op::Remove {
        match name.as_str() {
            "roles" => user.roles.clear(),
            "emails" => user.emails.clear(),
            "displayname" => user.display_name = None,
            "externalid" => user.external_id = None,
            "timezone" => user.timezone = None,
            "username" | "active" => {
                return Err(ScimError::new(
                    400,
                    Some("mutability"),
                    format!("{path} cannot be removed"),
                ))
            }
            _ => {}
        }
        return Ok(());
    }
    let one = |v: Option<&Value>| -> Result<Option<String>, ScimError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.chars().count() <= 256 => Ok(Some(s.clone())),
            Some(_) => Err(ScimError::invalid_value(format!("{path} must be a string"))),
        }
    };
    let mut wrapped = Map::new();
    if let Some(value) = value {
        wrapped.insert(name.clone(), value.clone());
    }
    match name.as_str() {
        "active" => {
            user.active = match value {
                Some(Value::Bool(b)) => *b,
                // Entra ID sends "True"/"False".
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err(ScimError::invalid_value("active must be a boolean")),
            }
        }
        "roles" => {
            let given = roles(attribute(&wrapped, "roles"))?;
            if op == Op::Add {
                for role in given {
                    if !user.roles.contains(&role) {
                        user.roles.push(role);
                    }
                }
            } else {
                user.roles = given;
            }
        }
        "emails" => {
            let given = emails(attribute(&wrapped, "emails"))?;
            if op == Op::Add {
                user.emails.extend(given);
            } else {
                user.emails = given;
            }
        }
        "displayname" => user.display_name = one(value)?,
        "externalid" => user.external_id = one(value)?,
        "timezone" => user.timezone = timezone(attribute(&wrapped, "timezone"))?,
        "username" if one(value)?.as_deref() != Some(user.user_name.as_str()) => {
            return Err(ScimError::new(
                400,
                Some("mutability"),
                "userName cannot be changed",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// `roles[value eq "X"]` (remove or replace that role); other filtered paths are
/// refused.
fn apply_filtered(user: &mut ScimUser, op: Op, name: &str, filter: &str) -> Result<(), ScimError> {
    let filter = filter.trim_end_matches(']');
    let value = filter
        .trim()
        .strip_prefix("value")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("eq").or_else(|| r.strip_prefix("EQ")))
        .and_then(|r| serde_json::from_str::<String>(r.trim()).ok());
    match (name.to_ascii_lowercase().as_str(), value, op) {
        ("roles", Some(role), Op::Remove) => {
            user.roles.retain(|r| r != &role);
            Ok(())
        }
        _ => Err(ScimError::new(
            400,
            Some("invalidPath"),
            "filtered paths are supported for removing roles only",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ann() -> ScimUser {
        ScimUser {
            user_name: "ann".into(),
            external_id: None,
            display_name: Some("Ann".into()),
            active: true,
            emails: vec![],
            roles: vec!["Viewer".into(), "User".into()],
            timezone: None,
        }
    }

    fn patch(ops: Value) -> Value {
        json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
    }

    #[test]
    fn okta_and_entra_style_deactivations_and_role_changes_apply() {
        let mut user = ann();
        apply_patch(
            &mut user,
            &patch(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .unwrap();
        assert!(!user.active);
        let mut user = ann();
        apply_patch(
            &mut user,
            &patch(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .unwrap();
        assert!(!user.active);
        apply_patch(
            &mut user,
            &patch(json!([
                {"op": "add", "path": "roles", "value": [{"value": "Admin"}]},
                {"op": "remove", "path": "roles[value eq \"Viewer\"]"},
                {"op": "replace", "path": "displayName", "value": "Ann Lee"},
            ])),
        )
        .unwrap();
        assert_eq!(user.roles, ["User", "Admin"]);
        assert_eq!(user.display_name.as_deref(), Some("Ann Lee"));
        apply_patch(
            &mut user,
            &patch(json!([{"op": "replace", "path": "roles", "value": [{"value": "Viewer"}]}])),
        )
        .unwrap();
        assert_eq!(user.roles, ["Viewer"]);
    }

    #[test]
    fn bad_patches_change_nothing() {
        for (body, kind) in [
            (
                json!({"Operations": [{"op": "replace", "path": "active", "value": false}]}),
                "invalidSyntax",
            ),
            (patch(json!([])), "invalidSyntax"),
            (
                patch(json!([{"op": "move", "path": "active"}])),
                "invalidSyntax",
            ),
            (
                patch(
                    json!([{"op": "replace", "path": "active", "value": false}, {"op": "replace", "path": "userName", "value": "bob"}]),
                ),
                "mutability",
            ),
            (
                patch(json!([{"op": "replace", "path": "timezone", "value": "Mars/Base"}])),
                "invalidValue",
            ),
            (patch(json!([{"op": "remove"}])), "noTarget"),
        ] {
            let mut user = ann();
            let err = apply_patch(&mut user, &body).unwrap_err();
            assert_eq!(err.scim_type, Some(kind), "{body}");
            assert_eq!(user, ann(), "{body}");
        }
    }
}
