//! The DynamoDB store directly: user records and their access on hash items, token
//! slots, key layout, TTL, and the users CLI.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use patgate::expiry::Expiry;
use patgate::store::{CreateTokenError, RevokeOutcome, RevokeReason, StoredUser, TokenRecord};
use patgate::token::{TokenId, TokenPrefix, TokenSecret};
use patgate::user::UserId;
use patgate_tests::*;

fn record(user: &UserId, expires_in: chrono::Duration) -> TokenRecord {
    let secret = TokenSecret::generate(&TokenPrefix::default()).unwrap();
    let now = Utc::now();
    let expires_at = now + expires_in;
    TokenRecord {
        id: TokenId::generate(now.timestamp_millis() as u64).unwrap(),
        user_id: user.clone(),
        name: "direct".into(),
        description: None,
        hash: secret.hash(),
        hint: secret.hint(),
        created_at: now,
        expiry: Expiry {
            expires_on: expires_at.date_naive(),
            time_zone: chrono_tz::UTC,
            expires_at,
        },
        permissions: None,
        rotated_at: None,
        previous_hash: None,
        reminders: Vec::new(),
        last_use: None,
        secret_reused_at: None,
        secret_version: 1,
        owner_kind: Default::default(),
        permissions_lost: Default::default(),
        created_by: None,
    }
}

async fn owner(table: &TestTable, id: &UserId) -> StoredUser {
    table.store.get_user(id).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_role_change_or_deactivation_reaches_every_hash_item_of_the_user() {
    let table = TestTable::new().await;
    let id = table
        .add_user("uma", &["Viewer", "Auditor"], Some("Europe/Paris"))
        .await;
    let stored = owner(&table, &id).await;
    assert_eq!(stored.user.roles, ["Viewer", "Auditor"]);
    assert_eq!(stored.user.time_zone, Some(chrono_tz::Europe::Paris));
    assert!(stored.user.active);
    let tokens: Vec<TokenRecord> = (0..3)
        .map(|_| record(&id, chrono::Duration::days(1)))
        .collect();
    for token in &tokens {
        table
            .store
            .create_token(token, &[], 10, &stored)
            .await
            .unwrap();
    }
    // A zone change alone touches no token.
    let mut user = stored.user.clone();
    user.time_zone = None;
    let same = table.store.put_user(&user).await.unwrap();
    assert_eq!(same.access_version, stored.access_version);
    let item = table.item("USER#uma", "PROFILE").await.unwrap();
    assert!(
        !item.contains_key("time_zone"),
        "clearing the zone removes it"
    );
    // A role change and a deactivation do, each with a new version.
    user.roles = vec!["Admin".into()];
    user.active = false;
    let changed = table.store.put_user(&user).await.unwrap();
    assert_eq!(changed.access_version, stored.access_version + 1);
    for token in &tokens {
        let found = table
            .store
            .authorization_lookup(&token.hash)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.roles, ["Admin"]);
        assert!(!found.active);
    }
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
async fn a_token_created_with_a_stale_user_read_catches_up() {
    let table = TestTable::new().await;
    let id = table.add_user("vic", &["Admin"], None).await;
    let seen = owner(&table, &id).await;
    // Deactivated after the creation read the user, before its token was written.
    let mut user = seen.user.clone();
    user.active = false;
    table.store.put_user(&user).await.unwrap();
    let token = record(&id, chrono::Duration::days(1));
    table
        .store
        .create_token(&token, &[], 10, &seen)
        .await
        .unwrap();
    let found = table
        .store
        .authorization_lookup(&token.hash)
        .await
        .unwrap()
        .unwrap();
    assert!(!found.active, "the new hash item follows the deactivation");
}

#[tokio::test]
async fn a_slot_left_by_a_failed_creation_is_freed_by_the_recount_at_the_cap() {
    let table = TestTable::new().await;
    let id = table.add_user("walt", &["User"], None).await;
    let walt = owner(&table, &id).await;
    // A slot reserved ten minutes ago by a creation that never wrote its token.
    let stale = TokenId::generate((Utc::now().timestamp_millis() - 600_000) as u64).unwrap();
    table
        .client
        .update_item()
        .table_name(table.name())
        .key("pk", AttributeValue::S("TOKENS#walt".into()))
        .key("sk", AttributeValue::S("SLOTS".into()))
        .update_expression("ADD live :id")
        .expression_attribute_values(":id", AttributeValue::Ss(vec![stale.as_str().to_owned()]))
        .send()
        .await
        .unwrap();
    let first = record(&id, chrono::Duration::days(1));
    table
        .store
        .create_token(&first, &[], 2, &walt)
        .await
        .unwrap();
    // The cap of 2 is "full" (one real token, one stale slot): the recount frees the stale one.
    let second = record(&id, chrono::Duration::days(1));
    table
        .store
        .create_token(&second, &[], 2, &walt)
        .await
        .unwrap();
    let third = record(&id, chrono::Duration::days(1));
    assert_eq!(
        table.store.create_token(&third, &[], 2, &walt).await,
        Err(CreateTokenError::LimitReached(2))
    );
    let slots = table.item("TOKENS#walt", "SLOTS").await.unwrap();
    let mut held = slots["live"].as_ss().unwrap().clone();
    held.sort();
    let mut expected = vec![first.id.as_str().to_owned(), second.id.as_str().to_owned()];
    expected.sort();
    assert_eq!(held, expected);
}

#[tokio::test]
async fn revoke_outcomes() {
    let table = TestTable::new().await;
    let id = table.add_user("vera", &["User"], None).await;
    let token = record(&id, chrono::Duration::days(1));
    let owner = owner(&table, &id).await;
    table
        .store
        .create_token(&token, &[], 10, &owner)
        .await
        .unwrap();
    let now = Utc::now();
    let RevokeOutcome::Revoked(revoked) = table
        .store
        .revoke_token(&id, &token.id, RevokeReason::User, now)
        .await
        .unwrap()
    else {
        panic!("revoked")
    };
    assert_eq!(revoked.token.id, token.id);
    assert_eq!(
        table
            .store
            .revoke_token(&id, &token.id, RevokeReason::User, now)
            .await
            .unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
    let other = UserId::parse("walt").unwrap();
    assert_eq!(
        table
            .store
            .revoke_token(&other, &token.id, RevokeReason::User, now)
            .await
            .unwrap(),
        RevokeOutcome::NotFound
    );
    assert!(table
        .store
        .find_hashes(std::slice::from_ref(&token.hash))
        .await
        .unwrap()
        .is_empty());
    assert!(table
        .store
        .list_tokens(&id, 50, None)
        .await
        .unwrap()
        .items
        .is_empty());
    let history = table.store.list_revoked(&id, 50, None).await.unwrap();
    assert_eq!(history.items.len(), 1);
    assert_eq!(history.items[0].reason, RevokeReason::User);
}

#[tokio::test]
async fn dynamodb_ttl_removes_expired_token_and_hash_items() {
    let dynamodb = private_dynamodb().await;
    let table = TestTable::without_indexes(&dynamodb.endpoint()).await;
    let id = table.add_user("xena", &["User"], None).await;
    let token = record(&id, chrono::Duration::seconds(1));
    let owner = owner(&table, &id).await;
    table
        .store
        .create_token(&token, &[], 10, &owner)
        .await
        .unwrap();
    assert_eq!(
        table
            .store
            .find_hashes(std::slice::from_ref(&token.hash))
            .await
            .unwrap()
            .len(),
        1
    );
    let kept = table.all_items().await.len() - 2;
    // A private instance: DynamoDB Local sweeps expired items within seconds when it holds
    // few tables, but the shared one holds every test's table. (The cloud may take days.)
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while table.all_items().await.len() > kept {
        assert!(
            std::time::Instant::now() < deadline,
            "TTL did not remove the expired items: {:?}",
            table
                .all_items()
                .await
                .iter()
                .map(|i| format!("{} {}", crate::attr_s(i, "pk"), crate::attr_s(i, "sk")))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(table
        .store
        .find_hashes(std::slice::from_ref(&token.hash))
        .await
        .unwrap()
        .is_empty());
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
    assert!(patgate_users::execute(&table.directory(), put)
        .await
        .unwrap()
        .starts_with("saved yuri"));
    let yuri = table
        .store
        .get_user(&UserId::parse("yuri").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(yuri.user.roles, ["Viewer", "Manager"]);
    assert_eq!(yuri.user.time_zone, Some(chrono_tz::Asia::Kathmandu));

    let file = std::env::temp_dir().join(format!("{}.jsonl", table.name()));
    std::fs::write(&file, "{\"id\":\"yuri\",\"roles\":[\"Viewer\"],\"active\":false}\n{\"id\":\"zoe\",\"roles\":[\"Admin\"]}\n").unwrap();
    let import =
        patgate_users::parse_args(&[String::from("import"), file.display().to_string()]).unwrap();
    assert_eq!(
        patgate_users::execute(&table.directory(), import)
            .await
            .unwrap(),
        "imported 2 users"
    );
    let yuri = table
        .store
        .get_user(&UserId::parse("yuri").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!yuri.user.active && yuri.user.roles == ["Viewer"]);
    let show = patgate_users::parse_args(&args("show zoe")).unwrap();
    assert!(patgate_users::execute(&table.directory(), show)
        .await
        .unwrap()
        .contains("roles=[Admin]"));
    let missing = patgate_users::parse_args(&args("show nobody")).unwrap();
    assert!(patgate_users::execute(&table.directory(), missing)
        .await
        .is_err());
    // Offboarding: every live token of the user is revoked, and counted.
    let zoe = UserId::parse("zoe").unwrap();
    let zoe_record = owner(&table, &zoe).await;
    for _ in 0..3 {
        let token = record(&zoe, chrono::Duration::days(1));
        table
            .store
            .create_token(&token, &[], 10, &zoe_record)
            .await
            .unwrap();
    }
    let offboard = patgate_users::parse_args(&args("revoke-all zoe")).unwrap();
    assert_eq!(
        patgate_users::execute(&table.directory(), offboard)
            .await
            .unwrap(),
        "revoked 3 tokens of zoe"
    );
    assert!(table
        .store
        .list_tokens(&zoe, 50, None)
        .await
        .unwrap()
        .items
        .is_empty());
    let history = table.store.list_revoked(&zoe, 50, None).await.unwrap();
    assert_eq!(history.items.len(), 3);
    assert!(history
        .items
        .iter()
        .all(|r| r.reason == RevokeReason::Offboarded));
    std::fs::remove_file(file).ok();
}

#[tokio::test]
async fn a_table_declaring_a_stream_is_created_with_it() {
    let client = client(&endpoint());
    let name = format!("patgate-test-{:016x}", rand::random::<u64>());
    let mut declared = template().table.clone().expect("the tokens table");
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
