//! A deployment changes its token prefix: tokens issued under the earlier prefix keep
//! working while it is listed in `EARLIER_TOKEN_PREFIXES`, new tokens carry the new
//! one, and once the earlier prefix is dropped its tokens are refused offline.

use authorizer::{AuthorizerError, AuthorizerResponse};
use chrono::Utc;
use patgate::github::keys::{GitHubKeys, KEY_REFETCH_INTERVAL};
use patgate_tests::github::{GitHubSigner, KeyServer};
use patgate_tests::proxy::DynamoProxy;
use patgate_tests::*;
use serde_json::json;

fn reason(result: Result<AuthorizerResponse, AuthorizerError>) -> &'static str {
    match result {
        Err(AuthorizerError::Unauthorized(reason)) => reason,
        Ok(_) => "allowed",
        Err(other) => panic!("expected a decision, got {other:?}"),
    }
}

async fn decision(app: &TestApp, token: &str) -> &'static str {
    let authorizer = app.authorizer();
    reason(
        app.authorize(&authorizer, token, "GET", "/catalog", Utc::now())
            .await,
    )
}

#[tokio::test]
async fn a_prefix_change_keeps_earlier_tokens_working_until_the_earlier_prefix_is_dropped() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    // Three deployments of one table, one after the other: under A; under B with A
    // still accepted; under B alone.
    let under_a = TestApp::on(table.through(&endpoint()), &[("TOKEN_PREFIX", "acme_")]);
    let switched = TestApp::on(
        table.through(&endpoint()),
        &[
            ("TOKEN_PREFIX", "acme_pgt_"),
            ("EARLIER_TOKEN_PREFIXES", "acme_"),
        ],
    );
    let dropped = TestApp::on(
        table.through(&proxy.endpoint),
        &[("TOKEN_PREFIX", "acme_pgt_")],
    );

    let ora = under_a.user("ora", &["User"], None).await;
    let old = under_a.issue(&ora).await;
    assert!(old.token.starts_with("acme_") && !old.token.starts_with("acme_pgt_"));
    assert_eq!(
        old.body["hint"],
        json!(format!("acme_…{}", &old.token[old.token.len() - 4..]))
    );
    assert_eq!(decision(&under_a, &old.token).await, "allowed");

    // Switched to B with A accepted: A's token still authorizes, B's is issued.
    assert_eq!(decision(&switched, &old.token).await, "allowed");
    let new = switched.issue(&ora).await;
    assert!(new.token.starts_with("acme_pgt_"), "{}", new.token);
    assert_eq!(new.token.len(), "acme_pgt_".len() + 49);
    assert_eq!(
        new.body["hint"],
        json!(format!("acme_pgt_…{}", &new.token[new.token.len() - 4..]))
    );
    assert_eq!(decision(&switched, &new.token).await, "allowed");
    // Rotating an A token gives it a B secret.
    let rotated = switched
        .rotate(&ora, &old.id, json!({"graceSeconds": 600}))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let rotated_secret = rotated.body["token"].as_str().unwrap().to_owned();
    assert!(rotated_secret.starts_with("acme_pgt_"));
    assert_eq!(
        decision(&switched, &old.token).await,
        "allowed",
        "A's secret in its grace"
    );

    // A dropped: A's token is refused by parsing alone, without a DynamoDB call; B's works.
    proxy.clear_recorded();
    assert_eq!(decision(&dropped, &old.token).await, "wrong_prefix");
    assert!(
        proxy.recorded().is_empty(),
        "refused offline: {:?}",
        proxy.recorded()
    );
    assert_eq!(decision(&dropped, &new.token).await, "allowed");
    assert_eq!(decision(&dropped, &rotated_secret).await, "allowed");
}

#[tokio::test]
async fn leak_reports_and_github_alerts_follow_the_accepted_prefixes() {
    let table = TestTable::new().await;
    let under_a = TestApp::on(table.through(&endpoint()), &[("TOKEN_PREFIX", "old_")]);
    let github = GitHubSigner::generate("k1");
    let server = KeyServer::start(&[&github]).await;
    let switched = TestApp::on(
        table.through(&endpoint()),
        &[
            ("TOKEN_PREFIX", "new_"),
            ("EARLIER_TOKEN_PREFIXES", "old_"),
            ("GITHUB_SECRET_SCANNING_KEYS_URL", &server.url),
        ],
    );
    let pia = under_a.user("pia", &["User"], None).await;
    let reported = under_a.issue(&pia).await;
    let alerted = under_a.issue(&pia).await;
    let current = switched.issue(&pia).await;

    let answer = switched
        .report(&json!({"credentials": [reported.token]}).to_string())
        .await;
    assert_eq!(answer.status, 202);
    assert_eq!(decision(&switched, &reported.token).await, "unknown_token");

    let keys = GitHubKeys::new(
        switched.service.settings.github_keys_url.clone(),
        KEY_REFETCH_INTERVAL,
    );
    let body = json!([
        {"token": alerted.token, "type": "patgate_token"},
        {"token": current.token, "type": "patgate_token"},
        {"token": format!("pgt_{}", &current.token["new_".len()..]), "type": "patgate_token"}
    ])
    .to_string();
    let answer = switched
        .github_alert(&keys, &github.headers(body.as_bytes()), &body)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let labels: Vec<&str> = answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["true_positive", "true_positive", "false_positive"]);
    assert_eq!(decision(&switched, &alerted.token).await, "unknown_token");
    assert_eq!(decision(&switched, &current.token).await, "unknown_token");
}
