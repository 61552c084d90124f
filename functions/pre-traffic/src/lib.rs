//! The authorizer's CodeDeploy pre-traffic hook.
//!
//! Before CodeDeploy moves any traffic to a new authorizer version, it invokes this
//! function with the deployment's ids. The hook invokes that version (the version ARN
//! in `AUTHORIZER_VERSION`, never the alias) with probe events and reports
//! `Succeeded` only if every answer is right, `Failed` otherwise, which stops the
//! deployment and leaves the alias on the old version:
//!
//! - `forged_token`: a REQUEST event as API Gateway sends it, with a well-formed token
//!   (this deployment's prefix, a valid checksum) that was never issued. The version
//!   must answer the error `Unauthorized` (API Gateway's 401). A policy, any other
//!   error (a store failure answers `authorizer unavailable`) or no answer fails.
//! - `store_reachable`: the same invocation's log tail (Lambda's last 4 KB of its
//!   log, `LogType: Tail`) must hold the decision's metric line with the reason
//!   `unknown_token`: the version read its hash item from DynamoDB and found none,
//!   so its role, its table setting and the table itself answer.
//! - `malformed_event`: an event that is no authorizer event at all. The version must
//!   answer an error, never a policy.
//!
//! A hook that cannot report (no deployment ids, CodeDeploy refusing) fails its own
//! invocation; CodeDeploy then fails the deployment when the hook's hour runs out.
#![forbid(unsafe_code)]

use std::future::Future;

use patgate::token::{TokenPrefix, TokenSecret};
use serde_json::{json, Value};

/// The version ARN of the authorizer this deployment publishes.
pub const AUTHORIZER_VERSION: &str = "AUTHORIZER_VERSION";
/// The `methodArn` of the probes' REQUEST events.
pub const PROBE_METHOD_ARN: &str = "PROBE_METHOD_ARN";

/// What the probed version answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// Lambda's `X-Amz-Function-Error` (`Unhandled`) when the function answered an error.
    pub function_error: Option<String>,
    /// The answer: a policy, or `{"errorType", "errorMessage"}` with an error.
    pub payload: Value,
    /// The end of the invocation's log (Lambda's `LogType: Tail`), decoded.
    pub log_tail: String,
}

/// Invokes the version under test.
pub trait Invoker {
    fn invoke(&self, event: &Value) -> impl Future<Output = Result<Invocation, String>> + Send;
}

/// The verdict CodeDeploy receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Succeeded,
    Failed,
}

/// Tells CodeDeploy how the lifecycle hook ended.
pub trait Reporter {
    fn report(
        &self,
        deployment: &Deployment,
        status: Status,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// The ids CodeDeploy's hook event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub deployment_id: String,
    pub execution_id: String,
}

impl Deployment {
    pub fn read(event: &Value) -> Option<Self> {
        let field = |name: &str| {
            event
                .get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Some(Deployment {
            deployment_id: field("DeploymentId")?,
            execution_id: field("LifecycleEventHookExecutionId")?,
        })
    }
}

/// One probe's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub probe: &'static str,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HookError {
    #[error("not a CodeDeploy lifecycle hook event (DeploymentId, LifecycleEventHookExecutionId)")]
    NotAHookEvent,
    #[error("could not report {status:?} to CodeDeploy: {cause}")]
    Report { status: Status, cause: String },
    #[error("{0}")]
    Config(String),
}

/// Where the probes go, read once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub version_arn: String,
    pub method_arn: String,
}

impl Target {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, HookError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    HookError::Config(format!("environment variable {name} is required"))
                })
        };
        let version_arn = get(AUTHORIZER_VERSION)?;
        // A qualified ARN ends in a version number: the hook never probes an alias.
        let version = version_arn.rsplit(':').next().unwrap_or("");
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HookError::Config(format!(
                "{AUTHORIZER_VERSION} must be a function version ARN, got {version_arn}"
            )));
        }
        Ok(Target {
            version_arn,
            method_arn: get(PROBE_METHOD_ARN)?,
        })
    }

    pub fn from_env() -> Result<Self, HookError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }
}

pub struct Hook<I, R> {
    invoker: I,
    reporter: R,
    prefix: TokenPrefix,
    method_arn: String,
}

impl<I: Invoker, R: Reporter> Hook<I, R> {
    pub fn new(invoker: I, reporter: R, prefix: TokenPrefix, method_arn: String) -> Self {
        Hook {
            invoker,
            reporter,
            prefix,
            method_arn,
        }
    }

    /// Runs the probes, reports the verdict, and answers it with each probe's outcome.
    pub async fn handle(&self, event: Value) -> Result<Value, HookError> {
        let deployment = Deployment::read(&event).ok_or(HookError::NotAHookEvent)?;
        let results = self.probe().await;
        let status = if results.iter().all(|r| r.passed) {
            Status::Succeeded
        } else {
            Status::Failed
        };
        for failed in results.iter().filter(|r| !r.passed) {
            tracing::error!(probe = failed.probe, detail = %failed.detail, deployment_id = %deployment.deployment_id, "pre-traffic probe failed");
        }
        tracing::info!(deployment_id = %deployment.deployment_id, status = ?status, "pre-traffic probes done");
        self.reporter
            .report(&deployment, status)
            .await
            .map_err(|cause| HookError::Report { status, cause })?;
        Ok(json!({
            "status": format!("{status:?}"),
            "probes": results.iter().map(|r| json!({"probe": r.probe, "passed": r.passed, "detail": r.detail})).collect::<Vec<_>>(),
        }))
    }

    /// The three probes against the version under test.
    pub async fn probe(&self) -> Vec<ProbeResult> {
        let mut results = Vec::new();
        match TokenSecret::generate(&self.prefix) {
            Ok(forged) => {
                let bearer = format!("Bearer {}", forged.expose());
                let answer = self
                    .invoker
                    .invoke(&request_event(&self.method_arn, &bearer))
                    .await;
                results.push(forged_token(&answer));
                results.push(store_reachable(&answer));
            }
            Err(_) => results.push(ProbeResult {
                probe: "forged_token",
                passed: false,
                detail: "no randomness to forge a token with".into(),
            }),
        }
        let malformed = json!({"probe": "not an authorizer event"});
        results.push(malformed_event(&self.invoker.invoke(&malformed).await));
        results
    }
}

fn error_message(invocation: &Invocation) -> Option<&str> {
    invocation.function_error.as_ref().and(
        invocation
            .payload
            .get("errorMessage")
            .and_then(Value::as_str),
    )
}

fn forged_token(answer: &Result<Invocation, String>) -> ProbeResult {
    let (passed, detail) = match answer {
        Err(err) => (false, format!("invoke failed: {err}")),
        Ok(invocation) => match error_message(invocation) {
            Some("Unauthorized") => (true, "Unauthorized".to_owned()),
            Some(other) => (
                false,
                format!("answered the error `{other}`, not Unauthorized"),
            ),
            None => (false, "answered a policy, not Unauthorized".to_owned()),
        },
    };
    ProbeResult {
        probe: "forged_token",
        passed,
        detail,
    }
}

/// The decision's reason in the log tail: its metric line (embedded metric format).
fn decision_reason(log_tail: &str) -> Option<String> {
    log_tail
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(|line| line.get("Decisions").is_some())
        .find_map(|line| {
            line.get("Reason")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
}

fn store_reachable(answer: &Result<Invocation, String>) -> ProbeResult {
    let (passed, detail) = match answer {
        Err(err) => (false, format!("invoke failed: {err}")),
        Ok(invocation) => match decision_reason(&invocation.log_tail) {
            Some(reason) if reason == "unknown_token" => (
                true,
                "the token's hash item was looked up and not found".to_owned(),
            ),
            Some(reason) => (
                false,
                format!("the decision's reason was {reason}, not unknown_token"),
            ),
            None => (false, "no decision metric line in the log tail".to_owned()),
        },
    };
    ProbeResult {
        probe: "store_reachable",
        passed,
        detail,
    }
}

fn malformed_event(answer: &Result<Invocation, String>) -> ProbeResult {
    let (passed, detail) = match answer {
        Err(err) => (false, format!("invoke failed: {err}")),
        Ok(invocation) if invocation.function_error.is_some() => (
            true,
            format!(
                "answered the error `{}`",
                error_message(invocation).unwrap_or("")
            ),
        ),
        Ok(_) => (false, "answered a policy to a malformed event".to_owned()),
    };
    ProbeResult {
        probe: "malformed_event",
        passed,
        detail,
    }
}

/// A REST API REQUEST authorizer event for `GET /tokens/self` on the API and stage
/// of `method_arn`, shaped as API Gateway sends it (`sam local generate-event
/// apigateway authorizer`), stage variable `patgateApi` = `patgate`.
pub fn request_event(method_arn: &str, authorization: &str) -> Value {
    // arn:aws:execute-api:{region}:{account}:{api}/{stage}/{method}/{path}
    let mut fields = method_arn.splitn(6, ':');
    let account = fields.nth(4).unwrap_or("");
    let mut target = fields.next().unwrap_or("").split('/');
    let api = target.next().unwrap_or("");
    let stage = target.next().unwrap_or("");
    let agent = "patgate-pre-traffic";
    json!({
        "type": "REQUEST",
        "methodArn": method_arn,
        "resource": "/tokens/self",
        "path": "/tokens/self",
        "httpMethod": "GET",
        "headers": {"Authorization": authorization, "User-Agent": agent},
        "multiValueHeaders": {"Authorization": [authorization], "User-Agent": [agent]},
        "queryStringParameters": {},
        "multiValueQueryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {"patgateApi": "patgate"},
        "requestContext": {
            "resourcePath": "/tokens/self",
            "httpMethod": "GET",
            "path": format!("/{stage}/tokens/self"),
            "accountId": account,
            "apiId": api,
            "stage": stage,
            "requestId": "pre-traffic-probe",
            "identity": {"sourceIp": "192.0.2.1", "userAgent": agent},
        },
    })
}

/// [`Invoker`] through the Lambda API: the version ARN, synchronously, with its log tail.
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
    version_arn: String,
}

impl LambdaInvoker {
    pub fn new(client: aws_sdk_lambda::Client, version_arn: String) -> Self {
        LambdaInvoker {
            client,
            version_arn,
        }
    }
}

impl Invoker for LambdaInvoker {
    async fn invoke(&self, event: &Value) -> Result<Invocation, String> {
        use aws_sdk_lambda::types::{InvocationType, LogType};
        let output = self
            .client
            .invoke()
            .function_name(&self.version_arn)
            .invocation_type(InvocationType::RequestResponse)
            .log_type(LogType::Tail)
            .payload(aws_smithy_types::Blob::new(event.to_string()))
            .send()
            .await
            .map_err(|err| aws_sdk_lambda::error::DisplayErrorContext(err).to_string())?;
        let payload = output
            .payload()
            .map(|blob| {
                serde_json::from_slice(blob.as_ref()).unwrap_or_else(|_| {
                    Value::String(String::from_utf8_lossy(blob.as_ref()).into_owned())
                })
            })
            .unwrap_or(Value::Null);
        let log_tail = output
            .log_result()
            .and_then(|encoded| aws_smithy_types::base64::decode(encoded).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        Ok(Invocation {
            function_error: output.function_error().map(str::to_owned),
            payload,
            log_tail,
        })
    }
}

/// [`Reporter`] through CodeDeploy's PutLifecycleEventHookExecutionStatus.
pub struct CodeDeployReporter {
    client: aws_sdk_codedeploy::Client,
}

impl CodeDeployReporter {
    pub fn new(client: aws_sdk_codedeploy::Client) -> Self {
        CodeDeployReporter { client }
    }
}

impl Reporter for CodeDeployReporter {
    async fn report(&self, deployment: &Deployment, status: Status) -> Result<(), String> {
        use aws_sdk_codedeploy::types::LifecycleEventStatus;
        let status = match status {
            Status::Succeeded => LifecycleEventStatus::Succeeded,
            Status::Failed => LifecycleEventStatus::Failed,
        };
        self.client
            .put_lifecycle_event_hook_execution_status()
            .deployment_id(&deployment.deployment_id)
            .lifecycle_event_hook_execution_id(&deployment.execution_id)
            .status(status)
            .send()
            .await
            .map(|_| ())
            .map_err(|err| aws_sdk_codedeploy::error::DisplayErrorContext(err).to_string())
    }
}

#[cfg(test)]
mod tests;
