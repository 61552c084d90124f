//! The authorizer events API Gateway sends, read into what a decision needs: REST
//! API REQUEST and TOKEN events (payload 1.0), and HTTP API REQUEST events (payload
//! 2.0), as `aws_lambda_events` types them.

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use http::HeaderMap;
use patgate::permissions::STAGE_VARIABLE;
use serde::Deserialize;
use serde_json::Value;

/// Longest user agent kept as a token's last-used origin.
pub const MAX_USER_AGENT_CHARS: usize = 256;

/// Header names are case-insensitive; `HeaderMap` keys are lower case.
const AUTHORIZATION: &str = "authorization";
const USER_AGENT: &str = "user-agent";

/// Which call is being authorized, as the event names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalledRoute {
    /// A REST API REQUEST event: the route template (`httpMethod`, `resource`).
    Rest {
        http_method: String,
        resource: String,
        stage_variable: Option<String>,
        api_id: Option<String>,
        method_arn: String,
    },
    /// An HTTP API REQUEST event (payload 2.0): the route key (`GET /items/{id}`).
    Http {
        route_key: String,
        /// The request's method (for an `ANY` route's policy resource).
        http_method: String,
        stage_variable: Option<String>,
        api_id: Option<String>,
        route_arn: String,
    },
    /// A REST API TOKEN event: only the called method ARN, no route, no stage variable.
    Token { method_arn: String },
}

/// The parts of an authorizer event the decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerCall {
    pub authorization: Option<String>,
    pub route: CalledRoute,
    /// The caller's address and user agent (REQUEST events only).
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// Reads an authorizer event as API Gateway sends it; `None` for anything else.
pub fn read_event(event: &Value) -> Option<AuthorizerCall> {
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        return read_http_event(event);
    }
    match event.get("type")?.as_str()? {
        "TOKEN" => {
            let request: ApiGatewayCustomAuthorizerRequest =
                Deserialize::deserialize(event).ok()?;
            Some(AuthorizerCall {
                authorization: request.authorization_token,
                route: CalledRoute::Token {
                    method_arn: request.method_arn?,
                },
                source_ip: None,
                user_agent: None,
            })
        }
        "REQUEST" => read_rest_event(event),
        _ => None,
    }
}

fn read_rest_event(event: &Value) -> Option<AuthorizerCall> {
    let request: ApiGatewayCustomAuthorizerRequestTypeRequest =
        Deserialize::deserialize(event).ok()?;
    let header = |name: &str| {
        header(&request.headers, name).or_else(|| header(&request.multi_value_headers, name))
    };
    let context = &request.request_context;
    let identity = context.identity.as_ref();
    let user_agent = header(USER_AGENT).or_else(|| {
        event
            .pointer("/requestContext/identity/userAgent")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let http_method = request
        .http_method
        .as_ref()
        .or(context.http_method.as_ref())?
        .as_str()
        .to_owned();
    let resource = request
        .resource
        .clone()
        .or_else(|| context.resource_path.clone())?;
    Some(AuthorizerCall {
        authorization: header(AUTHORIZATION),
        route: CalledRoute::Rest {
            http_method,
            resource,
            stage_variable: request.stage_variables.get(STAGE_VARIABLE).cloned(),
            api_id: context.apiid.clone(),
            method_arn: request.method_arn?,
        },
        source_ip: identity.and_then(|i| i.source_ip.clone()).map(cut_ip),
        user_agent: user_agent.map(cut_agent),
    })
}

fn read_http_event(event: &Value) -> Option<AuthorizerCall> {
    let request: ApiGatewayV2CustomAuthorizerV2Request = Deserialize::deserialize(event).ok()?;
    let http = &request.request_context.http;
    Some(AuthorizerCall {
        authorization: header(&request.headers, AUTHORIZATION),
        route: CalledRoute::Http {
            route_key: request
                .route_key
                .or_else(|| request.request_context.route_key.clone())?,
            http_method: http.method.as_str().to_owned(),
            stage_variable: request.stage_variables.get(STAGE_VARIABLE).cloned(),
            api_id: request.request_context.apiid.clone(),
            route_arn: request.route_arn?,
        },
        source_ip: http.source_ip.clone().map(cut_ip),
        user_agent: http
            .user_agent
            .clone()
            .or_else(|| header(&request.headers, USER_AGENT))
            .map(cut_agent),
    })
}

/// A header's value: UTF-8, not only visible ASCII (`to_str`), since user agents may
/// hold more.
fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| std::str::from_utf8(value.as_bytes()).ok())
        .map(str::to_owned)
}

fn cut_ip(ip: String) -> String {
    ip.chars().take(64).collect()
}

fn cut_agent(agent: String) -> String {
    agent.chars().take(MAX_USER_AGENT_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn token_events_carry_only_the_method_arn() {
        let token = json!({"type":"TOKEN","authorizationToken":"Bearer x","methodArn":"arn:a"});
        assert_eq!(
            read_event(&token),
            Some(AuthorizerCall {
                authorization: Some("Bearer x".into()),
                route: CalledRoute::Token {
                    method_arn: "arn:a".into()
                },
                source_ip: None,
                user_agent: None,
            })
        );
        assert_eq!(
            read_event(&json!({"type":"TOKEN","authorizationToken":"x"})),
            None
        );
        assert_eq!(read_event(&json!({"type":"OTHER"})), None);
    }

    #[test]
    fn rest_request_events_carry_the_route_template_and_stage_variable() {
        let request = json!({"type":"REQUEST","methodArn":"arn:b","httpMethod":"PUT",
            "resource":"/items/{id}","stageVariables":{"patgateApi":"orders","other":"x"},
            "headers":{"AUTHORIZATION":"Bearer y","User-Agent":"curl/8.5"},
            "requestContext":{"apiId":"a1b2c3d4e5","identity":{"sourceIp":"198.51.100.7"}}});
        let call = read_event(&request).unwrap();
        assert_eq!(call.authorization.as_deref(), Some("Bearer y"));
        assert_eq!(call.source_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(call.user_agent.as_deref(), Some("curl/8.5"));
        assert_eq!(
            call.route,
            CalledRoute::Rest {
                http_method: "PUT".into(),
                resource: "/items/{id}".into(),
                stage_variable: Some("orders".into()),
                api_id: Some("a1b2c3d4e5".into()),
                method_arn: "arn:b".into(),
            }
        );
        // The context's method and resource path stand in for missing top-level ones.
        let from_context = json!({"type":"REQUEST","methodArn":"arn:b","headers":{},
            "requestContext":{"httpMethod":"GET","resourcePath":"/x"}});
        let CalledRoute::Rest {
            http_method,
            resource,
            stage_variable,
            ..
        } = read_event(&from_context).unwrap().route
        else {
            panic!("REST")
        };
        assert_eq!((http_method.as_str(), resource.as_str()), ("GET", "/x"));
        assert_eq!(stage_variable, None);
        let no_route =
            json!({"type":"REQUEST","methodArn":"arn:b","headers":{},"requestContext":{}});
        assert_eq!(read_event(&no_route), None);
    }

    #[test]
    fn long_user_agents_are_cut_to_256_characters() {
        let agent = "é".repeat(300);
        let request = json!({"type":"REQUEST","methodArn":"arn:b","httpMethod":"GET","resource":"/",
            "headers":{"user-agent": agent},"requestContext":{"identity":{"userAgent":"ignored"}}});
        let call = read_event(&request).unwrap();
        assert_eq!(
            call.user_agent.unwrap().chars().count(),
            MAX_USER_AGENT_CHARS
        );
        let from_identity = json!({"type":"REQUEST","methodArn":"arn:b","httpMethod":"GET",
            "resource":"/","headers":{},"requestContext":{"identity":{"userAgent":"Mozilla/5.0"}}});
        assert_eq!(
            read_event(&from_identity).unwrap().user_agent.as_deref(),
            Some("Mozilla/5.0")
        );
    }

    #[test]
    fn http_api_events_carry_the_route_key() {
        let event = json!({"version":"2.0","type":"REQUEST",
            "routeArn":"arn:aws:execute-api:us-east-1:123456789012:x9y8z7w6v5/$default/DELETE/items/7",
            "identitySource":["Bearer z","DELETE /items/{id}"],"routeKey":"DELETE /items/{id}",
            "rawPath":"/items/7","headers":{"authorization":"Bearer z"},
            "requestContext":{"apiId":"x9y8z7w6v5","http":{"method":"DELETE","path":"/items/7",
                "sourceIp":"203.0.113.9","userAgent":"agent/1"},"routeKey":"DELETE /items/{id}",
                "stage":"$default","timeEpoch":1},
            "stageVariables":{"patgateApi":"orders"}});
        let call = read_event(&event).unwrap();
        assert_eq!(call.authorization.as_deref(), Some("Bearer z"));
        assert_eq!(call.source_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(call.user_agent.as_deref(), Some("agent/1"));
        let CalledRoute::Http {
            route_key,
            http_method,
            stage_variable,
            api_id,
            ..
        } = call.route
        else {
            panic!("HTTP")
        };
        assert_eq!(route_key, "DELETE /items/{id}");
        assert_eq!(http_method, "DELETE");
        assert_eq!(stage_variable.as_deref(), Some("orders"));
        assert_eq!(api_id.as_deref(), Some("x9y8z7w6v5"));
    }
}
