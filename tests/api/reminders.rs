//! Expiry reminders: written with the token, sent by the reminder job at 09:00 in
//! the token's zone, once, and never for a revoked token; only key reads.

use chrono::{DateTime, Utc};
use patgate::metrics::Metrics;
use patgate::store::TokenStore;
use patgate_tests::proxy::DynamoProxy;
use patgate_tests::*;
use reminders::ReminderJob;
use serde_json::json;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn job(app: &TestApp, sink: &CapturedSink) -> ReminderJob<CapturedSink> {
    ReminderJob::new(app.table.store.clone(), sink.clone(), Metrics::Off)
}

/// `(daysLeft, tokenId)` of what the sink got, in order.
fn sent(sink: &CapturedSink) -> Vec<(u32, String)> {
    sink.events()
        .iter()
        .map(|e| {
            assert_eq!(e.detail_type, "token.expiring");
            (e.days_left.unwrap(), e.token_id.clone())
        })
        .collect()
}

#[tokio::test]
async fn reminders_go_out_at_nine_in_the_tokens_zone_across_a_dst_change() {
    let app = TestApp::new().await;
    let ola = app.user("ola", &["User"], None).await;
    // Paris moves to summer time on 2027-03-28: the 7-day reminder (03-23) is at
    // 08:00 UTC, the 1-day and last-day ones (03-29, 03-30) at 07:00 UTC.
    let token = app
        .issue_with(
            &ola,
            json!({"expiresOn": "2027-03-30", "timeZone": "Europe/Paris"}),
        )
        .await;
    let sink = CapturedSink::default();
    let job = job(&app, &sink);
    for (at, expected) in [
        ("2027-03-23T07:59:00Z", vec![]),
        ("2027-03-23T08:00:00Z", vec![7]),
        ("2027-03-29T06:59:59Z", vec![7]),
        ("2027-03-29T07:00:00Z", vec![7, 1]),
        ("2027-03-30T07:00:30Z", vec![7, 1, 0]),
    ] {
        job.run(utc(at)).await.unwrap();
        let days: Vec<u32> = sent(&sink).into_iter().map(|(d, _)| d).collect();
        assert_eq!(days, expected, "at {at}");
    }
    let last = sink.events().pop().unwrap();
    assert_eq!(last.token_id, token.id);
    assert_eq!(last.time_zone, "Europe/Paris");
    assert_eq!(last.expires_at, "2027-03-30T22:00:00Z");
    let detail: serde_json::Value = serde_json::from_str(&last.detail_json()).unwrap();
    assert_eq!(detail["daysLeft"], 0);
    assert_eq!(detail["expiresAt"], "2027-03-30T22:00:00Z");
    assert!(!last.detail_json().contains(&token.token));
}

#[tokio::test]
async fn quarter_and_half_hour_zones_get_theirs_inside_the_utc_hour() {
    // The last-day reminders only.
    let app = TestApp::with(&[("EXPIRY_REMINDER_DAYS", "")]).await;
    let pia = app.user("pia", &["User"], None).await;
    app.issue_with(
        &pia,
        json!({"expiresOn": "2027-06-30", "timeZone": "Asia/Kathmandu"}),
    )
    .await;
    app.issue_with(
        &pia,
        json!({"expiresOn": "2027-06-30", "timeZone": "Asia/Kolkata"}),
    )
    .await;
    let sink = CapturedSink::default();
    let job = job(&app, &sink);
    // 09:00 in Kathmandu (+05:45) is 03:15 UTC, in Kolkata (+05:30) 03:30 UTC.
    job.run(utc("2027-06-30T03:14:00Z")).await.unwrap();
    assert!(sent(&sink).is_empty());
    job.run(utc("2027-06-30T03:15:00Z")).await.unwrap();
    let zones: Vec<String> = sink.events().iter().map(|e| e.time_zone.clone()).collect();
    assert_eq!(zones, ["Asia/Kathmandu"]);
    job.run(utc("2027-06-30T03:30:00Z")).await.unwrap();
    let zones: Vec<String> = sink.events().iter().map(|e| e.time_zone.clone()).collect();
    assert_eq!(zones, ["Asia/Kathmandu", "Asia/Kolkata"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reruns_and_overlapping_runs_never_send_twice() {
    let app = TestApp::new().await;
    let quin = app.user("quin", &["User"], None).await;
    for day in ["2027-02-10", "2027-02-11", "2027-02-12"] {
        app.issue_with(&quin, json!({"expiresOn": day, "timeZone": "UTC"}))
            .await;
    }
    let sink = CapturedSink::default();
    // The run looks back 48 hours: from 2027-02-10T09:00 on.
    let at = utc("2027-02-12T09:00:00Z");
    // Four overlapping runs (their DynamoDB calls interleave), then a rerun.
    let jobs: Vec<_> = (0..4).map(|_| job(&app, &sink)).collect();
    let (a, b, c, d) = tokio::join!(
        jobs[0].run(at),
        jobs[1].run(at),
        jobs[2].run(at),
        jobs[3].run(at)
    );
    let reports = [a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()];
    let rerun = job(&app, &sink).run(at).await.unwrap();
    assert_eq!(rerun.sent, 0);
    let mut ids: Vec<String> = sink.events().iter().map(|e| e.event_id.clone()).collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "no reminder went out twice");
    // 02-10: last day; 02-11: 1 day + last day; 02-12: 1 day + last day (the 7-day
    // ones fell before the window).
    assert_eq!(total, 5);
    assert_eq!(reports.iter().map(|r| r.sent).sum::<usize>(), 5);
    // What is left fell before the window (TTL removes it with its token); every
    // reminder sent is deleted.
    let window_start = "REMIND#2027-02-10T09";
    let left: Vec<String> = app
        .table
        .all_items()
        .await
        .iter()
        .map(|i| crate::attr_s(i, "pk").to_owned())
        .filter(|pk| pk.starts_with("REMIND#"))
        .collect();
    assert_eq!(left.len(), 4, "{left:?}");
    assert!(left.iter().all(|pk| pk.as_str() < window_start), "{left:?}");
}

async fn remaining_reminders(app: &TestApp) -> usize {
    app.table
        .all_items()
        .await
        .iter()
        .filter(|i| crate::attr_s(i, "pk").starts_with("REMIND#"))
        .count()
}

#[tokio::test]
async fn revoking_a_token_cancels_its_reminders() {
    let app = TestApp::new().await;
    let rex = app.user("rex", &["User"], None).await;
    let token = app
        .issue_with(&rex, json!({"expiresOn": "2027-01-20", "timeZone": "UTC"}))
        .await;
    assert_eq!(remaining_reminders(&app).await, 3);
    assert_eq!(app.revoke(&rex, &token.id).await.status, 204);
    assert_eq!(remaining_reminders(&app).await, 0);
    let sink = CapturedSink::default();
    job(&app, &sink)
        .run(utc("2027-01-20T10:00:00Z"))
        .await
        .unwrap();
    assert!(sent(&sink).is_empty());
}

#[tokio::test]
async fn a_missed_hour_is_caught_up_and_the_checkpoint_moves_on() {
    let app = TestApp::with(&[("EXPIRY_REMINDER_DAYS", "1")]).await;
    let sue = app.user("sue", &["User"], None).await;
    app.issue_with(&sue, json!({"expiresOn": "2027-05-05", "timeZone": "UTC"}))
        .await;
    let sink = CapturedSink::default();
    let job = job(&app, &sink);
    job.run(utc("2027-05-04T08:30:00Z")).await.unwrap();
    assert!(sent(&sink).is_empty());
    // The runs of 09:00 to 11:00 never happened.
    let report = job.run(utc("2027-05-04T12:05:00Z")).await.unwrap();
    assert_eq!(sent(&sink).len(), 1, "the 09:00 reminder, three hours late");
    assert_eq!(
        report.hours_read, 5,
        "08 to 12: only the hours not done yet"
    );
    assert_eq!(report.checkpoint.as_deref(), Some("2027-05-04T11"));
    assert_eq!(
        app.table
            .store
            .reminder_checkpoint()
            .await
            .unwrap()
            .as_deref(),
        Some("2027-05-04T11")
    );
    let next = job.run(utc("2027-05-04T12:20:00Z")).await.unwrap();
    assert_eq!(next.hours_read, 1);
}

#[tokio::test]
async fn the_reminder_job_reads_by_key_only() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let proxied = TestTable {
        client: client(&proxy.endpoint),
        store: TokenStore::new(client(&proxy.endpoint), table.name()),
    };
    let app = TestApp::on(proxied, &[]);
    let tom = app.user("tom", &["User"], None).await;
    app.issue_with(&tom, json!({"expiresOn": "2027-03-03", "timeZone": "UTC"}))
        .await;
    proxy.reset_usage();
    let sink = CapturedSink::default();
    job(&app, &sink)
        .run(utc("2027-03-03T09:30:00Z"))
        .await
        .unwrap();
    assert_eq!(sent(&sink).len(), 2, "the 1-day and last-day reminders");
    let usage = proxy.usage();
    let operations: Vec<&str> = usage.keys().map(String::as_str).collect();
    assert!(
        operations
            .iter()
            .all(|op| ["GetItem", "Query", "UpdateItem", "DeleteItem"].contains(op)),
        "{operations:?}"
    );
    assert!(!operations.contains(&"Scan"));
}

/// The one pending reminder item of `hour`.
async fn reminder_in(app: &TestApp, hour: &str) -> patgate::store::ReminderKey {
    let pending = app.table.store.reminders_in_hour(hour).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    pending[0].key.clone()
}

/// A run claims a reminder and dies before sending it. Later runs on the job's clock:
/// while the claim lasts, the hour stays open and the checkpoint stops before it (a
/// later hour that is done does not move it either); once the claim has expired, the
/// next run sends the reminder, and only then does the checkpoint pass the hour.
#[tokio::test]
async fn a_reminder_claimed_by_a_run_that_died_is_sent_once_the_claim_expires() {
    let app = TestApp::with(&[("EXPIRY_REMINDER_DAYS", "")]).await;
    let uma = app.user("uma", &["User"], None).await;
    // Last-day reminders at 09:00 local: 09:00 UTC, and 10:00 UTC at Cape Verde (-01:00).
    let held = app
        .issue_with(&uma, json!({"expiresOn": "2027-04-10", "timeZone": "UTC"}))
        .await;
    let later = app
        .issue_with(
            &uma,
            json!({"expiresOn": "2027-04-10", "timeZone": "Atlantic/Cape_Verde"}),
        )
        .await;
    let key = reminder_in(&app, "2027-04-10T09").await;
    assert_eq!(key.token_id.as_str(), held.id);
    let store = &app.table.store;
    let died_at = utc("2027-04-10T10:58:00Z");
    let lease = died_at + reminders::CLAIM_LEASE;
    assert_eq!(
        store
            .claim_reminder(&key, "run-that-died", died_at, lease)
            .await
            .unwrap(),
        patgate::store::Claim::Claimed
    );

    let sink = CapturedSink::default();
    let job = job(&app, &sink);
    let report = job.run(utc("2027-04-10T11:01:00Z")).await.unwrap();
    assert_eq!((report.sent, report.held), (1, 1), "{report:?}");
    assert_eq!(sent(&sink), [(0, later.id.clone())], "the 10:00 reminder");
    assert_eq!(
        store.reminder_checkpoint().await.unwrap().as_deref(),
        Some("2027-04-10T08"),
        "the checkpoint stops before the hour whose reminder is held"
    );
    // Still claimed: nothing more goes out, the checkpoint stays.
    let report = job.run(lease - chrono::Duration::seconds(1)).await.unwrap();
    assert_eq!((report.sent, report.held), (0, 1), "{report:?}");
    assert_eq!(
        store.reminder_checkpoint().await.unwrap().as_deref(),
        Some("2027-04-10T08")
    );
    // The claim has expired: this run sends it, and the hours are done.
    let report = job.run(lease).await.unwrap();
    assert_eq!((report.sent, report.held), (1, 0), "{report:?}");
    assert_eq!(
        sent(&sink),
        [(0, later.id.clone()), (0, held.id.clone())],
        "the held reminder, once"
    );
    assert_eq!(
        store.reminder_checkpoint().await.unwrap().as_deref(),
        Some("2027-04-10T10")
    );
    assert_eq!(remaining_reminders(&app).await, 0);
    let report = job.run(lease + chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(sent(&sink).len(), 2);
}

/// Two runs overlap: one holds a reminder's claim while the other reads the hour. The
/// other leaves the hour open rather than counting it done; once the holder has sent
/// and deleted the reminder, the next run finds the hour empty, closes it, and nothing
/// goes out twice.
#[tokio::test]
async fn an_hour_held_by_an_overlapping_run_closes_once_that_run_is_done() {
    let app = TestApp::with(&[("EXPIRY_REMINDER_DAYS", "")]).await;
    let val = app.user("val", &["User"], None).await;
    app.issue_with(&val, json!({"expiresOn": "2027-04-12", "timeZone": "UTC"}))
        .await;
    let key = reminder_in(&app, "2027-04-12T09").await;
    let store = &app.table.store;
    let at = utc("2027-04-12T10:00:10Z");
    let claim = store
        .claim_reminder(&key, "overlapping-run", at, at + reminders::CLAIM_LEASE)
        .await
        .unwrap();
    assert_eq!(claim, patgate::store::Claim::Claimed);

    let sink = CapturedSink::default();
    let job = job(&app, &sink);
    let report = job.run(at + chrono::Duration::seconds(5)).await.unwrap();
    assert_eq!((report.sent, report.held), (0, 1), "{report:?}");
    assert_eq!(report.checkpoint.as_deref(), Some("2027-04-12T08"));
    // The overlapping run sends it and completes.
    assert!(store
        .complete_reminder(&key, "overlapping-run")
        .await
        .unwrap());
    let report = job.run(at + chrono::Duration::seconds(20)).await.unwrap();
    assert_eq!(
        (report.sent, report.held, report.skipped),
        (0, 0, 0),
        "{report:?}"
    );
    assert_eq!(report.checkpoint.as_deref(), Some("2027-04-12T09"));
    assert!(sent(&sink).is_empty(), "the holder sent it, not this job");
}
