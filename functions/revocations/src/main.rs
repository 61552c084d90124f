#![forbid(unsafe_code)]

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patgate::directory::Directory;
use patgate::metrics::Metrics;
use patgate::service::TokenService;
use revocations::apigateway::{ApiGatewayFlush, SqsQueue};
use revocations::SqsEvent;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    let service = TokenService::from_env().await?;
    let metrics = Metrics::stdout(&service.settings);
    let directory = Directory::new(service);
    // A bad stage list or a missing queue fails the cold start, loudly.
    let stages = revocations::stages::stages_from_lookup(|name| std::env::var(name).ok())?;
    let queue_url = std::env::var(revocations::stages::FLUSH_QUEUE_URL)
        .map_err(|_| "REVOCATION_FLUSH_QUEUE_URL is not set")?;
    let config = patgate::sdk_config::load().await;
    let flusher = ApiGatewayFlush::new(
        &config,
        None,
        stages,
        SqsQueue::new(&config, queue_url),
        metrics,
    );
    run(service_fn(|event: LambdaEvent<Value>| async {
        let now = chrono::Utc::now();
        // Two event sources: the table's stream and the delayed flush queue.
        let from_queue = event.payload["Records"][0]["eventSource"] == "aws:sqs";
        if from_queue {
            let batch: SqsEvent = serde_json::from_value(event.payload)?;
            Ok::<_, Error>(serde_json::to_value(
                revocations::handle_due(&flusher, batch, now).await,
            )?)
        } else {
            let batch: Event = serde_json::from_value(event.payload)?;
            Ok(serde_json::to_value(
                revocations::handle(&directory, &flusher, batch, now).await,
            )?)
        }
    }))
    .await
}
