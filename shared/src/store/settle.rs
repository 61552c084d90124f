//! Writing a token transaction and knowing what became of it.
//!
//! A transaction's answer can be lost after DynamoDB committed it (a timeout, a
//! connection cut off half way): the SDK's own retries send it again with the same
//! `ClientRequestToken`, which DynamoDB answers as the success it was. When even those
//! fail, [`TokenStore::write_settled`] finds out before anyone answers the caller: a
//! strongly consistent read of what the write would have stored; if it is not there,
//! the same request once more (same token), which either commits it now or is
//! answered as the success of the first one. Only when that fails too is the outcome
//! [`Settled::Unknown`].
//!
//! Request tokens: DynamoDB keeps a token for 10 minutes after the request that used it
//! finished; an identical request within them succeeds without a second write, and the
//! same token with any other parameter is refused with `IdempotentParameterMismatch`.
//! AWS does not say whether the token of a *cancelled* transaction is kept (DynamoDB
//! Local does not keep it: `tests/api/store.rs` pins what it does). So that a retry is
//! safe either way, every token names exactly one payload: [`request_token`] is built
//! from what the payload is (including a per-call nonce where two calls could build
//! the same keys) and from the attempt number, and a new attempt (after a definite
//! cancellation) gets a new token. Only a resend of the very same payload reuses one.
//! A mismatch, which this makes impossible, would be settled like a lost answer.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Delete, Put, TransactWriteItem};
use sha2::{Digest, Sha256};

use super::client::{classify_transaction, internal};
use super::items::Item;
use super::{StoreError, TokenStore};

/// How long the one resend of a transaction whose outcome is unknown may take: one
/// SDK attempt, so that a create or rotation still answers within the functions'
/// 10-second timeout.
const RESEND_TIMEOUT: Duration = Duration::from_secs(2);

/// What became of a transaction.
#[derive(Debug)]
pub(super) enum Settled {
    /// It committed: answered so, found on reading back, or committed by the resend.
    Committed,
    /// DynamoDB cancelled it: nothing of it was written.
    Cancelled(Refusal),
    /// It was never sent (it could not be built): nothing was written.
    Unsent(StoreError),
    /// Neither its answer, nor a read, nor a resend could tell. It may have committed.
    Unknown(StoreError),
}

/// A cancelled transaction: why, item by item, and the error it means for the caller.
#[derive(Debug)]
pub(super) struct Refusal {
    reasons: Vec<CancellationReason>,
    pub error: StoreError,
}

impl Refusal {
    /// The condition of the `index`th item of the transaction failed.
    pub fn condition_failed_at(&self, index: usize) -> bool {
        self.reasons.get(index).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
    }

    /// It collided with another write in flight (or was throttled): worth another try.
    pub fn transient(&self) -> bool {
        self.reasons.iter().any(|r| {
            matches!(
                r.code(),
                Some(
                    "TransactionConflict"
                        | "ThrottlingError"
                        | "ProvisionedThroughputExceeded"
                        | "RequestLimitExceeded"
                )
            )
        })
    }
}

/// How one send of a transaction ended.
enum Sent {
    Committed,
    Cancelled(Refusal),
    Unsent(StoreError),
    Unknown(StoreError),
}

fn sent<R: std::fmt::Debug>(
    result: Result<impl Sized, SdkError<TransactWriteItemsError, R>>,
) -> Sent {
    let err = match result {
        Ok(_) => return Sent::Committed,
        Err(err) => err,
    };
    if let SdkError::ConstructionFailure(_) = &err {
        return Sent::Unsent(classify_transaction(err));
    }
    let reasons = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
            Some(e.cancellation_reasons().to_vec())
        }
        _ => None,
    };
    if err.code() == Some("IdempotentParameterMismatchException") {
        tracing::error!("a transaction's request token was used by another payload");
    }
    let error = classify_transaction(err);
    match reasons {
        Some(reasons) => Sent::Cancelled(Refusal { reasons, error }),
        None => Sent::Unknown(error),
    }
}

impl TokenStore {
    /// Sends `transaction` and settles its outcome. `committed` reads (strongly
    /// consistent) whether what the transaction writes is stored.
    pub(super) async fn write_settled<F, Fut>(
        &self,
        transaction: TransactWriteItemsFluentBuilder,
        committed: F,
    ) -> Settled
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<bool, StoreError>>,
    {
        let first = match sent(transaction.clone().send().await) {
            Sent::Committed => return Settled::Committed,
            Sent::Cancelled(refusal) => return Settled::Cancelled(refusal),
            Sent::Unsent(err) => return Settled::Unsent(err),
            Sent::Unknown(err) => err,
        };
        tracing::warn!(error = %first, "transaction outcome unknown; reading it back");
        match committed().await {
            Ok(true) => {
                tracing::info!("the transaction had committed");
                return Settled::Committed;
            }
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the transaction back");
                return Settled::Unknown(first);
            }
        }
        // Not stored (yet): the same request again. It commits now, or DynamoDB answers
        // it as the success of the first one if that one committed meanwhile.
        match tokio::time::timeout(RESEND_TIMEOUT, transaction.send()).await {
            Ok(result) => match sent(result) {
                Sent::Committed => {
                    tracing::info!("the transaction committed when sent again");
                    Settled::Committed
                }
                // A refusal on its conditions is final: the first one can only commit
                // with the same token, which would have made this one succeed.
                Sent::Cancelled(refusal) if !refusal.transient() => Settled::Cancelled(refusal),
                Sent::Cancelled(_) | Sent::Unsent(_) | Sent::Unknown(_) => Settled::Unknown(first),
            },
            Err(_) => Settled::Unknown(first),
        }
    }
}

/// A `ClientRequestToken` for one payload: built from `parts`, which must tell every
/// payload apart (a nonce per call where two calls could otherwise agree, and the
/// attempt number of a retry after a cancellation).
pub(super) fn request_token(parts: &[&str]) -> String {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    digest
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A random value that keeps two calls' request tokens apart.
pub(super) fn nonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}

pub(super) fn transact_put(
    table: &str,
    item: Item,
    condition: Option<&str>,
) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

pub(super) fn transact_delete(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .build()
        .map_err(internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}
