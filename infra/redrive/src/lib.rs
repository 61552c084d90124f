//! `patgate-redrive`: sends on the stream batches the events function could not
//! publish.
//!
//! After its retries, Lambda writes a failed batch to the failed-events bucket (the
//! stream event source mapping's on-failure destination) as one JSON object: the
//! invocation record (`requestContext`, `responseContext`, `DDBStreamBatchInfo` with
//! the failed records' sequence range) and, for an S3 destination only, `payload`:
//! the whole event the function was invoked with, as an escaped JSON string. Unlike a
//! queue's pointer into the stream, which the stream forgets after 24 hours, the
//! object holds the records themselves, for as long as the bucket keeps it.
//!
//! A redrive reads each object under the prefix, keeps the records of the failed
//! range, and hands them to the events handler as a stream batch, exactly as Lambda
//! would. An object whose every record went out is deleted; one with a record that
//! failed again, or that cannot be read, stays for the next redrive. Records of an
//! object redriven twice publish their events twice, with the same `eventId`, which
//! consumers drop (infra/docs/tokens.md).

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_sdk_s3::Client;
use serde_json::Value;

/// Where Lambda writes on-failure records in a bucket:
/// `aws/lambda/<ESM-UUID>/<shardID>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<Random UUID>`.
pub const DEFAULT_PREFIX: &str = "aws/lambda/";

pub const USAGE: &str = "usage: patgate-redrive --bucket NAME [--prefix P] [--dry-run] [--keep]

Sends the stream batches in the failed-events bucket (the stack's EventsFailureBucketName
output) through the events handler to EventBridge (EVENT_BUS_NAME), and deletes each
object whose records all went out.
  --prefix P   only objects under P (default aws/lambda/)
  --dry-run    read and count, send nothing, delete nothing
  --keep       send, but delete nothing";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub bucket: String,
    pub prefix: String,
    pub dry_run: bool,
    pub keep: bool,
}

pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        bucket: String::new(),
        prefix: DEFAULT_PREFIX.to_owned(),
        dry_run: false,
        keep: false,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--bucket" => options.bucket = rest.next().ok_or("--bucket needs a name")?.clone(),
            "--prefix" => options.prefix = rest.next().ok_or("--prefix needs a value")?.clone(),
            "--dry-run" => options.dry_run = true,
            "--keep" => options.keep = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if options.bucket.is_empty() {
        return Err("--bucket is required".to_owned());
    }
    Ok(options)
}

/// The records of one on-failure object that failed: those of its payload within
/// `DDBStreamBatchInfo`'s sequence range, as the stream batch to send again.
pub fn failed_batch(object: &[u8]) -> Result<Event, String> {
    let record: Value =
        serde_json::from_slice(object).map_err(|e| format!("not a JSON object: {e}"))?;
    let payload = match record.get("payload") {
        Some(Value::String(text)) => {
            serde_json::from_str::<Value>(text).map_err(|e| format!("payload is not JSON: {e}"))?
        }
        // Tolerated: a payload written as an object rather than a string.
        Some(object @ Value::Object(_)) => object.clone(),
        _ => {
            return Err(
                "no payload: not an S3 on-failure record (a queue's record holds no records)"
                    .to_owned(),
            )
        }
    };
    let mut event: Event = serde_json::from_value(payload)
        .map_err(|e| format!("payload is not a stream batch: {e}"))?;
    let info = &record["DDBStreamBatchInfo"];
    let start = info["startSequenceNumber"].as_str();
    let end = info["endSequenceNumber"].as_str();
    if let (Some(start), Some(end)) = (start, end) {
        event.records.retain(|r| within(r, start, end));
    }
    Ok(event)
}

/// Sequence numbers are decimal strings of any length: a longer one is later.
fn within(record: &EventRecord, start: &str, end: &str) -> bool {
    let order = |s: &str| (s.len(), s.to_owned());
    match record.change.sequence_number.as_deref() {
        Some(sequence) => order(start) <= order(sequence) && order(sequence) <= order(end),
        None => true,
    }
}

/// Where a failed batch goes: the events handler.
#[allow(async_fn_in_trait)]
pub trait Deliver {
    /// Sends `batch`; returns the sequence numbers of the records that failed.
    async fn deliver(&self, batch: Event) -> Vec<String>;
}

/// The events function's handler, in this process, with its sink.
pub struct EventsHandler<S> {
    pub sink: S,
}

impl<S: patgate::events::EventSink> Deliver for EventsHandler<S> {
    async fn deliver(&self, batch: Event) -> Vec<String> {
        let metrics = patgate::metrics::Metrics::Off;
        events::handle(&self.sink, &metrics, batch, chrono::Utc::now())
            .await
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier.unwrap_or_default())
            .collect()
    }
}

/// What a redrive did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub objects: usize,
    pub records: usize,
    pub sent: usize,
    pub deleted: usize,
    /// Objects left in the bucket, with why.
    pub left: Vec<(String, String)>,
}

impl Report {
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} objects, {} failed records: {} sent, {} objects deleted, {} left",
            self.objects,
            self.records,
            self.sent,
            self.deleted,
            self.left.len()
        );
        for (key, why) in &self.left {
            text.push_str(&format!("\n  left {key}: {why}"));
        }
        text
    }
}

/// Redrives every object under `options.prefix` of `options.bucket` to `target`.
pub async fn redrive<D: Deliver>(
    s3: &Client,
    target: &D,
    options: &Options,
) -> Result<Report, String> {
    let mut report = Report::default();
    let mut keys = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(&options.bucket)
        .prefix(&options.prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| format!("cannot list the bucket: {}", describe(&e)))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    for key in keys {
        report.objects += 1;
        let object = s3
            .get_object()
            .bucket(&options.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| format!("cannot read {key}: {}", describe(&e)))?;
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| format!("cannot read {key}: {e}"))?
            .into_bytes();
        let batch = match failed_batch(&bytes) {
            Ok(batch) => batch,
            Err(why) => {
                report.left.push((key, why));
                continue;
            }
        };
        let count = batch.records.len();
        report.records += count;
        if options.dry_run {
            continue;
        }
        let failed = target.deliver(batch).await;
        report.sent += count - failed.len().min(count);
        if !failed.is_empty() {
            report.left.push((
                key,
                format!("{} of {count} records failed again", failed.len()),
            ));
            continue;
        }
        if !options.keep {
            s3.delete_object()
                .bucket(&options.bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| format!("sent {key}, but cannot delete it: {}", describe(&e)))?;
            report.deleted += 1;
        }
    }
    Ok(report)
}

fn describe<E: std::error::Error + 'static>(err: &E) -> String {
    aws_sdk_s3::error::DisplayErrorContext(err).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(sequence: &str) -> Value {
        json!({
            "eventID": format!("e-{sequence}"),
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1795600000.0,
                "Keys": {"pk": {"S": "TOKENS#a"}, "sk": {"S": "SLOTS"}},
                "SequenceNumber": sequence,
                "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        })
    }

    fn object(payload: Value, start: &str, end: &str) -> Vec<u8> {
        json!({
            "requestContext": {"condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
            "version": "1.0",
            "DDBStreamBatchInfo": {"startSequenceNumber": start, "endSequenceNumber": end, "batchSize": 2},
            "payload": payload.to_string(),
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_failed_range_of_the_payload_is_the_batch() {
        let payload =
            json!({"Records": [record("98"), record("100"), record("101"), record("1000")]});
        let batch = failed_batch(&object(payload, "100", "101")).unwrap();
        let sequences: Vec<_> = batch
            .records
            .iter()
            .map(|r| r.change.sequence_number.clone().unwrap())
            .collect();
        assert_eq!(sequences, ["100", "101"]);
    }

    #[test]
    fn records_without_their_batch_are_refused() {
        let queue_record = json!({"DDBStreamBatchInfo": {"startSequenceNumber": "1"}});
        assert!(failed_batch(queue_record.to_string().as_bytes())
            .unwrap_err()
            .contains("no payload"));
        assert!(failed_batch(b"not json").is_err());
        let broken = json!({"payload": "{\"Records\": 5}"}).to_string();
        assert!(failed_batch(broken.as_bytes()).is_err());
    }

    #[test]
    fn arguments() {
        let args = |a: &[&str]| parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            args(&["--bucket", "b", "--dry-run"]).unwrap(),
            Options {
                bucket: "b".into(),
                prefix: DEFAULT_PREFIX.into(),
                dry_run: true,
                keep: false
            }
        );
        assert!(args(&[]).is_err());
        assert!(args(&["--bucket"]).is_err());
        assert!(args(&["--bucket", "b", "--force"]).is_err());
    }
}
