//! A small IAM evaluator: exactly the statement shapes the template uses.

use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::*;

// ---------------------------------------------------------------- the evaluator

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Allow,
    Deny,
}

/// How a condition treats the request's values for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SetQualifier {
    /// The key has one value.
    Single,
    /// Every value of the key must match (true when the key has none).
    ForAllValues,
    /// Some value of the key must match (false when the key has none).
    ForAnyValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Comparison {
    Equals,
    Like,
}

#[derive(Debug, Clone)]
pub(super) struct Condition {
    pub(super) qualifier: SetQualifier,
    pub(super) comparison: Comparison,
    /// `…IfExists`: true when the request has no value for the key.
    pub(super) if_exists: bool,
    pub(super) key: String,
    pub(super) values: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub(super) sid: String,
    pub(super) effect: Effect,
    pub(super) actions: Vec<String>,
    pub(super) resources: Vec<String>,
    pub(super) conditions: Vec<Condition>,
}

/// The condition keys the evaluator computes for a DynamoDB request; a policy using
/// any other key fails the test.
pub(super) const MULTI_VALUED_KEYS: [&str; 3] = [
    "dynamodb:LeadingKeys",
    "dynamodb:Attributes",
    "dynamodb:EnclosingOperation",
];
pub(super) const SINGLE_VALUED_KEYS: [&str; 3] = [
    "dynamodb:ReturnValues",
    "dynamodb:Select",
    "dynamodb:ReturnConsumedCapacity",
];

pub(super) fn strings(value: &Value, what: &str) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .unwrap_or_else(|| panic!("{what}: {item} is not a string"))
                    .to_owned()
            })
            .collect(),
        other => panic!("{what}: expected a string or a list of strings, got {other}"),
    }
}

pub(super) fn parse_condition(operator: &str, key: &str, values: &Value) -> Condition {
    let (qualifier, rest) = if let Some(rest) = operator.strip_prefix("ForAllValues:") {
        (SetQualifier::ForAllValues, rest)
    } else if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
        (SetQualifier::ForAnyValue, rest)
    } else {
        (SetQualifier::Single, operator)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let comparison = match base {
        "StringEquals" => Comparison::Equals,
        "StringLike" => Comparison::Like,
        _ => panic!("condition operator {operator} is unknown to this evaluator: teach it exactly, do not guess"),
    };
    let multi = MULTI_VALUED_KEYS.contains(&key);
    assert!(
        multi || SINGLE_VALUED_KEYS.contains(&key),
        "condition key {key} is unknown to this evaluator"
    );
    assert_eq!(
        multi,
        qualifier != SetQualifier::Single,
        "{operator} on {key}: a multi-valued key needs ForAllValues/ForAnyValue, a single-valued one neither"
    );
    Condition {
        qualifier,
        comparison,
        if_exists,
        key: key.to_owned(),
        values: strings(values, key),
    }
}

pub(super) fn parse_statement(function: &str, raw: &Value) -> Statement {
    let object = raw
        .as_object()
        .unwrap_or_else(|| panic!("{function}: a statement is not an object: {raw}"));
    for key in object.keys() {
        assert!(
            ["Sid", "Effect", "Action", "Resource", "Condition"].contains(&key.as_str()),
            "{function}: statement element {key} is unknown to this evaluator"
        );
    }
    let effect = match raw["Effect"].as_str() {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => panic!("{function}: Effect {other:?}"),
    };
    let mut conditions = Vec::new();
    if let Some(blocks) = raw.get("Condition") {
        let blocks = blocks
            .as_object()
            .unwrap_or_else(|| panic!("{function}: Condition is not an object"));
        for (operator, keys) in blocks {
            let keys = keys
                .as_object()
                .unwrap_or_else(|| panic!("{function}: {operator} is not an object"));
            for (key, values) in keys {
                conditions.push(parse_condition(operator, key, values));
            }
        }
    }
    Statement {
        sid: raw["Sid"].as_str().unwrap_or("").to_owned(),
        effect,
        actions: strings(&raw["Action"], "Action"),
        resources: strings(&raw["Resource"], "Resource"),
        conditions,
    }
}

/// Whether a statement's actions could name a DynamoDB action: a statement whose every
/// action belongs to another service (`s3:PutObject`) grants nothing here and is left
/// to that service (its own condition keys are unknown to this evaluator).
fn may_act_on_dynamodb(raw: &Value) -> bool {
    let actions = match &raw["Action"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    actions.is_empty()
        || actions.iter().any(|action| {
            let service = action.split(':').next().unwrap_or("");
            action.starts_with("dynamodb:") || service.contains('*') || service.contains('?')
        })
}

/// The statements of one function's resolved `Policies`.
pub(super) fn statements_of(function: &str, policies: &Value) -> Vec<Statement> {
    let entries = match policies {
        Value::Null => Vec::new(),
        Value::Array(entries) => entries.clone(),
        other => vec![other.clone()],
    };
    let mut statements = Vec::new();
    for entry in entries {
        match &entry {
            Value::Object(map) if map.contains_key("Statement") => {
                let raw = match &map["Statement"] {
                    Value::Array(list) => list.clone(),
                    single => vec![single.clone()],
                };
                statements.extend(
                    raw.iter()
                        .filter(|s| may_act_on_dynamodb(s))
                        .map(|s| parse_statement(function, s)),
                );
            }
            Value::Object(map) if map.len() == 1 => {
                let name = map.keys().next().map(String::as_str).unwrap_or("");
                assert!(
                    NON_DYNAMODB_TEMPLATES.contains(&name),
                    "{function}: SAM policy template {name} is not evaluated here and might grant DynamoDB access; use statements"
                );
            }
            other => panic!(
                "{function}: policy {other} is not evaluated here and might grant DynamoDB access; use statements"
            ),
        }
    }
    statements
}

/// IAM's string matching: `*` any run of characters, `?` one.
pub(super) fn like(pattern: &str, text: &str) -> bool {
    patgate::permissions::glob_match(pattern, text)
}

/// One IAM authorisation request: an action on a resource, with the condition keys
/// the request carries (a key absent from the map is absent from the request).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct IamRequest {
    pub(super) action: String,
    pub(super) resource: String,
    pub(super) context: BTreeMap<&'static str, Vec<String>>,
}

impl Condition {
    pub(super) fn holds(&self, context: &BTreeMap<&'static str, Vec<String>>) -> bool {
        let matches = |value: &str| {
            self.values.iter().any(|allowed| match self.comparison {
                Comparison::Equals => allowed == value,
                Comparison::Like => like(allowed, value),
            })
        };
        let present = context.get(self.key.as_str()).filter(|v| !v.is_empty());
        match (self.qualifier, present) {
            (_, None) if self.if_exists => true,
            (SetQualifier::ForAllValues, None) => true,
            (SetQualifier::ForAllValues, Some(values)) => values.iter().all(|v| matches(v)),
            (SetQualifier::ForAnyValue, None) => false,
            (SetQualifier::ForAnyValue, Some(values)) => values.iter().any(|v| matches(v)),
            (SetQualifier::Single, None) => false,
            (SetQualifier::Single, Some(values)) => values.len() == 1 && matches(&values[0]),
        }
    }
}

impl Statement {
    pub(super) fn applies(&self, request: &IamRequest) -> bool {
        self.actions.iter().any(|a| {
            like(
                &a.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        }) && self.resources.iter().any(|r| like(r, &request.resource))
            && self.conditions.iter().all(|c| c.holds(&request.context))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    Allowed(String),
    ImplicitDeny,
    ExplicitDeny(String),
}

/// IAM's order: an explicit Deny wins, then an Allow, else an implicit deny.
pub(super) fn decide(statements: &[Statement], request: &IamRequest) -> Decision {
    let matching = |effect| {
        statements
            .iter()
            .find(|s| s.effect == effect && s.applies(request))
            .map(|s| s.sid.clone())
    };
    if let Some(sid) = matching(Effect::Deny) {
        Decision::ExplicitDeny(sid)
    } else if let Some(sid) = matching(Effect::Allow) {
        Decision::Allowed(sid)
    } else {
        Decision::ImplicitDeny
    }
}

// ---------------------------------------------------------------- the evaluator's own semantics

pub(super) fn statement(conditions: Value) -> Vec<Statement> {
    statements_of(
        "test",
        &json!({"Statement": [{"Effect": "Allow", "Action": "dynamodb:UpdateItem",
                               "Resource": TABLE_ARN, "Condition": conditions}]}),
    )
}

pub(super) fn context(pairs: &[(&'static str, &[&str])]) -> IamRequest {
    IamRequest {
        action: "dynamodb:UpdateItem".to_owned(),
        resource: TABLE_ARN.to_owned(),
        context: pairs
            .iter()
            .map(|(k, v)| (*k, v.iter().map(|s| (*s).to_owned()).collect()))
            .collect(),
    }
}

#[test]
pub(super) fn the_evaluator_follows_iam_set_semantics() {
    let leading =
        statement(json!({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["TOKENS#*"]}}));
    let allowed = |s: &[Statement], r: &IamRequest| matches!(decide(s, r), Decision::Allowed(_));
    assert!(allowed(
        &leading,
        &context(&[("dynamodb:LeadingKeys", &["TOKENS#a"])])
    ));
    assert!(!allowed(
        &leading,
        &context(&[("dynamodb:LeadingKeys", &["TOKENS#a", "USER#a"])])
    ));
    // ForAllValues of nothing holds: why no function may Scan.
    assert!(allowed(&leading, &context(&[])));
    let returns = statement(json!({"StringEquals": {"dynamodb:ReturnValues": "NONE"}}));
    assert!(allowed(
        &returns,
        &context(&[("dynamodb:ReturnValues", &["NONE"])])
    ));
    assert!(!allowed(
        &returns,
        &context(&[("dynamodb:ReturnValues", &["ALL_OLD"])])
    ));
    assert!(
        !allowed(&returns, &context(&[])),
        "a plain operator needs the key"
    );
    let if_exists = statement(json!({"StringEqualsIfExists": {"dynamodb:ReturnValues": "NONE"}}));
    assert!(allowed(&if_exists, &context(&[])));
    let any = statement(
        json!({"ForAnyValue:StringEquals": {"dynamodb:EnclosingOperation": "TransactWriteItems"}}),
    );
    assert!(!allowed(&any, &context(&[])));
    assert!(allowed(
        &any,
        &context(&[("dynamodb:EnclosingOperation", &["TransactWriteItems"])])
    ));
    let mut deny = leading.clone();
    deny.extend(statements_of(
        "test",
        &json!({"Statement": {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}}),
    ));
    assert!(matches!(
        decide(&deny, &context(&[("dynamodb:LeadingKeys", &["TOKENS#a"])])),
        Decision::ExplicitDeny(_)
    ));
    assert_eq!(
        expression_attributes(
            "SET #a = :v, b.c = :w, d[0] = :x REMOVE e ADD f :y",
            &json!({"#a": "alias"})
        ),
        ["alias", "b", "d", "e", "f"].map(str::to_owned).into()
    );
    assert_eq!(
        expression_attributes(
            "attribute_exists(pk) AND (attribute_not_exists(x) OR size(#l) < :n)",
            &json!({"#l": "live"})
        ),
        ["live", "pk", "x"].map(str::to_owned).into()
    );
}

#[test]
#[should_panic(expected = "unknown to this evaluator")]
pub(super) fn an_unknown_condition_operator_fails_instead_of_passing() {
    statement(json!({"ArnLike": {"dynamodb:LeadingKeys": ["x"]}}));
}

#[test]
#[should_panic(expected = "unknown to this evaluator")]
pub(super) fn an_unknown_condition_key_fails_instead_of_passing() {
    statement(json!({"StringEquals": {"aws:SourceIp": "1.2.3.4"}}));
}

#[test]
#[should_panic(expected = "might grant DynamoDB access")]
pub(super) fn a_sam_policy_template_that_may_grant_dynamodb_access_fails() {
    statements_of("test", &json!([{"DynamoDBCrudPolicy": {"TableName": "t"}}]));
}
