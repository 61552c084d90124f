//! The answer for a valid token on one call: which table and route the call belongs
//! to, whether the token's permissions cover it, and the response that says so for
//! that one route. Pure: the token was read and checked before.
//!
//! - REST REQUEST: the table the stage variable `patgateApi` names (and whose `apiIds`,
//!   if any, list the event's API id); the route `httpMethod` + `resource`, exactly;
//!   a policy for `{base}/{METHOD}/{resource with * per parameter}`.
//! - HTTP API REQUEST: the same table rule; the route key, exactly; a simple response
//!   or a policy for the route, per the table's `httpApiResponse`.
//! - TOKEN: no stage variable and no route in the event: the table that lists the
//!   method ARN's API id, the most specific route the called path fits, and a policy
//!   for that one called ARN only (so a cached answer could never cover another call).
//!
//! Anything not found is a Deny, never an Allow.

use std::collections::BTreeSet;

use patgate::permissions::routes::resource_suffix;
use patgate::permissions::{
    Effect, ExecuteApiArn, HttpApiResponse, PermissionConfig, PolicyDocument,
};

use crate::event::CalledRoute;
use crate::response::{AuthorizerContext, AuthorizerResponse, PolicyResponse, SimpleResponse};

/// The response, and why (for the decision log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub response: AuthorizerResponse,
    pub reason: &'static str,
}

pub const GRANTED: &str = "valid_token";
pub const NOT_GRANTED: &str = "permission_not_granted";
pub const UNLISTED_ROUTE: &str = "unlisted_route";
/// A TOKEN event whose API id no table lists.
pub const NO_TABLE_FOR_API_ID: &str = "no_table_for_api_id";
/// A method ARN that cannot be read, or whose path holds a policy wildcard.
pub const MALFORMED_ARN: &str = "malformed_arn";

/// Decides a valid token's call: `principal` (its user) holding `granted`.
pub fn verdict(
    config: &PermissionConfig,
    route: &CalledRoute,
    principal: &str,
    granted: &BTreeSet<String>,
    context: AuthorizerContext,
) -> Verdict {
    let policy = |effect: Effect, resource: String, reason: &'static str| Verdict {
        response: AuthorizerResponse::Policy(PolicyResponse {
            principal_id: principal.to_owned(),
            policy_document: PolicyDocument::single(effect, resource),
            context: context.clone(),
        }),
        reason,
    };
    let effect = |allowed: bool| match allowed {
        true => (Effect::Allow, GRANTED),
        false => (Effect::Deny, NOT_GRANTED),
    };
    match route {
        CalledRoute::Rest {
            http_method,
            resource,
            stage_variable,
            api_id,
            method_arn,
        } => {
            let Some(arn) = ExecuteApiArn::parse(method_arn) else {
                return policy(Effect::Deny, method_arn.clone(), MALFORMED_ARN);
            };
            let route_resource = format!("{}/{}", arn.base, resource_suffix(http_method, resource));
            let table = match config.table_for(stage_variable.as_deref(), api_id.as_deref()) {
                Ok(table) => table,
                Err(miss) => return policy(Effect::Deny, route_resource, miss.reason()),
            };
            match table.rest_route(http_method, resource) {
                None => policy(Effect::Deny, route_resource, UNLISTED_ROUTE),
                Some(found) => {
                    let (effect, reason) = effect(found.allows(granted));
                    policy(effect, route_resource, reason)
                }
            }
        }
        CalledRoute::Http {
            route_key,
            http_method,
            stage_variable,
            api_id,
            route_arn,
        } => {
            let found = config.table_for(stage_variable.as_deref(), api_id.as_deref());
            // An unknown API has no mode of its own: simple, the default.
            let mode = found
                .as_ref()
                .map(|t| t.http_api_response)
                .unwrap_or(HttpApiResponse::Simple);
            let (allowed, reason) = match found {
                Err(miss) => (false, miss.reason()),
                Ok(table) => match table.http_route(route_key) {
                    None => (false, UNLISTED_ROUTE),
                    Some(found) => match found.allows(granted) {
                        true => (true, GRANTED),
                        false => (false, NOT_GRANTED),
                    },
                },
            };
            match mode {
                HttpApiResponse::Simple => Verdict {
                    response: AuthorizerResponse::Simple(SimpleResponse {
                        is_authorized: allowed,
                        context,
                    }),
                    reason,
                },
                HttpApiResponse::Iam => {
                    let Some(arn) = ExecuteApiArn::parse(route_arn) else {
                        return policy(Effect::Deny, route_arn.clone(), MALFORMED_ARN);
                    };
                    let resource = match route_key.split_once(' ') {
                        Some((method, path)) => {
                            let method = if method == "ANY" { http_method } else { method };
                            format!("{}/{}", arn.base, resource_suffix(method, path))
                        }
                        None => format!("{}/*", arn.base),
                    };
                    let effect = if allowed { Effect::Allow } else { Effect::Deny };
                    policy(effect, resource, reason)
                }
            }
        }
        CalledRoute::Token { method_arn } => {
            let arn = match ExecuteApiArn::parse(method_arn) {
                Some(arn) if !arn.path.contains(['*', '?']) => arn,
                _ => return policy(Effect::Deny, method_arn.clone(), MALFORMED_ARN),
            };
            let Some(table) = config.table_listing(arn.api_id) else {
                return policy(Effect::Deny, method_arn.clone(), NO_TABLE_FOR_API_ID);
            };
            match table.route_of_call(arn.method, arn.path) {
                None => policy(Effect::Deny, method_arn.clone(), UNLISTED_ROUTE),
                Some(found) => {
                    let (effect, reason) = effect(found.allows(granted));
                    policy(effect, method_arn.clone(), reason)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
