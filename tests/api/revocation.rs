//! Revocation in seconds behind a five-minute authorizer cache (issue 21 §1): the
//! revocations function fed the table's real stream (DynamoDB Local), flushing with
//! the AWS SDK through the local API Gateway management endpoint, which empties the
//! stage's authorizer cache (the local gateway's, TTL 300 s). After each change that
//! takes access away, the next call is refused; tokens nothing happened to keep
//! coming from the cache until a flush.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authorizer::Authorizer;
use chrono::Utc;
use patgate::directory::UserWrite;
use patgate::store::items;
use patgate::user::{User, UserId};
use patgate_local::authz::PolicyCache;
use patgate_local::local_routes::Clock;
use patgate_local::management::Management;
use patgate_local::revocation::{self, LocalFlush};
use patgate_local::streams::{self, StreamReader};
use patgate_tests::*;
use revocations::stages::{parse_stages, Stage};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// The stage the local gateway serves.
const STAGE: &str = "rest:patgatelocal/v1";
const CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Allowed, from the cache or by a new authorizer call.
    Allowed {
        cached: bool,
    },
    Refused,
}

/// One API's stage: its authorizer cache behind the management endpoint, the
/// revocations function on the table's stream.
struct Rig {
    app: TestApp,
    authorizer: Authorizer,
    cache: Arc<PolicyCache>,
    management: Arc<Management>,
    flusher: Arc<LocalFlush>,
    stream: StreamReader,
}

async fn serve(management: Management) -> (Arc<Management>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let management = Arc::new(management);
    tokio::spawn(management.clone().serve(listener));
    (management, url)
}

impl Rig {
    async fn new() -> Self {
        let app = TestApp::new().await;
        let cache = Arc::new(PolicyCache::new(CACHE_TTL, 1000));
        let stages = parse_stages("test", STAGE).unwrap();
        let mut management = Management::new();
        let emptied = cache.clone();
        management.register(&stages[0], Arc::new(move || emptied.clear()));
        let (management, url) = serve(management).await;
        let flusher = revocation::start(&url, stages, Arc::new(Clock::default())).unwrap();
        // DynamoDB Local refuses to read a shard from an iterator taken while it was
        // empty (TrimmedDataAccessException): one record first.
        app.user("stream-opener", &["Viewer"], None).await;
        let stream = StreamReader::open(
            &app.table.client,
            streams::client(&endpoint()),
            app.table.name(),
            false,
        )
        .await
        .unwrap();
        Rig {
            authorizer: app.authorizer(),
            app,
            cache,
            management,
            flusher,
            stream,
        }
    }

    /// One call through the stage: API Gateway's cache per identity source, else
    /// the authorizer (its answer cached).
    async fn call(&self, token: &str, method: &str, path: &str) -> Outcome {
        // API Gateway's cache key: the identity sources, the route among them.
        let key = format!("Bearer {token} {method} {path}");
        let (answer, cached) = match self.cache.get(&key, Instant::now()) {
            Some(answer) => (answer, true),
            None => match self
                .app
                .authorize(&self.authorizer, token, method, path, Utc::now())
                .await
            {
                Ok(answer) => {
                    self.cache.insert(key, answer.clone(), Instant::now());
                    (answer, false)
                }
                Err(_) => return Outcome::Refused,
            },
        };
        if answer.is_allowed() {
            Outcome::Allowed { cached }
        } else {
            Outcome::Refused
        }
    }

    async fn read(&self, token: &str) -> Outcome {
        self.call(token, "GET", "/catalog").await
    }

    /// Hands everything the stream holds now to the revocations function, as its
    /// event source mapping does; returns the batch's failures.
    async fn deliver(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        let mut quiet = 0;
        while quiet < 3 {
            let batch = self.stream.next_batch().await.unwrap();
            if batch.records.is_empty() {
                quiet += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            quiet = 0;
            let response = revocations::handle(
                &self.app.table.directory(),
                &*self.flusher,
                batch,
                Utc::now(),
            )
            .await;
            failures.extend(
                response
                    .batch_item_failures
                    .into_iter()
                    .filter_map(|f| f.item_identifier),
            );
        }
        failures
    }

    fn flushes(&self) -> usize {
        self.management.requests().len()
    }

    async fn set_user(&self, id: &str, roles: &[&str], active: bool) {
        let user = User {
            id: UserId::parse(id).unwrap(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            time_zone: None,
            active,
        };
        self.app
            .table
            .directory()
            .put_user(&user.id, UserWrite::of(&user), Utc::now())
            .await
            .unwrap();
    }
}

fn allowed(cached: bool) -> Outcome {
    Outcome::Allowed { cached }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_that_takes_access_away_refuses_the_next_call_and_only_those_flush() {
    let mut rig = Rig::new().await;
    let ann = rig.app.user("ann", &["User"], None).await;
    let dee = rig.app.user("dee", &["User"], None).await;
    let dan = rig.app.user("dan", &["Manager"], None).await;
    let bob = rig.app.user("bob", &["User"], None).await;
    let revoked = rig.app.issue(&ann).await;
    let leaked = rig.app.issue(&ann).await;
    let rotated = rig.app.issue(&ann).await;
    let deactivated = rig.app.issue(&dee).await;
    let downgraded = rig.app.issue(&dan).await;
    let bystander = rig.app.issue(&bob).await;
    assert!(rig.deliver().await.is_empty());
    assert_eq!(rig.flushes(), 0, "creating tokens takes nothing away");

    let everyone = [
        &revoked,
        &leaked,
        &rotated,
        &deactivated,
        &downgraded,
        &bystander,
    ];
    for issued in everyone {
        assert_eq!(rig.read(&issued.token).await, allowed(false));
        assert_eq!(rig.read(&issued.token).await, allowed(true));
    }
    // The route is in the cache key: another route is its own (first) decision, and
    // is cached from then on.
    assert_eq!(
        rig.call(&downgraded.token, "PUT", "/catalog/x").await,
        allowed(false)
    );
    assert_eq!(
        rig.call(&downgraded.token, "PUT", "/catalog/x").await,
        allowed(true)
    );
    // Uses (last-use writes) take nothing away: no flush, answers stay cached.
    assert!(rig.deliver().await.is_empty());
    assert_eq!(rig.flushes(), 0);
    assert_eq!(rig.read(&bystander.token).await, allowed(true));

    // The revocations, one after the other, each delivered as its own batch.
    let mut expected_flushes = 0;
    let steps: Vec<(&str, &Issued)> = vec![
        ("revoke", &revoked),
        ("leak report", &leaked),
        ("rotation with grace 0", &rotated),
        ("deactivation", &deactivated),
        ("downgrade", &downgraded),
    ];
    for (step, issued) in steps {
        // The call that loses its Allow (a downgrade keeps reads, loses writes).
        let (method, path) = match step {
            "downgrade" => ("PUT", "/catalog/x"),
            _ => ("GET", "/catalog"),
        };
        // The previous flush emptied the cache: this call fills it again.
        assert!(matches!(
            rig.call(&issued.token, method, path).await,
            Outcome::Allowed { .. }
        ));
        match step {
            "revoke" => assert_eq!(rig.app.revoke(&ann, &issued.id).await.status, 204),
            "leak report" => {
                let body = json!({"credentials": [issued.token]}).to_string();
                assert_eq!(rig.app.report(&body).await.status, 202);
            }
            "rotation with grace 0" => {
                let answer = rig.app.rotate(&ann, &issued.id, json!({})).await;
                assert_eq!(answer.status, 201, "{}", answer.body);
            }
            "deactivation" => rig.set_user("dee", &["User"], false).await,
            _ => rig.set_user("dan", &["Viewer"], true).await,
        }
        // Before the stream is delivered, the cache still answers: the gap this closes.
        assert_eq!(
            rig.call(&issued.token, method, path).await,
            allowed(true),
            "{step}"
        );
        assert!(rig.deliver().await.is_empty(), "{step}");
        expected_flushes += 1;
        assert_eq!(
            rig.flushes(),
            expected_flushes,
            "{step}: one flush per batch"
        );
        assert_eq!(
            rig.call(&issued.token, method, path).await,
            Outcome::Refused,
            "{step}: the next call is refused"
        );
        // A token nothing happened to is authorized again once, then cached again.
        assert_eq!(rig.read(&bystander.token).await, allowed(false), "{step}");
        assert_eq!(rig.read(&bystander.token).await, allowed(true), "{step}");
    }
    // The downgraded token keeps what the lower role grants: reads are their own
    // route, so a fresh decision, which allows them.
    assert_eq!(rig.read(&downgraded.token).await, allowed(false));
    assert!(rig
        .management
        .requests()
        .iter()
        .all(|r| r.method == "DELETE"
            && r.path == "/restapis/patgatelocal/stages/v1/cache/authorizers"
            && r.status == 202));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grace_ending_later_flushes_when_it_ends_and_not_before() {
    let mut rig = Rig::new().await;
    let eve = rig.app.user("eve", &["User"], None).await;
    let issued = rig.app.issue(&eve).await;
    assert_eq!(rig.read(&issued.token).await, allowed(false));
    let rotated = rig
        .app
        .rotate(&eve, &issued.id, json!({"graceSeconds": 2}))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let rotated_at = Instant::now();
    assert!(rig.deliver().await.is_empty());
    assert_eq!(
        rig.flushes(),
        0,
        "the old secret still works during its grace"
    );
    assert_eq!(rig.read(&issued.token).await, allowed(true));
    // The delayed message comes back when the grace is over (whole seconds, rounded
    // up), and the flush empties the cache: the old secret is refused.
    let deadline = rotated_at + Duration::from_secs(6);
    while rig.flushes() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rig.flushes(), 1, "flushed once, when the grace ended");
    assert!(rotated_at.elapsed() >= Duration::from_secs(1));
    assert_eq!(rig.read(&issued.token).await, Outcome::Refused);
    let new_secret = rotated.body["token"].as_str().unwrap();
    assert_eq!(rig.read(new_secret).await, allowed(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_flush_is_retried_never_dropped() {
    let mut rig = Rig::new().await;
    let fay = rig.app.user("fay", &["User"], None).await;
    let issued = rig.app.issue(&fay).await;
    assert!(rig.deliver().await.is_empty());
    assert_eq!(rig.read(&issued.token).await, allowed(false));
    // A flusher whose stage the management endpoint does not know: 404 NotFound.
    let (unknown, url) = serve(Management::new()).await;
    let failing = revocation::start(
        &url,
        parse_stages("test", STAGE).unwrap(),
        Arc::new(Clock::default()),
    )
    .unwrap();
    assert_eq!(rig.app.revoke(&fay, &issued.id).await.status, 204);
    let batch = rig
        .stream
        .collect(1, Duration::from_secs(10))
        .await
        .unwrap();
    let first = batch.records[0].change.sequence_number.clone();
    let response = revocations::handle(
        &rig.app.table.directory(),
        &*failing,
        batch.clone(),
        Utc::now(),
    )
    .await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        [first],
        "the batch is retried from its first record"
    );
    assert_eq!(unknown.requests()[0].status, 404);
    assert_eq!(rig.read(&issued.token).await, allowed(true), "still cached");
    // Lambda hands the batch over again; this time the flush goes through.
    let retried =
        revocations::handle(&rig.app.table.directory(), &*rig.flusher, batch, Utc::now()).await;
    assert!(retried.batch_item_failures.is_empty());
    assert_eq!(rig.read(&issued.token).await, Outcome::Refused);

    // A due flush message whose flush fails is left to be received again.
    let message = revocations::FlushMessage::new(Utc::now()).body();
    let event = revocation::sqs_event(&message).unwrap();
    let id = event.records[0].message_id.clone().unwrap();
    let due = revocations::handle_due(&*failing, event.clone(), Utc::now()).await;
    assert_eq!(due.batch_item_failures.len(), 1);
    assert_eq!(due.batch_item_failures[0].item_identifier, id);
    assert!(revocations::handle_due(&*rig.flusher, event, Utc::now())
        .await
        .batch_item_failures
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_flushes_rest_and_http_stages_at_their_management_paths() {
    let stages = parse_stages("test", "rest:a1b2c3d4e5/prod,http:x9y8z7/$default").unwrap();
    let mut management = Management::new();
    let caches: Vec<Arc<PolicyCache>> = stages
        .iter()
        .map(|_| Arc::new(PolicyCache::new(CACHE_TTL, 10)))
        .collect();
    for (stage, cache) in stages.iter().zip(&caches) {
        let cache = cache.clone();
        management.register(stage, Arc::new(move || cache.clear()));
    }
    let (management, url) = serve(management).await;
    let flusher = revocation::start(&url, stages.clone(), Arc::new(Clock::default())).unwrap();
    use revocations::CacheFlush;
    flusher.flush().await.unwrap();
    let mut seen: Vec<(String, String, u16)> = management
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            (
                "DELETE".to_owned(),
                "/restapis/a1b2c3d4e5/stages/prod/cache/authorizers".to_owned(),
                202
            ),
            (
                "DELETE".to_owned(),
                "/v2/apis/x9y8z7/stages/$default/cache/authorizers".to_owned(),
                204
            ),
        ]
    );
    assert_eq!(stages.iter().map(Stage::to_string).count(), 2);
}

// ---------------------------------------------------------------- the stream filter

/// Lambda's event filtering, for the pattern shapes the template uses: nested
/// objects, and lists of exact values or `{"prefix": …}`.
fn matches(pattern: &Value, record: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(name, inner)| record.get(name).is_some_and(|value| matches(inner, value))),
        Value::Array(allowed) => allowed.iter().any(|candidate| match candidate {
            Value::Object(rule) => match (rule.get("prefix"), record.as_str()) {
                (Some(Value::String(prefix)), Some(value)) => value.starts_with(prefix.as_str()),
                _ => panic!("filter rule {candidate} is unknown to this matcher"),
            },
            exact => exact == record,
        }),
        other => panic!("filter pattern {other} is unknown to this matcher"),
    }
}

fn revocations_filters() -> Vec<Value> {
    let text = std::fs::read_to_string(patgate_local::repo_root().join("template.yaml")).unwrap();
    let template = patgate_local::cfn::Template::parse(
        &text,
        &patgate_local::sam::local_parameters(&std::collections::BTreeMap::from([(
            "WebOrigin".to_owned(),
            "http://localhost:3000".to_owned(),
        )])),
        &patgate_local::cfn::LocalContext::default(),
    )
    .unwrap();
    let (_, mapping) = template
        .resources_of("AWS::Lambda::EventSourceMapping")
        .find(|(id, _)| id.as_str() == "RevocationsStreamMapping")
        .unwrap();
    mapping
        .pointer("/Properties/FilterCriteria/Filters")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|f| serde_json::from_str(f["Pattern"].as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_filter_lets_through_every_record_that_takes_access_away_and_no_use() {
    let mut rig = Rig::new().await;
    let gus = rig.app.user("gus", &["User"], None).await;
    let one = rig.app.issue(&gus).await;
    let two = rig.app.issue(&gus).await;
    rig.read(&two.token).await; // a last-use write
    assert_eq!(rig.app.revoke(&gus, &one.id).await.status, 204);
    // Two rotations: the first retires a secret, the second deletes it mid-grace.
    for _ in 0..2 {
        let answer = rig
            .app
            .rotate(&gus, &two.id, json!({"graceSeconds": 600}))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    rig.set_user("gus", &["Viewer"], true).await;
    let filters = revocations_filters();
    let batch = rig
        .stream
        .collect(40, Duration::from_secs(5))
        .await
        .unwrap();
    let (mut acted, mut passed_other) = (Vec::new(), Vec::new());
    for record in &batch.records {
        let keys: items::Item = record.change.keys.clone().into();
        let old: items::Item = record.change.old_image.clone().into();
        let new: items::Item = record.change.new_image.clone().into();
        let change = items::access_change(&record.event_name, &keys, &old, &new);
        let as_json = serde_json::to_value(record).unwrap();
        let passes = filters.iter().any(|f| matches(f, &as_json));
        let what = format!(
            "{} {}",
            record.event_name, as_json["dynamodb"]["Keys"]["sk"]["S"]
        );
        match change {
            Some(change) => {
                assert!(passes, "{what} ({change:?}) is filtered out");
                acted.push(change);
            }
            None if passes => passed_other.push(what),
            None => {}
        }
    }
    let kinds = |f: fn(&items::AccessChange) -> bool| acted.iter().filter(|c| f(c)).count();
    assert_eq!(kinds(|c| matches!(c, items::AccessChange::Revoked)), 1);
    assert_eq!(
        kinds(|c| matches!(c, items::AccessChange::SecretRetired { .. })),
        2
    );
    assert_eq!(
        kinds(|c| matches!(c, items::AccessChange::RetiredSecretRemoved { .. })),
        1
    );
    assert!(
        kinds(|c| matches!(
            c,
            items::AccessChange::Principal {
                access_raised: true,
                ..
            }
        )) >= 1
    );
    // Token items (uses, rotations, creations) never reach the function; what
    // passes for nothing is principal records and retired secrets brought in step
    // with a role change (the filter cannot ask for `rotated_out` absent before).
    assert!(
        passed_other
            .iter()
            .all(|w| w.contains("PROFILE") || w == "MODIFY \"HASH\""),
        "let through for nothing: {passed_other:?}"
    );
}
