//! The only place that knows how domain records look as DynamoDB items.
//!
//! One table, string keys `pk` and `sk`, no secondary indexes:
//!
//! | item        | pk                 | sk                 | written by            |
//! |-------------|--------------------|--------------------|-----------------------|
//! | user record | `USER#{userId}`    | `PROFILE`          | `infra/users`, create |
//! | token       | `USER#{userId}`    | `TOKEN#{tokenId}`  | create, revoke, authorizer (last use) |
//! | hash lookup | `HASH#{sha256hex}` | `HASH`             | create, revoke        |
//!
//! Token and hash items carry `expires_at_epoch` (epoch seconds of the expiry
//! instant), the table's TTL attribute. Listing a user's tokens is a Query on
//! `pk = USER#{userId}` and `begins_with(sk, "TOKEN#")`; the authorizer's lookup is a
//! GetItem on the hash item. Token ids sort by creation time, so a descending Query
//! lists newest first.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{HashRecord, StoreError, TokenRecord};
use crate::expiry::parse_time_zone;
use crate::token::{TokenHash, TokenId};
use crate::user::{User, UserId};

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const TTL_ATTRIBUTE: &str = "expires_at_epoch";
pub const PROFILE_SK: &str = "PROFILE";
pub const HASH_SK: &str = "HASH";
pub const TOKEN_SK_PREFIX: &str = "TOKEN#";

pub fn user_pk(user: &UserId) -> String {
    format!("USER#{}", user.as_str())
}

pub fn token_sk(id: &TokenId) -> String {
    format!("{TOKEN_SK_PREFIX}{}", id.as_str())
}

pub fn hash_pk(hash: &TokenHash) -> String {
    format!("HASH#{}", hash.as_str())
}

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// Timestamps are stored as fixed-width RFC 3339 UTC strings, so they also compare as strings.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Debug, Serialize, Deserialize)]
struct UserItem {
    pk: String,
    sk: String,
    user_id: String,
    roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_zone: Option<String>,
    active: bool,
    /// Bumped by every token creation, so concurrent creations cannot both pass the cap.
    #[serde(default)]
    token_version: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct TokenItem {
    pk: String,
    sk: String,
    token_id: String,
    user_id: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    token_hash: String,
    hint: String,
    created_at: String,
    expires_on: String,
    time_zone: String,
    expires_at: String,
    expires_at_epoch: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct HashItem {
    pk: String,
    sk: String,
    token_id: String,
    user_id: String,
    expires_at_epoch: i64,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("stored {what} item is malformed"))
}

fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Internal(format!("cannot marshal item: {e}")))
}

fn parse_time(raw: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| corrupt(what))
}

/// The attributes [`is_live_item`] reads.
pub const LIVENESS_PROJECTION: &str = "expires_at_epoch, revoked_at";

/// Whether a token item (possibly projected to [`LIVENESS_PROJECTION`]) is live at `now`;
/// the same rule as [`TokenRecord::is_live`].
pub fn is_live_item(item: &Item, now: DateTime<Utc>) -> bool {
    let expires_at_epoch = item
        .get(TTL_ATTRIBUTE)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok());
    !item.contains_key("revoked_at")
        && expires_at_epoch.is_some_and(|epoch| now.timestamp() < epoch)
}

/// A user record as stored, with the version used to serialise token creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub user: User,
    pub token_version: u64,
}

pub fn user_from_item(item: Item) -> Result<StoredUser, StoreError> {
    let raw: UserItem = serde_dynamo::from_item(item).map_err(|_| corrupt("user"))?;
    let id = UserId::parse(&raw.user_id).ok_or_else(|| corrupt("user"))?;
    let time_zone = match raw.time_zone.as_deref() {
        Some(name) => Some(parse_time_zone(name).ok_or_else(|| corrupt("user"))?),
        None => None,
    };
    Ok(StoredUser {
        user: User {
            id,
            roles: raw.roles,
            time_zone,
            active: raw.active,
        },
        token_version: raw.token_version,
    })
}

pub fn token_to_item(record: &TokenRecord) -> Result<Item, StoreError> {
    to_item(&TokenItem {
        pk: user_pk(&record.user_id),
        sk: token_sk(&record.id),
        token_id: record.id.as_str().to_owned(),
        user_id: record.user_id.as_str().to_owned(),
        name: record.name.clone(),
        description: record.description.clone(),
        token_hash: record.hash.as_str().to_owned(),
        hint: record.hint.clone(),
        created_at: timestamp(record.created_at),
        expires_on: record.expires_on.format("%Y-%m-%d").to_string(),
        time_zone: record.time_zone.name().to_owned(),
        expires_at: timestamp(record.expires_at),
        expires_at_epoch: record.expires_at.timestamp(),
        last_used_at: record.last_used_at.map(timestamp),
        revoked_at: record.revoked_at.map(timestamp),
    })
}

pub fn token_from_item(item: Item) -> Result<TokenRecord, StoreError> {
    let raw: TokenItem = serde_dynamo::from_item(item).map_err(|_| corrupt("token"))?;
    Ok(TokenRecord {
        id: TokenId::parse(&raw.token_id).ok_or_else(|| corrupt("token"))?,
        user_id: UserId::parse(&raw.user_id).ok_or_else(|| corrupt("token"))?,
        name: raw.name,
        description: raw.description,
        hash: TokenHash::from_stored(raw.token_hash),
        hint: raw.hint,
        created_at: parse_time(&raw.created_at, "token")?,
        expires_on: NaiveDate::parse_from_str(&raw.expires_on, "%Y-%m-%d")
            .map_err(|_| corrupt("token"))?,
        time_zone: parse_time_zone(&raw.time_zone).ok_or_else(|| corrupt("token"))?,
        expires_at: parse_time(&raw.expires_at, "token")?,
        last_used_at: raw
            .last_used_at
            .as_deref()
            .map(|t| parse_time(t, "token"))
            .transpose()?,
        revoked_at: raw
            .revoked_at
            .as_deref()
            .map(|t| parse_time(t, "token"))
            .transpose()?,
    })
}

pub fn hash_to_item(record: &TokenRecord) -> Result<Item, StoreError> {
    to_item(&HashItem {
        pk: hash_pk(&record.hash),
        sk: HASH_SK.to_owned(),
        token_id: record.id.as_str().to_owned(),
        user_id: record.user_id.as_str().to_owned(),
        expires_at_epoch: record.expires_at.timestamp(),
    })
}

pub fn hash_from_item(item: Item) -> Result<HashRecord, StoreError> {
    let raw: HashItem = serde_dynamo::from_item(item).map_err(|_| corrupt("hash"))?;
    Ok(HashRecord {
        user_id: UserId::parse(&raw.user_id).ok_or_else(|| corrupt("hash"))?,
        token_id: TokenId::parse(&raw.token_id).ok_or_else(|| corrupt("hash"))?,
        expires_at: DateTime::from_timestamp(raw.expires_at_epoch, 0)
            .ok_or_else(|| corrupt("hash"))?,
    })
}

/// `SET` expression and values that create or update a user record while keeping
/// its `token_version`, which only token creation may change.
pub fn user_upsert(user: &User) -> (String, Item) {
    let mut values = HashMap::from([
        (
            ":user_id".to_owned(),
            AttributeValue::S(user.id.as_str().to_owned()),
        ),
        (
            ":roles".to_owned(),
            AttributeValue::L(user.roles.iter().cloned().map(AttributeValue::S).collect()),
        ),
        (":active".to_owned(), AttributeValue::Bool(user.active)),
        (":zero".to_owned(), AttributeValue::N("0".to_owned())),
    ]);
    let mut expression =
        "SET user_id = :user_id, #roles = :roles, active = :active, token_version = if_not_exists(token_version, :zero)"
            .to_owned();
    match user.time_zone {
        Some(tz) => {
            expression.push_str(", time_zone = :time_zone");
            values.insert(
                ":time_zone".to_owned(),
                AttributeValue::S(tz.name().to_owned()),
            );
        }
        None => expression.push_str(" REMOVE time_zone"),
    }
    (expression, values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{TokenPrefix, TokenSecret};
    use chrono::Duration;

    fn record(revoked: bool) -> TokenRecord {
        let secret = TokenSecret::generate(&TokenPrefix::default()).unwrap();
        let created_at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        TokenRecord {
            id: TokenId::generate(1_795_600_000_000).unwrap(),
            user_id: UserId::parse("alice").unwrap(),
            name: "n".into(),
            description: Some("d".into()),
            hash: secret.hash(),
            hint: secret.hint(),
            created_at,
            expires_on: created_at.date_naive(),
            time_zone: chrono_tz::Asia::Kathmandu,
            expires_at: created_at + Duration::hours(8),
            last_used_at: None,
            revoked_at: revoked.then_some(created_at + Duration::hours(1)),
        }
    }

    #[test]
    fn token_items_round_trip() {
        for revoked in [false, true] {
            let original = record(revoked);
            let item = token_to_item(&original).unwrap();
            assert_eq!(
                item[TTL_ATTRIBUTE].as_n().unwrap(),
                &original.expires_at.timestamp().to_string()
            );
            assert_eq!(token_from_item(item).unwrap(), original);
        }
    }

    #[test]
    fn item_liveness_matches_the_record_rule() {
        for revoked in [false, true] {
            let original = record(revoked);
            let item = token_to_item(&original).unwrap();
            for offset in [-3600, -1, 0, 1, 3600] {
                let now =
                    original.expires_at + Duration::seconds(offset) - Duration::milliseconds(500);
                assert_eq!(
                    is_live_item(&item, now),
                    original.is_live(now),
                    "revoked {revoked}, offset {offset}"
                );
            }
        }
    }
}
