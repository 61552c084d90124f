//! The pre-traffic hook against the real authorizer, through the wire protocols it
//! speaks in Lambda: its `LambdaInvoker` (the AWS SDK's Lambda client) calls a local
//! endpoint that answers Invoke as the Lambda API does (the payload, or the error with
//! `X-Amz-Function-Error`, and the base64 log tail in `X-Amz-Log-Result`) by running
//! the real authorizer handler against DynamoDB Local, its metric lines as the log;
//! its `CodeDeployReporter` (the SDK's CodeDeploy client) reports to the same
//! endpoint, which records PutLifecycleEventHookExecutionStatus as CodeDeploy's JSON
//! protocol carries it.

use std::sync::{Arc, Mutex};

use authorizer::{Authorizer, AuthorizerError};
use patgate::metrics::Metrics;
use patgate::token::TokenPrefix;
use patgate_tests::proxy::{DynamoProxy, Fault};
use patgate_tests::*;
use pre_traffic::{CodeDeployReporter, Hook, LambdaInvoker};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const VERSION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:patgate-authorizer:7";
const METHOD_ARN: &str =
    "arn:aws:execute-api:us-east-1:123456789012:pretraffic/probe/GET/tokens/self";

/// What the endpoint saw.
#[derive(Default)]
struct Seen {
    /// (path, X-Amz-Log-Type) of every Invoke.
    invokes: Vec<(String, String)>,
    /// Bodies of PutLifecycleEventHookExecutionStatus.
    reports: Vec<Value>,
}

struct Endpoint {
    url: String,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One HTTP/1.1 request: request line, headers (lower-case names), body.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<(String, String)>, Vec<u8>)> {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.lines();
    let request_line = lines.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((request_line, headers, body))
}

/// The authorizer's answer to `event` as Lambda's Invoke API returns it.
async fn invoke(
    authorizer: &Authorizer,
    metrics: &Metrics,
    event: Value,
) -> (Vec<String>, Vec<u8>) {
    let before = metrics.lines().len();
    let result = authorizer.handle(event, chrono::Utc::now()).await;
    let tail = metrics.lines()[before..].join("\n");
    let mut headers = vec![
        format!(
            "X-Amz-Log-Result: {}",
            aws_smithy_types::base64::encode(tail)
        ),
        "X-Amz-Executed-Version: 7".to_owned(),
    ];
    let body = match result {
        Ok(response) => serde_json::to_vec(&response).unwrap(),
        Err(err) => {
            headers.push("X-Amz-Function-Error: Unhandled".to_owned());
            let error_type = match err {
                AuthorizerError::Unauthorized(_) => "Unauthorized",
                AuthorizerError::Unavailable(_) => "AuthorizerUnavailable",
            };
            serde_json::to_vec(&json!({"errorType": error_type, "errorMessage": err.to_string()}))
                .unwrap()
        }
    };
    (headers, body)
}

async fn start(authorizer: Authorizer, metrics: Metrics) -> Endpoint {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let authorizer = Arc::new(authorizer);
    let state = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (authorizer, metrics, seen) = (authorizer.clone(), metrics.clone(), state.clone());
            tokio::spawn(async move {
                while let Some((request_line, headers, body)) = read_request(&mut stream).await {
                    let header = |name: &str| {
                        headers
                            .iter()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default()
                    };
                    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                    let (extra, answer, content_type) =
                        if path.starts_with("/2015-03-31/functions/") {
                            seen.lock()
                                .unwrap()
                                .invokes
                                .push((path, header("x-amz-log-type")));
                            let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let (extra, answer) = invoke(&authorizer, &metrics, event).await;
                            (extra, answer, "application/json")
                        } else {
                            assert_eq!(
                                header("x-amz-target"),
                                "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"
                            );
                            let report: Value = serde_json::from_slice(&body).unwrap();
                            let id = report["lifecycleEventHookExecutionId"].clone();
                            seen.lock().unwrap().reports.push(report);
                            let answer =
                                serde_json::to_vec(&json!({"lifecycleEventHookExecutionId": id}))
                                    .unwrap();
                            (Vec::new(), answer, "application/x-amz-json-1.1")
                        };
                    let mut response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: stub\r\n",
                        answer.len()
                    );
                    for line in extra {
                        response.push_str(&line);
                        response.push_str("\r\n");
                    }
                    response.push_str("\r\n");
                    let mut bytes = response.into_bytes();
                    bytes.extend_from_slice(&answer);
                    if stream.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Endpoint { url, seen, task }
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .http_client(patgate::sdk_config::https_client())
        .credentials_provider(aws_sdk_lambda::config::Credentials::new(
            "testing", "testing", None, None, "stub",
        ))
        .load()
        .await
}

/// Runs the hook, as CodeDeploy would invoke it, against `authorizer`; returns what
/// it reported and answered, and what the endpoint saw.
async fn deploy(authorizer: Authorizer) -> (Value, Value, Arc<Mutex<Seen>>) {
    let metrics = Metrics::captured();
    let endpoint = start(authorizer.with_metrics(metrics.clone()), metrics).await;
    let config = sdk_config(&endpoint.url).await;
    let hook = Hook::new(
        LambdaInvoker::new(aws_sdk_lambda::Client::new(&config), VERSION_ARN.to_owned()),
        CodeDeployReporter::new(aws_sdk_codedeploy::Client::new(&config)),
        TokenPrefix::default(),
        METHOD_ARN.to_owned(),
    );
    let answer = hook
        .handle(
            json!({"DeploymentId": "d-EXAMPLE12", "LifecycleEventHookExecutionId": "hook-exec-1"}),
        )
        .await
        .expect("the hook reports");
    let report = {
        let seen = endpoint.seen.lock().unwrap();
        assert_eq!(seen.reports.len(), 1, "one report");
        seen.reports[0].clone()
    };
    (report, answer, endpoint.seen.clone())
}

#[tokio::test]
async fn a_working_authorizer_version_passes_and_the_hook_says_so_to_codedeploy() {
    let app = TestApp::new().await;
    let (report, answer, seen) = deploy(app.authorizer()).await;
    assert_eq!(
        report,
        json!({"deploymentId": "d-EXAMPLE12", "lifecycleEventHookExecutionId": "hook-exec-1", "status": "Succeeded"}),
        "{answer}"
    );
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.invokes.len(),
        2,
        "the forged token (store probe too) and the malformed event"
    );
    for (path, log_type) in &seen.invokes {
        // The version itself, never the alias or $LATEST.
        assert!(path.contains("function%3Apatgate-authorizer%3A7"), "{path}");
        assert_eq!(log_type, "Tail");
    }
}

#[tokio::test]
async fn an_authorizer_version_without_its_store_fails_the_deployment() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let app = TestApp::on(table.through(&proxy.endpoint), &[]);
    proxy.set(Fault::Reset);
    let (report, answer, _) = deploy(app.authorizer()).await;
    assert_eq!(report["status"], "Failed", "{answer}");
    let failed: Vec<&str> = answer["probes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["passed"] == false)
        .map(|p| p["probe"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["forged_token", "store_reachable"], "{answer}");
}

#[tokio::test]
async fn an_authorizer_version_with_another_prefix_fails_the_store_probe() {
    // Unauthorized by parsing alone (the forged token's prefix is not the version's):
    // the store was never asked, so the deployment may not go on.
    let app = TestApp::with(&[("TOKEN_PREFIX", "acme")]).await;
    let (report, answer, _) = deploy(app.authorizer()).await;
    assert_eq!(report["status"], "Failed", "{answer}");
    assert!(
        answer
            .to_string()
            .contains("the decision's reason was wrong_prefix"),
        "{answer}"
    );
}
