//! The token API through its real handlers, with API Gateway REST proxy events,
//! against DynamoDB Local: responses and what ends up stored.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use patgate::expiry::end_of_day;
use patgate::token::{TokenHash, TokenPrefix, TokenSecret};
use patgate_tests::*;
use serde_json::{json, Value};

async fn create(table: &TestTable, caller: &Caller, body: Value) -> (u16, Value) {
    let response =
        create_token::handle(&table.service(), post_tokens(&body, caller), Utc::now()).await;
    (response.status().as_u16(), json_body(&response))
}

async fn list(table: &TestTable, caller: &Caller, now: DateTime<Utc>) -> Value {
    let response = list_tokens::handle(&table.service(), get_tokens(caller), now).await;
    assert_eq!(response.status(), 200, "{}", body_text(&response));
    json_body(&response)
}

async fn revoke(table: &TestTable, caller: &Caller, id: &str) -> (u16, String) {
    let response =
        revoke_token::handle(&table.service(), delete_token(id, caller), Utc::now()).await;
    (response.status().as_u16(), body_text(&response))
}

fn tomorrow_utc() -> String {
    date_in(1, Tz::UTC, Utc::now())
}

fn attr_s<'a>(item: &'a std::collections::HashMap<String, AttributeValue>, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("")
}

/// Every string anywhere in the stored items.
fn stored_strings(items: &[std::collections::HashMap<String, AttributeValue>]) -> Vec<String> {
    fn walk(value: &AttributeValue, out: &mut Vec<String>) {
        match value {
            AttributeValue::S(s) | AttributeValue::N(s) => out.push(s.clone()),
            AttributeValue::L(list) => list.iter().for_each(|v| walk(v, out)),
            AttributeValue::M(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for item in items {
        for (key, value) in item {
            out.push(key.clone());
            walk(value, &mut out);
        }
    }
    out
}

#[tokio::test]
async fn create_answers_201_once_with_the_plaintext_and_stores_only_its_hash() {
    let table = TestTable::new().await;
    let user = table.add_user("alice", &["User"], None).await;
    let caller = Caller::Session("alice".into());
    let (status, body) = create(
        &table,
        &caller,
        json!({"name":" deploy bot ","description":"CI","expiresOn":tomorrow_utc()}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let secret = body["token"]
        .as_str()
        .expect("plaintext token in the create response");
    let parsed = TokenSecret::parse(&TokenPrefix::default(), secret).expect("well-formed token");
    assert_eq!(body["name"], "deploy bot");
    assert_eq!(body["description"], "CI");
    assert_eq!(body["lastUsedAt"], Value::Null);
    assert_eq!(body["hint"], json!(parsed.hint()));
    assert_eq!(body["timeZone"], "UTC");

    let items = table.all_items().await;
    assert_eq!(items.len(), 3, "user record, token item and hash item");
    let strings = stored_strings(&items);
    assert!(
        strings.iter().all(|s| !s.contains(&secret[4..24])),
        "no part of the secret is stored"
    );
    let hash = TokenHash::of(secret);
    let hash_item = table
        .item(&format!("HASH#{}", hash.as_str()), "HASH")
        .await
        .expect("hash item keyed by SHA-256");
    assert_eq!(attr_s(&hash_item, "user_id"), "alice");
    let token_item = table
        .item(
            &format!("USER#{}", user.as_str()),
            &format!("TOKEN#{}", body["id"].as_str().unwrap()),
        )
        .await
        .expect("token item");
    assert_eq!(attr_s(&token_item, "token_hash"), hash.as_str());

    // TTL attribute = the expiry instant in epoch seconds, on both items.
    let expires_at = DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap()).unwrap();
    for item in [&hash_item, &token_item] {
        let ttl: i64 = item["expires_at_epoch"].as_n().unwrap().parse().unwrap();
        assert_eq!(ttl, expires_at.timestamp());
    }
    // The list never shows the secret or the hash.
    let listed = list(&table, &caller, Utc::now()).await.to_string();
    assert!(!listed.contains(secret) && !listed.contains(hash.as_str()));
}

#[tokio::test]
async fn expiry_is_the_end_of_the_chosen_day_in_the_right_zone() {
    let table = TestTable::new().await;
    table
        .add_user("kathmandu-user", &["Viewer"], Some("Asia/Kathmandu"))
        .await;
    let caller = Caller::Session("kathmandu-user".into());
    let now = Utc::now();

    // The web UI's zone wins over the record's.
    let day = date_in(3, chrono_tz::Australia::Lord_Howe, now);
    let (status, body) = create(
        &table,
        &caller,
        json!({"name":"a","expiresOn":day,"timeZone":"Australia/Lord_Howe"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let expected = end_of_day(day.parse().unwrap(), chrono_tz::Australia::Lord_Howe).unwrap();
    assert_eq!(
        body["expiresAt"],
        json!(expected.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    assert_eq!(body["timeZone"], "Australia/Lord_Howe");
    assert_eq!(body["expiresOn"], json!(day));

    // Without one, the zone on the user's record.
    let day = date_in(3, chrono_tz::Asia::Kathmandu, now);
    let (_, body) = create(&table, &caller, json!({"name":"b","expiresOn":day})).await;
    assert_eq!(body["timeZone"], "Asia/Kathmandu");
    let expected = end_of_day(day.parse().unwrap(), chrono_tz::Asia::Kathmandu).unwrap();
    assert_eq!(
        body["expiresAt"],
        json!(expected.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );

    // Without either, UTC.
    table.add_user("utc-user", &["Viewer"], None).await;
    let (_, body) = create(
        &table,
        &Caller::Session("utc-user".into()),
        json!({"name":"c","expiresOn":tomorrow_utc()}),
    )
    .await;
    assert_eq!(body["timeZone"], "UTC");
}

#[tokio::test]
async fn today_is_allowed_past_and_too_far_dates_are_refused_and_nothing_is_stored() {
    let table = TestTable::new().await;
    table.add_user("bob", &["User"], None).await;
    let caller = Caller::Session("bob".into());
    let now = Utc::now();
    let before = table.all_items().await.len();
    for (day, zone) in [
        (date_in(-1, Tz::UTC, now), "UTC"),
        (date_in(367, Tz::UTC, now), "UTC"),
    ] {
        let (status, body) = create(
            &table,
            &caller,
            json!({"name":"x","expiresOn":day,"timeZone":zone}),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["field"], "expiresOn");
    }
    assert_eq!(
        table.all_items().await.len(),
        before,
        "refused requests store nothing"
    );
    let (status, _) = create(
        &table,
        &caller,
        json!({"name":"today","expiresOn":date_in(0, Tz::UTC, now),"timeZone":"UTC"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = create(
        &table,
        &caller,
        json!({"name":"max","expiresOn":date_in(366, Tz::UTC, now),"timeZone":"UTC"}),
    )
    .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn bad_input_gets_a_400_naming_the_field_and_changes_nothing() {
    let table = TestTable::new().await;
    table.add_user("carol", &["User"], None).await;
    let caller = Caller::Session("carol".into());
    let before = table.all_items().await;
    let cases = [
        (json!({"expiresOn": tomorrow_utc()}), "name"),
        (json!({"name": "", "expiresOn": tomorrow_utc()}), "name"),
        (
            json!({"name": "x".repeat(101), "expiresOn": tomorrow_utc()}),
            "name",
        ),
        (
            json!({"name": "ok", "description": "d".repeat(501), "expiresOn": tomorrow_utc()}),
            "description",
        ),
        (json!({"name": "ok"}), "expiresOn"),
        (json!({"name": "ok", "expiresOn": "tomorrow"}), "expiresOn"),
        (
            json!({"name": "ok", "expiresOn": tomorrow_utc(), "timeZone": "Nowhere/Land"}),
            "timeZone",
        ),
        (
            json!({"name": "ok", "expiresOn": tomorrow_utc(), "userId": "mallory"}),
            "body",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = create(&table, &caller, body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"]["code"], "invalid_field");
        assert_eq!(answer["error"]["field"], field, "{body}");
    }
    for raw in ["{not json", "[1,2]", "", "\"text\""] {
        let event = proxy_event("POST", "/tokens", "/tokens", Some(raw), &caller);
        let response = create_token::handle(&table.service(), request(&event), Utc::now()).await;
        assert_eq!(response.status(), 400, "{raw}");
        assert_eq!(json_body(&response)["error"]["code"], "invalid_json");
    }
    let huge = json!({"name":"big","description":"x".repeat(17 * 1024),"expiresOn":tomorrow_utc()});
    let (status, answer) = create(&table, &caller, huge).await;
    assert_eq!(status, 413);
    assert_eq!(answer["error"]["code"], "payload_too_large");
    assert_eq!(table.all_items().await, before);
}

#[tokio::test]
async fn no_identity_in_the_request_context_is_401_everywhere() {
    let table = TestTable::new().await;
    let service = table.service();
    let responses = [
        create_token::handle(
            &service,
            post_tokens(
                &json!({"name":"x","expiresOn":tomorrow_utc()}),
                &Caller::Anonymous,
            ),
            Utc::now(),
        )
        .await,
        list_tokens::handle(&service, get_tokens(&Caller::Anonymous), Utc::now()).await,
        revoke_token::handle(
            &service,
            delete_token("01JABCDEFGHJKMNPQRSTVWXYZ0", &Caller::Anonymous),
            Utc::now(),
        )
        .await,
    ];
    for response in responses {
        assert_eq!(response.status(), 401);
        assert_eq!(json_body(&response)["error"]["code"], "unauthenticated");
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            WEB_ORIGIN
        );
    }
    assert!(table.all_items().await.is_empty());
}

#[tokio::test]
async fn a_lambda_authorizer_context_identifies_the_caller_too() {
    let table = TestTable::new().await;
    table.add_user("dave", &["Viewer"], None).await;
    let (status, _) = create(
        &table,
        &Caller::Authorizer("dave".into()),
        json!({"name":"x","expiresOn":tomorrow_utc()}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        list(&table, &Caller::Session("dave".into()), Utc::now()).await["tokens"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn every_role_including_viewer_may_create_but_unknown_or_inactive_users_may_not() {
    let table = TestTable::new().await;
    for role in ["Viewer", "User", "Manager", "Admin"] {
        let id = format!("u-{}", role.to_lowercase());
        table.add_user(&id, &[role], None).await;
        let (status, body) = create(
            &table,
            &Caller::Session(id),
            json!({"name":role,"expiresOn":tomorrow_utc()}),
        )
        .await;
        assert_eq!(status, 201, "{role}: {body}");
    }
    let before = table.all_items().await.len();
    let (status, body) = create(
        &table,
        &Caller::Session("ghost".into()),
        json!({"name":"x","expiresOn":tomorrow_utc()}),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("forbidden"))
    );
    let mut gone = patgate::user::User {
        id: patgate::user::UserId::parse("u-viewer").unwrap(),
        roles: vec!["Viewer".into()],
        time_zone: None,
        active: false,
    };
    table.store.put_user(&gone).await.unwrap();
    let (status, _) = create(
        &table,
        &Caller::Session("u-viewer".into()),
        json!({"name":"x","expiresOn":tomorrow_utc()}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(table.all_items().await.len(), before);
    gone.active = true;
    table.store.put_user(&gone).await.unwrap();
    let (status, _) = create(
        &table,
        &Caller::Session("u-viewer".into()),
        json!({"name":"x","expiresOn":tomorrow_utc()}),
    )
    .await;
    assert_eq!(
        status, 201,
        "reactivation restores access, and the version counter survived put_user"
    );
}

#[tokio::test]
async fn the_live_token_cap_answers_409_and_frees_up_on_revoke() {
    let table = TestTable::new().await;
    table.add_user("erin", &["User"], None).await;
    let caller = Caller::Session("erin".into());
    let service = table.service_with(&[("MAX_TOKENS_PER_USER", "2")]);
    let body = json!({"name":"t","expiresOn":tomorrow_utc()});
    let mut ids = Vec::new();
    for _ in 0..2 {
        let response =
            create_token::handle(&service, post_tokens(&body, &caller), Utc::now()).await;
        assert_eq!(response.status(), 201);
        ids.push(json_body(&response)["id"].as_str().unwrap().to_owned());
    }
    let response = create_token::handle(&service, post_tokens(&body, &caller), Utc::now()).await;
    assert_eq!(response.status(), 409);
    assert_eq!(json_body(&response)["error"]["code"], "token_limit_reached");
    assert_eq!(revoke(&table, &caller, &ids[0]).await.0, 204);
    let response = create_token::handle(&service, post_tokens(&body, &caller), Utc::now()).await;
    assert_eq!(response.status(), 201, "a revoked token no longer counts");
    // A token past its expiry does not count either, even before TTL removes it.
    let later = Utc::now() + Duration::days(3);
    let body = json!({"name":"t","expiresOn":date_in(5, Tz::UTC, Utc::now()),"timeZone":"UTC"});
    let response = create_token::handle(&service, post_tokens(&body, &caller), later).await;
    assert_eq!(response.status(), 201, "{}", body_text(&response));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cap_holds_under_concurrent_creates() {
    let table = TestTable::new().await;
    table.add_user("frank", &["User"], None).await;
    let service = table.service_with(&[("MAX_TOKENS_PER_USER", "5")]);
    let caller = Caller::Session("frank".into());
    let body = json!({"name":"race","expiresOn":tomorrow_utc()});
    let mut attempts = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (service, request) = (service.clone(), post_tokens(&body, &caller));
        attempts.spawn(async move { create_token::handle(&service, request, Utc::now()).await });
    }
    let responses = attempts.join_all().await;
    let created = responses.iter().filter(|r| r.status() == 201).count();
    let refused = responses.iter().filter(|r| r.status() == 409).count();
    assert_eq!(created, 5, "exactly the cap succeeds");
    assert_eq!(
        created + refused,
        20,
        "the rest are refused with 409, not failed"
    );
    let listed = list(&table, &caller, Utc::now()).await;
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 5);
    let hash_items = table
        .all_items()
        .await
        .iter()
        .filter(|i| attr_s(i, "pk").starts_with("HASH#"))
        .count();
    assert_eq!(hash_items, 5, "no orphan hash items");
}

#[tokio::test]
async fn list_shows_live_tokens_newest_first_without_secrets() {
    let table = TestTable::new().await;
    table.add_user("gina", &["User"], None).await;
    let caller = Caller::Session("gina".into());
    let mut secrets = Vec::new();
    for (name, days) in [("first", 1), ("second", 10), ("third", 2)] {
        let (status, body) = create(
            &table,
            &caller,
            json!({"name":name,"expiresOn":date_in(days, Tz::UTC, Utc::now()),"timeZone":"UTC"}),
        )
        .await;
        assert_eq!(status, 201);
        secrets.push(body["token"].as_str().unwrap().to_owned());
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let listed = list(&table, &caller, Utc::now()).await;
    let tokens = listed["tokens"].as_array().unwrap();
    let names: Vec<&str> = tokens.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["third", "second", "first"]);
    let keys: Vec<&String> = tokens[0].as_object().unwrap().keys().collect();
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
            "name",
            "timeZone"
        ]
    );
    let text = listed.to_string();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()) && !text.contains(TokenHash::of(secret).as_str()));
    }
    // Three days on, "first" and "third" are past expiry; TTL may not have removed them, but they are not live.
    let later = list(
        &table,
        &caller,
        Utc::now() + Duration::days(3) + Duration::hours(1),
    )
    .await;
    let names: Vec<&str> = later["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["second"]);
    // Other users see none of them.
    table.add_user("hank", &["User"], None).await;
    assert!(
        list(&table, &Caller::Session("hank".into()), Utc::now()).await["tokens"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn revoke_is_owner_only_idempotent_and_removes_the_hash() {
    let table = TestTable::new().await;
    table.add_user("ivan", &["User"], None).await;
    table.add_user("judy", &["User"], None).await;
    let ivan = Caller::Session("ivan".into());
    let judy = Caller::Session("judy".into());
    let (_, body) = create(
        &table,
        &ivan,
        json!({"name":"x","expiresOn":tomorrow_utc()}),
    )
    .await;
    let id = body["id"].as_str().unwrap().to_owned();
    let hash = TokenHash::of(body["token"].as_str().unwrap());

    let (other_status, other_body) = revoke(&table, &judy, &id).await;
    let (unknown_status, unknown_body) = revoke(&table, &ivan, "01JABCDEFGHJKMNPQRSTVWXYZ0").await;
    let (bad_status, bad_body) = revoke(&table, &ivan, "not-an-id").await;
    assert_eq!((other_status, unknown_status, bad_status), (404, 404, 404));
    assert_eq!(
        other_body, unknown_body,
        "another user's id and an unknown id look the same"
    );
    assert_eq!(bad_body, unknown_body);
    assert!(
        table
            .item(&format!("HASH#{}", hash.as_str()), "HASH")
            .await
            .is_some(),
        "judy revoked nothing"
    );

    assert_eq!(revoke(&table, &ivan, &id).await, (204, String::new()));
    assert!(
        table
            .item(&format!("HASH#{}", hash.as_str()), "HASH")
            .await
            .is_none(),
        "hash item deleted"
    );
    let token_item = table
        .item("USER#ivan", &format!("TOKEN#{id}"))
        .await
        .unwrap();
    assert!(token_item.contains_key("revoked_at"));
    assert_eq!(
        revoke(&table, &ivan, &id).await.0,
        204,
        "revoking twice is fine for the owner"
    );
    assert!(list(&table, &ivan, Utc::now()).await["tokens"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn dynamodb_unreachable_is_503_not_500() {
    let table = TestTable::new().await;
    let settings = table.settings();
    let dead =
        patgate::store::TokenStore::new(client("http://127.0.0.1:9"), settings.table_name.clone());
    let service = patgate::service::TokenService::new(settings, dead);
    let caller = Caller::Session("kate".into());
    let responses = [
        create_token::handle(
            &service,
            post_tokens(&json!({"name":"x","expiresOn":tomorrow_utc()}), &caller),
            Utc::now(),
        )
        .await,
        list_tokens::handle(&service, get_tokens(&caller), Utc::now()).await,
        revoke_token::handle(
            &service,
            delete_token("01JABCDEFGHJKMNPQRSTVWXYZ0", &caller),
            Utc::now(),
        )
        .await,
    ];
    for response in responses {
        assert_eq!(response.status(), 503, "{}", body_text(&response));
        assert_eq!(json_body(&response)["error"]["code"], "service_unavailable");
    }
    // Input that can be judged without DynamoDB is still a 400, not a 503.
    let past = json!({"name":"x","expiresOn":date_in(-1, Tz::UTC, Utc::now()),"timeZone":"UTC"});
    let response = create_token::handle(&service, post_tokens(&past, &caller), Utc::now()).await;
    assert_eq!(response.status(), 400, "{}", body_text(&response));
    assert_eq!(json_body(&response)["error"]["field"], "expiresOn");
}
