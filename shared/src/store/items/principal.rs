//! Principal records (users and service accounts), the userName index, owned
//! service accounts and the directory index, as DynamoDB items.
//!
//! | item                  | pk                          | sk               |
//! |-----------------------|-----------------------------|------------------|
//! | principal             | `USER#{id}`                 | `PROFILE`        |
//! | owned service account | `USER#{owner id}`           | `OWNS#{svc id}`  |
//! | userName index        | `USERNAME#{lower userName}` | `USERNAME`       |
//!
//! Principals carry `dir_pk` (`DIR#user` | `DIR#service`) and `dir_sk` (the id), the
//! keys of the `directory` index (KEYS_ONLY), which lists them without a Scan.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::{corrupt, key, parse_optional_time, timestamp, to_item, user_pk, Item, PROFILE_SK};
use crate::expiry::parse_time_zone;
use crate::store::{Email, Profile, ScimAttributes, ServiceAccount, StoreError, StoredUser};
use crate::user::{PrincipalKind, User, UserId};

/// The GSI that lists principals by kind.
pub const DIRECTORY_INDEX: &str = "directory";
pub const USERNAME_SK: &str = "USERNAME";
pub const OWNS_SK_PREFIX: &str = "OWNS#";

/// The directory index's partition for one kind of principal.
pub fn directory_pk(kind: PrincipalKind) -> String {
    format!("DIR#{}", kind.as_str())
}

/// The userName index is case-insensitive: its key is the lower-case userName.
pub fn username_key(user_name: &str) -> Item {
    key(
        format!("USERNAME#{}", user_name.to_lowercase()),
        USERNAME_SK,
    )
}

pub fn username_item(user_name: &str, user: &UserId) -> Item {
    let mut item = username_key(user_name);
    item.insert(
        "user_id".to_owned(),
        AttributeValue::S(user.as_str().to_owned()),
    );
    item
}

/// The user id a userName index item points at.
pub fn username_target(item: &Item) -> Option<UserId> {
    item.get("user_id")
        .and_then(|v| v.as_s().ok())
        .and_then(|id| UserId::parse(id))
}

pub fn owns_key(owner: &UserId, account: &UserId) -> Item {
    key(
        user_pk(owner),
        &format!("{OWNS_SK_PREFIX}{}", account.as_str()),
    )
}

/// The service account an `OWNS#` item names.
pub fn owned_account(item: &Item) -> Option<UserId> {
    item.get(super::SK)
        .and_then(|v| v.as_s().ok())
        .and_then(|sk| sk.strip_prefix(OWNS_SK_PREFIX))
        .and_then(UserId::parse)
}

/// The principal id of a directory index entry (its `dir_sk`).
pub fn directory_entry(item: &Item) -> Option<UserId> {
    item.get("dir_sk")
        .and_then(|v| v.as_s().ok())
        .and_then(|id| UserId::parse(id))
}

#[derive(Debug, Serialize, Deserialize)]
struct EmailItem {
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    kind: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    primary: bool,
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
    /// Bumped by every change of `roles` or `active`.
    #[serde(default)]
    access_version: u64,
    /// `user` | `service`; absent on records written before service accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    /// The `access_version` whose fan-out to the principal's tokens is complete.
    #[serde(default)]
    synced_version: u64,
    /// The roles as of `synced_version`: what tokens relied on before a change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    synced_roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir_sk: Option<String>,
    /// Bumped by every write: SCIM's ETag.
    #[serde(default)]
    version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modified_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    emails: Vec<EmailItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(
        default,
        with = "serde_dynamo::string_set",
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    owners: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_by: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    orphaned: bool,
}

pub fn user_to_item(stored: &StoredUser) -> Result<Item, StoreError> {
    let user = &stored.user;
    let profile = &stored.profile;
    let service = profile.service.as_ref();
    to_item(&UserItem {
        pk: user_pk(&user.id),
        sk: PROFILE_SK.to_owned(),
        user_id: user.id.as_str().to_owned(),
        roles: user.roles.clone(),
        time_zone: user.time_zone.map(|tz| tz.name().to_owned()),
        active: user.active,
        access_version: stored.access_version,
        kind: Some(profile.kind.as_str().to_owned()),
        synced_version: profile.synced_version,
        synced_roles: profile.synced_roles.clone(),
        dir_pk: Some(directory_pk(profile.kind)),
        dir_sk: Some(user.id.as_str().to_owned()),
        version: profile.version,
        created_at: profile.created_at.map(timestamp),
        modified_at: profile.modified_at.map(timestamp),
        user_name: profile.scim.user_name.clone(),
        external_id: profile.scim.external_id.clone(),
        display_name: profile.scim.display_name.clone(),
        emails: profile
            .scim
            .emails
            .iter()
            .map(|e| EmailItem {
                value: e.value.clone(),
                kind: e.kind.clone(),
                primary: e.primary,
            })
            .collect(),
        name: service.map(|s| s.name.clone()),
        description: service.and_then(|s| s.description.clone()),
        owners: service.map(|s| s.owners.clone()).unwrap_or_default(),
        created_by: service.map(|s| s.created_by.clone()),
        orphaned: service.is_some_and(|s| s.orphaned),
    })
}

pub fn user_from_item(item: Item) -> Result<StoredUser, StoreError> {
    let what = "user";
    let raw: UserItem = serde_dynamo::from_item(item).map_err(|_| corrupt(what))?;
    let id = UserId::parse(&raw.user_id).ok_or_else(|| corrupt(what))?;
    let time_zone = match raw.time_zone.as_deref() {
        Some(name) => Some(parse_time_zone(name).ok_or_else(|| corrupt(what))?),
        None => None,
    };
    let kind = match raw.kind.as_deref() {
        Some(kind) => PrincipalKind::parse(kind).ok_or_else(|| corrupt(what))?,
        None => PrincipalKind::User,
    };
    let service = match kind {
        PrincipalKind::Service => Some(ServiceAccount {
            name: raw.name.unwrap_or_default(),
            description: raw.description,
            owners: raw.owners,
            created_by: raw.created_by.unwrap_or_default(),
            orphaned: raw.orphaned,
        }),
        PrincipalKind::User => None,
    };
    Ok(StoredUser {
        user: User {
            id,
            roles: raw.roles,
            time_zone,
            active: raw.active,
        },
        access_version: raw.access_version,
        profile: Profile {
            kind,
            synced_version: raw.synced_version,
            synced_roles: raw.synced_roles,
            version: raw.version,
            created_at: parse_optional_time(raw.created_at.as_deref(), what)?,
            modified_at: parse_optional_time(raw.modified_at.as_deref(), what)?,
            scim: ScimAttributes {
                user_name: raw.user_name,
                external_id: raw.external_id,
                display_name: raw.display_name,
                emails: raw
                    .emails
                    .into_iter()
                    .map(|e| Email {
                        value: e.value,
                        kind: e.kind,
                        primary: e.primary,
                    })
                    .collect(),
            },
            service,
        },
    })
}

/// `SET` expression and values that bring a hash item in step with its owner's
/// roles and active flag, unless it already carries that version or a later one.
pub fn access_update(owner: &StoredUser) -> (&'static str, &'static str, Item) {
    let values = HashMap::from([
        (
            ":roles".to_owned(),
            AttributeValue::L(
                owner
                    .user
                    .roles
                    .iter()
                    .cloned()
                    .map(AttributeValue::S)
                    .collect(),
            ),
        ),
        (
            ":active".to_owned(),
            AttributeValue::Bool(owner.user.active),
        ),
        (
            ":version".to_owned(),
            AttributeValue::N(owner.access_version.to_string()),
        ),
    ]);
    (
        "SET #roles = :roles, active = :active, access_version = :version",
        "attribute_exists(pk) AND access_version < :version",
        values,
    )
}

/// The attributes of a token item the fan-out of a user write reads.
pub const FAN_OUT_PROJECTION: &str =
    "token_id, token_hash, previous_hash, #permissions, permissions_lost, created_at";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    #[test]
    fn principals_round_trip_with_their_directory_keys() {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let account = StoredUser {
            user: User {
                id: UserId::new_service_account(1_795_600_000_000).unwrap(),
                roles: vec!["Viewer".into()],
                time_zone: None,
                active: true,
            },
            access_version: 2,
            profile: Profile {
                kind: PrincipalKind::Service,
                synced_version: 1,
                synced_roles: vec!["User".into()],
                version: 4,
                created_at: Some(at),
                modified_at: Some(at),
                scim: ScimAttributes::default(),
                service: Some(ServiceAccount {
                    name: "deploy bot".into(),
                    description: Some("ships".into()),
                    owners: BTreeSet::from(["ann".to_owned(), "bob".to_owned()]),
                    created_by: "ann".into(),
                    orphaned: false,
                }),
            },
        };
        let item = user_to_item(&account).unwrap();
        assert_eq!(item["dir_pk"].as_s().unwrap(), "DIR#service");
        assert!(item["owners"].as_ss().is_ok(), "owners is a string set");
        assert_eq!(user_from_item(item).unwrap(), account);

        let person = StoredUser {
            user: User {
                id: UserId::parse("Ann.Lee@example.com").unwrap(),
                roles: vec![],
                time_zone: Some(chrono_tz::Europe::Paris),
                active: false,
            },
            access_version: 7,
            profile: Profile {
                scim: ScimAttributes {
                    user_name: Some("Ann.Lee@example.com".into()),
                    external_id: Some("00u1".into()),
                    display_name: Some("Ann Lee".into()),
                    emails: vec![Email {
                        value: "ann@example.com".into(),
                        kind: Some("work".into()),
                        primary: true,
                    }],
                },
                ..Profile::default()
            },
        };
        let item = user_to_item(&person).unwrap();
        assert_eq!(item["dir_pk"].as_s().unwrap(), "DIR#user");
        assert_eq!(user_from_item(item).unwrap(), person);
        assert_eq!(
            username_key("Ann.Lee@Example.com")[super::super::PK]
                .as_s()
                .unwrap(),
            "USERNAME#ann.lee@example.com"
        );
    }
}
