//! What a token may do: what its user's roles grant now, narrowed to the token's own
//! permission list when it has one.
//!
//! The configuration (`shared/config/permissions.json`, compiled into every function)
//! has two maps: role → permissions, and API route (method, path pattern) →
//! required permission. It ships with the code so that a change to it is reviewed,
//! versioned and deployed like code, and the authorizer's hot path reads no extra
//! item. Custom roles are added there next to the built-in Viewer, User, Manager
//! and Admin.
//!
//! API Gateway caches the authorizer's policy per token and applies it to every
//! route of the API, so [`PermissionConfig::policy`] answers for all routes at once:
//! an Allow statement for the routes the permissions grant and an explicit Deny for
//! the configured routes they do not; anything unlisted is denied implicitly. A
//! `{name}` segment becomes IAM's `?*` (at least one character, `/` included, so
//! `/catalog/{id}` also covers `/catalog/a/b` but never `/catalog/`): list every route
//! of the API, and routes that some call could match both of must need the same
//! permission (the configuration is refused otherwise).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

const BUNDLED: &str = include_str!("../config/permissions.json");

/// Lets a token rotate its own secret (`POST /tokens/self/rotate`). Opt-in: no role
/// grants it (a configuration where one does is refused); a token has it exactly when
/// its own permission list names it.
pub const ROTATE_SELF: &str = "token:rotate-self";

/// Routes of patgate itself that every policy covers: `GET /tokens/self` for any
/// valid token (no permission), `POST /tokens/self/rotate` for [`ROTATE_SELF`].
pub const BUILT_IN_ROUTES: [(&str, &str, Option<&str>); 2] = [
    ("GET", "/tokens/self", None),
    ("POST", "/tokens/self/rotate", Some(ROTATE_SELF)),
];
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PermissionConfigError {
    #[error("permission configuration is not valid JSON: {0}")]
    Json(String),
    #[error("role {role}: {reason}")]
    Role { role: String, reason: &'static str },
    #[error("route {method} {path}: {reason}")]
    Route {
        method: String,
        path: String,
        reason: &'static str,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub method: String,
    /// API Gateway resource path; `{name}` and `{name+}` segments match any value.
    pub path: String,
    pub permission: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionConfig {
    roles: BTreeMap<String, BTreeSet<String>>,
    routes: Vec<Route>,
    /// [`BUILT_IN_ROUTES`]; an empty permission means any valid token.
    #[serde(skip)]
    built_in: Vec<Route>,
}

impl PermissionConfig {
    /// The configuration compiled into the functions.
    pub fn bundled() -> Result<Self, PermissionConfigError> {
        Self::from_json(BUNDLED)
    }

    pub fn from_json(text: &str) -> Result<Self, PermissionConfigError> {
        let mut config: PermissionConfig =
            serde_json::from_str(text).map_err(|e| PermissionConfigError::Json(e.to_string()))?;
        if let Some((role, _)) = config.roles.iter().find(|(_, p)| p.contains(ROTATE_SELF)) {
            return Err(PermissionConfigError::Role {
                role: role.clone(),
                reason: "no role may grant token:rotate-self (a token opts in by naming it)",
            });
        }
        config.built_in = BUILT_IN_ROUTES
            .iter()
            .map(|(method, path, permission)| Route {
                method: (*method).to_owned(),
                path: (*path).to_owned(),
                permission: permission.unwrap_or_default().to_owned(),
            })
            .collect();
        for route in &config.routes {
            let fail = |reason| PermissionConfigError::Route {
                method: route.method.clone(),
                path: route.path.clone(),
                reason,
            };
            if !METHODS.contains(&route.method.as_str()) {
                return Err(fail("method must be an upper-case HTTP method or *"));
            }
            if !route.path.starts_with('/') || route.path.contains(['*', '?']) {
                return Err(fail(
                    "path must start with / and use {name} for variable segments",
                ));
            }
            if route.permission.is_empty() {
                return Err(fail("permission must name a permission"));
            }
        }
        // Built-in routes last, so that a configured route overlapping one is named.
        let all: Vec<&Route> = config.built_in.iter().chain(&config.routes).collect();
        for (i, first) in all.iter().enumerate() {
            for second in &all[i + 1..] {
                if first.permission != second.permission && overlap(first, second) {
                    return Err(PermissionConfigError::Route {
                        method: second.method.clone(),
                        path: second.path.clone(),
                        reason: "overlaps a route needing another permission (a {x} segment also matches deeper paths), so one route's Deny would override the other's Allow",
                    });
                }
            }
        }
        Ok(config)
    }

    /// Whether `permission` is granted by some role or needed by some route.
    pub fn is_known(&self, permission: &str) -> bool {
        permission == ROTATE_SELF
            || self.roles.values().any(|perms| perms.contains(permission))
            || self
                .routes
                .iter()
                .any(|route| route.permission == permission)
    }

    /// What a token may do now: its user's permissions, narrowed to the token's own
    /// list when it has one. Never more than the user, save [`ROTATE_SELF`], which
    /// only the token's own list gives.
    pub fn effective(
        &self,
        roles: &[String],
        scope: Option<&BTreeSet<String>>,
    ) -> BTreeSet<String> {
        let granted = self.permissions_of(roles);
        match scope {
            Some(scope) => scope
                .iter()
                .filter(|p| granted.contains(*p) || *p == ROTATE_SELF)
                .cloned()
                .collect(),
            None => granted,
        }
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The union of what `roles` grant. Unknown role names grant nothing.
    pub fn permissions_of(&self, roles: &[String]) -> BTreeSet<String> {
        roles
            .iter()
            .filter_map(|role| self.roles.get(role))
            .flat_map(|perms| perms.iter().cloned())
            .collect()
    }

    /// The IAM policy for a caller holding `granted`, valid for every route of the API
    /// that `method_arn` (the ARN of the call being authorized) belongs to.
    pub fn policy(&self, granted: &BTreeSet<String>, method_arn: &str) -> Option<PolicyDocument> {
        let api = ApiArn::parse(method_arn)?;
        let (allowed, denied): (Vec<&Route>, Vec<&Route>) =
            self.routes.iter().chain(&self.built_in).partition(|route| {
                route.permission.is_empty() || granted.contains(&route.permission)
            });
        let resources = |routes: Vec<&Route>| -> Vec<String> {
            let set: BTreeSet<String> = routes
                .iter()
                .map(|r| api.resource(&r.method, &r.path))
                .collect();
            set.into_iter().collect()
        };
        let mut statement = Vec::new();
        let allowed = resources(allowed);
        if !allowed.is_empty() {
            statement.push(Statement::new(Effect::Allow, allowed));
        }
        let denied = resources(denied);
        if !denied.is_empty() {
            statement.push(Statement::new(Effect::Deny, denied));
        }
        if statement.is_empty() {
            // Nothing configured at all: deny the whole API explicitly.
            statement.push(Statement::new(
                Effect::Deny,
                vec![format!("{}/*", api.base)],
            ));
        }
        Some(PolicyDocument {
            version: "2012-10-17".to_owned(),
            statement,
        })
    }
}

/// The policy resource pattern of a route, after the stage: `METHOD/path` with `?*`
/// (one character or more) for every `{name}` or `{name+}` segment.
fn route_pattern(method: &str, path: &str) -> String {
    let segments: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "?*"
            } else {
                segment
            }
        })
        .collect();
    format!("{method}/{}", segments.join("/"))
}

/// Whether some call is matched by the policy patterns of both routes.
fn overlap(first: &Route, second: &Route) -> bool {
    globs_intersect(
        &route_pattern(&first.method, &first.path),
        &route_pattern(&second.method, &second.path),
    )
}

/// Whether some text matches both IAM patterns (`*` any run, `?` one character): a
/// search over pairs of positions in the two patterns, reading one character at a
/// time from an alphabet of every literal of either pattern plus one neither has.
pub fn globs_intersect(first: &str, second: &str) -> bool {
    let a: Vec<char> = first.chars().collect();
    let b: Vec<char> = second.chars().collect();
    let mut alphabet: Vec<char> = a
        .iter()
        .chain(&b)
        .copied()
        .filter(|c| *c != '*' && *c != '?')
        .collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    alphabet.push('\u{0}');
    // Where a pattern at position `i` can be after reading `c`.
    let read = |p: &[char], i: usize, c: char| match p.get(i) {
        Some('*') => Some(i),
        Some('?') => Some(i + 1),
        Some(&literal) if literal == c => Some(i + 1),
        _ => None,
    };
    let mut seen = std::collections::HashSet::from([(0, 0)]);
    let mut pending = vec![(0usize, 0usize)];
    while let Some((i, j)) = pending.pop() {
        if i == a.len() && j == b.len() {
            return true;
        }
        let mut next = Vec::new();
        // A `*` may match nothing.
        if a.get(i) == Some(&'*') {
            next.push((i + 1, j));
        }
        if b.get(j) == Some(&'*') {
            next.push((i, j + 1));
        }
        for &c in &alphabet {
            if let (Some(ni), Some(nj)) = (read(&a, i, c), read(&b, j, c)) {
                next.push((ni, nj));
            }
        }
        for state in next {
            if seen.insert(state) {
                pending.push(state);
            }
        }
    }
    false
}

/// `arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path…}`
struct ApiArn<'a> {
    /// Everything up to and including the stage.
    base: &'a str,
}

impl<'a> ApiArn<'a> {
    fn parse(method_arn: &'a str) -> Option<Self> {
        // The path after the stage may itself contain ':' (e.g. /catalog/component:default).
        let parts: Vec<&str> = method_arn.splitn(6, ':').collect();
        let [arn, _, service, _, _, resource] = parts.as_slice() else {
            return None;
        };
        if *arn != "arn" || *service != "execute-api" {
            return None;
        }
        let mut slashes = resource.match_indices('/').map(|(i, _)| i);
        let _api_id_end = slashes.next()?;
        let stage_end = slashes.next()?;
        let prefix_len = method_arn.len() - resource.len();
        Some(ApiArn {
            base: &method_arn[..prefix_len + stage_end],
        })
    }

    fn resource(&self, method: &str, path: &str) -> String {
        format!("{}/{}", self.base, route_pattern(method, path))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub action: String,
    pub effect: Effect,
    pub resource: Vec<String>,
}

impl Statement {
    fn new(effect: Effect, resource: Vec<String>) -> Self {
        Statement {
            action: "execute-api:Invoke".to_owned(),
            effect,
            resource,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: String,
    pub statement: Vec<Statement>,
}

/// What API Gateway makes of a policy for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyDecision {
    Allow,
    /// No statement allows the call.
    ImplicitDeny,
    /// A Deny statement matches the call.
    ExplicitDeny,
}

impl PolicyDocument {
    /// Decides a call with `method_arn` as API Gateway does: an explicit Deny wins,
    /// then an Allow, else an implicit deny.
    pub fn decide(&self, method_arn: &str) -> PolicyDecision {
        let matches = |effect: Effect| {
            self.statement
                .iter()
                .filter(|s| {
                    s.effect == effect
                        && matches!(
                            s.action.as_str(),
                            "execute-api:Invoke" | "execute-api:*" | "*"
                        )
                })
                .any(|s| {
                    s.resource
                        .iter()
                        .any(|pattern| glob_match(pattern, method_arn))
                })
        };
        if matches(Effect::Deny) {
            PolicyDecision::ExplicitDeny
        } else if matches(Effect::Allow) {
            PolicyDecision::Allow
        } else {
            PolicyDecision::ImplicitDeny
        }
    }

    pub fn allows(&self, method_arn: &str) -> bool {
        self.decide(method_arn) == PolicyDecision::Allow
    }
}

/// IAM resource matching: `*` matches any run of characters (slashes included), `?` one.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod self_routes_tests;

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/catalog";

    fn arn(method: &str, path: &str) -> String {
        format!("arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/{method}{path}")
    }

    fn granted(config: &PermissionConfig, role: &str) -> BTreeSet<String> {
        config.permissions_of(&[role.to_owned()])
    }

    #[test]
    fn bundled_configuration_loads_with_the_built_in_roles() {
        let config = PermissionConfig::bundled().unwrap();
        for role in ["Viewer", "User", "Manager", "Admin"] {
            assert!(!granted(&config, role).is_empty(), "{role}");
        }
        assert_eq!(
            granted(&config, "Viewer"),
            BTreeSet::from(["catalog:read".to_owned()])
        );
        assert!(granted(&config, "Admin").contains("settings:admin"));
        assert!(granted(&config, "Nobody").is_empty());
    }

    #[test]
    fn viewer_policy_allows_reads_and_denies_writes_on_every_route() {
        let config = PermissionConfig::bundled().unwrap();
        // The policy was produced for a GET call but API Gateway reuses it for all routes.
        let policy = config.policy(&granted(&config, "Viewer"), ARN).unwrap();
        assert!(policy.allows(&arn("GET", "/catalog")));
        assert!(policy.allows(&arn("GET", "/catalog/svc-42")));
        assert!(policy.allows(&arn("GET", "/scorecards")));
        assert!(!policy.allows(&arn("POST", "/catalog")));
        assert!(!policy.allows(&arn("PUT", "/catalog/svc-42")));
        assert!(!policy.allows(&arn("DELETE", "/catalog/svc-42")));
        assert!(!policy.allows(&arn("PUT", "/settings")));
        assert!(!policy.allows(&arn("GET", "/unlisted")));
        // Another API or stage is never covered.
        assert!(!policy.allows("arn:aws:execute-api:us-east-1:123456789012:other/prod/GET/catalog"));
        assert!(
            !policy.allows("arn:aws:execute-api:us-east-1:123456789012:abcdef123/dev/GET/catalog")
        );
    }

    #[test]
    fn custom_roles_and_unions() {
        let config = PermissionConfig::from_json(
            r#"{"roles":{"Auditor":["settings:admin"],"Viewer":["catalog:read"]},
                "routes":[{"method":"GET","path":"/settings","permission":"settings:admin"},
                          {"method":"GET","path":"/catalog","permission":"catalog:read"}]}"#,
        )
        .unwrap();
        let both = config.permissions_of(&["Auditor".to_owned(), "Viewer".to_owned()]);
        let policy = config.policy(&both, ARN).unwrap();
        assert!(policy.allows(&arn("GET", "/settings")) && policy.allows(&arn("GET", "/catalog")));
        let auditor = config
            .policy(&config.permissions_of(&["Auditor".to_owned()]), ARN)
            .unwrap();
        assert!(!auditor.allows(&arn("GET", "/catalog")));
    }

    #[test]
    fn no_permissions_allows_only_whoami() {
        // Deliberate change (issue 24): every valid token may ask GET /tokens/self.
        let config = PermissionConfig::bundled().unwrap();
        let policy = config.policy(&BTreeSet::new(), ARN).unwrap();
        let allowed: Vec<&Statement> = policy
            .statement
            .iter()
            .filter(|s| s.effect == Effect::Allow)
            .collect();
        assert_eq!(allowed.len(), 1);
        assert_eq!(allowed[0].resource, [arn("GET", "/tokens/self")]);
        assert!(!policy.allows(&arn("GET", "/catalog")));
        assert!(!policy.allows(&arn("POST", "/tokens/self/rotate")));
    }

    #[test]
    fn policy_serialises_in_api_gateway_shape() {
        let config = PermissionConfig::bundled().unwrap();
        let policy = config.policy(&granted(&config, "Viewer"), ARN).unwrap();
        let json = serde_json::to_value(&policy).unwrap();
        assert_eq!(json["Version"], "2012-10-17");
        assert_eq!(json["Statement"][0]["Effect"], "Allow");
        assert_eq!(json["Statement"][0]["Action"], "execute-api:Invoke");
        assert!(json["Statement"][0]["Resource"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(
                "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/catalog/?*"
            )));
    }

    #[test]
    fn malformed_arns_and_configs_are_refused() {
        let config = PermissionConfig::bundled().unwrap();
        assert!(config.policy(&BTreeSet::new(), "not-an-arn").is_none());
        assert!(config
            .policy(&BTreeSet::new(), "arn:aws:execute-api:us-east-1:1:api")
            .is_none());
        assert!(PermissionConfig::from_json("{").is_err());
        assert!(PermissionConfig::from_json(
            r#"{"roles":{},"routes":[{"method":"get","path":"/x","permission":"p"}]}"#
        )
        .is_err());
        assert!(PermissionConfig::from_json(
            r#"{"roles":{},"routes":[{"method":"GET","path":"x","permission":"p"}]}"#
        )
        .is_err());
    }

    #[test]
    fn colons_in_the_called_path_do_not_break_the_arn() {
        let config = PermissionConfig::bundled().unwrap();
        let called = arn("GET", "/catalog/component:default");
        let policy = config.policy(&granted(&config, "Viewer"), &called).unwrap();
        assert!(policy.allows(&called));
        assert!(!policy.allows(&arn("PUT", "/catalog/component:default")));
    }

    #[test]
    fn overlapping_routes_with_different_permissions_are_refused() {
        let overlapping = r#"{"roles":{},"routes":[
            {"method":"PUT","path":"/catalog/{id}","permission":"entity:edit"},
            {"method":"PUT","path":"/catalog/{id}/scorecard","permission":"scorecard:edit"}]}"#;
        assert!(matches!(
            PermissionConfig::from_json(overlapping),
            Err(PermissionConfigError::Route { .. })
        ));
        let any_method = r#"{"roles":{},"routes":[
            {"method":"*","path":"/settings","permission":"settings:admin"},
            {"method":"GET","path":"/settings","permission":"catalog:read"}]}"#;
        assert!(PermissionConfig::from_json(any_method).is_err());
        let disjoint = r#"{"roles":{},"routes":[
            {"method":"GET","path":"/catalog/{id}","permission":"catalog:read"},
            {"method":"PUT","path":"/catalog/{id}","permission":"entity:edit"},
            {"method":"GET","path":"/catalog","permission":"catalog:read"}]}"#;
        assert!(PermissionConfig::from_json(disjoint).is_ok());
    }

    #[test]
    fn a_parameter_needs_at_least_one_character() {
        let config = PermissionConfig::from_json(
            r#"{"roles":{"Editor":["item:edit"],"Admin":["item:admin","item:edit"]},
                "routes":[{"method":"PUT","path":"/items","permission":"item:admin"},
                          {"method":"PUT","path":"/items/{id}","permission":"item:edit"}]}"#,
        )
        .unwrap();
        let editor = config
            .policy(&config.permissions_of(&["Editor".to_owned()]), ARN)
            .unwrap();
        assert!(editor.allows(&arn("PUT", "/items/42")));
        assert!(!editor.allows(&arn("PUT", "/items/")));
        assert!(!editor.allows(&arn("PUT", "/items")));
    }

    #[test]
    fn overlap_is_exact() {
        // /a/b/c is matched by both routes, so they must need the same permission.
        let crossing = r#"{"roles":{},"routes":[
            {"method":"GET","path":"/a/{x}/c","permission":"one"},
            {"method":"GET","path":"/a/b/{y}","permission":"two"}]}"#;
        assert!(PermissionConfig::from_json(crossing).is_err());
        // An empty segment is not a match any more: /items and /items/{id} are disjoint.
        let disjoint = r#"{"roles":{},"routes":[
            {"method":"PUT","path":"/items","permission":"one"},
            {"method":"PUT","path":"/items/{id}","permission":"two"}]}"#;
        assert!(PermissionConfig::from_json(disjoint).is_ok());
        assert!(globs_intersect("GET/a/?*/c", "GET/a/b/?*"));
        assert!(!globs_intersect("GET/a/?*/c", "GET/a/b"));
        assert!(!globs_intersect("PUT/items", "PUT/items/?*"));
        assert!(globs_intersect("*/x", "GET/?*"));
        assert!(!globs_intersect("GET/x", "POST/x"));
        assert!(globs_intersect("", "*"));
        assert!(!globs_intersect("?", ""));
    }

    #[test]
    fn scoped_tokens_never_exceed_their_user() {
        let config = PermissionConfig::bundled().unwrap();
        let user = ["User".to_owned()];
        assert_eq!(config.effective(&user, None), config.permissions_of(&user));
        let scope = BTreeSet::from(["catalog:read".to_owned(), "settings:admin".to_owned()]);
        assert_eq!(
            config.effective(&user, Some(&scope)),
            BTreeSet::from(["catalog:read".to_owned()])
        );
        assert!(config.is_known("settings:admin"));
        assert!(!config.is_known("settings:write"));
    }

    #[test]
    fn statements_list_exactly_the_granted_routes_and_the_others() {
        let config = PermissionConfig::from_json(
            r#"{"roles":{"Reader":["item:read"],"Owner":["item:read","item:edit"]},
                "routes":[{"method":"GET","path":"/items","permission":"item:read"},
                          {"method":"PUT","path":"/items/{id}","permission":"item:edit"}]}"#,
        )
        .unwrap();
        let base = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod";
        let (read, edit) = (format!("{base}/GET/items"), format!("{base}/PUT/items/?*"));
        // Deliberate change (issue 24): the built-in routes are in every policy.
        let (whoami, rotate) = (
            format!("{base}/GET/tokens/self"),
            format!("{base}/POST/tokens/self/rotate"),
        );
        let shape = |roles: &[&str]| -> Vec<(Effect, Vec<String>)> {
            let roles: Vec<String> = roles.iter().map(|r| (*r).to_owned()).collect();
            config
                .policy(&config.permissions_of(&roles), ARN)
                .unwrap()
                .statement
                .into_iter()
                .map(|s| (s.effect, s.resource))
                .collect()
        };
        assert_eq!(
            shape(&["Reader"]),
            vec![
                (Effect::Allow, vec![read.clone(), whoami.clone()]),
                (Effect::Deny, vec![rotate.clone(), edit.clone()])
            ]
        );
        let all = vec![read.clone(), whoami.clone(), edit.clone()];
        let owner = vec![(Effect::Allow, all), (Effect::Deny, vec![rotate.clone()])];
        assert_eq!(shape(&["Owner"]), owner);
        let none = vec![read, rotate.clone(), edit];
        let nobody = vec![(Effect::Allow, vec![whoami.clone()]), (Effect::Deny, none)];
        assert_eq!(shape(&[]), nobody);
        let empty = PermissionConfig::from_json(r#"{"roles":{},"routes":[]}"#).unwrap();
        let policy = empty.policy(&BTreeSet::new(), ARN).unwrap();
        assert_eq!(policy.statement.len(), 2);
        assert_eq!(policy.statement[0].resource, vec![whoami]);
        assert_eq!(policy.statement[1].resource, vec![rotate]);
    }

    #[test]
    fn a_permission_is_known_if_a_role_grants_it_or_a_route_needs_it() {
        let config = PermissionConfig::from_json(
            r#"{"roles":{"A":["granted:only"]},
                "routes":[{"method":"GET","path":"/x","permission":"needed:only"}]}"#,
        )
        .unwrap();
        assert!(config.is_known("granted:only"));
        assert!(config.is_known("needed:only"));
        assert!(!config.is_known("neither"));
        let routes: Vec<(&str, &str, &str)> = config
            .routes()
            .iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.permission.as_str()))
            .collect();
        assert_eq!(routes, vec![("GET", "/x", "needed:only")]);
    }

    #[test]
    fn only_execute_api_arns_get_a_policy() {
        let config = PermissionConfig::bundled().unwrap();
        let granted = granted(&config, "Viewer");
        for other in [
            "arn:aws:lambda:us-east-1:123456789012:abcdef123/prod/GET/catalog",
            "urn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/catalog",
        ] {
            assert!(config.policy(&granted, other).is_none(), "{other}");
        }
        assert!(config.policy(&granted, ARN).is_some());
    }

    #[test]
    fn glob_semantics() {
        assert!(glob_match("a/*/c", "a/b/c"));
        assert!(glob_match("a/*", "a/b/c"));
        assert!(!glob_match("a/*", "a"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("*", ""));
    }
}
