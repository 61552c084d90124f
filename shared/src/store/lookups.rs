//! What the authorizer and leaked-credential revocation read, and the only writes the
//! authorizer makes (last use, reuse of a rotated-out secret).

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use chrono::{DateTime, Utc};

use super::client::{backoff, classify, internal};
use super::items::{self, string, Item};
use super::{HashRecord, LastUse, StoreError, TokenStore};
use crate::token::{TokenHash, TokenId};
use crate::user::UserId;

/// BatchGetItem takes at most this many keys per call.
const BATCH_GET_LIMIT: usize = 100;

/// How often unprocessed keys of a BatchGetItem (DynamoDB throttling part of a batch)
/// are asked for again before the lookup counts as unavailable.
const UNPROCESSED_RETRIES: u32 = 3;

/// A throttled write the authorizer makes on a token item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastUseWrite {
    /// A successful authentication, with where it came from.
    Used(LastUse),
    /// A secret replaced by a rotation was presented after its grace period.
    SecretReused(DateTime<Utc>),
}

impl TokenStore {
    /// The authorizer's one read: the secret's hash item, which carries its owner's
    /// roles and active flag too. Strongly consistent: a revoke, a deactivation or a
    /// role change a moment ago counts.
    pub async fn authorization_lookup(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<HashRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::hash_key(hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(items::hash_from_item).transpose()
    }

    /// The hash items of any of `hashes` (leaked-credential reports), 100 keys per call.
    /// Eventually consistent: a report races nothing that consistency would settle.
    pub async fn find_hashes(&self, hashes: &[TokenHash]) -> Result<Vec<HashRecord>, StoreError> {
        let mut found = Vec::new();
        for chunk in hashes.chunks(BATCH_GET_LIMIT) {
            let keys = chunk.iter().map(items::hash_key).collect();
            for item in self.batch_get(keys, false).await? {
                found.push(items::hash_from_item(item)?);
            }
        }
        Ok(found)
    }

    /// The items of `keys` (any number; 100 per request), unprocessed keys retried.
    pub(crate) async fn batch_get(
        &self,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(BATCH_GET_LIMIT) {
            found.extend(self.batch_get_chunk(chunk.to_vec(), consistent).await?);
        }
        Ok(found)
    }

    async fn batch_get_chunk(
        &self,
        keys: Vec<Item>,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut pending = keys;
        let mut found = Vec::new();
        let mut attempt = 0;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(consistent)
                .build()
                .map_err(internal)?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(classify)?;
            if let Some(mut responses) = output.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut unprocessed| unprocessed.remove(&self.table))
                .map(|rest| rest.keys)
                .unwrap_or_default();
            if !pending.is_empty() {
                attempt += 1;
                if attempt > UNPROCESSED_RETRIES {
                    return Err(StoreError::Unavailable(
                        "DynamoDB left keys of a batch read unprocessed".to_owned(),
                    ));
                }
                backoff(attempt).await;
            }
        }
        Ok(found)
    }

    /// Records a use of token `id` (or the reuse of a rotated-out secret), unless one
    /// within `interval` is already recorded or the token is gone. Only the attributes
    /// of [`items::LAST_USE_ATTRIBUTES`] are written, and nothing is returned: the
    /// authorizer's permissions allow no more. Returns whether it wrote.
    pub async fn record_token_use(
        &self,
        user: &UserId,
        id: &TokenId,
        write: &LastUseWrite,
        interval: Duration,
    ) -> Result<bool, StoreError> {
        let (at, attribute) = match write {
            LastUseWrite::Used(last_use) => (last_use.at, "last_used_at"),
            LastUseWrite::SecretReused(at) => (*at, "secret_reused_at"),
        };
        let threshold =
            at - chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::zero());
        let mut values: HashMap<String, AttributeValue> = HashMap::from([
            (":at".to_owned(), string(items::timestamp(at))),
            (":threshold".to_owned(), string(items::timestamp(threshold))),
        ]);
        let mut set = vec![format!("{attribute} = :at")];
        let mut remove = Vec::new();
        if let LastUseWrite::Used(last_use) = write {
            // The inventory's idle key moves to the day of this use (the index is
            // written only when the day changes).
            set.push(format!("{} = :idle", items::INVENTORY_IDLE));
            values.insert(
                ":idle".to_owned(),
                string(items::inventory_idle_used(last_use.at, id)),
            );
            for (name, value) in [
                ("last_used_ip", &last_use.ip),
                ("last_used_user_agent", &last_use.user_agent),
            ] {
                match value {
                    Some(value) => {
                        set.push(format!("{name} = :{name}"));
                        values.insert(format!(":{name}"), string(value.as_str()));
                    }
                    None => remove.push(name),
                }
            }
        }
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::token_key(user, id)))
            .update_expression(expression)
            // Never creates an item: a revoked token's item is gone.
            .condition_expression(format!(
                "attribute_exists(pk) AND (attribute_not_exists({attribute}) OR {attribute} <= :threshold)"
            ))
            .set_expression_attribute_values(Some(values))
            // The authorizer's policy requires ReturnValues NONE, stated rather than
            // left to the default, so the write can read nothing back.
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
