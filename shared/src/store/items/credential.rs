//! Integration credentials (SCIM, GitLab), as DynamoDB items.
//!
//! | item        | pk                     | sk        |
//! |-------------|------------------------|-----------|
//! | credential  | `CRED#{sha256 hex}`    | `CRED`    |
//! | pointer     | `INTEGRATION#{kind}`   | `CURRENT` |
//!
//! A credential item carries `kind`, `valid_until` and `delete_after` (epoch seconds):
//! the current one is valid until replaced, a replaced one for its grace period.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{key, number, string, Item};
use crate::store::{CredentialRecord, IntegrationKind, StoreError};
use crate::token::TokenHash;

pub const CREDENTIAL_SK: &str = "CRED";
pub const INTEGRATION_SK: &str = "CURRENT";

pub fn credential_key(hash: &TokenHash) -> Item {
    key(format!("CRED#{}", hash.as_str()), CREDENTIAL_SK)
}

pub fn integration_key(kind: IntegrationKind) -> Item {
    key(format!("INTEGRATION#{}", kind.as_str()), INTEGRATION_SK)
}

/// A credential valid until `valid_until` (epoch seconds), kept until then.
pub fn credential_item(kind: IntegrationKind, hash: &TokenHash, valid_until: i64) -> Item {
    let mut item = credential_key(hash);
    item.insert("kind".into(), string(kind.as_str()));
    item.insert("valid_until".into(), number(valid_until));
    item.insert(super::TTL_ATTRIBUTE.into(), number(valid_until));
    item
}

pub fn credential_from_item(item: &Item) -> Result<CredentialRecord, StoreError> {
    let corrupt = || super::corrupt("credential");
    let kind = item
        .get("kind")
        .and_then(|v| v.as_s().ok())
        .and_then(|k| IntegrationKind::parse(k))
        .ok_or_else(corrupt)?;
    let valid_until = item
        .get("valid_until")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(corrupt)?;
    Ok(CredentialRecord { kind, valid_until })
}

/// The pointer to the current credential of `kind` (and the one it replaced).
pub fn integration_item(
    kind: IntegrationKind,
    current: &TokenHash,
    previous: Option<&str>,
) -> Item {
    let mut item = integration_key(kind);
    item.insert("hash".into(), string(current.as_str()));
    if let Some(previous) = previous {
        item.insert(
            "previous_hash".into(),
            AttributeValue::S(previous.to_owned()),
        );
    }
    item
}

/// The current credential's hash a pointer names.
pub fn integration_current(item: &Item) -> Option<String> {
    item.get("hash").and_then(|v| v.as_s().ok()).cloned()
}
