//! The events API Gateway (REST API, v1) sends to Lambda, built from an HTTP request:
//! the Lambda proxy integration event (shape of tests/fixtures/events/aws-proxy.json),
//! and the REQUEST and TOKEN authorizer events (authorizer-request.json,
//! authorizer-token.json).

use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

/// Identifiers of the local API, used in request contexts and method ARNs.
#[derive(Debug, Clone)]
pub struct ApiIdentity {
    pub api_id: String,
    pub stage: String,
    pub region: String,
    pub account_id: String,
}

impl ApiIdentity {
    /// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{METHOD}/{path}` for a
    /// request path such as `/catalog/svc-1`.
    pub fn method_arn(&self, method: &str, raw_path: &str) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
            self.region,
            self.account_id,
            self.api_id,
            self.stage,
            method,
            raw_path.trim_start_matches('/')
        )
    }
}

/// What the proxy event is built from.
#[derive(Debug, Clone)]
pub struct HttpCall<'a> {
    pub method: &'a str,
    /// Path as received (percent-encoded), starting with `/`.
    pub raw_path: &'a str,
    /// Query string as received, without `?`.
    pub raw_query: Option<&'a str>,
    /// Headers in arrival order; a name may repeat.
    pub headers: &'a [(String, String)],
    pub body: Option<String>,
    pub source_ip: &'a str,
}

/// The TOKEN authorizer event for the identity source value `token`.
pub fn token_authorizer_event(token: &str, method_arn: &str) -> Value {
    json!({
        "type": "TOKEN",
        "authorizationToken": token,
        "methodArn": method_arn,
    })
}

/// The REQUEST authorizer event for `call` on the resource `resource_path`: the
/// request's headers, query, path parameters and context (source IP, user agent).
pub fn request_authorizer_event(
    api: &ApiIdentity,
    call: &HttpCall<'_>,
    (resource_path, path_params): (&str, &[(String, String)]),
    method_arn: &str,
    request_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let mut event = proxy_event(api, call, resource_path, path_params, None, request_id, now);
    let Value::Object(fields) = &mut event else {
        return event;
    };
    for proxy_only in ["body", "isBase64Encoded"] {
        fields.remove(proxy_only);
    }
    fields.insert("type".to_owned(), json!("REQUEST"));
    fields.insert("methodArn".to_owned(), json!(method_arn));
    event
}

/// The Lambda proxy integration event for `call` on the resource `resource_path`.
pub fn proxy_event(
    api: &ApiIdentity,
    call: &HttpCall<'_>,
    resource_path: &str,
    path_params: &[(String, String)],
    authorizer: Option<Value>,
    request_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let (headers, multi_headers) =
        single_and_multi(call.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    let (query, multi_query) = single_and_multi(query_pairs(call.raw_query).into_iter());
    let path_parameters = if path_params.is_empty() {
        Value::Null
    } else {
        Value::Object(
            path_params
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    let mut request_context = request_context(api, call, resource_path, request_id, now);
    if let Some(authorizer) = authorizer {
        request_context["authorizer"] = authorizer;
    }
    json!({
        "resource": resource_path,
        "path": call.raw_path,
        "httpMethod": call.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters,
        "stageVariables": null,
        "requestContext": request_context,
        "body": call.body,
        "isBase64Encoded": false,
    })
}

/// `a=1&b=x%20y` → `[("a", "1"), ("b", "x y")]`.
fn query_pairs(raw_query: Option<&str>) -> Vec<(String, String)> {
    raw_query
        .filter(|q| !q.is_empty())
        .map(|q| {
            q.split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(k), decode(v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The event's `requestContext`, without `authorizer`.
fn request_context(
    api: &ApiIdentity,
    call: &HttpCall<'_>,
    resource_path: &str,
    request_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let user_agent = call
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| Value::String(v.clone()))
        .unwrap_or(Value::Null);
    json!({
        "accountId": api.account_id,
        "resourceId": resource_id(resource_path),
        "stage": api.stage,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTime": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
        "requestTimeEpoch": now.timestamp_millis(),
        "identity": {
            "cognitoIdentityPoolId": null,
            "accountId": null,
            "cognitoIdentityId": null,
            "caller": null,
            "accessKey": null,
            "sourceIp": call.source_ip,
            "cognitoAuthenticationType": null,
            "cognitoAuthenticationProvider": null,
            "userArn": null,
            "userAgent": user_agent,
            "user": null
        },
        "path": format!("/{}{}", api.stage, call.raw_path),
        "resourcePath": resource_path,
        "httpMethod": call.method,
        "apiId": api.api_id,
        "protocol": "HTTP/1.1",
        "domainName": "localhost",
    })
}

/// `{name: last value}` and `{name: [values]}`, or nulls when there are none, as API
/// Gateway sends headers and query parameters.
fn single_and_multi(pairs: impl Iterator<Item = (String, String)>) -> (Value, Value) {
    let mut single = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in pairs {
        single.insert(name.clone(), Value::String(value.clone()));
        match multi.get_mut(&name) {
            Some(Value::Array(values)) => values.push(Value::String(value)),
            _ => {
                multi.insert(name, Value::Array(vec![Value::String(value)]));
            }
        }
    }
    if single.is_empty() {
        (Value::Null, Value::Null)
    } else {
        (Value::Object(single), Value::Object(multi))
    }
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// A stable short id per resource path, like API Gateway's resource ids.
fn resource_id(resource_path: &str) -> String {
    let hash = resource_path
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    format!("{:06x}", hash & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::request::RequestContext;
    use lambda_http::RequestExt;

    fn api() -> ApiIdentity {
        ApiIdentity {
            api_id: "local".into(),
            stage: "v1".into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
        }
    }

    #[test]
    fn method_arns_have_api_gateway_shape() {
        assert_eq!(
            api().method_arn("GET", "/catalog/svc-1"),
            "arn:aws:execute-api:us-east-1:123456789012:local/v1/GET/catalog/svc-1"
        );
        let event = token_authorizer_event("Bearer x", &api().method_arn("GET", "/catalog"));
        assert_eq!(event["type"], "TOKEN");
        assert_eq!(event["authorizationToken"], "Bearer x");
    }

    #[test]
    fn the_proxy_event_converts_to_a_lambda_http_request() {
        let headers = vec![
            ("content-type".to_owned(), "application/json".to_owned()),
            ("x-multi".to_owned(), "a".to_owned()),
            ("x-multi".to_owned(), "b".to_owned()),
            ("host".to_owned(), "127.0.0.1:3000".to_owned()),
        ];
        let call = HttpCall {
            method: "DELETE",
            raw_path: "/tokens/01J%20X",
            raw_query: Some("a=1&a=2&b=x%20y"),
            headers: &headers,
            body: Some("{}".into()),
            source_ip: "127.0.0.1",
        };
        let authorizer = json!({"claims": {"sub": "demo-user"}});
        let params = vec![("id".to_owned(), "01J X".to_owned())];
        let event = proxy_event(
            &api(),
            &call,
            "/tokens/{id}",
            &params,
            Some(authorizer),
            "req-1",
            Utc::now(),
        );
        assert_eq!(event["multiValueHeaders"]["x-multi"], json!(["a", "b"]));
        assert_eq!(event["headers"]["x-multi"], "b");
        assert_eq!(
            event["queryStringParameters"],
            json!({"a": "2", "b": "x y"})
        );
        assert_eq!(
            event["multiValueQueryStringParameters"]["a"],
            json!(["1", "2"])
        );
        assert_eq!(event["requestContext"]["path"], "/v1/tokens/01J%20X");

        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(request.method(), "DELETE");
        assert_eq!(
            request.path_parameters_ref().and_then(|p| p.first("id")),
            Some("01J X")
        );
        assert_eq!(
            request
                .query_string_parameters_ref()
                .and_then(|q| q.first("b")),
            Some("x y")
        );
        let Some(RequestContext::ApiGatewayV1(context)) = request.request_context_ref() else {
            panic!("v1 context")
        };
        assert_eq!(context.authorizer.fields["claims"]["sub"], "demo-user");
        assert_eq!(context.resource_path.as_deref(), Some("/tokens/{id}"));
        assert_eq!(context.identity.source_ip.as_deref(), Some("127.0.0.1"));
    }

    #[test]
    fn no_query_headers_or_params_give_nulls() {
        let call = HttpCall {
            method: "GET",
            raw_path: "/tokens",
            raw_query: None,
            headers: &[],
            body: None,
            source_ip: "::1",
        };
        let event = proxy_event(&api(), &call, "/tokens", &[], None, "r", Utc::now());
        assert!(
            event["queryStringParameters"].is_null()
                && event["pathParameters"].is_null()
                && event["body"].is_null()
        );
        assert!(event["requestContext"].get("authorizer").is_none());
        assert!(lambda_http::request::from_str(&event.to_string()).is_ok());
    }
}
