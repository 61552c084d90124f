//! Integration credentials: bearer secrets patgate issues to an identity provider
//! (SCIM) or a secret scanner (GitLab). `{prefix}_{kind}_` + 43 base62 + a 6-character
//! CRC32 checksum, e.g. `pgt_scim_…`: the personal-token parser refuses one offline
//! (the `_` after `{prefix}_{kind}` is not base62, and the length differs), so the two
//! can never be confused. Stored as its SHA-256 only, like a token.

use std::fmt;

use crate::store::IntegrationKind;
use crate::token::{
    checksum, random_base62, RandomnessError, TokenHash, TokenPrefix, BODY_LEN, SECRET_LEN,
};

#[derive(Clone, PartialEq, Eq)]
pub struct IntegrationSecret(String);

impl fmt::Debug for IntegrationSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IntegrationSecret(<redacted>)")
    }
}

fn lead(prefix: &TokenPrefix, kind: IntegrationKind) -> String {
    format!("{}_{}_", prefix.as_str(), kind.as_str())
}

impl IntegrationSecret {
    pub fn generate(prefix: &TokenPrefix, kind: IntegrationKind) -> Result<Self, RandomnessError> {
        let mut text = lead(prefix, kind);
        text.push_str(&random_base62(SECRET_LEN)?);
        let sum = checksum(&text);
        text.push_str(&sum);
        Ok(IntegrationSecret(text))
    }

    /// Checks a presented string's shape and checksum. No I/O.
    pub fn parse(prefix: &TokenPrefix, kind: IntegrationKind, presented: &str) -> Option<Self> {
        let rest = presented.strip_prefix(&lead(prefix, kind))?;
        if rest.len() != BODY_LEN || !rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let (signed, sum) = presented.split_at(presented.len() - crate::token::CHECKSUM_LEN);
        (checksum(signed) == sum).then(|| IntegrationSecret(presented.to_owned()))
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }

    /// The plaintext, for the one answer that hands it out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::TokenSecret;

    #[test]
    fn integration_secrets_are_never_personal_tokens_and_the_reverse() {
        let prefix = TokenPrefix::default();
        let secret = IntegrationSecret::generate(&prefix, IntegrationKind::Scim).unwrap();
        assert!(secret.expose().starts_with("pgt_scim_"));
        assert!(
            IntegrationSecret::parse(&prefix, IntegrationKind::Scim, secret.expose()).is_some()
        );
        assert!(
            IntegrationSecret::parse(&prefix, IntegrationKind::Gitlab, secret.expose()).is_none()
        );
        assert!(TokenSecret::parse(&prefix, secret.expose()).is_err());
        let token = TokenSecret::generate(&prefix).unwrap();
        assert!(IntegrationSecret::parse(&prefix, IntegrationKind::Scim, token.expose()).is_none());
        let mut tampered = secret.expose().to_owned();
        tampered.replace_range(12..13, if &tampered[12..13] == "a" { "b" } else { "a" });
        assert!(IntegrationSecret::parse(&prefix, IntegrationKind::Scim, &tampered).is_none());
        assert!(!format!("{secret:?}").contains(secret.expose()));
    }
}
