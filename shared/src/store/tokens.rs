//! Token creation, listing, revocation and rotation.
//!
//! The per-user cap is a set of token ids on the user's slots item. Creation first
//! reserves a slot with one conditional `ADD` on that single item (single-item
//! conditional writes to one key serialise in DynamoDB, so contention can only make a
//! creation wait, never fail), then writes the token in a transaction, settled (see
//! [`super::settle`]): committed, the token is stored; cancelled or never sent, its
//! slot is given back; still unknown after reading back and sending again, the token
//! may be stored, so its slot stays. A slot whose token expired, was never stored, or was
//! revoked without its slot being given back, is found by recounting the user's token
//! items when the set is full and some slot is old enough to be stale: the rare path.

use std::collections::HashSet;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use chrono::{DateTime, Utc};

use super::client::{backoff, classify, internal};
use super::items::{self, number, string, Item, SLOTS_ATTRIBUTE};
use super::settle::{nonce, request_token, transact_delete, transact_put, Settled};
use super::{
    IdempotencyRecord, Reminder, RevokeReason, RevokedToken, StoreError, StoredUser, TokenRecord,
    TokenStore,
};
use crate::expiry::Expiry;
use crate::token::{TokenHash, TokenId};
use crate::user::UserId;

/// A reserved slot younger than this may belong to a creation still in flight, so a
/// recount never frees it. Creations finish (or fail) within the functions' timeout.
const IN_FLIGHT_MILLIS: i64 = 5 * 60 * 1000;

/// How often a revoke or rotation re-reads and retries when the token changed under it.
pub(super) const WRITE_ATTEMPTS: u32 = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateTokenError {
    #[error("live token limit of {0} reached")]
    LimitReached(u32),
    /// Another creation stored its token under the same idempotency key first.
    #[error("the idempotency key was used by another creation")]
    IdempotencyKeyUsed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of a user's tokens, newest first, and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<TokenId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked(Box<RevokedToken>),
    AlreadyRevoked,
    NotFound,
}

/// A new secret for an existing token.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub new_hash: TokenHash,
    pub new_hint: String,
    pub expiry: Expiry,
    /// Until when the replaced secret keeps working (at the latest, the token's expiry).
    pub grace_until: DateTime<Utc>,
    pub reminders: Vec<Reminder>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated(Box<TokenRecord>),
    /// Another rotation (or another change) of the same token won the race.
    Conflict,
    NotFound,
}

/// Why a token is revoked, and by whom when not by its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoker {
    pub reason: RevokeReason,
    pub by: Option<String>,
    pub note: Option<String>,
}

impl Revoker {
    pub fn new(reason: RevokeReason) -> Self {
        Revoker {
            reason,
            by: None,
            note: None,
        }
    }
}

/// Which token list to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    Live,
    Revoked,
}

impl Listing {
    fn prefix(self) -> &'static str {
        match self {
            Listing::Live => items::TOKEN_SK_PREFIX,
            Listing::Revoked => items::REVOKED_SK_PREFIX,
        }
    }
}

impl TokenStore {
    /// Stores a new token (its item, its hash item with `owner`'s access, and its
    /// reminders) unless its user already holds `limit` live tokens.
    pub async fn create_token(
        &self,
        record: &TokenRecord,
        reminders: &[Reminder],
        limit: u32,
        owner: &StoredUser,
    ) -> Result<(), CreateTokenError> {
        self.create(record, reminders, limit, owner, None).await
    }

    /// [`TokenStore::create_token`], with the idempotency record of the request in the
    /// same transaction: of two creations under one key, one stores its token and the
    /// other gets [`CreateTokenError::IdempotencyKeyUsed`] (and gives its slot back).
    pub async fn create_token_once(
        &self,
        record: &TokenRecord,
        reminders: &[Reminder],
        limit: u32,
        owner: &StoredUser,
        idempotency: &IdempotencyRecord,
    ) -> Result<(), CreateTokenError> {
        self.create(record, reminders, limit, owner, Some(idempotency))
            .await
    }

    async fn create(
        &self,
        record: &TokenRecord,
        reminders: &[Reminder],
        limit: u32,
        owner: &StoredUser,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<(), CreateTokenError> {
        self.reserve_slot(&record.user_id, &record.id, limit, record.created_at)
            .await?;
        let failure = match self
            .put_new_token(record, reminders, owner, idempotency)
            .await
        {
            Settled::Committed => None,
            Settled::Cancelled(refusal) => {
                self.give_slot_back(record).await;
                // The idempotency record is the third item of the transaction.
                if idempotency.is_some() && refusal.condition_failed_at(2) {
                    return Err(CreateTokenError::IdempotencyKeyUsed);
                }
                Some(refusal.error)
            }
            Settled::Unsent(err) => {
                self.give_slot_back(record).await;
                Some(err)
            }
            // The token may be stored: giving its slot back would let the cap miss it,
            // while a slot held for nothing is freed by the recount once no creation
            // can still be in flight.
            Settled::Unknown(err) => {
                tracing::warn!(token_id = %record.id, "token write outcome unknown; its slot stays held until a recount");
                Some(err)
            }
        };
        if let Some(err) = failure {
            return Err(err.into());
        }
        // Committed: from here on nothing turns the creation into an error.
        self.catch_up_after_commit(owner, &record.hash).await;
        Ok(())
    }

    async fn give_slot_back(&self, record: &TokenRecord) {
        if let Err(err) = self.release_slot(&record.user_id, &record.id).await {
            tracing::warn!(token_id = %record.id, error = %err, "could not release a token slot; the next recount frees it");
        }
    }

    /// [`TokenStore::catch_up_access`] after a committed write, whose success it never
    /// turns into a failure: if it cannot run, the hash item keeps the access it was
    /// written with until the next write of its owner brings it in step.
    pub(super) async fn catch_up_after_commit(
        &self,
        owner: &StoredUser,
        hash: &crate::token::TokenHash,
    ) {
        if let Err(err) = self.catch_up_access(owner, hash).await {
            tracing::error!(user_id = %owner.user.id, error = %err, "could not check the owner's access after the write; the hash item keeps the access it was written with");
        }
    }

    async fn reserve_slot(
        &self,
        user: &UserId,
        id: &TokenId,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<(), CreateTokenError> {
        for attempt in 0..2 {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(items::slots_key(user)))
                .update_expression("ADD #live :id")
                // A retried reservation of the same id finds itself and succeeds again.
                .condition_expression(
                    "attribute_not_exists(#live) OR contains(#live, :one) OR size(#live) < :limit",
                )
                .expression_attribute_names("#live", SLOTS_ATTRIBUTE)
                .expression_attribute_values(
                    ":id",
                    AttributeValue::Ss(vec![id.as_str().to_owned()]),
                )
                .expression_attribute_values(":one", string(id.as_str()))
                .expression_attribute_values(":limit", number(i64::from(limit)))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let held = match result {
                Ok(_) => return Ok(()),
                Err(err) => match err.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(full)) => full
                        .item()
                        .and_then(|item| item.get(SLOTS_ATTRIBUTE))
                        .and_then(|set| set.as_ss().ok())
                        .cloned()
                        .unwrap_or_default(),
                    _ => return Err(classify(err).into()),
                },
            };
            if attempt > 0 || self.free_stale_slots(user, held, now).await? == 0 {
                break;
            }
        }
        Err(CreateTokenError::LimitReached(limit))
    }

    /// Recounts: frees the slots of `held` whose token is no longer live (expired, or
    /// revoked by a revoke that could not give its slot back), except recent ones that
    /// may belong to a creation in flight. Returns how many it freed.
    async fn free_stale_slots(
        &self,
        user: &UserId,
        held: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let old_enough: Vec<String> = held
            .into_iter()
            .filter(|id| {
                TokenId::parse(id)
                    .and_then(|id| id.created_millis())
                    .is_none_or(|created| now.timestamp_millis() - created > IN_FLIGHT_MILLIS)
            })
            .collect();
        // Every slot is recent, so none may be freed: a refusal at the cap then costs
        // no read of the user's tokens, however many creations are refused at once.
        if old_enough.is_empty() {
            return Ok(0);
        }
        let live: HashSet<String> = self
            .query_all(user, Listing::Live, Some(items::LIVENESS_PROJECTION))
            .await?
            .iter()
            .filter_map(|item| items::token_liveness_from_item(item, now))
            .filter_map(|(id, live)| live.then_some(id))
            .collect();
        let stale: Vec<String> = old_enough
            .into_iter()
            .filter(|id| !live.contains(id))
            .collect();
        if stale.is_empty() {
            return Ok(0);
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::slots_key(user)))
            .update_expression("DELETE #live :stale")
            .expression_attribute_names("#live", SLOTS_ATTRIBUTE)
            .expression_attribute_values(":stale", AttributeValue::Ss(stale.clone()))
            .send()
            .await
            .map_err(classify)?;
        tracing::info!(user_id = %user, freed = stale.len(), "recounted token slots");
        Ok(stale.len())
    }

    async fn release_slot(&self, user: &UserId, id: &TokenId) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(items::slots_key(user)))
            .update_expression("DELETE #live :id")
            .expression_attribute_names("#live", SLOTS_ATTRIBUTE)
            .expression_attribute_values(":id", AttributeValue::Ss(vec![id.as_str().to_owned()]))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn put_new_token(
        &self,
        record: &TokenRecord,
        reminders: &[Reminder],
        owner: &StoredUser,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Settled {
        let writes = match self.new_token_writes(record, reminders, owner, idempotency) {
            Ok(writes) => writes,
            Err(err) => return Settled::Unsent(err),
        };
        let transaction = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .client_request_token(request_token(&["create", record.id.as_str()]));
        let stored = || async {
            Ok(self
                .get_token(&record.user_id, &record.id)
                .await?
                .is_some_and(|stored| stored.hash == record.hash))
        };
        self.write_settled(transaction, stored).await
    }

    fn new_token_writes(
        &self,
        record: &TokenRecord,
        reminders: &[Reminder],
        owner: &StoredUser,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let fresh = Some("attribute_not_exists(pk)");
        let mut writes = vec![
            transact_put(&self.table, items::token_to_item(record)?, fresh)?,
            transact_put(&self.table, items::hash_to_item(record, owner)?, fresh)?,
        ];
        if let Some(idempotency) = idempotency {
            writes.push(self.idempotency_put(idempotency)?);
        }
        for reminder in reminders {
            writes.push(transact_put(
                &self.table,
                items::reminder_to_item(reminder)?,
                None,
            )?);
        }
        Ok(writes)
    }

    /// One of `user`'s live or expired (not yet deleted) tokens, strongly consistent.
    pub async fn get_token(
        &self,
        user: &UserId,
        id: &TokenId,
    ) -> Result<Option<TokenRecord>, StoreError> {
        self.get(items::token_key(user, id))
            .await?
            .map(items::token_from_item)
            .transpose()
    }

    pub(super) async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(output.item)
    }

    /// A page of `user`'s token items, newest first, live and expired alike (TTL
    /// removes expired ones late); strongly consistent. Reads at most `limit` items.
    pub async fn list_tokens(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<&TokenId>,
    ) -> Result<Page<TokenRecord>, StoreError> {
        let (found, next) = self.query_page(user, Listing::Live, limit, after).await?;
        Ok(Page {
            items: found
                .into_iter()
                .map(items::token_from_item)
                .collect::<Result<_, _>>()?,
            next,
        })
    }

    /// A page of `user`'s recently revoked tokens, newest first.
    pub async fn list_revoked(
        &self,
        user: &UserId,
        limit: u32,
        after: Option<&TokenId>,
    ) -> Result<Page<RevokedToken>, StoreError> {
        let (found, next) = self
            .query_page(user, Listing::Revoked, limit, after)
            .await?;
        Ok(Page {
            items: found
                .into_iter()
                .map(items::revoked_from_item)
                .collect::<Result<_, _>>()?,
            next,
        })
    }

    async fn query_page(
        &self,
        user: &UserId,
        listing: Listing,
        limit: u32,
        after: Option<&TokenId>,
    ) -> Result<(Vec<Item>, Option<TokenId>), StoreError> {
        let start = after.map(|id| {
            items::key(
                items::tokens_pk(user),
                &format!("{}{}", listing.prefix(), id.as_str()),
            )
        });
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", string(items::tokens_pk(user)))
            .expression_attribute_values(":prefix", string(listing.prefix()))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let next = output
            .last_evaluated_key
            .as_ref()
            .and_then(|key| key.get(items::SK))
            .and_then(|sk| sk.as_s().ok())
            .and_then(|sk| sk.strip_prefix(listing.prefix()))
            .and_then(TokenId::parse);
        Ok((output.items.unwrap_or_default(), next))
    }

    /// Every item of one listing (for recounts and offboarding), page by page.
    async fn query_all(
        &self,
        user: &UserId,
        listing: Listing,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", string(items::tokens_pk(user)))
                .expression_attribute_values(":prefix", string(listing.prefix()))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            found.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(found),
            }
        }
    }

    /// Revokes `user`'s token `id`: in one transaction its item becomes a revoked
    /// record (kept a week), and its hash items and pending reminders are deleted, so
    /// it stops authenticating at once. Then its slot is given back.
    pub async fn revoke_token(
        &self,
        user: &UserId,
        id: &TokenId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<RevokeOutcome, StoreError> {
        self.revoke_token_by(user, id, Revoker::new(reason), now)
            .await
    }

    /// Like [`TokenStore::revoke_token`], recording who revoked it and why (an
    /// administrator's revoke).
    pub async fn revoke_token_by(
        &self,
        user: &UserId,
        id: &TokenId,
        revoker: Revoker,
        now: DateTime<Utc>,
    ) -> Result<RevokeOutcome, StoreError> {
        let Revoker { reason, by, note } = revoker;
        let call = nonce();
        for attempt in 0..WRITE_ATTEMPTS {
            let Some(record) = self.get_token(user, id).await? else {
                let revoked = self.get(items::revoked_key(user, id)).await?;
                return Ok(match revoked {
                    Some(_) => RevokeOutcome::AlreadyRevoked,
                    None => RevokeOutcome::NotFound,
                });
            };
            let revoked = RevokedToken {
                token: record,
                revoked_at: now,
                reason,
                revoked_by: by.clone(),
                note: note.clone(),
            };
            let transaction = match self.revocation(&revoked, &call, attempt) {
                Ok(transaction) => transaction,
                Err(err) => return Err(err),
            };
            let gone = || async { Ok(self.get(items::revoked_key(user, id)).await?.is_some()) };
            match self.write_settled(transaction, gone).await {
                Settled::Committed => {
                    if let Err(err) = self.release_slot(user, id).await {
                        tracing::warn!(token_id = %id, error = %err, "could not release a token slot; the next recount frees it");
                    }
                    return Ok(RevokeOutcome::Revoked(Box::new(revoked)));
                }
                // A rotation, a concurrent revoke or a last-use write changed the token
                // since it was read (or collided with this write): read it again.
                Settled::Cancelled(refusal)
                    if refusal.condition_failed_at(0) || refusal.transient() =>
                {
                    backoff(attempt + 1).await
                }
                Settled::Cancelled(refusal) => return Err(refusal.error),
                Settled::Unsent(err) | Settled::Unknown(err) => return Err(err),
            }
        }
        Err(StoreError::Unavailable(
            "the token kept changing while being revoked".to_owned(),
        ))
    }

    /// The transaction of one attempt at a revocation (`call` tells this revoke's
    /// request tokens apart from another's of the same token).
    fn revocation(
        &self,
        revoked: &RevokedToken,
        call: &str,
        attempt: u32,
    ) -> Result<aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder, StoreError>{
        let token = &revoked.token;
        let delete_token = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(items::token_key(&token.user_id, &token.id)))
            .condition_expression("token_hash = :seen")
            .expression_attribute_values(":seen", string(token.hash.as_str()))
            .build()
            .map_err(internal)?;
        let mut writes = vec![
            TransactWriteItem::builder().delete(delete_token).build(),
            transact_put(&self.table, items::revoked_to_item(revoked)?, None)?,
            transact_delete(&self.table, items::hash_key(&token.hash))?,
        ];
        if let Some(previous) = &token.previous_hash {
            writes.push(transact_delete(&self.table, items::hash_key(previous))?);
        }
        for reminder in &token.reminders {
            writes.push(transact_delete(
                &self.table,
                items::reminder_item_key(reminder),
            )?);
        }
        let attempt = attempt.to_string();
        Ok(self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .client_request_token(request_token(&[
                "revoke",
                token.id.as_str(),
                token.hash.as_str(),
                call,
                &attempt,
            ])))
    }

    /// Revokes every live token of `user` (offboarding); returns how many it revoked.
    pub async fn revoke_all_tokens(
        &self,
        user: &UserId,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let ids: Vec<TokenId> = self
            .query_all(user, Listing::Live, Some(items::LIVENESS_PROJECTION))
            .await?
            .iter()
            .filter_map(|item| items::token_liveness_from_item(item, now))
            .filter_map(|(id, live)| live.then_some(id))
            .filter_map(|id| TokenId::parse(&id))
            .collect();
        let mut revoked = 0;
        for id in ids {
            if let RevokeOutcome::Revoked(_) = self.revoke_token(user, &id, reason, now).await? {
                revoked += 1;
            }
        }
        Ok(revoked)
    }
}
