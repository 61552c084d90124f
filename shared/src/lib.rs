//! patgate: personal access tokens for an API on AWS.
//!
//! This crate holds everything the functions share:
//! - the domain: the token format ([`token`]), end-of-day expiry ([`expiry`]), expiry
//!   reminders ([`reminders`]), users ([`user`]), role, scope and route permissions
//!   ([`permissions`]);
//! - storage: [`store`], with the item layout in [`store::items`];
//! - the token API: its use cases ([`service`]), wire format ([`api`], strict JSON in
//!   [`json`]) and its one error type ([`error`]);
//! - the user directory: users, service accounts, the inventory and integration
//!   credentials ([`directory`], [`credential`]), and SCIM 2.0 ([`scim`]);
//! - GitHub's signed secret scanning alerts ([`github`]);
//! - lifecycle events ([`events`]) and operational metrics ([`metrics`]);
//! - settings read at cold start ([`config`]) and the AWS SDK configuration
//!   ([`sdk_config`]).
// No unsafe code here or in the functions: their Lambda bootstraps are position-
// dependent executables (.cargo/config.toml), without ASLR of their own code.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod credential;
pub mod directory;
pub mod error;
pub mod events;
pub mod expiry;
pub mod github;
pub mod json;
pub mod logging;
pub mod metrics;
pub mod permissions;
pub mod reminders;
pub mod scim;
pub mod sdk_config;
pub mod service;
pub mod store;
pub mod token;
pub mod user;
