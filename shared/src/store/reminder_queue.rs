//! The reminder queue: reminder items partitioned by the UTC hour they fall due in,
//! claimed by one run of the reminder job at a time, deleted once their event is out,
//! and a checkpoint of the last hour fully done.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use chrono::{DateTime, Utc};

use super::client::classify;
use super::items::{self, string, Item};
use super::{Reminder, ReminderKey, StoreError, TokenStore};

impl TokenStore {
    /// Every pending reminder of one UTC hour (`2027-01-08T08`), strongly consistent.
    pub async fn reminders_in_hour(&self, hour: &str) -> Result<Vec<Reminder>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", string(items::reminder_pk(hour)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in output.items.unwrap_or_default() {
                found.push(items::reminder_from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(found),
            }
        }
    }

    /// Claims a reminder for run `run` until `lease_until`. Another run's unexpired
    /// claim keeps it [`Claim::Held`]: that run may still send it, or may have died, in
    /// which case a later run claims it once the claim has expired. A reminder that is
    /// gone (sent, or its token revoked) is [`Claim::Gone`].
    pub async fn claim_reminder(
        &self,
        key: &ReminderKey,
        run: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::reminder_item_key(key)))
            .update_expression("SET claimed_by = :run, claimed_until = :until")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(claimed_until) OR claimed_until <= :now)",
            )
            .expression_attribute_values(":run", string(run))
            .expression_attribute_values(":until", string(items::timestamp(lease_until)))
            .expression_attribute_values(":now", string(items::timestamp(now)))
            // A refused claim says whether the item is still there (held) or gone.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Claimed),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(refused)) => {
                    Ok(match refused.item() {
                        Some(item) if !item.is_empty() => Claim::Held,
                        _ => Claim::Gone,
                    })
                }
                _ => Err(classify(err)),
            },
        }
    }

    /// Deletes a reminder whose event is out, if `run` still holds its claim.
    pub async fn complete_reminder(
        &self,
        key: &ReminderKey,
        run: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(items::reminder_item_key(key)))
            .condition_expression("claimed_by = :run")
            .expression_attribute_values(":run", string(run))
            .send()
            .await;
        conditional(result)
    }

    /// The last UTC hour whose reminders were all sent, if the job ever ran.
    pub async fn reminder_checkpoint(&self) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::checkpoint_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .item
            .and_then(|item| item.get("done_through").cloned())
            .and_then(|value| value.as_s().ok().cloned()))
    }

    /// Moves the checkpoint forward to `hour` (never back, whatever runs overlap).
    pub async fn advance_reminder_checkpoint(&self, hour: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::checkpoint_key()))
            .update_expression("SET done_through = :hour")
            .condition_expression("attribute_not_exists(done_through) OR done_through < :hour")
            .expression_attribute_values(":hour", string(hour))
            .send()
            .await;
        conditional(result)
    }
}

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This run holds the reminder now: it sends it, then deletes it.
    Claimed,
    /// Another run holds an unexpired claim: the reminder is still pending.
    Held,
    /// The reminder is gone: sent already, or its token was revoked.
    Gone,
}

/// `Ok(true)` for a write that happened, `Ok(false)` for one whose condition refused it.
pub(super) fn conditional<O, E, R>(
    result: Result<O, aws_sdk_dynamodb::error::SdkError<E, R>>,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(err) => Err(classify(err)),
    }
}
