//! Lifecycle events and expiry reminders, locally: the `events` function follows the
//! table's stream and the `reminders` job runs every minute (and on demand, with
//! `POST /local/reminders`, at the development clock's time). Instead of going to
//! EventBridge, each event is appended as one JSON line to `infra/.local/events.jsonl`
//! and printed in the stack's log.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use patgate::directory::Directory;
use patgate::events::{EventSink, FileSink, LifecycleEvent};
use patgate::metrics::Metrics;
use patgate::store::{StoreError, TokenStore};
use reminders::{ReminderJob, RunReport};

use crate::streams::{self, StreamReader};

/// How often the local stack runs the reminder job by itself.
pub const REMINDER_INTERVAL: Duration = Duration::from_secs(60);

/// The file sink, echoing each event to the log.
#[derive(Debug, Clone)]
pub struct LoggedSink {
    file: FileSink,
    quiet: bool,
}

impl LoggedSink {
    pub fn new(path: PathBuf, quiet: bool) -> Self {
        LoggedSink {
            file: FileSink { path },
            quiet,
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.file.path
    }
}

impl EventSink for LoggedSink {
    async fn publish(&self, events: &[LifecycleEvent]) -> Vec<Result<(), String>> {
        if !self.quiet {
            for event in events {
                println!("event {}", FileSink::line(event));
            }
        }
        self.file.publish(events).await
    }
}

/// The events function and the reminder job, as the local stack runs them.
pub struct Lifecycle {
    pub sink: LoggedSink,
    job: ReminderJob<LoggedSink>,
}

impl Lifecycle {
    pub fn new(store: TokenStore, sink: LoggedSink) -> Self {
        Lifecycle {
            job: ReminderJob::new(store, sink.clone(), Metrics::Off),
            sink,
        }
    }

    /// One run of the reminder job at `now`.
    pub async fn run_reminders(&self, now: DateTime<Utc>) -> Result<RunReport, StoreError> {
        self.job.run(now).await
    }

    /// Follows the stream of `table` from now on, handing each batch to the events
    /// function, until the task is dropped.
    pub async fn follow_stream(
        self: Arc<Self>,
        endpoint: String,
        table: String,
        directory: Directory,
        ttl: Arc<crate::ttl::TtlSweeper>,
    ) {
        let dynamodb = patgate::store::connect_local(&endpoint);
        let reader = StreamReader::open(&dynamodb, streams::client(&endpoint), &table, false).await;
        let mut reader = match reader {
            Ok(reader) => reader,
            Err(err) => {
                eprintln!("patgate-local: no lifecycle events: {err} (a table created before streams were on? start with --in-memory or delete infra/.local/dynamodb)");
                return;
            }
        };
        loop {
            match reader.next_batch().await {
                Ok(mut batch) if !batch.records.is_empty() => {
                    ttl.mark(&mut batch);
                    // The two stream consumers, as their event source mappings would
                    // call them: the repair (and cache flush) first, then events.
                    let repaired = revocations::handle(
                        &directory,
                        &revocations::NoFlush,
                        batch.clone(),
                        Utc::now(),
                    )
                    .await;
                    if !repaired.batch_item_failures.is_empty() {
                        eprintln!(
                            "patgate-local: {} stream records failed in the revocations function",
                            repaired.batch_item_failures.len()
                        );
                    }
                    let response = events::handle_with_inventory(
                        directory.store(),
                        &self.sink,
                        &Metrics::Off,
                        batch,
                        Utc::now(),
                    )
                    .await;
                    if !response.batch_item_failures.is_empty() {
                        eprintln!(
                            "patgate-local: {} stream records failed in the events function",
                            response.batch_item_failures.len()
                        );
                    }
                }
                Ok(_) => tokio::time::sleep(streams::POLL_INTERVAL).await,
                Err(err) => {
                    eprintln!("patgate-local: reading the stream: {err}");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }
}
