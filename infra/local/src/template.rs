//! Reads template.yaml, the single source of truth, into what the local stack serves.
//!
//! The YAML is parsed with serde_yaml; CloudFormation short-form tags (`!Ref`, `!Sub`,
//! `!GetAtt`, `!If`, `!Equals`, ...) are rewritten to their long form (`Ref`,
//! `Fn::Sub`, ...) first, so that both spellings resolve the same way. Parameters take
//! their template defaults unless overridden; conditions are evaluated, and resources
//! whose condition is false are left out, as CloudFormation would.
//!
//! What is read:
//! - routes: every `AWS::Serverless::Function` `Events` entry of `Type: Api`
//!   (Path, Method, Auth.Authorizer, else the API's DefaultAuthorizer), with the
//!   function's `Metadata.BuildProperties.Binary` and `Timeout`;
//! - the `AWS::Serverless::Api` those events name: StageName, Cors, Auth.Authorizers,
//!   GatewayResponses;
//! - the `AWS::DynamoDB::Table`: KeySchema, AttributeDefinitions, BillingMode, GSIs,
//!   TimeToLiveSpecification;
//! - `Globals.Function.Environment.Variables`, resolved (the functions' settings).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

#[derive(Debug)]
pub struct TemplateError(pub String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template.yaml: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

fn err<T>(message: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError(message.into()))
}

/// Values of the pseudo parameters (`AWS::Region`, ...) and the physical names of
/// resources that `Ref` resolves to locally.
#[derive(Debug, Clone)]
pub struct LocalContext {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    /// Physical name of the DynamoDB table (`Ref` to the table resource).
    pub table_name: String,
}

impl Default for LocalContext {
    fn default() -> Self {
        LocalContext {
            stack_name: "patgate-local".to_owned(),
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            table_name: "patgate-local".to_owned(),
        }
    }
}

/// Everything the local gateway needs from the template, resolved.
#[derive(Debug, Clone)]
pub struct LocalApi {
    /// Logical id of the `AWS::Serverless::Api` (e.g. `PatgateApi`).
    pub api_logical_id: String,
    pub stage: String,
    pub routes: Vec<RouteDef>,
    pub authorizers: BTreeMap<String, AuthorizerDef>,
    pub cors: Option<CorsDef>,
    pub gateway_responses: BTreeMap<String, GatewayResponseDef>,
    pub table: TableDef,
    /// `Globals.Function.Environment.Variables`, resolved.
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDef {
    /// Logical id of the event, e.g. `CreateToken`.
    pub event: String,
    /// Logical id of the function, e.g. `CreateTokenFunction`.
    pub function: String,
    /// `Metadata.BuildProperties.Binary`, e.g. `create-token`.
    pub binary: String,
    /// Upper case, or `ANY`.
    pub method: String,
    /// API Gateway resource path, e.g. `/tokens/{id}`.
    pub path: String,
    /// Authorizer name, `None` for an open route.
    pub authorizer: Option<String>,
    /// Function timeout in seconds (its own `Timeout`, else `Globals.Function.Timeout`, else 3).
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadType {
    Token,
    Request,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizerDef {
    /// A Lambda (custom) authorizer.
    Lambda {
        function: String,
        binary: String,
        payload: PayloadType,
        /// Identity source header (`Identity.Header`, default `Authorization`).
        header: String,
        /// Result cache TTL (`Identity.ReauthorizeEvery`, default 300).
        ttl_seconds: u64,
        timeout_seconds: u64,
    },
    /// A Cognito user pool authorizer; the local stack verifies its own session JWTs instead.
    CognitoUserPool { header: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsDef {
    pub allow_origin: String,
    pub allow_headers: Option<String>,
    pub allow_methods: Option<String>,
    pub max_age: Option<String>,
    pub allow_credentials: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatewayResponseDef {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub logical_id: String,
    /// (name, type) e.g. ("pk", "S").
    pub attributes: Vec<(String, String)>,
    /// (name, HASH|RANGE).
    pub key_schema: Vec<(String, String)>,
    pub billing_mode: String,
    pub global_secondary_indexes: Vec<IndexDef>,
    /// TTL attribute, when `TimeToLiveSpecification.Enabled` is true.
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    pub projection_type: String,
    pub non_key_attributes: Vec<String>,
}

/// Parses `path` and resolves it with `overrides` (parameter name → value).
pub fn load(
    path: &Path,
    overrides: &BTreeMap<String, String>,
    context: &LocalContext,
) -> Result<LocalApi, TemplateError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| TemplateError(format!("cannot read {}: {e}", path.display())))?;
    parse(&text, overrides, context)
}

pub fn parse(
    text: &str,
    overrides: &BTreeMap<String, String>,
    context: &LocalContext,
) -> Result<LocalApi, TemplateError> {
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| TemplateError(format!("invalid YAML: {e}")))?;
    let root = normalize(yaml)?;
    let template = Template::new(root, overrides, context)?;
    template.local_api()
}

/// Converts YAML to JSON, rewriting short-form intrinsic tags to their long form.
pub fn normalize(yaml: serde_yaml::Value) -> Result<Value, TemplateError> {
    use serde_yaml::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            serde_json::to_value(&n).map_err(|e| TemplateError(format!("bad number {n}: {e}")))?
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(normalize).collect::<Result<_, _>>()?)
        }
        Y::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return err(format!("unsupported mapping key {other:?}")),
                };
                map.insert(key, normalize(value)?);
            }
            Value::Object(map)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = normalize(tagged.value)?;
            let (key, inner) = match name {
                "Ref" => ("Ref".to_owned(), inner),
                "Condition" => ("Condition".to_owned(), inner),
                // `!GetAtt Resource.Attribute` is the string form of `[Resource, Attribute]`.
                "GetAtt" => {
                    let inner = match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((resource, attribute)) => {
                                Value::Array(vec![resource.into(), attribute.into()])
                            }
                            None => {
                                return err(format!("!GetAtt {s}: expected Resource.Attribute"))
                            }
                        },
                        other => other,
                    };
                    ("Fn::GetAtt".to_owned(), inner)
                }
                other => (format!("Fn::{other}"), inner),
            };
            let mut map = Map::new();
            map.insert(key, inner);
            Value::Object(map)
        }
    })
}

struct Template {
    root: Value,
    parameters: BTreeMap<String, String>,
    conditions: BTreeMap<String, bool>,
    context: LocalContext,
}

impl Template {
    fn new(
        root: Value,
        overrides: &BTreeMap<String, String>,
        context: &LocalContext,
    ) -> Result<Self, TemplateError> {
        let declared = root
            .get("Parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for name in overrides.keys() {
            if !declared.contains_key(name) {
                let known: Vec<&str> = declared.keys().map(String::as_str).collect();
                return err(format!(
                    "unknown parameter {name}; the template declares {}",
                    known.join(", ")
                ));
            }
        }
        let mut parameters = BTreeMap::new();
        for (name, declaration) in &declared {
            let value = match overrides.get(name) {
                Some(value) => value.clone(),
                None => match declaration.get("Default") {
                    Some(default) => scalar_string(default).ok_or_else(|| {
                        TemplateError(format!("parameter {name}: Default must be a scalar"))
                    })?,
                    None => {
                        return err(format!(
                            "parameter {name} has no Default; pass --param {name}=VALUE"
                        ))
                    }
                },
            };
            check_parameter(name, declaration, &value)?;
            parameters.insert(name.clone(), value);
        }
        let mut template = Template {
            root,
            parameters,
            conditions: BTreeMap::new(),
            context: context.clone(),
        };
        let conditions = template
            .root
            .get("Conditions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // Conditions may refer to each other: evaluate until every one is known.
        let mut pending: Vec<(String, Value)> = conditions.into_iter().collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for (name, expression) in pending {
                match template.condition(&expression) {
                    Ok(value) => {
                        template.conditions.insert(name, value);
                    }
                    Err(_) => still.push((name, expression)),
                }
            }
            if still.len() == before {
                let (name, expression) = &still[0];
                template
                    .condition(expression)
                    .map_err(|e| TemplateError(format!("condition {name}: {}", e.0)))?;
            }
            pending = still;
        }
        Ok(template)
    }

    fn resources(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.root
            .get("Resources")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|resources| resources.iter())
            // A resource whose Condition is false does not exist.
            .filter(
                |(_, resource)| match resource.get("Condition").and_then(Value::as_str) {
                    Some(name) => self.conditions.get(name).copied().unwrap_or(false),
                    None => true,
                },
            )
    }

    fn resource(&self, logical_id: &str) -> Option<&Value> {
        self.resources()
            .find(|(id, _)| id.as_str() == logical_id)
            .map(|(_, r)| r)
    }

    fn resource_type(resource: &Value) -> &str {
        resource.get("Type").and_then(Value::as_str).unwrap_or("")
    }

    /// Evaluates a condition expression (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`).
    fn condition(&self, expression: &Value) -> Result<bool, TemplateError> {
        let Some((function, args)) = single_key(expression) else {
            return match expression {
                Value::Bool(b) => Ok(*b),
                other => err(format!("unsupported condition {other}")),
            };
        };
        let list = || {
            args.as_array()
                .cloned()
                .ok_or_else(|| TemplateError(format!("{function} needs a list")))
        };
        match function {
            "Fn::Equals" => {
                let items = list()?;
                if items.len() != 2 {
                    return err("Fn::Equals needs two values");
                }
                Ok(self.string(&items[0])? == self.string(&items[1])?)
            }
            "Fn::Not" => Ok(!self.condition(
                list()?
                    .first()
                    .ok_or_else(|| TemplateError("Fn::Not needs one condition".into()))?,
            )?),
            "Fn::And" => list()?
                .iter()
                .try_fold(true, |acc, c| Ok(acc & self.condition(c)?)),
            "Fn::Or" => list()?
                .iter()
                .try_fold(false, |acc, c| Ok(acc | self.condition(c)?)),
            "Condition" => {
                let name = args.as_str().unwrap_or("");
                self.conditions
                    .get(name)
                    .copied()
                    .ok_or_else(|| TemplateError(format!("unknown condition {name}")))
            }
            other => err(format!("unsupported condition function {other}")),
        }
    }

    /// Resolves intrinsic functions in `value`. `Ref AWS::NoValue` resolves to `None`.
    fn resolve(&self, value: &Value) -> Result<Option<Value>, TemplateError> {
        if let Some((function, args)) = single_key(value) {
            match function {
                "Ref" => {
                    let name = args
                        .as_str()
                        .ok_or_else(|| TemplateError("Ref needs a name".into()))?;
                    return Ok(self.reference(name)?.map(Value::String));
                }
                "Fn::Sub" => return self.sub(args).map(|s| Some(Value::String(s))),
                "Fn::If" => {
                    let items = args.as_array().filter(|a| a.len() == 3).ok_or_else(|| {
                        TemplateError("Fn::If needs [condition, then, else]".into())
                    })?;
                    let name = items[0].as_str().unwrap_or("");
                    let chosen = match self.conditions.get(name) {
                        Some(true) => &items[1],
                        Some(false) => &items[2],
                        None => return err(format!("Fn::If: unknown condition {name}")),
                    };
                    return self.resolve(chosen);
                }
                "Fn::GetAtt" => {
                    let parts: Vec<String> = match args {
                        Value::Array(items) => items
                            .iter()
                            .filter_map(|i| i.as_str().map(str::to_owned))
                            .collect(),
                        Value::String(s) => s.split('.').map(str::to_owned).collect(),
                        _ => vec![],
                    };
                    return Ok(Some(Value::String(format!("local:{}", parts.join(".")))));
                }
                "Fn::Join" => {
                    let items = args
                        .as_array()
                        .filter(|a| a.len() == 2)
                        .ok_or_else(|| TemplateError("Fn::Join needs [sep, list]".into()))?;
                    let separator = items[0].as_str().unwrap_or("");
                    let parts = match self.resolve(&items[1])? {
                        Some(Value::Array(parts)) => parts,
                        _ => return err("Fn::Join needs a list"),
                    };
                    let strings: Vec<String> = parts.iter().filter_map(scalar_string).collect();
                    return Ok(Some(Value::String(strings.join(separator))));
                }
                _ => {}
            }
        }
        Ok(Some(match value {
            Value::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    if let Some(resolved) = self.resolve(item)? {
                        out.push(resolved);
                    }
                }
                Value::Array(out)
            }
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(resolved) = self.resolve(item)? {
                        out.insert(key.clone(), resolved);
                    }
                }
                Value::Object(out)
            }
            other => other.clone(),
        }))
    }

    fn string(&self, value: &Value) -> Result<String, TemplateError> {
        match self.resolve(value)? {
            Some(resolved) => scalar_string(&resolved)
                .ok_or_else(|| TemplateError(format!("expected a string, got {resolved}"))),
            None => err("expected a string, got AWS::NoValue"),
        }
    }

    fn reference(&self, name: &str) -> Result<Option<String>, TemplateError> {
        if let Some(value) = self.parameters.get(name) {
            return Ok(Some(value.clone()));
        }
        let c = &self.context;
        Ok(Some(match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::StackName" => c.stack_name.clone(),
            "AWS::Region" => c.region.clone(),
            "AWS::AccountId" => c.account_id.clone(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            other => match self.resource(other) {
                Some(resource) if Self::resource_type(resource) == "AWS::DynamoDB::Table" => {
                    c.table_name.clone()
                }
                Some(_) => other.to_owned(),
                None => return err(format!("Ref to unknown parameter or resource {other}")),
            },
        }))
    }

    /// `Fn::Sub` with a string: `${Name}` is a parameter, pseudo parameter or resource;
    /// `${Resource.Attribute}` a GetAtt; `${!Literal}` stays literal.
    fn sub(&self, args: &Value) -> Result<String, TemplateError> {
        let (text, variables) = match args {
            Value::String(s) => (s.as_str(), Map::new()),
            Value::Array(items) if items.len() == 2 => (
                items[0]
                    .as_str()
                    .ok_or_else(|| TemplateError("Fn::Sub needs a string".into()))?,
                items[1].as_object().cloned().unwrap_or_default(),
            ),
            _ => return err("Fn::Sub needs a string or [string, variables]"),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| TemplateError(format!("Fn::Sub: unclosed ${{ in {text}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(&self.string(value)?);
            } else if name.contains('.') && !name.starts_with("AWS::") {
                out.push_str(&format!("local:{name}"));
            } else {
                out.push_str(&self.reference(name)?.unwrap_or_default());
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn local_api(&self) -> Result<LocalApi, TemplateError> {
        let globals = self
            .root
            .pointer("/Globals/Function")
            .cloned()
            .unwrap_or(Value::Null);
        let global_timeout = match globals.get("Timeout") {
            Some(t) => self.number(t)?,
            None => 3,
        };

        let mut environment = BTreeMap::new();
        if let Some(variables) = globals
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
        {
            for (name, value) in variables {
                if let Some(resolved) = self.resolve(value)? {
                    let text = scalar_string(&resolved).ok_or_else(|| {
                        TemplateError(format!("Globals environment {name}: not a scalar"))
                    })?;
                    environment.insert(name.clone(), text);
                }
            }
        }

        let functions: BTreeMap<&String, &Value> = self
            .resources()
            .filter(|(_, r)| Self::resource_type(r) == "AWS::Serverless::Function")
            .collect();
        let binary_of = |id: &str| -> Result<String, TemplateError> {
            let function = functions
                .get(&id.to_owned())
                .ok_or_else(|| TemplateError(format!("no function {id}")))?;
            function
                .pointer("/Metadata/BuildProperties/Binary")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    TemplateError(format!("{id}: Metadata.BuildProperties.Binary is missing"))
                })
        };
        let timeout_of = |id: &str| -> Result<u64, TemplateError> {
            match functions
                .get(&id.to_owned())
                .and_then(|f| f.pointer("/Properties/Timeout"))
            {
                Some(t) => self.number(t),
                None => Ok(global_timeout),
            }
        };

        // Routes, and the one API they belong to.
        let mut routes = Vec::new();
        let mut api_ids = Vec::new();
        for (function_id, function) in &functions {
            let Some(events) = function
                .pointer("/Properties/Events")
                .and_then(Value::as_object)
            else {
                continue;
            };
            for (event_id, event) in events {
                if event.get("Type").and_then(Value::as_str) != Some("Api") {
                    continue;
                }
                let properties = event.get("Properties").cloned().unwrap_or(Value::Null);
                let api_id = match properties.get("RestApiId").and_then(|r| r.get("Ref")).and_then(Value::as_str) {
                    Some(id) => id.to_owned(),
                    None => return err(format!("{function_id}.{event_id}: RestApiId must be a Ref to the AWS::Serverless::Api")),
                };
                if !api_ids.contains(&api_id) {
                    api_ids.push(api_id.clone());
                }
                let path = self.string(properties.get("Path").unwrap_or(&Value::Null))?;
                let method = self
                    .string(properties.get("Method").unwrap_or(&Value::Null))?
                    .to_ascii_uppercase();
                let method = if method == "ANY" || method == "*" {
                    "ANY".to_owned()
                } else {
                    method
                };
                let authorizer = match properties.pointer("/Auth/Authorizer") {
                    Some(name) => Some(self.string(name)?),
                    None => None,
                };
                routes.push(RouteDef {
                    event: event_id.clone(),
                    function: (*function_id).clone(),
                    binary: binary_of(function_id)?,
                    method,
                    path,
                    authorizer,
                    timeout_seconds: timeout_of(function_id)?,
                });
            }
        }
        let api_logical_id = match api_ids.as_slice() {
            [one] => one.clone(),
            [] => return err("no function has an Api event"),
            many => {
                return err(format!(
                    "routes belong to several APIs ({}); the local stack serves one",
                    many.join(", ")
                ))
            }
        };
        let api = self
            .resource(&api_logical_id)
            .filter(|r| Self::resource_type(r) == "AWS::Serverless::Api")
            .ok_or_else(|| {
                TemplateError(format!("{api_logical_id} is not an AWS::Serverless::Api"))
            })?;
        let api = self
            .resolve(api.get("Properties").unwrap_or(&Value::Null))?
            .unwrap_or(Value::Null);
        let stage = api
            .get("StageName")
            .and_then(scalar_string)
            .ok_or_else(|| TemplateError(format!("{api_logical_id}: StageName is missing")))?;

        // Authorizers (resolved, except FunctionArn, which is read as a reference).
        let raw_authorizers = self
            .resource(&api_logical_id)
            .and_then(|r| r.pointer("/Properties/Auth/Authorizers"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut authorizers = BTreeMap::new();
        for (name, raw) in &raw_authorizers {
            let resolved = self.resolve(raw)?.unwrap_or(Value::Null);
            let header = resolved
                .pointer("/Identity/Header")
                .and_then(Value::as_str)
                .unwrap_or("Authorization")
                .to_owned();
            let definition = if let Some(arn) = raw.get("FunctionArn") {
                let function = arn
                    .get("Fn::GetAtt")
                    .and_then(Value::as_array)
                    .and_then(|parts| parts.first())
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        TemplateError(format!(
                            "authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn"
                        ))
                    })?
                    .to_owned();
                let payload = match resolved
                    .get("FunctionPayloadType")
                    .and_then(Value::as_str)
                    .unwrap_or("TOKEN")
                {
                    "TOKEN" => PayloadType::Token,
                    "REQUEST" => PayloadType::Request,
                    other => {
                        return err(format!(
                            "authorizer {name}: unsupported FunctionPayloadType {other}"
                        ))
                    }
                };
                let ttl_seconds = match resolved.pointer("/Identity/ReauthorizeEvery") {
                    Some(v) => number_of(v).ok_or_else(|| {
                        TemplateError(format!(
                            "authorizer {name}: ReauthorizeEvery is not a number"
                        ))
                    })?,
                    None => 300,
                };
                AuthorizerDef::Lambda {
                    binary: binary_of(&function)?,
                    timeout_seconds: timeout_of(&function)?,
                    function,
                    payload,
                    header,
                    ttl_seconds,
                }
            } else if resolved.get("UserPoolArn").is_some() {
                AuthorizerDef::CognitoUserPool { header }
            } else {
                return err(format!(
                    "authorizer {name}: neither FunctionArn nor UserPoolArn"
                ));
            };
            authorizers.insert(name.clone(), definition);
        }
        let default_authorizer = api
            .pointer("/Auth/DefaultAuthorizer")
            .and_then(Value::as_str)
            .map(str::to_owned);
        for route in &mut routes {
            if route.authorizer.is_none() {
                route.authorizer = default_authorizer.clone();
            }
            if route.authorizer.as_deref() == Some("NONE") {
                route.authorizer = None;
            }
            if let Some(name) = &route.authorizer {
                if !authorizers.contains_key(name) {
                    return err(format!(
                        "{}.{}: unknown authorizer {name}",
                        route.function, route.event
                    ));
                }
            }
        }
        routes.sort_by(|a, b| {
            (a.path.as_str(), a.method.as_str()).cmp(&(b.path.as_str(), b.method.as_str()))
        });

        let cors = match api.get("Cors") {
            None | Some(Value::Null) => None,
            Some(Value::String(origin)) => Some(CorsDef {
                allow_origin: unquote(origin),
                allow_headers: None,
                allow_methods: None,
                max_age: None,
                allow_credentials: false,
            }),
            Some(cors) => Some(CorsDef {
                allow_origin: cors
                    .get("AllowOrigin")
                    .and_then(Value::as_str)
                    .map(unquote)
                    .ok_or_else(|| TemplateError("Cors.AllowOrigin is missing".into()))?,
                allow_headers: cors
                    .get("AllowHeaders")
                    .and_then(Value::as_str)
                    .map(unquote),
                allow_methods: cors
                    .get("AllowMethods")
                    .and_then(Value::as_str)
                    .map(unquote),
                max_age: cors.get("MaxAge").and_then(Value::as_str).map(unquote),
                allow_credentials: cors
                    .get("AllowCredentials")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }),
        };

        let mut gateway_responses = BTreeMap::new();
        if let Some(responses) = api.get("GatewayResponses").and_then(Value::as_object) {
            for (kind, response) in responses {
                let status = match response.get("StatusCode") {
                    Some(code) => Some(
                        scalar_string(code)
                            .and_then(|s| s.parse::<u16>().ok())
                            .ok_or_else(|| {
                                TemplateError(format!(
                                    "GatewayResponses.{kind}.StatusCode is not a status"
                                ))
                            })?,
                    ),
                    None => None,
                };
                let headers = response
                    .pointer("/ResponseParameters/Headers")
                    .and_then(Value::as_object)
                    .map(|h| {
                        h.iter()
                            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), unquote(v))))
                            .collect()
                    })
                    .unwrap_or_default();
                gateway_responses.insert(kind.clone(), GatewayResponseDef { status, headers });
            }
        }

        Ok(LocalApi {
            api_logical_id,
            stage,
            routes,
            authorizers,
            cors,
            gateway_responses,
            table: self.table()?,
            environment,
        })
    }

    fn table(&self) -> Result<TableDef, TemplateError> {
        let tables: Vec<(&String, &Value)> = self
            .resources()
            .filter(|(_, r)| Self::resource_type(r) == "AWS::DynamoDB::Table")
            .collect();
        let (logical_id, table) = match tables.as_slice() {
            [one] => *one,
            [] => return err("no AWS::DynamoDB::Table resource"),
            _ => return err("several AWS::DynamoDB::Table resources; the local stack creates one"),
        };
        let properties = self
            .resolve(table.get("Properties").unwrap_or(&Value::Null))?
            .unwrap_or(Value::Null);
        let pairs = |value: Option<&Value>, a: &str, b: &str| -> Vec<(String, String)> {
            value
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| {
                            Some((
                                i.get(a)?.as_str()?.to_owned(),
                                i.get(b)?.as_str()?.to_owned(),
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let attributes = pairs(
            properties.get("AttributeDefinitions"),
            "AttributeName",
            "AttributeType",
        );
        let key_schema = pairs(properties.get("KeySchema"), "AttributeName", "KeyType");
        if key_schema.is_empty() || attributes.is_empty() {
            return err(format!(
                "{logical_id}: KeySchema and AttributeDefinitions are required"
            ));
        }
        let global_secondary_indexes = properties
            .get("GlobalSecondaryIndexes")
            .and_then(Value::as_array)
            .map(|indexes| {
                indexes
                    .iter()
                    .map(|index| IndexDef {
                        name: index
                            .get("IndexName")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        key_schema: pairs(index.get("KeySchema"), "AttributeName", "KeyType"),
                        projection_type: index
                            .pointer("/Projection/ProjectionType")
                            .and_then(Value::as_str)
                            .unwrap_or("ALL")
                            .to_owned(),
                        non_key_attributes: index
                            .pointer("/Projection/NonKeyAttributes")
                            .and_then(Value::as_array)
                            .map(|a| {
                                a.iter()
                                    .filter_map(|v| v.as_str().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ttl = properties.get("TimeToLiveSpecification");
        let ttl_attribute = match ttl {
            Some(spec) if spec.get("Enabled").and_then(as_bool_loose).unwrap_or(false) => spec
                .get("AttributeName")
                .and_then(Value::as_str)
                .map(str::to_owned),
            _ => None,
        };
        Ok(TableDef {
            logical_id: logical_id.clone(),
            attributes,
            key_schema,
            billing_mode: properties
                .get("BillingMode")
                .and_then(Value::as_str)
                .unwrap_or("PROVISIONED")
                .to_owned(),
            global_secondary_indexes,
            ttl_attribute,
        })
    }

    fn number(&self, value: &Value) -> Result<u64, TemplateError> {
        let resolved = self.resolve(value)?.unwrap_or(Value::Null);
        number_of(&resolved)
            .ok_or_else(|| TemplateError(format!("expected a whole number, got {resolved}")))
    }
}

/// `{"Fn::X": args}` → ("Fn::X", args).
fn single_key(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (key, args) = map.iter().next()?;
    (key == "Ref" || key == "Condition" || key.starts_with("Fn::")).then_some((key.as_str(), args))
}

fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number_of(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_bool_loose(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// SAM's Cors and GatewayResponses values are quoted strings: `"'value'"` → `value`.
fn unquote(raw: &str) -> String {
    let trimmed = raw.trim();
    trimmed
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(trimmed)
        .to_owned()
}

/// Checks a parameter value against AllowedValues and MinValue/MaxValue, as
/// CloudFormation would before creating anything.
fn check_parameter(name: &str, declaration: &Value, value: &str) -> Result<(), TemplateError> {
    if let Some(allowed) = declaration.get("AllowedValues").and_then(Value::as_array) {
        let allowed: Vec<String> = allowed.iter().filter_map(scalar_string).collect();
        if !allowed.iter().any(|a| a == value) {
            return err(format!(
                "parameter {name}={value}: allowed values are {}",
                allowed.join(", ")
            ));
        }
    }
    if declaration.get("Type").and_then(Value::as_str) == Some("Number") {
        let number: f64 = value
            .parse()
            .map_err(|_| TemplateError(format!("parameter {name}={value}: not a number")))?;
        let bound = |key: &str| declaration.get(key).and_then(Value::as_f64);
        if bound("MinValue").is_some_and(|min| number < min)
            || bound("MaxValue").is_some_and(|max| number > max)
        {
            return err(format!(
                "parameter {name}={value}: must be within {}..={}",
                bound("MinValue").map(|v| v.to_string()).unwrap_or_default(),
                bound("MaxValue").map(|v| v.to_string()).unwrap_or_default()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_template() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        std::fs::read_to_string(path).expect("template.yaml next to the workspace root")
    }

    fn local_overrides() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("WebOrigin".to_owned(), "http://localhost:3000".to_owned()),
            (
                "WebUserPoolArn".to_owned(),
                "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_local".to_owned(),
            ),
            ("EnableDemoApi".to_owned(), "true".to_owned()),
        ])
    }

    fn api() -> LocalApi {
        parse(
            &repo_template(),
            &local_overrides(),
            &LocalContext::default(),
        )
        .unwrap()
    }

    #[test]
    fn short_form_tags_become_long_form() {
        let yaml = "a: !Ref X\nb: !GetAtt T.Arn\nc: !Sub '${X}-y'\nd: !If [C, 1, !Ref AWS::NoValue]\ne: !Equals [!Ref X, 'true']\n";
        let value = normalize(serde_yaml::from_str(yaml).unwrap()).unwrap();
        assert_eq!(value["a"], serde_json::json!({"Ref": "X"}));
        assert_eq!(value["b"], serde_json::json!({"Fn::GetAtt": ["T", "Arn"]}));
        assert_eq!(value["c"], serde_json::json!({"Fn::Sub": "${X}-y"}));
        assert_eq!(
            value["d"],
            serde_json::json!({"Fn::If": ["C", 1, {"Ref": "AWS::NoValue"}]})
        );
        assert_eq!(
            value["e"],
            serde_json::json!({"Fn::Equals": [{"Ref": "X"}, "true"]})
        );
    }

    #[test]
    fn the_real_template_yields_every_route_with_its_binary_and_authorizer() {
        let api = api();
        assert_eq!(api.api_logical_id, "PatgateApi");
        assert_eq!(api.stage, "v1");
        let find = |method: &str, path: &str| {
            api.routes
                .iter()
                .find(|r| r.method == method && r.path == path)
                .cloned()
        };
        let create = find("POST", "/tokens").unwrap();
        assert_eq!(create.binary, "create-token");
        assert_eq!(create.authorizer.as_deref(), Some("WebSessionAuthorizer"));
        assert_eq!(create.timeout_seconds, 10);
        assert_eq!(find("GET", "/tokens").unwrap().binary, "list-tokens");
        assert_eq!(
            find("DELETE", "/tokens/{id}").unwrap().binary,
            "revoke-token"
        );
        let demo = find("PUT", "/catalog/{entityId}").unwrap();
        assert_eq!(demo.binary, "demo-echo");
        assert_eq!(demo.authorizer.as_deref(), Some("PatgateAuthorizer"));
        assert_eq!(api.routes.len(), 3 + 9);
        match &api.authorizers["PatgateAuthorizer"] {
            AuthorizerDef::Lambda {
                binary,
                payload,
                header,
                ttl_seconds,
                timeout_seconds,
                ..
            } => {
                assert_eq!(binary, "authorizer");
                assert_eq!(*payload, PayloadType::Token);
                assert_eq!(header, "Authorization");
                assert_eq!(*ttl_seconds, 300);
                assert_eq!(*timeout_seconds, 5);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&api.authorizers["WebSessionAuthorizer"], AuthorizerDef::CognitoUserPool { header } if header == "Authorization")
        );
    }

    #[test]
    fn the_demo_api_follows_its_condition() {
        let mut overrides = local_overrides();
        overrides.insert("EnableDemoApi".into(), "false".into());
        let api = parse(&repo_template(), &overrides, &LocalContext::default()).unwrap();
        assert!(api.routes.iter().all(|r| r.binary != "demo-echo"));
        assert_eq!(api.routes.len(), 3);
    }

    #[test]
    fn table_cors_gateway_responses_and_environment_resolve() {
        let api = api();
        assert_eq!(api.table.logical_id, "TokensTable");
        assert_eq!(
            api.table.key_schema,
            vec![("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
        );
        assert_eq!(
            api.table.attributes,
            vec![("pk".into(), "S".into()), ("sk".into(), "S".into())]
        );
        assert_eq!(api.table.ttl_attribute.as_deref(), Some("expires_at_epoch"));
        assert_eq!(api.table.billing_mode, "PAY_PER_REQUEST");
        let cors = api.cors.unwrap();
        assert_eq!(cors.allow_origin, "http://localhost:3000");
        assert_eq!(
            cors.allow_headers.as_deref(),
            Some("Authorization,Content-Type")
        );
        assert_eq!(
            cors.allow_methods.as_deref(),
            Some("GET,POST,PUT,DELETE,OPTIONS")
        );
        assert_eq!(cors.max_age.as_deref(), Some("600"));
        let unauthorized = &api.gateway_responses["UNAUTHORIZED"];
        assert_eq!(unauthorized.status, Some(401));
        assert!(unauthorized
            .headers
            .contains(&("WWW-Authenticate".into(), "Bearer".into())));
        assert!(unauthorized.headers.contains(&(
            "Access-Control-Allow-Origin".into(),
            "http://localhost:3000".into()
        )));
        assert_eq!(api.gateway_responses["DEFAULT_5XX"].status, None);
        assert_eq!(api.environment["TABLE_NAME"], "patgate-local");
        assert_eq!(api.environment["TOKEN_PREFIX"], "pgt");
        assert_eq!(api.environment["WEB_ORIGIN"], "http://localhost:3000");
        assert_eq!(api.environment["MAX_TOKENS_PER_USER"], "50");
    }

    #[test]
    fn parameters_are_checked_and_overridden() {
        let mut overrides = local_overrides();
        overrides.insert("AuthorizerCacheTtlSeconds".into(), "0".into());
        let api = parse(&repo_template(), &overrides, &LocalContext::default()).unwrap();
        assert!(matches!(
            api.authorizers["PatgateAuthorizer"],
            AuthorizerDef::Lambda { ttl_seconds: 0, .. }
        ));
        overrides.insert("AuthorizerCacheTtlSeconds".into(), "7200".into());
        assert!(parse(&repo_template(), &overrides, &LocalContext::default()).is_err());
        let mut unknown = local_overrides();
        unknown.insert("NoSuchParameter".into(), "1".into());
        assert!(parse(&repo_template(), &unknown, &LocalContext::default()).is_err());
        let mut missing = local_overrides();
        missing.remove("WebOrigin");
        assert!(parse(&repo_template(), &missing, &LocalContext::default())
            .unwrap_err()
            .0
            .contains("WebOrigin"));
        let mut bad = local_overrides();
        bad.insert("EnableDemoApi".into(), "yes".into());
        assert!(parse(&repo_template(), &bad, &LocalContext::default()).is_err());
    }

    #[test]
    fn sub_resolves_parameters_pseudo_parameters_and_literals() {
        let yaml = "Parameters:\n  P: {Type: String, Default: v}\nResources: {}\n";
        let root = normalize(serde_yaml::from_str(yaml).unwrap()).unwrap();
        let t = Template::new(root, &BTreeMap::new(), &LocalContext::default()).unwrap();
        let value = serde_json::json!({"Fn::Sub": "${P}/${AWS::Region}/${!Keep}/${Api.Arn}"});
        assert_eq!(
            t.resolve(&value).unwrap().unwrap(),
            "v/us-east-1/${Keep}/local:Api.Arn"
        );
        let value = serde_json::json!({"Fn::Sub": ["${X}-${P}", {"X": {"Ref": "P"}}]});
        assert_eq!(t.resolve(&value).unwrap().unwrap(), "v-v");
    }
}
