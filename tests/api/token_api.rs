//! The token API through its real handlers, with API Gateway REST proxy events,
//! against DynamoDB Local: responses and what ends up stored.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use patgate::expiry::end_of_day;
use patgate::token::{TokenHash, TokenPrefix, TokenSecret};
use patgate_tests::*;
use serde_json::{json, Value};

use crate::{attr_s, stored_strings};

fn tomorrow_utc() -> String {
    date_in(1, Tz::UTC, Utc::now())
}

#[tokio::test]
async fn create_answers_201_once_with_the_plaintext_and_stores_only_its_hash() {
    let app = TestApp::new().await;
    let alice = app.user("alice", &["User"], None).await;
    let answer = app
        .create(
            &alice,
            json!({"name":" deploy bot ","description":"CI","expiresOn":tomorrow_utc()}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let body = &answer.body;
    let secret = body["token"]
        .as_str()
        .expect("plaintext token in the create response");
    let parsed = TokenSecret::parse(&TokenPrefix::default(), secret).expect("well-formed token");
    assert_eq!(body["name"], "deploy bot");
    assert_eq!(body["description"], "CI");
    assert_eq!(body["lastUsedAt"], Value::Null);
    assert_eq!(body["permissions"], Value::Null);
    assert_eq!(body["status"], "active");
    assert_eq!(body["hint"], json!(parsed.hint()));
    assert_eq!(body["timeZone"], "UTC");

    let items = app.table.all_items().await;
    let kinds: Vec<String> = items
        .iter()
        .map(|i| attr_s(i, "sk").split('#').next().unwrap_or("").to_owned())
        .collect();
    for kind in ["PROFILE", "SLOTS", "TOKEN", "HASH"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} item in {kinds:?}");
    }
    let strings = stored_strings(&items);
    assert!(
        strings.iter().all(|s| !s.contains(&secret[14..34])),
        "no part of the secret is stored"
    );
    let hash = TokenHash::of(secret);
    let hash_item = app
        .table
        .item(&format!("HASH#{}", hash.as_str()), "HASH")
        .await
        .expect("hash item keyed by SHA-256");
    assert_eq!(attr_s(&hash_item, "user_id"), "alice");
    let token_item = app
        .table
        .item(
            "TOKENS#alice",
            &format!("TOKEN#{}", body["id"].as_str().unwrap()),
        )
        .await
        .expect("token item");
    assert_eq!(attr_s(&token_item, "token_hash"), hash.as_str());

    // The TTL attribute and the hash item's validity are the expiry instant.
    let expires_at = DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap()).unwrap();
    for item in [&hash_item, &token_item] {
        let ttl: i64 = item["delete_after"].as_n().unwrap().parse().unwrap();
        assert_eq!(ttl, expires_at.timestamp());
    }
    let valid: i64 = hash_item["valid_until"].as_n().unwrap().parse().unwrap();
    assert_eq!(valid, expires_at.timestamp());
    // The list never shows the secret or the hash.
    let listed = app.list(&alice).await.text;
    assert!(!listed.contains(secret) && !listed.contains(hash.as_str()));
}

#[tokio::test]
async fn expiry_is_the_end_of_the_chosen_day_in_the_right_zone() {
    let app = TestApp::new().await;
    let caller = app
        .user("kathmandu-user", &["Viewer"], Some("Asia/Kathmandu"))
        .await;
    let now = Utc::now();
    let wire = |at: DateTime<Utc>| json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));

    // The web UI's zone wins over the record's.
    let day = date_in(3, chrono_tz::Australia::Lord_Howe, now);
    let answer = app
        .create(
            &caller,
            json!({"name":"a","expiresOn":day,"timeZone":"Australia/Lord_Howe"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let expected = end_of_day(day.parse().unwrap(), chrono_tz::Australia::Lord_Howe).unwrap();
    assert_eq!(answer.body["expiresAt"], wire(expected));
    assert_eq!(answer.body["timeZone"], "Australia/Lord_Howe");
    assert_eq!(answer.body["expiresOn"], json!(day));

    // Without one, the zone on the user's record.
    let day = date_in(3, chrono_tz::Asia::Kathmandu, now);
    let body = app
        .create(&caller, json!({"name":"b","expiresOn":day}))
        .await
        .body;
    assert_eq!(body["timeZone"], "Asia/Kathmandu");
    let expected = end_of_day(day.parse().unwrap(), chrono_tz::Asia::Kathmandu).unwrap();
    assert_eq!(body["expiresAt"], wire(expected));

    // Without either, UTC.
    let utc = app.user("utc-user", &["Viewer"], None).await;
    let body = app
        .create(&utc, json!({"name":"c","expiresOn":tomorrow_utc()}))
        .await
        .body;
    assert_eq!(body["timeZone"], "UTC");
}

#[tokio::test]
async fn today_is_allowed_past_and_too_far_dates_are_refused_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let bob = app.user("bob", &["User"], None).await;
    let now = Utc::now();
    let before = app.table.all_items().await;
    for day in [date_in(-1, Tz::UTC, now), date_in(367, Tz::UTC, now)] {
        let answer = app
            .create(&bob, json!({"name":"x","expiresOn":day,"timeZone":"UTC"}))
            .await;
        assert_eq!(answer.status, 400, "{}", answer.text);
        assert_eq!(answer.field(), "expiresOn");
    }
    assert_eq!(
        app.table.all_items().await,
        before,
        "refused requests store nothing"
    );
    for (name, days) in [("today", 0), ("max", 366)] {
        let answer = app
            .create(
                &bob,
                json!({"name":name,"expiresOn":date_in(days, Tz::UTC, now),"timeZone":"UTC"}),
            )
            .await;
        assert_eq!(answer.status, 201, "{name}: {}", answer.text);
    }
}

#[tokio::test]
async fn no_identity_in_the_request_context_is_401_everywhere() {
    let app = TestApp::new().await;
    let nobody = Caller::Anonymous;
    let id = "01JABCDEFGHJKMNPQRSTVWXYZ0";
    let answers = [
        app.create(&nobody, json!({"name":"x","expiresOn":tomorrow_utc()}))
            .await,
        app.list(&nobody).await,
        app.revoke(&nobody, id).await,
        app.rotate(&nobody, id, json!({})).await,
    ];
    for answer in answers {
        assert_eq!(answer.status, 401, "{}", answer.text);
        assert_eq!(answer.code(), "unauthenticated");
        assert_eq!(answer.headers["access-control-allow-origin"], WEB_ORIGIN);
    }
    assert!(app.table.all_items().await.is_empty());
}

#[tokio::test]
async fn a_personal_access_token_cannot_manage_tokens() {
    let app = TestApp::new().await;
    let session = app.user("dave", &["Admin"], None).await;
    let issued = app.issue(&session).await;
    // What the patgate authorizer puts in the request context for a PAT.
    let token_context = Caller::Authorizer("dave".into());
    let before = app.table.all_items().await;
    let answers = [
        app.create(
            &token_context,
            json!({"name":"x","expiresOn":tomorrow_utc()}),
        )
        .await,
        app.list(&token_context).await,
        app.rotate(&token_context, &issued.id, json!({})).await,
        app.revoke(&token_context, &issued.id).await,
    ];
    for answer in answers {
        assert_eq!(answer.status, 403, "{}", answer.text);
        assert_eq!(answer.code(), "session_required");
    }
    assert_eq!(
        app.table.all_items().await,
        before,
        "a PAT minted, rotated or revoked nothing"
    );
}

#[tokio::test]
async fn every_role_including_viewer_may_create_but_unknown_or_inactive_users_may_not() {
    let app = TestApp::new().await;
    for role in ["Viewer", "User", "Manager", "Admin"] {
        let caller = app
            .user(&format!("u-{}", role.to_lowercase()), &[role], None)
            .await;
        let answer = app
            .create(&caller, json!({"name":role,"expiresOn":tomorrow_utc()}))
            .await;
        assert_eq!(answer.status, 201, "{role}: {}", answer.text);
    }
    let before = app.table.all_items().await.len();
    let ghost = app
        .create(
            &Caller::Session("ghost".into()),
            json!({"name":"x","expiresOn":tomorrow_utc()}),
        )
        .await;
    assert_eq!((ghost.status, ghost.code()), (403, "forbidden"));
    let mut gone = patgate::user::User {
        id: patgate::user::UserId::parse("u-viewer").unwrap(),
        roles: vec!["Viewer".into()],
        time_zone: None,
        active: false,
    };
    app.table.store.put_user(&gone).await.unwrap();
    let viewer = Caller::Session("u-viewer".into());
    let body = json!({"name":"x","expiresOn":tomorrow_utc()});
    assert_eq!(app.create(&viewer, body.clone()).await.status, 403);
    assert_eq!(app.table.all_items().await.len(), before);
    gone.active = true;
    app.table.store.put_user(&gone).await.unwrap();
    assert_eq!(
        app.create(&viewer, body).await.status,
        201,
        "reactivation restores access"
    );
}

#[tokio::test]
async fn the_live_token_cap_answers_409_and_frees_up_on_revoke_and_expiry() {
    let app = TestApp::with(&[("MAX_TOKENS_PER_USER", "2")]).await;
    let erin = app.user("erin", &["User"], None).await;
    let body = json!({"name":"t","expiresOn":tomorrow_utc()});
    let mut ids = Vec::new();
    for _ in 0..2 {
        let answer = app.create(&erin, body.clone()).await;
        assert_eq!(answer.status, 201);
        ids.push(answer.body["id"].as_str().unwrap().to_owned());
    }
    let refused = app.create(&erin, body.clone()).await;
    assert_eq!(
        (refused.status, refused.code()),
        (409, "token_limit_reached")
    );
    assert_eq!(app.revoke(&erin, &ids[0]).await.status, 204);
    assert_eq!(
        app.create(&erin, body.clone()).await.status,
        201,
        "a revoked token no longer counts"
    );
    // A token past its expiry does not count either, even before TTL removes it.
    let later = Utc::now() + Duration::days(3);
    let answer = app
        .create_at(
            &erin,
            json!({"name":"t","expiresOn":date_in(5, Tz::UTC, Utc::now()),"timeZone":"UTC"}),
            later,
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
}

/// 60 concurrent creates of one user at a cap of 20: exactly 20 × 201 and 40 × 409,
/// no 5xx, and no token stored without a 201. (`infra/scripts/stress-cap.sh` runs
/// 200 against a cap of 50 through the local stack.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cap_holds_under_concurrent_creates_with_no_5xx() {
    let app = TestApp::with(&[("MAX_TOKENS_PER_USER", "20")]).await;
    let frank = app.user("frank", &["User"], None).await;
    let app = std::sync::Arc::new(app);
    let body = json!({"name":"race","expiresOn":tomorrow_utc()});
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..60 {
        let (app, frank, body) = (app.clone(), frank.clone(), body.clone());
        attempts.spawn(async move { app.create(&frank, body).await });
    }
    let answers = attempts.join_all().await;
    let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    let refused = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!(created.len(), 20, "exactly the cap succeeds");
    assert_eq!(refused, 40, "the rest are refused with 409, not failed");
    let mut listed: Vec<String> = app.list(&frank).await.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let mut answered: Vec<String> = created
        .iter()
        .map(|a| a.body["id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    answered.sort();
    assert_eq!(
        listed, answered,
        "every stored token was answered with a 201"
    );
    let hash_items = app
        .table
        .all_items()
        .await
        .iter()
        .filter(|i| attr_s(i, "pk").starts_with("HASH#"))
        .count();
    assert_eq!(hash_items, 20, "no orphan hash items");
}

#[tokio::test]
async fn list_shows_live_tokens_newest_first_without_secrets() {
    let app = TestApp::new().await;
    let gina = app.user("gina", &["User"], None).await;
    let mut secrets = Vec::new();
    for (name, days) in [("first", 1), ("second", 10), ("third", 2)] {
        let answer = app
            .create(
                &gina,
                json!({"name":name,"expiresOn":date_in(days, Tz::UTC, Utc::now()),"timeZone":"UTC"}),
            )
            .await;
        assert_eq!(answer.status, 201);
        secrets.push(answer.body["token"].as_str().unwrap().to_owned());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    assert_eq!(app.names(&gina).await, ["third", "second", "first"]);
    let listed = app.list(&gina).await.body;
    let keys: Vec<&String> = listed["tokens"][0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "createdAt",
            "description",
            "expiresAt",
            "expiresOn",
            "hint",
            "id",
            "lastUsedAt",
            "lastUsedIp",
            "lastUsedUserAgent",
            "name",
            "permissions",
            "permissionsLost",
            "revokedAt",
            "revokedReason",
            "rotatedAt",
            "secretReusedAt",
            "status",
            "timeZone"
        ]
    );
    assert_eq!(
        listed["caller"]["permissions"],
        json!(["catalog:read", "entity:edit"])
    );
    assert_eq!(listed["limits"]["maxTokenLifetimeDays"], 366);
    assert_eq!(listed["limits"]["maxTokensPerUser"], 50);
    let text = listed.to_string();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()) && !text.contains(TokenHash::of(secret).as_str()));
    }
    // Three days on, "first" and "third" are past expiry; TTL may not have removed
    // them, but they are not live.
    let later = app
        .list_query(
            &gina,
            &[],
            Utc::now() + Duration::days(3) + Duration::hours(1),
        )
        .await;
    let names: Vec<&str> = later.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["second"]);
    // Other users see none of them.
    let hank = app.user("hank", &["User"], None).await;
    assert!(app.names(&hank).await.is_empty());
}

#[tokio::test]
async fn the_list_pages_with_bounded_reads() {
    let app = TestApp::new().await;
    let ivy = app.user("ivy", &["User"], None).await;
    for i in 0..7 {
        app.issue_with(&ivy, json!({"name": format!("t{i}")})).await;
    }
    let mut names = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut query = vec![("limit", "3")];
        if let Some(token) = next.as_deref() {
            query.push(("nextToken", token));
        }
        let page = app.list_query(&ivy, &query, Utc::now()).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let tokens = page.body["tokens"].as_array().unwrap();
        assert!(tokens.len() <= 3);
        names.extend(
            tokens
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
        pages += 1;
        match page.body["nextToken"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["t6", "t5", "t4", "t3", "t2", "t1", "t0"]);
    assert!((3..=4).contains(&pages), "{pages} pages");
    for (query, field) in [
        (("limit", "0"), "limit"),
        (("limit", "101"), "limit"),
        (("nextToken", "not-a-token"), "nextToken"),
        (("status", "expired"), "status"),
        (("sort", "asc"), "query"),
    ] {
        let answer = app.list_query(&ivy, &[query], Utc::now()).await;
        assert_eq!((answer.status, answer.field()), (400, field), "{query:?}");
    }
}

#[tokio::test]
async fn revoke_is_owner_only_idempotent_and_keeps_a_revoked_record_for_a_week() {
    let app = TestApp::new().await;
    let ivan = app.user("ivan", &["User"], None).await;
    let judy = app.user("judy", &["User"], None).await;
    let issued = app.issue(&ivan).await;
    let hash_key = format!("HASH#{}", TokenHash::of(&issued.token).as_str());

    let other = app.revoke(&judy, &issued.id).await;
    let unknown = app.revoke(&ivan, "01JABCDEFGHJKMNPQRSTVWXYZ0").await;
    let bad = app.revoke(&ivan, "not-an-id").await;
    assert_eq!((other.status, unknown.status, bad.status), (404, 404, 404));
    assert_eq!(
        other.text, unknown.text,
        "another user's id and an unknown id look the same"
    );
    assert_eq!(bad.text, unknown.text);
    assert!(
        app.table.item(&hash_key, "HASH").await.is_some(),
        "judy revoked nothing"
    );

    let revoked = app.revoke(&ivan, &issued.id).await;
    assert_eq!((revoked.status, revoked.text.as_str()), (204, ""));
    assert!(
        app.table.item(&hash_key, "HASH").await.is_none(),
        "hash item deleted"
    );
    assert!(app
        .table
        .item("TOKENS#ivan", &format!("TOKEN#{}", issued.id))
        .await
        .is_none());
    let record = app
        .table
        .item("TOKENS#ivan", &format!("REVOKED#{}", issued.id))
        .await
        .expect("revoked record");
    let revoked_at = DateTime::parse_from_rfc3339(attr_s(&record, "revoked_at")).unwrap();
    let ttl: i64 = record["delete_after"].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, (revoked_at + Duration::days(7)).timestamp());
    assert_eq!(
        app.revoke(&ivan, &issued.id).await.status,
        204,
        "revoking twice is fine for the owner"
    );
    assert!(app.names(&ivan).await.is_empty());
    let history = app
        .list_query(&ivan, &[("status", "revoked")], Utc::now())
        .await;
    assert_eq!(history.body["tokens"][0]["id"], json!(issued.id));
    assert_eq!(history.body["tokens"][0]["status"], "revoked");
    assert_eq!(history.body["tokens"][0]["revokedReason"], "user");
}

#[tokio::test]
async fn dynamodb_unreachable_is_503_not_500() {
    let table = TestTable::new().await;
    let dead = TestTable {
        client: client("http://127.0.0.1:9"),
        store: patgate::store::TokenStore::new(client("http://127.0.0.1:9"), table.name()),
    };
    let app = TestApp::on(dead, &[]);
    let kate = Caller::Session("kate".into());
    let id = "01JABCDEFGHJKMNPQRSTVWXYZ0";
    let answers = [
        app.create(&kate, json!({"name":"x","expiresOn":tomorrow_utc()}))
            .await,
        app.list(&kate).await,
        app.revoke(&kate, id).await,
        app.rotate(&kate, id, json!({})).await,
    ];
    for answer in answers {
        assert_eq!(answer.status, 503, "{}", answer.text);
        assert_eq!(answer.code(), "service_unavailable");
    }
    // Input that can be judged without DynamoDB is still a 400, not a 503.
    let past = json!({"name":"x","expiresOn":date_in(-1, Tz::UTC, Utc::now()),"timeZone":"UTC"});
    let answer = app.create(&kate, past).await;
    assert_eq!(
        (answer.status, answer.field()),
        (400, "expiresOn"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn a_stored_item_never_holds_a_plaintext_secret() {
    let app = TestApp::new().await;
    let lee = app.user("lee", &["User"], None).await;
    let issued = app.issue(&lee).await;
    let rotated = app
        .rotate(&lee, &issued.id, json!({"graceSeconds": 60}))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let new_secret = rotated.body["token"].as_str().unwrap().to_owned();
    let strings = stored_strings(&app.table.all_items().await);
    for secret in [&issued.token, &new_secret] {
        let body = &secret[14..];
        assert!(strings.iter().all(|s| !s.contains(body)), "{body} stored");
    }
}
