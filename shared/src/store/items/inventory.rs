//! The organisation-wide inventory's keys on token items, and its counters.
//!
//! Every live token item carries `inv_pk` = `INV#{owner kind}#{scoped|all}` (four
//! partitions), `inv_expiry` = `{expires_at}#{token id}` and `inv_idle` =
//! `U#{day of last use}#{token id}`, or `N#{day of creation}#{token id}` while never
//! used (UTC days: a token moves in the idle index at most once a day). Two GSIs,
//! `inventory-by-expiry` and `inventory-by-idle`, hash `inv_pk`, project `expires_at`.
//!
//! Counters: pk `STATS#inventory`, sk `EXP#{kind}#{scope}#{day}` and
//! `IDLE#{kind}#{scope}#{U|N}#{day}`, attribute `count`.

use chrono::{DateTime, NaiveDate, Utc};

use super::{key, timestamp, Item, PK, SK};
use crate::store::TokenRecord;
use crate::token::TokenId;
use crate::user::{PrincipalKind, UserId};

pub const INVENTORY_BY_EXPIRY: &str = "inventory-by-expiry";
pub const INVENTORY_BY_IDLE: &str = "inventory-by-idle";
pub const INVENTORY_PK: &str = "inv_pk";
pub const INVENTORY_EXPIRY: &str = "inv_expiry";
pub const INVENTORY_IDLE: &str = "inv_idle";
pub const STATS_PK: &str = "STATS#inventory";
pub const COUNT_ATTRIBUTE: &str = "count";

fn scope_word(scoped: bool) -> &'static str {
    if scoped {
        "scoped"
    } else {
        "all"
    }
}

pub fn inventory_pk(kind: PrincipalKind, scoped: bool) -> String {
    format!("INV#{}#{}", kind.as_str(), scope_word(scoped))
}

pub fn inventory_expiry(record: &TokenRecord) -> String {
    format!(
        "{}#{}",
        timestamp(record.expiry.expires_at),
        record.id.as_str()
    )
}

fn day(at: DateTime<Utc>) -> String {
    at.date_naive().format("%Y-%m-%d").to_string()
}

/// `U#{day}#{id}`: the idle key of a token last used on `day`.
pub fn inventory_idle_used(at: DateTime<Utc>, id: &TokenId) -> String {
    format!("U#{}#{}", day(at), id.as_str())
}

pub fn inventory_idle(record: &TokenRecord) -> String {
    match &record.last_use {
        Some(last_use) => inventory_idle_used(last_use.at, &record.id),
        None => format!("N#{}#{}", day(record.created_at), record.id.as_str()),
    }
}

/// The first idle key of a day (inclusive bounds for key conditions).
pub fn idle_bound(used: bool, day: NaiveDate) -> String {
    format!(
        "{}#{}",
        if used { "U" } else { "N" },
        day.format("%Y-%m-%d")
    )
}

/// The counters a token item is counted in: its expiry day's and its idle day's.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CounterBuckets {
    pub expiry: String,
    pub idle: String,
}

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// The counters of a token item's image (`None` for items outside the inventory).
pub fn counter_buckets(image: &Item) -> Option<CounterBuckets> {
    let partition = s(image, INVENTORY_PK)?.strip_prefix("INV#")?;
    let expiry_day = s(image, INVENTORY_EXPIRY)?.get(..10)?;
    let idle = s(image, INVENTORY_IDLE)?;
    let idle_day = idle.get(..12)?;
    Some(CounterBuckets {
        expiry: format!("EXP#{partition}#{expiry_day}"),
        idle: format!("IDLE#{partition}#{idle_day}"),
    })
}

pub fn counter_key(bucket: &str) -> Item {
    key(STATS_PK.to_owned(), bucket)
}

/// One counter, read back: which partition and day it counts, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub kind: PrincipalKind,
    pub scoped: bool,
    /// `None`: an expiry counter; `Some(true)`: last used that day; `Some(false)`:
    /// created that day and never used.
    pub idle_used: Option<bool>,
    pub day: NaiveDate,
    pub count: i64,
}

pub fn counter_from_item(item: &Item) -> Option<Counter> {
    let sk = s(item, SK)?;
    let parts: Vec<&str> = sk.split('#').collect();
    let (family, kind, scope, rest) = match parts.as_slice() {
        [family, kind, scope, rest @ ..] => (*family, *kind, *scope, rest),
        _ => return None,
    };
    let (idle_used, day) = match (family, rest) {
        ("EXP", [day]) => (None, *day),
        ("IDLE", ["U", day]) => (Some(true), *day),
        ("IDLE", ["N", day]) => (Some(false), *day),
        _ => return None,
    };
    Some(Counter {
        kind: PrincipalKind::parse(kind)?,
        scoped: scope == "scoped",
        idle_used,
        day: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
        count: item
            .get(COUNT_ATTRIBUTE)
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())?,
    })
}

/// An inventory index entry: the token it points at, its sort key in that index, and
/// its expiry (projected), so expired tokens TTL has not removed yet are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub owner: UserId,
    pub token_id: TokenId,
    pub sort_key: String,
    pub expires_at: Option<DateTime<Utc>>,
}

pub fn index_entry(item: &Item, sort_attribute: &str) -> Option<IndexEntry> {
    let owner = s(item, PK)?.strip_prefix("TOKENS#")?;
    let token_id = s(item, SK)?.strip_prefix(super::TOKEN_SK_PREFIX)?;
    Some(IndexEntry {
        owner: UserId::parse(owner)?,
        token_id: TokenId::parse(token_id)?,
        sort_key: s(item, sort_attribute)?.to_owned(),
        expires_at: s(item, "expires_at")
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::items::token_to_item;
    use crate::store::LastUse;

    fn record(scoped: bool, used: bool) -> TokenRecord {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let id = TokenId::generate(1_795_600_000_000).unwrap();
        TokenRecord {
            id,
            user_id: UserId::parse("ann").unwrap(),
            name: "n".into(),
            description: None,
            hash: crate::token::TokenHash::of("x"),
            hint: "h".into(),
            created_at: at,
            expiry: crate::expiry::Expiry {
                expires_on: at.date_naive(),
                time_zone: chrono_tz::UTC,
                expires_at: at + chrono::Duration::days(30),
            },
            permissions: scoped.then(|| ["catalog:read".to_owned()].into()),
            rotated_at: None,
            previous_hash: None,
            reminders: vec![],
            last_use: used.then(|| LastUse {
                at: at + chrono::Duration::days(2),
                ip: None,
                user_agent: None,
            }),
            secret_reused_at: None,
            secret_version: 1,
            owner_kind: PrincipalKind::User,
            permissions_lost: Default::default(),
            created_by: None,
        }
    }

    #[test]
    fn token_items_carry_their_inventory_keys_and_counters() {
        let fresh = token_to_item(&record(true, false)).unwrap();
        assert_eq!(fresh[INVENTORY_PK].as_s().unwrap(), "INV#user#scoped");
        assert!(fresh[INVENTORY_EXPIRY]
            .as_s()
            .unwrap()
            .starts_with("2026-12-25T10:00:00Z#"));
        assert!(fresh[INVENTORY_IDLE]
            .as_s()
            .unwrap()
            .starts_with("N#2026-11-25#"));
        assert_eq!(
            counter_buckets(&fresh).unwrap(),
            CounterBuckets {
                expiry: "EXP#user#scoped#2026-12-25".into(),
                idle: "IDLE#user#scoped#N#2026-11-25".into(),
            }
        );
        let used = token_to_item(&record(false, true)).unwrap();
        assert_eq!(
            counter_buckets(&used).unwrap().idle,
            "IDLE#user#all#U#2026-11-27"
        );
        let mut counter = counter_key("IDLE#service#all#U#2026-11-27");
        counter.insert(
            COUNT_ATTRIBUTE.into(),
            aws_sdk_dynamodb::types::AttributeValue::N("3".into()),
        );
        let read = counter_from_item(&counter).unwrap();
        assert_eq!(
            (read.kind, read.scoped, read.idle_used, read.count),
            (PrincipalKind::Service, false, Some(true), 3)
        );
    }
}
