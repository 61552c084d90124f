//! patgate: personal access tokens for an API on AWS.
//!
//! This crate holds everything the functions share: the token format ([`token`]),
//! end-of-day expiry ([`expiry`]), users ([`user`]), role and route permissions
//! ([`permissions`]), DynamoDB storage ([`store`], item layout in [`store::items`]),
//! the token API's request and response types ([`api`]) and its one error type
//! ([`error`]), plus settings and clients built at cold start ([`config`], [`service`]).

pub mod api;
pub mod config;
pub mod error;
pub mod expiry;
pub mod permissions;
pub mod service;
pub mod store;
pub mod token;
pub mod user;
