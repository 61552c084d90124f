//! Lifecycle events: what the product learns about tokens, derived from the table's
//! stream (so no request path publishes anything) and from the reminder queue.
//!
//! | event                | from                                                    |
//! |----------------------|---------------------------------------------------------|
//! | `token.created`      | a token item inserted                                   |
//! | `token.rotated`      | a token item whose `secret_version` went up             |
//! | `token.secret_reused`| a token item whose `secret_reused_at` changed            |
//! | `token.revoked`      | a revoked record inserted (reason: user, leaked, offboarded) |
//! | `token.expired`      | a token item deleted by DynamoDB's TTL                  |
//! | `token.expiring`     | a reminder falling due (see [`crate::reminders`])       |
//!
//! Each event's detail names the user, the token and its expiry, never the secret or
//! its hash. Its `eventId` derives from what caused it (the stream record, or the
//! reminder), so a consumer that sees an event twice (a retried batch, a redrive)
//! can drop the second. Every change of a token is its own stream record, so two
//! rotations in one second are two `token.rotated` events, with two `secretVersion`s.

use aws_lambda_events::dynamodb::EventRecord;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::wire_time;
use crate::store::items::{self, Item};
use crate::store::{Reminder, RevokedToken, StoreError, TokenRecord};

#[cfg(feature = "eventbridge")]
pub mod eventbridge;

/// EventBridge `source` of every patgate event.
pub const SOURCE: &str = "patgate.token";

/// One lifecycle event: its type (EventBridge `detail-type`) and its detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleEvent {
    #[serde(skip)]
    pub detail_type: &'static str,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub occurred_at: String,
    pub user_id: String,
    pub token_id: String,
    pub name: String,
    pub hint: String,
    pub expires_at: String,
    pub expires_on: String,
    pub time_zone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_left: Option<u32>,
    /// The token's secret version the event speaks of (not known to reminders).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_version: Option<u64>,
}

impl LifecycleEvent {
    fn about(kind: &'static str, event_id: String, at: DateTime<Utc>, token: &TokenRecord) -> Self {
        LifecycleEvent {
            detail_type: kind,
            event_id,
            kind,
            occurred_at: wire_time(at),
            user_id: token.user_id.as_str().to_owned(),
            token_id: token.id.as_str().to_owned(),
            name: token.name.clone(),
            hint: token.hint.clone(),
            expires_at: wire_time(token.expiry.expires_at),
            expires_on: token.expiry.expires_on.format("%Y-%m-%d").to_string(),
            time_zone: token.expiry.time_zone.name().to_owned(),
            reason: None,
            days_left: None,
            secret_version: Some(token.secret_version),
        }
    }

    /// The detail as EventBridge carries it.
    pub fn detail_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// The event a stream record means, if any. A record of an item this module does not
/// know (users, slots, hashes, reminders), or a change no one needs to hear about
/// (a last-use write), means none.
pub fn from_stream_record(record: &EventRecord) -> Result<Option<LifecycleEvent>, StoreError> {
    let keys: Item = record.change.keys.clone().into();
    let Some(sk) = keys.get(items::SK).and_then(|v| v.as_s().ok()) else {
        return Ok(None);
    };
    let id = format!("stream:{}", record.event_id);
    let at = record.change.approximate_creation_date_time;
    let new_image = || -> Item { record.change.new_image.clone().into() };
    let old_image = || -> Item { record.change.old_image.clone().into() };
    if sk.starts_with(items::TOKEN_SK_PREFIX) {
        match record.event_name.as_str() {
            "INSERT" => {
                let token = items::token_from_item(new_image())?;
                Ok(Some(LifecycleEvent::about("token.created", id, at, &token)))
            }
            "MODIFY" => {
                let old = items::token_from_item(old_image())?;
                let new = items::token_from_item(new_image())?;
                // A rotation (or re-issue) bumps the version; items written before
                // versions existed only tell by `rotated_at`.
                let rotated = new.secret_version > old.secret_version
                    || (new.secret_version == old.secret_version
                        && new.rotated_at != old.rotated_at);
                Ok(if rotated {
                    Some(LifecycleEvent::about("token.rotated", id, at, &new))
                } else if new.secret_reused_at != old.secret_reused_at {
                    Some(LifecycleEvent::about("token.secret_reused", id, at, &new))
                } else {
                    None
                })
            }
            "REMOVE" if removed_by_ttl(record) => {
                let token = items::token_from_item(old_image())?;
                Ok(Some(LifecycleEvent::about("token.expired", id, at, &token)))
            }
            // A revoke deletes the token item too; its revoked record says so.
            _ => Ok(None),
        }
    } else if sk.starts_with(items::REVOKED_SK_PREFIX) && record.event_name == "INSERT" {
        let revoked: RevokedToken = items::revoked_from_item(new_image())?;
        let mut event =
            LifecycleEvent::about("token.revoked", id, revoked.revoked_at, &revoked.token);
        event.reason = Some(revoked.reason.as_str());
        Ok(Some(event))
    } else {
        Ok(None)
    }
}

/// DynamoDB's TTL deletes as the service itself.
fn removed_by_ttl(record: &EventRecord) -> bool {
    record.user_identity.as_ref().is_some_and(|identity| {
        identity.type_ == "Service" && identity.principal_id == "dynamodb.amazonaws.com"
    })
}

/// The `token.expiring` event of a reminder that fell due.
pub fn expiring(reminder: &Reminder, now: DateTime<Utc>) -> LifecycleEvent {
    let days_left = reminder.key.days_left;
    LifecycleEvent {
        detail_type: "token.expiring",
        event_id: format!("reminder:{}:{}", reminder.key.hour, reminder.key.sort_key()),
        kind: "token.expiring",
        occurred_at: wire_time(now),
        user_id: reminder.user_id.as_str().to_owned(),
        token_id: reminder.key.token_id.as_str().to_owned(),
        name: reminder.name.clone(),
        hint: reminder.hint.clone(),
        expires_at: wire_time(reminder.expiry.expires_at),
        expires_on: reminder.expiry.expires_on.format("%Y-%m-%d").to_string(),
        time_zone: reminder.expiry.time_zone.name().to_owned(),
        reason: None,
        days_left: Some(days_left),
        secret_version: None,
    }
}

/// Where events go: EventBridge in the cloud, a file in the local stack.
#[allow(async_fn_in_trait)]
pub trait EventSink {
    /// Publishes `events`; returns, for each, whether it is out (in the same order).
    async fn publish(&self, events: &[LifecycleEvent]) -> Vec<Result<(), String>>;
}

/// Appends each event as one JSON line (`{"detail-type", "source", "detail"}`) to a
/// file: the local stack's stand-in for EventBridge.
#[derive(Debug, Clone)]
pub struct FileSink {
    pub path: std::path::PathBuf,
}

impl FileSink {
    /// The line an event becomes in the file (and in the local stack's log).
    pub fn line(event: &LifecycleEvent) -> String {
        serde_json::json!({
            "source": SOURCE,
            "detail-type": event.detail_type,
            "detail": event,
        })
        .to_string()
    }
}

impl EventSink for FileSink {
    async fn publish(&self, events: &[LifecycleEvent]) -> Vec<Result<(), String>> {
        use std::io::Write;
        let opened = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path);
        events
            .iter()
            .map(|event| match &opened {
                Ok(file) => {
                    let mut file: &std::fs::File = file;
                    writeln!(file, "{}", Self::line(event)).map_err(|e| e.to_string())
                }
                Err(err) => Err(err.to_string()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expiry::Expiry;
    use crate::store::{ReminderKey, RevokeReason};
    use crate::token::{TokenHash, TokenId};
    use crate::user::UserId;
    use serde_json::{json, Value};

    fn token() -> TokenRecord {
        let created_at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        TokenRecord {
            id: TokenId::generate(1_795_600_000_000).unwrap(),
            user_id: UserId::parse("alice").unwrap(),
            name: "ci".into(),
            description: None,
            hash: TokenHash::of("pgt_secret"),
            hint: "pgt_…abcd".into(),
            created_at,
            expiry: Expiry {
                expires_on: created_at.date_naive(),
                time_zone: chrono_tz::Europe::Paris,
                expires_at: created_at + chrono::Duration::hours(13),
            },
            permissions: None,
            rotated_at: None,
            previous_hash: None,
            reminders: vec![],
            last_use: None,
            secret_reused_at: None,
            secret_version: 1,
            owner_kind: Default::default(),
            permissions_lost: Default::default(),
            created_by: None,
        }
    }

    /// A stream record the way Lambda hands it over (DynamoDB JSON images).
    fn record(
        name: &str,
        keys: &Item,
        old: Option<&Item>,
        new: Option<&Item>,
        service: bool,
    ) -> EventRecord {
        let image = |item: Option<&Item>| -> Value {
            match item {
                Some(item) => serde_json::to_value(serde_dynamo::Item::from(item.clone())).unwrap(),
                None => json!({}),
            }
        };
        let mut value = json!({
            "awsRegion": "us-east-1",
            "eventID": "e-1",
            "eventName": name,
            "eventSource": "aws:dynamodb",
            "eventVersion": "1.1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1795600000.0,
                "Keys": image(Some(keys)),
                "NewImage": image(new),
                "OldImage": image(old),
                "SequenceNumber": "100",
                "SizeBytes": 10,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        });
        if service {
            value["userIdentity"] =
                json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
        }
        serde_json::from_value(value).unwrap()
    }

    fn keys_of(item: &Item) -> Item {
        [items::PK, items::SK]
            .iter()
            .map(|k| ((*k).to_owned(), item[*k].clone()))
            .collect()
    }

    #[test]
    fn each_change_of_a_token_means_its_event() {
        let created = token();
        let item = items::token_to_item(&created).unwrap();
        let keys = keys_of(&item);
        let insert = from_stream_record(&record("INSERT", &keys, None, Some(&item), false))
            .unwrap()
            .unwrap();
        assert_eq!(insert.detail_type, "token.created");
        assert_eq!(insert.event_id, "stream:e-1");
        assert_eq!(insert.time_zone, "Europe/Paris");

        let rotated = TokenRecord {
            rotated_at: Some(created.created_at),
            ..created.clone()
        };
        let rotated_item = items::token_to_item(&rotated).unwrap();
        let modify = record("MODIFY", &keys, Some(&item), Some(&rotated_item), false);
        assert_eq!(
            from_stream_record(&modify).unwrap().unwrap().detail_type,
            "token.rotated"
        );

        let used = TokenRecord {
            last_use: Some(crate::store::LastUse {
                at: created.created_at,
                ip: None,
                user_agent: None,
            }),
            ..created.clone()
        };
        let used_item = items::token_to_item(&used).unwrap();
        assert_eq!(
            from_stream_record(&record(
                "MODIFY",
                &keys,
                Some(&item),
                Some(&used_item),
                false
            ))
            .unwrap(),
            None
        );

        // Deleted by a revoke: nothing; deleted by TTL: expired.
        assert_eq!(
            from_stream_record(&record("REMOVE", &keys, Some(&item), None, false)).unwrap(),
            None
        );
        let expired = from_stream_record(&record("REMOVE", &keys, Some(&item), None, true))
            .unwrap()
            .unwrap();
        assert_eq!(expired.detail_type, "token.expired");
    }

    #[test]
    fn a_second_rotation_in_the_same_second_is_told_by_its_version() {
        let at = token().created_at;
        let once = TokenRecord {
            rotated_at: Some(at),
            secret_version: 2,
            ..token()
        };
        let twice = TokenRecord {
            secret_version: 3,
            ..once.clone()
        };
        let old = items::token_to_item(&once).unwrap();
        let new = items::token_to_item(&twice).unwrap();
        let event = from_stream_record(&record(
            "MODIFY",
            &keys_of(&new),
            Some(&old),
            Some(&new),
            false,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(event.detail_type, "token.rotated");
        assert_eq!(event.secret_version, Some(3));
        // Nothing but a last use: no event, whatever the version says.
        let used = TokenRecord {
            last_use: Some(crate::store::LastUse {
                at,
                ip: None,
                user_agent: None,
            }),
            ..twice.clone()
        };
        let used = items::token_to_item(&used).unwrap();
        assert_eq!(
            from_stream_record(&record(
                "MODIFY",
                &keys_of(&new),
                Some(&new),
                Some(&used),
                false
            ))
            .unwrap(),
            None
        );
    }

    #[test]
    fn revocations_carry_their_reason_and_no_secret() {
        let revoked = RevokedToken {
            token: token(),
            revoked_at: token().created_at,
            reason: RevokeReason::Leaked,
            revoked_by: None,
            note: None,
        };
        let item = items::revoked_to_item(&revoked).unwrap();
        let event =
            from_stream_record(&record("INSERT", &keys_of(&item), None, Some(&item), false))
                .unwrap()
                .unwrap();
        assert_eq!(event.detail_type, "token.revoked");
        assert_eq!(event.reason, Some("leaked"));
        let detail = event.detail_json();
        assert!(!detail.contains(revoked.token.hash.as_str()));
        let detail: Value = serde_json::from_str(&detail).unwrap();
        assert_eq!(detail["reason"], "leaked");
        assert_eq!(detail["userId"], "alice");
        assert!(detail.get("tokenHash").is_none());
    }

    #[test]
    fn other_items_mean_no_event() {
        let owner = crate::store::StoredUser {
            user: crate::user::User {
                id: UserId::parse("alice").unwrap(),
                roles: vec![],
                time_zone: None,
                active: true,
            },
            access_version: 1,
            profile: Default::default(),
        };
        let hash = items::hash_to_item(&token(), &owner).unwrap();
        assert_eq!(
            from_stream_record(&record("INSERT", &keys_of(&hash), None, Some(&hash), false))
                .unwrap(),
            None
        );
    }

    #[test]
    fn reminders_become_expiring_events_with_a_stable_id() {
        let t = token();
        let reminder = Reminder {
            key: ReminderKey {
                hour: "2026-11-25T08".into(),
                token_id: t.id.clone(),
                days_left: 1,
            },
            user_id: t.user_id.clone(),
            name: t.name.clone(),
            hint: t.hint.clone(),
            due_at: t.created_at,
            expiry: t.expiry.clone(),
        };
        let a = expiring(&reminder, t.created_at);
        let b = expiring(&reminder, t.created_at + chrono::Duration::hours(1));
        assert_eq!(a.event_id, b.event_id);
        let detail: Value = serde_json::from_str(&a.detail_json()).unwrap();
        assert_eq!(detail["daysLeft"], 1);
        assert_eq!(detail["timeZone"], "Europe/Paris");
        assert_eq!(detail["type"], "token.expiring");
    }
}
