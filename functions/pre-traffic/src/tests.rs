//! The hook's verdicts on versions that answer wrongly. The real authorizer, through
//! the Lambda and CodeDeploy wire protocols, is tests/api/pre_traffic.rs.

use std::sync::{Arc, Mutex};

use super::*;

/// A version that answers with `answer(event)`.
struct Version<F>(F);

impl<F> Invoker for Version<F>
where
    F: Fn(&Value) -> Result<Invocation, String> + Send + Sync,
{
    async fn invoke(&self, event: &Value) -> Result<Invocation, String> {
        (self.0)(event)
    }
}

#[derive(Clone, Default)]
struct Reports(Arc<Mutex<Vec<(Deployment, Status)>>>, bool);

impl Reporter for Reports {
    async fn report(&self, deployment: &Deployment, status: Status) -> Result<(), String> {
        if self.1 {
            return Err("AccessDenied".into());
        }
        self.0.lock().unwrap().push((deployment.clone(), status));
        Ok(())
    }
}

fn error(message: &str, tail: &str) -> Result<Invocation, String> {
    Ok(Invocation {
        function_error: Some("Unhandled".into()),
        payload: json!({"errorType": message, "errorMessage": message}),
        log_tail: tail.into(),
    })
}

fn decision_line(reason: &str) -> String {
    json!({"Service": "patgate", "Outcome": "unauthorized", "Reason": reason, "Decisions": 1.0,
        "_aws": {"Timestamp": 0, "CloudWatchMetrics": []}})
    .to_string()
}

fn is_forged(event: &Value) -> bool {
    event["type"] == "REQUEST"
}

/// A version that behaves as the authorizer should.
fn healthy(event: &Value) -> Result<Invocation, String> {
    if is_forged(event) {
        error(
            "Unauthorized",
            &format!("{}\n", decision_line("unknown_token")),
        )
    } else {
        error("Unauthorized", &decision_line("malformed_event"))
    }
}

const METHOD_ARN: &str =
    "arn:aws:execute-api:us-east-1:123456789012:pretraffic/probe/GET/tokens/self";

fn hook<F>(answer: F, reports: Reports) -> Hook<Version<F>, Reports>
where
    F: Fn(&Value) -> Result<Invocation, String> + Send + Sync,
{
    Hook::new(
        Version(answer),
        reports,
        TokenPrefix::default(),
        METHOD_ARN.into(),
    )
}

fn hook_event() -> Value {
    json!({"DeploymentId": "d-ABCDEF123", "LifecycleEventHookExecutionId": "exec-1"})
}

async fn verdict<F>(answer: F) -> (Status, Value)
where
    F: Fn(&Value) -> Result<Invocation, String> + Send + Sync,
{
    let reports = Reports::default();
    let summary = hook(answer, reports.clone())
        .handle(hook_event())
        .await
        .unwrap();
    let reported = reports.0.lock().unwrap().clone();
    assert_eq!(reported.len(), 1, "one report per hook invocation");
    assert_eq!(reported[0].0.deployment_id, "d-ABCDEF123");
    assert_eq!(reported[0].0.execution_id, "exec-1");
    (reported[0].1, summary)
}

fn failed_probes(summary: &Value) -> Vec<String> {
    summary["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["passed"] == false)
        .map(|p| p["probe"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_healthy_version_passes_every_probe() {
    let (status, summary) = verdict(healthy).await;
    assert_eq!(status, Status::Succeeded, "{summary}");
    assert_eq!(summary["probes"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_version_that_allows_a_forged_token_fails() {
    let (status, summary) = verdict(|event: &Value| {
        if is_forged(event) {
            Ok(Invocation {
                function_error: None,
                payload: json!({"principalId": "x", "policyDocument": {"Statement": []}}),
                log_tail: decision_line("valid_token"),
            })
        } else {
            healthy(event)
        }
    })
    .await;
    assert_eq!(status, Status::Failed);
    assert_eq!(failed_probes(&summary), ["forged_token", "store_reachable"]);
}

#[tokio::test]
async fn a_version_that_cannot_read_the_store_fails() {
    let (status, summary) = verdict(|event: &Value| {
        if is_forged(event) {
            error("AuthorizerUnavailable", &decision_line("store_unavailable"))
        } else {
            healthy(event)
        }
    })
    .await;
    assert_eq!(status, Status::Failed);
    assert_eq!(failed_probes(&summary), ["forged_token", "store_reachable"]);
}

#[tokio::test]
async fn an_unauthorized_without_a_lookup_does_not_prove_the_store() {
    // E.g. a version whose prefix differs: Unauthorized by parsing alone.
    let (status, summary) = verdict(|event: &Value| {
        if is_forged(event) {
            error("Unauthorized", &decision_line("wrong_prefix"))
        } else {
            healthy(event)
        }
    })
    .await;
    assert_eq!(status, Status::Failed);
    assert_eq!(failed_probes(&summary), ["store_reachable"]);
    let (status, _) = verdict(|event: &Value| {
        if is_forged(event) {
            error("Unauthorized", "")
        } else {
            healthy(event)
        }
    })
    .await;
    assert_eq!(status, Status::Failed, "no metric line, no proof");
}

#[tokio::test]
async fn a_version_that_answers_a_malformed_event_with_a_policy_fails() {
    let (status, summary) = verdict(|event: &Value| {
        if is_forged(event) {
            healthy(event)
        } else {
            Ok(Invocation {
                function_error: None,
                payload: json!({"principalId": "", "policyDocument": {}}),
                log_tail: String::new(),
            })
        }
    })
    .await;
    assert_eq!(status, Status::Failed);
    assert_eq!(failed_probes(&summary), ["malformed_event"]);
}

#[tokio::test]
async fn an_invoke_that_fails_fails_the_deployment() {
    let (status, summary) = verdict(|_: &Value| Err("AccessDeniedException".to_owned())).await;
    assert_eq!(status, Status::Failed);
    assert_eq!(failed_probes(&summary).len(), 3);
    assert!(summary.to_string().contains("AccessDeniedException"));
}

#[tokio::test]
async fn without_deployment_ids_or_a_report_the_hook_invocation_fails() {
    let reports = Reports::default();
    let result = hook(healthy, reports.clone())
        .handle(json!({"DeploymentId": "d-1"}))
        .await;
    assert_eq!(result, Err(HookError::NotAHookEvent));
    assert!(reports.0.lock().unwrap().is_empty());
    let refused = Reports(Arc::default(), true);
    let result = hook(healthy, refused).handle(hook_event()).await;
    assert!(matches!(
        result,
        Err(HookError::Report {
            status: Status::Succeeded,
            ..
        })
    ));
}

#[test]
fn the_probe_event_is_a_rest_request_event_of_the_method_arn() {
    let event = request_event(METHOD_ARN, "Bearer pgt_x");
    assert_eq!(event["requestContext"]["accountId"], "123456789012");
    assert_eq!(event["requestContext"]["apiId"], "pretraffic");
    assert_eq!(event["requestContext"]["stage"], "probe");
    assert_eq!(event["headers"]["Authorization"], "Bearer pgt_x");
    assert_eq!(event["stageVariables"]["patgateApi"], "patgate");
}

#[test]
fn the_target_is_a_version_never_an_alias() {
    let env = |version: &'static str| {
        move |name: &str| match name {
            AUTHORIZER_VERSION => Some(version.to_owned()),
            PROBE_METHOD_ARN => Some(METHOD_ARN.to_owned()),
            _ => None,
        }
    };
    let target = Target::from_lookup(env(
        "arn:aws:lambda:us-east-1:123456789012:function:p-authorizer:7",
    ))
    .unwrap();
    assert!(target.version_arn.ends_with(":7"));
    for wrong in [
        "arn:aws:lambda:us-east-1:123456789012:function:p-authorizer:live",
        "arn:aws:lambda:us-east-1:123456789012:function:p-authorizer:$LATEST",
        "",
    ] {
        assert!(Target::from_lookup(env(wrong)).is_err(), "{wrong}");
    }
}
