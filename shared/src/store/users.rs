//! User records, and keeping each user's roles and active flag in step on the hash
//! items of their tokens, which is all the authorizer reads.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::client::{backoff, classify};
use super::items;
use super::{StoreError, StoredUser, TokenStore};
use crate::token::TokenHash;
use crate::user::{User, UserId};

/// How often a user write is retried after losing a race with another write of the same user.
const USER_WRITE_ATTEMPTS: u32 = 3;

impl TokenStore {
    /// Creates or updates a user record (roles, zone, active flag). When the roles or
    /// the active flag change, their version goes up and every hash item of the user's
    /// tokens is brought in step before this returns, so the next uncached
    /// authorization of any of their tokens sees the change (a deactivation, a
    /// downgrade). A write that changes neither touches no token.
    pub async fn put_user(&self, user: &User) -> Result<StoredUser, StoreError> {
        let mut attempt = 0;
        loop {
            let existing = self.get_user(&user.id).await?;
            let (version, changed) = match &existing {
                Some(old) if old.user.roles == user.roles && old.user.active == user.active => {
                    (old.access_version, false)
                }
                Some(old) => (old.access_version + 1, true),
                None => (1, false),
            };
            let stored = StoredUser {
                user: user.clone(),
                access_version: version,
            };
            let (condition, seen) = match &existing {
                // A record written without a version (by an older writer, by hand)
                // reads as version 0: it must also be written over as version 0.
                Some(old) if old.access_version == 0 => (
                    "attribute_not_exists(access_version) OR access_version = :seen",
                    Some(AttributeValue::N("0".to_owned())),
                ),
                Some(old) => (
                    "access_version = :seen",
                    Some(AttributeValue::N(old.access_version.to_string())),
                ),
                None => ("attribute_not_exists(pk)", None),
            };
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(items::user_to_item(&stored)?))
                .condition_expression(condition)
                .set_expression_attribute_values(seen.map(|v| [(":seen".to_owned(), v)].into()))
                .send()
                .await;
            match result {
                Ok(_) => {
                    if changed {
                        self.bring_tokens_in_step(&stored).await?;
                    }
                    return Ok(stored);
                }
                // Another write of this user got there first: read it again.
                Err(err)
                    if attempt + 1 < USER_WRITE_ATTEMPTS
                        && err
                            .as_service_error()
                            .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    attempt += 1;
                    backoff(attempt).await;
                }
                Err(err) => return Err(classify(err)),
            }
        }
    }

    /// Reads a user record, strongly consistent: a deactivation a moment ago counts.
    pub async fn get_user(&self, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::user_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(items::user_from_item).transpose()
    }

    /// Writes `owner`'s roles and active flag on the hash items of all their tokens
    /// (current secrets and secrets in their grace period).
    async fn bring_tokens_in_step(&self, owner: &StoredUser) -> Result<(), StoreError> {
        let hashes: Vec<TokenHash> = self
            .token_items(&owner.user.id, Some("token_hash, previous_hash"))
            .await?
            .iter()
            .flat_map(|item| ["token_hash", "previous_hash"].map(|name| item.get(name).cloned()))
            .flatten()
            .filter_map(|value| value.as_s().ok().cloned())
            .map(TokenHash::from_stored)
            .collect();
        for hash in &hashes {
            self.write_access(owner, hash).await?;
        }
        Ok(())
    }

    /// Brings the hash item of `hash` in step with `owner`; an item already at that
    /// version (or a later one), or gone, is left alone.
    pub(crate) async fn write_access(
        &self,
        owner: &StoredUser,
        hash: &TokenHash,
    ) -> Result<(), StoreError> {
        let (update, condition, values) = items::access_update(owner);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::hash_key(hash)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#roles", "roles")
            .set_expression_attribute_values(Some(values))
            // create-token's policy allows this write with ReturnValues NONE only.
            .return_values(ReturnValue::None)
            .send()
            .await;
        match result {
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

    /// After writing the hash item of `hash` from `seen`: if the user's access changed
    /// meanwhile (a user write that did not see the new token), bring it in step now.
    pub(crate) async fn catch_up_access(
        &self,
        seen: &StoredUser,
        hash: &TokenHash,
    ) -> Result<(), StoreError> {
        match self.get_user(&seen.user.id).await? {
            Some(now) if now.access_version != seen.access_version => {
                self.write_access(&now, hash).await
            }
            _ => Ok(()),
        }
    }
}
