//! Lifecycle events: the table's real stream (DynamoDB Local implements DynamoDB
//! Streams) through the `events` function, and the EventBridge publisher against a
//! real EventBridge API (moto's server, when the test command started one).

use std::time::Duration;

use aws_lambda_events::dynamodb::Event;
use chrono::Utc;
use patgate::events::LifecycleEvent;
use patgate::metrics::Metrics;
use patgate::store::TokenRecord;
use patgate::token::{TokenId, TokenPrefix, TokenSecret};
use patgate::user::UserId;
use patgate_local::streams::{self, StreamReader};
use patgate_tests::*;
use serde_json::{json, Value};

async fn reader(table: &TestTable) -> StreamReader {
    let endpoint = endpoint();
    StreamReader::open(
        &table.client,
        streams::client(&endpoint),
        table.name(),
        true,
    )
    .await
    .expect("the table has a stream")
}

fn types(events: &[LifecycleEvent]) -> Vec<&'static str> {
    events.iter().map(|e| e.detail_type).collect()
}

#[tokio::test]
async fn every_change_of_a_token_becomes_one_event_without_its_secret() {
    let app = TestApp::new().await;
    let kim = app.user("kim", &["User"], None).await;
    let issued = app.issue_with(&kim, json!({"name": "deploy"})).await;
    let rotated = app
        .rotate(&kim, &issued.id, json!({"graceSeconds": 60}))
        .await;
    assert_eq!(rotated.status, 201);
    let new_secret = rotated.body["token"].as_str().unwrap().to_owned();
    // A use (last-use write) means no event.
    let authorizer = app.authorizer();
    app.authorize(&authorizer, &new_secret, "GET", "/catalog", Utc::now())
        .await
        .unwrap();
    let leaked = app.issue_with(&kim, json!({"name": "leaky"})).await;
    app.report(&json!({"credentials": [leaked.token]}).to_string())
        .await;
    assert_eq!(app.revoke(&kim, &issued.id).await.status, 204);
    let offboarded = app.issue_with(&kim, json!({"name": "last"})).await;
    app.service
        .revoke_all_tokens(&UserId::parse("kim").unwrap(), Utc::now())
        .await
        .unwrap();

    let mut stream = reader(&app.table).await;
    let batch = stream.collect(60, Duration::from_secs(10)).await.unwrap();
    let sink = CapturedSink::default();
    let response = events::handle(&sink, &Metrics::Off, batch, Utc::now()).await;
    assert!(response.batch_item_failures.is_empty());
    let published = sink.events();
    assert_eq!(
        types(&published),
        [
            "token.created",
            "token.rotated",
            "token.created",
            "token.revoked",
            "token.revoked",
            "token.created",
            "token.revoked",
        ]
    );
    let reasons: Vec<Option<&str>> = published
        .iter()
        .filter(|e| e.detail_type == "token.revoked")
        .map(|e| e.reason)
        .collect();
    assert_eq!(reasons, [Some("leaked"), Some("user"), Some("offboarded")]);
    let ids: Vec<&str> = published.iter().map(|e| e.token_id.as_str()).collect();
    assert_eq!(ids[0], issued.id);
    assert_eq!(ids[2], leaked.id);
    assert_eq!(ids[5], offboarded.id);
    let text = serde_json::to_string(
        &published
            .iter()
            .map(|e| e.detail_json())
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for secret in [&issued.token, &new_secret, &leaked.token] {
        assert!(!text.contains(secret.as_str()));
        assert!(!text.contains(patgate::token::TokenHash::of(secret).as_str()));
    }
    // Ids derive from the stream records: the same record gives the same event id.
    let unique: std::collections::BTreeSet<&str> =
        published.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(unique.len(), published.len());
    let first: Value = serde_json::from_str(&published[0].detail_json()).unwrap();
    for field in [
        "eventId",
        "userId",
        "tokenId",
        "name",
        "hint",
        "expiresAt",
        "timeZone",
    ] {
        assert!(first[field].is_string(), "{field} in {first}");
    }
}

/// Two rotations within the same second (`rotatedAt` has one-second resolution) are
/// two changes: two `token.rotated` events, told apart by `secretVersion` and with
/// different event ids, and the secret versions on the token and hash items agree.
#[tokio::test]
async fn two_rotations_in_one_second_are_two_rotated_events() {
    let app = TestApp::new().await;
    let noa = app.user("noa", &["User"], None).await;
    let issued = app.issue(&noa).await;
    let second = chrono::DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let first = app.rotate_at(&noa, &issued.id, json!({}), second).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let again = app
        .rotate_at(
            &noa,
            &issued.id,
            json!({}),
            second + chrono::Duration::milliseconds(400),
        )
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(first.body["rotatedAt"], again.body["rotatedAt"]);

    let stored = app
        .table
        .item("TOKENS#noa", &format!("TOKEN#{}", issued.id))
        .await
        .unwrap();
    assert_eq!(stored["secret_version"].as_n().unwrap(), "3");
    let secret = again.body["token"].as_str().unwrap();
    let hash = app
        .table
        .item(
            &format!("HASH#{}", patgate::token::TokenHash::of(secret).as_str()),
            "HASH",
        )
        .await
        .unwrap();
    assert_eq!(hash["secret_version"].as_n().unwrap(), "3");

    let mut stream = reader(&app.table).await;
    let batch = stream.collect(30, Duration::from_secs(10)).await.unwrap();
    let sink = CapturedSink::default();
    let response = events::handle(&sink, &Metrics::Off, batch, Utc::now()).await;
    assert!(response.batch_item_failures.is_empty());
    let rotations: Vec<LifecycleEvent> = sink
        .events()
        .into_iter()
        .filter(|e| e.detail_type == "token.rotated")
        .collect();
    let versions: Vec<Option<u64>> = rotations.iter().map(|e| e.secret_version).collect();
    assert_eq!(versions, [Some(2), Some(3)]);
    assert_ne!(rotations[0].event_id, rotations[1].event_id);
    let detail: Value = serde_json::from_str(&rotations[1].detail_json()).unwrap();
    assert_eq!(detail["secretVersion"], 3);
}

#[tokio::test]
async fn a_failed_publication_reports_its_record_for_a_retry() {
    let app = TestApp::new().await;
    let lou = app.user("lou", &["User"], None).await;
    let issued = app.issue(&lou).await;
    assert_eq!(app.revoke(&lou, &issued.id).await.status, 204);
    let mut stream = reader(&app.table).await;
    let batch = stream.collect(30, Duration::from_secs(10)).await.unwrap();
    let revoke_record = batch
        .records
        .iter()
        .find(|r| {
            r.event_name == "INSERT"
                && serde_json::to_string(&r.change.keys)
                    .unwrap()
                    .contains("REVOKED#")
        })
        .expect("the revoked record's insert")
        .change
        .sequence_number
        .clone();
    let sink = CapturedSink {
        failing: vec!["token.revoked"],
        ..CapturedSink::default()
    };
    let response = events::handle(&sink, &Metrics::Off, batch, Utc::now()).await;
    let failed: Vec<Option<String>> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, [revoke_record], "only the failed record is retried");
    assert_eq!(types(&sink.events()), ["token.created"]);
}

#[tokio::test]
async fn a_malformed_token_image_fails_its_record_instead_of_vanishing() {
    let record = json!({
        "eventID": "bad-1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1795600000.0,
            "Keys": {"pk": {"S": "TOKENS#x"}, "sk": {"S": "TOKEN#01M8C8SWC9YJ4VA4EJWSWCW1QA"}},
            "NewImage": {"pk": {"S": "TOKENS#x"}, "sk": {"S": "TOKEN#01M8C8SWC9YJ4VA4EJWSWCW1QA"}},
            "SequenceNumber": "42",
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    });
    let batch: Event = serde_json::from_value(json!({ "Records": [record] })).unwrap();
    let response = events::handle(&CapturedSink::default(), &Metrics::Off, batch, Utc::now()).await;
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some("42")
    );
}

/// DynamoDB Local's TTL deletions reach the events function the way the cloud's do
/// (see `patgate_local::streams::lambda_record`).
#[tokio::test]
async fn a_token_deleted_by_ttl_becomes_an_expired_event() {
    let dynamodb = private_dynamodb().await;
    let table = TestTable::without_indexes(&dynamodb.endpoint()).await;
    let id = table.add_user("max", &["User"], None).await;
    let owner = table.store.get_user(&id).await.unwrap().unwrap();
    let secret = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    let now = Utc::now();
    let expires_at = now + chrono::Duration::seconds(1);
    let record = TokenRecord {
        id: TokenId::generate(now.timestamp_millis() as u64).unwrap(),
        user_id: id.clone(),
        name: "short-lived".into(),
        description: None,
        hash: secret.hash(),
        hint: secret.hint(),
        created_at: now,
        expiry: patgate::expiry::Expiry {
            expires_on: expires_at.date_naive(),
            time_zone: chrono_tz::UTC,
            expires_at,
        },
        permissions: None,
        rotated_at: None,
        previous_hash: None,
        reminders: Vec::new(),
        last_use: None,
        secret_reused_at: None,
        secret_version: 1,
        owner_kind: Default::default(),
        permissions_lost: Default::default(),
        created_by: None,
    };
    table
        .store
        .create_token(&record, &[], 10, &owner)
        .await
        .unwrap();
    let mut stream = StreamReader::open(
        &table.client,
        streams::client(&dynamodb.endpoint()),
        table.name(),
        true,
    )
    .await
    .unwrap();
    // DynamoDB Local deletes expired items within seconds (the cloud may take days).
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let sink = CapturedSink::default();
    while !types(&sink.events()).contains(&"token.expired") {
        assert!(
            std::time::Instant::now() < deadline,
            "no expiry event: {:?}",
            types(&sink.events())
        );
        let batch = stream.next_batch().await.unwrap();
        events::handle(&sink, &Metrics::Off, batch, Utc::now()).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let expired = sink
        .events()
        .into_iter()
        .find(|e| e.detail_type == "token.expired")
        .unwrap();
    assert_eq!(expired.token_id, record.id.as_str());
    assert_eq!(expired.name, "short-lived");
}

/// The EventBridge API the publisher is tested against: moto's server, which the
/// test command starts (`PATGATE_TEST_EVENTBRIDGE`, default `http://127.0.0.1:5000`).
fn eventbridge_endpoint() -> String {
    std::env::var("PATGATE_TEST_EVENTBRIDGE").unwrap_or_else(|_| "http://127.0.0.1:5000".to_owned())
}

async fn moto_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .http_client(patgate::sdk_config::https_client())
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

#[tokio::test]
async fn the_publisher_delivers_to_eventbridge_rules_in_batches_of_ten() {
    let endpoint = eventbridge_endpoint();
    let config = moto_config(&endpoint).await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let suffix = format!("{:08x}", rand::random::<u32>());
    let bus = format!("patgate-test-{suffix}");
    if let Err(err) = eventbridge.create_event_bus().name(&bus).send().await {
        panic!(
            "no EventBridge API at {endpoint} ({err:?}); run the test command, which starts moto's server"
        );
    }
    let queue_url = sqs
        .create_queue()
        .queue_name(format!("patgate-events-{suffix}"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    eventbridge
        .put_rule()
        .name("patgate-token-events")
        .event_bus_name(&bus)
        .event_pattern(r#"{"source":["patgate.token"]}"#)
        .send()
        .await
        .unwrap();
    eventbridge
        .put_targets()
        .rule("patgate-token-events")
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    // Twelve real events: two PutEvents calls.
    let app = TestApp::new().await;
    let neo = app.user("neo", &["User"], None).await;
    for i in 0..12 {
        app.issue_with(&neo, json!({"name": format!("t{i}")})).await;
    }
    let mut stream = reader(&app.table).await;
    let batch = stream.collect(60, Duration::from_secs(10)).await.unwrap();
    let sink = patgate::events::eventbridge::EventBridgeSink::new(eventbridge, &bus);
    let response = events::handle(&sink, &Metrics::Off, batch, Utc::now()).await;
    assert!(response.batch_item_failures.is_empty());

    let mut received: Vec<Value> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while received.len() < 12 && std::time::Instant::now() < deadline {
        let messages = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        for message in messages {
            received.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(&queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(received.len(), 12, "{received:?}");
    let mut names: Vec<String> = received
        .iter()
        .map(|event| {
            assert_eq!(event["source"], "patgate.token");
            assert_eq!(event["detail-type"], "token.created");
            assert_eq!(event["detail"]["userId"], "neo");
            event["detail"]["name"].as_str().unwrap().to_owned()
        })
        .collect();
    names.sort_by_key(|n| n[1..].parse::<u32>().unwrap());
    assert_eq!(names, (0..12).map(|i| format!("t{i}")).collect::<Vec<_>>());
}
