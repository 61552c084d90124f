//! The `events` function: reads the table's stream (DynamoDB Streams, new and old
//! images) and publishes what each change means as a `patgate.token` event
//! (see `patgate::events`). Nothing on the request path publishes anything.
//!
//! Failures are reported per record (`ReportBatchItemFailures`): Lambda retries from
//! the first failed record, bisecting the batch, and after its retries writes the
//! whole failed batch to the template's failed-events bucket, from which
//! `patgate-redrive` hands it to this same handler again. A record that cannot be read (a
//! malformed image) fails the same way rather than being skipped silently.
#![forbid(unsafe_code)]

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use patgate::events::{from_stream_record, EventSink, LifecycleEvent};
use patgate::metrics::Metrics;

/// Publishes the events of one stream batch; answers which records failed.
pub async fn handle<S: EventSink>(
    sink: &S,
    metrics: &Metrics,
    batch: Event,
    now: DateTime<Utc>,
) -> DynamoDbEventResponse {
    let mut failed: Vec<String> = Vec::new();
    let mut pending: Vec<(String, LifecycleEvent)> = Vec::new();
    for record in &batch.records {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        match from_stream_record(record) {
            Ok(Some(event)) => pending.push((sequence, event)),
            Ok(None) => {}
            Err(err) => {
                tracing::error!(event_id = %record.event_id, error = %err, "unreadable stream record");
                failed.push(sequence);
            }
        }
    }
    let events: Vec<LifecycleEvent> = pending.iter().map(|(_, e)| e.clone()).collect();
    let outcomes = sink.publish(&events).await;
    let mut published = 0;
    for ((sequence, event), outcome) in pending.iter().zip(outcomes) {
        match outcome {
            Ok(()) => {
                published += 1;
                // The event itself and the EventsPublished metric are the record.
                tracing::debug!(event_id = %event.event_id, detail_type = event.detail_type, "event published");
            }
            Err(err) => {
                tracing::error!(event_id = %event.event_id, error = %err, "event not published");
                failed.push(sequence.clone());
            }
        }
    }
    let now = now.timestamp_millis();
    if published > 0 {
        metrics.emit(
            &[],
            &[(
                "EventsPublished",
                patgate::metrics::Unit::Count,
                published as f64,
            )],
            now,
        );
    }
    if !failed.is_empty() {
        metrics.emit(
            &[],
            &[(
                "EventsFailed",
                patgate::metrics::Unit::Count,
                failed.len() as f64,
            )],
            now,
        );
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

/// The inventory's counters for one stream batch: each token item's change moves
/// its counters (`TokenStore::count_inventory_change`, idempotent per record), then
/// the batch's events are published ([`handle`]). A record whose counters could not
/// move fails like one whose event could not be published.
pub async fn handle_with_inventory<S: EventSink>(
    store: &patgate::store::TokenStore,
    sink: &S,
    metrics: &Metrics,
    batch: Event,
    now: DateTime<Utc>,
) -> DynamoDbEventResponse {
    use patgate::store::items::{self, Item};
    let mut failed: Vec<String> = Vec::new();
    for record in &batch.records {
        let keys: Item = record.change.keys.clone().into();
        let is_token = keys
            .get(items::SK)
            .and_then(|v| v.as_s().ok())
            .is_some_and(|sk| sk.starts_with(items::TOKEN_SK_PREFIX));
        if !is_token {
            continue;
        }
        let old: Item = record.change.old_image.clone().into();
        let new: Item = record.change.new_image.clone().into();
        let images = (
            (!old.is_empty()).then_some(&old),
            (!new.is_empty()).then_some(&new),
        );
        if let Err(err) = store
            .count_inventory_change(&record.event_id, images.0, images.1)
            .await
        {
            tracing::error!(event_id = %record.event_id, error = %err, "inventory counters not moved");
            failed.push(record.change.sequence_number.clone().unwrap_or_default());
        }
    }
    let mut response = handle(sink, metrics, batch, now).await;
    for sequence in failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence);
        response.batch_item_failures.push(failure);
    }
    response
}
