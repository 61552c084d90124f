//! The events API Gateway (REST API, v1) sends to Lambda, built from an HTTP request:
//! the Lambda proxy integration event (shape of tests/fixtures/events/aws-proxy.json),
//! and the REQUEST and TOKEN authorizer events (authorizer-request.json,
//! authorizer-token.json).

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use chrono::{DateTime, Utc};
use lambda_http::request::LambdaRequest;
use percent_encoding::percent_decode_str;
use serde_json::{json, Map, Value};

/// Identifiers of the local API, used in request contexts and method ARNs.
#[derive(Debug, Clone)]
pub struct ApiIdentity {
    pub api_id: String,
    pub stage: String,
    pub region: String,
    pub account_id: String,
    /// The stage's variables, in every event of the API (`stageVariables`).
    pub stage_variables: std::collections::BTreeMap<String, String>,
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

/// The REQUEST authorizer event of a call, from the call's proxy event without its
/// authorizer context (`proxy`): the same headers, query, path parameters and context
/// (source IP, user agent, request id and time), without the body, with `type` and
/// `methodArn`. Derived from the proxy event rather than built again, so that the two
/// events of one request cannot disagree and the request is read once.
pub fn request_authorizer_event(proxy: &Value, method_arn: &str) -> Value {
    let mut event = proxy.clone();
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

/// The function's request for a proxy event, as the Lambda runtime hands it to a
/// `lambda_http` handler: the same deserializer (`ApiGatewayProxyRequest`, the REST
/// API variant `lambda_http` tries first) and the same conversion, fed the event
/// value itself instead of its JSON text printed and parsed again.
pub fn lambda_request(event: Value) -> Result<lambda_http::Request, serde_json::Error> {
    let proxy: ApiGatewayProxyRequest = serde_json::from_value(event)?;
    Ok(LambdaRequest::ApiGatewayV1(proxy).into())
}

/// The Lambda proxy integration event for `call` on the resource `resource_path`,
/// without `requestContext.authorizer` ([`set_authorizer`] adds it once the route's
/// authorizer has answered).
pub fn proxy_event(
    api: &ApiIdentity,
    call: &HttpCall<'_>,
    resource_path: &str,
    path_params: &[(String, String)],
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
    let request_context = request_context(api, call, resource_path, request_id, now);
    json!({
        "resource": resource_path,
        "path": call.raw_path,
        "httpMethod": call.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters,
        "stageVariables": if api.stage_variables.is_empty() {
            Value::Null
        } else {
            json!(api.stage_variables)
        },
        "requestContext": request_context,
        "body": call.body,
        "isBase64Encoded": false,
    })
}

/// Sets the proxy event's `requestContext.authorizer`: what the route's authorizer
/// hands the backend.
pub fn set_authorizer(event: &mut Value, authorizer: Value) {
    if let Some(Value::Object(context)) = event.get_mut("requestContext") {
        context.insert("authorizer".to_owned(), authorizer);
    }
}

/// `a=1&b=x%20y` → `[("a", "1"), ("b", "x y")]`.
pub(crate) fn query_pairs(raw_query: Option<&str>) -> Vec<(String, String)> {
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
            stage_variables: Default::default(),
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
        let mut event = proxy_event(&api(), &call, "/tokens/{id}", &params, "req-1", Utc::now());
        set_authorizer(&mut event, authorizer);
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

        let request = lambda_request(event.clone()).unwrap();
        assert_same_request(
            &request,
            &lambda_http::request::from_str(&event.to_string()).unwrap(),
        );
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
        let event = proxy_event(&api(), &call, "/tokens", &[], "r", Utc::now());
        assert!(
            event["queryStringParameters"].is_null()
                && event["pathParameters"].is_null()
                && event["body"].is_null()
        );
        assert!(event["requestContext"].get("authorizer").is_none());
        assert_same_request(
            &lambda_request(event.clone()).unwrap(),
            &lambda_http::request::from_str(&event.to_string()).unwrap(),
        );
    }

    /// Everything a handler can read of a request.
    fn assert_same_request(ours: &lambda_http::Request, runtime: &lambda_http::Request) {
        assert_eq!(ours.method(), runtime.method());
        // lambda_http rebuilds the URI's query from a hash map: its order varies from
        // one conversion to the next, even of the same text.
        let query = |r: &lambda_http::Request| {
            let mut pairs: Vec<String> = r
                .uri()
                .query()
                .unwrap_or("")
                .split('&')
                .map(str::to_owned)
                .collect();
            pairs.sort();
            pairs
        };
        assert_eq!(ours.uri().path(), runtime.uri().path());
        assert_eq!(ours.uri().authority(), runtime.uri().authority());
        assert_eq!(query(ours), query(runtime));
        assert_eq!(ours.headers(), runtime.headers());
        assert_eq!(ours.body(), runtime.body());
        assert_eq!(ours.raw_http_path(), runtime.raw_http_path());
        assert_eq!(
            ours.query_string_parameters_ref(),
            runtime.query_string_parameters_ref()
        );
        assert_eq!(ours.path_parameters_ref(), runtime.path_parameters_ref());
        assert_eq!(ours.stage_variables_ref(), runtime.stage_variables_ref());
        match (ours.request_context_ref(), runtime.request_context_ref()) {
            (
                Some(RequestContext::ApiGatewayV1(ours)),
                Some(RequestContext::ApiGatewayV1(runtime)),
            ) => assert_eq!(ours, runtime),
            other => panic!("not both REST API contexts: {other:?}"),
        }
    }

    #[test]
    fn the_request_is_the_one_the_runtime_reads_from_the_events_text() {
        let headers = vec![
            ("authorization".to_owned(), "Bearer pgt_x".to_owned()),
            (
                "user-agent".to_owned(),
                "deploy-bot/2.1 (ünïcode)".to_owned(),
            ),
            ("accept".to_owned(), "text/html".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
            ("x-empty".to_owned(), String::new()),
        ];
        let call = HttpCall {
            method: "POST",
            raw_path: "/catalog/a%2Fb/c",
            raw_query: Some("q=%E2%9C%93&flag&q=2&="),
            headers: &headers,
            body: Some("{\"name\":\"ünïcode \\\" quote\"}".into()),
            source_ip: "2001:db8::1",
        };
        let params = vec![("id".to_owned(), "a/b/c".to_owned())];
        let mut event = proxy_event(&api(), &call, "/catalog/{id+}", &params, "r-2", Utc::now());
        set_authorizer(
            &mut event,
            json!({"userId": "demo-user", "tokenId": "01J", "permissions": "catalog:read",
                   "principalId": "demo-user", "integrationLatency": 3}),
        );
        let runtime = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_same_request(&lambda_request(event).unwrap(), &runtime);
        let Some(RequestContext::ApiGatewayV1(context)) = runtime.request_context_ref() else {
            panic!("v1 context")
        };
        assert_eq!(context.authorizer.fields["integrationLatency"], 3);
    }

    #[test]
    fn the_request_authorizer_event_is_the_proxy_event_without_the_body() {
        let headers = vec![("authorization".to_owned(), "Bearer x".to_owned())];
        let call = HttpCall {
            method: "PUT",
            raw_path: "/catalog/svc-1",
            raw_query: Some("a=1"),
            headers: &headers,
            body: Some("{}".into()),
            source_ip: "127.0.0.1",
        };
        let params = vec![("id".to_owned(), "svc-1".to_owned())];
        let proxy = proxy_event(&api(), &call, "/catalog/{id}", &params, "r-3", Utc::now());
        let arn = api().method_arn("PUT", "/catalog/svc-1");
        let event = request_authorizer_event(&proxy, &arn);
        assert_eq!(event["type"], "REQUEST");
        assert_eq!(event["methodArn"], arn);
        let (Value::Object(event_fields), Value::Object(proxy_fields)) = (&event, &proxy) else {
            panic!("objects")
        };
        let proxy_only = ["body", "isBase64Encoded"];
        let mut expected_keys: Vec<&str> = proxy_fields
            .keys()
            .map(String::as_str)
            .filter(|k| !proxy_only.contains(k))
            .chain(["type", "methodArn"])
            .collect();
        expected_keys.sort_unstable();
        let keys: Vec<&str> = event_fields.keys().map(String::as_str).collect();
        assert_eq!(keys, expected_keys);
        for (key, value) in proxy_fields
            .iter()
            .filter(|(k, _)| !proxy_only.contains(&k.as_str()))
        {
            assert_eq!(&event_fields[key], value, "{key}");
        }
        assert_eq!(event["headers"]["authorization"], "Bearer x");
        assert_eq!(event["pathParameters"]["id"], "svc-1");
        assert_eq!(event["requestContext"]["requestId"], "r-3");
    }
}
