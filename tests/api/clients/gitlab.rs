//! GitLab's token revocation API (`/integrations/gitlab/v1/…`): the GitLab credential
//! patgate issued authenticates it (bare or after `Bearer`, as GitLab sends it); the
//! revocation answers 204 whatever the tokens were (no oracle), revokes the live ones
//! with `revoked_by` = `gitlab`, and refuses other types with 400.

use chrono::Utc;
use patgate::github::keys::{GitHubKeys, KEY_REFETCH_INTERVAL};
use patgate::gitlab::TOKEN_TYPE;
use patgate::store::IntegrationKind;
use patgate::token::{TokenPrefix, TokenSecret};
use patgate_tests::proxy::DynamoProxy;
use patgate_tests::*;
use serde_json::{json, Value};

const TYPES: (&str, &str) = ("GET", "/integrations/gitlab/v1/revocable_token_types");
const REVOKE: (&str, &str) = ("POST", "/integrations/gitlab/v1/revoke_tokens");

/// A call as API Gateway hands it to the function (no authorizer on these routes).
async fn gitlab(
    app: &TestApp,
    (method, path): (&str, &str),
    authorization: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let mut event = proxy_event(method, path, path, body, &Caller::Anonymous);
    if let Some(value) = authorization {
        event["headers"]["Authorization"] = json!(value);
        event["multiValueHeaders"]["Authorization"] = json!([value]);
    }
    let keys = GitHubKeys::new(None, KEY_REFETCH_INTERVAL);
    let response =
        revoke_credentials::dispatch(&app.service, &keys, request(&event), Utc::now()).await;
    Answer::of(response)
}

async fn credential(app: &TestApp, kind: IntegrationKind) -> String {
    app.table
        .directory()
        .issue_credential(kind, "arn:aws:iam::123456789012:role/ops", Utc::now())
        .await
        .unwrap()
        .credential
}

fn findings(tokens: &[&str]) -> String {
    let list: Vec<Value> = tokens
        .iter()
        .map(|t| json!({"type": TOKEN_TYPE, "token": t, "location": "https://gitlab.example.com/g/p/-/blob/0123/ci.yml"}))
        .collect();
    Value::Array(list).to_string()
}

async fn allowed(app: &TestApp, token: &str) -> bool {
    let authorizer = app.authorizer();
    app.authorize(&authorizer, token, "GET", "/catalog", Utc::now())
        .await
        .is_ok()
}

#[tokio::test]
async fn gitlab_learns_the_type_and_revokes_live_tokens_with_no_oracle() {
    let app = TestApp::new().await;
    let gl = credential(&app, IntegrationKind::Gitlab).await;
    let types = gitlab(&app, TYPES, Some(&gl), None).await;
    assert_eq!(types.status, 200, "{}", types.text);
    assert_eq!(types.body, json!({ "types": [TOKEN_TYPE] }));

    let ivy = app.user("ivy", &["User"], None).await;
    let live = app.issue(&ivy).await;
    let revoked = app.issue(&ivy).await;
    assert_eq!(app.revoke(&ivy, &revoked.id).await.status, 204);
    let kept = app.issue(&ivy).await;
    let never = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    let known = findings(&[&live.token, &revoked.token]);
    let unknown = findings(&[never.expose(), "glpat-notours"]);

    let bearer = format!("Bearer {gl}");
    let first = gitlab(&app, REVOKE, Some(&bearer), Some(&known)).await;
    let other = gitlab(&app, REVOKE, Some(&gl), Some(&unknown)).await;
    for answer in [&first, &other] {
        assert_eq!(answer.status, 204, "{}", answer.text);
        assert_eq!(answer.text, "");
    }
    assert_eq!(
        first.headers, other.headers,
        "known and unknown look the same"
    );
    assert!(!allowed(&app, &live.token).await, "revoked");
    assert!(allowed(&app, &kept.token).await, "not reported, untouched");
    let record = app
        .table
        .item("TOKENS#ivy", &format!("REVOKED#{}", live.id))
        .await
        .unwrap();
    assert_eq!(crate::attr_s(&record, "revoked_reason"), "leaked");
    assert_eq!(crate::attr_s(&record, "revoked_by"), "gitlab");
    // Idempotent: the same request again is the same answer and changes nothing.
    let before = app.table.all_items().await.len();
    let again = gitlab(&app, REVOKE, Some(&gl), Some(&known)).await;
    assert_eq!(again.status, 204);
    assert_eq!(app.table.all_items().await.len(), before);
}

#[tokio::test]
async fn other_credentials_are_refused_and_malformed_ones_cost_no_read() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let app = TestApp::on(table.through(&proxy.endpoint), &[]);
    let gl = credential(&app, IntegrationKind::Gitlab).await;
    let scim = credential(&app, IntegrationKind::Scim).await;
    let ivy = app.user("ivy", &["User"], None).await;
    let live = app.issue(&ivy).await;
    let body = findings(&[&live.token]);
    let mut tampered = gl.clone();
    tampered.replace_range(12..13, if &gl[12..13] == "a" { "b" } else { "a" });
    let never = {
        let fresh = TestApp::new().await;
        credential(&fresh, IntegrationKind::Gitlab).await
    };
    for (what, authorization, reads) in [
        ("no header", None, 0),
        ("a personal token", Some(live.token.as_str()), 0),
        ("the SCIM credential", Some(scim.as_str()), 0),
        ("a bad checksum", Some(tampered.as_str()), 0),
        ("another deployment's credential", Some(never.as_str()), 1),
    ] {
        for route in [TYPES, REVOKE] {
            proxy.reset_usage();
            let answer = gitlab(&app, route, authorization, Some(&body)).await;
            assert_eq!(answer.status, 401, "{what}: {}", answer.text);
            assert_eq!(answer.code(), "unauthenticated", "{what}");
            let used: u32 = proxy.usage().values().map(|u| u.requests).sum();
            assert_eq!(used, reads, "{what}: {:?}", proxy.usage());
        }
    }
    assert!(allowed(&app, &live.token).await, "nothing revoked");
    assert_eq!(gitlab(&app, TYPES, Some(&gl), None).await.status, 200);
}

#[tokio::test]
async fn bodies_gitlab_would_not_send_are_400_and_revoke_nothing() {
    let app = TestApp::new().await;
    let gl = credential(&app, IntegrationKind::Gitlab).await;
    let ivy = app.user("ivy", &["User"], None).await;
    let live = app.issue(&ivy).await;
    let other_type =
        json!([{"type": "gitleaks_rule_id_gitlab_personal_access_token", "token": live.token}])
            .to_string();
    let mixed = json!([
        {"type": TOKEN_TYPE, "token": live.token},
        {"type": "gitleaks_rule_id_aws_access_token", "token": "AKIA…"}
    ])
    .to_string();
    let too_many = findings(&vec![live.token.as_str(); 1001]);
    for (body, field) in [
        (other_type.as_str(), "type"),
        (mixed.as_str(), "type"),
        ("[]", "body"),
        (r#"{"tokens": []}"#, "body"),
        (too_many.as_str(), "body"),
    ] {
        let answer = gitlab(&app, REVOKE, Some(&gl), Some(body)).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert_eq!(answer.field(), field, "{body}");
    }
    let answer = gitlab(&app, REVOKE, Some(&gl), Some("[{")).await;
    assert_eq!((answer.status, answer.code()), (400, "invalid_json"));
    assert!(allowed(&app, &live.token).await, "nothing revoked");
}
