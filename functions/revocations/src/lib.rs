//! The `revocations` function: a consumer of the table's stream (its own filter:
//! principal records, `USER#…`/`PROFILE`; batching window 0).
//!
//! For each principal record whose new image says its last access change has not
//! reached all its tokens (`synced_version < access_version`), the repair re-reads the
//! record and, if it is still behind, completes the fan-out itself
//! ([`Directory::repair`]): a user write cut off half way, and retried by nobody,
//! still converges. Then, once per batch, the authorizer caches are flushed through
//! the [`CacheFlush`] seam, so that a deactivation or downgrade is not answered from a
//! cached Allow (the flush of every registered stage is added there).
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use patgate::directory::Directory;
use patgate::store::items::{self, Item};
use patgate::user::UserId;

/// Where the authorizer caches are flushed after a batch that changed someone's
/// access. The flush of API Gateway stages plugs in here.
#[allow(async_fn_in_trait)]
pub trait CacheFlush {
    async fn flush(&self) -> Result<(), String>;
}

/// No cache to flush (the authorizer's cache TTL bounds how long a cached Allow lives).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFlush;

impl CacheFlush for NoFlush {
    async fn flush(&self) -> Result<(), String> {
        Ok(())
    }
}

fn number(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The principal a record is about, and whether its access went up or is not synced.
fn principal_change(record: &EventRecord) -> Option<(UserId, bool, bool)> {
    let keys: Item = record.change.keys.clone().into();
    let sk = keys.get(items::SK)?.as_s().ok()?;
    if sk != items::PROFILE_SK {
        return None;
    }
    let id = keys
        .get(items::PK)?
        .as_s()
        .ok()?
        .strip_prefix("USER#")
        .and_then(UserId::parse)?;
    let new: Item = record.change.new_image.clone().into();
    let old: Item = record.change.old_image.clone().into();
    let behind = !new.is_empty() && number(&new, "synced_version") < number(&new, "access_version");
    let access_changed = number(&new, "access_version") > number(&old, "access_version");
    Some((id, behind, access_changed))
}

pub async fn handle<F: CacheFlush>(
    directory: &Directory,
    flusher: &F,
    batch: Event,
    now: DateTime<Utc>,
) -> DynamoDbEventResponse {
    let mut behind: BTreeMap<UserId, String> = BTreeMap::new();
    let mut changed = false;
    for record in &batch.records {
        if let Some((id, is_behind, access_changed)) = principal_change(record) {
            changed |= access_changed;
            if is_behind {
                let sequence = record.change.sequence_number.clone().unwrap_or_default();
                behind.entry(id).or_insert(sequence);
            }
        }
    }
    let mut failed: BTreeSet<String> = BTreeSet::new();
    for (id, sequence) in &behind {
        match directory.repair(id, now).await {
            Ok(true) => tracing::warn!(user_id = %id, "completed a user write nobody finished"),
            Ok(false) => {}
            Err(err) => {
                tracing::error!(user_id = %id, error = %err, "user write repair failed");
                failed.insert(sequence.clone());
            }
        }
    }
    // The flush comes after the repair: a re-authorization must find the hash items
    // already in step.
    if changed || !behind.is_empty() {
        if let Err(err) = flusher.flush().await {
            tracing::error!(error = %err, "authorizer cache flush failed");
            if let Some(first) = batch.records.first() {
                failed.insert(first.change.sequence_number.clone().unwrap_or_default());
            }
        }
    }
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
