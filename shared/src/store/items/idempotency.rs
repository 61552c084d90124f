//! Idempotency records (`TOKENS#{owner}`, `IDEMPOTENCY#{sha256 of the key}`) as items.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{corrupt, key, parse_time, timestamp, to_item, tokens_pk, Item};
use crate::store::{IdempotencyRecord, StoreError};
use crate::token::TokenId;
use crate::user::UserId;

pub const IDEMPOTENCY_SK_PREFIX: &str = "IDEMPOTENCY#";

/// How long a key is remembered: a retry a day later creates a new token.
pub const IDEMPOTENCY_RETENTION: chrono::Duration = chrono::Duration::hours(24);

pub fn idempotency_key(user: &UserId, key_hash: &str) -> Item {
    key(
        tokens_pk(user),
        &format!("{IDEMPOTENCY_SK_PREFIX}{key_hash}"),
    )
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyItem {
    pk: String,
    sk: String,
    user_id: String,
    token_id: String,
    request_hash: String,
    created_at: String,
    delete_after: i64,
}

pub fn idempotency_to_item(record: &IdempotencyRecord) -> Result<Item, StoreError> {
    to_item(&IdempotencyItem {
        pk: tokens_pk(&record.user_id),
        sk: format!("{IDEMPOTENCY_SK_PREFIX}{}", record.key_hash),
        user_id: record.user_id.as_str().to_owned(),
        token_id: record.token_id.as_str().to_owned(),
        request_hash: record.request_hash.clone(),
        created_at: timestamp(record.created_at),
        delete_after: idempotency_expiry(record.created_at).timestamp(),
    })
}

/// When a record stops counting (TTL removes it later).
pub fn idempotency_expiry(created_at: DateTime<Utc>) -> DateTime<Utc> {
    created_at + IDEMPOTENCY_RETENTION
}

pub fn idempotency_from_item(item: Item) -> Result<IdempotencyRecord, StoreError> {
    let what = "idempotency";
    let raw: IdempotencyItem = serde_dynamo::from_item(item).map_err(|_| corrupt(what))?;
    let key_hash = raw
        .sk
        .strip_prefix(IDEMPOTENCY_SK_PREFIX)
        .ok_or_else(|| corrupt(what))?
        .to_owned();
    Ok(IdempotencyRecord {
        user_id: UserId::parse(&raw.user_id).ok_or_else(|| corrupt(what))?,
        key_hash,
        token_id: TokenId::parse(&raw.token_id).ok_or_else(|| corrupt(what))?,
        request_hash: raw.request_hash,
        created_at: parse_time(&raw.created_at, what)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_records_round_trip_and_last_a_day() {
        let created_at = DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let record = IdempotencyRecord {
            user_id: UserId::parse("alice").unwrap(),
            key_hash: "ab".repeat(32),
            token_id: TokenId::generate(1_795_600_000_000).unwrap(),
            request_hash: "cd".repeat(32),
            created_at,
        };
        let item = idempotency_to_item(&record).unwrap();
        assert_eq!(item["pk"].as_s().unwrap(), "TOKENS#alice");
        assert_eq!(
            item["sk"].as_s().unwrap(),
            &format!("IDEMPOTENCY#{}", "ab".repeat(32))
        );
        assert_eq!(
            item["delete_after"].as_n().unwrap(),
            &(created_at + chrono::Duration::hours(24))
                .timestamp()
                .to_string()
        );
        assert_eq!(idempotency_from_item(item).unwrap(), record);
    }
}
