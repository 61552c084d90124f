//! The flush through API Gateway's management API: `FlushStageAuthorizersCache` for
//! a REST API's stage, `ResetAuthorizersCache` for an HTTP API's, every registered
//! stage at once; and later flushes as delayed messages on a queue.

pub use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use patgate::metrics::Metrics;

use crate::stages::{ApiKind, Stage};
use crate::{delay_seconds, CacheFlush, FlushMessage};

/// The metric counted once per failed flush (an alarm watches it).
pub const FLUSH_FAILURES_METRIC: &str = "CacheFlushFailures";

/// Where a flush due later waits.
#[allow(async_fn_in_trait)]
pub trait DelayQueue {
    /// Sends `body`, to be received after `delay_seconds` (at most 900).
    async fn send(&self, body: String, delay_seconds: i32) -> Result<(), String>;
}

/// The `RevocationFlushQueue` (SQS), read back by this same function.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(config: &SdkConfig, url: String) -> Self {
        SqsQueue {
            client: aws_sdk_sqs::Client::new(config),
            url,
        }
    }
}

impl DelayQueue for SqsQueue {
    async fn send(&self, body: String, delay_seconds: i32) -> Result<(), String> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay_seconds)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)))
    }
}

/// Flushes the authorizer caches of `stages` through API Gateway.
#[derive(Debug, Clone)]
pub struct ApiGatewayFlush<Q> {
    stages: Vec<Stage>,
    rest: aws_sdk_apigateway::Client,
    http: aws_sdk_apigatewayv2::Client,
    queue: Q,
    metrics: Metrics,
}

impl<Q: DelayQueue> ApiGatewayFlush<Q> {
    /// `endpoint`: API Gateway's management endpoint when it is not the region's
    /// (the local stack's emulation).
    pub fn new(
        config: &SdkConfig,
        endpoint: Option<&str>,
        stages: Vec<Stage>,
        queue: Q,
        metrics: Metrics,
    ) -> Self {
        let mut rest = aws_sdk_apigateway::config::Builder::from(config);
        let mut http = aws_sdk_apigatewayv2::config::Builder::from(config);
        if let Some(endpoint) = endpoint {
            rest = rest.endpoint_url(endpoint);
            http = http.endpoint_url(endpoint);
        }
        ApiGatewayFlush {
            stages,
            rest: aws_sdk_apigateway::Client::from_conf(rest.build()),
            http: aws_sdk_apigatewayv2::Client::from_conf(http.build()),
            queue,
            metrics,
        }
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    async fn flush_stage(&self, stage: &Stage) -> Result<(), String> {
        let outcome = match stage.kind {
            ApiKind::Rest => self
                .rest
                .flush_stage_authorizers_cache()
                .rest_api_id(&stage.api_id)
                .stage_name(&stage.stage)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("{}", aws_sdk_apigateway::error::DisplayErrorContext(e))),
            ApiKind::Http => self
                .http
                .reset_authorizers_cache()
                .api_id(&stage.api_id)
                .stage_name(&stage.stage)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("{}", aws_sdk_apigatewayv2::error::DisplayErrorContext(e))),
        };
        outcome.map_err(|err| format!("{stage}: {err}"))
    }
}

impl<Q: DelayQueue> CacheFlush for ApiGatewayFlush<Q> {
    /// Every stage at once; an error names each stage that failed (a retry flushes
    /// them all again, which is harmless).
    async fn flush(&self) -> Result<(), String> {
        let outcomes = join_all(self.stages.iter().map(|s| self.flush_stage(s))).await;
        let errors: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
        if errors.is_empty() {
            return Ok(());
        }
        self.metrics
            .count(FLUSH_FAILURES_METRIC, &[], Utc::now().timestamp_millis());
        Err(errors.join("; "))
    }

    async fn flush_at(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
        self.queue
            .send(FlushMessage::new(at).body(), delay_seconds(at, now))
            .await
    }
}
