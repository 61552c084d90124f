//! DynamoDB storage of users and hashed tokens. Marshalling lives in [`items`].

pub mod items;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::token::{TokenHash, TokenId};
use crate::user::{User, UserId};
pub use items::StoredUser;
use items::{key, PROFILE_SK, TOKEN_SK_PREFIX};

/// How often token creation re-reads and retries when a concurrent creation by the
/// same user won the race for the user record's version. Each lost race is another
/// creation that succeeded, so with a small cap the count reaches it well before this.
const CREATE_ATTEMPTS: u32 = 10;

/// How often a revoke is retried when it collided with another write to the token item.
const CONFLICT_RETRIES: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Throttled, timed out or unreachable after the SDK's retries: worth retrying later.
    #[error("DynamoDB unavailable: {0}")]
    Unavailable(String),
    #[error("DynamoDB request failed: {0}")]
    Internal(String),
}

/// A token's metadata, as stored. The plaintext is never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub description: Option<String>,
    pub hash: TokenHash,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub expires_on: NaiveDate,
    pub time_zone: Tz,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Unrevoked and not past its expiry, whether or not TTL has removed it yet.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// What the authorizer learns from a token's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashRecord {
    pub user_id: UserId,
    pub token_id: TokenId,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateTokenError {
    #[error("no active user record")]
    UserNotActive,
    #[error("live token limit of {0} reached")]
    LimitReached(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeOutcome {
    Revoked,
    AlreadyRevoked,
    NotFound,
}

/// Timeouts short enough that a stalled DynamoDB fails a request instead of hanging it.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// Builds the DynamoDB client from the environment (region, credentials, and
/// `AWS_ENDPOINT_URL_DYNAMODB` for DynamoDB Local).
pub async fn connect() -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .load()
        .await;
    Client::new(&config)
}

/// A client for the DynamoDB Local at `endpoint`, with fixed local credentials and
/// region whatever the environment says (DynamoDB Local accepts any).
pub fn connect_local(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "patgate-local",
        ))
        .timeout_config(timeouts())
        .build();
    Client::from_conf(config)
}

#[derive(Debug, Clone)]
pub struct TokenStore {
    client: Client,
    table: String,
}

impl TokenStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        TokenStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates or updates a user record (roles, zone, active flag).
    pub async fn put_user(&self, user: &User) -> Result<(), StoreError> {
        let (expression, values) = items::user_upsert(user);
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(items::user_pk(&user.id), PROFILE_SK)))
            .update_expression(expression)
            .expression_attribute_names("#roles", "roles")
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Reads a user record; eventually consistent, as the authorizer's cache already is.
    pub async fn get_user(&self, id: &UserId) -> Result<Option<User>, StoreError> {
        Ok(self.read_user(id, false).await?.map(|stored| stored.user))
    }

    /// Reads a user record as token creation needs it: strongly consistent, with its version.
    pub async fn get_user_for_create(&self, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        self.read_user(id, true).await
    }

    async fn read_user(
        &self,
        id: &UserId,
        consistent: bool,
    ) -> Result<Option<StoredUser>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(items::user_pk(id), PROFILE_SK)))
            .consistent_read(consistent)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(items::user_from_item).transpose()
    }

    /// Stores a new token (its item and its hash item) for an active user, unless the
    /// user already holds `limit` live tokens. `user` is the record the caller read with
    /// [`TokenStore::get_user_for_create`], if it did; a retry reads it again.
    ///
    /// The cap holds under concurrent creates: each creation bumps the user record's
    /// `token_version` in the same transaction, conditioned on the version it counted
    /// against, so of two racing creations one fails its condition, re-counts and retries.
    pub async fn create_token(
        &self,
        record: &TokenRecord,
        limit: u32,
        user: Option<StoredUser>,
    ) -> Result<(), CreateTokenError> {
        let token_item = items::token_to_item(record)?;
        let hash_item = items::hash_to_item(record)?;
        let mut already_read = user;
        let mut attempt = 0;
        while attempt < CREATE_ATTEMPTS {
            let stored = match already_read.take() {
                Some(stored) => Some(stored),
                None => self.read_user(&record.user_id, true).await?,
            };
            let stored = match stored {
                Some(stored) if stored.user.active && stored.user.id == record.user_id => stored,
                _ => return Err(CreateTokenError::UserNotActive),
            };
            let live = self
                .count_live_tokens(&record.user_id, record.created_at)
                .await?;
            if live >= limit as usize {
                return Err(CreateTokenError::LimitReached(limit));
            }
            let put = |item| {
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(internal)
            };
            let bump_version = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(items::user_pk(&record.user_id), PROFILE_SK)))
                .update_expression("SET token_version = :next")
                .condition_expression("token_version = :seen AND active = :true")
                .expression_attribute_values(
                    ":next",
                    AttributeValue::N((stored.token_version + 1).to_string()),
                )
                .expression_attribute_values(
                    ":seen",
                    AttributeValue::N(stored.token_version.to_string()),
                )
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .build()
                .map_err(internal)?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .put(put(token_item.clone())?)
                        .build(),
                )
                .transact_items(
                    TransactWriteItem::builder()
                        .put(put(hash_item.clone())?)
                        .build(),
                )
                .transact_items(TransactWriteItem::builder().update(bump_version).build())
                .send()
                .await;
            match result {
                Ok(_) => return Ok(()),
                Err(err) => match cancellation_reasons(&err) {
                    // Another creation (or a deactivation) changed the user record: count again.
                    Some(reasons) if is_retryable_cancellation(reasons) => {
                        attempt += 1;
                        backoff(attempt).await;
                    }
                    _ => return Err(classify_transaction(err).into()),
                },
            }
        }
        Err(
            StoreError::Unavailable("too many concurrent token creations for one user".to_owned())
                .into(),
        )
    }

    /// All of a user's token items, newest first, including revoked and expired ones.
    pub async fn list_tokens(&self, user: &UserId) -> Result<Vec<TokenRecord>, StoreError> {
        self.query_token_items(user, None)
            .await?
            .into_iter()
            .map(items::token_from_item)
            .collect()
    }

    /// How many of `user`'s tokens are live at `now`, reading only what that needs.
    async fn count_live_tokens(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let items = self
            .query_token_items(user, Some(items::LIVENESS_PROJECTION))
            .await?;
        Ok(items
            .iter()
            .filter(|item| items::is_live_item(item, now))
            .count())
    }

    /// The user's token items, newest first; strongly consistent, so a token created or
    /// revoked a moment ago is counted and listed as it now is.
    async fn query_token_items(
        &self,
        user: &UserId,
        projection: Option<&str>,
    ) -> Result<Vec<items::Item>, StoreError> {
        let mut found = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", AttributeValue::S(items::user_pk(user)))
                .expression_attribute_values(
                    ":prefix",
                    AttributeValue::S(TOKEN_SK_PREFIX.to_owned()),
                )
                .set_projection_expression(projection.map(str::to_owned))
                .scan_index_forward(false)
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(classify)?;
            found.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start_key = Some(next),
                _ => return Ok(found),
            }
        }
    }

    /// Revokes `user`'s token `id`: marks the token item revoked and deletes its hash
    /// item in one transaction, so the token stops authenticating at once. The token
    /// item stays (until its TTL) so a second revoke can answer `AlreadyRevoked`.
    pub async fn revoke_token(
        &self,
        user: &UserId,
        id: &TokenId,
        now: DateTime<Utc>,
    ) -> Result<RevokeOutcome, StoreError> {
        let token_key = key(items::user_pk(user), &items::token_sk(id));
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(token_key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = output.item else {
            return Ok(RevokeOutcome::NotFound);
        };
        let record = items::token_from_item(item)?;
        if record.revoked_at.is_some() {
            return Ok(RevokeOutcome::AlreadyRevoked);
        }
        let mark_revoked = Update::builder()
            .table_name(&self.table)
            .set_key(Some(token_key))
            .update_expression("SET revoked_at = :now")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(revoked_at)")
            .expression_attribute_values(":now", AttributeValue::S(items::timestamp(now)))
            .build()
            .map_err(internal)?;
        let delete_hash = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(items::hash_pk(&record.hash), items::HASH_SK)))
            .build()
            .map_err(internal)?;
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .update(mark_revoked.clone())
                        .build(),
                )
                .transact_items(
                    TransactWriteItem::builder()
                        .delete(delete_hash.clone())
                        .build(),
                )
                .send()
                .await;
            let Err(err) = result else {
                return Ok(RevokeOutcome::Revoked);
            };
            let reasons = cancellation_reasons(&err).unwrap_or_default();
            // A concurrent revoke (or the TTL) got there first.
            if code_at(reasons, 0) == Some("ConditionalCheckFailed") {
                return Ok(RevokeOutcome::AlreadyRevoked);
            }
            // The authorizer's last-use update may touch the same item at the same moment.
            if attempt < CONFLICT_RETRIES && has_code(reasons, "TransactionConflict") {
                attempt += 1;
                backoff(attempt).await;
                continue;
            }
            return Err(classify_transaction(err));
        }
    }

    /// The authorizer's lookup: which user and token a hash belongs to, if any.
    pub async fn find_by_hash(&self, hash: &TokenHash) -> Result<Option<HashRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(items::hash_pk(hash), items::HASH_SK)))
            // Strongly consistent: a token revoked a moment ago must not pass.
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(items::hash_from_item).transpose()
    }

    /// Records that a token was used at `now`, unless a use within `interval` is
    /// already recorded (or the token is gone or revoked). Returns whether it wrote.
    pub async fn record_last_use(
        &self,
        user: &UserId,
        id: &TokenId,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> Result<bool, StoreError> {
        let threshold =
            now - chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::zero());
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(items::user_pk(user), &items::token_sk(id))))
            .update_expression("SET last_used_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(revoked_at) \
                 AND (attribute_not_exists(last_used_at) OR last_used_at <= :threshold)",
            )
            .expression_attribute_values(":now", AttributeValue::S(items::timestamp(now)))
            .expression_attribute_values(
                ":threshold",
                AttributeValue::S(items::timestamp(threshold)),
            )
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

fn internal(err: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(err.to_string())
}

fn cancellation_reasons<R>(
    err: &SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> Option<&[CancellationReason]> {
    match err.as_service_error()? {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) => {
            Some(e.cancellation_reasons())
        }
        _ => None,
    }
}

fn has_code(reasons: &[CancellationReason], code: &str) -> bool {
    reasons.iter().any(|r| r.code() == Some(code))
}

/// A short, jittered pause before retrying a transaction that lost a race.
async fn backoff(attempt: u32) {
    let base = 5u64 << attempt.min(5);
    let jitter = rand::random::<u64>() % base;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Like [`classify`], but a transaction cancelled for throttling or a conflict with
/// another write is "try again later" too.
fn classify_transaction<R: std::fmt::Debug>(
    err: SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>,
) -> StoreError {
    let reasons = cancellation_reasons(&err).unwrap_or_default();
    let transient = [
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
        "TransactionConflict",
    ];
    if transient.iter().any(|code| has_code(reasons, code)) {
        return StoreError::Unavailable(DisplayErrorContext(&err).to_string());
    }
    classify(err)
}

fn code_at(reasons: &[CancellationReason], index: usize) -> Option<&str> {
    reasons.get(index).and_then(|r| r.code())
}

/// A creation is retried when only the user record's condition failed or DynamoDB
/// saw a conflicting transaction; a failed put condition (id or hash collision) is not.
fn is_retryable_cancellation(reasons: &[CancellationReason]) -> bool {
    let put_failed = (0..2).any(|i| code_at(reasons, i).is_some_and(|c| c != "None"));
    let retryable = reasons
        .iter()
        .filter_map(|r| r.code())
        .any(|c| c == "ConditionalCheckFailed" || c == "TransactionConflict");
    !put_failed && retryable
}

/// Sorts SDK failures into "try again later" (503 / fail closed) and the rest.
pub fn classify<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let unavailable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ThrottlingException"
                    | "ProvisionedThroughputExceededException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionInProgressException"
            )
        ),
        _ => false,
    };
    let detail = DisplayErrorContext(&err).to_string();
    if unavailable {
        StoreError::Unavailable(detail)
    } else {
        StoreError::Internal(detail)
    }
}
