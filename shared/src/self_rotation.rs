//! `POST /tokens/self/rotate`: a token rotates its own secret, authenticated by that
//! secret through the patgate authorizer (no web session), for unattended automation.
//!
//! - Opt-in: only a token whose own permission list names `token:rotate-self` (no role
//!   grants it). The authorizer's policy already refuses the route to other tokens;
//!   the function checks the context again.
//! - Only the token's current secret rotates it: a secret a rotation replaced (still in
//!   its grace) is refused (409 `secret_replaced`), so a leaked old secret cannot take
//!   the token over while its grace lasts.
//! - The same body and grace rules as `POST /tokens/{id}/rotate`; the new secret is in
//!   this answer only. A replaced secret used after its grace is recorded as today.
//! - Rate limit per token, with no item of its own: the rotation's conditional write
//!   also requires the token's `rotated_at` to be older than
//!   `SELF_ROTATE_MIN_INTERVAL_SECONDS` (default 3600), so concurrent calls cannot
//!   both pass; a refused call is 429 `rate_limited` with `Retry-After`. Creation
//!   does not count: a new token may rotate itself at once.

use chrono::{DateTime, Utc};

use crate::api::{IssuedToken, RotateTokenRequest};
use crate::error::ApiError;
use crate::permissions::ROTATE_SELF;
use crate::service::TokenService;
use crate::token::TokenId;
use crate::token_context::TokenContext;
use crate::user::UserId;

impl TokenService {
    pub async fn rotate_self(
        &self,
        caller: &TokenContext,
        request: RotateTokenRequest,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        if !caller.permission_set().contains(ROTATE_SELF) {
            return Err(ApiError::MissingPermission(ROTATE_SELF));
        }
        let (Some(user), Some(id), Some(presented_version)) = (
            UserId::parse(&caller.user_id),
            TokenId::parse(&caller.token_id),
            caller.secret_version(),
        ) else {
            return Err(ApiError::Unauthenticated);
        };
        let early = match (request.expires_on, request.time_zone) {
            (Some(day), Some(zone)) => Some(self.resolve_expiry(day, zone, now)?),
            _ => None,
        };
        let current = self
            .store
            .get_token(&user, &id)
            .await
            .map_err(|e| self.store_failed(e, now))?
            .filter(|t| t.is_live(now))
            .ok_or(ApiError::NotFound)?;
        if caller.in_grace() || presented_version != current.secret_version {
            return Err(ApiError::SecretReplaced);
        }
        let since = now - self.min_self_rotation_interval();
        if let Some(at) = current.rotated_at.filter(|at| *at >= since) {
            return Err(self.too_soon(at, now));
        }
        let owner = self.active_user(&user, now).await?;
        let expiry = match (early, request.expires_on) {
            (Some(expiry), _) => expiry,
            (None, Some(day)) => self.resolve_expiry(day, current.expiry.time_zone, now)?,
            (None, None) => current.expiry.clone(),
        };
        let issued = self
            .issue_new_secret(
                current,
                expiry,
                request.grace_seconds,
                Some(since),
                &owner,
                now,
            )
            .await?;
        tracing::info!(user_id = %user, token_id = %id, grace_seconds = request.grace_seconds, by = "self", "token rotated");
        self.metrics
            .count("TokensRotated", &[], now.timestamp_millis());
        Ok(issued)
    }

    fn min_self_rotation_interval(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.settings.self_rotate_min_interval)
            .unwrap_or(chrono::Duration::hours(1))
    }

    /// 429 for a token rotated at `at`: when the interval since then ends.
    pub(crate) fn too_soon(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> ApiError {
        let open_at = at + self.min_self_rotation_interval();
        // Whole seconds, rounded up (never 0: "now" is still too soon).
        let millis = (open_at - now).num_milliseconds().max(1);
        ApiError::RateLimited {
            retry_after_seconds: millis.unsigned_abs().div_ceil(1000),
        }
    }
}
