//! The token API's use cases, one method each: create, list, revoke, rotate, revoke
//! leaked secrets, and offboard. A handler identifies the caller, parses the request,
//! calls one of these, and answers through [`TokenService::headers`].

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::api::{
    CallerView, CreateTokenRequest, IssuedToken, LeakedCredentialsReport, Limits, ListQuery,
    ResponseHeaders, RotateTokenRequest, TokenPage, TokenStatus, TokenView, MAX_GRACE_SECONDS,
};
use crate::config::{ConfigError, Settings};
use crate::error::ApiError;
use crate::expiry::{self, Expiry};
use crate::metrics::Metrics;
use crate::permissions::PermissionConfig;
use crate::reminders;
use crate::store::{
    connect, CreateTokenError, Reminder, ReminderKey, RevokeOutcome, RevokeReason, RotateOutcome,
    Rotation, StoreError, StoredUser, TokenRecord, TokenStore,
};
use crate::token::{TokenHash, TokenId, TokenSecret};
use crate::user::UserId;

/// What every token API function builds once at cold start.
#[derive(Debug, Clone)]
pub struct TokenService {
    pub settings: Settings,
    pub store: TokenStore,
    pub permissions: PermissionConfig,
    pub headers: ResponseHeaders,
    pub metrics: Metrics,
}

impl TokenService {
    pub fn new(settings: Settings, store: TokenStore, permissions: PermissionConfig) -> Self {
        let headers = ResponseHeaders::new(settings.web_origin.clone());
        TokenService {
            settings,
            store,
            permissions,
            headers,
            metrics: Metrics::Off,
        }
    }

    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reads the settings and the permission configuration, and builds the DynamoDB client. Metrics go
    /// to stdout, as embedded metric format lines.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = Settings::from_env()?;
        let permissions =
            PermissionConfig::load(&settings.config_path).map_err(|e| ConfigError::Invalid {
                name: crate::config::PATGATE_CONFIG_PATH,
                reason: e.to_string(),
            })?;
        let store = TokenStore::new(connect().await, settings.table_name.clone());
        Ok(TokenService::new(settings, store, permissions).with_metrics(Metrics::Stdout))
    }

    /// `POST /tokens`.
    pub async fn create_token(
        &self,
        caller: &UserId,
        request: CreateTokenRequest,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        self.check_scope(request.permissions.as_ref())?;
        // With the zone in the body, a bad date is refused before any DynamoDB call.
        let early = request
            .time_zone
            .map(|zone| self.resolve_expiry(request.expires_on, zone, now))
            .transpose()?;
        let owner = self.active_user(caller, now).await?;
        let expiry = match early {
            Some(expiry) => expiry,
            None => self.resolve_expiry(
                request.expires_on,
                owner.user.time_zone.unwrap_or(Tz::UTC),
                now,
            )?,
        };
        let secret =
            TokenSecret::generate(&self.settings.token_prefix).map_err(|_| ApiError::Internal)?;
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let id = TokenId::generate(millis).map_err(|_| ApiError::Internal)?;
        let mut record = TokenRecord {
            id,
            user_id: caller.clone(),
            name: request.name,
            description: request.description,
            hash: secret.hash(),
            hint: secret.hint(),
            created_at: now,
            expiry,
            permissions: request.permissions,
            rotated_at: None,
            previous_hash: None,
            reminders: Vec::new(),
            last_use: None,
            secret_reused_at: None,
        };
        let reminders = self.reminders_for(&record, now);
        record.reminders = reminders.iter().map(|r| r.key.clone()).collect();
        let limit = self.settings.max_tokens_per_user;
        self.store
            .create_token(&record, &reminders, limit, &owner)
            .await
            .map_err(|err| match err {
                CreateTokenError::LimitReached(limit) => ApiError::TokenLimitReached { limit },
                CreateTokenError::Store(err) => self.store_failed(err, now),
            })?;
        tracing::info!(user_id = %record.user_id, token_id = %record.id, expires_at = %record.expiry.expires_at, "token created");
        self.metrics.count(
            "TokensCreated",
            &[("Service", "patgate")],
            now.timestamp_millis(),
        );
        Ok(IssuedToken {
            token: TokenView::from(&record),
            secret: secret.expose().to_owned(),
        })
    }

    /// `GET /tokens`: a page of the caller's live (or recently revoked) tokens, newest
    /// first, with what the caller may give a new token.
    pub async fn list_tokens(
        &self,
        caller: &UserId,
        query: ListQuery,
        now: DateTime<Utc>,
    ) -> Result<TokenPage, ApiError> {
        let user_read = self.store.get_user(caller);
        let (tokens, next, user) = match query.status {
            TokenStatus::Active => {
                let (page, user) = tokio::join!(
                    self.store
                        .list_tokens(caller, query.limit, query.after.as_ref()),
                    user_read
                );
                let page = page.map_err(|e| self.store_failed(e, now))?;
                let views = page
                    .items
                    .iter()
                    // TTL deletes expired items late: leave them out here.
                    .filter(|t| t.is_live(now))
                    .map(TokenView::from)
                    .collect();
                (views, page.next, user)
            }
            TokenStatus::Revoked => {
                let (page, user) = tokio::join!(
                    self.store
                        .list_revoked(caller, query.limit, query.after.as_ref()),
                    user_read
                );
                let page = page.map_err(|e| self.store_failed(e, now))?;
                let views = page.items.iter().map(TokenView::from).collect();
                (views, page.next, user)
            }
        };
        let user = user.map_err(|e| self.store_failed(e, now))?;
        Ok(self.page(tokens, next, user))
    }

    fn page(
        &self,
        tokens: Vec<TokenView>,
        next: Option<TokenId>,
        user: Option<StoredUser>,
    ) -> TokenPage {
        let caller = match user.filter(|u| u.user.active) {
            Some(stored) => CallerView {
                permissions: self
                    .permissions
                    .permissions_of(&stored.user.roles)
                    .into_iter()
                    .collect(),
                time_zone: stored.user.time_zone.map(|tz| tz.name().to_owned()),
            },
            None => CallerView {
                permissions: Vec::new(),
                time_zone: None,
            },
        };
        TokenPage {
            tokens,
            next_token: next.map(|id| id.as_str().to_owned()),
            caller,
            limits: Limits {
                max_token_lifetime_days: self.settings.max_token_lifetime_days,
                max_tokens_per_user: self.settings.max_tokens_per_user,
                max_grace_seconds: MAX_GRACE_SECONDS,
            },
        }
    }

    /// `DELETE /tokens/{id}`: revoked now or before (204), or not the caller's (404).
    pub async fn revoke_token(
        &self,
        caller: &UserId,
        id: &TokenId,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        match self
            .store
            .revoke_token(caller, id, RevokeReason::User, now)
            .await
            .map_err(|e| self.store_failed(e, now))?
        {
            RevokeOutcome::Revoked(_) => {
                tracing::info!(user_id = %caller, token_id = %id, reason = "user", "token revoked");
                self.count_revoked(RevokeReason::User, 1, now);
                Ok(())
            }
            RevokeOutcome::AlreadyRevoked => Ok(()),
            RevokeOutcome::NotFound => Err(ApiError::NotFound),
        }
    }

    /// `POST /tokens/{id}/rotate`: a new secret for the same token.
    pub async fn rotate_token(
        &self,
        caller: &UserId,
        id: &TokenId,
        request: RotateTokenRequest,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        let early = match (request.expires_on, request.time_zone) {
            (Some(day), Some(zone)) => Some(self.resolve_expiry(day, zone, now)?),
            _ => None,
        };
        let current = self
            .store
            .get_token(caller, id)
            .await
            .map_err(|e| self.store_failed(e, now))?
            .filter(|t| t.is_live(now))
            .ok_or(ApiError::NotFound)?;
        let owner = self.active_user(caller, now).await?;
        let expiry = match (early, request.expires_on) {
            (Some(expiry), _) => expiry,
            (None, Some(day)) => self.resolve_expiry(day, current.expiry.time_zone, now)?,
            (None, None) => current.expiry.clone(),
        };
        let secret =
            TokenSecret::generate(&self.settings.token_prefix).map_err(|_| ApiError::Internal)?;
        let grace = chrono::Duration::seconds(i64::from(request.grace_seconds));
        let probe = TokenRecord {
            hint: secret.hint(),
            expiry: expiry.clone(),
            ..current.clone()
        };
        let rotation = Rotation {
            new_hash: secret.hash(),
            new_hint: secret.hint(),
            expiry,
            grace_until: now + grace,
            reminders: self.reminders_for(&probe, now),
            at: now,
        };
        let rotated = match self
            .store
            .rotate_token(&current, &rotation, &owner)
            .await
            .map_err(|e| self.store_failed(e, now))?
        {
            RotateOutcome::Rotated(record) => *record,
            RotateOutcome::Conflict => return Err(ApiError::Conflict),
            RotateOutcome::NotFound => return Err(ApiError::NotFound),
        };
        tracing::info!(user_id = %caller, token_id = %id, grace_seconds = request.grace_seconds, "token rotated");
        self.metrics.count(
            "TokensRotated",
            &[("Service", "patgate")],
            now.timestamp_millis(),
        );
        Ok(IssuedToken {
            token: TokenView::from(&rotated),
            secret: secret.expose().to_owned(),
        })
    }

    /// `POST /credentials/revoke`: revokes every token whose secret (still able to
    /// authenticate) is among the reported strings, as its owner's revoke would.
    /// Strings that are not well-formed tokens of this deployment cost no read.
    /// Returns how many tokens it revoked (logged, never answered).
    pub async fn revoke_leaked(
        &self,
        report: LeakedCredentialsReport,
        now: DateTime<Utc>,
    ) -> Result<usize, ApiError> {
        let hashes: Vec<TokenHash> = report
            .credentials
            .iter()
            .filter_map(|text| TokenSecret::parse(&self.settings.token_prefix, text.trim()).ok())
            .map(|secret| secret.hash())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let found = self
            .store
            .find_hashes(&hashes)
            .await
            .map_err(|e| self.store_failed(e, now))?;
        let mut revoked = 0;
        let tokens: BTreeSet<(UserId, TokenId)> = found
            .into_iter()
            .filter(|hash| now < hash.valid_until)
            .map(|hash| (hash.user_id, hash.token_id))
            .collect();
        for (user, id) in tokens {
            let outcome = self
                .store
                .revoke_token(&user, &id, RevokeReason::Leaked, now)
                .await
                .map_err(|e| self.store_failed(e, now))?;
            if let RevokeOutcome::Revoked(_) = outcome {
                tracing::warn!(user_id = %user, token_id = %id, reason = "leaked", "token revoked");
                revoked += 1;
            }
        }
        self.count_revoked(RevokeReason::Leaked, revoked, now);
        Ok(revoked)
    }

    /// Offboarding: revokes every live token of `user`; returns how many.
    pub async fn revoke_all_tokens(
        &self,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let revoked = self
            .store
            .revoke_all_tokens(user, RevokeReason::Offboarded, now)
            .await?;
        tracing::info!(user_id = %user, revoked, reason = "offboarded", "tokens revoked");
        self.count_revoked(RevokeReason::Offboarded, revoked, now);
        Ok(revoked)
    }

    fn count_revoked(&self, reason: RevokeReason, count: usize, now: DateTime<Utc>) {
        if count > 0 {
            self.metrics.emit(
                &[("Service", "patgate"), ("Reason", reason.as_str())],
                &[("TokensRevoked", crate::metrics::Unit::Count, count as f64)],
                now.timestamp_millis(),
            );
        }
    }

    /// The caller's user record, if they may hold tokens.
    async fn active_user(
        &self,
        caller: &UserId,
        now: DateTime<Utc>,
    ) -> Result<StoredUser, ApiError> {
        match self.store.get_user(caller).await {
            Ok(Some(stored)) if stored.user.active => Ok(stored),
            Ok(_) => Err(ApiError::AccountInactive),
            Err(err) => Err(self.store_failed(err, now)),
        }
    }

    fn resolve_expiry(
        &self,
        day: chrono::NaiveDate,
        zone: Tz,
        now: DateTime<Utc>,
    ) -> Result<Expiry, ApiError> {
        expiry::resolve(day, zone, now, self.settings.max_token_lifetime_days)
            .map_err(|err| ApiError::invalid("expiresOn", err.to_string()))
    }

    fn check_scope(&self, scope: Option<&BTreeSet<String>>) -> Result<(), ApiError> {
        if let Some(unknown) = scope
            .into_iter()
            .flatten()
            .find(|p| !self.permissions.is_known(p))
        {
            return Err(ApiError::invalid(
                "permissions",
                format!(
                    "unknown permission `{}`",
                    unknown.chars().take(60).collect::<String>()
                ),
            ));
        }
        Ok(())
    }

    fn reminders_for(&self, record: &TokenRecord, now: DateTime<Utc>) -> Vec<Reminder> {
        reminders::schedule(
            record.expiry.expires_on,
            record.expiry.time_zone,
            &self.settings.expiry_reminder_days,
            now,
        )
        .into_iter()
        .map(|due| Reminder {
            key: ReminderKey {
                hour: reminders::hour_key(due.due_at),
                token_id: record.id.clone(),
                days_left: due.days_left,
            },
            user_id: record.user_id.clone(),
            name: record.name.clone(),
            hint: record.hint.clone(),
            due_at: due.due_at,
            expiry: record.expiry.clone(),
        })
        .collect()
    }

    /// A store failure as the caller sees it (503 or 500), counted as a metric.
    fn store_failed(&self, err: StoreError, now: DateTime<Utc>) -> ApiError {
        let kind = match err {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Internal(_) => "error",
        };
        self.metrics.count(
            "StoreFailures",
            &[("Service", "patgate"), ("Kind", kind)],
            now.timestamp_millis(),
        );
        err.into()
    }
}
