//! `Idempotency-Key` on `POST /tokens`: a retry never creates a second token. The retry
//! of the same request answers the same token with its secret re-issued (the plaintext
//! is never stored, so it cannot be answered twice) and `Idempotent-Replayed: true`;
//! the earlier secret stops working. The same key with another request is a 409 that
//! names the header.

use authorizer::AuthorizerError;
use chrono::Utc;
use patgate::store::items;
use patgate_tests::proxy::{DynamoProxy, Fault};
use patgate_tests::*;
use serde_json::{json, Value};

use crate::attr_s;

fn body(name: &str) -> Value {
    json!({"name": name, "expiresOn": date_in(30, chrono_tz::Tz::UTC, Utc::now()), "timeZone": "UTC", "permissions": ["catalog:read"]})
}

async fn works(app: &TestApp, secret: &str) -> bool {
    match app
        .authorize(&app.authorizer(), secret, "GET", "/catalog", Utc::now())
        .await
    {
        Ok(_) => true,
        Err(AuthorizerError::Unauthorized(_)) => false,
        Err(other) => panic!("{other:?}"),
    }
}

async fn stored_tokens(table: &TestTable) -> Vec<String> {
    table
        .all_items()
        .await
        .iter()
        .filter(|i| attr_s(i, "sk").starts_with(items::TOKEN_SK_PREFIX))
        .map(|i| attr_s(i, "token_id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_retry_with_the_same_key_answers_the_same_token_with_a_new_secret() {
    let app = TestApp::new().await;
    let ida = app.user("ida", &["User"], None).await;
    let key = "0b7d9c1e-5d1a-4c5e-9a43-2f1f3b1a9e10";
    let first = app.create_keyed(&ida, body("deploy"), key).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert!(first.headers.get("idempotent-replayed").is_none());
    // The same request, its JSON laid out differently.
    let again = json!({"timeZone": "UTC", "permissions": ["catalog:read", "catalog:read"], "expiresOn": body("x")["expiresOn"], "name": " deploy "});
    let retry = app.create_keyed(&ida, again, key).await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.body["id"], first.body["id"]);
    assert_eq!(retry.body["name"], "deploy");
    let (old, new) = (
        first.body["token"].as_str().unwrap(),
        retry.body["token"].as_str().unwrap(),
    );
    assert_ne!(old, new);
    assert!(works(&app, new).await, "the secret answered last works");
    assert!(!works(&app, old).await, "the earlier one does not");
    assert_eq!(stored_tokens(&app.table).await.len(), 1, "one token");
    let id = first.body["id"].as_str().unwrap();
    let token = app
        .table
        .item("TOKENS#ida", &format!("TOKEN#{id}"))
        .await
        .unwrap();
    assert_eq!(token["secret_version"].as_n().unwrap(), "2");
    // The key itself is not stored, only its hash.
    let everything = crate::stored_strings(&app.table.all_items().await);
    assert!(!everything.iter().any(|s| s.contains(key)));
    assert!(!everything
        .iter()
        .any(|s| s.contains(new) || s.contains(old)));
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused_by_name() {
    let app = TestApp::new().await;
    let jon = app.user("jon", &["User"], None).await;
    let first = app.create_keyed(&jon, body("one"), "key-1").await;
    assert_eq!(first.status, 201, "{}", first.text);
    let before = app.table.all_items().await;
    let other = app.create_keyed(&jon, body("two"), "key-1").await;
    assert_eq!(other.status, 409, "{}", other.text);
    assert_eq!(other.code(), "idempotency_key_reused");
    assert_eq!(other.field(), "Idempotency-Key");
    assert!(other.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("different request"));
    assert_eq!(app.table.all_items().await, before, "nothing changed");
    // Another user's same key is another key.
    let kit = app.user("kit", &["User"], None).await;
    let theirs = app.create_keyed(&kit, body("two"), "key-1").await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    assert!(theirs.headers.get("idempotent-replayed").is_none());
}

#[tokio::test]
async fn a_key_whose_token_was_revoked_creates_nothing_more() {
    let app = TestApp::new().await;
    let lea = app.user("lea", &["User"], None).await;
    let first = app.create_keyed(&lea, body("gone"), "key-2").await;
    let id = first.body["id"].as_str().unwrap();
    assert_eq!(app.revoke(&lea, id).await.status, 204);
    let retry = app.create_keyed(&lea, body("gone"), "key-2").await;
    assert_eq!(
        (retry.status, retry.code(), retry.field()),
        (409, "idempotency_key_reused", "Idempotency-Key"),
        "{}",
        retry.text
    );
    assert!(stored_tokens(&app.table).await.is_empty());
}

#[tokio::test]
async fn bad_keys_are_refused_before_any_read() {
    let app = TestApp::new().await;
    let max = app.user("max", &["User"], None).await;
    for key in [" padded", &"k".repeat(256)] {
        let answer = app.create_keyed(&max, body("x"), key).await;
        assert_eq!(
            (answer.status, answer.code(), answer.field()),
            (400, "invalid_field", "Idempotency-Key"),
            "{key:?}: {}",
            answer.text
        );
    }
    assert!(stored_tokens(&app.table).await.is_empty());
}

/// Two creations with one key at once: one token; both answer 201 with it, one of them
/// a replay, and the secret answered by the replay is the one that works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creations_with_one_key_store_one_token() {
    let app = TestApp::new().await;
    let ned = app.user("ned", &["User"], None).await;
    let (a, b) = tokio::join!(
        app.create_keyed(&ned, body("twice"), "key-3"),
        app.create_keyed(&ned, body("twice"), "key-3")
    );
    assert_eq!((a.status, b.status), (201, 201), "{} / {}", a.text, b.text);
    assert_eq!(a.body["id"], b.body["id"]);
    assert_eq!(stored_tokens(&app.table).await.len(), 1);
    let replays: Vec<&Answer> = [&a, &b]
        .into_iter()
        .filter(|x| x.headers.get("idempotent-replayed").is_some())
        .collect();
    assert_eq!(replays.len(), 1);
    assert!(works(&app, replays[0].body["token"].as_str().unwrap()).await);
    let slots = app.table.item("TOKENS#ned", items::SLOTS_SK).await.unwrap();
    assert_eq!(slots[items::SLOTS_ATTRIBUTE].as_ss().unwrap().len(), 1);
}

/// A creation that failed cleanly (the write never reached DynamoDB: 503) is retried
/// with its key once DynamoDB is back: a new token, not a replay.
#[tokio::test]
async fn a_retry_after_a_clean_failure_creates_the_token() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let app = TestApp::on(table.through(&proxy.endpoint), &[]);
    let oli = app.user("oli", &["User"], None).await;
    proxy.set_for(Fault::Reset, "TransactWriteItems", None);
    let failed = app.create_keyed(&oli, body("later"), "key-4").await;
    assert_eq!(failed.status, 503, "{}", failed.text);
    proxy.heal();
    let retry = app.create_keyed(&oli, body("later"), "key-4").await;
    assert_eq!(retry.status, 201, "{}", retry.text);
    assert!(retry.headers.get("idempotent-replayed").is_none());
    assert!(works(&app, retry.body["token"].as_str().unwrap()).await);
    assert_eq!(stored_tokens(&table).await.len(), 1);
}
