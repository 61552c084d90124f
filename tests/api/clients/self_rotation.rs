//! `POST /tokens/self/rotate`: opt-in per token, by its current secret only, with the
//! rotation's grace rules, and at most once per interval per token (the write's own
//! condition, so racing calls cannot both pass).

use chrono::{DateTime, Duration, Utc};
use patgate_tests::*;
use serde_json::{json, Value};

use super::{scoped, secrets, token_call, token_event, Refused};

const ROTATE_SELF: (&str, &str, &str) = ("POST", "/tokens/self/rotate", "/tokens/self/rotate");
/// A route every valid token may call.
const WHOAMI: (&str, &str, &str) = ("GET", "/tokens/self", "/tokens/self");

async fn rotate_self(
    app: &TestApp,
    token: &str,
    body: Value,
    now: DateTime<Utc>,
) -> Result<Answer, Refused> {
    let text = body.to_string();
    let request = token_call(app, token, ROTATE_SELF, Some(&text), now).await?;
    Ok(Answer::of(
        rotate_token::handle(&app.service, request, now).await,
    ))
}

async fn works(app: &TestApp, token: &str, now: DateTime<Utc>) -> bool {
    token_call(app, token, WHOAMI, None, now).await.is_ok()
}

#[tokio::test]
async fn a_token_that_opted_in_rotates_itself_and_gets_the_new_secret_once() {
    let app = TestApp::new().await;
    let ada = app.user("ada", &["User"], None).await;
    let bot = scoped(&app, &ada, &["catalog:read", "token:rotate-self"]).await;
    let now = Utc::now();

    let answer = rotate_self(&app, &bot.token, json!({}), now).await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert_eq!(answer.body["id"], json!(bot.id), "same token");
    let new_secret = answer.body["token"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, bot.token);
    assert_eq!(
        answer.body["expiresAt"], bot.body["expiresAt"],
        "expiry kept"
    );
    assert!(works(&app, &new_secret, now).await);
    // Grace 0 by default, as for a rotation; a later use of the old secret is a reuse.
    let later = now + Duration::seconds(1);
    assert_eq!(
        token_call(&app, &bot.token, WHOAMI, None, later)
            .await
            .err(),
        Some(Refused::Unauthorized("rotated_secret_reused"))
    );
    let listed = app.list(&ada).await;
    let token = &listed.body["tokens"][0];
    assert!(token["secretReusedAt"].is_string(), "{token}");
    assert!(token["rotatedAt"].is_string());
    let item = app
        .table
        .item("TOKENS#ada", &format!("TOKEN#{}", bot.id))
        .await
        .unwrap();
    assert_eq!(item["secret_version"].as_n().unwrap(), "2");
    assert!(
        !listed.text.contains(&new_secret[4..]),
        "the secret is answered once"
    );
}

#[tokio::test]
async fn the_grace_and_expiry_rules_are_the_rotations() {
    let app = TestApp::new().await;
    let ada = app.user("ada", &["User"], None).await;
    let bot = scoped(&app, &ada, &["token:rotate-self"]).await;
    let now = Utc::now();
    let next_day = date_in(40, chrono_tz::Tz::UTC, now);
    let body = json!({"graceSeconds": 300, "expiresOn": next_day});
    let answer = rotate_self(&app, &bot.token, body, now).await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["expiresOn"], json!(next_day));
    assert!(works(&app, &bot.token, now + Duration::seconds(299)).await);
    assert!(!works(&app, &bot.token, now + Duration::seconds(301)).await);

    // Bad input: the field named, nothing stored changes.
    let fresh = scoped(&app, &ada, &["token:rotate-self"]).await;
    let before = secrets(&app).await;
    for (body, field) in [
        (json!({"graceSeconds": 10_000_000}), "graceSeconds"),
        (json!({"expiresOn": "2020-01-01"}), "expiresOn"),
        (json!({"colour": "red"}), "body"),
    ] {
        let answer = rotate_self(&app, &fresh.token, body.clone(), now)
            .await
            .unwrap();
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert_eq!(answer.field(), field, "{body}");
    }
    assert_eq!(secrets(&app).await, before, "nothing stored changes");
    assert!(works(&app, &fresh.token, now).await);
}

#[tokio::test]
async fn without_the_opt_in_the_route_is_closed_and_the_function_refuses_too() {
    let app = TestApp::new().await;
    let ada = app.user("ada", &["Admin"], None).await;
    // Not by default, and not through "all of my permissions": only the token's list.
    for token in [
        app.issue(&ada).await,
        scoped(&app, &ada, &["catalog:read"]).await,
    ] {
        assert_eq!(
            rotate_self(&app, &token.token, json!({}), Utc::now())
                .await
                .err(),
            Some(Refused::Forbidden)
        );
    }
    // Were the gateway to let it through, the function checks the context again.
    let plain = app.issue(&ada).await;
    let allowed = token_event(&app, &plain.token, WHOAMI, None, Utc::now())
        .await
        .unwrap();
    let (method, resource, path) = ROTATE_SELF;
    let mut forged = proxy_event(method, resource, path, Some("{}"), &Caller::Anonymous);
    forged["requestContext"]["authorizer"] = allowed["requestContext"]["authorizer"].clone();
    let answer = Answer::of(rotate_token::handle(&app.service, request(&forged), Utc::now()).await);
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert_eq!(answer.code(), "forbidden");
    assert!(works(&app, &plain.token, Utc::now()).await, "not rotated");
    // A web session is no token: the route's function answers 401.
    let session = proxy_event(method, resource, path, Some("{}"), &ada);
    let answer =
        Answer::of(rotate_token::handle(&app.service, request(&session), Utc::now()).await);
    assert_eq!(answer.status, 401, "{}", answer.text);
}

#[tokio::test]
async fn only_the_current_secret_rotates_the_token() {
    let app = TestApp::new().await;
    let ada = app.user("ada", &["User"], None).await;
    let bot = scoped(&app, &ada, &["catalog:read", "token:rotate-self"]).await;
    let rotated = app
        .rotate(&ada, &bot.id, json!({"graceSeconds": 3600}))
        .await;
    assert_eq!(rotated.status, 201);
    let now = Utc::now() + Duration::hours(2);
    let at = Utc::now() + Duration::seconds(5);
    let answer = rotate_self(&app, &bot.token, json!({}), at).await.unwrap();
    assert_eq!(answer.status, 409, "{}", answer.text);
    assert_eq!(answer.code(), "secret_replaced");
    let current = rotated.body["token"].as_str().unwrap();
    assert!(
        works(&app, current, at).await,
        "the current secret is untouched"
    );
    // The current one may (once the interval since the owner's rotation has passed).
    let answer = rotate_self(&app, current, json!({}), now).await.unwrap();
    assert_eq!(answer.status, 201, "{}", answer.text);
}

#[tokio::test]
async fn a_token_rotates_itself_at_most_once_per_interval_even_when_calls_race() {
    let app = TestApp::new().await;
    let ada = app.user("ada", &["User"], None).await;
    let bot = scoped(&app, &ada, &["token:rotate-self"]).await;
    let now = Utc::now();
    let first = rotate_self(&app, &bot.token, json!({}), now).await.unwrap();
    assert_eq!(first.status, 201);
    let secret = first.body["token"].as_str().unwrap().to_owned();

    let soon = now + Duration::minutes(10);
    let before = secrets(&app).await;
    let refused = rotate_self(&app, &secret, json!({}), soon).await.unwrap();
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.code(), "rate_limited");
    assert_eq!(refused.headers["retry-after"], "3000");
    assert_eq!(secrets(&app).await, before, "nothing stored changes");
    assert!(works(&app, &secret, soon).await);
    // A person's rotation is not limited by it.
    assert_eq!(app.rotate(&ada, &bot.id, json!({})).await.status, 201);

    // Once the interval has passed: two calls at once, one rotation.
    let other = scoped(&app, &ada, &["token:rotate-self"]).await;
    let (a, b) = tokio::join!(
        rotate_self(&app, &other.token, json!({}), now),
        rotate_self(&app, &other.token, json!({}), now)
    );
    let mut statuses = vec![a.unwrap().status, b.unwrap().status];
    statuses.sort();
    assert_eq!(statuses, [201, 429]);
    let item = app
        .table
        .item("TOKENS#ada", &format!("TOKEN#{}", other.id))
        .await
        .unwrap();
    assert_eq!(item["secret_version"].as_n().unwrap(), "2", "one rotation");
}

#[tokio::test]
async fn the_limit_is_the_writes_own_condition_not_only_the_check_before_it() {
    use patgate::store::{RotateOutcome, Rotation};
    use patgate::token::{TokenId, TokenPrefix, TokenSecret};
    use patgate::user::UserId;

    let app = TestApp::new().await;
    let ada = app.user("ada", &["User"], None).await;
    let bot = scoped(&app, &ada, &["token:rotate-self"]).await;
    let store = &app.service.store;
    let (user, id) = (
        UserId::parse("ada").unwrap(),
        TokenId::parse(&bot.id).unwrap(),
    );
    let owner = store.get_user(&user).await.unwrap().unwrap();
    // Both racers read the token before either wrote.
    let read = store.get_token(&user, &id).await.unwrap().unwrap();
    let now = Utc::now();
    let rotation = |secret: &TokenSecret| Rotation {
        new_hash: secret.hash(),
        new_hint: secret.hint(),
        expiry: read.expiry.clone(),
        grace_until: now,
        reminders: Vec::new(),
        at: now,
        not_rotated_since: Some(now - Duration::hours(1)),
    };
    let (first, second) = (
        TokenSecret::generate(&TokenPrefix::default()).unwrap(),
        TokenSecret::generate(&TokenPrefix::default()).unwrap(),
    );
    let won = store
        .rotate_token(&read, &rotation(&first), &owner)
        .await
        .unwrap();
    assert!(matches!(won, RotateOutcome::Rotated(_)), "{won:?}");
    let lost = store
        .rotate_token(&read, &rotation(&second), &owner)
        .await
        .unwrap();
    assert!(matches!(lost, RotateOutcome::TooSoon(_)), "{lost:?}");
    // Read afresh (the secret matches): refused on rotated_at alone.
    let fresh = store.get_token(&user, &id).await.unwrap().unwrap();
    let refused = store
        .rotate_token(&fresh, &rotation(&second), &owner)
        .await
        .unwrap();
    assert!(matches!(refused, RotateOutcome::TooSoon(_)), "{refused:?}");
    let unlimited = Rotation {
        not_rotated_since: None,
        ..rotation(&second)
    };
    let person = store
        .rotate_token(&fresh, &unlimited, &owner)
        .await
        .unwrap();
    assert!(matches!(person, RotateOutcome::Rotated(_)), "{person:?}");
}
