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
mod tests {
    use super::*;

    fn repo_template() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        std::fs::read_to_string(path).expect("template.yaml next to the workspace root")
    }

    fn local_overrides() -> BTreeMap<String, String> {
        local_parameters(&BTreeMap::from([(
            "WebOrigin".to_owned(),
            "http://localhost:3000".to_owned(),
        )]))
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
        assert_eq!(
            find("POST", "/tokens/{id}/rotate").unwrap().binary,
            "rotate-token"
        );
        let report = find("POST", "/credentials/revoke").unwrap();
        assert_eq!(report.binary, "revoke-credentials");
        assert_eq!(report.authorizer, None);
        let alert = find("POST", "/integrations/github/secret-scanning").unwrap();
        assert_eq!(
            (alert.binary.as_str(), alert.authorizer.as_deref()),
            ("revoke-credentials", None)
        );
        let demo = find("PUT", "/catalog/{entityId}").unwrap();
        assert_eq!(demo.binary, "demo-echo");
        assert_eq!(demo.authorizer.as_deref(), Some("PatgateAuthorizer"));
        assert_eq!(
            api.routes.len(),
            6 + 9 + 21 + 11,
            "token, demo, admin and SCIM routes"
        );
        match &api.authorizers["PatgateAuthorizer"] {
            AuthorizerDef::Lambda {
                binary,
                payload,
                identity,
                ttl_seconds,
                timeout_seconds,
                ..
            } => {
                assert_eq!(binary, "authorizer");
                assert_eq!(*payload, PayloadType::Request);
                assert_eq!(
                    identity,
                    &vec![
                        IdentitySource::Header("Authorization".into()),
                        IdentitySource::Context("httpMethod".into()),
                        IdentitySource::Context("resourcePath".into()),
                    ]
                );
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
        assert_eq!(api.routes.len(), 6 + 21 + 11);
    }

    #[test]
    fn table_cors_gateway_responses_and_environment_resolve() {
        let api = api();
        assert_eq!(api.stage_variables["patgateApi"], "patgate");
        assert_eq!(api.kind, ApiKind::Rest);
        let table = api.table.as_ref().unwrap();
        assert_eq!(table.logical_id, "TokensTable");
        assert_eq!(
            table.key_schema,
            vec![("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
        );
        let attributes: Vec<String> = table.attributes.iter().map(|a| a.0.clone()).collect();
        let expected = "pk sk dir_pk dir_sk inv_pk inv_expiry inv_idle";
        assert_eq!(attributes.join(" "), expected);
        let indexes: Vec<String> = table
            .global_secondary_indexes
            .iter()
            .map(|i| i.name.clone())
            .collect();
        assert_eq!(
            indexes.join(" "),
            "directory inventory-by-expiry inventory-by-idle"
        );
        assert_eq!(table.ttl_attribute(), Some("delete_after"));
        assert_eq!(table.billing_mode, "PAY_PER_REQUEST");
        let cors = api.cors.unwrap();
        assert_eq!(cors.allow_origin, "http://localhost:3000");
        assert_eq!(
            cors.allow_headers.as_deref(),
            Some("Authorization,Content-Type,Idempotency-Key")
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
        assert_eq!(api.environment["TOKEN_PREFIX"], "pgt_");
        assert_eq!(api.environment["GITHUB_SECRET_SCANNING_KEYS_URL"], "");
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
    fn functions_and_streams_are_read() {
        let api = api();
        let authorizer = &api.functions["AuthorizerFunction"];
        assert_eq!(authorizer.binary, "authorizer");
        assert_eq!(authorizer.environment, None);
        assert_eq!(
            api.table.as_ref().unwrap().stream_view_type.as_deref(),
            Some("NEW_AND_OLD_IMAGES")
        );
        assert_eq!(api.functions["EventsFunction"].binary, "events");
        let yaml = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}\n";
        let t = Template::parse(yaml, &BTreeMap::new(), &LocalContext::default()).unwrap();
        let def = table_def(&t).unwrap();
        assert_eq!(def.stream_view_type.as_deref(), Some("NEW_AND_OLD_IMAGES"));
        assert_eq!(def.ttl_attribute(), None);
        let off = yaml.replace("{StreamViewType", "{StreamEnabled: false, StreamViewType");
        let t = Template::parse(&off, &BTreeMap::new(), &LocalContext::default()).unwrap();
        assert_eq!(table_def(&t).unwrap().stream_view_type, None);
    }
}
