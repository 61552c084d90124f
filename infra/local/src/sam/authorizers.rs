//! `Auth.Authorizers` of an `AWS::Serverless::Api` (Lambda TOKEN and REQUEST
//! authorizers, Cognito user pools) or an `AWS::Serverless::HttpApi` (Lambda
//! authorizers of payload format 2.0), with their identity sources and cache TTL.

use super::*;

/// A value API Gateway reads from a request for a Lambda authorizer: the authorizer
/// is not called while one is missing or empty, and the values together key its cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// A request header (`method.request.header.X`, `$request.header.X`).
    Header(String),
    /// A context variable (`context.httpMethod`, `$context.routeKey`).
    Context(String),
    /// A stage variable (`stageVariables.X`, `$stageVariables.X`).
    StageVariable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadType {
    /// REST API TOKEN authorizer.
    Token,
    /// REST API REQUEST authorizer.
    Request,
    /// HTTP API Lambda authorizer, payload format 2.0.
    HttpV2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizerDef {
    /// A Lambda (custom) authorizer.
    Lambda {
        function: String,
        binary: String,
        payload: PayloadType,
        /// What keys its cache (`Identity`): a TOKEN authorizer's one header
        /// (`Identity.Header`, default `Authorization`), a REQUEST authorizer's
        /// `Identity.Headers`, `Identity.Context`, `Identity.StageVariables`.
        identity: Vec<IdentitySource>,
        /// Result cache TTL (`Identity.ReauthorizeEvery`; default 300 on REST APIs, 0 on
        /// HTTP APIs).
        ttl_seconds: u64,
        timeout_seconds: u64,
        /// HTTP APIs: `EnableSimpleResponses` (else an IAM policy is expected).
        simple_responses: bool,
    },
    /// A Cognito user pool authorizer; the local stack verifies its own session JWTs instead.
    CognitoUserPool { header: String },
}

/// The function behind a Lambda authorizer whose `FunctionArn` is a `Ref` to a
/// parameter of type `AWS::SSM::Parameter::Value<String>`: a client stack reading the
/// patgate authorizer's ARN from SSM. Locally that parameter resolves to patgate's
/// authorizer function.
pub const PATGATE_AUTHORIZER_BINARY: &str = "authorizer";

/// `Auth.Authorizers` of the API (resolved, except FunctionArn, which is read as a
/// reference to the function).
pub(super) fn authorizers(
    template: &Template,
    raw_api: &Value,
    kind: ApiKind,
    functions: &BTreeMap<String, FunctionDef>,
) -> Result<BTreeMap<String, AuthorizerDef>, TemplateError> {
    let raw_authorizers = raw_api
        .pointer("/Auth/Authorizers")
        .and_then(Value::as_object);
    let mut authorizers = BTreeMap::new();
    for (name, raw) in raw_authorizers.into_iter().flatten() {
        let resolved = template.resolve(raw)?.unwrap_or(Value::Null);
        let definition = authorizer(template, name, raw, &resolved, kind, functions)?;
        authorizers.insert(name.clone(), definition);
    }
    Ok(authorizers)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn authorizer(
    template: &Template,
    name: &str,
    raw: &Value,
    resolved: &Value,
    kind: ApiKind,
    functions: &BTreeMap<String, FunctionDef>,
) -> Result<AuthorizerDef, TemplateError> {
    let Some(arn) = raw.get("FunctionArn") else {
        let header = resolved
            .pointer("/Identity/Header")
            .and_then(Value::as_str)
            .unwrap_or("Authorization")
            .to_owned();
        return match resolved.get("UserPoolArn") {
            Some(_) => Ok(AuthorizerDef::CognitoUserPool { header }),
            None => err(format!(
                "authorizer {name}: neither FunctionArn nor UserPoolArn"
            )),
        };
    };
    let (function, binary, timeout_seconds) = authorizer_function(template, name, arn, functions)?;
    let payload = match kind {
        ApiKind::Rest => match resolved
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
        },
        ApiKind::Http => match resolved
            .get("AuthorizerPayloadFormatVersion")
            .and_then(scalar_string)
            .as_deref()
        {
            Some("2.0") => PayloadType::HttpV2,
            other => {
                return err(format!(
                    "authorizer {name}: AuthorizerPayloadFormatVersion {other:?}; the local stack serves 2.0"
                ))
            }
        },
    };
    let identity = resolved.get("Identity").cloned().unwrap_or(Value::Null);
    let mut sources: Vec<IdentitySource> = match payload {
        PayloadType::Token => vec![IdentitySource::Header(
            identity
                .get("Header")
                .and_then(Value::as_str)
                .unwrap_or("Authorization")
                .to_owned(),
        )],
        _ => strings(identity.get("Headers"))
            .into_iter()
            .map(IdentitySource::Header)
            .collect(),
    };
    if payload != PayloadType::Token {
        sources.extend(
            strings(identity.get("Context"))
                .into_iter()
                .map(IdentitySource::Context),
        );
        sources.extend(
            strings(identity.get("StageVariables"))
                .into_iter()
                .map(IdentitySource::StageVariable),
        );
    }
    let ttl_seconds = match identity.get("ReauthorizeEvery") {
        Some(v) => number_of(v).ok_or_else(|| {
            TemplateError(format!(
                "authorizer {name}: ReauthorizeEvery is not a number"
            ))
        })?,
        None if kind == ApiKind::Http => 0,
        None => 300,
    };
    if ttl_seconds > 0 && sources.is_empty() {
        return err(format!(
            "authorizer {name}: a cached authorizer needs identity sources"
        ));
    }
    Ok(AuthorizerDef::Lambda {
        binary,
        timeout_seconds,
        function,
        payload,
        identity: sources,
        ttl_seconds,
        simple_responses: resolved
            .get("EnableSimpleResponses")
            .and_then(as_bool_loose)
            .unwrap_or(false),
    })
}

/// The function an authorizer's `FunctionArn` names: `!GetAtt <Function>.Arn` of this
/// template, or a parameter read from SSM (patgate's authorizer, for a client stack).
fn authorizer_function(
    template: &Template,
    name: &str,
    arn: &Value,
    functions: &BTreeMap<String, FunctionDef>,
) -> Result<(String, String, u64), TemplateError> {
    if let Some(parameter) = arn.get("Ref").and_then(Value::as_str) {
        if template
            .parameter_type(parameter)
            .is_some_and(|t| t.starts_with("AWS::SSM::Parameter::Value<"))
        {
            // patgate's AuthorizerFunction sets Timeout: 5.
            return Ok((
                parameter.to_owned(),
                PATGATE_AUTHORIZER_BINARY.to_owned(),
                5,
            ));
        }
    }
    // `!GetAtt <Function>.Arn`, or SAM's `!Ref <Function>.Alias` (its alias).
    let function = arn
        .pointer("/Fn::GetAtt/0")
        .and_then(Value::as_str)
        .or_else(|| {
            arn.get("Ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_suffix(".Alias"))
        })
        .ok_or_else(|| {
            TemplateError(format!(
                "authorizer {name}: FunctionArn must be !GetAtt <Function>.Arn, !Ref <Function>.Alias, or !Ref to an SSM parameter (patgate's authorizer)"
            ))
        })?
        .to_owned();
    let target = functions
        .get(&function)
        .ok_or_else(|| TemplateError(format!("no function {function}")))?;
    Ok((function, target.binary.clone(), target.timeout_seconds))
}
