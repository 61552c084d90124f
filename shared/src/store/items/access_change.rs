//! What a stream record of the table says about someone's access, for the
//! `revocations` function: the changes after which an answer the authorizer gave
//! earlier (and API Gateway cached) may no longer hold.
//!
//! | record                                   | change                                |
//! |------------------------------------------|---------------------------------------|
//! | INSERT `TOKENS#…` / `REVOKED#…`          | a token revoked (any reason)          |
//! | MODIFY `HASH#…`, `rotated_out` now true, or its `valid_until` earlier | a secret retired at its `valid_until` |
//! | REMOVE `HASH#…` whose old image was retired | a secret's grace cut short (a second rotation) |
//! | `USER#…` / `PROFILE`                     | a principal's access (`access_version`) |

use chrono::{DateTime, Utc};

use super::{Item, HASH_SK, PK, PROFILE_SK, REVOKED_SK_PREFIX, SK};
use crate::user::UserId;

/// One record's bearing on cached authorizer answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessChange {
    /// A `REVOKED#` record was written: the token's secrets authenticate nothing.
    Revoked,
    /// A secret was replaced by a rotation, or its handover cut down to the grace
    /// asked for; it authenticates nothing from `valid_until`. `hash` is its item's
    /// pk (a later record of the same item supersedes this one).
    SecretRetired {
        hash: String,
        valid_until: DateTime<Utc>,
    },
    /// A retired secret's hash item was deleted (a later rotation) while it was
    /// valid until `valid_until`.
    RetiredSecretRemoved {
        hash: String,
        valid_until: DateTime<Utc>,
    },
    /// A principal record: whether its `access_version` went up (a change, not a
    /// new principal), and whether its
    /// last access change has not reached all its tokens yet
    /// (`synced_version < access_version`).
    Principal {
        id: UserId,
        access_raised: bool,
        behind: bool,
    },
}

fn string<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

fn whole(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn flag(item: &Item, name: &str) -> bool {
    item.get(name)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

fn epoch(item: &Item, name: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(whole(item, name)?, 0)
}

/// The change a stream record (`event_name`: `INSERT`, `MODIFY` or `REMOVE`; its keys
/// and images, empty when absent) carries, if any.
pub fn access_change(
    event_name: &str,
    keys: &Item,
    old: &Item,
    new: &Item,
) -> Option<AccessChange> {
    let sk = string(keys, SK)?;
    let pk = string(keys, PK)?;
    if sk.starts_with(REVOKED_SK_PREFIX) && pk.starts_with("TOKENS#") {
        return (event_name == "INSERT").then_some(AccessChange::Revoked);
    }
    if sk == HASH_SK && pk.starts_with("HASH#") {
        let hash = pk.to_owned();
        return match event_name {
            "MODIFY" if flag(new, "rotated_out") => {
                let valid_until = epoch(new, "valid_until")?;
                let earlier = epoch(old, "valid_until").is_some_and(|before| valid_until < before);
                (!flag(old, "rotated_out") || earlier)
                    .then_some(AccessChange::SecretRetired { hash, valid_until })
            }
            "REMOVE" if flag(old, "rotated_out") => Some(AccessChange::RetiredSecretRemoved {
                hash,
                valid_until: epoch(old, "valid_until")?,
            }),
            _ => None,
        };
    }
    if sk == PROFILE_SK {
        let id = pk.strip_prefix("USER#").and_then(UserId::parse)?;
        let version = |item: &Item, name: &str| whole(item, name).unwrap_or(0);
        let behind =
            !new.is_empty() && version(new, "synced_version") < version(new, "access_version");
        // A new principal has no cached answers: only a change raises access.
        let access_raised =
            !old.is_empty() && version(new, "access_version") > version(old, "access_version");
        return Some(AccessChange::Principal {
            id,
            access_raised,
            behind,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.to_owned())
    }

    fn n(v: i64) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    #[test]
    fn revocations_retirements_and_principals_are_told_apart() {
        let none = Item::new();
        let revoked = item(&[("pk", s("TOKENS#ann")), ("sk", s("REVOKED#01J"))]);
        assert_eq!(
            access_change("INSERT", &revoked, &none, &revoked),
            Some(AccessChange::Revoked)
        );
        // Its removal by TTL a week later changes nobody's access.
        assert_eq!(access_change("REMOVE", &revoked, &revoked, &none), None);

        let keys = item(&[("pk", s("HASH#ab")), ("sk", s("HASH"))]);
        let live = item(&[("valid_until", n(2_000_000_000))]);
        let retired = item(&[
            ("valid_until", n(1_800_000_000)),
            ("rotated_out", AttributeValue::Bool(true)),
        ]);
        let at = |t| DateTime::from_timestamp(t, 0).unwrap();
        assert_eq!(
            access_change("MODIFY", &keys, &live, &retired),
            Some(AccessChange::SecretRetired {
                hash: "HASH#ab".into(),
                valid_until: at(1_800_000_000)
            })
        );
        // A retired secret brought in step with its owner's roles is not retired again.
        assert_eq!(access_change("MODIFY", &keys, &retired, &retired), None);
        // Its handover cut down to the grace asked for: retired earlier.
        let cut = item(&[
            ("valid_until", n(1_700_000_000)),
            ("rotated_out", AttributeValue::Bool(true)),
        ]);
        assert_eq!(
            access_change("MODIFY", &keys, &retired, &cut),
            Some(AccessChange::SecretRetired {
                hash: "HASH#ab".into(),
                valid_until: at(1_700_000_000)
            })
        );
        assert_eq!(access_change("MODIFY", &keys, &cut, &retired), None);
        assert_eq!(access_change("MODIFY", &keys, &live, &live), None);
        assert_eq!(
            access_change("REMOVE", &keys, &retired, &none),
            Some(AccessChange::RetiredSecretRemoved {
                hash: "HASH#ab".into(),
                valid_until: at(1_800_000_000)
            })
        );
        // A current secret's hash item goes with a revoke, whose REVOKED# record counts.
        assert_eq!(access_change("REMOVE", &keys, &live, &none), None);

        let profile = item(&[("pk", s("USER#ann")), ("sk", s("PROFILE"))]);
        let v1 = item(&[("access_version", n(1)), ("synced_version", n(1))]);
        let v2 = item(&[("access_version", n(2)), ("synced_version", n(1))]);
        assert_eq!(
            access_change("MODIFY", &profile, &v1, &v2),
            Some(AccessChange::Principal {
                id: UserId::parse("ann").unwrap(),
                access_raised: true,
                behind: true
            })
        );
        assert_eq!(
            access_change("MODIFY", &profile, &v2, &v1),
            Some(AccessChange::Principal {
                id: UserId::parse("ann").unwrap(),
                access_raised: false,
                behind: false
            })
        );
        assert_eq!(
            access_change("INSERT", &profile, &none, &v2),
            Some(AccessChange::Principal {
                id: UserId::parse("ann").unwrap(),
                access_raised: false,
                behind: true
            })
        );
        let token = item(&[("pk", s("TOKENS#ann")), ("sk", s("TOKEN#01J"))]);
        assert_eq!(access_change("MODIFY", &token, &v1, &v2), None);
    }
}
