//! Idempotency records of token creations (`Idempotency-Key`): read before a creation,
//! written in its transaction.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use chrono::{DateTime, Utc};

use super::client::{classify, internal};
use super::items::{self, number};
use super::{IdempotencyRecord, StoreError, TokenStore};
use crate::user::UserId;

impl TokenStore {
    /// The record of `user`'s key (by its hash), if one was written in the last day;
    /// strongly consistent.
    pub async fn idempotency_record(
        &self,
        user: &UserId,
        key_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::idempotency_key(user, key_hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output
            .item
            .map(items::idempotency_from_item)
            .transpose()?
            // TTL deletes late: a record past its day no longer counts.
            .filter(|record| now < items::idempotency_expiry(record.created_at)))
    }

    /// The put of `record` in a creation's transaction: only where no record of the
    /// key counts any more.
    pub(super) fn idempotency_put(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::idempotency_to_item(record)?))
            .condition_expression("attribute_not_exists(pk) OR delete_after <= :now")
            .expression_attribute_values(":now", number(record.created_at.timestamp()))
            .build()
            .map_err(internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}
