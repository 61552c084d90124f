//! GitHub's secret scanning alerts (`POST /integrations/github/secret-scanning`),
//! signed with P-256 keys generated here and published by a key server on 127.0.0.1:
//! valid alerts revoke and label; bad signatures, unknown key ids, missing headers and
//! replays are refused, the refusals before any table read; the key document is
//! fetched once and again only for an unknown id, at most once per interval.

use std::time::Duration;

use authorizer::{AuthorizerError, AuthorizerResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use patgate::github::keys::{GitHubKeys, KEY_REFETCH_INTERVAL};
use patgate::github::signature::{encode_der, AlertSignature};
use patgate::token::{TokenHash, TokenPrefix, TokenSecret};
use patgate_tests::github::{GitHubSigner, KeyServer};
use patgate_tests::proxy::{DynamoProxy, Fault};
use patgate_tests::*;
use serde_json::{json, Value};

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

/// An alert body as GitHub sends it: one match per token.
fn alert(tokens: &[&str]) -> String {
    let matches: Vec<Value> = tokens
        .iter()
        .map(|t| json!({"token": t, "type": "patgate_token", "url": "https://github.com/octo/repo/blob/0123/leak.txt", "source": "content"}))
        .collect();
    Value::Array(matches).to_string()
}

/// A look-alike: the token with one body character changed (its checksum fails).
fn look_alike(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    String::from_utf8(bytes).expect("ASCII")
}

/// An app whose table is reached through a recording proxy, to see every read.
async fn watched_app() -> (TestApp, DynamoProxy) {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    (TestApp::on(table.through(&proxy.endpoint), &[]), proxy)
}

/// A refused alert: what it is, its headers and body, the status and code expected.
type Refusal<'a> = (&'a str, Vec<(String, String)>, &'a str, u16, &'a str);

fn labels(answer: &Answer) -> Vec<(String, String)> {
    answer
        .body
        .as_array()
        .unwrap_or_else(|| panic!("a list of labels: {}", answer.text))
        .iter()
        .map(|l| {
            (
                l["token_hash"].as_str().unwrap_or("").to_owned(),
                l["label"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_signed_alert_revokes_live_tokens_and_labels_by_format_alone() {
    let github = GitHubSigner::generate("k1");
    let server = KeyServer::start(&[&github]).await;
    let keys = GitHubKeys::new(Some(server.url.clone()), KEY_REFETCH_INTERVAL);
    let app = TestApp::new().await;
    let ivy = app.user("ivy", &["User"], None).await;
    let live = app.issue(&ivy).await;
    let kept = app.issue(&ivy).await;
    let revoked = app.issue(&ivy).await;
    assert_eq!(app.revoke(&ivy, &revoked.id).await.status, 204);
    let never_issued = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    let bad_checksum = look_alike(&kept.token);
    let tokens = [
        live.token.as_str(),
        revoked.token.as_str(),
        never_issued.expose(),
        bad_checksum.as_str(),
        "ghp_notours",
    ];
    let body = alert(&tokens);
    let answer = app
        .github_alert(&keys, &github.headers(body.as_bytes()), &body)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.headers["cache-control"], "no-store");
    // One label per match, in order, with GitHub's hash of the raw string (never the
    // string), and the type GitHub named.
    let expected: Vec<(String, String)> = tokens
        .iter()
        .zip([
            "true_positive",
            "true_positive",
            "true_positive",
            "false_positive",
            "false_positive",
        ])
        .map(|(t, l)| (TokenHash::of(t).as_str().to_owned(), l.to_owned()))
        .collect();
    assert_eq!(labels(&answer), expected);
    assert!(answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["token_type"] == "patgate_token"));
    assert!(
        !answer.text.contains(&live.token[4..]),
        "no secret in the answer"
    );
    // The live token is revoked as a leak report would; the look-alike's original lives.
    assert_eq!(decision(&app, &live.token).await, "unknown_token");
    assert_eq!(decision(&app, &kept.token).await, "allowed");
    let history = app
        .list_query(&ivy, &[("status", "revoked")], Utc::now())
        .await;
    let leaked = history.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == json!(live.id))
        .expect("the live token is in the revoked list");
    assert_eq!(leaked["revokedReason"], "leaked");
    let record = app
        .table
        .item("TOKENS#ivy", &format!("REVOKED#{}", live.id))
        .await
        .unwrap();
    assert_eq!(crate::attr_s(&record, "revoked_by"), "github");
    assert_eq!(server.fetches(), 1, "keys fetched once");
}

#[tokio::test]
async fn known_and_unknown_tokens_get_the_same_labels() {
    // A live token, and a well-formed string never issued: the caller sees no difference.
    let github = GitHubSigner::generate("k1");
    let server = KeyServer::start(&[&github]).await;
    let keys = GitHubKeys::new(Some(server.url.clone()), KEY_REFETCH_INTERVAL);
    let app = TestApp::new().await;
    let jon = app.user("jon", &["User"], None).await;
    let live = app.issue(&jon).await;
    let stranger = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    let mut answers = Vec::new();
    for token in [live.token.as_str(), stranger.expose()] {
        let body = alert(&[token]);
        let answer = app
            .github_alert(&keys, &github.headers(body.as_bytes()), &body)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let mut shape = answer.body.clone();
        shape[0]["token_hash"] = json!("");
        answers.push((answer.headers.clone(), shape));
    }
    assert_eq!(answers[0], answers[1]);
}

#[tokio::test]
async fn bad_signatures_unknown_keys_and_missing_headers_are_refused_before_any_read() {
    let github = GitHubSigner::generate("k1");
    let impostor = GitHubSigner::generate("k1"); // GitHub's id, another key
    let server = KeyServer::start(&[&github]).await;
    let keys = GitHubKeys::new(Some(server.url.clone()), KEY_REFETCH_INTERVAL);
    let (app, proxy) = watched_app().await;
    let kim = app.user("kim", &["User"], None).await;
    let live = app.issue(&kim).await;
    let body = alert(&[&live.token]);
    let signature = github.sign(body.as_bytes());
    let other_body = alert(&[&live.token, "pgt_more"]);
    let spaced_body = format!("{body} ");
    let header = |id: &str, sig: &str| {
        vec![
            ("Github-Public-Key-Identifier".to_owned(), id.to_owned()),
            ("Github-Public-Key-Signature".to_owned(), sig.to_owned()),
        ]
    };
    let cases: Vec<Refusal> = vec![
        (
            "another key's signature",
            impostor.headers(body.as_bytes()),
            &body,
            401,
            "invalid_signature",
        ),
        (
            "the signature of another body",
            header("k1", &signature),
            &other_body,
            401,
            "invalid_signature",
        ),
        (
            "a body changed by one space",
            header("k1", &signature),
            &spaced_body,
            401,
            "invalid_signature",
        ),
        (
            "an unknown key id",
            header("k2", &signature),
            &body,
            401,
            "invalid_signature",
        ),
        (
            "a signature that is not DER",
            header("k1", &STANDARD.encode(b"hello")),
            &body,
            401,
            "invalid_signature",
        ),
        (
            "a signature that is not base64",
            header("k1", "%%%"),
            &body,
            401,
            "invalid_signature",
        ),
        (
            "no key id",
            vec![header("k1", &signature)[1].clone()],
            &body,
            400,
            "invalid_field",
        ),
        (
            "no signature",
            vec![header("k1", &signature)[0].clone()],
            &body,
            400,
            "invalid_field",
        ),
    ];
    proxy.clear_recorded();
    for (what, headers, body, status, code) in cases {
        let answer = app.github_alert(&keys, &headers, body).await;
        assert_eq!(
            (answer.status, answer.code()),
            (status, code),
            "{what}: {}",
            answer.text
        );
        assert!(!answer.text.contains(&live.token[4..]), "{what}");
    }
    let missing = app.github_alert(&keys, &[], &body).await;
    assert_eq!(missing.field(), "Github-Public-Key-Identifier");
    assert!(
        proxy.recorded().is_empty(),
        "refusals read and write nothing: {:?}",
        proxy.recorded()
    );
    assert_eq!(decision(&app, &live.token).await, "allowed");
    let genuine = app
        .github_alert(&keys, &header("k1", &signature), &body)
        .await;
    assert_eq!(genuine.status, 200, "the genuine alert still goes through");
    // The unknown id did not trigger a second fetch within the interval.
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn a_replayed_alert_is_refused_even_re_encoded() {
    let github = GitHubSigner::generate("k1");
    let server = KeyServer::start(&[&github]).await;
    let keys = GitHubKeys::new(Some(server.url.clone()), KEY_REFETCH_INTERVAL);
    let (app, proxy) = watched_app().await;
    let lea = app.user("lea", &["User"], None).await;
    let live = app.issue(&lea).await;
    let body = alert(&[&live.token]);
    let headers = github.headers(body.as_bytes());
    assert_eq!(app.github_alert(&keys, &headers, &body).await.status, 200);

    proxy.clear_recorded();
    let again = app.github_alert(&keys, &headers, &body).await;
    assert_eq!(
        (again.status, again.code()),
        (409, "replayed"),
        "{}",
        again.text
    );
    // (r, n − s) is the same signature in another encoding: it verifies, and is a replay.
    let sent = AlertSignature::from_header(&headers[1].1).expect("a signature");
    let (r, _) = sent.scalars();
    let twin = STANDARD.encode(encode_der(&r, &sent.negated_s()));
    assert_ne!(twin, headers[1].1);
    let twin_headers = vec![headers[0].clone(), (headers[1].0.clone(), twin)];
    let replay = app.github_alert(&keys, &twin_headers, &body).await;
    assert_eq!(
        (replay.status, replay.code()),
        (409, "replayed"),
        "{}",
        replay.text
    );
    let operations: Vec<String> = proxy
        .recorded()
        .iter()
        .map(|r| r.operation.clone())
        .collect();
    assert_eq!(
        operations,
        ["PutItem", "PutItem"],
        "a replay costs its marker's put only"
    );
    // A fresh signature of the same body (GitHub re-sending) is a new message.
    let resent = app
        .github_alert(&keys, &github.headers(body.as_bytes()), &body)
        .await;
    assert_eq!(resent.status, 200, "{}", resent.text);
    let marker = app
        .table
        .all_items()
        .await
        .into_iter()
        .filter(|item| crate::attr_s(item, "pk").starts_with("REPLAY#"))
        .collect::<Vec<_>>();
    assert_eq!(marker.len(), 2);
    let ttl: i64 = marker[0]["delete_after"].as_n().unwrap().parse().unwrap();
    let day = Utc::now().timestamp() + 86_400;
    assert!((day - 5..=day + 5).contains(&ttl), "kept a day: {ttl}");
    assert_eq!(
        marker[0].len(),
        3,
        "pk, sk, delete_after only: {:?}",
        marker[0]
    );
}

#[tokio::test]
async fn an_alert_that_fails_midway_leaves_no_marker_so_its_retry_is_handled() {
    let github = GitHubSigner::generate("k1");
    let server = KeyServer::start(&[&github]).await;
    let keys = GitHubKeys::new(Some(server.url.clone()), KEY_REFETCH_INTERVAL);
    let (app, proxy) = watched_app().await;
    let max = app.user("max", &["User"], None).await;
    let live = app.issue(&max).await;
    let body = alert(&[&live.token]);
    let headers = github.headers(body.as_bytes());
    proxy.set_for(Fault::Reset, "BatchGetItem", None);
    let failed = app.github_alert(&keys, &headers, &body).await;
    assert_eq!((failed.status, failed.code()), (503, "service_unavailable"));
    assert_eq!(
        decision(&app, &live.token).await,
        "allowed",
        "nothing revoked yet"
    );
    proxy.heal();
    let retried = app.github_alert(&keys, &headers, &body).await;
    assert_eq!(
        retried.status, 200,
        "GitHub's retry is no replay: {}",
        retried.text
    );
    assert_eq!(decision(&app, &live.token).await, "unknown_token");
}

#[tokio::test]
async fn keys_are_fetched_again_for_an_unknown_id_at_most_once_per_interval() {
    let first = GitHubSigner::generate("k1");
    let rotated_in = GitHubSigner::generate("k2");
    let server = KeyServer::start(&[&first]).await;
    let app = TestApp::new().await;
    let body = alert(&["ghp_x"]);

    // Within the interval: an unknown id never refetches, however often it comes.
    let patient = GitHubKeys::new(Some(server.url.clone()), Duration::from_secs(3600));
    assert_eq!(
        app.github_alert(&patient, &first.headers(body.as_bytes()), &body)
            .await
            .status,
        200
    );
    server.publish(&[&first, &rotated_in]);
    for _ in 0..5 {
        let answer = app
            .github_alert(&patient, &rotated_in.headers(body.as_bytes()), &body)
            .await;
        assert_eq!((answer.status, answer.code()), (401, "invalid_signature"));
    }
    assert_eq!(server.fetches(), 1);

    // Past the interval (zero here): GitHub's new key is fetched and accepted, and a
    // known id costs no fetch.
    let eager = GitHubKeys::new(Some(server.url.clone()), Duration::ZERO);
    let answer = app
        .github_alert(&eager, &rotated_in.headers(body.as_bytes()), &body)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        app.github_alert(&eager, &first.headers(body.as_bytes()), &body)
            .await
            .status,
        200
    );
    assert_eq!(server.fetches(), 2);

    // A key server that fails: 503 (GitHub may retry), and no refetch within the interval.
    let down = KeyServer::start(&[&first]).await;
    down.answer_with(500);
    let unlucky = GitHubKeys::new(Some(down.url.clone()), Duration::from_secs(3600));
    for _ in 0..3 {
        let answer = app
            .github_alert(&unlucky, &first.headers(body.as_bytes()), &body)
            .await;
        assert_eq!((answer.status, answer.code()), (503, "service_unavailable"));
    }
    assert_eq!(down.fetches(), 1);
}

#[tokio::test]
async fn a_deployment_without_a_key_url_refuses_every_alert_and_fetches_nothing() {
    let github = GitHubSigner::generate("k1");
    let server = KeyServer::start(&[&github]).await;
    let (app, proxy) = watched_app().await;
    let off = GitHubKeys::new(None, KEY_REFETCH_INTERVAL);
    let body = alert(&["pgt_x"]);
    proxy.clear_recorded();
    let answer = app
        .github_alert(&off, &github.headers(body.as_bytes()), &body)
        .await;
    assert_eq!((answer.status, answer.code()), (401, "invalid_signature"));
    assert_eq!(server.fetches(), 0);
    assert!(proxy.recorded().is_empty());
}

#[tokio::test]
async fn the_function_serves_both_routes_by_the_route_api_gateway_matched() {
    let github = GitHubSigner::generate("k1");
    let server = KeyServer::start(&[&github]).await;
    let table = TestTable::new().await;
    let settings = table.settings_with(&[("GITHUB_SECRET_SCANNING_KEYS_URL", &server.url)]);
    let service = patgate::service::TokenService::new(
        settings,
        table.store.clone(),
        patgate_tests::test_permissions(),
    );
    let reports = revoke_credentials::LeakReports::new(service);
    let body = alert(&["ghp_x"]);
    let github_call = request(&patgate_tests::app::github_event(
        &github.headers(body.as_bytes()),
        &body,
    ));
    let answer = reports.handle(github_call, Utc::now()).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(json_body(&answer)[0]["label"], "false_positive");
    let report = proxy_event(
        "POST",
        "/credentials/revoke",
        "/credentials/revoke",
        Some(r#"{"credentials": ["x"]}"#),
        &Caller::Anonymous,
    );
    assert_eq!(
        reports.handle(request(&report), Utc::now()).await.status(),
        202
    );
    let stray = proxy_event(
        "POST",
        "/elsewhere",
        "/elsewhere",
        Some("{}"),
        &Caller::Anonymous,
    );
    assert_eq!(
        reports.handle(request(&stray), Utc::now()).await.status(),
        404
    );
}
