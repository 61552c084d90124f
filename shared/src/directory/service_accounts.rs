//! Service accounts: non-human owners of tokens. Only administrators (`patgate:admin`
//! or the IAM admin API) create them, change them and create their tokens: a service
//! account may hold roles its owners lack, so letting owners mint its tokens would
//! let them escalate. Owners are accountable contacts; offboarding one never revokes
//! the account's tokens, and an account left without an active owner is flagged
//! `orphaned` (and shows so in the inventory's views).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{backoff, Directory, WRITE_ATTEMPTS};
use crate::api::{CreateTokenRequest, IssuedToken};
use crate::error::ApiError;
use crate::store::{PrincipalWrite, Profile, ServiceAccount, StoredUser};
use crate::user::{PrincipalKind, User, UserId};

/// What an administrator says about a service account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAccountInput {
    pub name: String,
    pub description: Option<String>,
    pub owners: BTreeSet<String>,
    pub roles: Vec<String>,
    pub active: bool,
}

/// Most owners one service account may list.
pub const MAX_OWNERS: usize = 20;

impl Directory {
    /// Owners must be existing users; returns whether any of them is active.
    async fn check_owners(&self, owners: &BTreeSet<String>) -> Result<bool, ApiError> {
        let mut any_active = false;
        for owner in owners {
            let id = UserId::parse(owner)
                .filter(UserId::may_be_a_user)
                .ok_or_else(|| ApiError::invalid("owners", "must be user ids"))?;
            match self.store().get_user(&id).await? {
                Some(user) if user.profile.kind == PrincipalKind::User => {
                    any_active |= user.user.active
                }
                _ => {
                    return Err(ApiError::invalid(
                        "owners",
                        format!("no user `{}`", owner.chars().take(60).collect::<String>()),
                    ))
                }
            }
        }
        Ok(any_active)
    }

    pub async fn create_service_account(
        &self,
        input: ServiceAccountInput,
        created_by: &str,
        now: DateTime<Utc>,
    ) -> Result<StoredUser, ApiError> {
        let any_active = self.check_owners(&input.owners).await?;
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        let id = UserId::new_service_account(millis).map_err(|_| ApiError::Internal)?;
        let stored = StoredUser {
            user: User {
                id,
                roles: input.roles.clone(),
                time_zone: None,
                active: input.active,
            },
            access_version: 1,
            profile: Profile {
                kind: PrincipalKind::Service,
                synced_version: 1,
                synced_roles: input.roles.clone(),
                version: 1,
                created_at: Some(now),
                modified_at: Some(now),
                scim: Default::default(),
                service: Some(ServiceAccount {
                    name: input.name,
                    description: input.description,
                    owners: input.owners,
                    created_by: created_by.to_owned(),
                    orphaned: !any_active,
                }),
            },
        };
        match self.store().create_principal(&stored).await? {
            PrincipalWrite::Written => {
                tracing::info!(account = %stored.user.id, created_by, "service account created");
                Ok(stored)
            }
            _ => Err(ApiError::Conflict),
        }
    }

    pub async fn get_service_account(&self, id: &UserId) -> Result<StoredUser, ApiError> {
        match self.store().get_user(id).await? {
            Some(stored) if stored.profile.kind == PrincipalKind::Service => Ok(stored),
            _ => Err(ApiError::NoSuch("service account")),
        }
    }

    /// Replaces a service account's name, description, owners, roles and `active`;
    /// a change of roles or `active` reaches its tokens as a user's does.
    pub async fn update_service_account(
        &self,
        id: &UserId,
        input: ServiceAccountInput,
        now: DateTime<Utc>,
    ) -> Result<StoredUser, ApiError> {
        let any_active = self.check_owners(&input.owners).await?;
        for attempt in 0..WRITE_ATTEMPTS {
            let old = self.get_service_account(id).await?;
            let changed = old.user.roles != input.roles || old.user.active != input.active;
            let mut profile = old.profile.clone();
            profile.version += 1;
            profile.modified_at = Some(now);
            let created_by = profile
                .service
                .as_ref()
                .map(|s| s.created_by.clone())
                .unwrap_or_default();
            profile.service = Some(ServiceAccount {
                name: input.name.clone(),
                description: input.description.clone(),
                owners: input.owners.clone(),
                created_by,
                orphaned: !any_active,
            });
            let stored = StoredUser {
                user: User {
                    id: id.clone(),
                    roles: input.roles.clone(),
                    time_zone: None,
                    active: input.active,
                },
                access_version: old.access_version + u64::from(changed),
                profile,
            };
            match self.store().replace_principal(&stored, &old).await? {
                PrincipalWrite::Written => {
                    self.converge(&stored, now).await?;
                    return Ok(stored);
                }
                _ => backoff(attempt + 1).await,
            }
        }
        Err(ApiError::Unavailable)
    }

    /// A page of service accounts, by id.
    pub async fn list_service_accounts(
        &self,
        limit: u32,
        after: Option<&UserId>,
    ) -> Result<(Vec<StoredUser>, Option<UserId>), ApiError> {
        Ok(self
            .store()
            .directory_page(PrincipalKind::Service, limit, after)
            .await?)
    }

    /// A new token of the service account `id`, created by an administrator.
    pub async fn create_service_token(
        &self,
        id: &UserId,
        request: CreateTokenRequest,
        created_by: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedToken, ApiError> {
        self.get_service_account(id).await?;
        self.tokens
            .create_token_as(id, request, Some(created_by.to_owned()), now)
            .await
    }

    /// After `owner` was deactivated or deleted: each service account they own is
    /// flagged `orphaned` when no active owner remains (its tokens stay).
    pub async fn reevaluate_owned(
        &self,
        owner: &UserId,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        for account in self.store().owned_accounts(owner).await? {
            for attempt in 0..WRITE_ATTEMPTS {
                let Ok(old) = self.get_service_account(&account).await else {
                    break;
                };
                let owners = old
                    .profile
                    .service
                    .as_ref()
                    .map(|s| s.owners.clone())
                    .unwrap_or_default();
                let mut active = false;
                for other in owners.iter().filter_map(|o| UserId::parse(o)) {
                    if let Some(user) = self.store().get_user(&other).await? {
                        active |= user.user.active;
                    }
                }
                if old
                    .profile
                    .service
                    .as_ref()
                    .is_some_and(|s| s.orphaned != active)
                {
                    break;
                }
                let mut stored = old.clone();
                stored.profile.version += 1;
                stored.profile.modified_at = Some(now);
                if let Some(service) = stored.profile.service.as_mut() {
                    service.orphaned = !active;
                }
                match self.store().replace_principal(&stored, &old).await? {
                    PrincipalWrite::Written => {
                        tracing::info!(account = %account, orphaned = !active, "service account re-evaluated");
                        break;
                    }
                    _ => backoff(attempt + 1).await,
                }
            }
        }
        Ok(())
    }
}
