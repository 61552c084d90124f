//! Administrators' use cases over the whole organisation: who is one, the token
//! inventory and its summary, and the integration credentials.

use chrono::{DateTime, Duration, Utc};

use super::Directory;
use crate::api::admin::{
    InventoryPageView, InventoryQuery, InventorySummaryView, InventoryTokenView, IssuedCredential,
};
use crate::api::{wire_time, TokenView};
use crate::credential::IntegrationSecret;
use crate::error::ApiError;
use crate::store::{IntegrationKind, InventoryFilter};
use crate::user::{PrincipalKind, UserId};

/// The permission that makes a web session an administrator of the organisation.
pub const ADMIN_PERMISSION: &str = "patgate:admin";

/// How long a replaced integration credential keeps working.
pub const CREDENTIAL_GRACE: Duration = Duration::hours(1);

impl Directory {
    /// A web session's user, if their roles grant [`ADMIN_PERMISSION`] now.
    pub async fn admin(&self, caller: &UserId) -> Result<UserId, ApiError> {
        match self.store().get_user(caller).await? {
            Some(user)
                if user.user.active
                    && user.profile.kind == PrincipalKind::User
                    && self
                        .permissions()
                        .permissions_of(&user.user.roles)
                        .contains(ADMIN_PERMISSION) =>
            {
                Ok(caller.clone())
            }
            _ => Err(ApiError::Forbidden),
        }
    }

    /// One page of the organisation's tokens.
    pub async fn inventory(
        &self,
        query: &InventoryQuery,
        now: DateTime<Utc>,
    ) -> Result<InventoryPageView, ApiError> {
        let page = self
            .store()
            .inventory_page(&query.filter, query.limit, query.after.as_deref(), now)
            .await?;
        Ok(InventoryPageView {
            tokens: page
                .tokens
                .iter()
                .map(|row| InventoryTokenView {
                    token: TokenView::from(&row.token),
                    owner_id: row.token.user_id.as_str().to_owned(),
                    owner_kind: row.token.owner_kind.as_str(),
                    created_by: row.token.created_by.clone(),
                })
                .collect(),
            next_token: page.next,
        })
    }

    /// The inventory's counts, from its counters (one Query), for the partitions
    /// `filter`'s kind and scope select; 7 and 30 days ahead, 30 and 90 days idle,
    /// plus the days the filter asks for.
    pub async fn inventory_summary(
        &self,
        filter: &InventoryFilter,
        now: DateTime<Utc>,
    ) -> Result<InventorySummaryView, ApiError> {
        let counters = self.store().inventory_summary().await?.counters;
        let today = now.date_naive();
        let selected = counters.iter().filter(|c| {
            filter.owner_kind.is_none_or(|k| k == c.kind)
                && filter.scoped.is_none_or(|s| s == c.scoped)
        });
        let mut view = InventorySummaryView::default();
        let mut ahead = vec![7, 30];
        ahead.extend(filter.expiring_within_days);
        let mut idle = vec![30, 90];
        idle.extend(filter.unused_for_days);
        for counter in selected {
            match counter.idle_used {
                None if counter.day >= today => {
                    view.total += counter.count;
                    *view.by_owner_kind.entry(counter.kind.as_str()).or_default() += counter.count;
                    if counter.scoped {
                        view.scoped += counter.count;
                    } else {
                        view.unscoped += counter.count;
                    }
                    for days in &ahead {
                        let entry = view
                            .expiring_within_days
                            .entry(days.to_string())
                            .or_default();
                        if counter.day <= today + Duration::days(i64::from(*days)) {
                            *entry += counter.count;
                        }
                    }
                }
                None => {}
                Some(used) => {
                    if !used {
                        view.never_used += counter.count;
                    }
                    for days in &idle {
                        let entry = view.unused_for_days.entry(days.to_string()).or_default();
                        if counter.day < today - Duration::days(i64::from(*days)) {
                            *entry += counter.count;
                        }
                    }
                }
            }
        }
        for kind in [PrincipalKind::User, PrincipalKind::Service] {
            if filter.owner_kind.is_none_or(|k| k == kind) {
                view.by_owner_kind.entry(kind.as_str()).or_default();
            }
        }
        Ok(view)
    }

    /// Issues (or rotates) the credential of an integration: the new one works at
    /// once, the one it replaces for [`CREDENTIAL_GRACE`] more. The plaintext is in
    /// this answer only; only its SHA-256 is stored.
    pub async fn issue_credential(
        &self,
        kind: IntegrationKind,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedCredential, ApiError> {
        let secret = IntegrationSecret::generate(&self.tokens.settings.token_prefix, kind)
            .map_err(|_| ApiError::Internal)?;
        self.store()
            .rotate_credential(kind, &secret.hash(), CREDENTIAL_GRACE, now)
            .await?;
        tracing::info!(
            integration = kind.as_str(),
            issued_by = by,
            "integration credential issued"
        );
        Ok(IssuedCredential {
            kind: kind.as_str(),
            credential: secret.expose().to_owned(),
            previous_valid_until: wire_time(now + CREDENTIAL_GRACE),
        })
    }

    /// Whether `presented` is a valid credential of `kind` now (parsed offline first).
    pub async fn check_credential(
        &self,
        kind: IntegrationKind,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let Some(secret) =
            IntegrationSecret::parse(&self.tokens.settings.token_prefix, kind, presented)
        else {
            return Ok(false);
        };
        Ok(self
            .store()
            .find_credential(&secret.hash())
            .await?
            .is_some_and(|c| c.kind == kind && c.is_valid(now)))
    }
}
