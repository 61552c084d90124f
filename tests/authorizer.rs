//! The authorizer through its real handler, with TOKEN and REQUEST events shaped as
//! API Gateway sends them, against DynamoDB Local.

use std::sync::{Arc, Mutex};

use authorizer::{Authorizer, AuthorizerError, AuthorizerResponse};
use chrono::{Duration, Utc};
use chrono_tz::Tz;
use patgate::permissions::PermissionConfig;
use patgate::store::{StoreError, TokenStore};
use patgate::token::{TokenPrefix, TokenSecret};
use patgate::user::User;
use patgate_tests::*;
use serde_json::{json, Value};

const GET_CATALOG: (&str, &str) = ("GET", "/catalog");

fn authorizer_for(table: &TestTable, overrides: &[(&str, &str)]) -> Authorizer {
    let mut settings = vec![("USER_CACHE_TTL_SECONDS", "0")];
    settings.extend_from_slice(overrides);
    Authorizer::new(
        &table.settings_with(&settings),
        table.store.clone(),
        PermissionConfig::bundled().unwrap(),
    )
}

/// Creates a token through the real create handler and returns (plaintext, token id).
async fn issue(table: &TestTable, user: &str, days: i64) -> (String, String) {
    let body =
        json!({"name":"api","expiresOn":date_in(days, Tz::UTC, Utc::now()),"timeZone":"UTC"});
    let response = create_token::handle(
        &table.service(),
        post_tokens(&body, &Caller::Session(user.into())),
        Utc::now(),
    )
    .await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
    let body = json_body(&response);
    (
        body["token"].as_str().unwrap().to_owned(),
        body["id"].as_str().unwrap().to_owned(),
    )
}

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

#[tokio::test]
async fn a_valid_token_gets_a_policy_for_its_user_with_context_from_both_event_types() {
    let table = TestTable::new().await;
    table.add_user("alice", &["Viewer"], None).await;
    let (token, id) = issue(&table, "alice", 1).await;
    let authorizer = authorizer_for(&table, &[]);

    let allowed = call(&authorizer, &token, GET_CATALOG)
        .await
        .expect("allowed");
    assert_eq!(allowed.principal_id, "alice");
    assert_eq!(allowed.context.user_id, "alice");
    assert_eq!(allowed.context.token_id, id);
    assert_eq!(allowed.context.permissions, "catalog:read");
    assert!(allowed
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
    assert_eq!(allowed.principal_id, "alice");
}

#[tokio::test]
async fn viewer_reads_but_cannot_write_even_with_a_policy_cached_from_a_read() {
    let table = TestTable::new().await;
    table.add_user("vic", &["Viewer"], None).await;
    let (token, _) = issue(&table, "vic", 1).await;
    let authorizer = authorizer_for(&table, &[]);
    // API Gateway caches this policy (made for GET /catalog) and reuses it for every route.
    let policy = call(&authorizer, &token, GET_CATALOG)
        .await
        .unwrap()
        .policy_document;
    assert!(policy.allows(&method_arn("GET", "/catalog/svc-1")));
    for (method, path) in [
        ("POST", "/catalog"),
        ("PUT", "/catalog/svc-1"),
        ("DELETE", "/catalog/svc-1"),
        ("PUT", "/scorecards/s1"),
        ("GET", "/settings"),
    ] {
        assert!(
            !policy.allows(&method_arn(method, path)),
            "{method} {path} must be 403"
        );
    }
    // A policy produced for a write call is just as safe.
    let policy = call(&authorizer, &token, ("POST", "/catalog"))
        .await
        .unwrap()
        .policy_document;
    assert!(!policy.allows(&method_arn("POST", "/catalog")));
    assert!(policy.allows(&method_arn("GET", "/catalog")));
}

#[tokio::test]
async fn role_changes_apply_to_existing_tokens_without_touching_them() {
    let table = TestTable::new().await;
    let id = table.add_user("mia", &["Admin"], None).await;
    let (token, _) = issue(&table, "mia", 1).await;
    let authorizer = authorizer_for(&table, &[]);
    assert!(call(&authorizer, &token, GET_CATALOG)
        .await
        .unwrap()
        .policy_document
        .allows(&method_arn("PUT", "/settings")));
    table
        .store
        .put_user(&User {
            id,
            roles: vec!["Viewer".into()],
            time_zone: None,
            active: true,
        })
        .await
        .unwrap();
    let policy = call(&authorizer, &token, GET_CATALOG)
        .await
        .unwrap()
        .policy_document;
    assert!(
        !policy.allows(&method_arn("PUT", "/settings")),
        "downgrade applies at once"
    );
    assert!(policy.allows(&method_arn("GET", "/catalog")));
}

#[tokio::test]
async fn the_user_cache_is_bounded_in_time() {
    let table = TestTable::new().await;
    let id = table.add_user("ned", &["Admin"], None).await;
    let (token, _) = issue(&table, "ned", 1).await;
    let authorizer = authorizer_for(&table, &[("USER_CACHE_TTL_SECONDS", "1")]);
    assert!(call(&authorizer, &token, GET_CATALOG).await.is_ok());
    table
        .store
        .put_user(&User {
            id,
            roles: vec!["Admin".into()],
            time_zone: None,
            active: false,
        })
        .await
        .unwrap();
    // Within the cache TTL the cached record may still answer; after it, never.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        unauthorized(call(&authorizer, &token, GET_CATALOG).await),
        "user_inactive"
    );
}

#[tokio::test]
async fn every_refusal_is_unauthorized() {
    let table = TestTable::new().await;
    table.add_user("olga", &["User"], None).await;
    let (token, id) = issue(&table, "olga", 1).await;
    let authorizer = authorizer_for(&table, &[]);
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
    typo[10] = if typo[10] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(
        unauthorized(call(&authorizer, &typo, GET_CATALOG).await),
        "bad_checksum"
    );
    assert_eq!(
        unauthorized(call(&authorizer, "ghp_notours", GET_CATALOG).await),
        "wrong_prefix"
    );
    let stranger = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    assert_eq!(
        unauthorized(call(&authorizer, stranger.expose(), GET_CATALOG).await),
        "unknown_token"
    );

    // Past its expiry but not yet removed by TTL (which can lag by days).
    let after_expiry = Utc::now() + Duration::days(2);
    let event = token_authorizer_event(&format!("Bearer {token}"), &arn);
    assert_eq!(
        unauthorized(authorizer.handle(event, after_expiry).await),
        "expired"
    );

    // Revoked.
    let response = revoke_token::handle(
        &table.service(),
        delete_token(&id, &Caller::Session("olga".into())),
        Utc::now(),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        unauthorized(call(&authorizer, &token, GET_CATALOG).await),
        "unknown_token"
    );
}

#[tokio::test]
async fn deactivated_and_deleted_users_are_unauthorized() {
    let table = TestTable::new().await;
    let pat = table.add_user("pat", &["Admin"], None).await;
    table.add_user("quinn", &["Admin"], None).await;
    let (pat_token, _) = issue(&table, "pat", 1).await;
    let (quinn_token, _) = issue(&table, "quinn", 1).await;
    let authorizer = authorizer_for(&table, &[]);
    table
        .store
        .put_user(&User {
            id: pat,
            roles: vec!["Admin".into()],
            time_zone: None,
            active: false,
        })
        .await
        .unwrap();
    assert_eq!(
        unauthorized(call(&authorizer, &pat_token, GET_CATALOG).await),
        "user_inactive"
    );
    table
        .client
        .delete_item()
        .table_name(table.name())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("USER#quinn".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("PROFILE".into()),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        unauthorized(call(&authorizer, &quinn_token, GET_CATALOG).await),
        "unknown_user"
    );
}

#[tokio::test]
async fn malformed_and_forged_tokens_are_refused_without_touching_dynamodb() {
    let table = TestTable::new().await;
    // A store that cannot answer: any DynamoDB call would make the outcome Unavailable.
    let dead = TokenStore::new(client("http://127.0.0.1:9"), table.name());
    let authorizer = Authorizer::new(
        &table.settings(),
        dead,
        PermissionConfig::bundled().unwrap(),
    );
    let forged = format!("pgt_{}", "A".repeat(49));
    for token in [forged.as_str(), "pgt_short", "nope"] {
        assert!(
            matches!(
                call(&authorizer, token, GET_CATALOG).await,
                Err(AuthorizerError::Unauthorized(_))
            ),
            "{token}"
        );
    }
    let well_formed = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    assert!(matches!(
        call(&authorizer, well_formed.expose(), GET_CATALOG).await,
        Err(AuthorizerError::Unavailable(StoreError::Unavailable(_)))
    ));
}

#[tokio::test]
async fn dynamodb_stopped_mid_run_never_allows() {
    let mut dynamodb = private_dynamodb().await;
    let table = TestTable::at(&dynamodb.endpoint()).await;
    table.add_user("rita", &["Admin"], None).await;
    let (token, _) = issue(&table, "rita", 1).await;
    // A long user cache must not help either: the hash lookup is never cached.
    let authorizer = authorizer_for(&table, &[("USER_CACHE_TTL_SECONDS", "60")]);
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
async fn last_use_is_recorded_at_most_once_per_interval() {
    let table = TestTable::new().await;
    table.add_user("sam", &["User"], None).await;
    let (token, _) = issue(&table, "sam", 1).await;
    let authorizer = authorizer_for(&table, &[]);
    let listed = |table: &TestTable| {
        let service = table.service();
        async move {
            let response = list_tokens::handle(
                &service,
                get_tokens(&Caller::Session("sam".into())),
                Utc::now(),
            )
            .await;
            json_body(&response)["tokens"][0]["lastUsedAt"].clone()
        }
    };
    assert_eq!(
        listed(&table).await,
        Value::Null,
        "null until the first use"
    );
    assert!(call(&authorizer, &token, GET_CATALOG).await.is_ok());
    let first = listed(&table).await;
    assert!(first.is_string(), "recorded on first use");
    // A second container (fresh in-process memory) within the interval does not write again.
    let other_container = authorizer_for(&table, &[]);
    let later = Utc::now() + Duration::seconds(5);
    let event = token_authorizer_event(&format!("Bearer {token}"), &method_arn("GET", "/catalog"));
    assert!(other_container.handle(event.clone(), later).await.is_ok());
    assert_eq!(listed(&table).await, first);
    // After the interval, it does.
    let much_later = Utc::now() + Duration::seconds(301);
    assert!(authorizer_for(&table, &[])
        .handle(event, much_later)
        .await
        .is_ok());
    assert_ne!(listed(&table).await, first);
}

/// Collects what the authorizer logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_decision_is_one_json_log_line_without_the_token_or_its_hash() {
    let table = TestTable::new().await;
    table.add_user("tess", &["User"], None).await;
    let (token, id) = issue(&table, "tess", 1).await;
    let authorizer = authorizer_for(&table, &[]);
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    call(&authorizer, &token, GET_CATALOG).await.unwrap();
    // The same token with its last character changed: a checksum failure.
    let last = if token.ends_with('x') { 'y' } else { 'x' };
    let mistyped = format!("{}{last}", &token[..token.len() - 1]);
    let _ = call(&authorizer, &mistyped, GET_CATALOG).await;
    drop(_guard);

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let decisions: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("every line is JSON"))
        .filter(|line| line["fields"]["message"] == "decision")
        .collect();
    assert_eq!(decisions.len(), 2, "{text}");
    assert_eq!(decisions[0]["fields"]["outcome"], "allow");
    assert_eq!(decisions[0]["fields"]["user_id"], "tess");
    assert_eq!(decisions[0]["fields"]["token_id"], json!(id));
    assert!(decisions[0]["fields"]["latency_us"].is_u64());
    assert_eq!(decisions[1]["fields"]["outcome"], "unauthorized");
    assert!(decisions[1]["fields"]["reason"].is_string());
    assert!(
        !text.contains(&token[4..]),
        "the token never reaches the logs"
    );
    assert!(
        !text.contains(patgate::token::TokenHash::of(&token).as_str()),
        "nor its hash"
    );
}
