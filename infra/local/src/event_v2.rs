//! The events an HTTP API (API Gateway v2) sends to Lambda, payload format 2.0: the
//! proxy integration event (shape of tests/fixtures/events/http-api-proxy.json, from
//! `sam local generate-event apigateway http-api-proxy`) and the Lambda authorizer's
//! REQUEST event (http-api-authorizer-v2.json, `aws_lambda_events`'
//! `ApiGatewayV2CustomAuthorizerV2Request`), built from an HTTP request.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use chrono::{DateTime, Utc};
use lambda_http::request::LambdaRequest;
use serde_json::{json, Map, Value};

use crate::event::{query_pairs, ApiIdentity, HttpCall};

impl ApiIdentity {
    /// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}`: an HTTP
    /// API's `routeArn` of a call (its method and path as called).
    pub fn route_arn(&self, method: &str, raw_path: &str) -> String {
        self.method_arn(method, raw_path)
    }
}

/// `GET /items/{itemId}`: the route key of a route (its method may be `ANY`).
pub fn route_key(method: &str, path: &str) -> String {
    format!("{method} {path}")
}

/// `{name: values joined by ","}` with lower-case names, as an HTTP API sends
/// headers and query parameters; `None` when there are none.
fn joined(pairs: impl Iterator<Item = (String, String)>, lower_case: bool) -> Option<Value> {
    let mut map: Map<String, Value> = Map::new();
    for (name, value) in pairs {
        let name = if lower_case {
            name.to_ascii_lowercase()
        } else {
            name
        };
        match map.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                map.insert(name, Value::String(value));
            }
        }
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

/// The payload 2.0 proxy event for `call` on the route `route_key`, without
/// `requestContext.authorizer` ([`crate::event::set_authorizer`] adds it).
pub fn http_proxy_event(
    api: &ApiIdentity,
    call: &HttpCall<'_>,
    route_key: &str,
    path_params: &[(String, String)],
    request_id: &str,
    now: DateTime<Utc>,
) -> Value {
    // Cookies travel in `cookies`, not as a header.
    let cookies: Vec<String> = call
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';').map(|c| c.trim().to_owned()))
        .filter(|c| !c.is_empty())
        .collect();
    let headers = joined(
        call.headers
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("cookie"))
            .map(|(k, v)| (k.clone(), v.clone())),
        true,
    );
    let user_agent = call
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": call.raw_path,
        "rawQueryString": call.raw_query.unwrap_or(""),
        "headers": headers.unwrap_or_else(|| json!({})),
        "requestContext": {
            "accountId": api.account_id,
            "apiId": api.api_id,
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": call.method,
                "path": call.raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": call.source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": api.stage,
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    let Value::Object(fields) = &mut event else {
        return event;
    };
    if !cookies.is_empty() {
        fields.insert("cookies".to_owned(), json!(cookies));
    }
    if let Some(query) = joined(query_pairs(call.raw_query).into_iter(), false) {
        fields.insert("queryStringParameters".to_owned(), query);
    }
    if !path_params.is_empty() {
        let params: Map<String, Value> = path_params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        fields.insert("pathParameters".to_owned(), Value::Object(params));
    }
    if !api.stage_variables.is_empty() {
        fields.insert("stageVariables".to_owned(), json!(api.stage_variables));
    }
    if let Some(body) = &call.body {
        fields.insert("body".to_owned(), json!(body));
    }
    event
}

/// The Lambda authorizer's payload 2.0 REQUEST event of a call, derived from its proxy
/// event (without the body), with `type`, `routeArn` and `identitySource` (the
/// identity sources' values, in their order).
pub fn http_authorizer_event(proxy: &Value, route_arn: &str, identity_source: &[String]) -> Value {
    let mut event = proxy.clone();
    let Value::Object(fields) = &mut event else {
        return event;
    };
    for proxy_only in ["body", "isBase64Encoded"] {
        fields.remove(proxy_only);
    }
    fields.insert("type".to_owned(), json!("REQUEST"));
    fields.insert("routeArn".to_owned(), json!(route_arn));
    fields.insert("identitySource".to_owned(), json!(identity_source));
    event
}

/// The function's request for a payload 2.0 proxy event, as `lambda_http` builds it.
pub fn lambda_request_v2(event: Value) -> Result<lambda_http::Request, serde_json::Error> {
    let proxy: ApiGatewayV2httpRequest = serde_json::from_value(event)?;
    Ok(LambdaRequest::ApiGatewayV2(proxy).into())
}

#[cfg(test)]
mod tests;
