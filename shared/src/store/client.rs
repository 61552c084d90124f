//! The DynamoDB client, and how its failures are sorted.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::Client;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or unreachable after the SDK's retries: worth retrying later.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    #[error("DynamoDB request failed: {0}")]
    Internal(String),
}

/// Timeouts short enough that a stalled DynamoDB fails a request instead of hanging it.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// Builds the DynamoDB client from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local): see [`crate::sdk_config`].
pub async fn connect() -> Client {
    let config = crate::sdk_config::load().await;
    Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .timeout_config(timeouts())
            .build(),
    )
}

/// A client for the DynamoDB Local at `endpoint`, with fixed local credentials and
/// region whatever the environment says (DynamoDB Local accepts any).
pub fn connect_local(endpoint: &str) -> Client {
    Client::from_conf(local_config(endpoint).build())
}

/// The configuration [`connect_local`] uses, for callers that add to it (tests).
pub fn local_config(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .http_client(crate::sdk_config::https_client())
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "patgate-local",
        ))
        .timeout_config(timeouts())
}

pub(crate) fn internal(err: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(err.to_string())
}

/// Sorts SDK failures into "try again later" (503 / fail closed) and the rest.
pub fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionInProgressException"
                    | "TransactionConflictException"
            )
        ),
        _ => false,
    };
    let detail = DisplayErrorContext(&err).to_string();
    if unavailable {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Internal(detail)
    }
}

/// Why DynamoDB cancelled a transaction, one reason per item, in order.
pub(crate) fn cancellation_reasons<R>(
    err: &SdkError<TransactWriteItemsError, R>,
) -> Option<&[CancellationReason]> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(e.cancellation_reasons()),
        _ => None,
    }
}

/// The cancellation code of the transaction's item at `index`.
pub(crate) fn code_at(reasons: &[CancellationReason], index: usize) -> Option<&str> {
    reasons.get(index).and_then(|r| r.code())
}

pub(crate) fn has_code(reasons: &[CancellationReason], code: &str) -> bool {
    reasons.iter().any(|r| r.code() == Some(code))
}

/// Like [`classify`], but a transaction cancelled for throttling or a conflict with
/// another write is "try again later" too.
pub(crate) fn classify_transaction<R: std::fmt::Debug>(
    err: SdkError<TransactWriteItemsError, R>,
) -> StoreError {
    let reasons = cancellation_reasons(&err).unwrap_or_default();
    let transient = [
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
        "TransactionConflict",
    ];
    if transient.iter().any(|code| has_code(reasons, code)) {
        return StoreError::Unavailable(DisplayErrorContext(&err).to_string());
    }
    classify(err)
}

/// A short, jittered pause before retrying a write that lost a race.
pub(crate) async fn backoff(attempt: u32) {
    let base = 5u64 << attempt.min(5);
    let jitter = rand::random::<u64>() % base;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}
