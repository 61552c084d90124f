//! template.yaml's IAM policies, evaluated against what each function really asks of
//! DynamoDB, so that a missing permission fails here and not after a deploy.
//!
//! Each function's `Policies` are read from the template (the local stack's reader,
//! intrinsic functions resolved) and evaluated by a small evaluator that knows exactly
//! the statement shapes the template uses: `Action`, `Resource`, and conditions with
//! `StringEquals` / `StringLike`, plain, `…IfExists`, `ForAllValues:` or
//! `ForAnyValue:`, on the DynamoDB condition keys. Anything else (another operator,
//! another key, `NotAction`, a managed policy or an unknown SAM policy template that
//! could grant DynamoDB access) fails the test rather than being guessed at.
//!
//! Then each function's flows run against DynamoDB Local behind the recording proxy,
//! and every request the function made (each item of a transaction counted as the
//! PutItem, UpdateItem, DeleteItem or ConditionCheckItem IAM authorises it as) must be
//! allowed by that function's policy. Requests the functions must never be able to
//! make (a user's `PROFILE`, attributes other than last use for the authorizer, reads
//! of whole items back from a write) must be denied.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use patgate::metrics::Metrics;
use patgate::user::{User, UserId};
use patgate_local::cfn::{LocalContext, Template};
use patgate_local::sam;
use patgate_tests::proxy::{DynamoProxy, Fault, Recorded};
use patgate_tests::*;
use serde_json::{json, Value};

/// What `!GetAtt TokensTable.Arn` resolves to with the local reader.
const TABLE_ARN: &str = "local:TokensTable.Arn";

/// SAM policy templates that grant nothing on DynamoDB (checked by name: any other
/// template fails the test, since it might).
const NON_DYNAMODB_TEMPLATES: [&str; 2] = ["EventBridgePutEventsPolicy", "SQSSendMessagePolicy"];

mod clients;
mod directory;
mod evaluator;
mod execute_api;
mod flush;
mod invokers;
mod refusals;
mod requests;

use evaluator::*;
use requests::*;

// ---------------------------------------------------------------- the template's policies

/// Every function's statements, by binary name.
fn function_policies() -> BTreeMap<String, Vec<Statement>> {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let overrides = BTreeMap::from([("WebOrigin".to_owned(), WEB_ORIGIN.to_owned())]);
    let parameters = sam::local_parameters(&overrides);
    let template =
        Template::parse(&text, &parameters, &LocalContext::default()).expect("template reads");
    template
        .resources_of("AWS::Serverless::Function")
        .map(|(logical_id, resource)| {
            let binary = resource
                .pointer("/Metadata/BuildProperties/Binary")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{logical_id}: no Binary"))
                .to_owned();
            let policies = resource
                .pointer("/Properties/Policies")
                .map(|p| template.resolve(p).expect("policies resolve"))
                .unwrap_or_default()
                .unwrap_or(Value::Null);
            let statements = statements_of(&binary, &policies);
            (binary, statements)
        })
        .collect()
}

// ---------------------------------------------------------------- the functions' real requests

/// A table seen two ways: `setup` writes directly, `watched` goes through the
/// recording proxy and is what the function under test uses.
struct Rig {
    setup: TestApp,
    watched: TestApp,
    proxy: DynamoProxy,
}

impl Rig {
    async fn new(overrides: &[(&str, &str)]) -> Rig {
        let table = TestTable::new().await;
        let proxy = DynamoProxy::start(&endpoint()).await;
        let watched = TestApp::on(table.through(&proxy.endpoint), overrides);
        let setup = TestApp::on(table, overrides);
        Rig {
            setup,
            watched,
            proxy,
        }
    }

    /// The requests `flow` made through the proxy.
    async fn watch<F: Future>(&self, flow: F) -> (F::Output, Vec<Recorded>) {
        self.proxy.clear_recorded();
        let output = flow.await;
        // A write the function stopped waiting for was still sent: count it too.
        self.proxy.settle().await;
        (output, self.proxy.recorded())
    }
}

/// What one function was seen asking for.
#[derive(Default)]
struct Seen {
    requests: Vec<(String, Recorded)>,
}

impl Seen {
    fn add(&mut self, flow: &str, recorded: Vec<Recorded>) {
        assert!(!recorded.is_empty(), "{flow}: no DynamoDB request seen");
        self.requests
            .extend(recorded.into_iter().map(|r| (flow.to_owned(), r)));
    }
}

/// `action partition-prefix` of a request, e.g. `UpdateItem HASH#`.
fn shape(request: &IamRequest) -> String {
    let prefixes: BTreeSet<String> = request
        .context
        .get("dynamodb:LeadingKeys")
        .into_iter()
        .flatten()
        .map(|pk| match pk.find('#') {
            Some(end) => pk[..=end].to_owned(),
            None => pk.clone(),
        })
        .collect();
    let prefixes: Vec<String> = prefixes.into_iter().collect();
    format!(
        "{} {}",
        request.action.trim_start_matches("dynamodb:"),
        prefixes.join(",")
    )
}

/// Every request `seen` of `function` must be allowed by its statements: the shapes
/// seen (for the summary), or what the policy refuses.
fn check_allowed(
    function: &str,
    statements: &[Statement],
    table: &str,
    seen: &Seen,
) -> Result<BTreeSet<String>, String> {
    let translator = Translator { table };
    let mut refused = Vec::new();
    let mut shapes = BTreeSet::new();
    for (flow, recorded) in &seen.requests {
        for request in translator.translate(&recorded.operation, &recorded.body) {
            shapes.insert(shape(&request));
            let decision = decide(statements, &request);
            if !matches!(decision, Decision::Allowed(_)) {
                refused.push(format!(
                    "{flow}: {decision:?} for {} on {} with {:?}\n    request: {}",
                    request.action, request.resource, request.context, recorded.body
                ));
            }
        }
    }
    if refused.is_empty() {
        Ok(shapes)
    } else {
        Err(format!(
            "{function}'s policy in template.yaml refuses requests it makes:\n{}",
            refused.join("\n")
        ))
    }
}

async fn create_token_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let ann = rig.setup.user("ann", &["User"], Some("Europe/Paris")).await;
    let body = json!({"name":"ci","expiresOn":date_in(30, chrono_tz::Tz::UTC, Utc::now()),"timeZone":"Europe/Paris"});
    let (answer, recorded) = rig.watch(rig.watched.create(&ann, body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    seen.add("create with reminders", recorded);

    let scoped = json!({"name":"scoped","expiresOn":date_in(3, chrono_tz::Tz::UTC, Utc::now()),"permissions":["catalog:read"]});
    let (answer, recorded) = rig.watch(rig.watched.create(&ann, scoped)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    seen.add("scoped create", recorded);

    // A user write between the create's user read and its hash item: the create
    // brings the new hash item in step afterwards (an UpdateItem on HASH#).
    let cat = rig.setup.user("cat", &["User"], None).await;
    // The slot reservation's answer is held back; the role change lands while the
    // create waits for it, before its token is written.
    rig.proxy.set_for(
        Fault::DelayAnswer(Duration::from_millis(1500)),
        "UpdateItem",
        Some(1),
    );
    let body = json!({"name":"late","expiresOn":date_in(3, chrono_tz::Tz::UTC, Utc::now())});
    let ((answer, ()), recorded) = rig
        .watch(async {
            tokio::join!(rig.watched.create(&cat, body), async {
                while !rig.proxy.forwarded().iter().any(|op| op == "UpdateItem") {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                let promoted = User {
                    id: UserId::parse("cat").unwrap(),
                    roles: vec!["Manager".to_owned()],
                    time_zone: None,
                    active: true,
                };
                rig.setup.table.store.put_user(&promoted).await.unwrap();
            })
        })
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let translator = Translator {
        table: rig.setup.table.name(),
    };
    assert!(
        recorded
            .iter()
            .flat_map(|r| translator.translate(&r.operation, &r.body))
            .any(|r| shape(&r) == "UpdateItem HASH#"),
        "the catch-up write happened: {recorded:?}"
    );
    seen.add("create racing a role change", recorded);

    // At the cap with a slot whose token has expired: the recount frees it.
    let dan = rig.setup.user("dan", &["User"], None).await;
    let today = json!({"name":"today","expiresOn":date_in(0, chrono_tz::Tz::UTC, Utc::now()),"timeZone":"UTC"});
    assert_eq!(rig.setup.create(&dan, today).await.status, 201);
    let later = Utc::now() + chrono::Duration::days(2);
    let capped = TestApp::on(
        rig.setup.table.through(&rig.proxy.endpoint),
        &[("MAX_TOKENS_PER_USER", "1")],
    );
    let body =
        json!({"name":"next","expiresOn":date_in(5, chrono_tz::Tz::UTC, later),"timeZone":"UTC"});
    let (answer, recorded) = rig.watch(capped.create_at(&dan, body, later)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert!(recorded.iter().any(|r| r.operation == "Query"), "recounted");
    seen.add("create at the cap after an expiry", recorded);

    // The token write fails: the slot is given back.
    rig.proxy
        .set_for(Fault::Reset, "TransactWriteItems", Some(10));
    let body = json!({"name":"failing","expiresOn":date_in(3, chrono_tz::Tz::UTC, Utc::now())});
    let (answer, recorded) = rig.watch(rig.watched.create(&ann, body)).await;
    rig.proxy.heal();
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(
        recorded.iter().any(|r| r.operation == "GetItem"
            && r.body["Key"]["pk"]["S"]
                .as_str()
                .is_some_and(|pk| pk.starts_with("TOKENS#"))),
        "the outcome was read back"
    );
    seen.add("create whose write fails", recorded);

    // With an Idempotency-Key: the record is read and written; the retry re-issues
    // the secret (a rotation: token item, hash items, reminders).
    let body = json!({"name":"keyed","expiresOn":date_in(30, chrono_tz::Tz::UTC, Utc::now()),"timeZone":"UTC"});
    let (answer, recorded) = rig
        .watch(rig.watched.create_keyed(&ann, body.clone(), "iam-key"))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    seen.add("create with an idempotency key", recorded);
    let (answer, recorded) = rig
        .watch(rig.watched.create_keyed(&ann, body, "iam-key"))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.headers["idempotent-replayed"], "true");
    seen.add("create replayed with its key", recorded);
    seen
}

async fn token_management_flows(rig: &Rig) -> BTreeMap<&'static str, Seen> {
    let mut seen: BTreeMap<&'static str, Seen> = BTreeMap::new();
    let eve = rig.setup.user("eve", &["User"], None).await;
    for i in 0..3 {
        rig.setup
            .issue_with(&eve, json!({"name": format!("t{i}")}))
            .await;
    }
    let first = rig.setup.issue(&eve).await;

    // list-tokens
    let list = seen.entry("list-tokens").or_default();
    let (answer, recorded) = rig.watch(rig.watched.list(&eve)).await;
    assert_eq!(answer.status, 200);
    list.add("list", recorded);
    let (answer, recorded) = rig
        .watch(rig.watched.list_query(&eve, &[("limit", "2")], Utc::now()))
        .await;
    let next = answer.body["nextToken"].as_str().unwrap().to_owned();
    list.add("first page", recorded);
    let (answer, recorded) = rig
        .watch(
            rig.watched
                .list_query(&eve, &[("limit", "2"), ("nextToken", &next)], Utc::now()),
        )
        .await;
    assert_eq!(answer.status, 200);
    list.add("next page", recorded);

    // rotate-token: a first rotation, a second one (which deletes the first's old
    // hash item), a new expiry in another zone (reminders move).
    let rotate = seen.entry("rotate-token").or_default();
    let (answer, recorded) = rig
        .watch(
            rig.watched
                .rotate(&eve, &first.id, json!({"graceSeconds": 60})),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    rotate.add("rotate", recorded);
    let (answer, recorded) = rig
        .watch(rig.watched.rotate(&eve, &first.id, json!({})))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    rotate.add("rotate again", recorded);
    let body = json!({"expiresOn": date_in(20, chrono_tz::Tz::Asia__Tokyo, Utc::now()), "timeZone": "Asia/Tokyo"});
    let (answer, recorded) = rig.watch(rig.watched.rotate(&eve, &first.id, body)).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    rotate.add("rotate to a new expiry", recorded);

    // revoke-token: a rotated token with reminders, again, an unknown id.
    let revoke = seen.entry("revoke-token").or_default();
    let (answer, recorded) = rig.watch(rig.watched.revoke(&eve, &first.id)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    revoke.add("revoke", recorded);
    let (answer, recorded) = rig.watch(rig.watched.revoke(&eve, &first.id)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    revoke.add("revoke again", recorded);
    let (answer, recorded) = rig
        .watch(rig.watched.revoke(&eve, "01ARZ3NDEKTSV4RRFFQ69G5FAV"))
        .await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    revoke.add("revoke unknown", recorded);

    // revoke-credentials: a live secret, a rotated-out one in its grace, garbage.
    let report = seen.entry("revoke-credentials").or_default();
    let live = rig.setup.issue(&eve).await;
    let rotated = rig.setup.issue(&eve).await;
    let answer = rig
        .setup
        .rotate(&eve, &rotated.id, json!({"graceSeconds": 600}))
        .await;
    assert_eq!(answer.status, 201);
    let body = json!({"credentials": [live.token, rotated.token, "junk"]}).to_string();
    let (answer, recorded) = rig.watch(rig.watched.report(&body)).await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert!(
        recorded
            .iter()
            .filter(|r| r.operation == "TransactWriteItems")
            .count()
            >= 2,
        "both tokens revoked"
    );
    report.add("leak report", recorded);

    // GitHub's alert: the replay marker's put, the lookups and revocation; and one
    // whose revocation fails, which removes its marker again.
    let github = patgate_tests::github::GitHubSigner::generate("k1");
    let server = patgate_tests::github::KeyServer::start(&[&github]).await;
    let keys = patgate::github::keys::GitHubKeys::new(
        Some(server.url.clone()),
        patgate::github::keys::KEY_REFETCH_INTERVAL,
    );
    let leaked = rig.setup.issue(&eve).await;
    let body = json!([{"token": leaked.token, "type": "patgate_token"}]).to_string();
    let (answer, recorded) = rig
        .watch(
            rig.watched
                .github_alert(&keys, &github.headers(body.as_bytes()), &body),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    report.add("GitHub alert", recorded);
    let other = rig.setup.issue(&eve).await;
    let body = json!([{"token": other.token, "type": "patgate_token"}]).to_string();
    rig.proxy.set_for(Fault::Reset, "BatchGetItem", None);
    let (answer, recorded) = rig
        .watch(
            rig.watched
                .github_alert(&keys, &github.headers(body.as_bytes()), &body),
        )
        .await;
    rig.proxy.heal();
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert!(
        recorded.iter().any(|r| r.operation == "DeleteItem"),
        "the marker is removed"
    );
    report.add("GitHub alert whose revocation fails", recorded);
    seen
}

async fn authorizer_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let fay = rig.setup.user("fay", &["User"], None).await;
    let issued = rig.setup.issue(&fay).await;
    let now = Utc::now();
    let authorizer = rig.watched.authorizer();
    let (decision, recorded) = rig
        .watch(
            rig.watched
                .authorize(&authorizer, &issued.token, "GET", "/catalog", now),
        )
        .await;
    assert!(decision.is_ok(), "{decision:?}");
    assert!(
        recorded.iter().any(|r| r.operation == "UpdateItem"),
        "last use recorded"
    );
    seen.add("first use (REQUEST event)", recorded);

    // A TOKEN event has no origin: the last use's IP and user agent are removed.
    let event = token_authorizer_event(
        &format!("Bearer {}", issued.token),
        &method_arn("GET", "/catalog"),
    );
    let later = now + chrono::Duration::seconds(400);
    let (decision, recorded) = rig
        .watch(rig.watched.authorizer().handle(event, later))
        .await;
    assert!(decision.is_ok(), "{decision:?}");
    seen.add("use without origin (TOKEN event)", recorded);

    // A rotated-out secret presented after its grace: its reuse is recorded.
    let answer = rig.setup.rotate(&fay, &issued.id, json!({})).await;
    assert_eq!(answer.status, 201);
    let (decision, recorded) = rig
        .watch(rig.watched.authorize(
            &rig.watched.authorizer(),
            &issued.token,
            "GET",
            "/catalog",
            Utc::now() + chrono::Duration::seconds(1),
        ))
        .await;
    assert!(decision.is_err());
    assert!(recorded.iter().any(|r| r.operation == "UpdateItem"));
    seen.add("rotated-out secret reused", recorded);

    let stranger = patgate::token::TokenSecret::generate(&Default::default()).unwrap();
    let (decision, recorded) = rig
        .watch(rig.watched.authorize(
            &rig.watched.authorizer(),
            stranger.expose(),
            "GET",
            "/catalog",
            Utc::now(),
        ))
        .await;
    assert!(decision.is_err());
    seen.add("well-formed forgery", recorded);
    seen
}

async fn reminder_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let gil = rig.setup.user("gil", &["User"], None).await;
    let issued = rig
        .setup
        .issue_with(
            &gil,
            json!({"expiresOn": date_in(10, chrono_tz::Tz::UTC, Utc::now())}),
        )
        .await;
    let sink = CapturedSink::default();
    let job =
        reminders::ReminderJob::new(rig.watched.table.store.clone(), sink.clone(), Metrics::Off);
    // The 7-day reminder falls due at 09:00 UTC three days from now.
    let due = Utc::now() + chrono::Duration::days(4);
    let (report, recorded) = rig.watch(job.run(due)).await;
    report.unwrap();
    assert!(
        sink.events().iter().any(|e| e.token_id == issued.id),
        "the 7-day reminder went out"
    );
    seen.add("reminder run", recorded);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_each_function_makes_is_allowed_by_its_own_policy() {
    let policies = function_policies();
    let rig = Rig::new(&[]).await;
    let table = rig.setup.table.name().to_owned();
    let mut all: BTreeMap<&str, Seen> = BTreeMap::new();
    all.insert("create-token", create_token_flows(&rig).await);
    all.extend(token_management_flows(&rig).await);
    for (function, flows) in clients::client_flows(&rig).await {
        let entry = all.entry(function).or_default();
        entry.requests.extend(flows.requests);
    }
    all.insert("authorizer", authorizer_flows(&rig).await);
    all.insert("reminders", reminder_flows(&rig).await);
    println!("DynamoDB requests per function (action, partition prefix):");
    let mut refused = Vec::new();
    for (function, seen) in &all {
        let statements = policies
            .get(*function)
            .unwrap_or_else(|| panic!("no function {function} in template.yaml"));
        match check_allowed(function, statements, &table, seen) {
            Ok(shapes) => println!(
                "  {function}: {}",
                shapes.into_iter().collect::<Vec<_>>().join("; ")
            ),
            Err(message) => refused.push(message),
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}
