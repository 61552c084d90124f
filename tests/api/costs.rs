//! What each operation costs in DynamoDB, measured through the metering proxy
//! (`ReturnConsumedCapacity` added to every request): requests per operation, read
//! units and write units. The request shapes are asserted (they are the design: one
//! GetItem per warm authorization, no Scan anywhere); the units are printed, for the
//! README, with `-- --nocapture`.
//!
//! Create/revoke cycles for one user show that nothing grows with a user's history:
//! the read units of create, list and revoke are the same at the last cycle as at the
//! first. `PATGATE_CYCLES` sets the number of cycles (300 here;
//! `infra/scripts/cycles.sh` runs 5,000).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use patgate::user::{User, UserId};
use patgate_tests::proxy::{split_usage, Capacity, DynamoProxy, Fault, Recorded};
use patgate_tests::*;
use serde_json::json;

use crate::attr_s;

/// The table seen directly (setup) and through the metering proxy (measured).
struct Meter {
    setup: TestApp,
    measured: TestApp,
    proxy: DynamoProxy,
}

impl Meter {
    async fn new() -> Meter {
        let table = TestTable::new().await;
        let proxy = DynamoProxy::start(&endpoint()).await;
        let measured = TestApp::on(table.through(&proxy.endpoint), &[]);
        let setup = TestApp::on(table, &[]);
        Meter {
            setup,
            measured,
            proxy,
        }
    }

    /// What `operation` cost: the requests it made, with the units each answer reported.
    async fn measure<F: Future>(&self, operation: F) -> (F::Output, Vec<Recorded>) {
        self.proxy.clear_recorded();
        let output = operation.await;
        self.proxy.settle().await;
        (output, self.proxy.recorded())
    }
}

/// Requests per DynamoDB operation.
fn shape(recorded: &[Recorded]) -> BTreeMap<String, u32> {
    split_usage(recorded)
        .into_iter()
        .map(|(op, u)| (op, u.requests))
        .collect()
}

fn ops(expected: &[(&str, u32)]) -> BTreeMap<String, u32> {
    expected
        .iter()
        .map(|(op, n)| ((*op).to_owned(), *n))
        .collect()
}

fn total(recorded: &[Recorded]) -> Capacity {
    let mut sum = Capacity::default();
    recorded.iter().for_each(|r| sum += r.capacity);
    sum
}

/// A table row: each operation with its requests (and, for transactions, the items
/// they wrote), the read and write units DynamoDB Local reported.
fn row(operation: &str, recorded: &[Recorded]) -> String {
    let requests: Vec<String> = split_usage(recorded)
        .iter()
        .map(|(op, u)| {
            let items: usize = recorded
                .iter()
                .filter(|r| &r.operation == op)
                .filter_map(|r| r.body["TransactItems"].as_array().map(Vec::len))
                .sum();
            let units = |c: Capacity| {
                if c.write_units == 0.0 && c.read_units == 0.0 {
                    "0".to_owned()
                } else if c.write_units == 0.0 {
                    format!("{} R", c.read_units)
                } else if c.read_units == 0.0 {
                    format!("{} W", c.write_units)
                } else {
                    format!("{} R, {} W", c.read_units, c.write_units)
                }
            };
            if items > 0 {
                format!(
                    "{op} ×{} ({items} items; {})",
                    u.requests,
                    units(u.capacity)
                )
            } else {
                format!("{op} ×{} ({})", u.requests, units(u.capacity))
            }
        })
        .collect();
    let sum = total(recorded);
    format!(
        "| {operation} | {} | {} | {} |",
        requests.join(", "),
        sum.read_units,
        sum.write_units
    )
}

#[tokio::test]
async fn what_each_operation_costs() {
    let meter = Meter::new().await;
    let now = Utc::now();
    let mut rows = Vec::new();
    let ada = meter.measured.user("ada", &["User"], None).await;
    let body = json!({"name":"ci","expiresOn":date_in(30, Tz::UTC, now),"timeZone":"UTC"});

    // Create: the user, a slot, the token with its hash item and three reminders in
    // one transaction, the user again (has a role change raced it?).
    let (created, usage) = meter.measure(meter.measured.create(&ada, body)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        shape(&usage),
        ops(&[("GetItem", 2), ("UpdateItem", 1), ("TransactWriteItems", 1)])
    );
    rows.push(row("create (3 reminders)", &usage));
    let id = created.body["id"].as_str().unwrap().to_owned();
    let token = created.body["token"].as_str().unwrap().to_owned();

    for i in 0..9 {
        meter
            .setup
            .issue_with(&ada, json!({"name": format!("t{i}")}))
            .await;
    }
    let (listed, usage) = meter.measure(meter.measured.list(&ada)).await;
    assert_eq!(listed.body["tokens"].as_array().unwrap().len(), 10);
    assert_eq!(shape(&usage), ops(&[("GetItem", 1), ("Query", 1)]));
    rows.push(row("list, first page (10 tokens)", &usage));

    // Authorize: one consistent GetItem; the first use in an interval adds the
    // last-use write, a warm call within it does not.
    let authorizer = meter.measured.authorizer();
    let (decision, usage) = meter
        .measure(
            meter
                .measured
                .authorize(&authorizer, &token, "GET", "/catalog", now),
        )
        .await;
    assert!(decision.is_ok());
    assert_eq!(shape(&usage), ops(&[("GetItem", 1), ("UpdateItem", 1)]));
    rows.push(row("authorize, first use in the interval", &usage));
    let later = now + chrono::Duration::seconds(10);
    let (decision, usage) = meter
        .measure(
            meter
                .measured
                .authorize(&authorizer, &token, "GET", "/catalog", later),
        )
        .await;
    assert!(decision.is_ok());
    assert_eq!(shape(&usage), ops(&[("GetItem", 1)]));
    rows.push(row("authorize, warm", &usage));
    let (decision, usage) = meter
        .measure(meter.measured.authorize(
            &meter.measured.authorizer(),
            &token,
            "GET",
            "/catalog",
            later,
        ))
        .await;
    assert!(decision.is_ok());
    assert_eq!(
        shape(&usage),
        ops(&[("GetItem", 1), ("UpdateItem", 1)]),
        "a new container tries the write, which its condition refuses"
    );
    rows.push(row("authorize, new container within the interval", &usage));

    let (rotated, usage) = meter
        .measure(
            meter
                .measured
                .rotate(&ada, &id, json!({"graceSeconds": 60})),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    // The transaction keeps the replaced secret for the 5-minute handover; once it is
    // known to have committed, one UpdateItem cuts that to the 60 s asked for.
    assert_eq!(
        shape(&usage),
        ops(&[("GetItem", 3), ("TransactWriteItems", 1), ("UpdateItem", 1)])
    );
    rows.push(row("rotate", &usage));

    let (revoked, usage) = meter.measure(meter.measured.revoke(&ada, &id)).await;
    assert_eq!(revoked.status, 204);
    assert_eq!(
        shape(&usage),
        ops(&[("GetItem", 1), ("TransactWriteItems", 1), ("UpdateItem", 1)])
    );
    rows.push(row("revoke", &usage));

    // A leak report: one batch read for every string that parses, then a revoke per
    // live match.
    let leaked = meter.setup.issue(&ada).await;
    let stranger = patgate::token::TokenSecret::generate(&Default::default()).unwrap();
    let report = json!({"credentials": [leaked.token, stranger.expose(), "junk"]}).to_string();
    let (answer, usage) = meter.measure(meter.measured.report(&report)).await;
    assert_eq!(answer.status, 202);
    assert_eq!(
        shape(&usage),
        ops(&[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("TransactWriteItems", 1),
            ("UpdateItem", 1)
        ])
    );
    rows.push(row("leak report (3 strings, 1 live token)", &usage));

    // A user write: a role change brings each of the user's hash items in step.
    let live = meter.setup.list(&ada).await.body["tokens"]
        .as_array()
        .unwrap()
        .len();
    let promoted = User {
        id: UserId::parse("ada").unwrap(),
        roles: vec!["Manager".to_owned()],
        time_zone: None,
        active: true,
    };
    let (stored, usage) = meter
        .measure(meter.measured.table.store.put_user(&promoted))
        .await;
    stored.unwrap();
    assert_eq!(
        shape(&usage),
        ops(&[
            ("GetItem", 1),
            ("PutItem", 1),
            ("Query", 1),
            ("UpdateItem", u32::try_from(live).unwrap() + 1)
        ]),
        "one UpdateItem per hash item of the {live} live tokens, then the record marked synced"
    );
    rows.push(row(&format!("user role change ({live} tokens)"), &usage));
    let (stored, usage) = meter
        .measure(meter.measured.table.store.put_user(&promoted))
        .await;
    stored.unwrap();
    assert_eq!(shape(&usage), ops(&[("GetItem", 1), ("PutItem", 1)]));
    rows.push(row("user write, no change", &usage));

    println!("| operation | DynamoDB requests | read units | write units |");
    println!("|---|---|---|---|");
    for line in rows {
        println!("{line}");
    }
}

/// The last-use write of a cold container's first decision waits for a store that
/// takes 80 ms per request to reach it (the wait is capped at 250 ms, for every
/// decision): the request is held before DynamoDB sees it, so a write the authorizer
/// stopped waiting for would never land.
#[tokio::test]
async fn a_cold_containers_first_use_is_recorded_when_each_request_takes_80_ms() {
    let meter = Meter::new().await;
    let uma = meter.setup.user("uma", &["User"], None).await;
    let token = meter.setup.issue(&uma).await.token;
    meter
        .proxy
        .set(Fault::DelayRequest(Duration::from_millis(80)));
    let cold = meter.measured.authorizer();
    let now = Utc::now();
    let (decision, recorded) = meter
        .measure(
            meter
                .measured
                .authorize(&cold, &token, "GET", "/catalog", now),
        )
        .await;
    meter.proxy.heal();
    assert!(decision.is_ok(), "{decision:?}");
    assert_eq!(shape(&recorded), ops(&[("GetItem", 1), ("UpdateItem", 1)]));
    assert_eq!(
        meter.setup.list(&uma).await.body["tokens"][0]["lastUsedAt"],
        json!(patgate::api::wire_time(now)),
        "the first use is recorded"
    );
}

/// The SDK retries a create whose answer came too late (the first attempt did
/// commit): the transaction's `ClientRequestToken` makes the retry succeed, so the
/// caller gets its 201 and exactly one token is stored, not a 500 and an orphan.
#[tokio::test]
async fn a_create_retried_after_its_first_attempt_committed_stores_one_token() {
    let meter = Meter::new().await;
    let bea = meter.setup.user("bea", &["User"], None).await;
    // Longer than the SDK's 2 s attempt timeout: DynamoDB commits, the SDK gives up on
    // the answer and sends the same transaction again.
    meter.proxy.set_for(
        Fault::DelayAnswer(Duration::from_millis(2500)),
        "TransactWriteItems",
        Some(1),
    );
    let body = json!({"name":"retried","expiresOn":date_in(5, Tz::UTC, Utc::now())});
    let (answer, usage) = meter.measure(meter.measured.create(&bea, body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(
        shape(&usage)["TransactWriteItems"],
        2,
        "the transaction was sent twice"
    );
    let items = meter.setup.table.all_items().await;
    let count = |prefix: &str| {
        items
            .iter()
            .filter(|i| attr_s(i, "sk").starts_with(prefix) || attr_s(i, "pk").starts_with(prefix))
            .count()
    };
    assert_eq!(count("TOKEN#"), 1, "one token item");
    assert_eq!(count("HASH#"), 1, "one hash item");
    assert_eq!(
        meter.setup.list(&bea).await.body["tokens"][0]["id"],
        answer.body["id"],
        "the stored token is the one answered"
    );
}

/// Read and write units of one create, one list and one revoke.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cycle {
    create: Capacity,
    list: Capacity,
    revoke: Capacity,
    revoked_page: Capacity,
}

fn cycles() -> usize {
    std::env::var("PATGATE_CYCLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(300)
}

#[tokio::test]
async fn create_revoke_cycles_leave_read_units_flat() {
    let meter = Meter::new().await;
    let cy = meter.setup.user("cy", &["User"], None).await;
    // One token that stays, so that list always reads one item besides the new one.
    meter.setup.issue(&cy).await;
    let count = cycles();
    let started = std::time::Instant::now();
    let mut seen: Vec<Cycle> = Vec::with_capacity(count);
    for _ in 0..count {
        let body =
            json!({"name":"cycle","expiresOn":date_in(30, Tz::UTC, Utc::now()),"timeZone":"UTC"});
        let (created, create) = meter.measure(meter.measured.create(&cy, body)).await;
        assert_eq!(created.status, 201, "{}", created.text);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let (listed, list) = meter.measure(meter.measured.list(&cy)).await;
        assert_eq!(listed.body["tokens"].as_array().unwrap().len(), 2);
        let (revoked, revoke) = meter.measure(meter.measured.revoke(&cy, &id)).await;
        assert_eq!(revoked.status, 204);
        let (page, revoked_page) = meter
            .measure(
                meter
                    .measured
                    .list_query(&cy, &[("status", "revoked")], Utc::now()),
            )
            .await;
        assert_eq!(page.status, 200);
        seen.push(Cycle {
            create: total(&create),
            list: total(&list),
            revoke: total(&revoke),
            revoked_page: total(&revoked_page),
        });
    }
    let first = seen[0];
    let last = seen[count - 1];
    println!(
        "{count} create/revoke cycles in {:.1} s (read units / write units):",
        started.elapsed().as_secs_f64()
    );
    for (what, a, b) in [
        ("create", first.create, last.create),
        ("list", first.list, last.list),
        ("revoke", first.revoke, last.revoke),
        (
            "list revoked (first page)",
            first.revoked_page,
            last.revoked_page,
        ),
    ] {
        println!(
            "  {what}: cycle 1 {} / {}, cycle {count} {} / {}",
            a.read_units, a.write_units, b.read_units, b.write_units
        );
    }
    for (i, cycle) in seen.iter().enumerate() {
        assert_eq!(
            (cycle.create, cycle.list, cycle.revoke),
            (first.create, first.list, first.revoke),
            "cycle {} costs what cycle 1 did",
            i + 1
        );
    }
    // The revoked list reads at most a page (50): it grows with the first 50 revokes,
    // then stays.
    if count > 60 {
        assert!(seen[60..]
            .iter()
            .all(|c| c.revoked_page == seen[60].revoked_page));
    }
    let stored = meter.setup.table.all_items().await;
    let revoked = stored
        .iter()
        .filter(|i| attr_s(i, "sk").starts_with("REVOKED#"))
        .count();
    assert_eq!(revoked, count, "every cycle left its revoked record");
}

/// One HTTP/1.1 call to the local stack: (status, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// The local stack (`patgate-local`) as a child process, killed when dropped.
struct LocalStack(std::process::Child);

impl Drop for LocalStack {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The local stack stops a function at its template `Timeout`, as Lambda does: a
/// create still waiting for DynamoDB when its time is up answers 502 and stores no
/// token afterwards (before, the function kept running and stored a token whose
/// secret nobody received).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_the_gateway_times_out_stores_no_token() {
    let root = repo_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let built = std::process::Command::new(cargo)
        .args([
            "build",
            "-q",
            "-p",
            "patgate-local",
            "--bin",
            "patgate-local",
        ])
        .current_dir(&root)
        .status()
        .expect("cargo build");
    assert!(built.success(), "cargo build -p patgate-local");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    // The template with every function's timeout at 1 s.
    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let globals = "Globals:\n  Function:\n";
    assert!(template.contains(&format!("{globals}    Runtime: provided.al2023\n")));
    let short = template.replacen("\n    Timeout: 10\n", "\n    Timeout: 1\n", 1);
    assert_ne!(short, template, "the Globals Timeout is 10 s");
    let dir = std::env::temp_dir().join(format!("patgate-timeout-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).unwrap();
    let template_path = dir.join("template.yaml");
    std::fs::write(&template_path, short).unwrap();

    let proxy = DynamoProxy::start(&endpoint()).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let table = format!("patgate-timeout-{:016x}", rand::random::<u64>());
    let log = std::fs::File::create(dir.join("local.log")).unwrap();
    let _stack = LocalStack(
        std::process::Command::new(target.join("debug/patgate-local"))
            .args(["--port", &port.to_string(), "--no-web", "--quiet"])
            .args([
                "--dynamodb-endpoint",
                &proxy.endpoint,
                "--table-name",
                &table,
            ])
            .arg("--template")
            .arg(&template_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("patgate-local starts"),
    );
    let session = {
        let started = std::time::Instant::now();
        loop {
            let attempt = http(
                port,
                "POST",
                "/local/session",
                &[],
                r#"{"userId":"demo-user"}"#,
            );
            if let Ok((200, body)) = attempt {
                let body: serde_json::Value = serde_json::from_str(&body).unwrap();
                break body["session"].as_str().unwrap().to_owned();
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "the local stack did not start: {}",
                std::fs::read_to_string(dir.join("local.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };

    // Every UpdateItem answers after 1.5 s: the create's slot reservation outlasts the
    // 1 s timeout, though not the SDK's 2 s attempt timeout.
    proxy.set_for(
        Fault::DelayAnswer(Duration::from_millis(1500)),
        "UpdateItem",
        None,
    );
    let body =
        json!({"name":"too slow","expiresOn":date_in(5, Tz::UTC, Utc::now()),"timeZone":"UTC"});
    let (status, answer) = tokio::task::spawn_blocking(move || {
        http(
            port,
            "POST",
            "/tokens",
            &[
                ("Authorization", &session),
                ("Content-Type", "application/json"),
            ],
            &body.to_string(),
        )
    })
    .await
    .unwrap()
    .expect("the gateway answers");
    assert_eq!(status, 502, "{answer}");
    // Time for a create that kept running to reach its transaction and commit.
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.heal();
    let direct = client(&endpoint());
    let items = direct
        .scan()
        .table_name(&table)
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    let orphans: Vec<String> = items
        .iter()
        .map(|i| format!("{} {}", attr_s(i, "pk"), attr_s(i, "sk")))
        .filter(|key| key.contains("TOKEN#") || key.starts_with("HASH#"))
        .collect();
    assert!(orphans.is_empty(), "stored after the timeout: {orphans:?}");
    let _ = direct.delete_table().table_name(&table).send().await;
    let _ = std::fs::remove_dir_all(&dir);
}
