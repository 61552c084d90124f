//! The `revocations` function as the local stack runs it: its real flusher, calling
//! the local API Gateway management endpoint ([`crate::management`]) through the AWS
//! SDK with an endpoint override, and an in-process stand-in for the
//! `RevocationFlushQueue`: a delayed message comes back to
//! [`revocations::handle_due`] after its delay, and again after a visibility timeout
//! while that fails, as SQS redelivers it.

use std::sync::Arc;
use std::time::Duration;

use patgate::metrics::Metrics;
use revocations::apigateway::{ApiGatewayFlush, DelayQueue};
use revocations::stages::Stage;
use revocations::SqsEvent;
use serde_json::json;
use tokio::sync::mpsc;

use crate::local_routes::Clock;

/// How long a message whose handling failed waits before it is received again.
pub const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(5);

/// The flush queue, in process.
#[derive(Debug, Clone)]
pub struct LocalQueue {
    sender: mpsc::UnboundedSender<(String, i32)>,
}

impl DelayQueue for LocalQueue {
    async fn send(&self, body: String, delay_seconds: i32) -> Result<(), String> {
        self.sender
            .send((body, delay_seconds))
            .map_err(|_| "the local flush queue is closed".to_owned())
    }
}

/// The revocations function's flusher in the local stack.
pub type LocalFlush = ApiGatewayFlush<LocalQueue>;

/// The SDK configuration of a local endpoint: any region and credentials do.
pub fn local_sdk_config() -> Option<revocations::apigateway::SdkConfig> {
    patgate::sdk_config::from_environment(|name| match name {
        "AWS_REGION" => Some("us-east-1".to_owned()),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("local".to_owned()),
        _ => None,
    })
}

/// The flusher of `stages` through the management endpoint at `endpoint`, and the
/// task that delivers its delayed messages at the functions' `clock`.
pub fn start(
    endpoint: &str,
    stages: Vec<Stage>,
    clock: Arc<Clock>,
) -> Result<Arc<LocalFlush>, String> {
    let config = local_sdk_config().ok_or("no SDK configuration for the local endpoints")?;
    let (sender, receiver) = mpsc::unbounded_channel();
    let flusher = Arc::new(ApiGatewayFlush::new(
        &config,
        Some(endpoint),
        stages,
        LocalQueue { sender },
        Metrics::Off,
    ));
    tokio::spawn(deliver(flusher.clone(), receiver, clock));
    Ok(flusher)
}

/// A one-message SQS event, as Lambda's SQS event source hands it over.
pub fn sqs_event(body: &str) -> Option<SqsEvent> {
    serde_json::from_value(json!({"Records": [{
        "messageId": format!("{:032x}", rand::random::<u128>()),
        "receiptHandle": "local",
        "body": body,
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:local-revocation-flush",
        "awsRegion": "us-east-1"
    }]}))
    .ok()
}

async fn deliver(
    flusher: Arc<LocalFlush>,
    mut receiver: mpsc::UnboundedReceiver<(String, i32)>,
    clock: Arc<Clock>,
) {
    while let Some((body, delay)) = receiver.recv().await {
        let flusher = flusher.clone();
        let clock = clock.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(delay.max(0) as u64)).await;
            let Some(event) = sqs_event(&body) else {
                return;
            };
            loop {
                let response = revocations::handle_due(&*flusher, event.clone(), clock.now()).await;
                if response.batch_item_failures.is_empty() {
                    break;
                }
                eprintln!(
                    "patgate-local: a delayed authorizer cache flush failed; retried in {} s",
                    VISIBILITY_TIMEOUT.as_secs()
                );
                tokio::time::sleep(VISIBILITY_TIMEOUT).await;
            }
        });
    }
}
