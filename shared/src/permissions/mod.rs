//! What a token may do, and where: the permission configuration.
//!
//! A JSON file owned by the deploying team (format version 1; the demo is
//! `infra/config/permissions.json`), packaged by `sam build` as the layer
//! `PatgateConfigLayer` and read once at cold start from `PATGATE_CONFIG_PATH`
//! (default `/opt/patgate/config.json`). It holds:
//! - `permissions`: the catalogue, name → description;
//! - `roles`: role → the permissions it grants. A token may do what its user's roles
//!   grant now, narrowed to the token's own list when it has one;
//!   [`ROTATE_SELF`] is opt-in: no role grants it, a token has it when its list names it;
//! - `apis`: one route table per client API, by name (the API's stage variable
//!   `patgateApi`), optionally restricted to some API ids, with the response mode of
//!   HTTP APIs (`httpApiResponse`: `simple`, the default, or `iam`).
//!
//! A call is looked up by its route template, exactly (REST: method and resource;
//! HTTP API: route key), `ANY` covering every method. An unknown API, an API id the
//! table does not list, or a route the table does not list is denied: nothing is
//! allowed that the file does not name. Table [`PATGATE_API`] also holds the built-in
//! routes of patgate's own API ([`BUILT_IN_ROUTES`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

mod policy;
pub mod routes;
mod validate;

pub use policy::{glob_match, Effect, ExecuteApiArn, PolicyDecision, PolicyDocument, Statement};
pub use validate::ConfigIssue;

use routes::{match_rank, segments, shape, Segment};
use validate::ConfigFile;

/// The permission that lets a token rotate itself; granted by no role.
pub const ROTATE_SELF: &str = "token:rotate-self";
/// The table of patgate's own API (its stage variable `patgateApi`).
pub const PATGATE_API: &str = "patgate";
/// The stage variable naming a client API's table.
pub const STAGE_VARIABLE: &str = "patgateApi";
/// Routes of table [`PATGATE_API`] that patgate itself serves: method, path, and the
/// permission needed (`None`: any valid token).
pub const BUILT_IN_ROUTES: [(&str, &str, Option<&str>); 2] = [
    ("GET", "/tokens/self", None),
    ("POST", "/tokens/self/rotate", Some(ROTATE_SELF)),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PermissionConfigError {
    #[error("cannot read the permission configuration {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the permission configuration is not valid JSON of version 1: {0}")]
    Json(String),
    #[error("the permission configuration is invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<ConfigIssue>),
}

/// How an HTTP API's authorizer answers (`httpApiResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpApiResponse {
    /// `{"isAuthorized", "context"}` (the authorizer's `EnableSimpleResponses: true`).
    Simple,
    /// An IAM policy, as for REST APIs.
    Iam,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Upper case, or `ANY`.
    pub method: String,
    /// As written, e.g. `/catalog/{entityId}`.
    pub path: String,
    /// `None`: any valid token (a built-in route).
    pub permission: Option<String>,
    segments: Vec<Segment>,
}

impl Route {
    fn new(method: &str, path: &str, permission: Option<&str>) -> Self {
        Route {
            method: method.to_owned(),
            path: path.to_owned(),
            permission: permission.map(str::to_owned),
            segments: segments(path),
        }
    }

    /// Whether a token holding `granted` may call this route.
    pub fn allows(&self, granted: &BTreeSet<String>) -> bool {
        self.permission.as_ref().is_none_or(|p| granted.contains(p))
    }
}

/// The routes of one client API.
#[derive(Debug, Clone)]
pub struct ApiTable {
    pub name: String,
    /// When set, only events from these API ids use this table.
    pub api_ids: Option<BTreeSet<String>>,
    pub http_api_response: HttpApiResponse,
    /// In file order, then the built-in routes.
    routes: Vec<Route>,
    /// (method, shape) → index in `routes`.
    by_key: HashMap<(String, String), usize>,
}

impl ApiTable {
    fn new(name: &str, api_ids: Option<BTreeSet<String>>, mode: HttpApiResponse) -> Self {
        ApiTable {
            name: name.to_owned(),
            api_ids,
            http_api_response: mode,
            routes: Vec::new(),
            by_key: HashMap::new(),
        }
    }

    fn push(&mut self, route: Route) {
        let key = (route.method.clone(), shape(&route.path));
        self.by_key.insert(key, self.routes.len());
        self.routes.push(route);
    }

    /// Every route, built-in ones last.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Whether events from `api_id` may use this table.
    pub fn accepts_api_id(&self, api_id: Option<&str>) -> bool {
        match (&self.api_ids, api_id) {
            (None, _) => true,
            (Some(ids), Some(id)) => ids.contains(id),
            (Some(_), None) => false,
        }
    }

    fn exact(&self, method: &str, path: &str) -> Option<&Route> {
        self.by_key
            .get(&(method.to_owned(), shape(path)))
            .map(|i| &self.routes[*i])
    }

    /// The route of a REST API call: its method (`httpMethod`) and resource template.
    pub fn rest_route(&self, http_method: &str, resource: &str) -> Option<&Route> {
        self.exact(http_method, resource)
            .or_else(|| self.exact("ANY", resource))
    }

    /// The route of an HTTP API call by its route key (`GET /items/{id}`, `ANY /x`);
    /// `$default` and anything else without a path match nothing.
    pub fn http_route(&self, route_key: &str) -> Option<&Route> {
        let (method, path) = route_key.split_once(' ')?;
        path.starts_with('/').then(|| self.exact(method, path))?
    }

    /// The route a called path belongs to (TOKEN events carry no route template): the
    /// most specific route whose path fits, the method's own before `ANY`.
    pub fn route_of_call(&self, method: &str, called_path: &str) -> Option<&Route> {
        let called: Vec<&str> = called_path
            .trim_start_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        self.routes
            .iter()
            .filter(|route| route.method == method || route.method == "ANY")
            .filter_map(|route| {
                match_rank(&route.segments, &called)
                    .map(|rank| ((rank, route.method != "ANY"), route))
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, route)| route)
    }
}

/// Why no table answers an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoTable {
    /// The event carries no stage variable `patgateApi`.
    NoStageVariable,
    /// The stage variable names no table.
    UnknownApi,
    /// The table lists API ids, and not this event's.
    ApiIdNotListed,
}

impl NoTable {
    pub fn reason(self) -> &'static str {
        match self {
            NoTable::NoStageVariable => "no_stage_variable",
            NoTable::UnknownApi => "unknown_api",
            NoTable::ApiIdNotListed => "api_id_not_listed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PermissionConfig {
    catalogue: BTreeMap<String, String>,
    roles: BTreeMap<String, BTreeSet<String>>,
    apis: BTreeMap<String, ApiTable>,
}

impl PermissionConfig {
    /// Reads and checks the file at `path` (once, at cold start).
    pub fn load(path: &Path) -> Result<Self, PermissionConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| PermissionConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_json(&text)
    }

    pub fn from_json(text: &str) -> Result<Self, PermissionConfigError> {
        let file: ConfigFile =
            serde_json::from_str(text).map_err(|e| PermissionConfigError::Json(e.to_string()))?;
        let issues = validate::issues(&file);
        if !issues.is_empty() {
            return Err(PermissionConfigError::Invalid(issues));
        }
        let mut apis = BTreeMap::new();
        for (name, raw) in &file.apis {
            let mode = match raw.http_api_response.as_deref() {
                Some("iam") => HttpApiResponse::Iam,
                _ => HttpApiResponse::Simple,
            };
            let ids = raw
                .api_ids
                .as_ref()
                .map(|ids| ids.iter().cloned().collect());
            let mut table = ApiTable::new(name, ids, mode);
            for route in &raw.routes {
                table.push(Route::new(
                    &route.method,
                    &route.path,
                    Some(&route.permission),
                ));
            }
            apis.insert(name.clone(), table);
        }
        let patgate = apis
            .entry(PATGATE_API.to_owned())
            .or_insert_with(|| ApiTable::new(PATGATE_API, None, HttpApiResponse::Simple));
        for (method, path, permission) in BUILT_IN_ROUTES {
            patgate.push(Route::new(method, path, permission));
        }
        let roles = file
            .roles
            .into_iter()
            .map(|(role, permissions)| (role, permissions.into_iter().collect()))
            .collect();
        Ok(PermissionConfig {
            catalogue: file.permissions,
            roles,
            apis,
        })
    }

    /// Whether `permission` is in the catalogue (what a token's own list may name).
    pub fn is_known(&self, permission: &str) -> bool {
        self.catalogue.contains_key(permission)
    }

    /// The catalogue: permission → description.
    pub fn catalogue(&self) -> &BTreeMap<String, String> {
        &self.catalogue
    }

    /// What a token may do now: its user's permissions, narrowed to the token's own
    /// list when it has one, plus [`ROTATE_SELF`] when that list names it. Never more
    /// than the user otherwise.
    pub fn effective(
        &self,
        roles: &[String],
        scope: Option<&BTreeSet<String>>,
    ) -> BTreeSet<String> {
        let granted = self.permissions_of(roles);
        match scope {
            Some(scope) => scope
                .iter()
                .filter(|p| granted.contains(*p) || p.as_str() == ROTATE_SELF)
                .cloned()
                .collect(),
            None => granted,
        }
    }

    /// The union of what `roles` grant. Unknown role names grant nothing.
    pub fn permissions_of(&self, roles: &[String]) -> BTreeSet<String> {
        roles
            .iter()
            .filter_map(|role| self.roles.get(role))
            .flat_map(|perms| perms.iter().cloned())
            .collect()
    }

    pub fn table(&self, name: &str) -> Option<&ApiTable> {
        self.apis.get(name)
    }

    pub fn tables(&self) -> impl Iterator<Item = &ApiTable> {
        self.apis.values()
    }

    /// The table an event uses: the one its stage variable names, if it accepts the
    /// event's API id.
    pub fn table_for(
        &self,
        stage_variable: Option<&str>,
        api_id: Option<&str>,
    ) -> Result<&ApiTable, NoTable> {
        let name = stage_variable
            .filter(|n| !n.is_empty())
            .ok_or(NoTable::NoStageVariable)?;
        let table = self.apis.get(name).ok_or(NoTable::UnknownApi)?;
        if table.accepts_api_id(api_id) {
            Ok(table)
        } else {
            Err(NoTable::ApiIdNotListed)
        }
    }

    /// The table that lists `api_id` (TOKEN events carry no stage variable).
    pub fn table_listing(&self, api_id: &str) -> Option<&ApiTable> {
        self.apis
            .values()
            .find(|t| t.api_ids.as_ref().is_some_and(|ids| ids.contains(api_id)))
    }
}

#[cfg(test)]
mod tests;
