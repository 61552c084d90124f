//! The only place that knows how records look as DynamoDB items: keys, attribute
//! names, and the conversions both ways. The layout, and why, is in README.md
//! ("DynamoDB layout").
//!
//! | item        | pk                     | sk                    |
//! |-------------|------------------------|-----------------------|
//! | user record | `USER#{userId}`        | `PROFILE`             |
//! | token slots | `TOKENS#{userId}`      | `SLOTS`               |
//! | token       | `TOKENS#{userId}`      | `TOKEN#{tokenId}`     |
//! | revoked     | `TOKENS#{userId}`      | `REVOKED#{tokenId}`   |
//! | hash lookup | `HASH#{sha256 hex}`    | `HASH`                |
//! | reminder    | `REMIND#{utc hour}`    | `{tokenId}#{daysLeft}`|
//! | checkpoint  | `JOB#reminders`        | `CHECKPOINT`          |
//! | replay      | `REPLAY#{sha256 hex}`  | `REPLAY` ([`replay`]) |
//!
//! Principals (users and service accounts), the userName index, owned service
//! accounts and the directory index are in [`principal`]; the inventory's keys and
//! counters in [`inventory`]; integration credentials in [`credential`].
//!
//! Every item that should disappear on its own carries `delete_after` (epoch
//! seconds), the table's TTL attribute. TTL deletes late, so reads never rely on it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{LastUse, Reminder, ReminderKey, RevokeReason, RevokedToken, StoreError, TokenRecord};
use crate::expiry::{parse_time_zone, Expiry};
use crate::token::{TokenHash, TokenId};
use crate::user::{PrincipalKind, UserId};

mod access_change;
mod credential;
mod hash;
mod inventory;
mod principal;

pub use access_change::*;
pub use credential::*;
pub use hash::*;
pub use inventory::*;
pub use principal::*;

mod idempotency;

pub use idempotency::*;

pub mod replay;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// The table's TTL attribute.
pub const TTL_ATTRIBUTE: &str = "delete_after";
pub const PROFILE_SK: &str = "PROFILE";
pub const SLOTS_SK: &str = "SLOTS";
pub const HASH_SK: &str = "HASH";
pub const TOKEN_SK_PREFIX: &str = "TOKEN#";
pub const REVOKED_SK_PREFIX: &str = "REVOKED#";
pub const REMINDER_PK_PREFIX: &str = "REMIND#";
pub const CHECKPOINT_PK: &str = "JOB#reminders";
pub const CHECKPOINT_SK: &str = "CHECKPOINT";
/// The string set of token ids on the slots item: one per live (or being created) token.
pub const SLOTS_ATTRIBUTE: &str = "live";

/// The token item attributes the authorizer may write, and nothing else of any item;
/// template.yaml's authorizer policy lists the same (a test keeps them in step).
pub const LAST_USE_ATTRIBUTES: [&str; 5] = [
    "last_used_at",
    "last_used_ip",
    "last_used_user_agent",
    "secret_reused_at",
    // The inventory's idle key (day of last use), so a use moves the token in it.
    INVENTORY_IDLE,
];

/// How long a revoked token's record stays, so its owner sees that (and why) it was
/// revoked and a second revoke still answers 204.
pub const REVOKED_RETENTION: chrono::Duration = chrono::Duration::days(7);

pub fn user_pk(user: &UserId) -> String {
    format!("USER#{}", user.as_str())
}

pub fn tokens_pk(user: &UserId) -> String {
    format!("TOKENS#{}", user.as_str())
}

pub fn token_sk(id: &TokenId) -> String {
    format!("{TOKEN_SK_PREFIX}{}", id.as_str())
}

pub fn revoked_sk(id: &TokenId) -> String {
    format!("{REVOKED_SK_PREFIX}{}", id.as_str())
}

pub fn hash_pk(hash: &TokenHash) -> String {
    format!("HASH#{}", hash.as_str())
}

pub fn reminder_pk(hour: &str) -> String {
    format!("{REMINDER_PK_PREFIX}{hour}")
}

pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk)),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

pub fn user_key(user: &UserId) -> Item {
    key(user_pk(user), PROFILE_SK)
}

pub fn slots_key(user: &UserId) -> Item {
    key(tokens_pk(user), SLOTS_SK)
}

pub fn token_key(user: &UserId, id: &TokenId) -> Item {
    key(tokens_pk(user), &token_sk(id))
}

pub fn revoked_key(user: &UserId, id: &TokenId) -> Item {
    key(tokens_pk(user), &revoked_sk(id))
}

pub fn hash_key(hash: &TokenHash) -> Item {
    key(hash_pk(hash), HASH_SK)
}

pub fn reminder_item_key(reminder: &ReminderKey) -> Item {
    key(reminder_pk(&reminder.hour), &reminder.sort_key())
}

pub fn checkpoint_key() -> Item {
    key(CHECKPOINT_PK.to_owned(), CHECKPOINT_SK)
}

/// Timestamps are stored as fixed-width RFC 3339 UTC strings, so they also compare as strings.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn number_u64(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("stored {what} item is malformed"))
}

pub(crate) fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value)
        .map_err(|e| StoreError::Internal(format!("cannot marshal item: {e}")))
}

pub(crate) fn parse_time(raw: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| corrupt(what))
}

pub(crate) fn parse_optional_time(
    raw: Option<&str>,
    what: &str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    raw.map(|t| parse_time(t, what)).transpose()
}

pub(crate) fn first_secret_version() -> u64 {
    1
}

pub(crate) fn epoch(raw: i64, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp(raw, 0).ok_or_else(|| corrupt(what))
}

// ---------------------------------------------------------------- tokens

/// Attributes shared by live token items and revoked ones.
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
    delete_after: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    permissions: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_hash: Option<String>,
    /// `{hour}|{sort key}` of each pending reminder item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    reminders: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_reused_at: Option<String>,
    /// Items written before versions existed read as version 1.
    #[serde(default = "first_secret_version")]
    secret_version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_note: Option<String>,
    /// `user` or `service`; absent on tokens created before service accounts (users').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_kind: Option<String>,
    /// Permission → when the owner's roles stopped granting it (drift).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    permissions_lost: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_by: Option<String>,
    /// The inventory's keys (live tokens only): partition, expiry and idle sort keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inv_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inv_expiry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inv_idle: Option<String>,
}

fn token_item(record: &TokenRecord, sk: String, delete_after: i64) -> TokenItem {
    let last_use = record.last_use.as_ref();
    TokenItem {
        pk: tokens_pk(&record.user_id),
        sk,
        token_id: record.id.as_str().to_owned(),
        user_id: record.user_id.as_str().to_owned(),
        name: record.name.clone(),
        description: record.description.clone(),
        token_hash: record.hash.as_str().to_owned(),
        hint: record.hint.clone(),
        created_at: timestamp(record.created_at),
        expires_on: record.expiry.expires_on.format("%Y-%m-%d").to_string(),
        time_zone: record.expiry.time_zone.name().to_owned(),
        expires_at: timestamp(record.expiry.expires_at),
        delete_after,
        permissions: record.permissions.clone(),
        rotated_at: record.rotated_at.map(timestamp),
        previous_hash: record.previous_hash.as_ref().map(|h| h.as_str().to_owned()),
        reminders: record.reminders.iter().map(ReminderKey::encode).collect(),
        last_used_at: last_use.map(|u| timestamp(u.at)),
        last_used_ip: last_use.and_then(|u| u.ip.clone()),
        last_used_user_agent: last_use.and_then(|u| u.user_agent.clone()),
        secret_reused_at: record.secret_reused_at.map(timestamp),
        secret_version: record.secret_version,
        revoked_at: None,
        revoked_reason: None,
        revoked_by: None,
        revoked_note: None,
        owner_kind: Some(record.owner_kind.as_str().to_owned()),
        permissions_lost: record
            .permissions_lost
            .iter()
            .map(|(permission, at)| (permission.clone(), timestamp(*at)))
            .collect(),
        created_by: record.created_by.clone(),
        inv_pk: Some(inventory_pk(
            record.owner_kind,
            record.permissions.is_some(),
        )),
        inv_expiry: Some(inventory_expiry(record)),
        inv_idle: Some(inventory_idle(record)),
    }
}

/// A live token's item; it disappears (TTL) at the token's expiry.
pub fn token_to_item(record: &TokenRecord) -> Result<Item, StoreError> {
    to_item(&token_item(
        record,
        token_sk(&record.id),
        record.expiry.expires_at.timestamp(),
    ))
}

fn token_from_raw(raw: TokenItem) -> Result<TokenRecord, StoreError> {
    let what = "token";
    let last_used_at = parse_optional_time(raw.last_used_at.as_deref(), what)?;
    Ok(TokenRecord {
        id: TokenId::parse(&raw.token_id).ok_or_else(|| corrupt(what))?,
        user_id: UserId::parse(&raw.user_id).ok_or_else(|| corrupt(what))?,
        name: raw.name,
        description: raw.description,
        hash: TokenHash::from_stored(raw.token_hash),
        hint: raw.hint,
        created_at: parse_time(&raw.created_at, what)?,
        expiry: Expiry {
            expires_on: NaiveDate::parse_from_str(&raw.expires_on, "%Y-%m-%d")
                .map_err(|_| corrupt(what))?,
            time_zone: parse_time_zone(&raw.time_zone).ok_or_else(|| corrupt(what))?,
            expires_at: parse_time(&raw.expires_at, what)?,
        },
        permissions: raw.permissions,
        rotated_at: parse_optional_time(raw.rotated_at.as_deref(), what)?,
        previous_hash: raw.previous_hash.map(TokenHash::from_stored),
        reminders: raw
            .reminders
            .iter()
            .map(|k| ReminderKey::decode(k).ok_or_else(|| corrupt(what)))
            .collect::<Result<_, _>>()?,
        last_use: last_used_at.map(|at| LastUse {
            at,
            ip: raw.last_used_ip,
            user_agent: raw.last_used_user_agent,
        }),
        secret_reused_at: parse_optional_time(raw.secret_reused_at.as_deref(), what)?,
        secret_version: raw.secret_version,
        owner_kind: match raw.owner_kind.as_deref() {
            Some(kind) => PrincipalKind::parse(kind).ok_or_else(|| corrupt(what))?,
            None => PrincipalKind::User,
        },
        permissions_lost: raw
            .permissions_lost
            .iter()
            .map(|(permission, at)| Ok((permission.clone(), parse_time(at, what)?)))
            .collect::<Result<_, StoreError>>()?,
        created_by: raw.created_by,
    })
}

pub fn token_from_item(item: Item) -> Result<TokenRecord, StoreError> {
    let raw: TokenItem = serde_dynamo::from_item(item).map_err(|_| corrupt("token"))?;
    token_from_raw(raw)
}

/// The record kept after a revoke, for [`REVOKED_RETENTION`]. Pending reminders and the
/// previous secret are dropped: revoke deletes their items.
pub fn revoked_to_item(revoked: &RevokedToken) -> Result<Item, StoreError> {
    let token = &revoked.token;
    let mut raw = token_item(
        token,
        revoked_sk(&token.id),
        (revoked.revoked_at + REVOKED_RETENTION).timestamp(),
    );
    raw.reminders.clear();
    raw.previous_hash = None;
    raw.revoked_at = Some(timestamp(revoked.revoked_at));
    raw.revoked_reason = Some(revoked.reason.as_str().to_owned());
    raw.revoked_by = revoked.revoked_by.clone();
    raw.revoked_note = revoked.note.clone();
    // Revoked records are not in the inventory.
    (raw.inv_pk, raw.inv_expiry, raw.inv_idle) = (None, None, None);
    to_item(&raw)
}

pub fn revoked_from_item(item: Item) -> Result<RevokedToken, StoreError> {
    let mut raw: TokenItem = serde_dynamo::from_item(item).map_err(|_| corrupt("revoked token"))?;
    let revoked_at = raw.revoked_at.take();
    let reason = raw.revoked_reason.take();
    let revoked_by = raw.revoked_by.take();
    let note = raw.revoked_note.take();
    let token = token_from_raw(raw)?;
    Ok(RevokedToken {
        token,
        revoked_at: parse_time(revoked_at.as_deref().unwrap_or_default(), "revoked token")?,
        reason: reason
            .as_deref()
            .and_then(RevokeReason::parse)
            .ok_or_else(|| corrupt("revoked token"))?,
        revoked_by,
        note,
    })
}

/// The attributes [`token_liveness_from_item`] reads.
pub const LIVENESS_PROJECTION: &str = "token_id, expires_at";

/// A token item's id and whether it is live at `now` (projected to [`LIVENESS_PROJECTION`]).
pub fn token_liveness_from_item(item: &Item, now: DateTime<Utc>) -> Option<(String, bool)> {
    let id = item.get("token_id")?.as_s().ok()?.clone();
    let live = item
        .get("expires_at")
        .and_then(|v| v.as_s().ok())
        .and_then(|raw| parse_time(raw, "token").ok())
        .is_some_and(|expires_at| now < expires_at);
    Some((id, live))
}

// ---------------------------------------------------------------- reminders

#[derive(Debug, Serialize, Deserialize)]
struct ReminderItem {
    pk: String,
    sk: String,
    token_id: String,
    user_id: String,
    name: String,
    hint: String,
    days_left: u32,
    due_at: String,
    expires_on: String,
    time_zone: String,
    expires_at: String,
    delete_after: i64,
}

pub fn reminder_to_item(reminder: &Reminder) -> Result<Item, StoreError> {
    to_item(&ReminderItem {
        pk: reminder_pk(&reminder.key.hour),
        sk: reminder.key.sort_key(),
        token_id: reminder.key.token_id.as_str().to_owned(),
        user_id: reminder.user_id.as_str().to_owned(),
        name: reminder.name.clone(),
        hint: reminder.hint.clone(),
        days_left: reminder.key.days_left,
        due_at: timestamp(reminder.due_at),
        expires_on: reminder.expiry.expires_on.format("%Y-%m-%d").to_string(),
        time_zone: reminder.expiry.time_zone.name().to_owned(),
        expires_at: timestamp(reminder.expiry.expires_at),
        // A reminder is pointless once its token has expired.
        delete_after: reminder.expiry.expires_at.timestamp(),
    })
}

pub fn reminder_from_item(item: Item) -> Result<Reminder, StoreError> {
    let what = "reminder";
    let raw: ReminderItem = serde_dynamo::from_item(item).map_err(|_| corrupt(what))?;
    let hour = raw
        .pk
        .strip_prefix(REMINDER_PK_PREFIX)
        .ok_or_else(|| corrupt(what))?
        .to_owned();
    Ok(Reminder {
        key: ReminderKey {
            hour,
            token_id: TokenId::parse(&raw.token_id).ok_or_else(|| corrupt(what))?,
            days_left: raw.days_left,
        },
        user_id: UserId::parse(&raw.user_id).ok_or_else(|| corrupt(what))?,
        name: raw.name,
        hint: raw.hint,
        due_at: parse_time(&raw.due_at, what)?,
        expiry: Expiry {
            expires_on: NaiveDate::parse_from_str(&raw.expires_on, "%Y-%m-%d")
                .map_err(|_| corrupt(what))?,
            time_zone: parse_time_zone(&raw.time_zone).ok_or_else(|| corrupt(what))?,
            expires_at: parse_time(&raw.expires_at, what)?,
        },
    })
}

impl ReminderKey {
    pub fn sort_key(&self) -> String {
        format!("{}#{}", self.token_id.as_str(), self.days_left)
    }

    pub(crate) fn encode(&self) -> String {
        format!("{}|{}", self.hour, self.sort_key())
    }

    fn decode(raw: &str) -> Option<Self> {
        let (hour, sort_key) = raw.split_once('|')?;
        let (token_id, days_left) = sort_key.split_once('#')?;
        Some(ReminderKey {
            hour: hour.to_owned(),
            token_id: TokenId::parse(token_id)?,
            days_left: days_left.parse().ok()?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::StoredUser;
    use crate::token::{TokenPrefix, TokenSecret};
    use chrono::Duration;

    pub(crate) fn owner() -> StoredUser {
        StoredUser {
            user: crate::user::User {
                id: UserId::parse("alice").unwrap(),
                roles: vec!["Viewer".into()],
                time_zone: Some(chrono_tz::Europe::Paris),
                active: true,
            },
            access_version: 3,
            profile: Default::default(),
        }
    }

    pub(crate) fn record() -> TokenRecord {
        let secret = TokenSecret::generate(&TokenPrefix::default()).unwrap();
        let created_at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = TokenId::generate(1_795_600_000_000).unwrap();
        TokenRecord {
            id: id.clone(),
            user_id: UserId::parse("alice").unwrap(),
            name: "n".into(),
            description: Some("d".into()),
            hash: secret.hash(),
            hint: secret.hint(),
            created_at,
            expiry: Expiry {
                expires_on: created_at.date_naive(),
                time_zone: chrono_tz::Asia::Kathmandu,
                expires_at: created_at + Duration::hours(8),
            },
            permissions: Some(BTreeSet::from(["catalog:read".to_owned()])),
            rotated_at: Some(created_at + Duration::minutes(5)),
            previous_hash: Some(TokenHash::of("older")),
            reminders: vec![ReminderKey {
                hour: "2026-11-25T15".into(),
                token_id: id,
                days_left: 0,
            }],
            last_use: Some(LastUse {
                at: created_at + Duration::minutes(7),
                ip: Some("192.0.2.7".into()),
                user_agent: Some("curl/8".into()),
            }),
            secret_reused_at: None,
            secret_version: 2,
            owner_kind: PrincipalKind::Service,
            permissions_lost: BTreeMap::from([("entity:edit".to_owned(), created_at)]),
            created_by: Some("arn:aws:iam::123456789012:user/ops".into()),
        }
    }

    #[test]
    fn token_items_round_trip_and_expire_with_the_token() {
        let original = record();
        let item = token_to_item(&original).unwrap();
        assert_eq!(
            item[TTL_ATTRIBUTE].as_n().unwrap(),
            &original.expiry.expires_at.timestamp().to_string()
        );
        assert_eq!(item[SK].as_s().unwrap(), &token_sk(&original.id));
        assert_eq!(token_from_item(item).unwrap(), original);
    }

    #[test]
    fn revoked_items_keep_metadata_for_a_week_and_drop_the_pending_work() {
        let original = record();
        let revoked_at = original.created_at + Duration::hours(1);
        let revoked = RevokedToken {
            token: original.clone(),
            revoked_at,
            reason: RevokeReason::Leaked,
            revoked_by: None,
            note: None,
        };
        let item = revoked_to_item(&revoked).unwrap();
        assert!(
            !item.contains_key("inv_pk"),
            "revoked records leave the inventory"
        );
        assert_eq!(item[SK].as_s().unwrap(), &revoked_sk(&original.id));
        assert_eq!(
            item[TTL_ATTRIBUTE].as_n().unwrap(),
            &(revoked_at + Duration::days(7)).timestamp().to_string()
        );
        let back = revoked_from_item(item).unwrap();
        assert_eq!(back.reason, RevokeReason::Leaked);
        assert_eq!(back.revoked_at, revoked_at);
        assert!(back.token.reminders.is_empty() && back.token.previous_hash.is_none());
        assert_eq!(back.token.name, original.name);
        assert_eq!(back.token.last_use, original.last_use);
    }

    #[test]
    fn hash_items_carry_the_scope_validity_and_owner_access_but_no_secret() {
        let original = record();
        let item = hash_to_item(&original, &owner()).unwrap();
        assert_eq!(item["access_version"].as_n().unwrap(), "3");
        let back = hash_from_item(item.clone()).unwrap();
        assert_eq!(back.roles, ["Viewer"]);
        assert!(back.active);
        assert_eq!(back.valid_until, original.expiry.expires_at);
        assert_eq!(back.permissions, original.permissions);
        assert!(!back.rotated_out);
        assert!(!item.contains_key("rotated_out"));
        assert_eq!(item[PK].as_s().unwrap(), &hash_pk(&original.hash));
        // What the authorizer hands the backend, with defaults for what other writes set.
        assert_eq!(
            (back.name.as_str(), back.hint.as_str()),
            ("n", original.hint.as_str())
        );
        assert_eq!(back.expires_at, original.expiry.expires_at);
        assert_eq!(
            (back.secret_version, back.owner_kind),
            (original.secret_version, original.owner_kind)
        );
        assert!(!item.contains_key("token_hash") && !item.contains_key("secret"));
        let mut older = item.clone();
        for added in ["name", "hint", "expires_at"] {
            older.remove(added);
        }
        older.insert("secret_version".into(), AttributeValue::N("4".into()));
        older.insert("owner_kind".into(), string("service"));
        let back = hash_from_item(older).unwrap();
        assert_eq!((back.name.as_str(), back.hint.as_str()), ("", ""));
        assert_eq!(
            back.expires_at, original.expiry.expires_at,
            "from delete_after"
        );
        assert_eq!(
            (back.secret_version, back.owner_kind.as_str()),
            (4, "service")
        );
    }

    #[test]
    fn liveness_projection_reads_expiry() {
        let original = record();
        let item = token_to_item(&original).unwrap();
        let at = original.expiry.expires_at;
        let id = original.id.as_str().to_owned();
        assert_eq!(
            token_liveness_from_item(&item, at - Duration::seconds(1)),
            Some((id.clone(), true))
        );
        assert_eq!(token_liveness_from_item(&item, at), Some((id, false)));
    }

    #[test]
    fn reminder_keys_round_trip_through_the_token_item() {
        let original = record();
        for key in &original.reminders {
            assert_eq!(ReminderKey::decode(&key.encode()).as_ref(), Some(key));
        }
        assert_eq!(ReminderKey::decode("no-separator"), None);
    }
}
