//! The GitHub replay marker: pk `REPLAY#{sha256 hex}`, sk `REPLAY`, `delete_after` a
//! day on. One per signed secret scanning alert accepted (see [`crate::github`]).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{key, Item, TTL_ATTRIBUTE};

pub const REPLAY_PK_PREFIX: &str = "REPLAY#";
pub const REPLAY_SK: &str = "REPLAY";
/// How long a marker refuses the same signed message again (DynamoDB's TTL removes it
/// later still).
pub const REPLAY_RETENTION: chrono::Duration = chrono::Duration::hours(24);

pub fn replay_key(digest_hex: &str) -> Item {
    key(format!("{REPLAY_PK_PREFIX}{digest_hex}"), REPLAY_SK)
}

pub fn replay_item(digest_hex: &str, now: DateTime<Utc>) -> Item {
    let mut item = replay_key(digest_hex);
    item.insert(
        TTL_ATTRIBUTE.to_owned(),
        AttributeValue::N((now + REPLAY_RETENTION).timestamp().to_string()),
    );
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_keyed_by_its_digest_and_expires_a_day_later() {
        let now = DateTime::parse_from_rfc3339("2027-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        let item = replay_item("ab12", now);
        assert_eq!(item["pk"], AttributeValue::S("REPLAY#ab12".into()));
        assert_eq!(item["sk"], AttributeValue::S("REPLAY".into()));
        assert_eq!(
            item[TTL_ATTRIBUTE],
            AttributeValue::N((now.timestamp() + 86_400).to_string())
        );
        assert_eq!(item.len(), 3);
    }
}
