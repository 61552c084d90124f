//! Integration credentials: the bearer secrets patgate issues to an identity
//! provider (SCIM) or a secret scanner (GitLab), stored hashed as tokens are, on
//! items of their own (`CRED#`), so that they can never pass for a personal token.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use super::client::{classify, classify_transaction, internal};
use super::items::{self, number};
use super::{StoreError, TokenStore};
use crate::token::TokenHash;

/// Which integration a credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationKind {
    Scim,
    Gitlab,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Scim => "scim",
            IntegrationKind::Gitlab => "gitlab",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "scim" => Some(IntegrationKind::Scim),
            "gitlab" => Some(IntegrationKind::Gitlab),
            _ => None,
        }
    }
}

/// A stored credential: its integration, and until when it authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialRecord {
    pub kind: IntegrationKind,
    /// Epoch seconds.
    pub valid_until: i64,
}

impl CredentialRecord {
    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        now.timestamp() < self.valid_until
    }
}

/// A current credential stays valid until replaced; its item is kept this long at most.
const CURRENT_VALIDITY: chrono::Duration = chrono::Duration::days(3650);

impl TokenStore {
    /// Makes `hash` the current credential of `kind`, and retires the one it replaces
    /// (valid for `grace` more), in one transaction: a lost race with another rotation
    /// fails (`Unavailable`) rather than leaving two current credentials.
    pub async fn rotate_credential(
        &self,
        kind: IntegrationKind,
        hash: &TokenHash,
        grace: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let pointer = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::integration_key(kind)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?
            .item;
        let previous = pointer.as_ref().and_then(items::integration_current);
        let put = |item, condition: Option<String>| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .set_condition_expression(condition)
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(internal)
        };
        let valid_until = (now + CURRENT_VALIDITY).timestamp();
        let mut writes = vec![
            put(
                items::credential_item(kind, hash, valid_until),
                Some("attribute_not_exists(pk)".into()),
            )?,
            match &previous {
                Some(old) => Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(items::integration_item(kind, hash, Some(old))))
                    .condition_expression("#hash = :old")
                    .expression_attribute_names("#hash", "hash")
                    .expression_attribute_values(":old", items::string(old.as_str()))
                    .build()
                    .map(|p| TransactWriteItem::builder().put(p).build())
                    .map_err(internal)?,
                None => put(
                    items::integration_item(kind, hash, None),
                    Some("attribute_not_exists(pk)".into()),
                )?,
            },
        ];
        if let Some(old) = previous.map(TokenHash::from_stored) {
            let until = (now + grace).timestamp();
            // An old credential already past the grace (or gone) needs no retiring.
            let live = self.find_credential(&old).await?;
            if live.is_some_and(|c| c.valid_until > until) {
                let retire = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(items::credential_key(&old)))
                    .update_expression("SET valid_until = :until, delete_after = :until")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_values(":until", number(until))
                    .build()
                    .map_err(internal)?;
                writes.push(TransactWriteItem::builder().update(retire).build());
            }
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send()
            .await
            .map_err(classify_transaction)?;
        Ok(())
    }

    /// The credential with this hash, strongly consistent.
    pub async fn find_credential(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<CredentialRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(items::credential_key(hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output
            .item
            .as_ref()
            .map(items::credential_from_item)
            .transpose()
    }
}
