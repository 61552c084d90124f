//! The reminder job: every run publishes the `token.expiring` events that have
//! fallen due, reading only the reminder partitions of the UTC hours it has not done
//! yet (no Scan).
//!
//! A run reads the checkpoint (the last hour fully done), then each hour after it up
//! to the current one (at most [`MAX_CATCH_UP_HOURS`] back, so a job that was off
//! for weeks does not flood anyone). For each reminder due by now it claims the item
//! (a conditional write, so overlapping runs never both send it), publishes the
//! event, then deletes the item if it still holds the claim. A run that dies after
//! claiming leaves a claim that expires after [`CLAIM_LEASE`], and a later run sends
//! the reminder. An hour is done once it is over and every due reminder in it was
//! sent or found gone; one still held by another run's claim keeps the hour (and so
//! the checkpoint) open, because that run may have died: a later run reads the hour
//! again and sends the reminder once the claim has expired. The checkpoint only moves
//! over consecutive done hours, so it never passes an hour that still holds a reminder. Reminders are worked on 25 at a time, their DynamoDB calls in
//! flight together; a run stops starting work after [`RUN_BUDGET`] (well within the
//! function's timeout) and the next run goes on from the checkpoint.
#![forbid(unsafe_code)]

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use patgate::events::{expiring, EventSink};
use patgate::metrics::{Metrics, Unit};
use patgate::reminders::{hour_key, hour_start};
use patgate::store::{Claim, Reminder, StoreError, TokenStore};
use serde::Serialize;

/// How far back a run looks when the checkpoint is older (or missing).
pub const MAX_CATCH_UP_HOURS: i64 = 48;

/// How long a claim keeps other runs off a reminder.
pub const CLAIM_LEASE: Duration = Duration::minutes(5);

/// Reminders worked on at once: claimed together, published in PutEvents calls of 10
/// (its limit), completed together.
const BATCH: usize = 25;

/// How long a run keeps starting new work, so that it ends well within the
/// function's timeout; what is left is done by the next run.
pub const RUN_BUDGET: std::time::Duration = std::time::Duration::from_secs(240);

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub hours_read: usize,
    pub sent: usize,
    /// Due reminders that were gone by the time of the claim (sent, or revoked).
    pub skipped: usize,
    /// Due reminders held by another run's unexpired claim: their hour stays open, and
    /// a later run sends them if that run never does.
    pub held: usize,
    pub failed: usize,
    pub checkpoint: Option<String>,
    /// The run stopped at its time budget; the next run goes on from the checkpoint.
    pub incomplete: bool,
}

pub struct ReminderJob<S> {
    store: TokenStore,
    sink: S,
    metrics: Metrics,
}

impl<S: EventSink> ReminderJob<S> {
    pub fn new(store: TokenStore, sink: S, metrics: Metrics) -> Self {
        ReminderJob {
            store,
            sink,
            metrics,
        }
    }

    /// [`ReminderJob::run`], counting a run the store stopped as
    /// `ReminderStoreFailures` (its alarm; the next run picks up where it stopped).
    pub async fn run_counted(&self, now: DateTime<Utc>) -> Result<RunReport, StoreError> {
        let result = self.run(now).await;
        if let Err(err) = &result {
            tracing::error!(error = %err, "reminder run stopped by the store");
            self.metrics
                .count("ReminderStoreFailures", &[], now.timestamp_millis());
        }
        result
    }

    /// One run at `now`.
    pub async fn run(&self, now: DateTime<Utc>) -> Result<RunReport, StoreError> {
        let run_id = format!("{:016x}", rand::random::<u64>());
        let current = hour_start(now);
        let earliest = current - Duration::hours(MAX_CATCH_UP_HOURS);
        let mut hour = match self.store.reminder_checkpoint().await? {
            Some(done) => parse_hour(&done)
                .map(|h| h + Duration::hours(1))
                .unwrap_or(earliest)
                .max(earliest),
            None => earliest,
        };
        let mut report = RunReport::default();
        let started = std::time::Instant::now();
        // Once an hour is not done, no later hour moves the checkpoint in this run.
        let mut open_hour_seen = false;
        while hour <= current {
            if started.elapsed() > RUN_BUDGET {
                report.incomplete = true;
                break;
            }
            let key = hour_key(hour);
            let due: Vec<Reminder> = self
                .store
                .reminders_in_hour(&key)
                .await?
                .into_iter()
                .filter(|r| r.due_at <= now)
                .collect();
            report.hours_read += 1;
            let hour_done = self.send(&due, &run_id, now, started, &mut report).await?;
            // An hour is done once it is over and every reminder due in it is out.
            if hour_done && !open_hour_seen && hour + Duration::hours(1) <= now {
                self.store.advance_reminder_checkpoint(&key).await?;
                report.checkpoint = Some(key);
            } else {
                open_hour_seen = true;
            }
            hour += Duration::hours(1);
        }
        tracing::info!(
            hours_read = report.hours_read,
            sent = report.sent,
            skipped = report.skipped,
            held = report.held,
            failed = report.failed,
            "reminder run"
        );
        self.metrics.emit(
            &[],
            &[
                ("RemindersSent", Unit::Count, report.sent as f64),
                ("RemindersFailed", Unit::Count, report.failed as f64),
            ],
            now.timestamp_millis(),
        );
        Ok(report)
    }

    /// Claims, publishes and completes `due`, a batch at a time with the DynamoDB
    /// calls of a batch in flight together; returns whether all of them are out (sent
    /// now, or gone), so that none is left in the hour.
    async fn send(
        &self,
        due: &[Reminder],
        run_id: &str,
        now: DateTime<Utc>,
        started: std::time::Instant,
        report: &mut RunReport,
    ) -> Result<bool, StoreError> {
        let mut all_sent = true;
        for batch in due.chunks(BATCH) {
            if started.elapsed() > RUN_BUDGET {
                report.incomplete = true;
                return Ok(false);
            }
            let claims = join_all(batch.iter().map(|reminder| {
                self.store
                    .claim_reminder(&reminder.key, run_id, now, now + CLAIM_LEASE)
            }))
            .await;
            let mut claimed = Vec::new();
            for (reminder, claim) in batch.iter().zip(claims) {
                match claim? {
                    Claim::Claimed => claimed.push(reminder),
                    Claim::Gone => report.skipped += 1,
                    Claim::Held => {
                        report.held += 1;
                        all_sent = false;
                    }
                }
            }
            let events: Vec<_> = claimed.iter().map(|r| expiring(r, now)).collect();
            let outcomes = join_all(events.chunks(10).map(|chunk| self.sink.publish(chunk))).await;
            let mut published = Vec::new();
            for (reminder, outcome) in claimed.iter().zip(outcomes.into_iter().flatten()) {
                match outcome {
                    Ok(()) => published.push(*reminder),
                    Err(err) => {
                        tracing::error!(token_id = %reminder.key.token_id, error = %err, "reminder not published; retried after its claim expires");
                        report.failed += 1;
                        all_sent = false;
                    }
                }
            }
            let completions = join_all(
                published
                    .iter()
                    .map(|reminder| self.store.complete_reminder(&reminder.key, run_id)),
            )
            .await;
            for completion in completions {
                completion?;
                report.sent += 1;
            }
        }
        Ok(all_sent)
    }
}

fn parse_hour(key: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(&format!("{key}:00:00"), "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_keys_parse_back() {
        let at = DateTime::parse_from_rfc3339("2027-01-08T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_hour(&hour_key(at)), Some(at));
        assert_eq!(parse_hour("garbage"), None);
    }
}
