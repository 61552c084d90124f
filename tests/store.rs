//! The DynamoDB store directly: user records, key layout, TTL.

use std::time::Duration;

use chrono::Utc;
use patgate::store::{CreateTokenError, RevokeOutcome, TokenRecord};
use patgate::token::{TokenId, TokenPrefix, TokenSecret};
use patgate::user::{User, UserId};
use patgate_tests::*;

fn record(user: &UserId, expires_in: chrono::Duration) -> (TokenRecord, TokenSecret) {
    let secret = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    let now = Utc::now();
    let expires_at = now + expires_in;
    let record = TokenRecord {
        id: TokenId::generate(now.timestamp_millis() as u64).unwrap(),
        user_id: user.clone(),
        name: "direct".into(),
        description: None,
        hash: secret.hash(),
        hint: secret.hint(),
        created_at: now,
        expires_on: expires_at.date_naive(),
        time_zone: chrono_tz::UTC,
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    (record, secret)
}

#[tokio::test]
async fn user_records_round_trip_and_updates_keep_the_creation_version() {
    let table = TestTable::new().await;
    let id = table
        .add_user("uma", &["Viewer", "Auditor"], Some("Europe/Paris"))
        .await;
    let stored = table.store.get_user(&id).await.unwrap().unwrap();
    assert_eq!(stored.roles, ["Viewer", "Auditor"]);
    assert_eq!(stored.time_zone, Some(chrono_tz::Europe::Paris));
    assert!(stored.active);
    let (token, _) = record(&id, chrono::Duration::days(1));
    table.store.create_token(&token, 10, None).await.unwrap();
    let version = |item: std::collections::HashMap<
        String,
        aws_sdk_dynamodb::types::AttributeValue,
    >| { item["token_version"].as_n().unwrap().clone() };
    assert_eq!(
        version(table.item("USER#uma", "PROFILE").await.unwrap()),
        "1"
    );
    table
        .store
        .put_user(&User {
            id: id.clone(),
            roles: vec![],
            time_zone: None,
            active: true,
        })
        .await
        .unwrap();
    let item = table.item("USER#uma", "PROFILE").await.unwrap();
    assert_eq!(
        version(item.clone()),
        "1",
        "put_user never resets the version"
    );
    assert!(
        !item.contains_key("time_zone"),
        "clearing the zone removes it"
    );
    assert_eq!(
        table
            .store
            .get_user(&UserId::parse("nobody").unwrap())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn creating_for_a_missing_user_stores_nothing() {
    let table = TestTable::new().await;
    let (token, _) = record(&UserId::parse("ghost").unwrap(), chrono::Duration::days(1));
    assert_eq!(
        table.store.create_token(&token, 10, None).await,
        Err(CreateTokenError::UserNotActive)
    );
    assert!(table.all_items().await.is_empty());
}

#[tokio::test]
async fn revoke_outcomes() {
    let table = TestTable::new().await;
    let id = table.add_user("vera", &["User"], None).await;
    let (token, _) = record(&id, chrono::Duration::days(1));
    table.store.create_token(&token, 10, None).await.unwrap();
    let now = Utc::now();
    assert_eq!(
        table.store.revoke_token(&id, &token.id, now).await.unwrap(),
        RevokeOutcome::Revoked
    );
    assert_eq!(
        table.store.revoke_token(&id, &token.id, now).await.unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
    let other = UserId::parse("walt").unwrap();
    assert_eq!(
        table
            .store
            .revoke_token(&other, &token.id, now)
            .await
            .unwrap(),
        RevokeOutcome::NotFound
    );
    assert_eq!(table.store.find_by_hash(&token.hash).await.unwrap(), None);
    let listed = table.store.list_tokens(&id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].revoked_at.is_some() && !listed[0].is_live(now));
}

#[tokio::test]
async fn dynamodb_ttl_removes_expired_token_and_hash_items() {
    let dynamodb = private_dynamodb().await;
    let table = TestTable::at(&dynamodb.endpoint()).await;
    let id = table.add_user("xena", &["User"], None).await;
    let (token, _) = record(&id, chrono::Duration::seconds(1));
    table.store.create_token(&token, 10, None).await.unwrap();
    assert!(table
        .store
        .find_by_hash(&token.hash)
        .await
        .unwrap()
        .is_some());
    // A private instance: DynamoDB Local sweeps expired items within seconds when it holds
    // few tables, but the shared one holds every test's table. (The cloud may take days.)
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while table.all_items().await.len() > 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "TTL did not remove the expired items"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(table.store.find_by_hash(&token.hash).await.unwrap(), None);
    assert!(
        table.item("USER#xena", "PROFILE").await.is_some(),
        "user records carry no TTL"
    );
}

#[tokio::test]
async fn the_users_cli_feeds_user_records() {
    let table = TestTable::new().await;
    let args = |line: &str| {
        line.split_whitespace()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let put = patgate_users::parse_args(&args(
        "put yuri --roles Viewer,Manager --time-zone Asia/Kathmandu",
    ))
    .unwrap();
    assert!(patgate_users::execute(&table.store, put)
        .await
        .unwrap()
        .starts_with("saved yuri"));
    let yuri = table
        .store
        .get_user(&UserId::parse("yuri").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(yuri.roles, ["Viewer", "Manager"]);
    assert_eq!(yuri.time_zone, Some(chrono_tz::Asia::Kathmandu));

    let file = std::env::temp_dir().join(format!("{}.jsonl", table.name()));
    std::fs::write(&file, "{\"id\":\"yuri\",\"roles\":[\"Viewer\"],\"active\":false}\n{\"id\":\"zoe\",\"roles\":[\"Admin\"]}\n").unwrap();
    let import =
        patgate_users::parse_args(&[String::from("import"), file.display().to_string()]).unwrap();
    assert_eq!(
        patgate_users::execute(&table.store, import).await.unwrap(),
        "imported 2 users"
    );
    let yuri = table
        .store
        .get_user(&UserId::parse("yuri").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!yuri.active && yuri.roles == ["Viewer"]);
    let show = patgate_users::parse_args(&args("show zoe")).unwrap();
    assert!(patgate_users::execute(&table.store, show)
        .await
        .unwrap()
        .contains("roles=[Admin]"));
    let missing = patgate_users::parse_args(&args("show nobody")).unwrap();
    assert!(patgate_users::execute(&table.store, missing).await.is_err());
    std::fs::remove_file(file).ok();
}

#[tokio::test]
async fn a_table_declaring_a_stream_is_created_with_it() {
    let client = client(&endpoint());
    let name = format!("patgate-test-{:016x}", rand::random::<u64>());
    let mut declared = template().table.clone();
    declared.stream_view_type = Some("NEW_AND_OLD_IMAGES".to_owned());
    patgate_local::table::create_table(&client, &name, &declared)
        .await
        .unwrap();
    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let stream = described
        .table()
        .and_then(|t| t.stream_specification())
        .expect("a stream specification");
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type().map(|v| v.as_str()),
        Some("NEW_AND_OLD_IMAGES")
    );
}
