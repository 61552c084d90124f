//! User records: who may hold tokens, with which roles, in which time zone.
//! The web product's user directory feeds them (the admin API, SCIM and
//! `infra/users`, all through [`crate::directory`]). A service account is a principal
//! too: a non-human owner of tokens, with an id starting with [`SERVICE_ACCOUNT_PREFIX`].

use chrono_tz::Tz;

/// The caller's id as the identity provider gives it (a Cognito `sub`, for example).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

impl UserId {
    /// 1 to 128 visible characters; `#` is kept out because it separates key parts.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.chars().count() <= 128
            && raw
                .chars()
                .all(|c| !c.is_control() && !c.is_whitespace() && c != '#');
        ok.then(|| UserId(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Ids of service accounts start with this; no user id may.
pub const SERVICE_ACCOUNT_PREFIX: &str = "svc_";

impl UserId {
    /// A new service account id: [`SERVICE_ACCOUNT_PREFIX`] and a ULID.
    pub fn new_service_account(now_millis: u64) -> Result<Self, crate::token::RandomnessError> {
        let ulid = crate::token::TokenId::generate(now_millis)?;
        Ok(UserId(format!("{SERVICE_ACCOUNT_PREFIX}{}", ulid.as_str())))
    }

    /// Whether the id is a service account's (`svc_` + 26 characters of a ULID).
    pub fn is_service_account(&self) -> bool {
        self.0
            .strip_prefix(SERVICE_ACCOUNT_PREFIX)
            .is_some_and(|rest| crate::token::TokenId::parse(rest).is_some())
    }

    /// Whether a user write may use this id: any id that does not claim the service
    /// accounts' prefix.
    pub fn may_be_a_user(&self) -> bool {
        !self.0.starts_with(SERVICE_ACCOUNT_PREFIX)
    }
}

/// What kind of owner of tokens a principal is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrincipalKind {
    /// A person, fed by the product's directory or its identity provider.
    #[default]
    User,
    /// A non-human owner: automation that outlives any one person.
    Service,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Service => "service",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "user" => Some(PrincipalKind::User),
            "service" => Some(PrincipalKind::Service),
            _ => None,
        }
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// Role names, e.g. `Viewer`; what they grant is in the permission configuration.
    pub roles: Vec<String>,
    /// The zone on the user's record, used when the web UI sends none.
    pub time_zone: Option<Tz>,
    /// A deactivated user's tokens authenticate nothing, and they may not create more.
    pub active: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_reject_key_separators_and_blank_values() {
        assert!(UserId::parse("3f1c9a7e-0b7d-4c55-9d3e-2a1b0c9d8e7f").is_some());
        assert!(UserId::parse("alice@example.com").is_some());
        for bad in ["", "a#b", "with space", "tab\t", &"x".repeat(129)] {
            assert!(UserId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn service_account_ids_carry_their_prefix_and_users_may_not() {
        let id = UserId::new_service_account(1_795_600_000_000).unwrap();
        assert!(id.as_str().starts_with("svc_") && id.is_service_account());
        assert!(!id.may_be_a_user());
        let squatter = UserId::parse("svc_alice").unwrap();
        assert!(!squatter.is_service_account() && !squatter.may_be_a_user());
        assert!(UserId::parse("alice").unwrap().may_be_a_user());
        for kind in [PrincipalKind::User, PrincipalKind::Service] {
            assert_eq!(PrincipalKind::parse(kind.as_str()), Some(kind));
        }
    }
}
