//! Rotation: a new secret for an existing token, the replaced one kept for a grace
//! period and its later reuse recognised.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::client::{backoff, internal};
use super::items::{self, number, string};
use super::tokens::{request_token, transact_delete, transact_put, Retry, WRITE_ATTEMPTS};
use super::*;

impl TokenStore {
    /// Gives `current` a new secret, in one transaction that only succeeds if the token
    /// still has the secret `current` was read with: of two concurrent rotations one
    /// wins, and a rotation never resurrects a revoked token. The replaced secret
    /// keeps working until `rotation.grace_until`; after that its hash item stays (until
    /// the token's expiry) so that its reuse is recognised. A secret replaced by an
    /// earlier rotation stops working at once.
    pub async fn rotate_token(
        &self,
        current: &TokenRecord,
        rotation: &Rotation,
        owner: &StoredUser,
    ) -> Result<RotateOutcome, StoreError> {
        let rotated = TokenRecord {
            hash: rotation.new_hash.clone(),
            hint: rotation.new_hint.clone(),
            expiry: rotation.expiry.clone(),
            rotated_at: Some(rotation.at),
            previous_hash: Some(current.hash.clone()),
            reminders: rotation.reminders.iter().map(|r| r.key.clone()).collect(),
            ..current.clone()
        };
        for attempt in 0..WRITE_ATTEMPTS {
            match self
                .write_rotation(current, &rotated, rotation, owner)
                .await
            {
                Ok(()) => {
                    self.catch_up_access(owner, &rotated.hash).await?;
                    return Ok(RotateOutcome::Rotated(Box::new(rotated)));
                }
                Err(Retry::Changed) => {
                    return Ok(match self.get_token(&current.user_id, &current.id).await? {
                        Some(_) => RotateOutcome::Conflict,
                        None => RotateOutcome::NotFound,
                    });
                }
                Err(Retry::Conflict) => backoff(attempt + 1).await,
                Err(Retry::No(err)) => return Err(err),
            }
        }
        Ok(RotateOutcome::Conflict)
    }

    async fn write_rotation(
        &self,
        current: &TokenRecord,
        rotated: &TokenRecord,
        rotation: &Rotation,
        owner: &StoredUser,
    ) -> Result<(), Retry> {
        let no_retry = |e| Retry::No(internal(e));
        let reminder_keys: Vec<String> =
            rotated.reminders.iter().map(ReminderKey::encode).collect();
        let update_token = Update::builder()
            .table_name(&self.table)
            .set_key(Some(items::token_key(&current.user_id, &current.id)))
            .update_expression(
                "SET token_hash = :new, hint = :hint, rotated_at = :at, previous_hash = :seen, \
                 expires_on = :expires_on, time_zone = :time_zone, expires_at = :expires_at, \
                 delete_after = :delete_after, reminders = :reminders, inv_expiry = :inv_expiry",
            )
            .condition_expression("token_hash = :seen")
            .expression_attribute_values(":new", string(rotated.hash.as_str()))
            .expression_attribute_values(":hint", string(&rotated.hint))
            .expression_attribute_values(":at", string(items::timestamp(rotation.at)))
            .expression_attribute_values(":seen", string(current.hash.as_str()))
            .expression_attribute_values(
                ":expires_on",
                string(rotated.expiry.expires_on.format("%Y-%m-%d").to_string()),
            )
            .expression_attribute_values(":time_zone", string(rotated.expiry.time_zone.name()))
            .expression_attribute_values(
                ":expires_at",
                string(items::timestamp(rotated.expiry.expires_at)),
            )
            .expression_attribute_values(
                ":delete_after",
                number(rotated.expiry.expires_at.timestamp()),
            )
            .expression_attribute_values(":inv_expiry", string(items::inventory_expiry(rotated)))
            .expression_attribute_values(
                ":reminders",
                AttributeValue::L(reminder_keys.into_iter().map(AttributeValue::S).collect()),
            )
            .build()
            .map_err(no_retry)?;
        let grace_until = rotation.grace_until.min(rotated.expiry.expires_at);
        let retire_old = Update::builder()
            .table_name(&self.table)
            .set_key(Some(items::hash_key(&current.hash)))
            .update_expression(
                "SET valid_until = :until, rotated_out = :true, delete_after = :keep",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":until", number(grace_until.timestamp()))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(
                ":keep",
                number(
                    rotated
                        .expiry
                        .expires_at
                        .max(current.expiry.expires_at)
                        .timestamp(),
                ),
            )
            .build()
            .map_err(no_retry)?;
        let mut writes = vec![
            TransactWriteItem::builder().update(update_token).build(),
            transact_put(
                &self.table,
                items::hash_to_item(rotated, owner)?,
                Some("attribute_not_exists(pk)"),
            )?,
            TransactWriteItem::builder().update(retire_old).build(),
        ];
        if let Some(previous) = &current.previous_hash {
            writes.push(transact_delete(&self.table, items::hash_key(previous))?);
        }
        let kept: BTreeSet<_> = rotated.reminders.iter().collect();
        for stale in current.reminders.iter().filter(|k| !kept.contains(k)) {
            writes.push(transact_delete(
                &self.table,
                items::reminder_item_key(stale),
            )?);
        }
        for reminder in &rotation.reminders {
            writes.push(transact_put(
                &self.table,
                items::reminder_to_item(reminder)?,
                None,
            )?);
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .client_request_token(request_token(&[
                "rotate",
                current.id.as_str(),
                current.hash.as_str(),
                rotated.hash.as_str(),
            ]))
            .send()
            .await
            .map_err(Retry::from_transaction)?;
        Ok(())
    }
}
