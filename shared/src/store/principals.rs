//! Principal records beyond their access: writing them (with the userName index and
//! the owned-service-account items in the same transaction), listing them by the
//! directory index, and the primitives of a user write's fan-out (what each token
//! relied on, drift, and marking the fan-out complete). The use cases that combine
//! these are in [`crate::directory`].

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::client::{cancellation_reasons, classify, classify_transaction, code_at, internal};
use super::items::{self, number, string, Item};
use super::{StoreError, StoredUser, TokenStore};
use crate::token::{TokenHash, TokenId};
use crate::user::{PrincipalKind, UserId};

/// Everything a principal record holds besides the user's access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub kind: PrincipalKind,
    /// The `access_version` whose fan-out to every hash and token item is complete.
    pub synced_version: u64,
    /// The roles as of `synced_version`: what the tokens relied on before a change.
    pub synced_roles: Vec<String>,
    /// Bumped by every write of the record (SCIM's ETag).
    pub version: u64,
    pub created_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    pub scim: ScimAttributes,
    /// A service account's details (`kind` is `Service`).
    pub service: Option<ServiceAccount>,
}

/// What an identity provider says about a user beyond roles and `active`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimAttributes {
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub emails: Vec<Email>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub value: String,
    pub kind: Option<String>,
    pub primary: bool,
}

/// A non-human owner of tokens: who it is for and who answers for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceAccount {
    pub name: String,
    pub description: Option<String>,
    /// User ids of its accountable owners.
    pub owners: BTreeSet<String>,
    pub created_by: String,
    /// No active owner is left.
    pub orphaned: bool,
}

/// What the fan-out of a user write needs of one token item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAccess {
    pub id: TokenId,
    /// Its current secret's hash, and the one in its grace period if any.
    pub hashes: Vec<TokenHash>,
    pub permissions: Option<BTreeSet<String>>,
    pub permissions_lost: BTreeMap<String, DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

/// How a conditional principal write went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalWrite {
    Written,
    /// The record changed since it was read (or, on create, exists): read it again.
    Changed,
    /// The userName is another user's (case-insensitively).
    UserNameTaken,
}

fn s(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn put(table: &str, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .map_err(internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn delete(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key))
        .build()
        .map_err(internal)?;
    Ok(TransactWriteItem::builder().delete(delete).build())
}

impl TokenStore {
    /// Creates a principal, with its userName index item and (for a service account)
    /// its owners' `OWNS#` items, in one transaction.
    pub async fn create_principal(
        &self,
        stored: &StoredUser,
    ) -> Result<PrincipalWrite, StoreError> {
        let fresh = Some("attribute_not_exists(pk)");
        let mut writes = vec![put(&self.table, items::user_to_item(stored)?, fresh)?];
        if let Some(name) = &stored.profile.scim.user_name {
            writes.push(put(
                &self.table,
                items::username_item(name, &stored.user.id),
                fresh,
            )?);
        }
        for owner in stored.profile.service.iter().flat_map(|s| &s.owners) {
            if let Some(owner) = UserId::parse(owner) {
                writes.push(put(
                    &self.table,
                    items::owns_key(&owner, &stored.user.id),
                    None,
                )?);
            }
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await;
        match result {
            Ok(_) => Ok(PrincipalWrite::Written),
            Err(err) => match cancellation_reasons(&err) {
                Some(reasons) if code_at(reasons, 0) == Some("ConditionalCheckFailed") => {
                    Ok(PrincipalWrite::Changed)
                }
                Some(reasons) if code_at(reasons, 1) == Some("ConditionalCheckFailed") => {
                    Ok(PrincipalWrite::UserNameTaken)
                }
                _ => Err(classify_transaction(err)),
            },
        }
    }

    /// Replaces a principal read at `seen_version` (its `version`), unless it changed
    /// since. A service account's `OWNS#` items follow its owners in the same
    /// transaction; a user's record is one PutItem.
    pub async fn replace_principal(
        &self,
        stored: &StoredUser,
        seen: &StoredUser,
    ) -> Result<PrincipalWrite, StoreError> {
        let (condition, value) = if seen.profile.version == 0 {
            (
                "attribute_exists(pk) AND attribute_not_exists(version)",
                None,
            )
        } else {
            (
                "version = :seen",
                Some(number(
                    i64::try_from(seen.profile.version).unwrap_or(i64::MAX),
                )),
            )
        };
        let owners = |p: &StoredUser| -> BTreeSet<String> {
            p.profile
                .service
                .as_ref()
                .map(|s| s.owners.clone())
                .unwrap_or_default()
        };
        let (now_owned, was_owned) = (owners(stored), owners(seen));
        if now_owned == was_owned {
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(items::user_to_item(stored)?))
                .condition_expression(condition)
                .set_expression_attribute_values(value.map(|v| [(":seen".to_owned(), v)].into()))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(PrincipalWrite::Written),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    Ok(PrincipalWrite::Changed)
                }
                Err(err) => Err(classify(err)),
            };
        }
        let profile = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::user_to_item(stored)?))
            .condition_expression(condition)
            .set_expression_attribute_values(value.map(|v| [(":seen".to_owned(), v)].into()))
            .build()
            .map_err(internal)?;
        let mut writes = vec![TransactWriteItem::builder().put(profile).build()];
        let account = &stored.user.id;
        for added in now_owned
            .difference(&was_owned)
            .filter_map(|o| UserId::parse(o))
        {
            writes.push(put(&self.table, items::owns_key(&added, account), None)?);
        }
        for removed in was_owned
            .difference(&now_owned)
            .filter_map(|o| UserId::parse(o))
        {
            writes.push(delete(&self.table, items::owns_key(&removed, account))?);
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
        {
            Ok(_) => Ok(PrincipalWrite::Written),
            Err(err) => match cancellation_reasons(&err) {
                Some(reasons) if code_at(reasons, 0) == Some("ConditionalCheckFailed") => {
                    Ok(PrincipalWrite::Changed)
                }
                _ => Err(classify_transaction(err)),
            },
        }
    }

    /// Deletes a principal and its userName index item (its tokens must be gone).
    pub async fn delete_principal(&self, stored: &StoredUser) -> Result<(), StoreError> {
        let mut writes = vec![delete(&self.table, items::user_key(&stored.user.id))?];
        if let Some(name) = &stored.profile.scim.user_name {
            writes.push(delete(&self.table, items::username_key(name))?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(classify_transaction)?;
        Ok(())
    }

    /// Points the userName `user_name` at `user`, unless it is another user's.
    /// Returns whether it is `user`'s now.
    pub async fn claim_user_name(
        &self,
        user_name: &str,
        user: &UserId,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(items::username_item(user_name, user)))
            .condition_expression("attribute_not_exists(pk) OR user_id = :me")
            .expression_attribute_values(":me", string(user.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(classify(err)),
        }
    }

    /// The user whose userName is `user_name` (case-insensitively).
    pub async fn user_by_name(&self, user_name: &str) -> Result<Option<UserId>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::username_key(user_name)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item.as_ref().and_then(items::username_target))
    }

    /// A page of principals of `kind`, ordered by id, after `after`: one Query of the
    /// directory index (keys only), then one BatchGetItem of the page's records.
    pub async fn directory_page(
        &self,
        kind: PrincipalKind,
        limit: u32,
        after: Option<&UserId>,
    ) -> Result<(Vec<StoredUser>, Option<UserId>), StoreError> {
        let mut condition = "dir_pk = :pk".to_owned();
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(items::DIRECTORY_INDEX)
            .expression_attribute_values(":pk", string(items::directory_pk(kind)))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = after {
            condition.push_str(" AND dir_sk > :after");
            query = query.expression_attribute_values(":after", string(after.as_str()));
        }
        let output = query
            .key_condition_expression(condition)
            .send()
            .await
            .map_err(classify)?;
        let ids: Vec<UserId> = output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(items::directory_entry)
            .collect();
        let next = match output.last_evaluated_key {
            Some(key) if !key.is_empty() => ids.last().cloned(),
            _ => None,
        };
        let keys = ids.iter().map(items::user_key).collect();
        let mut found: Vec<StoredUser> = self
            .batch_get(keys, true)
            .await?
            .into_iter()
            .map(items::user_from_item)
            .collect::<Result<_, _>>()?;
        found.sort_by(|a, b| a.user.id.cmp(&b.user.id));
        Ok((found, next))
    }

    /// How many principals of `kind` there are: a keys-only count of the directory
    /// index (SCIM's `totalResults` of an unfiltered list; reads grow with the count).
    pub async fn directory_count(&self, kind: PrincipalKind) -> Result<u64, StoreError> {
        let mut total = 0u64;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(items::DIRECTORY_INDEX)
                .key_condition_expression("dir_pk = :pk")
                .expression_attribute_values(":pk", string(items::directory_pk(kind)))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            total += u64::try_from(output.count).unwrap_or(0);
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(total),
            }
        }
    }

    /// The service accounts `owner` answers for (their `OWNS#` items).
    pub async fn owned_accounts(&self, owner: &UserId) -> Result<Vec<UserId>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :owns)")
            .expression_attribute_values(":pk", string(items::user_pk(owner)))
            .expression_attribute_values(":owns", string(items::OWNS_SK_PREFIX))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(items::owned_account)
            .collect())
    }

    /// What the fan-out needs of each of `owner`'s token items.
    pub async fn token_access(&self, owner: &UserId) -> Result<Vec<TokenAccess>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", string(items::tokens_pk(owner)))
                .expression_attribute_values(":prefix", string(items::TOKEN_SK_PREFIX))
                .projection_expression(items::FAN_OUT_PROJECTION)
                .expression_attribute_names("#permissions", "permissions")
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            found.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => break,
            }
        }
        Ok(found
            .iter()
            .filter_map(|item| {
                let id = TokenId::parse(&s(item, "token_id")?)?;
                let hashes = ["token_hash", "previous_hash"]
                    .iter()
                    .filter_map(|name| s(item, name))
                    .map(TokenHash::from_stored)
                    .collect();
                let permissions = item.get("permissions").and_then(|v| match v {
                    AttributeValue::L(list) => {
                        Some(list.iter().filter_map(|p| p.as_s().ok().cloned()).collect())
                    }
                    AttributeValue::Ss(set) => Some(set.iter().cloned().collect()),
                    _ => None,
                });
                let permissions_lost = match item.get("permissions_lost") {
                    Some(AttributeValue::M(map)) => map
                        .iter()
                        .filter_map(|(p, at)| {
                            let at = items::parse_time(at.as_s().ok()?, "token").ok()?;
                            Some((p.clone(), at))
                        })
                        .collect(),
                    _ => BTreeMap::new(),
                };
                let created_at =
                    s(item, "created_at").and_then(|t| items::parse_time(&t, "token").ok());
                Some(TokenAccess {
                    id,
                    hashes,
                    permissions,
                    permissions_lost,
                    created_at,
                })
            })
            .collect())
    }

    /// Sets a token item's `permissions_lost` (drift); a token gone meanwhile is left.
    pub async fn set_permissions_lost(
        &self,
        owner: &UserId,
        id: &TokenId,
        lost: &BTreeMap<String, DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::token_key(owner, id)))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::None);
        update = if lost.is_empty() {
            update.update_expression("REMOVE permissions_lost")
        } else {
            let map = lost
                .iter()
                .map(|(p, at)| (p.clone(), string(items::timestamp(*at))))
                .collect();
            update
                .update_expression("SET permissions_lost = :lost")
                .expression_attribute_values(":lost", AttributeValue::M(map))
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(classify(err)),
        }
    }

    /// Marks the fan-out of `owner`'s current access version complete, unless a later
    /// write bumped it meanwhile (that write, or the repair, completes it). Returns
    /// whether it marked.
    pub async fn mark_synced(&self, owner: &StoredUser) -> Result<bool, StoreError> {
        let version = i64::try_from(owner.access_version).unwrap_or(i64::MAX);
        let roles = owner
            .user
            .roles
            .iter()
            .cloned()
            .map(AttributeValue::S)
            .collect();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::user_key(&owner.user.id)))
            .update_expression("SET synced_version = :v, synced_roles = :roles")
            .condition_expression("access_version = :v")
            .expression_attribute_values(":v", number(version))
            .expression_attribute_values(":roles", AttributeValue::L(roles))
            .return_values(ReturnValue::None)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(classify(err)),
        }
    }
}
