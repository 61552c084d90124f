//! DynamoDB storage of users, hashed tokens and reminders, behind [`TokenStore`].
//!
//! Each concern has its own file: user records, and keeping their roles on their
//! tokens' hash items ([`users`]),
//! token creation, listing, revocation and rotation ([`tokens`]), the authorizer's
//! lookups and last-use writes ([`lookups`]), the reminder queue ([`reminder_queue`]),
//! principals beyond their access (SCIM attributes, service accounts, the userName
//! index and the directory index: [`principals`]), the organisation's inventory
//! ([`inventory`]) integration credentials ([`credentials`]) and the GitHub replay marker
//! ([`replay`]).
//! Marshalling lives in [`items`] only; the client and error sorting in [`client`].

pub mod client;
mod credentials;
mod idempotency;
pub mod inventory;
pub mod items;
mod lookups;
mod principals;
mod reminder_queue;
mod replay;
mod rotation;
mod settle;
mod tokens;
mod users;

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};

use crate::expiry::Expiry;
use crate::token::{TokenHash, TokenId};
use crate::user::{PrincipalKind, User, UserId};

pub use client::{classify, connect, connect_local, local_config, StoreError};
pub use credentials::{CredentialRecord, IntegrationKind};
pub use inventory::{InventoryFilter, InventoryPage, InventoryRow, InventorySummary};
pub use lookups::LastUseWrite;
pub use principals::PrincipalWrite;
pub use principals::{Email, Profile, ScimAttributes, ServiceAccount, TokenAccess};
pub use reminder_queue::Claim;
pub use rotation::HANDOVER;
pub use tokens::{CreateTokenError, Page, RevokeOutcome, Revoker, RotateOutcome, Rotation};

#[derive(Debug, Clone)]
pub struct TokenStore {
    client: Client,
    table: String,
}

impl TokenStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        TokenStore {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client (the local stack's TTL sweeper reuses it).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// A user record as stored: the user, and the version of their roles and active
/// flag, bumped by every change of either (their hash items carry the version they
/// were last brought in step with).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    pub user: User,
    pub access_version: u64,
    /// Everything else of the record (kind, fan-out progress, SCIM attributes, a
    /// service account's details).
    pub profile: Profile,
}

/// A token's metadata, as stored. The plaintext is never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub description: Option<String>,
    /// Hash of the current secret.
    pub hash: TokenHash,
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub expiry: Expiry,
    /// The permissions the token is limited to; `None` means all of its user's.
    pub permissions: Option<BTreeSet<String>>,
    pub rotated_at: Option<DateTime<Utc>>,
    /// The secret replaced by the last rotation, which may still be in its grace period.
    pub previous_hash: Option<TokenHash>,
    /// The token's pending reminder items, so that revoke and rotate delete exactly those.
    pub reminders: Vec<ReminderKey>,
    pub last_use: Option<LastUse>,
    /// When a secret this token had before a rotation was last presented after its grace.
    pub secret_reused_at: Option<DateTime<Utc>>,
    /// Which secret the token has: 1 at creation, one more at every rotation (or
    /// re-issue), so that every change of secret is told apart, even two in a second.
    pub secret_version: u64,
    /// A person's token or a service account's.
    pub owner_kind: PrincipalKind,
    /// Permissions the token relied on that its owner's roles no longer grant, with
    /// when they were lost (drift), kept by the fan-out of each role change.
    pub permissions_lost: BTreeMap<String, DateTime<Utc>>,
    /// Who created a service account's token (an administrator).
    pub created_by: Option<String>,
}

impl TokenRecord {
    /// Not past its expiry, whether or not TTL has removed it yet. (Revoked tokens are
    /// [`RevokedToken`]s, never `TokenRecord`s.)
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expiry.expires_at
    }
}

/// The last recorded use of a token, as the authorizer saw the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastUse {
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Why a token was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// Its owner revoked it.
    User,
    /// Its secret was reported as leaked (`POST /credentials/revoke`).
    Leaked,
    /// Its owner left: all their tokens were revoked at once.
    Offboarded,
    /// An administrator revoked it (`revoked_by` says who).
    Admin,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::User => "user",
            RevokeReason::Leaked => "leaked",
            RevokeReason::Offboarded => "offboarded",
            RevokeReason::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            RevokeReason::User,
            RevokeReason::Leaked,
            RevokeReason::Offboarded,
            RevokeReason::Admin,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
    }
}

/// A revoked token, kept for [`items::REVOKED_RETENTION`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedToken {
    pub token: TokenRecord,
    pub revoked_at: DateTime<Utc>,
    pub reason: RevokeReason,
    /// Who revoked it, when not its owner: an administrator's user id or IAM ARN.
    pub revoked_by: Option<String>,
    /// The administrator's reason, as they wrote it.
    pub note: Option<String>,
}

/// What the authorizer learns from a secret's hash, in one read: the token, and its
/// owner's roles and active flag as they are now (kept in step by every user write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashRecord {
    pub user_id: UserId,
    pub token_id: TokenId,
    /// After this instant the secret authenticates nothing.
    pub valid_until: DateTime<Utc>,
    /// The secret was replaced by a rotation (and `valid_until` ends its grace).
    pub rotated_out: bool,
    /// The token's own permission list; `None` for all of its user's.
    pub permissions: Option<BTreeSet<String>>,
    pub roles: Vec<String>,
    pub active: bool,
    /// The token's name and this secret's hint (empty on items written before they
    /// were kept here).
    pub name: String,
    pub hint: String,
    /// The token's expiry (not this secret's grace: that is `valid_until`).
    pub expires_at: DateTime<Utc>,
    /// Which secret of the token this is: 1 at creation, +1 per rotation.
    pub secret_version: u64,
    pub owner_kind: PrincipalKind,
}

/// A creation's idempotency key, kept a day with the token it created: a retry with
/// the same key and the same request gets that token back (with its secret re-issued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub user_id: UserId,
    /// SHA-256 (hex) of the `Idempotency-Key` header.
    pub key_hash: String,
    pub token_id: TokenId,
    /// SHA-256 (hex) of the request as read (see `api::CreateTokenRequest::digest`).
    pub request_hash: String,
    pub created_at: DateTime<Utc>,
}

/// Where a reminder item lives: the UTC hour it falls due in, its token, and how many
/// days before the token's last day it goes out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReminderKey {
    pub hour: String,
    pub token_id: TokenId,
    pub days_left: u32,
}

/// A pending expiry reminder, with what its event says about the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub key: ReminderKey,
    pub user_id: UserId,
    pub name: String,
    pub hint: String,
    pub due_at: DateTime<Utc>,
    pub expiry: Expiry,
}
