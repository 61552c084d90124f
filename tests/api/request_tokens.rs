//! Transactions' `ClientRequestToken`s. AWS documents that a token is kept for 10
//! minutes after the request that used it, that an identical request within them
//! succeeds without writing again, and that the token with other parameters is refused
//! with `IdempotentParameterMismatch`; it does not say whether a *cancelled*
//! transaction's token is kept. The store makes each token name one payload (see
//! `patgate::store`'s settle module), so retries are safe either way; these tests pin
//! what DynamoDB Local does, and that racing writes of one token never meet a mismatch.

use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use patgate_tests::proxy::{DynamoProxy, Fault};
use patgate_tests::*;
use serde_json::json;

fn put(table: &str, value: &str, condition: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .item("pk", AttributeValue::S("PROBE#token".into()))
        .item("sk", AttributeValue::S("PROBE".into()))
        .item("value", AttributeValue::S(value.into()))
        .condition_expression(condition)
        .build()
        .unwrap();
    TransactWriteItem::builder().put(put).build()
}

#[tokio::test]
async fn dynamodb_local_keeps_the_request_tokens_of_commits_only() {
    let table = TestTable::new().await;
    let send = |value: &'static str, token: &'static str, condition: &'static str| {
        table
            .client
            .transact_write_items()
            .transact_items(put(table.name(), value, condition))
            .client_request_token(token)
            .send()
    };
    let code = |result: Result<_, aws_sdk_dynamodb::error::SdkError<_, _>>| match result {
        Ok(_) => "ok".to_owned(),
        Err(err) => err.code().unwrap_or("?").to_owned(),
    };
    let absent = "attribute_not_exists(pk)";
    let present = "attribute_exists(pk)";
    // Cancelled (nothing there yet for `attribute_exists`): the same token with another
    // payload is a new request, evaluated on its own.
    assert_eq!(
        code(send("one", "t-1", present).await),
        "TransactionCanceledException"
    );
    assert_eq!(code(send("two", "t-1", absent).await), "ok");
    // Committed: an identical resend succeeds without writing; another payload under
    // the token is a mismatch.
    assert_eq!(code(send("two", "t-1", absent).await), "ok");
    assert_eq!(
        code(send("three", "t-1", present).await),
        "IdempotentParameterMismatchException"
    );
    let stored = table.item("PROBE#token", "PROBE").await.unwrap();
    assert_eq!(stored["value"].as_s().unwrap(), "two");
}

/// A user's revoke and a leak report of the same token read it before either writes.
/// Whichever commits first, the other finds the token changed (or collides with it),
/// reads again and finds it revoked: 204 and 202, one revoked record, never a 5xx.
/// (Each attempt's request token names its own payload; a mismatch, were one ever
/// met, would be settled by reading back like a lost answer.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_racing_a_leak_report_of_the_same_token_answers_cleanly() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let app = TestApp::on(table.through(&proxy.endpoint), &[]);
    let pat = app.user("pat", &["User"], None).await;
    let issued = app.issue(&pat).await;
    // Both token reads answer late, so both writes start from the same token.
    proxy.set_for(
        Fault::DelayAnswer(Duration::from_millis(500)),
        "GetItem",
        Some(2),
    );
    let report = json!({"credentials": [issued.token]}).to_string();
    let (revoked, reported) = tokio::join!(app.revoke(&pat, &issued.id), app.report(&report));
    proxy.heal();
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    assert_eq!(reported.status, 202, "{}", reported.text);
    let records: Vec<_> = table
        .all_items()
        .await
        .into_iter()
        .filter(|i| crate::attr_s(i, "sk").starts_with("REVOKED#"))
        .collect();
    assert_eq!(records.len(), 1);
    assert!(app.list(&pat).await.body["tokens"]
        .as_array()
        .unwrap()
        .is_empty());
}
