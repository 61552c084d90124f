//! What the SAM template declares, read from a [`Template`] evaluated by [`crate::cfn`]:
//! the one template reader of the local stack and of the tests.
//!
//! - functions: every `AWS::Serverless::Function` with its
//!   `Metadata.BuildProperties.Binary`, `Timeout` and own `Environment`;
//! - routes: every function `Events` entry of `Type: Api` or `Type: HttpApi` (Path,
//!   Method, Auth.Authorizer, else the API's DefaultAuthorizer);
//! - the one `AWS::Serverless::Api` or `AWS::Serverless::HttpApi` those events name:
//!   StageName, stage variables (`Variables`, `StageVariables`), Cors,
//!   Auth.Authorizers (`authorizers.rs`), GatewayResponses;
//! - the `AWS::DynamoDB::Table`, if any: KeySchema, AttributeDefinitions, BillingMode,
//!   GSIs, TimeToLiveSpecification, StreamSpecification;
//! - `Globals.Function.Environment.Variables`, resolved (the functions' settings).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

pub use crate::cfn::LocalContext;
use crate::cfn::{as_bool_loose, err, number_of, scalar_string, Template, TemplateError};

mod authorizers;
mod table;

pub use authorizers::{AuthorizerDef, IdentitySource, PayloadType, PATGATE_AUTHORIZER_BINARY};
use table::table_def;
pub use table::{IndexDef, TableDef, TimeToLiveDef};

/// Which API Gateway API a template serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKind {
    /// `AWS::Serverless::Api`: a REST API (payload 1.0, `Type: Api` events).
    Rest,
    /// `AWS::Serverless::HttpApi`: an HTTP API (payload 2.0, `Type: HttpApi` events).
    Http,
}

/// The route authorizer that means IAM authorization (SigV4-signed requests).
pub const AWS_IAM: &str = "AWS_IAM";

/// Local values for the template parameters that have no default, or whose default
/// does not suit a developer machine. `--param` and the dedicated flags override them.
pub const LOCAL_PARAMETERS: [(&str, &str); 4] = [
    ("EnableDemoApi", "true"),
    ("EnableApiAccessLogs", "false"),
    // No GitHub alerts locally: nothing leaves the machine for GitHub's keys (the
    // tests sign alerts with keys of their own and serve them from 127.0.0.1).
    ("GitHubSecretScanningKeysUrl", ""),
    (
        "WebUserPoolArn",
        "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_local",
    ),
];

/// [`LOCAL_PARAMETERS`], then `overrides` on top.
pub fn local_parameters(overrides: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut parameters: BTreeMap<String, String> = LOCAL_PARAMETERS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    parameters.extend(overrides.clone());
    parameters
}

/// Everything the local stack needs from the template, resolved.
#[derive(Debug, Clone)]
pub struct LocalApi {
    /// Logical id of the `AWS::Serverless::Api` or `HttpApi` (e.g. `PatgateApi`).
    pub api_logical_id: String,
    pub kind: ApiKind,
    pub stage: String,
    /// The stage's variables (`Variables` of an Api, `StageVariables` of an HttpApi).
    pub stage_variables: BTreeMap<String, String>,
    /// Every function, by logical id.
    pub functions: BTreeMap<String, FunctionDef>,
    pub routes: Vec<RouteDef>,
    pub authorizers: BTreeMap<String, AuthorizerDef>,
    pub cors: Option<CorsDef>,
    pub gateway_responses: BTreeMap<String, GatewayResponseDef>,
    /// The template's DynamoDB table; a client API's template has none.
    pub table: Option<TableDef>,
    /// `Globals.Function.Environment.Variables`, resolved.
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    /// `Metadata.BuildProperties.Binary`, e.g. `create-token`.
    pub binary: String,
    /// Its own `Timeout`, else `Globals.Function.Timeout`, else 3.
    pub timeout_seconds: u64,
    /// Its own `Properties.Environment.Variables`, resolved; `None` when it sets no
    /// `Environment` of its own.
    pub environment: Option<BTreeMap<String, String>>,
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
    /// The function's timeout in seconds.
    pub timeout_seconds: u64,
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
    local_api(&Template::parse(text, overrides, context)?)
}

/// Reads what the local stack serves from an evaluated template.
pub fn local_api(template: &Template) -> Result<LocalApi, TemplateError> {
    let globals = template
        .root()
        .pointer("/Globals/Function")
        .cloned()
        .unwrap_or(Value::Null);
    let environment = environment(template, globals.pointer("/Environment"))?.unwrap_or_default();
    let functions = functions(template, &globals)?;
    let (api_logical_id, mut routes) = routes(template, &functions)?;
    let raw_resource = template
        .resource(&api_logical_id)
        .ok_or_else(|| TemplateError(format!("no resource {api_logical_id}")))?;
    let kind = match Template::resource_type(raw_resource) {
        "AWS::Serverless::Api" => ApiKind::Rest,
        "AWS::Serverless::HttpApi" => ApiKind::Http,
        other => {
            return err(format!(
                "{api_logical_id} is a {other}, not an AWS::Serverless::Api or HttpApi"
            ))
        }
    };
    let raw_api = raw_resource
        .get("Properties")
        .cloned()
        .unwrap_or(Value::Null);
    let api = template.resolve(&raw_api)?.unwrap_or(Value::Null);
    let stage = match (api.get("StageName").and_then(scalar_string), kind) {
        (Some(stage), _) => stage,
        (None, ApiKind::Http) => "$default".to_owned(),
        (None, ApiKind::Rest) => return err(format!("{api_logical_id}: StageName is missing")),
    };
    let variables = match kind {
        ApiKind::Rest => "Variables",
        ApiKind::Http => "StageVariables",
    };
    let stage_variables = api
        .get(variables)
        .and_then(Value::as_object)
        .map(|vars| {
            vars.iter()
                .filter_map(|(k, v)| scalar_string(v).map(|v| (k.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    let authorizers = authorizers::authorizers(template, &raw_api, kind, &functions)?;
    let default_authorizer = api
        .pointer("/Auth/DefaultAuthorizer")
        .and_then(Value::as_str);
    apply_default_authorizer(&mut routes, default_authorizer, &authorizers)?;
    let has_table = template
        .resources_of("AWS::DynamoDB::Table")
        .next()
        .is_some();
    Ok(LocalApi {
        api_logical_id,
        kind,
        stage,
        stage_variables,
        functions,
        routes,
        authorizers,
        cors: match kind {
            ApiKind::Rest => cors(&api)?,
            ApiKind::Http => None,
        },
        gateway_responses: gateway_responses(&api)?,
        table: has_table.then(|| table_def(template)).transpose()?,
        environment,
    })
}

/// `Environment.Variables` resolved; `None` without an `Environment`.
fn environment(
    template: &Template,
    declaration: Option<&Value>,
) -> Result<Option<BTreeMap<String, String>>, TemplateError> {
    let Some(declaration) = declaration else {
        return Ok(None);
    };
    let mut environment = BTreeMap::new();
    let variables = declaration.get("Variables").and_then(Value::as_object);
    for (name, value) in variables.into_iter().flatten() {
        if let Some(resolved) = template.resolve(value)? {
            let text = scalar_string(&resolved)
                .ok_or_else(|| TemplateError(format!("environment {name}: not a scalar")))?;
            environment.insert(name.clone(), text);
        }
    }
    Ok(Some(environment))
}

fn functions(
    template: &Template,
    globals: &Value,
) -> Result<BTreeMap<String, FunctionDef>, TemplateError> {
    let global_timeout = match globals.get("Timeout") {
        Some(t) => template.number(t)?,
        None => 3,
    };
    let mut functions = BTreeMap::new();
    for (id, function) in template.resources_of("AWS::Serverless::Function") {
        let binary = function
            .pointer("/Metadata/BuildProperties/Binary")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                TemplateError(format!("{id}: Metadata.BuildProperties.Binary is missing"))
            })?
            .to_owned();
        let timeout_seconds = match function.pointer("/Properties/Timeout") {
            Some(t) => template.number(t)?,
            None => global_timeout,
        };
        let environment = environment(template, function.pointer("/Properties/Environment"))?;
        let definition = FunctionDef {
            binary,
            timeout_seconds,
            environment,
        };
        functions.insert(id.clone(), definition);
    }
    Ok(functions)
}

/// Every Api event of every function, sorted by path and method, and the one API
/// they belong to.
fn routes(
    template: &Template,
    functions: &BTreeMap<String, FunctionDef>,
) -> Result<(String, Vec<RouteDef>), TemplateError> {
    let mut routes = Vec::new();
    let mut api_ids: Vec<String> = Vec::new();
    for (function_id, function) in template.resources_of("AWS::Serverless::Function") {
        let events = function
            .pointer("/Properties/Events")
            .and_then(Value::as_object);
        for (event_id, event) in events.into_iter().flatten() {
            if !matches!(
                event.get("Type").and_then(Value::as_str),
                Some("Api" | "HttpApi")
            ) {
                continue;
            }
            let (api_id, route) = api_event(template, function_id, event_id, event, functions)?;
            if !api_ids.contains(&api_id) {
                api_ids.push(api_id);
            }
            routes.push(route);
        }
    }
    routes.sort_by(|a, b| {
        (a.path.as_str(), a.method.as_str()).cmp(&(b.path.as_str(), b.method.as_str()))
    });
    match api_ids.as_slice() {
        [one] => Ok((one.clone(), routes)),
        [] => err("no function has an Api event"),
        many => err(format!(
            "routes belong to several APIs ({}); the local stack serves one",
            many.join(", ")
        )),
    }
}

/// One `Type: Api` or `Type: HttpApi` event: the API it names and its route.
fn api_event(
    template: &Template,
    function_id: &str,
    event_id: &str,
    event: &Value,
    functions: &BTreeMap<String, FunctionDef>,
) -> Result<(String, RouteDef), TemplateError> {
    let properties = event.get("Properties").cloned().unwrap_or(Value::Null);
    let reference = properties
        .pointer("/RestApiId/Ref")
        .or_else(|| properties.pointer("/ApiId/Ref"))
        .and_then(Value::as_str);
    let api_id = match reference {
        Some(id) => id.to_owned(),
        None => {
            return err(format!(
            "{function_id}.{event_id}: RestApiId (Api) or ApiId (HttpApi) must be a Ref to the API"
        ))
        }
    };
    let path = template.string(properties.get("Path").unwrap_or(&Value::Null))?;
    let method = template
        .string(properties.get("Method").unwrap_or(&Value::Null))?
        .to_ascii_uppercase();
    let method = if method == "*" {
        "ANY".to_owned()
    } else {
        method
    };
    let authorizer = match properties.pointer("/Auth/Authorizer") {
        Some(name) => Some(template.string(name)?),
        None => None,
    };
    let function = &functions[function_id];
    let route = RouteDef {
        event: event_id.to_owned(),
        function: function_id.to_owned(),
        binary: function.binary.clone(),
        method,
        path,
        authorizer,
        timeout_seconds: function.timeout_seconds,
    };
    Ok((api_id, route))
}

/// Routes without an authorizer of their own get the API's default; `NONE` opens them.
fn apply_default_authorizer(
    routes: &mut [RouteDef],
    default: Option<&str>,
    authorizers: &BTreeMap<String, AuthorizerDef>,
) -> Result<(), TemplateError> {
    for route in routes {
        if route.authorizer.is_none() {
            route.authorizer = default.map(str::to_owned);
        }
        if route.authorizer.as_deref() == Some("NONE") {
            route.authorizer = None;
        }
        if let Some(name) = &route.authorizer {
            // API Gateway's own IAM authorization (SigV4), not a declared authorizer.
            if name == AWS_IAM {
                continue;
            }
            if !authorizers.contains_key(name) {
                return err(format!(
                    "{}.{}: unknown authorizer {name}",
                    route.function, route.event
                ));
            }
        }
    }
    Ok(())
}

fn cors(api: &Value) -> Result<Option<CorsDef>, TemplateError> {
    let quoted = |cors: &Value, key: &str| cors.get(key).and_then(Value::as_str).map(unquote);
    Ok(match api.get("Cors") {
        None | Some(Value::Null) => None,
        Some(Value::String(origin)) => Some(CorsDef {
            allow_origin: unquote(origin),
            allow_headers: None,
            allow_methods: None,
            max_age: None,
            allow_credentials: false,
        }),
        Some(cors) => Some(CorsDef {
            allow_origin: quoted(cors, "AllowOrigin")
                .ok_or_else(|| TemplateError("Cors.AllowOrigin is missing".into()))?,
            allow_headers: quoted(cors, "AllowHeaders"),
            allow_methods: quoted(cors, "AllowMethods"),
            max_age: quoted(cors, "MaxAge"),
            allow_credentials: cors
                .get("AllowCredentials")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }),
    })
}

fn gateway_responses(api: &Value) -> Result<BTreeMap<String, GatewayResponseDef>, TemplateError> {
    let mut gateway_responses = BTreeMap::new();
    let responses = api.get("GatewayResponses").and_then(Value::as_object);
    for (kind, response) in responses.into_iter().flatten() {
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
    Ok(gateway_responses)
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

#[cfg(test)]
mod tests;
