//! GitLab's token revocation API, as a self-managed GitLab instance calls it when its
//! secret detection finds tokens of this deployment: `GET /v1/revocable_token_types`
//! and `POST /v1/revoke_tokens`, served under `/integrations/gitlab`.
//!
//! - Authentication: the `Authorization` header carries the GitLab integration
//!   credential patgate issued (`POST /admin/integrations/gitlab/credential` or
//!   `patgate-users issue-credential gitlab`; DESIGN §9), as GitLab sends its
//!   pre-shared token: bare, or after `Bearer `. A string that is not a well-formed
//!   credential of kind `gitlab` is refused offline; a well-formed one costs one
//!   GetItem. Anything else: 401, before the body is read.
//! - `revocable_token_types`: `{"types": [TOKEN_TYPE]}`. GitLab names a finding's type
//!   after its secret detection rule (`gitleaks_rule_id_` + the rule's id in lower
//!   case, `_` for every other character): patgate's gitleaks rule
//!   (`infra/scanners/rules/gitleaks.toml`) has the id `patgate-personal-access-token`.
//! - `revoke_tokens`: a JSON array of `{"type", "token", "location"}` (other fields
//!   ignored), 1 to [`MAX_GITLAB_TOKENS`]. A body that is not that, or names another
//!   type: 400 (GitLab does not retry it). Otherwise 204, always: every string that is
//!   a live token of this deployment is revoked as `POST /credentials/revoke` would
//!   (reason `leaked`, `revoked_by` = `gitlab`), and the answer is the same whether
//!   the strings were live, revoked, expired, never issued or malformed, so it tells
//!   the caller nothing about which tokens exist (no oracle). Revoking twice is a no-op
//!   (idempotent, as GitLab requires). Rate limits are API Gateway's, per route
//!   (template parameters `GitLabRevocation*`): 429 beyond them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::credential::IntegrationSecret;
use crate::error::ApiError;
use crate::service::{LeakReporter, TokenService};
use crate::store::IntegrationKind;

/// The one token type patgate revokes, as GitLab names it.
pub const TOKEN_TYPE: &str = "gitleaks_rule_id_patgate_personal_access_token";
/// Most tokens in one request.
pub const MAX_GITLAB_TOKENS: usize = 1000;
/// Largest request body.
pub const MAX_GITLAB_BODY_BYTES: usize = 512 * 1024;

/// `GET /v1/revocable_token_types`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocableTokenTypes {
    pub types: Vec<&'static str>,
}

impl RevocableTokenTypes {
    pub fn patgate() -> Self {
        RevocableTokenTypes {
            types: vec![TOKEN_TYPE],
        }
    }
}

/// The strings of a `revoke_tokens` body, after its shape and types are checked.
pub fn parse_revoke_tokens(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let field = "body";
    if body.len() > MAX_GITLAB_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            max_bytes: MAX_GITLAB_BODY_BYTES,
        });
    }
    let parsed = crate::json::parse(body).map_err(|err| ApiError::InvalidJson(err.to_string()))?;
    if parsed.duplicate.is_some() {
        return Err(ApiError::invalid(
            field,
            "a key appears twice in one object",
        ));
    }
    let Value::Array(items) = parsed.value else {
        return Err(ApiError::invalid(field, "must be a JSON array of tokens"));
    };
    if items.is_empty() || items.len() > MAX_GITLAB_TOKENS {
        return Err(ApiError::invalid(
            field,
            format!("must hold 1 to {MAX_GITLAB_TOKENS} tokens"),
        ));
    }
    items
        .iter()
        .map(|item| {
            let text = |name: &str| item.get(name).and_then(Value::as_str);
            match (text("type"), text("token")) {
                (Some(TOKEN_TYPE), Some(token)) => Ok(token.to_owned()),
                (Some(_), Some(_)) => Err(ApiError::invalid(
                    "type",
                    format!("unsupported token type; revocable: {TOKEN_TYPE}"),
                )),
                _ => Err(ApiError::invalid(
                    field,
                    "each entry needs the strings `type` and `token`",
                )),
            }
        })
        .collect()
}

impl TokenService {
    /// Whether `authorization` (the header's value) carries a valid GitLab
    /// integration credential now: 401 otherwise.
    pub async fn check_gitlab_caller(
        &self,
        authorization: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let presented = authorization.map(|value| {
            let value = value.trim();
            crate::token::bearer_token(value).unwrap_or(value)
        });
        let Some(secret) = presented.and_then(|p| {
            IntegrationSecret::parse(&self.settings.token_prefix, IntegrationKind::Gitlab, p)
        }) else {
            return Err(ApiError::InvalidCredential("gitlab"));
        };
        match self.store.find_credential(&secret.hash()).await {
            Ok(Some(found)) if found.kind == IntegrationKind::Gitlab && found.is_valid(now) => {
                Ok(())
            }
            Ok(_) => Err(ApiError::InvalidCredential("gitlab")),
            Err(err) => Err(self.store_failed(err, now)),
        }
    }

    /// `POST /v1/revoke_tokens` once authenticated: revokes every live token among
    /// `tokens`; returns how many (logged, never answered).
    pub async fn revoke_gitlab_findings(
        &self,
        tokens: &[String],
        now: DateTime<Utc>,
    ) -> Result<usize, ApiError> {
        let hashes = tokens
            .iter()
            .filter_map(|text| self.settings.parse_token(text.trim()).ok())
            .map(|secret| secret.hash());
        let revoked = self
            .revoke_leaked_hashes(hashes, LeakReporter::GitLab, now)
            .await?;
        tracing::info!(
            reported = tokens.len(),
            revoked,
            "GitLab revocation request"
        );
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_gitlabs_array_of_typed_tokens() {
        let ok = format!(
            r#"[{{"type":"{TOKEN_TYPE}","token":"pgt_x","location":"https://e.com/f"}},
                {{"type":"{TOKEN_TYPE}","token":"anything","vulnerability":{{"id":1}}}}]"#
        );
        assert_eq!(
            parse_revoke_tokens(ok.as_bytes()).unwrap(),
            ["pgt_x", "anything"]
        );
        for (body, field) in [
            (r#"{"type":"x"}"#.to_owned(), "body"),
            ("[]".to_owned(), "body"),
            (r#"[{"token":"pgt_x"}]"#.to_owned(), "body"),
            (
                r#"[{"type":"gitleaks_rule_id_gitlab_personal_access_token","token":"glpat-x"}]"#
                    .to_owned(),
                "type",
            ),
            (
                format!(r#"[{{"type":"{TOKEN_TYPE}","token":"a","token":"b"}}]"#),
                "body",
            ),
        ] {
            match parse_revoke_tokens(body.as_bytes()) {
                Err(ApiError::InvalidField { field: f, .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: {other:?}"),
            }
        }
        assert!(matches!(
            parse_revoke_tokens(b"not json"),
            Err(ApiError::InvalidJson(_))
        ));
    }
}
