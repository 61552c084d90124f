//! patgate-local: the whole service on one machine, for development only.
//!
//! The binary (`src/main.rs`) starts DynamoDB Local, creates the table from
//! template.yaml, seeds demo users and serves a local API Gateway whose routes and
//! authorizers come from template.yaml, calling the real handler and authorizer
//! functions in-process. The library holds its parts, so that the tests read the same
//! template, create the same table and start DynamoDB Local the same way.

pub mod answers;
pub mod authz;
pub mod cfn;
pub mod cli;
pub mod demo;
pub mod dynamodb;
pub mod event;
pub mod event_v2;
pub mod functions;
pub mod gateway;
pub mod lifecycle;
pub mod local_routes;
pub mod management;
pub mod response;
pub mod revocation;
pub mod routes;
pub mod sam;
pub mod session;
pub mod sigv4;
pub mod stack;
pub mod streams;
pub mod summary;
pub mod table;
pub mod ttl;
pub mod web;

use std::path::{Path, PathBuf};

/// The repository this crate was built from (template.yaml, infra/).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}
