//! A catalogue of bad inputs: request bodies, headers, path ids and query parameters
//! of every route, and the authorizer's header, each with the exact status and error
//! code it must get (and the field its message names). Nothing a bad input does may
//! change what is stored: the whole table is dumped before the first case and after
//! the last, and the two dumps must be equal; no case may send a single write to
//! DynamoDB either.
//!
//! Decisions this catalogue holds the API to (from `shared/src/api.rs`): bodies are
//! JSON objects of the route's fields only, each once (an unknown field is a 400 on
//! `body`, a duplicated one a 400 on that field); `null` is "absent" for optional
//! fields and "missing" for required ones; `Content-Type` is not consulted, the body
//! is read as JSON whatever it says; a path id that cannot be a token id is a 404, like
//! an unknown one; the leaked-credential report answers 202 to strings that are not
//! live tokens.

use std::collections::BTreeMap;

use authorizer::AuthorizerError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use lambda_http::{Body, Response};
use patgate::user::{User, UserId};
use patgate_tests::proxy::DynamoProxy;
use patgate_tests::*;
use serde_json::{json, Value};

use crate::Item;

mod cases;
mod create;

use cases::*;
use create::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Create,
    List,
    Revoke,
    Rotate,
    Report,
    Authorizer,
}

/// What a case must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// 400 `invalid_field`, naming the field.
    Field(&'static str),
    /// 400 `invalid_json`.
    Json,
    /// 413 `payload_too_large`.
    TooLarge,
    /// 404 `not_found`.
    NotFound,
    /// Another error status and code.
    Error(u16, &'static str),
    /// A success without a body (202, 204): the input was acceptable and changed nothing.
    Empty(u16),
    /// The authorizer refuses (API Gateway's 401) for this reason, after this many
    /// DynamoDB requests (0: refused offline).
    Unauthorized(&'static str, usize),
}

struct Case {
    name: String,
    route: Route,
    event: Value,
    /// When the call happens, after the catalogue's start.
    later: Duration,
    expect: Expect,
}

/// What a call got.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: u16,
    code: String,
    field: String,
    message: String,
}

fn outcome_of(response: Response<Body>) -> Outcome {
    let status = response.status().as_u16();
    let body: Value = match response.body() {
        Body::Empty => Value::Null,
        _ => serde_json::from_str(&body_text(&response)).unwrap_or(Value::Null),
    };
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    Outcome {
        status,
        code: text(&body["error"]["code"]),
        field: text(&body["error"]["field"]),
        message: text(&body["error"]["message"]),
    }
}

/// Base64 (standard alphabet, padded), for binary bodies as API Gateway hands them on.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn with_header(mut event: Value, name: &str, value: &str) -> Value {
    event["headers"][name] = json!(value);
    if event["multiValueHeaders"].is_object() {
        event["multiValueHeaders"][name] = json!([value]);
    }
    event
}

/// `event` with the path parameter `id` as API Gateway passes it (decoded) and the
/// path as the caller sent it (percent-encoded) in `path` (`{}` marks the id).
fn with_id(mut event: Value, path: &str, id: &str) -> Value {
    let encoded: String = id
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    event["pathParameters"]["id"] = json!(id);
    event["path"] = json!(path.replace("{}", &encoded));
    event["requestContext"]["path"] = json!(format!("/prod{}", path.replace("{}", &encoded)));
    event
}

fn binary(mut event: Value, bytes: &[u8]) -> Value {
    event["body"] = json!(base64(bytes));
    event["isBase64Encoded"] = json!(true);
    event
}

/// The catalogue's users and tokens, and the cases built around them.
struct Catalogue {
    now: DateTime<Utc>,
    /// A date 30 days ahead in UTC: a valid `expiresOn`.
    valid: String,
    alice: Caller,
    /// Alice's live token, her revoked one, Bob's live one.
    live: Issued,
    revoked: Issued,
    bobs: Issued,
    /// The live token of a user who was deactivated since.
    inactive: Issued,
    cases: Vec<Case>,
}

impl Catalogue {
    fn push(&mut self, name: impl Into<String>, route: Route, event: Value, expect: Expect) {
        self.push_at(name, route, event, Duration::zero(), expect);
    }

    fn push_at(
        &mut self,
        name: impl Into<String>,
        route: Route,
        event: Value,
        later: Duration,
        expect: Expect,
    ) {
        let name = name.into();
        assert!(
            self.cases.iter().all(|c| c.name != name),
            "two cases named {name}"
        );
        self.cases.push(Case {
            name,
            route,
            event,
            later,
            expect,
        });
    }

    fn create_event(&self, body: &str) -> Value {
        proxy_event("POST", "/tokens", "/tokens", Some(body), &self.alice)
    }

    fn create(&mut self, name: &str, body: &str, expect: Expect) {
        let event = self.create_event(body);
        self.push(format!("create: {name}"), Route::Create, event, expect);
    }

    /// A create body with the valid fields and `extra` spliced in (raw JSON text).
    fn create_with(&mut self, name: &str, extra: &str, expect: Expect) {
        let body = format!(r#"{{"name":"ok","expiresOn":"{}",{extra}}}"#, self.valid);
        self.create(name, &body, expect);
    }

    fn rotate_event(&self, id: &str, body: &str, caller: &Caller) -> Value {
        let event = proxy_event(
            "POST",
            "/tokens/{id}/rotate",
            "/tokens/x/rotate",
            Some(body),
            caller,
        );
        with_id(event, "/tokens/{}/rotate", id)
    }

    fn rotate(&mut self, name: &str, body: &str, expect: Expect) {
        let event = self.rotate_event(&self.live.id.clone(), body, &self.alice.clone());
        self.push(format!("rotate: {name}"), Route::Rotate, event, expect);
    }

    fn revoke(&mut self, name: &str, id: &str, expect: Expect) {
        let event = proxy_event("DELETE", "/tokens/{id}", "/tokens/x", None, &self.alice);
        let event = with_id(event, "/tokens/{}", id);
        self.push(format!("revoke: {name}"), Route::Revoke, event, expect);
    }

    fn report(&mut self, name: &str, body: &str, expect: Expect) {
        let event = proxy_event(
            "POST",
            "/credentials/revoke",
            "/credentials/revoke",
            Some(body),
            &Caller::Anonymous,
        );
        self.push(format!("report: {name}"), Route::Report, event, expect);
    }

    fn list(&mut self, name: &str, query: &[(&str, &str)], expect: Expect) {
        let event = proxy_event_with_query("GET", "/tokens", "/tokens", query, None, &self.alice);
        self.push(format!("list: {name}"), Route::List, event, expect);
    }

    fn authorize(&mut self, name: &str, header: Option<&str>, expect: Expect) {
        self.authorize_at(name, header, Duration::zero(), expect);
    }

    fn authorize_at(&mut self, name: &str, header: Option<&str>, later: Duration, expect: Expect) {
        let event = request_authorizer_event(header, &method_arn("GET", "/catalog"));
        self.push_at(
            format!("authorizer: {name}"),
            Route::Authorizer,
            event,
            later,
            expect,
        );
    }

    fn authorize_event(&mut self, name: &str, event: Value, expect: Expect) {
        self.push(
            format!("authorizer: {name}"),
            Route::Authorizer,
            event,
            expect,
        );
    }
}

/// A stable rendering of every stored item (sets sorted), the items sorted.
fn dump(items: &[Item]) -> Vec<String> {
    fn canonical(value: &AttributeValue) -> String {
        match value {
            AttributeValue::Ss(set) | AttributeValue::Ns(set) => {
                let mut sorted = set.clone();
                sorted.sort();
                format!("{sorted:?}")
            }
            AttributeValue::L(list) => {
                format!("L{:?}", list.iter().map(canonical).collect::<Vec<_>>())
            }
            AttributeValue::M(map) => format!(
                "M{:?}",
                map.iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect::<BTreeMap<_, _>>()
            ),
            other => format!("{other:?}"),
        }
    }
    let mut rendered: Vec<String> = items
        .iter()
        .map(|item| {
            format!(
                "{:?}",
                item.iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect::<BTreeMap<_, _>>()
            )
        })
        .collect();
    rendered.sort();
    rendered
}

const WRITES: [&str; 6] = [
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "ExecuteStatement",
];

#[tokio::test]
async fn bad_input_gets_its_exact_error_and_changes_nothing_stored() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let app = TestApp::on(table.through(&proxy.endpoint), &[]);
    let setup = TestApp::on(table, &[]);
    let now = Utc::now();
    let alice = setup.user("alice", &["User"], Some("Europe/Paris")).await;
    let bob = setup.user("bob", &["User"], None).await;
    let ivan = setup.user("ivan", &["User"], None).await;
    let live = setup.issue(&alice).await;
    let revoked = setup.issue(&alice).await;
    assert_eq!(setup.revoke(&alice, &revoked.id).await.status, 204);
    let bobs = setup.issue(&bob).await;
    let inactive = setup.issue(&ivan).await;
    let deactivated = User {
        id: UserId::parse("ivan").unwrap(),
        roles: vec!["User".to_owned()],
        time_zone: None,
        active: false,
    };
    setup.table.store.put_user(&deactivated).await.unwrap();

    let mut catalogue = Catalogue {
        now,
        valid: date_in(30, Tz::UTC, now),
        alice,
        live,
        revoked,
        bobs,
        inactive,
        cases: Vec::new(),
    };
    create_cases(&mut catalogue);
    rotate_cases(&mut catalogue);
    revoke_cases(&mut catalogue);
    report_cases(&mut catalogue);
    list_cases(&mut catalogue);
    authorizer_cases(&mut catalogue);
    let cases = catalogue.cases;
    assert!(cases.len() >= 100, "{} cases", cases.len());

    let before = dump(&setup.table.all_items().await);
    let authorizer = app.authorizer();
    let mut failures = Vec::new();
    for case in &cases {
        proxy.clear_recorded();
        let at = now + case.later;
        let got = match case.route {
            Route::Authorizer => match authorizer.handle(case.event.clone(), at).await {
                Ok(_) => Outcome {
                    status: 200,
                    code: "allow".into(),
                    field: String::new(),
                    message: String::new(),
                },
                Err(err @ AuthorizerError::Unauthorized(_)) => Outcome {
                    status: 401,
                    code: err.reason().to_owned(),
                    field: String::new(),
                    message: err.to_string(),
                },
                Err(err) => Outcome {
                    status: 500,
                    code: err.reason().to_owned(),
                    field: String::new(),
                    message: err.to_string(),
                },
            },
            route => {
                let request = request(&case.event);
                let service = &app.service;
                outcome_of(match route {
                    Route::Create => create_token::handle(service, request, at).await,
                    Route::List => list_tokens::handle(service, request, at).await,
                    Route::Revoke => revoke_token::handle(service, request, at).await,
                    Route::Rotate => rotate_token::handle(service, request, at).await,
                    Route::Report => revoke_credentials::handle(service, request, at).await,
                    Route::Authorizer => unreachable!(),
                })
            }
        };
        // Anything sent counts, even a request the code stopped waiting for.
        proxy.settle().await;
        let requests = proxy.recorded();
        let (status, code, field) = match case.expect {
            Expect::Field(field) => (400, "invalid_field", field),
            Expect::Json => (400, "invalid_json", ""),
            Expect::TooLarge => (413, "payload_too_large", ""),
            Expect::NotFound => (404, "not_found", ""),
            Expect::Error(status, code) => (status, code, ""),
            Expect::Empty(status) => (status, "", ""),
            Expect::Unauthorized(reason, _) => (401, reason, ""),
        };
        let mut wrong = Vec::new();
        if (got.status, got.code.as_str(), got.field.as_str()) != (status, code, field) {
            wrong.push(format!("expected {status} {code} {field:?}"));
        }
        if !field.is_empty() && !got.message.starts_with(&format!("{field}: ")) {
            wrong.push(format!("the message does not name {field}"));
        }
        if status >= 400 && case.route != Route::Authorizer && got.message.is_empty() {
            wrong.push("no error message".to_owned());
        }
        if let Expect::Unauthorized(_, reads) = case.expect {
            if requests.len() != reads {
                wrong.push(format!(
                    "expected {reads} DynamoDB requests, saw {}",
                    requests.len()
                ));
            }
            if got.message != "Unauthorized" {
                wrong.push("API Gateway answers 401 only to `Unauthorized`".to_owned());
            }
        }
        let writes: Vec<&str> = requests
            .iter()
            .map(|r| r.operation.as_str())
            .filter(|op| WRITES.contains(op))
            .collect();
        if !writes.is_empty() {
            wrong.push(format!("wrote to DynamoDB: {writes:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: got {got:?}; {}", case.name, wrong.join("; ")));
        }
    }
    let after = dump(&setup.table.all_items().await);
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(before, after, "the table changed");
    println!(
        "{} bad inputs: each its exact answer, nothing stored changed",
        cases.len()
    );
}

/// User agents as a REST API hands them on: text that is not what a browser sends
/// (bytes a gateway could not decode, replaced; Latin-1 read as UTF-8; emoji;
/// direction overrides; nothing at all) neither denies a valid token nor breaks the
/// last-use write, which keeps the agent as sent, cut to 256 characters.
#[tokio::test]
async fn odd_user_agents_of_a_valid_token_are_allowed_and_recorded_as_sent() {
    let app = TestApp::new().await;
    let kim = app.user("kim", &["User"], None).await;
    let token = app.issue(&kim).await.token;
    let start = Utc::now();
    let long = "é".repeat(300);
    let cut = "é".repeat(256);
    let agents = [
        ("café-client/1.0", "café-client/1.0"),
        ("\u{fffd}\u{fffd}bot/2", "\u{fffd}\u{fffd}bot/2"),
        ("Ã©lan/3", "Ã©lan/3"),
        ("🤖/4", "🤖/4"),
        ("\u{202e}evil", "\u{202e}evil"),
        ("a\tb", "a\tb"),
        ("   ", "   "),
        ("", ""),
        (long.as_str(), cut.as_str()),
    ];
    for (i, (agent, kept)) in agents.into_iter().enumerate() {
        // Each use a new last-use interval later, so each one is recorded.
        let at = start + Duration::seconds(301 * (i as i64 + 1));
        let event = with_header(
            request_authorizer_event(
                Some(&format!("Bearer {token}")),
                &method_arn("GET", "/catalog"),
            ),
            "User-Agent",
            agent,
        );
        let decision = app.authorizer().handle(event, at).await;
        assert!(decision.is_ok(), "{agent:?}: {decision:?}");
        let listed = app.list_query(&kim, &[], at).await.body["tokens"][0].clone();
        assert_eq!(
            listed["lastUsedAt"],
            json!(patgate::api::wire_time(at)),
            "{agent:?}: the use is recorded"
        );
        assert_eq!(listed["lastUsedUserAgent"], json!(kept), "{agent:?}");
    }
}

/// A user record as an older writer or a hand-made import stores it: no
/// `access_version`, no time zone, and no slots item yet. It creates tokens up to the
/// cap under concurrency (409s, never 5xx), and a role change reaches its tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_record_without_an_access_version_works_like_any_other() {
    let app = std::sync::Arc::new(TestApp::with(&[("MAX_TOKENS_PER_USER", "3")]).await);
    let s = |v: &str| AttributeValue::S(v.to_owned());
    app.table
        .client
        .put_item()
        .table_name(app.table.name())
        .item("pk", s("USER#olga"))
        .item("sk", s("PROFILE"))
        .item("user_id", s("olga"))
        .item("roles", AttributeValue::L(vec![s("Viewer")]))
        .item("active", AttributeValue::Bool(true))
        .send()
        .await
        .unwrap();
    let olga = Caller::Session("olga".to_owned());
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..8 {
        let (app, olga) = (app.clone(), olga.clone());
        attempts.spawn(async move {
            let body =
                json!({"name": format!("t{i}"), "expiresOn": date_in(5, Tz::UTC, Utc::now())});
            app.create(&olga, body).await
        });
    }
    let mut statuses: Vec<u16> = attempts.join_all().await.iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 201, 201, 409, 409, 409, 409, 409]);

    let promoted = User {
        id: UserId::parse("olga").unwrap(),
        roles: vec!["Manager".to_owned()],
        time_zone: None,
        active: true,
    };
    let stored = app.table.store.put_user(&promoted).await.unwrap();
    assert_eq!(stored.access_version, 1, "a missing version reads as 0");
    let listed = app.list(&olga).await;
    let tokens = listed.body["tokens"].as_array().unwrap().clone();
    assert_eq!(tokens.len(), 3);
    let authorizer = app.authorizer();
    let secret = app
        .rotate(&olga, tokens[0]["id"].as_str().unwrap(), json!({}))
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let decision = app
        .authorize(&authorizer, &secret, "PUT", "/scorecards/svc-1", Utc::now())
        .await
        .unwrap();
    assert!(
        decision.context().permissions.contains("scorecard:edit"),
        "{:?}",
        decision.context()
    );
}
