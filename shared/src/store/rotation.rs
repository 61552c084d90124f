//! Rotation: a new secret for an existing token, the replaced one kept for a grace
//! period and its later reuse recognised.
//!
//! A rotation never leaves its caller without a working secret: the transaction keeps
//! the replaced secret working for at least [`HANDOVER`], and only once the write is
//! known to have committed, right before the new secret is answered, is that cut
//! down to the grace the caller asked for (0 by default). If the answer cannot be
//! given (the outcome stayed unknown) or the cut fails, the replaced secret still
//! works for the handover, in which the owner can rotate again.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::client::{backoff, classify, internal};
use super::items::{self, number, number_u64, string};
use super::settle::{request_token, transact_delete, transact_put, Settled};
use super::tokens::WRITE_ATTEMPTS;
use super::*;

/// How long a secret replaced by a rotation keeps working at the least until the
/// rotation's answer is on its way.
pub const HANDOVER: chrono::Duration = chrono::Duration::minutes(5);

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
            secret_version: current.secret_version + 1,
            ..current.clone()
        };
        for attempt in 0..WRITE_ATTEMPTS {
            let transaction = self.rotation(current, &rotated, rotation, owner, attempt)?;
            let stored = || async {
                Ok(self
                    .get_token(&current.user_id, &current.id)
                    .await?
                    .is_some_and(|now| now.hash == rotated.hash))
            };
            match self.write_settled(transaction, stored).await {
                Settled::Committed => {
                    // Committed: from here on nothing turns the rotation into an error.
                    let grace_until = rotation.grace_until.min(rotated.expiry.expires_at);
                    if grace_until < rotation.at + HANDOVER {
                        self.end_handover(current, grace_until).await;
                    }
                    self.catch_up_after_commit(owner, &rotated.hash).await;
                    return Ok(RotateOutcome::Rotated(Box::new(rotated)));
                }
                Settled::Cancelled(refusal) if refusal.condition_failed_at(0) => {
                    return Ok(match self.get_token(&current.user_id, &current.id).await? {
                        Some(_) => RotateOutcome::Conflict,
                        None => RotateOutcome::NotFound,
                    });
                }
                Settled::Cancelled(refusal) if refusal.transient() => backoff(attempt + 1).await,
                Settled::Cancelled(refusal) => return Err(refusal.error),
                Settled::Unsent(err) | Settled::Unknown(err) => return Err(err),
            }
        }
        Ok(RotateOutcome::Conflict)
    }

    /// Cuts the replaced secret's validity down from the handover to the grace asked
    /// for, unless a later rotation has replaced it already.
    async fn end_handover(&self, current: &TokenRecord, until: DateTime<Utc>) {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::hash_key(&current.hash)))
            .update_expression("SET valid_until = :until")
            .condition_expression(
                "attribute_exists(pk) AND rotated_out = :true AND valid_until > :until",
            )
            .expression_attribute_values(":until", number(until.timestamp()))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        match result {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
            Err(err) => {
                let err = classify(err);
                tracing::warn!(token_id = %current.id, error = %err, "the replaced secret keeps working until the end of the handover");
            }
        }
    }

    /// The transaction of one attempt at a rotation.
    fn rotation(
        &self,
        current: &TokenRecord,
        rotated: &TokenRecord,
        rotation: &Rotation,
        owner: &StoredUser,
        attempt: u32,
    ) -> Result<TransactWriteItemsFluentBuilder, StoreError> {
        let no_retry = internal;
        let reminder_keys: Vec<String> =
            rotated.reminders.iter().map(ReminderKey::encode).collect();
        let update_token = Update::builder()
            .table_name(&self.table)
            .set_key(Some(items::token_key(&current.user_id, &current.id)))
            .update_expression(
                "SET token_hash = :new, hint = :hint, rotated_at = :at, previous_hash = :seen, \
                 expires_on = :expires_on, time_zone = :time_zone, expires_at = :expires_at, \
                 delete_after = :delete_after, reminders = :reminders, secret_version = :version, inv_expiry = :inv_expiry",
            )
            .condition_expression("token_hash = :seen")
            .expression_attribute_values(":new", string(rotated.hash.as_str()))
            .expression_attribute_values(":hint", string(&rotated.hint))
            .expression_attribute_values(":at", string(items::timestamp(rotation.at)))
            .expression_attribute_values(":seen", string(current.hash.as_str()))
            .expression_attribute_values(":version", number_u64(rotated.secret_version))
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
        // At least the handover, which the answer ends (see the module's comment).
        let grace_until = rotation
            .grace_until
            .max(rotation.at + HANDOVER)
            .min(rotated.expiry.expires_at);
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
        let attempt = attempt.to_string();
        Ok(self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .client_request_token(request_token(&[
                "rotate",
                current.id.as_str(),
                current.hash.as_str(),
                rotated.hash.as_str(),
                &attempt,
            ])))
    }
}
