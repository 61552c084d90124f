//! Lifecycle throughput against DynamoDB Local:
//! - events: how many stream records per second one `events` function instance turns
//!   into published events (records read from the table's real stream; the sink keeps
//!   them in memory, so this is the function's own throughput, not EventBridge's);
//! - reminders: how long the reminder job takes for a day of reminders, N tokens
//!   (default 100,000) spread over the 24 UTC hours of one day, in one run at the end
//!   of that day.
//!
//! Run: `bash infra/scripts/bench-lifecycle.sh [TOKENS]` (starts DynamoDB Local), or
//! with one running: `PATGATE_TEST_DYNAMODB=http://127.0.0.1:8000 cargo bench -p
//! patgate-tests --bench lifecycle_throughput -- [TOKENS]`.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use patgate::expiry::Expiry;
use patgate::metrics::Metrics;
use patgate::store::items;
use patgate::store::{Reminder, ReminderKey};
use patgate::token::TokenId;
use patgate::user::UserId;
use patgate_local::streams::{self, StreamReader};
use patgate_tests::*;
use reminders::ReminderJob;
use serde_json::json;

const EVENT_TOKENS: usize = 2000;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::main]
async fn main() {
    let reminder_tokens: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    events_per_second().await;
    day_of_reminders(reminder_tokens).await;
}

async fn events_per_second() {
    let app = TestApp::with(&[
        ("MAX_TOKENS_PER_USER", "10000"),
        ("EXPIRY_REMINDER_DAYS", ""),
    ])
    .await;
    let user = app.user("bench", &["User"], None).await;
    let started = Instant::now();
    for i in 0..EVENT_TOKENS {
        app.issue_with(&user, json!({"name": format!("t{i}")}))
            .await;
    }
    let created = started.elapsed();
    let mut stream = StreamReader::open(
        &app.table.client,
        streams::client(&endpoint()),
        app.table.name(),
        true,
    )
    .await
    .unwrap();
    // Every create writes 4 items (slots, token, hash, reminder): read them all first.
    let all = stream
        .collect(EVENT_TOKENS * 4 + 10, Duration::from_secs(120))
        .await
        .unwrap();
    let records = all.records.len();
    let sink = CapturedSink::default();
    let started = Instant::now();
    for chunk in all.records.chunks(100) {
        let mut batch = aws_lambda_events::dynamodb::Event::default();
        batch.records = chunk.to_vec();
        let response = events::handle(&sink, &Metrics::Off, batch, Utc::now()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let handled = started.elapsed();
    let published = sink.events().len();
    assert_eq!(published, EVENT_TOKENS, "one token.created per token");
    println!(
        "events function ({EVENT_TOKENS} tokens created in {:.1} s through the token API)",
        created.as_secs_f64()
    );
    println!(
        "  {records} stream records in batches of 100 -> {published} events in {:.3} s: {:.0} records/s, {:.0} events/s",
        handled.as_secs_f64(),
        records as f64 / handled.as_secs_f64(),
        published as f64 / handled.as_secs_f64()
    );
}

async fn day_of_reminders(tokens: usize) {
    let table = TestTable::new().await;
    let day = utc("2027-04-01T00:00:00Z");
    let expiry = Expiry {
        expires_on: day.date_naive(),
        time_zone: chrono_tz::UTC,
        expires_at: day + chrono::Duration::days(1),
    };
    let user = UserId::parse("bench").unwrap();
    // The reminders of one day, written directly (25 per BatchWriteItem): N tokens,
    // their due times spread over the day's 24 hours.
    let started = Instant::now();
    let mut pending = Vec::new();
    let mut batches = Vec::new();
    for i in 0..tokens {
        let due_at = day + chrono::Duration::seconds((i as i64 * 86_400) / tokens as i64);
        let reminder = Reminder {
            key: ReminderKey {
                hour: patgate::reminders::hour_key(due_at),
                token_id: TokenId::generate(1_800_000_000_000 + i as u64).unwrap(),
                days_left: 1,
            },
            user_id: user.clone(),
            name: format!("t{i}"),
            hint: "pgt_…abcd".into(),
            due_at,
            expiry: expiry.clone(),
        };
        pending.push(
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(items::reminder_to_item(&reminder).unwrap()))
                        .build()
                        .unwrap(),
                )
                .build(),
        );
        if pending.len() == 25 || i + 1 == tokens {
            batches.push(std::mem::take(&mut pending));
        }
    }
    for group in batches.chunks(4) {
        futures::future::join_all(group.iter().map(|batch| write_all(&table, batch.clone()))).await;
    }
    let written = started.elapsed();
    let sink = CapturedSink::default();
    let job = ReminderJob::new(table.store.clone(), sink.clone(), Metrics::Off);
    // Just after the day, when every one of its reminders is due. A run stops at its
    // time budget, so runs follow one another (as the schedule would run them) until
    // the day is done.
    let at = day + chrono::Duration::days(1) + chrono::Duration::minutes(1);
    let started = Instant::now();
    let (mut sent, mut runs, mut hours) = (0, 0, 0);
    while sent < tokens {
        let report = job.run(at).await.unwrap();
        assert!(
            report.sent > 0 || !report.incomplete,
            "a run made no progress"
        );
        sent += report.sent;
        hours += report.hours_read;
        runs += 1;
        if !report.incomplete && report.sent == 0 {
            break;
        }
    }
    let took = started.elapsed();
    assert_eq!(sent, tokens);
    assert_eq!(sink.events().len(), tokens, "each reminder sent once");
    println!(
        "reminder job ({tokens} reminders over one day, written in {:.1} s)",
        written.as_secs_f64()
    );
    println!(
        "  {sent} sent in {:.1} s ({:.0} reminders/s) by {runs} runs of at most {} s, {hours} hour partitions read",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64(),
        reminders::RUN_BUDGET.as_secs()
    );
}

async fn write_all(table: &TestTable, mut requests: Vec<WriteRequest>) {
    while !requests.is_empty() {
        let output = match table
            .client
            .batch_write_item()
            .request_items(table.name(), requests.clone())
            .send()
            .await
        {
            Ok(output) => output,
            // DynamoDB Local under load: try the same batch again.
            Err(_) => continue,
        };
        requests = output
            .unprocessed_items
            .and_then(|mut u| u.remove(table.name()))
            .unwrap_or_default();
    }
}
