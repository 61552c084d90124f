//! The IAM policy a Lambda authorizer answers with (REST APIs, and HTTP APIs in IAM
//! mode), and how API Gateway evaluates it against a call's ARN.

use serde::{Deserialize, Serialize};

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
    /// One statement: `effect` on `resource` (an execute-api ARN or pattern).
    pub fn single(effect: Effect, resource: String) -> Self {
        PolicyDocument {
            version: "2012-10-17".to_owned(),
            statement: vec![Statement {
                action: "execute-api:Invoke".to_owned(),
                effect,
                resource: vec![resource],
            }],
        }
    }

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

/// `arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/{path…}`, split
/// into the part up to and including the stage, the method and the path (without its
/// leading `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecuteApiArn<'a> {
    pub base: &'a str,
    pub api_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
}

impl<'a> ExecuteApiArn<'a> {
    pub fn parse(arn: &'a str) -> Option<Self> {
        // The path after the stage may itself contain ':' (e.g. /catalog/component:default).
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [prefix, _, service, _, _, resource] = parts.as_slice() else {
            return None;
        };
        if *prefix != "arn" || *service != "execute-api" {
            return None;
        }
        let mut pieces = resource.splitn(4, '/');
        let api_id = pieces.next().filter(|s| !s.is_empty())?;
        let stage = pieces.next().filter(|s| !s.is_empty())?;
        let method = pieces.next().filter(|s| !s.is_empty())?;
        let path = pieces.next().unwrap_or("");
        let base_len = arn.len() - resource.len() + api_id.len() + 1 + stage.len();
        Some(ExecuteApiArn {
            base: &arn[..base_len],
            api_id,
            method,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_semantics() {
        assert!(glob_match("a/*/c", "a/b/c"));
        assert!(glob_match("a/*", "a/b/c"));
        assert!(!glob_match("a/*", "a"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn arns_split_at_the_stage_and_keep_colons_in_the_path() {
        let arn =
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/catalog/component:default";
        let parsed = ExecuteApiArn::parse(arn).unwrap();
        assert_eq!(
            parsed.base,
            "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod"
        );
        assert_eq!(
            (parsed.api_id, parsed.method, parsed.path),
            ("abcdef123", "GET", "catalog/component:default")
        );
        let root = ExecuteApiArn::parse("arn:aws:execute-api:r:1:api/$default/GET/").unwrap();
        assert_eq!((root.method, root.path), ("GET", ""));
        for bad in [
            "not-an-arn",
            "arn:aws:execute-api:us-east-1:1:api",
            "arn:aws:execute-api:us-east-1:1:api/prod",
            "arn:aws:lambda:us-east-1:1:api/prod/GET/x",
            "urn:aws:execute-api:us-east-1:1:api/prod/GET/x",
        ] {
            assert_eq!(ExecuteApiArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn explicit_deny_wins_over_allow() {
        let base = "arn:aws:execute-api:us-east-1:1:api/prod";
        let mut policy = PolicyDocument::single(Effect::Allow, format!("{base}/GET/items/*"));
        assert_eq!(
            policy.decide(&format!("{base}/GET/items/1")),
            PolicyDecision::Allow
        );
        assert_eq!(
            policy.decide(&format!("{base}/PUT/items/1")),
            PolicyDecision::ImplicitDeny
        );
        policy.statement.push(Statement {
            action: "execute-api:Invoke".into(),
            effect: Effect::Deny,
            resource: vec![format!("{base}/*")],
        });
        assert_eq!(
            policy.decide(&format!("{base}/GET/items/1")),
            PolicyDecision::ExplicitDeny
        );
        let json = serde_json::to_value(PolicyDocument::single(Effect::Deny, "r".into())).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": ["r"]}]})
        );
    }
}
