//! The deploying team's tools for the permission configuration
//! (`patgate::permissions`, format version 1):
//!
//! - [`check`]: every rule the functions apply at cold start, each problem named by
//!   its entry (a JSON pointer such as `/apis/orders/routes/3`) and its line;
//! - [`openapi_routes`]: a client API's route table from its OpenAPI document, where
//!   each operation behind the patgate authorizer carries `x-patgate-permission`, so
//!   the API's own spec is the one place a route and its permission are written;
//! - [`replace_routes`]: writes such a table into a configuration file, leaving the
//!   rest of the file as it was.

use std::collections::BTreeMap;

use patgate::permissions::{PermissionConfig, PermissionConfigError};
use serde_json::{json, Value};

mod spans;

pub use spans::{spans, Span};

/// The OpenAPI extension naming an operation's permission.
pub const EXTENSION: &str = "x-patgate-permission";

/// OpenAPI's operation keys, and API Gateway's extension for `ANY`.
const OPERATIONS: [(&str, &str); 8] = [
    ("get", "GET"),
    ("put", "PUT"),
    ("post", "POST"),
    ("delete", "DELETE"),
    ("options", "OPTIONS"),
    ("head", "HEAD"),
    ("patch", "PATCH"),
    ("x-amazon-apigateway-any-method", "ANY"),
];

/// Reads and checks a configuration file's text as the functions do at cold start.
/// Each problem reads `line N: /pointer: message` (the line of the entry at fault).
pub fn check(text: &str) -> Result<PermissionConfig, Vec<String>> {
    match PermissionConfig::from_json(text) {
        Ok(config) => Ok(config),
        // serde's message already names the line and column.
        Err(PermissionConfigError::Json(message)) => Err(vec![message]),
        Err(PermissionConfigError::Read { path, reason }) => Err(vec![format!("{path}: {reason}")]),
        Err(PermissionConfigError::Invalid(issues)) => {
            let located = spans(text);
            Err(issues
                .iter()
                .map(|issue| match line_of(&located, &issue.entry) {
                    Some(line) => format!("line {line}: {issue}"),
                    None => issue.to_string(),
                })
                .collect())
        }
    }
}

/// The line of `pointer`'s value, or of its nearest enclosing entry the file has.
fn line_of(located: &BTreeMap<String, Span>, pointer: &str) -> Option<usize> {
    let mut candidate = pointer;
    loop {
        if let Some(span) = located.get(candidate) {
            return Some(span.line);
        }
        candidate = &candidate[..candidate.rfind('/')?];
    }
}

/// The routes of an OpenAPI document (3.x, YAML or JSON): one per operation carrying
/// [`EXTENSION`], in document order. Operations without it are not behind the
/// patgate authorizer and are left out. Errors name the operation.
pub fn openapi_routes(spec: &str) -> Result<Vec<Value>, Vec<String>> {
    let document: serde_yaml::Value =
        serde_yaml::from_str(spec).map_err(|e| vec![format!("not an OpenAPI document: {e}")])?;
    let paths = document
        .get("paths")
        .and_then(serde_yaml::Value::as_mapping)
        .ok_or_else(|| vec!["the document has no `paths`".to_owned()])?;
    let mut routes = Vec::new();
    let mut problems = Vec::new();
    for (path, item) in paths {
        let Some(path) = path.as_str() else {
            problems.push(format!("paths: the key {path:?} is not a string"));
            continue;
        };
        for (key, method) in OPERATIONS {
            let Some(operation) = item.get(key) else {
                continue;
            };
            match operation.get(EXTENSION) {
                None => {}
                Some(serde_yaml::Value::String(permission)) => routes.push(json!({
                    "method": method,
                    "path": path,
                    "permission": permission,
                })),
                Some(other) => problems.push(format!(
                    "paths./{path}.{key}: {EXTENSION} must be one permission name, not {other:?}"
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(routes)
    } else {
        Err(problems)
    }
}

/// One route as the demo file writes it: on one line.
fn route_line(route: &Value) -> String {
    let field = |name: &str| serde_json::to_string(&route[name]).unwrap_or_default();
    format!(
        "{{ \"method\": {}, \"path\": {}, \"permission\": {} }}",
        field("method"),
        field("path"),
        field("permission")
    )
}

/// `text` with the routes of table `api` replaced by `routes`, every other byte kept.
/// The table must exist (its other settings, such as `apiIds`, are the team's).
pub fn replace_routes(text: &str, api: &str, routes: &[Value]) -> Result<String, String> {
    let located = spans(text);
    let pointer = format!("/apis/{}/routes", api.replace('~', "~0").replace('/', "~1"));
    let span = located.get(&pointer).ok_or_else(|| {
        format!("the configuration has no table `{api}` with a routes list ({pointer})")
    })?;
    // Indentation: the line's own, plus two for each route.
    let line_start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = text[line_start..]
        .chars()
        .take_while(|c| *c == ' ')
        .collect();
    let rendered = if routes.is_empty() {
        "[]".to_owned()
    } else {
        let lines: Vec<String> = routes
            .iter()
            .map(|route| format!("{indent}  {}", route_line(route)))
            .collect();
        format!("[\n{}\n{indent}]", lines.join(",\n"))
    };
    Ok(format!(
        "{}{rendered}{}",
        &text[..span.start],
        &text[span.end..]
    ))
}

/// The routes of table `api` in a configuration file's text, as written.
pub fn routes_of(text: &str, api: &str) -> Result<Vec<Value>, String> {
    let file: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    file.pointer(&format!("/apis/{api}/routes"))
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("the configuration has no table `{api}` with a routes list"))
}

#[cfg(test)]
mod tests;
