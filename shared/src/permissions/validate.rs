//! The configuration file as written (version 1), and every rule it must follow. Each
//! problem names its entry as a JSON pointer (`/apis/orders/routes/3`), which the
//! validator command (`patgate-config check`) turns into a line number.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::routes::{path_problem, shape, METHODS};
use super::{BUILT_IN_ROUTES, PATGATE_API, ROTATE_SELF};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigFile {
    pub version: u32,
    pub permissions: BTreeMap<String, String>,
    #[serde(default)]
    pub roles: BTreeMap<String, Vec<String>>,
    pub apis: BTreeMap<String, ApiFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ApiFile {
    #[serde(default)]
    pub api_ids: Option<Vec<String>>,
    #[serde(default)]
    pub http_api_response: Option<String>,
    pub routes: Vec<RouteFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RouteFile {
    pub method: String,
    pub path: String,
    pub permission: String,
}

/// One thing wrong with the file, at `entry` (a JSON pointer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    pub entry: String,
    pub message: String,
}

impl std::fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.entry, self.message)
    }
}

/// `/` and `~` escaped as JSON pointers escape them.
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A name fit for a comma-separated context value and a log line.
fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.chars().count() > 100 {
        Some("a name has 1 to 100 characters")
    } else if name
        .chars()
        .any(|c| c == ',' || c.is_whitespace() || c.is_control())
    {
        Some("a name has no comma, space or control character")
    } else {
        None
    }
}

pub(super) fn issues(file: &ConfigFile) -> Vec<ConfigIssue> {
    let mut found = Vec::new();
    let mut issue = |entry: String, message: String| found.push(ConfigIssue { entry, message });
    if file.version != 1 {
        issue(
            "/version".into(),
            format!(
                "version {} is not supported; this patgate reads version 1",
                file.version
            ),
        );
    }
    for (name, description) in &file.permissions {
        let entry = format!("/permissions/{}", token(name));
        if let Some(problem) = name_problem(name) {
            issue(entry.clone(), format!("permission `{name}`: {problem}"));
        }
        if description.trim().is_empty() {
            issue(entry, format!("permission `{name}` needs a description"));
        }
    }
    if !file.permissions.contains_key(ROTATE_SELF) {
        issue(
            "/permissions".into(),
            format!("the built-in permission `{ROTATE_SELF}` must be in the catalogue (tokens may name it)"),
        );
    }
    for (role, permissions) in &file.roles {
        let entry = format!("/roles/{}", token(role));
        if role.trim().is_empty() {
            issue(entry.clone(), "a role has a name".into());
        }
        let mut seen = BTreeSet::new();
        for (i, permission) in permissions.iter().enumerate() {
            let entry = format!("{entry}/{i}");
            if !file.permissions.contains_key(permission) {
                issue(entry, format!("role `{role}` grants `{permission}`, which is not in the permission catalogue"));
            } else if permission == ROTATE_SELF {
                issue(entry, format!("no role grants `{ROTATE_SELF}`: a token has it only when its own list names it"));
            } else if !seen.insert(permission) {
                issue(entry, format!("role `{role}` lists `{permission}` twice"));
            }
        }
    }
    let mut api_ids: BTreeMap<&str, &str> = BTreeMap::new();
    for (api, table) in &file.apis {
        let entry = format!("/apis/{}", token(api));
        let fits = !api.is_empty()
            && api.len() <= 64
            && api
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !fits {
            issue(entry.clone(), format!("API name `{api}`: 1 to 64 letters, digits, - _ . (it is the value of the stage variable patgateApi)"));
        }
        for (i, id) in table.api_ids.iter().flatten().enumerate() {
            let entry = format!("{entry}/apiIds/{i}");
            if id.len() != 10
                || !id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            {
                issue(
                    entry,
                    format!(
                        "`{id}` is not an API Gateway API id (10 lower-case letters and digits)"
                    ),
                );
            } else if let Some(other) = api_ids.insert(id, api) {
                issue(entry, format!("API id `{id}` is listed by `{other}` too"));
            }
        }
        if table.api_ids.as_ref().is_some_and(Vec::is_empty) {
            issue(
                format!("{entry}/apiIds"),
                "an empty apiIds list matches no API: leave it out to accept any API id".into(),
            );
        }
        if let Some(mode) = &table.http_api_response {
            if mode != "simple" && mode != "iam" {
                issue(
                    format!("{entry}/httpApiResponse"),
                    format!("`{mode}` is neither `simple` nor `iam`"),
                );
            }
        }
        route_issues(api, &entry, &table.routes, &file.permissions, &mut issue);
    }
    found
}

fn route_issues(
    api: &str,
    entry: &str,
    routes: &[RouteFile],
    catalogue: &BTreeMap<String, String>,
    issue: &mut impl FnMut(String, String),
) {
    // Valid routes so far, by shape: (method, index, permission).
    let mut by_shape: BTreeMap<String, Vec<(&str, usize, &str)>> = BTreeMap::new();
    if api == PATGATE_API {
        for (method, path, _) in BUILT_IN_ROUTES {
            by_shape
                .entry(shape(path))
                .or_default()
                .push((method, usize::MAX, ""));
        }
    }
    for (i, route) in routes.iter().enumerate() {
        // Named only when something is wrong: a valid file of hundreds of routes is
        // checked at every cold start.
        let entry = || format!("{entry}/routes/{i}");
        let label = || format!("{} {}", route.method, route.path);
        let mut valid = true;
        if !METHODS.contains(&route.method.as_str()) {
            issue(
                entry(),
                format!("{}: method must be one of {}", label(), METHODS.join(", ")),
            );
            valid = false;
        }
        if let Some(problem) = path_problem(&route.path) {
            issue(entry(), format!("{}: {problem}", label()));
            valid = false;
        }
        if !catalogue.contains_key(&route.permission) {
            issue(
                entry(),
                format!(
                    "{}: permission `{}` is not in the permission catalogue",
                    label(),
                    route.permission
                ),
            );
        }
        if !valid {
            continue;
        }
        let same_shape = by_shape.entry(shape(&route.path)).or_default();
        for (method, other, permission) in same_shape.iter() {
            let collides = *method == route.method || *method == "ANY" || route.method == "ANY";
            if !collides {
                continue;
            }
            let (entry, label) = (entry(), label());
            let message = if *other == usize::MAX {
                format!("{label}: the built-in route {method} {} of table `{PATGATE_API}` is not configurable", route.path)
            } else if *permission == route.permission {
                format!("{label}: duplicate of routes[{other}] (same method or ANY, same path up to parameter names)")
            } else {
                format!("{label}: overlaps routes[{other}], which needs `{permission}` (same method or ANY, same path up to parameter names): one call, two permissions")
            };
            issue(entry, message);
            break;
        }
        same_shape.push((&route.method, i, &route.permission));
    }
}
