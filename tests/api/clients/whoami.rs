//! `GET /tokens/self` answers from the authorizer's context with no read of its own,
//! and the demo API tells every token caller when its token expires.

use chrono::{Duration, Utc};
use patgate::api::ResponseHeaders;
use patgate::token_context::TOKEN_EXPIRATION_HEADER;
use patgate_tests::proxy::DynamoProxy;
use patgate_tests::*;
use serde_json::json;

use super::{scoped, token_call, Refused};

const WHOAMI: (&str, &str, &str) = ("GET", "/tokens/self", "/tokens/self");

async fn whoami(app: &TestApp, token: &str) -> Result<Answer, Refused> {
    let request = token_call(app, token, WHOAMI, None, Utc::now()).await?;
    Ok(Answer::of(whoami::handle(
        &ResponseHeaders::new(None),
        &request,
    )))
}

#[tokio::test]
async fn a_token_learns_what_it_is_when_it_expires_and_what_it_may_do_now() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let app = TestApp::on(table.through(&proxy.endpoint), &[]);
    let ada = app.user("ada", &["User"], None).await;
    let ci = scoped(&app, &ada, &["catalog:read", "token:rotate-self"]).await;

    // The decision reads the hash item once (API Gateway's cache may spare even that);
    // the function reads nothing.
    let request = token_call(&app, &ci.token, WHOAMI, None, Utc::now())
        .await
        .unwrap();
    proxy.settle().await;
    proxy.reset_usage();
    let answer = Answer::of(whoami::handle(&ResponseHeaders::new(None), &request));
    assert!(
        proxy.usage().is_empty(),
        "whoami reads nothing: {:?}",
        proxy.usage()
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.body,
        json!({
            "id": ci.id, "name": "test token", "hint": ci.body["hint"],
            "expiresAt": ci.body["expiresAt"], "userId": "ada", "ownerKind": "user",
            "permissions": ["catalog:read", "token:rotate-self"], "limited": true,
            "rotation": {"secretVersion": 1, "secretState": "current", "canRotateSelf": true}
        })
    );
    assert_eq!(
        answer.headers[TOKEN_EXPIRATION_HEADER],
        ci.body["expiresAt"].as_str().unwrap()
    );
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert!(
        !answer.text.contains(&ci.token[4..]),
        "no secret in the answer"
    );

    // A token without its own list has its owner's permissions as they are now.
    let all = app.issue(&ada).await;
    let before = whoami(&app, &all.token).await.unwrap();
    assert_eq!(
        before.body["permissions"],
        json!(["catalog:read", "entity:edit"])
    );
    assert_eq!(before.body["limited"], json!(false));
    assert_eq!(before.body["rotation"]["canRotateSelf"], json!(false));
    app.table.add_user("ada", &["Viewer"], None).await;
    let after = whoami(&app, &all.token).await.unwrap();
    assert_eq!(after.body["permissions"], json!(["catalog:read"]));
    // The scoped token keeps only what the new role still grants, and its opt-in.
    let narrowed = whoami(&app, &ci.token).await.unwrap();
    assert_eq!(
        narrowed.body["permissions"],
        json!(["catalog:read", "token:rotate-self"])
    );
}

#[tokio::test]
async fn the_rotation_state_tells_the_current_secret_from_one_in_its_grace() {
    let app = TestApp::new().await;
    let bo = app.user("bo", &["User"], None).await;
    let issued = app.issue(&bo).await;
    let rotated = app
        .rotate(&bo, &issued.id, json!({ "graceSeconds": 600 }))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let new_secret = rotated.body["token"].as_str().unwrap();

    let old = whoami(&app, &issued.token).await.unwrap();
    assert_eq!(
        old.body["rotation"],
        json!({"secretVersion": 1, "secretState": "grace", "canRotateSelf": false})
    );
    assert_eq!(
        old.body["hint"], issued.body["hint"],
        "the hint of the secret presented"
    );
    let new = whoami(&app, new_secret).await.unwrap();
    assert_eq!(
        new.body["rotation"],
        json!({"secretVersion": 2, "secretState": "current", "canRotateSelf": false})
    );
    assert_eq!(new.body["hint"], rotated.body["hint"]);
    assert_eq!(new.body["id"], json!(issued.id));

    // After the grace the old secret gets no answer at all: the authorizer refuses it.
    let later = Utc::now() + Duration::seconds(601);
    assert_eq!(
        token_call(&app, &issued.token, WHOAMI, None, later)
            .await
            .err(),
        Some(Refused::Unauthorized("rotated_secret_reused"))
    );
}

#[tokio::test]
async fn without_the_authorizers_context_whoami_is_unauthenticated() {
    for caller in [Caller::Anonymous, Caller::Session("ada".into())] {
        let event = proxy_event("GET", "/tokens/self", "/tokens/self", None, &caller);
        let answer = Answer::of(whoami::handle(
            &ResponseHeaders::new(None),
            &request(&event),
        ));
        assert_eq!(answer.status, 401, "{caller:?}: {}", answer.text);
        assert_eq!(answer.code(), "unauthenticated");
        assert!(!answer.headers.contains_key(TOKEN_EXPIRATION_HEADER));
    }
}

#[tokio::test]
async fn the_demo_api_sends_the_token_expiration_on_every_answer_to_a_token_caller() {
    let app = TestApp::new().await;
    let cy = app.user("cy", &["Viewer"], None).await;
    let issued = app.issue(&cy).await;
    let expires_at = issued.body["expiresAt"].as_str().unwrap().to_owned();
    for (method, resource, path) in [
        ("GET", "/catalog", "/catalog"),
        ("GET", "/catalog/{entityId}", "/catalog/svc-1"),
    ] {
        let request = token_call(
            &app,
            &issued.token,
            (method, resource, path),
            None,
            Utc::now(),
        )
        .await
        .unwrap();
        let answer = Answer::of(demo_echo::handle(&request));
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers[TOKEN_EXPIRATION_HEADER], expires_at.as_str());
    }
    let anonymous = proxy_event("GET", "/catalog", "/catalog", None, &Caller::Anonymous);
    let answer = Answer::of(demo_echo::handle(&request(&anonymous)));
    assert!(!answer.headers.contains_key(TOKEN_EXPIRATION_HEADER));
}
