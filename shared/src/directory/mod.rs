//! The user directory's use cases: put and read users, list and revoke a user's
//! tokens as an administrator, offboard, service accounts ([`service_accounts`]), the
//! organisation's inventory and the integration credentials ([`admin`]). The CLI
//! (`patgate-users`), the admin API (`/admin/*`, `/org/*`), SCIM and the stream repair
//! all call these.
//!
//! A user write converges (DESIGN §2): (1) the record is written, its
//! `access_version` bumped when roles or `active` change; (2) the fan-out brings every
//! hash item of the principal's tokens in step and records each token's drift
//! ([`drift`]); (3) `synced_version = access_version` marks it complete. A write
//! that fails after (1) leaves `synced_version` behind: a retry of the same write, or
//! the `revocations` stream consumer ([`Directory::repair`]), runs (2) and (3) again.

pub mod admin;
pub mod drift;
pub mod service_accounts;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::error::ApiError;
use crate::permissions::PermissionConfig;
use crate::service::TokenService;
use crate::store::client::backoff;
use crate::store::{
    Page, PrincipalWrite, Profile, RevokeOutcome, RevokeReason, Revoker, ScimAttributes,
    StoreError, StoredUser, TokenRecord, TokenStore,
};
use crate::token::TokenId;
use crate::user::{PrincipalKind, User, UserId};

/// How often a write that lost a race with another write of the same record re-reads.
const WRITE_ATTEMPTS: u32 = 4;

/// What a user write says about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserWrite {
    pub roles: Vec<String>,
    pub time_zone: Option<Tz>,
    pub active: bool,
    /// SCIM's attributes; `None` keeps what the record holds.
    pub scim: Option<ScimAttributes>,
    /// The record's `version` the writer read (SCIM `If-Match`); `None`: any.
    pub if_version: Option<u64>,
}

impl UserWrite {
    pub fn of(user: &User) -> Self {
        UserWrite {
            roles: user.roles.clone(),
            time_zone: user.time_zone,
            active: user.active,
            scim: None,
            if_version: None,
        }
    }
}

/// The directory's use cases, over the token service (store, settings, permissions).
#[derive(Debug, Clone)]
pub struct Directory {
    pub tokens: TokenService,
}

impl Directory {
    pub fn new(tokens: TokenService) -> Self {
        Directory { tokens }
    }

    pub fn store(&self) -> &TokenStore {
        &self.tokens.store
    }

    pub fn permissions(&self) -> &PermissionConfig {
        &self.tokens.permissions
    }

    /// Creates or replaces the user `id`, then brings their tokens in step (and
    /// finishes an earlier write of theirs that did not). Returns the record and
    /// whether it was created.
    pub async fn put_user(
        &self,
        id: &UserId,
        write: UserWrite,
        now: DateTime<Utc>,
    ) -> Result<(StoredUser, bool), ApiError> {
        if !id.may_be_a_user() {
            return Err(ApiError::invalid(
                "id",
                "ids starting with svc_ are reserved for service accounts",
            ));
        }
        let store = self.store();
        for attempt in 0..WRITE_ATTEMPTS {
            let existing = store.get_user(id).await?;
            if let (Some(expected), Some(old)) = (write.if_version, &existing) {
                if expected != old.profile.version {
                    return Err(ApiError::PreconditionFailed);
                }
            }
            let (stored, outcome) = match &existing {
                Some(old) if old.profile.kind == PrincipalKind::Service => {
                    return Err(ApiError::invalid("id", "is a service account's id"));
                }
                Some(old) => {
                    let stored = self.updated_user(old, &write, now)?;
                    if old.profile.scim.user_name.is_none() {
                        // A record written before userNames: claim its own id as one.
                        store.claim_user_name(id.as_str(), id).await?;
                    }
                    let outcome = store.replace_principal(&stored, old).await?;
                    (stored, outcome)
                }
                None => {
                    let stored = new_user(id, &write, now);
                    let outcome = store.create_principal(&stored).await?;
                    (stored, outcome)
                }
            };
            match outcome {
                PrincipalWrite::Written => {
                    let was_active = existing.as_ref().is_some_and(|old| old.user.active);
                    self.converge(&stored, now).await?;
                    if was_active && !stored.user.active {
                        self.reevaluate_owned(id, now).await?;
                    }
                    return Ok((stored, existing.is_none()));
                }
                PrincipalWrite::UserNameTaken => return Err(ApiError::AlreadyExists("userName")),
                PrincipalWrite::Changed if write.if_version.is_some() => {
                    return Err(ApiError::PreconditionFailed)
                }
                PrincipalWrite::Changed => backoff(attempt + 1).await,
            }
        }
        Err(ApiError::Unavailable)
    }

    fn updated_user(
        &self,
        old: &StoredUser,
        write: &UserWrite,
        now: DateTime<Utc>,
    ) -> Result<StoredUser, ApiError> {
        let changed = old.user.roles != write.roles || old.user.active != write.active;
        let mut profile = old.profile.clone();
        if let Some(scim) = &write.scim {
            let stored_name = profile.scim.user_name.as_deref();
            if scim.user_name.as_deref() != stored_name && stored_name.is_some() {
                return Err(ApiError::Immutable { field: "userName" });
            }
            profile.scim = scim.clone();
        }
        if profile.scim.user_name.is_none() {
            profile.scim.user_name = Some(old.user.id.as_str().to_owned());
        }
        profile.version += 1;
        profile.modified_at = Some(now);
        profile.created_at = profile.created_at.or(Some(now));
        Ok(StoredUser {
            user: User {
                id: old.user.id.clone(),
                roles: write.roles.clone(),
                time_zone: write.time_zone,
                active: write.active,
            },
            access_version: old.access_version + u64::from(changed),
            profile,
        })
    }

    /// Steps (2) and (3) of a user write, when the record says they are not done:
    /// every hash item of the principal's tokens brought in step, each token's drift
    /// recorded, then `synced_version` set. Idempotent. Returns whether it ran.
    pub async fn converge(
        &self,
        principal: &StoredUser,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if principal.profile.synced_version >= principal.access_version {
            return Ok(false);
        }
        let store = self.store();
        let permissions = self.permissions();
        let before = permissions.permissions_of(&principal.profile.synced_roles);
        let after = permissions.permissions_of(&principal.user.roles);
        let changed_at = principal.profile.modified_at.unwrap_or(now);
        for token in store.token_access(&principal.user.id).await? {
            for hash in &token.hashes {
                store.write_access(principal, hash).await?;
            }
            let lost = drift::permissions_lost(&token, &before, &after, changed_at);
            if lost != token.permissions_lost {
                store
                    .set_permissions_lost(&principal.user.id, &token.id, &lost)
                    .await?;
            }
        }
        store.mark_synced(principal).await?;
        Ok(true)
    }

    /// The background repair of a user write nobody retried: re-reads the record
    /// (strongly consistent) and, if its fan-out is still behind, completes it.
    /// Returns whether it had work to do.
    pub async fn repair(&self, id: &UserId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        match self.store().get_user(id).await? {
            Some(principal) => self.converge(&principal, now).await,
            None => Ok(false),
        }
    }

    pub async fn get_user(&self, id: &UserId) -> Result<StoredUser, ApiError> {
        match self.store().get_user(id).await? {
            Some(stored) if stored.profile.kind == PrincipalKind::User => Ok(stored),
            _ => Err(ApiError::NoSuch("user")),
        }
    }

    /// A page of a principal's live tokens (or recently revoked ones).
    pub async fn principal_tokens(
        &self,
        owner: &UserId,
        revoked: bool,
        limit: u32,
        after: Option<&TokenId>,
        now: DateTime<Utc>,
    ) -> Result<Page<crate::api::TokenView>, ApiError> {
        let store = self.store();
        Ok(if revoked {
            let page = store.list_revoked(owner, limit, after).await?;
            Page {
                items: page.items.iter().map(Into::into).collect(),
                next: page.next,
            }
        } else {
            let page = store.list_tokens(owner, limit, after).await?;
            Page {
                items: page
                    .items
                    .iter()
                    .filter(|t: &&TokenRecord| t.is_live(now))
                    .map(Into::into)
                    .collect(),
                next: page.next,
            }
        })
    }

    /// An administrator revokes one token: reason `admin`, who, and their note.
    pub async fn admin_revoke(
        &self,
        owner: &UserId,
        id: &TokenId,
        by: &str,
        note: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let revoker = Revoker {
            reason: RevokeReason::Admin,
            by: Some(by.to_owned()),
            note,
        };
        match self
            .store()
            .revoke_token_by(owner, id, revoker, now)
            .await?
        {
            RevokeOutcome::Revoked(_) => {
                tracing::info!(user_id = %owner, token_id = %id, revoked_by = by, reason = "admin", "token revoked");
                Ok(())
            }
            RevokeOutcome::AlreadyRevoked => Ok(()),
            RevokeOutcome::NotFound => Err(ApiError::NotFound),
        }
    }

    /// Offboarding: every live token of `owner` revoked (reason `offboarded`).
    pub async fn revoke_all(&self, owner: &UserId, now: DateTime<Utc>) -> Result<usize, ApiError> {
        Ok(self.tokens.revoke_all_tokens(owner, now).await?)
    }

    /// Deletes a user (SCIM `DELETE`): deactivated first (their tokens stop at once),
    /// every token revoked, their service accounts re-evaluated, then the record and
    /// its userName. A retry after a failure continues where it stopped.
    pub async fn delete_user(&self, id: &UserId, now: DateTime<Utc>) -> Result<(), ApiError> {
        let stored = self.get_user(id).await?;
        let mut write = UserWrite::of(&stored.user);
        write.active = false;
        let (stored, _) = self.put_user(id, write, now).await?;
        self.revoke_all(id, now).await?;
        self.reevaluate_owned(id, now).await?;
        self.store().delete_principal(&stored).await?;
        Ok(())
    }
}

fn new_user(id: &UserId, write: &UserWrite, now: DateTime<Utc>) -> StoredUser {
    let mut scim = write.scim.clone().unwrap_or_default();
    if scim.user_name.is_none() {
        scim.user_name = Some(id.as_str().to_owned());
    }
    StoredUser {
        user: User {
            id: id.clone(),
            roles: write.roles.clone(),
            time_zone: write.time_zone,
            active: write.active,
        },
        access_version: 1,
        // A new principal has no token yet: nothing to fan out.
        profile: Profile {
            kind: PrincipalKind::User,
            synced_version: 1,
            synced_roles: write.roles.clone(),
            version: 1,
            created_at: Some(now),
            modified_at: Some(now),
            scim,
            service: None,
        },
    }
}
