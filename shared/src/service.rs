//! The token API's use cases, one method each: create, list, revoke, rotate, revoke
//! leaked secrets, and offboard. A handler identifies the caller, parses the request,
//! calls one of these, and answers through [`TokenService::headers`].

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::api::{
    CallerView, CreateTokenRequest, IdempotencyKey, IssuedToken, LeakedCredentialsReport, Limits,
    ListQuery, ResponseHeaders, RotateTokenRequest, TokenPage, TokenStatus, TokenView,
    MAX_GRACE_SECONDS,
};
use crate::config::{ConfigError, Settings};
use crate::error::ApiError;
use crate::expiry::{self, Expiry};
use crate::metrics::Metrics;
use crate::permissions::PermissionConfig;
use crate::reminders;
use crate::store::{
    connect, CreateTokenError, IdempotencyRecord, Reminder, ReminderKey, RevokeOutcome,
    RevokeReason, Revoker, RotateOutcome, Rotation, StoreError, StoredUser, TokenRecord,
    TokenStore,
};
use crate::token::{TokenHash, TokenId, TokenSecret};
use crate::user::{PrincipalKind, UserId};

/// Who reported a leaked secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakReporter {
    /// `POST /credentials/revoke`: anyone, unauthenticated.
    Anonymous,
    /// A signed GitHub secret scanning alert.
    GitHub,
    /// GitLab's token revocation API, called with the GitLab integration credential.
    GitLab,
}

impl LeakReporter {
    pub fn as_str(self) -> &'static str {
        match self {
            LeakReporter::Anonymous => "report",
            LeakReporter::GitHub => "github",
            LeakReporter::GitLab => "gitlab",
        }
    }

    /// What a revoked record's `revoked_by` names (DESIGN §3): `github` or `gitlab`,
    /// or nobody for an anonymous report.
    pub fn revoked_by(self) -> Option<&'static str> {
        match self {
            LeakReporter::Anonymous => None,
            LeakReporter::GitHub => Some("github"),
            LeakReporter::GitLab => Some("gitlab"),
        }
    }
}

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
        let metrics = Metrics::stdout(&settings);
        Ok(TokenService::new(settings, store, permissions).with_metrics(metrics))
    }

    /// `POST /tokens`.
    pub async fn create_token(
        &self,
        caller: &UserId,
        request: CreateTokenRequest,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        self.create_token_with_key(caller, request, None, now).await
    }

    /// `POST /tokens` with the request's `Idempotency-Key`, if any. A retry with the key
    /// of an earlier creation and the same request answers that creation's token with
    /// its secret re-issued (see [`TokenService::replay`]); with another request, 409.
    pub async fn create_token_with_key(
        &self,
        caller: &UserId,
        request: CreateTokenRequest,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        let Some(key) = key else {
            return self.create(caller, request, None, None, now).await;
        };
        let key_hash = key.hash();
        let request_hash = request.digest();
        let earlier = self
            .store
            .idempotency_record(caller, &key_hash, now)
            .await
            .map_err(|e| self.store_failed(e, now))?;
        if let Some(earlier) = earlier {
            return self.replay(caller, &earlier, &request_hash, now).await;
        }
        match self
            .create(
                caller,
                request,
                Some((key_hash.clone(), request_hash.clone())),
                None,
                now,
            )
            .await
        {
            // A creation under the same key stored its token first: replay that one.
            Err(ApiError::IdempotencyKeyReused { .. }) => {
                let earlier = self
                    .store
                    .idempotency_record(caller, &key_hash, now)
                    .await
                    .map_err(|e| self.store_failed(e, now))?
                    .ok_or(ApiError::Conflict)?;
                self.replay(caller, &earlier, &request_hash, now).await
            }
            other => other,
        }
    }

    /// `POST /tokens` for `caller`, or, with `created_by` (an administrator), a token of
    /// the service account `caller`: the same token in every other way.
    pub async fn create_token_as(
        &self,
        caller: &UserId,
        request: CreateTokenRequest,
        created_by: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        self.create(caller, request, None, created_by, now).await
    }

    /// A new token; with `idempotency` (the key's and the request's hashes), its
    /// record is written with the token, and a creation that lost the key to another
    /// answers [`ApiError::IdempotencyKeyReused`] (which the caller turns into a replay).
    /// With `created_by` (an administrator), a token of the service account `caller`.
    async fn create(
        &self,
        caller: &UserId,
        request: CreateTokenRequest,
        idempotency: Option<(String, String)>,
        created_by: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        self.check_scope(request.permissions.as_ref())?;
        // With the zone in the body, a bad date is refused before any DynamoDB call.
        let early = request
            .time_zone
            .map(|zone| self.resolve_expiry(request.expires_on, zone, now))
            .transpose()?;
        let owner = self.active_user(caller, now).await?;
        // A service account's tokens are created by administrators only.
        if (owner.profile.kind == PrincipalKind::Service) != created_by.is_some() {
            return Err(ApiError::AccountInactive);
        }
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
            secret_version: 1,
            owner_kind: owner.profile.kind,
            permissions_lost: Default::default(),
            created_by,
        };
        let reminders = self.reminders_for(&record, now);
        record.reminders = reminders.iter().map(|r| r.key.clone()).collect();
        let limit = self.settings.max_tokens_per_user;
        let stored = match idempotency {
            None => {
                self.store
                    .create_token(&record, &reminders, limit, &owner)
                    .await
            }
            Some((key_hash, request_hash)) => {
                let idempotency = IdempotencyRecord {
                    user_id: caller.clone(),
                    key_hash,
                    token_id: record.id.clone(),
                    request_hash,
                    created_at: now,
                };
                self.store
                    .create_token_once(&record, &reminders, limit, &owner, &idempotency)
                    .await
            }
        };
        stored.map_err(|err| match err {
            CreateTokenError::LimitReached(limit) => ApiError::TokenLimitReached { limit },
            CreateTokenError::IdempotencyKeyUsed => ApiError::IdempotencyKeyReused {
                reason: "was taken by a concurrent creation",
            },
            CreateTokenError::Store(err) => self.store_failed(err, now),
        })?;
        tracing::info!(user_id = %record.user_id, token_id = %record.id, expires_at = %record.expiry.expires_at, "token created");
        self.metrics
            .count("TokensCreated", &[], now.timestamp_millis());
        Ok(IssuedToken {
            token: TokenView::from(&record),
            secret: secret.expose().to_owned(),
            replayed: false,
        })
    }

    /// The answer to a retried creation: the same token, with its secret re-issued as
    /// a rotation without grace (`secret_version` + 1). The plaintext is never stored,
    /// so it cannot be answered again; re-issuing makes the secret the client received
    /// last the one that works. A secret answered before and used anyway is refused,
    /// and its use recorded as a reuse.
    async fn replay(
        &self,
        caller: &UserId,
        earlier: &IdempotencyRecord,
        request_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        if earlier.request_hash != request_hash {
            return Err(ApiError::IdempotencyKeyReused {
                reason: "was used with a different request",
            });
        }
        let current = self
            .store
            .get_token(caller, &earlier.token_id)
            .await
            .map_err(|e| self.store_failed(e, now))?
            .filter(|t| t.is_live(now))
            .ok_or(ApiError::IdempotencyKeyReused {
                reason: "created a token that was revoked or has expired",
            })?;
        let owner = self.active_user(caller, now).await?;
        let expiry = current.expiry.clone();
        let mut issued = self
            .issue_new_secret(current, expiry, 0, None, &owner, now)
            .await?;
        issued.replayed = true;
        tracing::info!(user_id = %caller, token_id = %earlier.token_id, "creation replayed: secret re-issued");
        self.metrics
            .count("CreationsReplayed", &[], now.timestamp_millis());
        Ok(issued)
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
            Some(stored) => {
                let permissions: Vec<String> = self
                    .permissions
                    .permissions_of(&stored.user.roles)
                    .into_iter()
                    .collect();
                CallerView {
                    opt_in_permissions: match permissions.is_empty() {
                        true => Vec::new(),
                        false => vec![crate::permissions::ROTATE_SELF.to_owned()],
                    },
                    permissions,
                    time_zone: stored.user.time_zone.map(|tz| tz.name().to_owned()),
                }
            }
            None => CallerView {
                permissions: Vec::new(),
                opt_in_permissions: Vec::new(),
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
        let issued = self
            .issue_new_secret(current, expiry, request.grace_seconds, None, &owner, now)
            .await?;
        tracing::info!(user_id = %caller, token_id = %id, grace_seconds = request.grace_seconds, "token rotated");
        self.metrics
            .count("TokensRotated", &[], now.timestamp_millis());
        Ok(issued)
    }

    /// A new secret for `current` (a rotation, or a replayed creation's re-issue); a
    /// self-rotation passes `not_rotated_since`, its rate limit.
    pub(crate) async fn issue_new_secret(
        &self,
        current: TokenRecord,
        expiry: Expiry,
        grace_seconds: u32,
        not_rotated_since: Option<DateTime<Utc>>,
        owner: &StoredUser,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        let secret =
            TokenSecret::generate(&self.settings.token_prefix).map_err(|_| ApiError::Internal)?;
        let grace = chrono::Duration::seconds(i64::from(grace_seconds));
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
            not_rotated_since,
        };
        let rotated = match self
            .store
            .rotate_token(&current, &rotation, owner)
            .await
            .map_err(|e| self.store_failed(e, now))?
        {
            RotateOutcome::Rotated(record) => *record,
            RotateOutcome::Conflict => return Err(ApiError::Conflict),
            RotateOutcome::NotFound => return Err(ApiError::NotFound),
            RotateOutcome::TooSoon(at) => return Err(self.too_soon(at, now)),
        };
        Ok(IssuedToken {
            token: TokenView::from(&rotated),
            secret: secret.expose().to_owned(),
            replayed: false,
        })
    }

    /// `POST /credentials/revoke`: revokes every token whose secret (still able to
    /// authenticate) is among the reported strings, as its owner's revoke would.
    /// Strings that are not well-formed tokens of this deployment (under its prefix or
    /// an earlier accepted one) cost no read. Returns how many tokens it revoked
    /// (logged, never answered).
    pub async fn revoke_leaked(
        &self,
        report: LeakedCredentialsReport,
        now: DateTime<Utc>,
    ) -> Result<usize, ApiError> {
        let hashes = report
            .credentials
            .iter()
            .filter_map(|text| self.settings.parse_token(text.trim()).ok())
            .map(|secret| secret.hash());
        self.revoke_leaked_hashes(hashes, LeakReporter::Anonymous, now)
            .await
    }

    /// Revokes every token one of whose secrets, by hash, still authenticates, with the
    /// reason `leaked`: the leak report's and GitHub's alerts' common path.
    pub async fn revoke_leaked_hashes(
        &self,
        hashes: impl IntoIterator<Item = TokenHash>,
        reporter: LeakReporter,
        now: DateTime<Utc>,
    ) -> Result<usize, ApiError> {
        let hashes: Vec<TokenHash> = hashes
            .into_iter()
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
            let revoker = Revoker {
                by: reporter.revoked_by().map(str::to_owned),
                ..Revoker::new(RevokeReason::Leaked)
            };
            let outcome = self
                .store
                .revoke_token_by(&user, &id, revoker, now)
                .await
                .map_err(|e| self.store_failed(e, now))?;
            if let RevokeOutcome::Revoked(_) = outcome {
                tracing::warn!(user_id = %user, token_id = %id, reason = "leaked", reported_by = reporter.as_str(), "token revoked");
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
                &[("Reason", reason.as_str())],
                &[("TokensRevoked", crate::metrics::Unit::Count, count as f64)],
                now.timestamp_millis(),
            );
        }
    }

    /// The caller's user record, if they may hold tokens.
    pub(crate) async fn active_user(
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

    pub(crate) fn resolve_expiry(
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
    pub(crate) fn store_failed(&self, err: StoreError, now: DateTime<Utc>) -> ApiError {
        let kind = match err {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Internal(_) => "error",
        };
        self.metrics
            .count("StoreFailures", &[("Kind", kind)], now.timestamp_millis());
        err.into()
    }
}
