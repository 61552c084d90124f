//! The token lifecycle beyond create and revoke: rotation with grace and reuse
//! detection, scoped tokens, leaked-credential revocation, offboarding.

use authorizer::{Authorizer, AuthorizerError, AuthorizerResponse};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use patgate::store::RevokeReason;
use patgate::token::{TokenHash, TokenPrefix, TokenSecret};
use patgate::user::{User, UserId};
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

/// The decision on `GET /catalog` with `token` at `at`: "allowed" or the refusal reason.
async fn decision(
    app: &TestApp,
    authorizer: &Authorizer,
    token: &str,
    at: DateTime<Utc>,
) -> &'static str {
    reason(
        app.authorize(authorizer, token, "GET", "/catalog", at)
            .await,
    )
}

#[tokio::test]
async fn rotation_issues_a_new_secret_for_the_same_token_and_the_old_one_keeps_its_grace() {
    let app = TestApp::new().await;
    let ana = app.user("ana", &["User"], None).await;
    let issued = app
        .issue_with(&ana, json!({"name": "deploy", "description": "CI"}))
        .await;
    let authorizer = app.authorizer();
    let now = Utc::now();
    let rotated = app
        .rotate_at(&ana, &issued.id, json!({"graceSeconds": 3600}), now)
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let body = &rotated.body;
    assert_eq!(body["id"], json!(issued.id), "same token");
    assert_eq!(body["name"], "deploy");
    assert_eq!(body["description"], "CI");
    assert_eq!(body["expiresAt"], issued.body["expiresAt"], "expiry kept");
    assert!(body["rotatedAt"].is_string());
    let new_secret = body["token"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, issued.token);
    assert_ne!(body["hint"], issued.body["hint"]);

    let at = |minutes| now + Duration::minutes(minutes);
    assert_eq!(
        decision(&app, &authorizer, &new_secret, now).await,
        "allowed"
    );
    assert_eq!(
        decision(&app, &authorizer, &issued.token, at(59)).await,
        "allowed",
        "the old secret works within its grace"
    );
    assert_eq!(
        decision(&app, &authorizer, &issued.token, at(61)).await,
        "rotated_secret_reused",
        "and is refused after it, as a reuse"
    );
    // The reuse is recorded on the token (and so reaches the product as an event).
    let listed = app.list_query(&ana, &[], now + Duration::minutes(62)).await;
    assert!(listed.body["tokens"][0]["secretReusedAt"].is_string());
    assert_eq!(
        decision(&app, &authorizer, &new_secret, at(61)).await,
        "allowed",
        "the token itself is not revoked"
    );
}

#[tokio::test]
async fn without_grace_the_old_secret_stops_at_once_and_a_second_rotation_ends_the_first_grace() {
    let app = TestApp::new().await;
    let ben = app.user("ben", &["User"], None).await;
    let issued = app.issue(&ben).await;
    let authorizer = app.authorizer();
    let now = Utc::now();
    let first = app
        .rotate_at(&ben, &issued.id, json!({"graceSeconds": 86400}), now)
        .await;
    assert_eq!(first.status, 201);
    let second = app.rotate_at(&ben, &issued.id, json!({}), now).await;
    assert_eq!(second.status, 201);
    let first_secret = first.body["token"].as_str().unwrap();
    let second_secret = second.body["token"].as_str().unwrap();
    let auth = &authorizer;
    assert_eq!(decision(&app, auth, second_secret, now).await, "allowed");
    assert_eq!(
        decision(&app, auth, first_secret, now).await,
        "rotated_secret_reused",
        "grace 0"
    );
    assert_eq!(
        decision(&app, auth, &issued.token, now).await,
        "unknown_token",
        "a second rotation ends the first one's grace and forgets that secret"
    );
    // Revoking the token ends every secret it has.
    assert_eq!(app.revoke(&ben, &issued.id).await.status, 204);
    assert_eq!(
        decision(&app, auth, second_secret, now).await,
        "unknown_token"
    );
    assert_eq!(
        decision(&app, auth, first_secret, now).await,
        "unknown_token"
    );
}

#[tokio::test]
async fn a_new_expiry_on_rotation_follows_the_lifetime_rules_and_moves_the_reminders() {
    let app = TestApp::new().await;
    let cid = app.user("cid", &["User"], Some("Europe/Paris")).await;
    let issued = app.issue(&cid).await;
    let now = Utc::now();
    let too_far = date_in(367, Tz::UTC, now);
    let answer = app
        .rotate(
            &cid,
            &issued.id,
            json!({"expiresOn": too_far, "timeZone": "UTC"}),
        )
        .await;
    assert_eq!((answer.status, answer.field()), (400, "expiresOn"));
    let reminders_before = reminder_hours(&app).await;
    let day = date_in(100, chrono_tz::Asia::Kathmandu, now);
    let answer = app
        .rotate(
            &cid,
            &issued.id,
            json!({"expiresOn": day, "timeZone": "Asia/Kathmandu"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["expiresOn"], json!(day));
    assert_eq!(answer.body["timeZone"], "Asia/Kathmandu");
    let reminders_after = reminder_hours(&app).await;
    assert_eq!(reminders_after.len(), 3, "7 days, 1 day, last day");
    assert!(
        reminders_before
            .iter()
            .all(|h| !reminders_after.contains(h)),
        "the old reminders are gone"
    );
    // Without expiresOn, a zone alone is refused.
    let answer = app
        .rotate(&cid, &issued.id, json!({"timeZone": "UTC"}))
        .await;
    assert_eq!((answer.status, answer.field()), (400, "timeZone"));
}

async fn reminder_hours(app: &TestApp) -> Vec<String> {
    let mut hours: Vec<String> = app
        .table
        .all_items()
        .await
        .iter()
        .filter_map(|item| item.get("pk")?.as_s().ok().cloned())
        .filter(|pk| pk.starts_with("REMIND#"))
        .collect();
    hours.sort();
    hours
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_concurrent_rotations_exactly_one_wins() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let dee = app.user("dee", &["User"], None).await;
    let issued = app.issue(&dee).await;
    let mut rotations = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let (app, dee, id) = (app.clone(), dee.clone(), issued.id.clone());
        rotations.spawn(async move { app.rotate(&dee, &id, json!({})).await });
    }
    let mut statuses: Vec<u16> = rotations
        .join_all()
        .await
        .iter()
        .map(|a| a.status)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409]);
    let hashes = app
        .table
        .all_items()
        .await
        .iter()
        .filter(|i| crate::attr_s(i, "pk").starts_with("HASH#"))
        .count();
    assert_eq!(
        hashes, 2,
        "the winner's new secret and the replaced one, nothing else"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotation_racing_a_revoke_never_resurrects_the_token() {
    for _ in 0..5 {
        let app = std::sync::Arc::new(TestApp::new().await);
        let eve = app.user("eve", &["User"], None).await;
        let issued = app.issue(&eve).await;
        let (rotate, revoke) = tokio::join!(
            app.rotate(&eve, &issued.id, json!({"graceSeconds": 600})),
            app.revoke(&eve, &issued.id)
        );
        assert_eq!(revoke.status, 204, "{}", revoke.text);
        assert!([201, 404].contains(&rotate.status), "{}", rotate.text);
        // Whatever the order, no secret of the token authenticates.
        let authorizer = app.authorizer();
        let mut secrets = vec![issued.token.clone()];
        secrets.extend(rotate.body["token"].as_str().map(str::to_owned));
        for secret in secrets {
            assert_eq!(
                decision(&app, &authorizer, &secret, Utc::now()).await,
                "unknown_token"
            );
        }
        assert!(app.names(&eve).await.is_empty());
    }
}

#[tokio::test]
async fn a_scoped_token_does_the_intersection_of_its_list_and_its_user_now() {
    let app = TestApp::new().await;
    let fay = app.user("fay", &["Manager"], None).await;
    let scoped = app
        .issue_with(
            &fay,
            json!({"permissions": ["catalog:read", "scorecard:edit", "settings:admin"]}),
        )
        .await;
    assert_eq!(
        scoped.body["permissions"],
        json!(["catalog:read", "scorecard:edit", "settings:admin"])
    );
    let authorizer = app.authorizer();
    let allowed = app
        .authorize(&authorizer, &scoped.token, "GET", "/catalog", Utc::now())
        .await
        .unwrap();
    // settings:admin is listed but the user (a Manager) does not have it.
    assert_eq!(allowed.context().permissions, "catalog:read,scorecard:edit");
    assert!(
        app.allows(&authorizer, &scoped.token, "PUT", "/scorecards/s1")
            .await
    );
    assert!(
        !app.allows(&authorizer, &scoped.token, "PUT", "/catalog/c1")
            .await,
        "entity:edit not listed"
    );
    assert!(
        !app.allows(&authorizer, &scoped.token, "GET", "/settings")
            .await
    );
    // The token follows a downgrade of its user.
    app.table
        .store
        .put_user(&User {
            id: UserId::parse("fay").unwrap(),
            roles: vec!["Viewer".into()],
            time_zone: None,
            active: true,
        })
        .await
        .unwrap();
    let downgraded = app
        .authorize(&authorizer, &scoped.token, "GET", "/catalog", Utc::now())
        .await
        .unwrap();
    assert_eq!(downgraded.context().permissions, "catalog:read");
    // Unknown names are refused, naming the field, and nothing is stored.
    let before = app.table.all_items().await;
    let answer = app
        .create(
            &fay,
            json!({"name":"x","expiresOn":date_in(1, Tz::UTC, Utc::now()),"permissions":["catalog:write"]}),
        )
        .await;
    assert_eq!((answer.status, answer.field()), (400, "permissions"));
    assert_eq!(app.table.all_items().await, before);
    // Rotation keeps the list.
    let rotated = app.rotate(&fay, &scoped.id, json!({})).await;
    assert_eq!(rotated.body["permissions"], scoped.body["permissions"]);
}

#[tokio::test]
async fn reported_leaks_revoke_live_tokens_and_the_answer_is_always_the_same() {
    let table = TestTable::new().await;
    let proxy = DynamoProxy::start(&endpoint()).await;
    let proxied = TestTable {
        client: client(&proxy.endpoint),
        store: patgate::store::TokenStore::new(client(&proxy.endpoint), table.name()),
    };
    let app = TestApp::on(proxied, &[]);
    let gus = app.user("gus", &["User"], None).await;
    let hal = app.user("hal", &["User"], None).await;
    let leaked = app.issue(&gus).await;
    let kept = app.issue(&gus).await;
    let other = app.issue(&hal).await;
    let stranger = TokenSecret::generate(&TokenPrefix::default()).unwrap();

    // Strings that are not tokens of this deployment cost no read at all.
    proxy.reset_usage();
    let garbage = app
        .report(&json!({"credentials": ["ghp_abc", "pgt_short", "not a token"]}).to_string())
        .await;
    assert_eq!((garbage.status, garbage.text.as_str()), (202, ""));
    assert!(proxy.usage().is_empty(), "{:?}", proxy.usage());

    let report = json!({"credentials": [
        format!("  {}\n", leaked.token), other.token, stranger.expose(), "junk"
    ]});
    let answer = app.report(&report.to_string()).await;
    assert_eq!(
        (answer.status, answer.text.as_str()),
        (202, ""),
        "same answer"
    );
    assert_eq!(proxy.usage()["BatchGetItem"].requests, 1, "one batch read");

    let auth = &app.authorizer();
    let now = Utc::now();
    assert_eq!(
        decision(&app, auth, &leaked.token, now).await,
        "unknown_token"
    );
    assert_eq!(
        decision(&app, auth, &other.token, now).await,
        "unknown_token"
    );
    assert_eq!(
        decision(&app, auth, &kept.token, now).await,
        "allowed",
        "unreported tokens live on"
    );
    let history = app
        .list_query(&gus, &[("status", "revoked")], Utc::now())
        .await;
    let revoked = &history.body["tokens"][0];
    assert_eq!(revoked["id"], json!(leaked.id));
    assert_eq!(revoked["revokedReason"], "leaked");
    // Reporting it again changes nothing and still answers 202.
    assert_eq!(app.report(&report.to_string()).await.status, 202);

    for (body, field) in [
        ("{}", "credentials"),
        (r#"{"credentials": []}"#, "credentials"),
        (r#"{"credentials": "pgt_x"}"#, "credentials"),
        (r#"{"credentials": [1]}"#, "credentials"),
        (r#"{"credentials": ["a"], "note": "x"}"#, "body"),
    ] {
        let answer = app.report(body).await;
        assert_eq!((answer.status, answer.field()), (400, field), "{body}");
    }
    let too_many: Vec<String> = (0..1001).map(|i| format!("x{i}")).collect();
    let answer = app
        .report(&json!({ "credentials": too_many }).to_string())
        .await;
    assert_eq!((answer.status, answer.field()), (400, "credentials"));
    assert_eq!(app.report("not json").await.code(), "invalid_json");
}

#[tokio::test]
async fn a_leaked_secret_in_its_grace_period_revokes_its_token() {
    let app = TestApp::new().await;
    let ida = app.user("ida", &["User"], None).await;
    let issued = app.issue(&ida).await;
    let rotated = app
        .rotate(&ida, &issued.id, json!({"graceSeconds": 600}))
        .await;
    let new_secret = rotated.body["token"].as_str().unwrap().to_owned();
    let answer = app
        .report(&json!({ "credentials": [issued.token] }).to_string())
        .await;
    assert_eq!(answer.status, 202);
    let authorizer = app.authorizer();
    assert_eq!(
        decision(&app, &authorizer, &new_secret, Utc::now()).await,
        "unknown_token",
        "the secret still authenticated, so its whole token goes"
    );
}

#[tokio::test]
async fn offboarding_revokes_every_live_token_and_deactivation_denies_at_once() {
    let app = TestApp::new().await;
    let jon = app.user("jon", &["Admin"], None).await;
    let tokens = [app.issue(&jon).await, app.issue(&jon).await];
    let authorizer = app.authorizer();
    let id = UserId::parse("jon").unwrap();
    app.table
        .store
        .put_user(&User {
            id: id.clone(),
            roles: vec!["Admin".into()],
            time_zone: None,
            active: false,
        })
        .await
        .unwrap();
    for token in &tokens {
        assert_eq!(
            decision(&app, &authorizer, &token.token, Utc::now()).await,
            "user_inactive"
        );
    }
    let revoked = app
        .service
        .revoke_all_tokens(&id, Utc::now())
        .await
        .unwrap();
    assert_eq!(revoked, 2);
    let history = app.table.store.list_revoked(&id, 50, None).await.unwrap();
    assert!(history
        .items
        .iter()
        .all(|r| r.reason == RevokeReason::Offboarded));
    for token in &tokens {
        assert!(app
            .table
            .store
            .authorization_lookup(&TokenHash::of(&token.token))
            .await
            .unwrap()
            .is_none());
    }
}
