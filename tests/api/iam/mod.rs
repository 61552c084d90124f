//! template.yaml's IAM policies, evaluated against what each function really asks of
//! DynamoDB, so that a missing permission fails here and not after a deploy.
//!
//! Each function's `Policies` are read from the template (the local stack's reader,
//! intrinsic functions resolved) and evaluated by a small evaluator that knows exactly
//! the statement shapes the template uses: `Action`, `Resource`, and conditions with
//! `StringEquals` / `StringLike`, plain, `…IfExists`, `ForAllValues:` or
//! `ForAnyValue:`, on the DynamoDB condition keys. Anything else (another operator,
//! another key, `NotAction`, a managed policy or an unknown SAM policy template that
//! could grant DynamoDB access) fails the test rather than being guessed at.
//!
//! Then each function's flows run against DynamoDB Local behind the recording proxy,
//! and every request the function made (each item of a transaction counted as the
//! PutItem, UpdateItem, DeleteItem or ConditionCheckItem IAM authorises it as) must be
//! allowed by that function's policy. Requests the functions must never be able to
//! make (a user's `PROFILE`, attributes other than last use for the authorizer, reads
//! of whole items back from a write) must be denied.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use patgate::metrics::Metrics;
use patgate::store::items::{self, LAST_USE_ATTRIBUTES, PK};
use patgate::user::{User, UserId};
use patgate_local::cfn::{LocalContext, Template};
use patgate_local::sam;
use patgate_tests::proxy::{DynamoProxy, Fault, Recorded};
use patgate_tests::*;
use serde_json::{json, Value};

/// What `!GetAtt TokensTable.Arn` resolves to with the local reader.
const TABLE_ARN: &str = "local:TokensTable.Arn";

/// SAM policy templates that grant nothing on DynamoDB (checked by name: any other
/// template fails the test, since it might).
const NON_DYNAMODB_TEMPLATES: [&str; 2] = ["EventBridgePutEventsPolicy", "SQSSendMessagePolicy"];

// ---------------------------------------------------------------- the evaluator

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// How a condition treats the request's values for its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    /// The key has one value.
    Single,
    /// Every value of the key must match (true when the key has none).
    ForAllValues,
    /// Some value of the key must match (false when the key has none).
    ForAnyValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equals,
    Like,
}

#[derive(Debug, Clone)]
struct Condition {
    qualifier: SetQualifier,
    comparison: Comparison,
    /// `…IfExists`: true when the request has no value for the key.
    if_exists: bool,
    key: String,
    values: Vec<String>,
}

#[derive(Debug, Clone)]
struct Statement {
    sid: String,
    effect: Effect,
    actions: Vec<String>,
    resources: Vec<String>,
    conditions: Vec<Condition>,
}

/// The condition keys the evaluator computes for a DynamoDB request; a policy using
/// any other key fails the test.
const MULTI_VALUED_KEYS: [&str; 3] = [
    "dynamodb:LeadingKeys",
    "dynamodb:Attributes",
    "dynamodb:EnclosingOperation",
];
const SINGLE_VALUED_KEYS: [&str; 3] = [
    "dynamodb:ReturnValues",
    "dynamodb:Select",
    "dynamodb:ReturnConsumedCapacity",
];

fn strings(value: &Value, what: &str) -> Vec<String> {
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

fn parse_condition(operator: &str, key: &str, values: &Value) -> Condition {
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

fn parse_statement(function: &str, raw: &Value) -> Statement {
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

/// The statements of one function's resolved `Policies`.
fn statements_of(function: &str, policies: &Value) -> Vec<Statement> {
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
                statements.extend(raw.iter().map(|s| parse_statement(function, s)));
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
fn like(pattern: &str, text: &str) -> bool {
    patgate::permissions::glob_match(pattern, text)
}

/// One IAM authorisation request: an action on a resource, with the condition keys
/// the request carries (a key absent from the map is absent from the request).
#[derive(Debug, Clone, PartialEq)]
struct IamRequest {
    action: String,
    resource: String,
    context: BTreeMap<&'static str, Vec<String>>,
}

impl Condition {
    fn holds(&self, context: &BTreeMap<&'static str, Vec<String>>) -> bool {
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
    fn applies(&self, request: &IamRequest) -> bool {
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
enum Decision {
    Allowed(String),
    ImplicitDeny,
    ExplicitDeny(String),
}

/// IAM's order: an explicit Deny wins, then an Allow, else an implicit deny.
fn decide(statements: &[Statement], request: &IamRequest) -> Decision {
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

// ---------------------------------------------------------------- DynamoDB requests as IAM sees them

/// Words of an expression that are not attribute names.
const KEYWORDS: [&str; 9] = [
    "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
];

/// The top-level attribute names an expression reads or writes (`#aliases`
/// resolved; functions, keywords, `:values` and nested path parts left out).
fn expression_attributes(expression: &str, names: &Value) -> BTreeSet<String> {
    let chars: Vec<char> = expression.chars().collect();
    let mut found = BTreeSet::new();
    let mut i = 0;
    let mut nested = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' || c == ':' || c.is_alphabetic() || c == '_' {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let call = chars.get(next) == Some(&'(');
            let part_of_path = std::mem::take(&mut nested);
            if word.starts_with(':')
                || part_of_path
                || call
                || KEYWORDS.contains(&word.to_ascii_uppercase().as_str())
            {
                continue;
            }
            let name = if word.starts_with('#') {
                names[&word]
                    .as_str()
                    .unwrap_or_else(|| panic!("{word} of `{expression}` has no name"))
                    .to_owned()
            } else {
                word
            };
            found.insert(name);
        } else if c == '.' {
            nested = true;
            i += 1;
        } else if c == '[' {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The partition key value a Query's key condition fixes.
fn queried_partition(body: &Value) -> String {
    let expression = body["KeyConditionExpression"]
        .as_str()
        .expect("a Query by key condition");
    let names = &body["ExpressionAttributeNames"];
    let resolve = |word: &str| {
        let word = word.trim();
        if word.starts_with('#') {
            names[word].as_str().unwrap_or("").to_owned()
        } else {
            word.to_owned()
        }
    };
    for part in expression.split(" AND ").chain(expression.split(" and ")) {
        if let Some((left, right)) = part.split_once('=') {
            let (left, right) = (left.trim(), right.trim());
            let placeholder = if resolve(left) == PK {
                right
            } else if resolve(right) == PK {
                left
            } else {
                continue;
            };
            return body["ExpressionAttributeValues"][placeholder]["S"]
                .as_str()
                .unwrap_or_else(|| panic!("{placeholder} of `{expression}`"))
                .to_owned();
        }
    }
    panic!("no partition key in `{expression}`")
}

fn partition_of(key: &Value) -> String {
    key[PK]["S"]
        .as_str()
        .unwrap_or_else(|| panic!("no string {PK} in {key}"))
        .to_owned()
}

fn attribute_names(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

/// The attributes a single-item request (or one item of a transaction) names.
fn named_attributes(item_or_key: &Value, body: &Value) -> BTreeSet<String> {
    let names = &body["ExpressionAttributeNames"];
    let mut attributes = attribute_names(item_or_key);
    for field in [
        "UpdateExpression",
        "ConditionExpression",
        "ProjectionExpression",
        "FilterExpression",
        "KeyConditionExpression",
    ] {
        if let Some(expression) = body[field].as_str() {
            attributes.extend(expression_attributes(expression, names));
        }
    }
    for legacy in ["AttributeUpdates", "Expected"] {
        attributes.extend(attribute_names(&body[legacy]));
    }
    if let Some(list) = body["AttributesToGet"].as_array() {
        attributes.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    attributes
}

struct Translator<'a> {
    table: &'a str,
}

impl Translator<'_> {
    fn resource(&self, body: &Value) -> String {
        match body["TableName"].as_str() {
            Some(name) if name == self.table => TABLE_ARN.to_owned(),
            Some(other) => format!("local:table/{other}"),
            None => "local:no-table".to_owned(),
        }
    }

    fn request(
        &self,
        action: &str,
        body: &Value,
        partitions: Vec<String>,
        attributes: BTreeSet<String>,
        enclosing: Option<&str>,
    ) -> IamRequest {
        let mut context: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        if !partitions.is_empty() {
            context.insert("dynamodb:LeadingKeys", partitions);
        }
        context.insert("dynamodb:Attributes", attributes.into_iter().collect());
        for (key, field) in [
            ("dynamodb:ReturnValues", "ReturnValues"),
            ("dynamodb:ReturnConsumedCapacity", "ReturnConsumedCapacity"),
        ] {
            // Strictly as sent: a parameter left out is absent from the request. (AWS
            // documents ReturnValues as NONE when left out; the functions state it, so
            // the policies hold under either reading.)
            if let Some(value) = body[field].as_str() {
                context.insert(key, vec![value.to_owned()]);
            }
        }
        if ["GetItem", "Query", "Scan", "BatchGetItem"].contains(&action) {
            let select = match body["Select"].as_str() {
                Some(select) => select,
                None if body["ProjectionExpression"].is_string() => "SPECIFIC_ATTRIBUTES",
                None => "ALL_ATTRIBUTES",
            };
            context.insert("dynamodb:Select", vec![select.to_owned()]);
        }
        if let Some(operation) = enclosing {
            context.insert("dynamodb:EnclosingOperation", vec![operation.to_owned()]);
        }
        IamRequest {
            action: format!("dynamodb:{action}"),
            resource: self.resource(body),
            context,
        }
    }

    /// The IAM requests one DynamoDB request is authorised as.
    fn translate(&self, operation: &str, body: &Value) -> Vec<IamRequest> {
        match operation {
            "GetItem" | "UpdateItem" | "DeleteItem" => {
                let key = &body["Key"];
                vec![self.request(
                    operation,
                    body,
                    vec![partition_of(key)],
                    named_attributes(key, body),
                    None,
                )]
            }
            "PutItem" => {
                let item = &body["Item"];
                vec![self.request(
                    operation,
                    body,
                    vec![partition_of(item)],
                    named_attributes(item, body),
                    None,
                )]
            }
            "Query" => vec![self.request(
                operation,
                body,
                vec![queried_partition(body)],
                named_attributes(&Value::Null, body),
                None,
            )],
            "Scan" => vec![self.request(
                operation,
                body,
                Vec::new(),
                named_attributes(&Value::Null, body),
                None,
            )],
            "BatchGetItem" => attribute_names(&body["RequestItems"])
                .into_iter()
                .map(|table| {
                    let part = &body["RequestItems"][&table];
                    let keys = part["Keys"].as_array().cloned().unwrap_or_default();
                    let mut attributes = named_attributes(&Value::Null, part);
                    keys.iter()
                        .for_each(|k| attributes.extend(attribute_names(k)));
                    let mut request = self.request(
                        operation,
                        part,
                        keys.iter().map(partition_of).collect(),
                        attributes,
                        None,
                    );
                    request.resource = self.resource(&json!({ "TableName": table }));
                    request
                })
                .collect(),
            "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|entry| {
                    let (kind, part) = entry
                        .as_object()
                        .and_then(|m| m.iter().next())
                        .unwrap_or_else(|| panic!("transaction item {entry}"));
                    let (action, item) = match kind.as_str() {
                        "Put" => ("PutItem", &part["Item"]),
                        "Update" => ("UpdateItem", &part["Key"]),
                        "Delete" => ("DeleteItem", &part["Key"]),
                        "ConditionCheck" => ("ConditionCheckItem", &part["Key"]),
                        "Get" => ("GetItem", &part["Key"]),
                        other => panic!("transaction item kind {other}"),
                    };
                    self.request(
                        action,
                        part,
                        vec![partition_of(item)],
                        named_attributes(item, part),
                        Some(operation),
                    )
                })
                .collect(),
            other => vec![self.request(other, body, Vec::new(), BTreeSet::new(), None)],
        }
    }
}

// ---------------------------------------------------------------- the template's policies

/// Every function's statements, by binary name.
fn function_policies() -> BTreeMap<String, Vec<Statement>> {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let overrides = BTreeMap::from([("WebOrigin".to_owned(), WEB_ORIGIN.to_owned())]);
    let parameters = sam::local_parameters(&overrides);
    let template =
        Template::parse(&text, &parameters, &LocalContext::default()).expect("template reads");
    template
        .resources_of("AWS::Serverless::Function")
        .map(|(logical_id, resource)| {
            let binary = resource
                .pointer("/Metadata/BuildProperties/Binary")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{logical_id}: no Binary"))
                .to_owned();
            let policies = resource
                .pointer("/Properties/Policies")
                .map(|p| template.resolve(p).expect("policies resolve"))
                .unwrap_or_default()
                .unwrap_or(Value::Null);
            let statements = statements_of(&binary, &policies);
            (binary, statements)
        })
        .collect()
}

// ---------------------------------------------------------------- the functions' real requests

/// A table seen two ways: `setup` writes directly, `watched` goes through the
/// recording proxy and is what the function under test uses.
struct Rig {
    setup: TestApp,
    watched: TestApp,
    proxy: DynamoProxy,
}

impl Rig {
    async fn new(overrides: &[(&str, &str)]) -> Rig {
        let table = TestTable::new().await;
        let proxy = DynamoProxy::start(&endpoint()).await;
        let watched = TestApp::on(table.through(&proxy.endpoint), overrides);
        let setup = TestApp::on(table, overrides);
        Rig {
            setup,
            watched,
            proxy,
        }
    }

    /// The requests `flow` made through the proxy.
    async fn watch<F: Future>(&self, flow: F) -> (F::Output, Vec<Recorded>) {
        self.proxy.clear_recorded();
        let output = flow.await;
        // A write the function stopped waiting for was still sent: count it too.
        self.proxy.settle().await;
        (output, self.proxy.recorded())
    }
}

/// What one function was seen asking for.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, Recorded)>,
}

impl Seen {
    fn add(&mut self, flow: &str, recorded: Vec<Recorded>) {
        assert!(!recorded.is_empty(), "{flow}: no DynamoDB request seen");
        self.requests
            .extend(recorded.into_iter().map(|r| (flow.to_owned(), r)));
    }
}

/// `action partition-prefix` of a request, e.g. `UpdateItem HASH#`.
fn shape(request: &IamRequest) -> String {
    let prefixes: BTreeSet<String> = request
        .context
        .get("dynamodb:LeadingKeys")
        .into_iter()
        .flatten()
        .map(|pk| match pk.find('#') {
            Some(end) => pk[..=end].to_owned(),
            None => pk.clone(),
        })
        .collect();
    let prefixes: Vec<String> = prefixes.into_iter().collect();
    format!(
        "{} {}",
        request.action.trim_start_matches("dynamodb:"),
        prefixes.join(",")
    )
}

/// Every request `seen` of `function` must be allowed by its statements: the shapes
/// seen (for the summary), or what the policy refuses.
fn check_allowed(
    function: &str,
    statements: &[Statement],
    table: &str,
    seen: &Seen,
) -> Result<BTreeSet<String>, String> {
    let translator = Translator { table };
    let mut refused = Vec::new();
    let mut shapes = BTreeSet::new();
    for (flow, recorded) in &seen.requests {
        for request in translator.translate(&recorded.operation, &recorded.body) {
            shapes.insert(shape(&request));
            let decision = decide(statements, &request);
            if !matches!(decision, Decision::Allowed(_)) {
                refused.push(format!(
                    "{flow}: {decision:?} for {} on {} with {:?}\n    request: {}",
                    request.action, request.resource, request.context, recorded.body
                ));
            }
        }
    }
    if refused.is_empty() {
        Ok(shapes)
    } else {
        Err(format!(
            "{function}'s policy in template.yaml refuses requests it makes:\n{}",
            refused.join("\n")
        ))
    }
}

async fn create_token_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let ann = rig.setup.user("ann", &["User"], Some("Europe/Paris")).await;
    let body = json!({"name":"ci","expiresOn":date_in(30, chrono_tz::Tz::UTC, Utc::now()),"timeZone":"Europe/Paris"});
    let (answer, recorded) = rig.watch(rig.watched.create(&ann, body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    seen.add("create with reminders", recorded);

    let scoped = json!({"name":"scoped","expiresOn":date_in(3, chrono_tz::Tz::UTC, Utc::now()),"permissions":["catalog:read"]});
    let (answer, recorded) = rig.watch(rig.watched.create(&ann, scoped)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    seen.add("scoped create", recorded);

    // A user write between the create's user read and its hash item: the create
    // brings the new hash item in step afterwards (an UpdateItem on HASH#).
    let cat = rig.setup.user("cat", &["User"], None).await;
    // The slot reservation's answer is held back; the role change lands while the
    // create waits for it, before its token is written.
    rig.proxy.set_for(
        Fault::DelayAnswer(Duration::from_millis(1500)),
        "UpdateItem",
        Some(1),
    );
    let body = json!({"name":"late","expiresOn":date_in(3, chrono_tz::Tz::UTC, Utc::now())});
    let ((answer, ()), recorded) = rig
        .watch(async {
            tokio::join!(rig.watched.create(&cat, body), async {
                while !rig.proxy.forwarded().iter().any(|op| op == "UpdateItem") {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let promoted = User {
                    id: UserId::parse("cat").unwrap(),
                    roles: vec!["Manager".to_owned()],
                    time_zone: None,
                    active: true,
                };
                rig.setup.table.store.put_user(&promoted).await.unwrap();
            })
        })
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let translator = Translator {
        table: rig.setup.table.name(),
    };
    assert!(
        recorded
            .iter()
            .flat_map(|r| translator.translate(&r.operation, &r.body))
            .any(|r| shape(&r) == "UpdateItem HASH#"),
        "the catch-up write happened: {recorded:?}"
    );
    seen.add("create racing a role change", recorded);

    // At the cap with a slot whose token has expired: the recount frees it.
    let dan = rig.setup.user("dan", &["User"], None).await;
    let today = json!({"name":"today","expiresOn":date_in(0, chrono_tz::Tz::UTC, Utc::now()),"timeZone":"UTC"});
    assert_eq!(rig.setup.create(&dan, today).await.status, 201);
    let later = Utc::now() + chrono::Duration::days(2);
    let capped = TestApp::on(
        rig.setup.table.through(&rig.proxy.endpoint),
        &[("MAX_TOKENS_PER_USER", "1")],
    );
    let body =
        json!({"name":"next","expiresOn":date_in(5, chrono_tz::Tz::UTC, later),"timeZone":"UTC"});
    let (answer, recorded) = rig.watch(capped.create_at(&dan, body, later)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert!(recorded.iter().any(|r| r.operation == "Query"), "recounted");
    seen.add("create at the cap after an expiry", recorded);

    // The token write fails: the slot is given back.
    rig.proxy
        .set_for(Fault::Reset, "TransactWriteItems", Some(10));
    let body = json!({"name":"failing","expiresOn":date_in(3, chrono_tz::Tz::UTC, Utc::now())});
    let (answer, recorded) = rig.watch(rig.watched.create(&ann, body)).await;
    rig.proxy.heal();
    assert_eq!(answer.status, 503, "{}", answer.text);
    seen.add("create whose write fails", recorded);
    seen
}

async fn token_management_flows(rig: &Rig) -> BTreeMap<&'static str, Seen> {
    let mut seen: BTreeMap<&'static str, Seen> = BTreeMap::new();
    let eve = rig.setup.user("eve", &["User"], None).await;
    for i in 0..3 {
        rig.setup
            .issue_with(&eve, json!({"name": format!("t{i}")}))
            .await;
    }
    let first = rig.setup.issue(&eve).await;

    // list-tokens
    let list = seen.entry("list-tokens").or_default();
    let (answer, recorded) = rig.watch(rig.watched.list(&eve)).await;
    assert_eq!(answer.status, 200);
    list.add("list", recorded);
    let (answer, recorded) = rig
        .watch(rig.watched.list_query(&eve, &[("limit", "2")], Utc::now()))
        .await;
    let next = answer.body["nextToken"].as_str().unwrap().to_owned();
    list.add("first page", recorded);
    let (answer, recorded) = rig
        .watch(
            rig.watched
                .list_query(&eve, &[("limit", "2"), ("nextToken", &next)], Utc::now()),
        )
        .await;
    assert_eq!(answer.status, 200);
    list.add("next page", recorded);

    // rotate-token: a first rotation, a second one (which deletes the first's old
    // hash item), a new expiry in another zone (reminders move).
    let rotate = seen.entry("rotate-token").or_default();
    let (answer, recorded) = rig
        .watch(
            rig.watched
                .rotate(&eve, &first.id, json!({"graceSeconds": 60})),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    rotate.add("rotate", recorded);
    let (answer, recorded) = rig
        .watch(rig.watched.rotate(&eve, &first.id, json!({})))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    rotate.add("rotate again", recorded);
    let body = json!({"expiresOn": date_in(20, chrono_tz::Tz::Asia__Tokyo, Utc::now()), "timeZone": "Asia/Tokyo"});
    let (answer, recorded) = rig.watch(rig.watched.rotate(&eve, &first.id, body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    rotate.add("rotate to a new expiry", recorded);

    // revoke-token: a rotated token with reminders, again, an unknown id.
    let revoke = seen.entry("revoke-token").or_default();
    let (answer, recorded) = rig.watch(rig.watched.revoke(&eve, &first.id)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    revoke.add("revoke", recorded);
    let (answer, recorded) = rig.watch(rig.watched.revoke(&eve, &first.id)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    revoke.add("revoke again", recorded);
    let (answer, recorded) = rig
        .watch(rig.watched.revoke(&eve, "01ARZ3NDEKTSV4RRFFQ69G5FAV"))
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    revoke.add("revoke unknown", recorded);

    // revoke-credentials: a live secret, a rotated-out one in its grace, garbage.
    let report = seen.entry("revoke-credentials").or_default();
    let live = rig.setup.issue(&eve).await;
    let rotated = rig.setup.issue(&eve).await;
    let answer = rig
        .setup
        .rotate(&eve, &rotated.id, json!({"graceSeconds": 600}))
        .await;
    assert_eq!(answer.status, 201);
    let body = json!({"credentials": [live.token, rotated.token, "junk"]}).to_string();
    let (answer, recorded) = rig.watch(rig.watched.report(&body)).await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert!(
        recorded
            .iter()
            .filter(|r| r.operation == "TransactWriteItems")
            .count()
            >= 2,
        "both tokens revoked"
    );
    report.add("leak report", recorded);
    seen
}

async fn authorizer_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let fay = rig.setup.user("fay", &["User"], None).await;
    let issued = rig.setup.issue(&fay).await;
    let now = Utc::now();
    let authorizer = rig.watched.authorizer();
    let (decision, recorded) = rig
        .watch(
            rig.watched
                .authorize(&authorizer, &issued.token, "GET", "/catalog", now),
        )
        .await;
    assert!(decision.is_ok(), "{decision:?}");
    assert!(
        recorded.iter().any(|r| r.operation == "UpdateItem"),
        "last use recorded"
    );
    seen.add("first use (REQUEST event)", recorded);

    // A TOKEN event has no origin: the last use's IP and user agent are removed.
    let event = token_authorizer_event(
        &format!("Bearer {}", issued.token),
        &method_arn("GET", "/catalog"),
    );
    let later = now + chrono::Duration::seconds(400);
    let (decision, recorded) = rig
        .watch(rig.watched.authorizer().handle(event, later))
        .await;
    assert!(decision.is_ok(), "{decision:?}");
    seen.add("use without origin (TOKEN event)", recorded);

    // A rotated-out secret presented after its grace: its reuse is recorded.
    let answer = rig.setup.rotate(&fay, &issued.id, json!({})).await;
    assert_eq!(answer.status, 201);
    let (decision, recorded) = rig
        .watch(rig.watched.authorize(
            &rig.watched.authorizer(),
            &issued.token,
            "GET",
            "/catalog",
            Utc::now() + chrono::Duration::seconds(1),
        ))
        .await;
    assert!(decision.is_err());
    assert!(recorded.iter().any(|r| r.operation == "UpdateItem"));
    seen.add("rotated-out secret reused", recorded);

    let stranger = patgate::token::TokenSecret::generate(&Default::default()).unwrap();
    let (decision, recorded) = rig
        .watch(rig.watched.authorize(
            &rig.watched.authorizer(),
            stranger.expose(),
            "GET",
            "/catalog",
            Utc::now(),
        ))
        .await;
    assert!(decision.is_err());
    seen.add("well-formed forgery", recorded);
    seen
}

async fn reminder_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let gil = rig.setup.user("gil", &["User"], None).await;
    let issued = rig
        .setup
        .issue_with(
            &gil,
            json!({"expiresOn": date_in(10, chrono_tz::Tz::UTC, Utc::now())}),
        )
        .await;
    let sink = CapturedSink::default();
    let job =
        reminders::ReminderJob::new(rig.watched.table.store.clone(), sink.clone(), Metrics::Off);
    // The 7-day reminder falls due at 09:00 UTC three days from now.
    let due = Utc::now() + chrono::Duration::days(4);
    let (report, recorded) = rig.watch(job.run(due)).await;
    report.unwrap();
    assert!(
        sink.events().iter().any(|e| e.token_id == issued.id),
        "the 7-day reminder went out"
    );
    seen.add("reminder run", recorded);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_each_function_makes_is_allowed_by_its_own_policy() {
    let policies = function_policies();
    let rig = Rig::new(&[]).await;
    let table = rig.setup.table.name().to_owned();
    let mut all: BTreeMap<&str, Seen> = BTreeMap::new();
    all.insert("create-token", create_token_flows(&rig).await);
    all.extend(token_management_flows(&rig).await);
    all.insert("authorizer", authorizer_flows(&rig).await);
    all.insert("reminders", reminder_flows(&rig).await);
    println!("DynamoDB requests per function (action, partition prefix):");
    let mut refused = Vec::new();
    for (function, seen) in &all {
        let statements = policies
            .get(*function)
            .unwrap_or_else(|| panic!("no function {function} in template.yaml"));
        match check_allowed(function, statements, &table, seen) {
            Ok(shapes) => println!(
                "  {function}: {}",
                shapes.into_iter().collect::<Vec<_>>().join("; ")
            ),
            Err(message) => refused.push(message),
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}

// ---------------------------------------------------------------- what must be refused

/// A DynamoDB request body for `translate`.
fn update(pk: &str, sk: &str, expression: &str, names: Value, return_values: &str) -> Value {
    json!({
        "TableName": "t",
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":v": {"S": "x"}},
        "ReturnValues": return_values,
    })
}

fn put(pk: &str, sk: &str, extra: &[&str]) -> Value {
    let mut item = json!({"pk": {"S": pk}, "sk": {"S": sk}});
    for name in extra {
        item[*name] = json!({"S": "x"});
    }
    json!({"TableName": "t", "Item": item})
}

fn key_request(pk: &str, sk: &str) -> Value {
    json!({"TableName": "t", "Key": {"pk": {"S": pk}, "sk": {"S": sk}}})
}

fn query(pk: &str) -> Value {
    json!({"TableName": "t", "KeyConditionExpression": "pk = :pk",
           "ExpressionAttributeValues": {":pk": {"S": pk}}})
}

/// Asserts `function` may not make any of `requests`.
fn assert_refused(
    policies: &BTreeMap<String, Vec<Statement>>,
    function: &str,
    requests: &[(&str, &str, Value)],
) {
    let translator = Translator { table: "t" };
    let statements = &policies[function];
    for (what, operation, body) in requests {
        for request in translator.translate(operation, body) {
            let decision = decide(statements, &request);
            assert!(
                !matches!(decision, Decision::Allowed(_)),
                "{function} may {what}: {decision:?} for {request:?}"
            );
        }
    }
}

#[test]
fn the_authorizer_can_write_only_last_use_attributes_of_token_items_and_read_nothing_back() {
    let policies = function_policies();
    let token = ("TOKENS#alice", "TOKEN#01ARZ3NDEKTSV4RRFFQ69G5FAV");
    let none = json!({});
    assert_refused(
        &policies,
        "authorizer",
        &[
            (
                "set a user's roles",
                "UpdateItem",
                update(
                    "USER#alice",
                    "PROFILE",
                    "SET #r = :v",
                    json!({"#r": "roles"}),
                    "NONE",
                ),
            ),
            (
                "set a token's roles",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET #r = :v",
                    json!({"#r": "roles"}),
                    "NONE",
                ),
            ),
            (
                "change a token's hash",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET token_hash = :v",
                    none.clone(),
                    "NONE",
                ),
            ),
            (
                "extend a token",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET expires_at = :v",
                    none.clone(),
                    "NONE",
                ),
            ),
            (
                "take a slot",
                "UpdateItem",
                update(token.0, "SLOTS", "ADD live :v", none.clone(), "NONE"),
            ),
            (
                "read a token back",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET last_used_at = :v",
                    none.clone(),
                    "ALL_OLD",
                ),
            ),
            (
                "read an update back",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET last_used_at = :v",
                    none.clone(),
                    "ALL_NEW",
                ),
            ),
            (
                "read updated values",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET last_used_at = :v",
                    none.clone(),
                    "UPDATED_NEW",
                ),
            ),
            (
                "write last use on a hash item",
                "UpdateItem",
                update(
                    "HASH#ab",
                    "HASH",
                    "SET last_used_at = :v",
                    none.clone(),
                    "NONE",
                ),
            ),
            (
                "write last use on a user",
                "UpdateItem",
                update(
                    "USER#alice",
                    "PROFILE",
                    "SET last_used_at = :v",
                    none.clone(),
                    "NONE",
                ),
            ),
            ("condition on another attribute", "UpdateItem", {
                let mut body = update(
                    token.0,
                    token.1,
                    "SET last_used_at = :v",
                    none.clone(),
                    "NONE",
                );
                body["ConditionExpression"] = json!("begins_with(token_hash, :v)");
                body
            }),
            (
                "put a token item",
                "PutItem",
                put(token.0, token.1, &["last_used_at"]),
            ),
            (
                "put a user",
                "PutItem",
                put("USER#alice", "PROFILE", &["roles"]),
            ),
            (
                "put a hash item",
                "PutItem",
                put("HASH#ab", "HASH", &["token_id"]),
            ),
            (
                "delete a token",
                "DeleteItem",
                key_request(token.0, token.1),
            ),
            (
                "read a token item",
                "GetItem",
                key_request(token.0, token.1),
            ),
            (
                "read a user",
                "GetItem",
                key_request("USER#alice", "PROFILE"),
            ),
            ("query tokens", "Query", query("TOKENS#alice")),
            (
                "batch-read hash items",
                "BatchGetItem",
                json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "HASH#ab"}, "sk": {"S": "HASH"}}]}}}),
            ),
            ("scan", "Scan", json!({"TableName": "t"})),
        ],
    );
    // What it may do is what the code writes: the template and the store agree.
    let statement = policies["authorizer"]
        .iter()
        .find(|s| s.actions == ["dynamodb:UpdateItem"])
        .expect("the authorizer's UpdateItem statement");
    let allowed: BTreeSet<&str> = statement
        .conditions
        .iter()
        .filter(|c| c.key == "dynamodb:Attributes")
        .flat_map(|c| c.values.iter().map(String::as_str))
        .collect();
    let expected: BTreeSet<&str> = LAST_USE_ATTRIBUTES
        .iter()
        .copied()
        .chain([items::PK, items::SK])
        .collect();
    assert_eq!(allowed, expected);
}

#[test]
fn no_function_can_write_user_records_or_scan() {
    let policies = function_policies();
    for function in policies.keys() {
        assert_refused(
            &policies,
            function,
            &[
                (
                    "put a user record",
                    "PutItem",
                    put("USER#alice", "PROFILE", &["roles", "active"]),
                ),
                (
                    "set a user's roles",
                    "UpdateItem",
                    update(
                        "USER#alice",
                        "PROFILE",
                        "SET #r = :v",
                        json!({"#r": "roles"}),
                        "NONE",
                    ),
                ),
                (
                    "activate a user",
                    "UpdateItem",
                    update(
                        "USER#alice",
                        "PROFILE",
                        "SET active = :v",
                        json!({}),
                        "NONE",
                    ),
                ),
                (
                    "delete a user record",
                    "DeleteItem",
                    key_request("USER#alice", "PROFILE"),
                ),
                ("scan the table", "Scan", json!({"TableName": "t"})),
                ("put into another table", "PutItem", {
                    let mut body = put("TOKENS#alice", "TOKEN#x", &[]);
                    body["TableName"] = json!("other");
                    body
                }),
            ],
        );
    }
}

#[test]
fn each_token_function_writes_only_its_own_kind_of_item() {
    let policies = function_policies();
    let token = ("TOKENS#alice", "TOKEN#01ARZ3NDEKTSV4RRFFQ69G5FAV");
    let hash = ("HASH#ab", "HASH");
    let writes = |pk: &str, sk: &str| {
        vec![
            ("put", "PutItem", put(pk, sk, &["x"])),
            (
                "update",
                "UpdateItem",
                update(pk, sk, "SET x = :v", json!({}), "NONE"),
            ),
            ("delete", "DeleteItem", key_request(pk, sk)),
        ]
    };
    // Listing reads; it writes nothing at all. The reminder job writes reminders only.
    for (pk, sk) in [token, hash, ("REMIND#2027-01-01T09", "x#1")] {
        assert_refused(&policies, "list-tokens", &writes(pk, sk));
    }
    for (pk, sk) in [token, hash] {
        assert_refused(&policies, "reminders", &writes(pk, sk));
    }
    // Revoking deletes credentials; it never mints or changes one.
    for function in ["revoke-token", "revoke-credentials"] {
        assert_refused(
            &policies,
            function,
            &[
                (
                    "mint a hash item",
                    "PutItem",
                    put(hash.0, hash.1, &["token_id"]),
                ),
                (
                    "change a hash item",
                    "UpdateItem",
                    update(hash.0, hash.1, "SET valid_until = :v", json!({}), "NONE"),
                ),
                (
                    "put a reminder",
                    "PutItem",
                    put("REMIND#2027-01-01T09", "x#1", &[]),
                ),
            ],
        );
    }
    // Creating never deletes a credential, and its catch-up touches only the owner's
    // access attributes of a hash item.
    assert_refused(
        &policies,
        "create-token",
        &[
            (
                "delete a hash item",
                "DeleteItem",
                key_request(hash.0, hash.1),
            ),
            (
                "extend a hash item",
                "UpdateItem",
                update(hash.0, hash.1, "SET valid_until = :v", json!({}), "NONE"),
            ),
            (
                "repoint a hash item",
                "UpdateItem",
                update(hash.0, hash.1, "SET token_id = :v", json!({}), "NONE"),
            ),
            (
                "read a hash item back",
                "UpdateItem",
                update(
                    hash.0,
                    hash.1,
                    "SET #r = :v",
                    json!({"#r": "roles"}),
                    "ALL_OLD",
                ),
            ),
            ("read a hash item", "GetItem", key_request(hash.0, hash.1)),
        ],
    );
    // The reminder job touches reminders and its checkpoint only.
    assert_refused(
        &policies,
        "reminders",
        &[
            ("read a token", "GetItem", key_request(token.0, token.1)),
            ("read a hash item", "GetItem", key_request(hash.0, hash.1)),
        ],
    );
}

// ---------------------------------------------------------------- the evaluator's own semantics

fn statement(conditions: Value) -> Vec<Statement> {
    statements_of(
        "test",
        &json!({"Statement": [{"Effect": "Allow", "Action": "dynamodb:UpdateItem",
                               "Resource": TABLE_ARN, "Condition": conditions}]}),
    )
}

fn context(pairs: &[(&'static str, &[&str])]) -> IamRequest {
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
fn the_evaluator_follows_iam_set_semantics() {
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
fn an_unknown_condition_operator_fails_instead_of_passing() {
    statement(json!({"ArnLike": {"dynamodb:LeadingKeys": ["x"]}}));
}

#[test]
#[should_panic(expected = "unknown to this evaluator")]
fn an_unknown_condition_key_fails_instead_of_passing() {
    statement(json!({"StringEquals": {"aws:SourceIp": "1.2.3.4"}}));
}

#[test]
#[should_panic(expected = "might grant DynamoDB access")]
fn a_sam_policy_template_that_may_grant_dynamodb_access_fails() {
    statements_of("test", &json!([{"DynamoDBCrudPolicy": {"TableName": "t"}}]));
}

// ---------------------------------------------------------------- who may invoke the authorizer

/// Source ARNs of the Lambda permissions that let API Gateway invoke the authorizer,
/// with the template evaluated for `client_apis` (the `AuthorizerClientApiArns`
/// parameter). `PatgateApi`'s own comes from SAM, which adds a permission for this
/// API's authorizers when the Api declares a Lambda authorizer without an invoke role.
fn authorizer_invokers(client_apis: &str) -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let overrides = BTreeMap::from([
        ("AuthorizerClientApiArns".to_owned(), client_apis.to_owned()),
        ("WebOrigin".to_owned(), WEB_ORIGIN.to_owned()),
    ]);
    let parameters = sam::local_parameters(&overrides);
    let context = LocalContext::default();
    let template = Template::parse(&text, &parameters, &context).expect("template reads");
    let function_arn = json!("local:AuthorizerFunction.Arn");
    let mut invokers = Vec::new();

    let authorizer = template
        .resource("PatgateApi")
        .and_then(|api| api.pointer("/Properties/Auth/Authorizers/PatgateAuthorizer"))
        .expect("PatgateApi declares PatgateAuthorizer");
    let authorizer = template.resolve(authorizer).unwrap().unwrap();
    assert_eq!(authorizer["FunctionArn"], function_arn);
    assert!(
        authorizer.get("FunctionInvokeRole").is_none(),
        "with an invoke role SAM adds no scoped permission"
    );
    invokers.push(format!(
        "arn:aws:execute-api:{}:{}:PatgateApi/authorizers/*",
        context.region, context.account_id
    ));

    let function = template
        .resource("AuthorizerFunction")
        .expect("AuthorizerFunction");
    assert!(
        function.pointer("/Properties/Events").is_none(),
        "an event source on the authorizer would add permissions of its own"
    );

    let resources = template.root()["Resources"].as_object().unwrap();
    for resource in resources.values() {
        if Template::resource_type(resource) != "AWS::Lambda::Permission" {
            continue;
        }
        if let Some(condition) = resource["Condition"].as_str() {
            let exists = template
                .resolve(&json!({"Fn::If": [condition, true, false]}))
                .unwrap()
                .unwrap();
            if exists == json!(false) {
                continue;
            }
        }
        let properties = template.resolve(&resource["Properties"]).unwrap().unwrap();
        if properties["FunctionName"] != function_arn {
            continue;
        }
        assert_eq!(properties["Action"], "lambda:InvokeFunction");
        assert_eq!(properties["Principal"], "apigateway.amazonaws.com");
        assert_eq!(properties["SourceAccount"], json!(context.account_id));
        let source = properties["SourceArn"].as_str().unwrap_or_else(|| {
            panic!(
                "a permission without SourceArn lets any API invoke the authorizer: {properties}"
            )
        });
        invokers.push(source.to_owned());
    }
    invokers
}

fn may_invoke(invokers: &[String], source_arn: &str) -> bool {
    invokers.iter().any(|pattern| like(pattern, source_arn))
}

#[test]
fn the_authorizer_may_be_invoked_by_this_api_and_the_listed_apis_only() {
    let ours = "arn:aws:execute-api:us-east-1:123456789012:PatgateApi/authorizers/k3j4h5";
    let listed = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/authorizers/*";
    let listed_one = "arn:aws:execute-api:us-east-1:123456789012:f6g7h8i9j0/authorizers/abc123";
    let unlisted = "arn:aws:execute-api:us-east-1:123456789012:zzzzzzzzzz/authorizers/abc123";

    let alone = authorizer_invokers("");
    assert_eq!(alone.len(), 1, "{alone:?}");
    assert!(may_invoke(&alone, ours));
    for other in [
        listed_one,
        unlisted,
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/authorizers/x",
    ] {
        assert!(!may_invoke(&alone, other), "{other}");
    }

    let shared = authorizer_invokers(&format!("{listed},{listed_one}"));
    assert_eq!(shared.len(), 3, "{shared:?}");
    assert!(may_invoke(&shared, ours));
    assert!(may_invoke(
        &shared,
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/authorizers/x"
    ));
    assert!(may_invoke(&shared, listed_one));
    for other in [
        unlisted,
        "arn:aws:execute-api:us-east-1:123456789012:f6g7h8i9j0/authorizers/other",
        "arn:aws:execute-api:us-east-1:999999999999:a1b2c3d4e5/authorizers/x",
    ] {
        assert!(!may_invoke(&shared, other), "{other}");
    }

    // Five slots: every one of five listed APIs gets its own permission.
    let five: Vec<String> = (1..=5)
        .map(|i| format!("arn:aws:execute-api:us-east-1:123456789012:api{i}abcdef/authorizers/*"))
        .collect();
    let all = authorizer_invokers(&five.join(","));
    assert_eq!(all.len(), 6, "{all:?}");
    for listed in &five {
        assert!(may_invoke(&all, &listed.replace('*', "k3j4h5")), "{listed}");
    }
    assert!(!may_invoke(&all, unlisted));
}
