//! User records: who may hold tokens, with which roles, in which time zone.
//! The web product's user directory feeds them (see `infra/users`).

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
}
