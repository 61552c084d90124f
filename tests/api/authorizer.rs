//! The authorizer through its real handler, with REQUEST and TOKEN events shaped as
//! API Gateway sends them, against DynamoDB Local.

use authorizer::{Authorizer, AuthorizerError, AuthorizerResponse};
use chrono::{Duration, Utc};
use patgate::store::{StoreError, TokenStore};
use patgate::token::{TokenPrefix, TokenSecret};
use patgate::user::{User, UserId};
use patgate_tests::proxy::{DynamoProxy, Fault};
use patgate_tests::*;
use serde_json::{json, Value};

const GET_CATALOG: (&str, &str) = ("GET", "/catalog");

/// One decision for `token` on `(method, path)` now, through a TOKEN event.
async fn call(
    authorizer: &Authorizer,
    token: &str,
    (method, path): (&str, &str),
) -> Result<AuthorizerResponse, AuthorizerError> {
    authorizer
        .handle(
            token_authorizer_event(&format!("Bearer {token}"), &method_arn(method, path)),
            Utc::now(),
        )
        .await
}

fn unauthorized(result: Result<AuthorizerResponse, AuthorizerError>) -> &'static str {
    match result {
        Err(AuthorizerError::Unauthorized(reason)) => reason,
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

fn user(id: &str, roles: &[&str], active: bool) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        time_zone: None,
        active,
    }
}

/// A well-formed token nobody issued.
fn stranger() -> TokenSecret {
    TokenSecret::generate(&TokenPrefix::default()).unwrap()
}

#[tokio::test]
async fn a_valid_token_gets_a_policy_for_its_user_with_context_from_both_event_types() {
    let app = TestApp::new().await;
    let alice = app.user("alice", &["Viewer"], None).await;
    let Issued { token, id, .. } = app.issue(&alice).await;
    let authorizer = app.authorizer();

    let allowed = call(&authorizer, &token, GET_CATALOG)
        .await
        .expect("allowed");
    let policy = allowed.policy().expect("a policy");
    assert_eq!(policy.principal_id, "alice");
    assert_eq!(allowed.context().user_id, "alice");
    assert_eq!(allowed.context().token_id, id);
    assert_eq!(allowed.context().permissions, "catalog:read");
    assert!(policy
        .policy_document
        .allows(&method_arn("GET", "/catalog")));
    let wire = serde_json::to_value(&allowed).unwrap();
    assert_eq!(wire["principalId"], "alice");
    assert_eq!(wire["policyDocument"]["Version"], "2012-10-17");
    assert_eq!(wire["context"]["tokenId"], json!(id));

    let event = request_authorizer_event(
        Some(&format!("  bEaReR   {token}  ")),
        &method_arn("GET", "/catalog/svc-1"),
    );
    let allowed = authorizer
        .handle(event, Utc::now())
        .await
        .expect("REQUEST event allowed");
    assert_eq!(allowed.policy().unwrap().principal_id, "alice");
}

#[tokio::test]
async fn viewer_reads_but_cannot_write_and_each_answer_names_only_its_route() {
    let app = TestApp::new().await;
    let vic = app.user("vic", &["Viewer"], None).await;
    let token = app.issue(&vic).await.token;
    let authorizer = app.authorizer();
    assert!(app.allows(&authorizer, &token, "GET", "/catalog").await);
    assert!(
        app.allows(&authorizer, &token, "GET", "/catalog/svc-1")
            .await
    );
    for (method, path) in [
        ("POST", "/catalog"),
        ("PUT", "/catalog/svc-1"),
        ("DELETE", "/catalog/svc-1"),
        ("PUT", "/scorecards/s1"),
        ("GET", "/settings"),
    ] {
        assert!(
            !app.allows(&authorizer, &token, method, path).await,
            "{method} {path} must be 403"
        );
    }
    // API Gateway caches an answer per token and route (the route is an identity
    // source): the answer for GET /catalog names that route only, so it can never
    // be applied to a write, nor to a deeper path. (Before routes keyed the cache,
    // one policy listed every route the token could call; deliberately changed.)
    let read = call(&authorizer, &token, GET_CATALOG).await.unwrap();
    let policy = &read.policy().unwrap().policy_document;
    assert!(policy.allows(&method_arn("GET", "/catalog")));
    assert_eq!(policy.statement.len(), 1);
    assert_eq!(
        policy.statement[0].resource,
        [method_arn("GET", "/catalog")]
    );
    assert!(!policy.allows(&method_arn("GET", "/catalog/svc-1")));
    assert!(!policy.allows(&method_arn("POST", "/catalog")));
    // A write's answer is a Deny for that write alone.
    let write = call(&authorizer, &token, ("POST", "/catalog"))
        .await
        .unwrap();
    assert!(!write.is_allowed());
    let policy = &write.policy().unwrap().policy_document;
    assert!(!policy.allows(&method_arn("POST", "/catalog")));
    assert!(!policy.allows(&method_arn("GET", "/catalog")));
}

#[tokio::test]
async fn role_changes_apply_to_existing_tokens_without_touching_them() {
    let app = TestApp::new().await;
    let mia = app.user("mia", &["Admin"], None).await;
    let token = app.issue(&mia).await.token;
    let authorizer = app.authorizer();
    assert!(app.allows(&authorizer, &token, "PUT", "/settings").await);
    app.table
        .store
        .put_user(&user("mia", &["Viewer"], true))
        .await
        .unwrap();
    assert!(
        !app.allows(&authorizer, &token, "PUT", "/settings").await,
        "downgrade applies at once"
    );
    assert!(app.allows(&authorizer, &token, "GET", "/catalog").await);
}

#[tokio::test]
async fn a_decision_is_one_dynamodb_round_trip_and_a_deactivation_applies_at_once() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let proxied = TestTable {
        client: client(&proxy.endpoint),
        store: TokenStore::new(client(&proxy.endpoint), table.name()),
    };
    let app = TestApp::on(proxied, &[]);
    let ned = app.user("ned", &["Admin"], None).await;
    let token = app.issue(&ned).await.token;
    let authorizer = app.authorizer();
    assert!(call(&authorizer, &token, GET_CATALOG).await.is_ok());
    proxy.reset_usage();
    // Warm: the use within the interval is already recorded.
    for _ in 0..5 {
        assert!(call(&authorizer, &token, GET_CATALOG).await.is_ok());
    }
    let usage = proxy.usage();
    assert_eq!(usage.keys().collect::<Vec<_>>(), ["GetItem"], "{usage:?}");
    assert_eq!(usage["GetItem"].requests, 5, "one round trip per decision");
    // Nothing is cached in the function: a deactivation applies to the next decision.
    app.table
        .store
        .put_user(&user("ned", &["Admin"], false))
        .await
        .unwrap();
    assert_eq!(
        unauthorized(call(&authorizer, &token, GET_CATALOG).await),
        "user_inactive"
    );
}

#[tokio::test]
async fn every_refusal_is_unauthorized() {
    let app = TestApp::new().await;
    let olga = app.user("olga", &["User"], None).await;
    let Issued { token, id, .. } = app.issue(&olga).await;
    let authorizer = app.authorizer();
    let arn = method_arn("GET", "/catalog");

    let missing = request_authorizer_event(None, &arn);
    assert_eq!(
        unauthorized(authorizer.handle(missing, Utc::now()).await),
        "missing_header"
    );
    for header in ["", "Basic abc", token.as_str(), "Bearer", "Bearer a b"] {
        let event = token_authorizer_event(header, &arn);
        assert_eq!(
            unauthorized(authorizer.handle(event, Utc::now()).await),
            "malformed_header",
            "{header:?}"
        );
    }
    let mut typo = token.clone().into_bytes();
    typo[20] = if typo[20] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(
        unauthorized(call(&authorizer, &typo, GET_CATALOG).await),
        "bad_checksum"
    );
    assert_eq!(
        unauthorized(call(&authorizer, "ghp_notours", GET_CATALOG).await),
        "wrong_prefix"
    );
    assert_eq!(
        unauthorized(call(&authorizer, stranger().expose(), GET_CATALOG).await),
        "unknown_token"
    );

    // Past its expiry but not yet removed by TTL (which can lag by days).
    let after_expiry = Utc::now() + Duration::days(31);
    let event = token_authorizer_event(&format!("Bearer {token}"), &arn);
    assert_eq!(
        unauthorized(authorizer.handle(event, after_expiry).await),
        "expired"
    );

    // Revoked.
    assert_eq!(app.revoke(&olga, &id).await.status, 204);
    assert_eq!(
        unauthorized(call(&authorizer, &token, GET_CATALOG).await),
        "unknown_token"
    );
}

#[tokio::test]
async fn deactivated_users_and_missing_hash_items_are_unauthorized() {
    let app = TestApp::new().await;
    let pat = app.user("pat", &["Admin"], None).await;
    let quinn = app.user("quinn", &["Admin"], None).await;
    let pat_token = app.issue(&pat).await.token;
    let quinn_token = app.issue(&quinn).await.token;
    let authorizer = app.authorizer();
    app.table
        .store
        .put_user(&user("pat", &["Admin"], false))
        .await
        .unwrap();
    assert_eq!(
        unauthorized(call(&authorizer, &pat_token, GET_CATALOG).await),
        "user_inactive"
    );
    // The hash item gone (deleted by hand, or by TTL after the token's expiry).
    app.table
        .client
        .delete_item()
        .table_name(app.table.name())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "HASH#{}",
                patgate::token::TokenHash::of(&quinn_token).as_str()
            )),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("HASH".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        unauthorized(call(&authorizer, &quinn_token, GET_CATALOG).await),
        "unknown_token"
    );
}

#[tokio::test]
async fn malformed_and_forged_tokens_are_refused_without_touching_dynamodb() {
    let table = TestTable::new().await;
    // A store that cannot answer: any DynamoDB call would make the outcome Unavailable.
    let dead = TokenStore::new(client("http://127.0.0.1:9"), table.name());
    let authorizer = Authorizer::new(&table.settings(), dead, test_permissions());
    let forged = format!("pgt_{}", "A".repeat(patgate::token::BODY_LEN));
    for token in [forged.as_str(), "pgt_short", "nope"] {
        assert!(
            matches!(
                call(&authorizer, token, GET_CATALOG).await,
                Err(AuthorizerError::Unauthorized(_))
            ),
            "{token}"
        );
    }
    assert!(matches!(
        call(&authorizer, stranger().expose(), GET_CATALOG).await,
        Err(AuthorizerError::Unavailable(StoreError::Unavailable(_)))
    ));
}

#[tokio::test]
async fn dynamodb_stopped_mid_run_never_allows() {
    let mut dynamodb = private_dynamodb().await;
    let app = TestApp::on(TestTable::at(&dynamodb.endpoint()).await, &[]);
    let rita = app.user("rita", &["Admin"], None).await;
    let token = app.issue(&rita).await.token;
    let authorizer = app.authorizer();
    assert!(call(&authorizer, &token, GET_CATALOG).await.is_ok());
    dynamodb.stop().await;
    let outcome = call(&authorizer, &token, GET_CATALOG).await;
    let Err(err @ AuthorizerError::Unavailable(_)) = outcome else {
        panic!("expected a failure, got {outcome:?}")
    };
    let diagnostic: authorizer::Diagnostic = err.into();
    assert_ne!(
        diagnostic.error_message, "Unauthorized",
        "API Gateway must answer 5xx, not 401"
    );
}

#[tokio::test]
async fn last_use_and_its_origin_are_recorded_at_most_once_per_interval() {
    let app = TestApp::new().await;
    let sam = app.user("sam", &["User"], None).await;
    let token = app.issue(&sam).await.token;
    let last_use = || async {
        let first = app.list(&sam).await.body["tokens"][0].clone();
        (
            first["lastUsedAt"].clone(),
            first["lastUsedIp"].clone(),
            first["lastUsedUserAgent"].clone(),
        )
    };
    assert_eq!(last_use().await.0, Value::Null, "null until the first use");
    let now = Utc::now();
    assert!(app
        .authorize(&app.authorizer(), &token, "GET", "/catalog", now)
        .await
        .is_ok());
    let first = last_use().await;
    assert!(first.0.is_string(), "recorded on first use");
    assert_eq!(
        (first.1.as_str(), first.2.as_str()),
        (Some(SOURCE_IP), Some(USER_AGENT))
    );
    // A second container (fresh in-process memory) within the interval does not write again.
    let later = now + Duration::seconds(5);
    assert!(app
        .authorize(&app.authorizer(), &token, "GET", "/catalog", later)
        .await
        .is_ok());
    assert_eq!(last_use().await, first);
    // After the interval, it does.
    let much_later = now + Duration::seconds(301);
    assert!(app
        .authorize(&app.authorizer(), &token, "GET", "/catalog", much_later)
        .await
        .is_ok());
    assert_ne!(last_use().await.0, first.0);
    // A TOKEN event has no origin to record: the last known one is not kept.
    let event = token_authorizer_event(&format!("Bearer {token}"), &method_arn("GET", "/catalog"));
    let latest = now + Duration::seconds(700);
    assert!(app.authorizer().handle(event, latest).await.is_ok());
    let (at, ip, agent) = last_use().await;
    assert!(at.is_string());
    assert_eq!((ip, agent), (Value::Null, Value::Null));
}

#[tokio::test]
async fn the_first_use_of_a_cold_container_is_recorded_even_when_dynamodb_is_slow() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let slow = TestTable {
        client: client(&proxy.endpoint),
        store: TokenStore::new(client(&proxy.endpoint), table.name()),
    };
    let app = TestApp::on(slow, &[]);
    let uma = app.user("uma", &["User"], None).await;
    let token = app.issue(&uma).await.token;
    proxy.set(Fault::DelayAnswer(std::time::Duration::from_millis(80)));
    let cold = app.authorizer();
    assert!(call(&cold, &token, GET_CATALOG).await.is_ok());
    proxy.heal();
    assert!(
        app.list(&uma).await.body["tokens"][0]["lastUsedAt"].is_string(),
        "an 80 ms store still records the first use"
    );
}

// Deliberately changed with the log-cost work (issue 19): a decision used to be one
// INFO log line; now its metric line is its record at INFO, and its log line is DEBUG.
// That the real binary writes the metric line only at INFO, and the decision line with
// its fields at DEBUG, is tests/e2e/test_log_secrecy.py and test_log_bytes.py (a
// process of its own: tracing's per-call-site interest cache is global, so a DEBUG
// subscriber inside this multi-threaded test binary misses lines other tests' threads
// registered first).
#[tokio::test]
async fn each_decision_is_counted_by_one_metric_line_without_the_token_or_its_hash() {
    let app = TestApp::new().await;
    let tess = app.user("tess", &["User"], None).await;
    let Issued { token, .. } = app.issue(&tess).await;
    let metrics = patgate::metrics::Metrics::captured();
    let authorizer = app.authorizer().with_metrics(metrics.clone());
    call(&authorizer, &token, GET_CATALOG).await.unwrap();
    // The same token with its last character changed: a checksum failure.
    let last = if token.ends_with('x') { 'y' } else { 'x' };
    let mistyped = format!("{}{last}", &token[..token.len() - 1]);
    let _ = call(&authorizer, &mistyped, GET_CATALOG).await;

    let lines = metrics.lines();
    let counted: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(counted.len(), 2);
    assert_eq!(counted[0]["Outcome"], "allow");
    assert_eq!(counted[0]["Reason"], "valid_token");
    assert!(counted[0]["DecisionLatency"].is_f64());
    assert_eq!(counted[1]["Outcome"], "unauthorized");
    assert_eq!(counted[1]["Reason"], "bad_checksum");
    // By outcome and reason, and by outcome alone (the crash alarm's).
    assert_eq!(
        counted[1]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Service", "Outcome", "Reason"], ["Service", "Outcome"]])
    );
    let everything = lines.join("\n");
    assert!(
        !everything.contains(&token[4..]),
        "the token never reaches the logs"
    );
    assert!(
        !everything.contains(patgate::token::TokenHash::of(&token).as_str()),
        "nor its hash"
    );
}
