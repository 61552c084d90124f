//! The failed-events bucket and `patgate-redrive`, against moto's S3 (the server the
//! test command starts for EventBridge) and the events handler. Each object is what
//! Lambda writes to an S3 on-failure destination of a stream event source mapping:
//! the invocation record with `DDBStreamBatchInfo` and, as an escaped JSON string,
//! `payload`, the whole batch the function was invoked with (here a real batch of
//! DynamoDB Local's stream).

use std::time::Duration;

use aws_lambda_events::dynamodb::Event;
use chrono::Utc;
use patgate_local::streams::{self, StreamReader};
use patgate_redrive::{redrive, EventsHandler, Options, DEFAULT_PREFIX};
use patgate_tests::*;
use serde_json::json;

fn moto_endpoint() -> String {
    std::env::var("PATGATE_TEST_EVENTBRIDGE").unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

async fn s3() -> aws_sdk_s3::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .http_client(patgate::sdk_config::https_client())
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

/// Lambda's on-failure record for the records of `batch` from `first` on.
fn failure_object(batch: &Event, first: usize) -> Vec<u8> {
    let sequence = |i: usize| batch.records[i].change.sequence_number.clone().unwrap();
    let last = batch.records.len() - 1;
    json!({
        "requestContext": {
            "requestId": "316aa6d0-8154-4b2c-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:patgate-events",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 11
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-12-05T10:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001573689847184-864758bb",
            "startSequenceNumber": sequence(first),
            "endSequenceNumber": sequence(last),
            "approximateArrivalOfFirstRecord": "2026-12-05T09:59:00Z",
            "approximateArrivalOfLastRecord": "2026-12-05T09:59:01Z",
            "batchSize": last + 1 - first,
            "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/patgate/stream/2026-12-01T00:00:00.000"
        },
        "payload": serde_json::to_string(batch).unwrap()
    })
    .to_string()
    .into_bytes()
}

async fn keys(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    s3.list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn failed_batches_in_the_bucket_are_sent_on_by_the_redrive() {
    let app = TestApp::new().await;
    let rae = app.user("rae", &["User"], None).await;
    let issued = app.issue_with(&rae, json!({"name": "parked"})).await;
    let rotated = app.rotate(&rae, &issued.id, json!({})).await;
    assert_eq!(rotated.status, 201);
    assert_eq!(app.revoke(&rae, &issued.id).await.status, 204);
    let mut stream = StreamReader::open(
        &app.table.client,
        streams::client(&endpoint()),
        app.table.name(),
        true,
    )
    .await
    .unwrap();
    let batch = stream.collect(30, Duration::from_secs(10)).await.unwrap();
    // The first record (the slot reservation) went out; the rest failed.
    let expected = {
        let sink = CapturedSink::default();
        let mut tail = batch.clone();
        tail.records.remove(0);
        events::handle(&sink, &patgate::metrics::Metrics::Off, tail, Utc::now()).await;
        sink.events()
    };
    assert_eq!(
        expected.iter().map(|e| e.detail_type).collect::<Vec<_>>(),
        ["token.created", "token.rotated", "token.revoked"]
    );

    let s3 = s3().await;
    let bucket = format!("patgate-failed-{:08x}", rand::random::<u32>());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = |n: u32| {
        format!("{DEFAULT_PREFIX}esm-uuid/shardId-1/2026/12/05/2026-12-05T10.00.0{n}-uuid")
    };
    let put = |key: String, body: Vec<u8>| {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.into())
            .send()
    };
    put(key(1), failure_object(&batch, 1)).await.unwrap();
    // A queue's record (a pointer, no payload) cannot be redriven: it stays.
    put(
        key(2),
        br#"{"DDBStreamBatchInfo":{"batchSize":1}}"#.to_vec(),
    )
    .await
    .unwrap();
    // Another prefix is not this mapping's.
    put("elsewhere/x".to_owned(), failure_object(&batch, 0))
        .await
        .unwrap();

    let options = Options {
        bucket: bucket.clone(),
        prefix: DEFAULT_PREFIX.to_owned(),
        dry_run: false,
        keep: false,
    };
    // Still failing (EventBridge refuses rotations): the object stays.
    let refusing = EventsHandler {
        sink: CapturedSink {
            failing: vec!["token.rotated"],
            ..CapturedSink::default()
        },
    };
    let report = redrive(&s3, &refusing, &options).await.unwrap();
    assert_eq!((report.objects, report.deleted), (2, 0), "{report:?}");
    assert_eq!(report.left.len(), 2, "{}", report.summary());
    assert_eq!(keys(&s3, &bucket).await.len(), 3);

    // Published: every failed record's event, with the ids the stream gave them.
    let handler = EventsHandler {
        sink: CapturedSink::default(),
    };
    let report = redrive(&s3, &handler, &options).await.unwrap();
    assert_eq!(report.deleted, 1, "{}", report.summary());
    assert_eq!(report.records, batch.records.len() - 1);
    assert_eq!(
        handler.sink.events(),
        expected,
        "the same events, the same ids"
    );
    assert_eq!(
        report
            .left
            .iter()
            .map(|(k, _)| k.clone())
            .collect::<Vec<_>>(),
        [key(2)]
    );
    assert!(report.left[0].1.contains("no payload"));
    let mut left = keys(&s3, &bucket).await;
    left.sort();
    assert_eq!(left, [key(2), "elsewhere/x".to_owned()]);

    // A dry run reads and counts, sends and deletes nothing.
    put(key(3), failure_object(&batch, 1)).await.unwrap();
    let dry = EventsHandler {
        sink: CapturedSink::default(),
    };
    let report = redrive(
        &s3,
        &dry,
        &Options {
            dry_run: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (report.records, report.sent, report.deleted),
        (batch.records.len() - 1, 0, 0)
    );
    assert!(dry.sink.events().is_empty());
    assert_eq!(keys(&s3, &bucket).await.len(), 3);
}
