//! Hash items (pk `HASH#{sha256}`, sk `HASH`): what the authorizer reads in its one
//! GetItem, and hands on to the backend as its context with no second read.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::{
    corrupt, epoch, first_secret_version, hash_pk, parse_time, timestamp, to_item, Item, HASH_SK,
};
use crate::store::{HashRecord, StoreError, StoredUser, TokenRecord};
use crate::token::TokenId;
use crate::user::{PrincipalKind, UserId};

#[derive(Debug, Serialize, Deserialize)]
struct HashItem {
    pk: String,
    sk: String,
    token_id: String,
    user_id: String,
    /// The owner's roles, active flag and their version, kept in step by user writes.
    roles: Vec<String>,
    active: bool,
    access_version: u64,
    /// Epoch seconds after which this secret authenticates nothing: the token's expiry,
    /// or the end of the grace period of a secret replaced by a rotation.
    valid_until: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    rotated_out: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    permissions: Option<BTreeSet<String>>,
    delete_after: i64,
    /// The token's name, this secret's hint and the token's expiry (RFC 3339), for the
    /// authorizer's context. Absent from items written before they were added.
    #[serde(default)]
    name: String,
    #[serde(default)]
    hint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    /// The token's `secret_version` when this secret was issued.
    #[serde(default = "first_secret_version")]
    secret_version: u64,
    /// `user` or `service`; absent: `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner_kind: Option<String>,
}

/// The hash item of a token's current secret, with its owner's access as `owner`
/// says. It is kept until the token's expiry.
pub fn hash_to_item(record: &TokenRecord, owner: &StoredUser) -> Result<Item, StoreError> {
    to_item(&HashItem {
        pk: hash_pk(&record.hash),
        sk: HASH_SK.to_owned(),
        token_id: record.id.as_str().to_owned(),
        user_id: record.user_id.as_str().to_owned(),
        roles: owner.user.roles.clone(),
        active: owner.user.active,
        access_version: owner.access_version,
        valid_until: record.expiry.expires_at.timestamp(),
        rotated_out: false,
        permissions: record.permissions.clone(),
        delete_after: record.expiry.expires_at.timestamp(),
        name: record.name.clone(),
        hint: record.hint.clone(),
        expires_at: Some(timestamp(record.expiry.expires_at)),
        secret_version: record.secret_version,
        owner_kind: Some(record.owner_kind.as_str().to_owned()),
    })
}

pub fn hash_from_item(item: Item) -> Result<HashRecord, StoreError> {
    let raw: HashItem = serde_dynamo::from_item(item).map_err(|_| corrupt("hash"))?;
    // An item without `expires_at` is kept until the token's expiry (`delete_after`).
    let expires_at = match raw.expires_at.as_deref() {
        Some(text) => parse_time(text, "hash")?,
        None => epoch(raw.delete_after, "hash")?,
    };
    Ok(HashRecord {
        user_id: UserId::parse(&raw.user_id).ok_or_else(|| corrupt("hash"))?,
        token_id: TokenId::parse(&raw.token_id).ok_or_else(|| corrupt("hash"))?,
        valid_until: epoch(raw.valid_until, "hash")?,
        rotated_out: raw.rotated_out,
        permissions: raw.permissions,
        roles: raw.roles,
        active: raw.active,
        name: raw.name,
        hint: raw.hint,
        expires_at,
        secret_version: raw.secret_version,
        owner_kind: raw
            .owner_kind
            .as_deref()
            .and_then(PrincipalKind::parse)
            .unwrap_or_default(),
    })
}
