//! The `revocations` function: a consumer of the table's stream (its own filter:
//! principal records, `REVOKED#` inserts, retired secrets' hash items; batching
//! window 0), and of the `RevocationFlushQueue` (flushes due later).
//!
//! API Gateway caches the authorizer's answer per identity source for the cache TTL
//! (300 s by default) and cannot drop one token's entry; it can flush a whole stage's
//! authorizer cache. So after every change that takes access away, the authorizer
//! caches of every registered stage are flushed, once per batch however many records
//! asked for it ([`CacheFlush`]):
//! - a token revoked (a `REVOKED#` record written: revoke, leak report, offboarding,
//!   an administrator);
//! - a secret retired by a rotation whose grace is over (grace 0), or whose grace a
//!   later rotation cut short; a grace ending later is flushed when it ends, through
//!   a delayed message ([`CacheFlush::flush_at`], [`handle_due`]);
//! - a principal whose `access_version` went up (deactivation, role change). A
//!   principal record that says its last access change has not reached all its
//!   tokens (`synced_version < access_version`) is first repaired: the record is
//!   re-read and, if still behind, the fan-out completed ([`Directory::repair`]), so
//!   that the re-authorization after the flush finds the hash items in step.
//!
//! A flush that fails is reported as a batch item failure, so the batch (or the
//! message) is retried; it is never dropped.
#![forbid(unsafe_code)]

pub mod apigateway;
pub mod stages;

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use patgate::directory::Directory;
use patgate::store::items::{self, AccessChange, Item};
use patgate::user::UserId;
use serde::{Deserialize, Serialize};

/// The longest delay SQS gives a message (15 minutes); a later flush is re-queued
/// until it is due.
pub const MAX_DELAY_SECONDS: i64 = 900;

/// Where the authorizer caches are flushed.
#[allow(async_fn_in_trait)]
pub trait CacheFlush {
    /// Flushes every registered stage now.
    async fn flush(&self) -> Result<(), String>;

    /// Arranges a flush at `at` (a grace ending later): a message that comes back
    /// through [`handle_due`] after [`delay_seconds`].
    async fn flush_at(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String>;
}

/// No cache to flush (the authorizer's cache TTL bounds how long a cached Allow lives).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFlush;

impl CacheFlush for NoFlush {
    async fn flush(&self) -> Result<(), String> {
        Ok(())
    }

    async fn flush_at(&self, _at: DateTime<Utc>, _now: DateTime<Utc>) -> Result<(), String> {
        Ok(())
    }
}

/// The SQS event Lambda hands over (the fields this function reads; its own types,
/// so that the function does not link the events crate's SQS support).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<SqsMessage>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsMessage {
    pub message_id: Option<String>,
    pub body: Option<String>,
}

/// The answer to an SQS batch with `ReportBatchItemFailures`: the messages to be
/// received again.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsBatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

/// The body of a delayed flush message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlushMessage {
    /// Epoch seconds from which the flush is due.
    pub flush_at: i64,
}

impl FlushMessage {
    pub fn new(at: DateTime<Utc>) -> Self {
        FlushMessage {
            flush_at: at.timestamp(),
        }
    }

    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// How long a message for a flush at `at` waits: until then (rounded up to the
/// second), at most [`MAX_DELAY_SECONDS`].
pub fn delay_seconds(at: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
    let millis = (at - now).num_milliseconds().max(0);
    let seconds = (millis + 999) / 1000;
    seconds.min(MAX_DELAY_SECONDS) as i32
}

fn sequence(record: &EventRecord) -> String {
    record.change.sequence_number.clone().unwrap_or_default()
}

/// What one batch of stream records calls for.
#[derive(Debug, Default)]
struct Plan {
    /// Principals whose fan-out is behind, with the first record that said so.
    behind: BTreeMap<UserId, String>,
    /// A flush now.
    flush: bool,
    /// Flushes at a later time, with the first record that asked for each.
    later: BTreeMap<DateTime<Utc>, String>,
}

fn plan(batch: &Event, now: DateTime<Utc>) -> Plan {
    let mut plan = Plan::default();
    // Retired secrets by hash item: a rotation retires the replaced secret for a
    // handover, then cuts it down to the grace asked for; the last record counts.
    let mut retired: BTreeMap<String, (DateTime<Utc>, String)> = BTreeMap::new();
    for record in &batch.records {
        let keys: Item = record.change.keys.clone().into();
        let old: Item = record.change.old_image.clone().into();
        let new: Item = record.change.new_image.clone().into();
        match items::access_change(&record.event_name, &keys, &old, &new) {
            Some(AccessChange::Revoked) => plan.flush = true,
            Some(AccessChange::SecretRetired { hash, valid_until }) => {
                retired.insert(hash, (valid_until, sequence(record)));
            }
            // Cut short: its grace had not ended (else that end flushed already).
            Some(AccessChange::RetiredSecretRemoved { hash, valid_until }) => {
                retired.remove(&hash);
                plan.flush |= valid_until > now
            }
            Some(AccessChange::Principal {
                id,
                access_raised,
                behind,
            }) => {
                plan.flush |= access_raised;
                if behind {
                    plan.behind.entry(id).or_insert_with(|| sequence(record));
                }
            }
            None => {}
        }
    }
    for (valid_until, sequence) in retired.into_values() {
        if valid_until <= now {
            plan.flush = true;
        } else {
            plan.later.entry(valid_until).or_insert(sequence);
        }
    }
    plan
}

fn stream_response(failed: BTreeSet<String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|sequence| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence);
            failure
        })
        .collect();
    response
}

/// One batch of stream records.
pub async fn handle<F: CacheFlush>(
    directory: &Directory,
    flusher: &F,
    batch: Event,
    now: DateTime<Utc>,
) -> DynamoDbEventResponse {
    let mut plan = plan(&batch, now);
    let mut failed: BTreeSet<String> = BTreeSet::new();
    for (id, sequence) in &plan.behind {
        match directory.repair(id, now).await {
            Ok(true) => {
                tracing::warn!(user_id = %id, "completed a user write nobody finished");
                plan.flush = true;
            }
            Ok(false) => {}
            Err(err) => {
                tracing::error!(user_id = %id, error = %err, "user write repair failed");
                failed.insert(sequence.clone());
            }
        }
    }
    // The flush comes after the repair: a re-authorization must find the hash items
    // already in step.
    if plan.flush {
        match flusher.flush().await {
            Ok(()) => tracing::info!(records = batch.records.len(), "authorizer caches flushed"),
            Err(err) => {
                tracing::error!(error = %err, "authorizer cache flush failed; the batch is retried");
                if let Some(first) = batch.records.first() {
                    failed.insert(sequence(first));
                }
            }
        }
    }
    for (at, sequence) in &plan.later {
        if let Err(err) = flusher.flush_at(*at, now).await {
            tracing::error!(error = %err, flush_at = %at, "could not queue a later flush; the batch is retried");
            failed.insert(sequence.clone());
        }
    }
    stream_response(failed)
}

/// Delayed flush messages: the due ones flushed once together, the others queued
/// again until they are due. A failure leaves the message to be received again.
pub async fn handle_due<F: CacheFlush>(
    flusher: &F,
    event: SqsEvent,
    now: DateTime<Utc>,
) -> SqsBatchResponse {
    let mut due = Vec::new();
    let mut failed = Vec::new();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let parsed = message
            .body
            .as_deref()
            .and_then(|body| serde_json::from_str::<FlushMessage>(body).ok())
            .and_then(|m| DateTime::from_timestamp(m.flush_at, 0));
        match parsed {
            // Not a message this function sends: retrying it cannot help.
            None => tracing::error!(message_id = %id, "not a flush message; dropped"),
            Some(at) if at <= now => due.push(id),
            Some(at) => {
                if let Err(err) = flusher.flush_at(at, now).await {
                    tracing::error!(error = %err, "could not queue a flush again; retried");
                    failed.push(id);
                }
            }
        }
    }
    if !due.is_empty() {
        match flusher.flush().await {
            Ok(()) => tracing::info!(
                messages = due.len(),
                "authorizer caches flushed (grace over)"
            ),
            Err(err) => {
                tracing::error!(error = %err, "authorizer cache flush failed; the messages are retried");
                failed.append(&mut due);
            }
        }
    }
    SqsBatchResponse {
        batch_item_failures: failed
            .into_iter()
            .map(|item_identifier| BatchItemFailure { item_identifier })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn delays_round_up_and_stop_at_sqs_maximum() {
        let now = Utc::now();
        assert_eq!(delay_seconds(now - Duration::seconds(5), now), 0);
        assert_eq!(delay_seconds(now + Duration::milliseconds(1), now), 1);
        assert_eq!(delay_seconds(now + Duration::seconds(60), now), 60);
        assert_eq!(delay_seconds(now + Duration::hours(2), now), 900);
        let message = FlushMessage::new(now);
        assert_eq!(
            serde_json::from_str::<FlushMessage>(&message.body()).unwrap(),
            message
        );
        assert!(message.body().contains("\"flushAt\":"));
    }
}
