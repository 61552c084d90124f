use std::collections::BTreeSet;
use std::path::Path;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::request::RequestContext;
use lambda_http::RequestExt;

use super::*;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn api() -> ApiIdentity {
    ApiIdentity {
        api_id: "client0001".into(),
        stage: "$default".into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        stage_variables: [("patgateApi".to_owned(), "example-http".to_owned())].into(),
    }
}

fn call<'a>(headers: &'a [(String, String)]) -> HttpCall<'a> {
    HttpCall {
        method: "PUT",
        raw_path: "/items/a%20b",
        raw_query: Some("q=1&q=2&x=%E2%9C%93"),
        headers,
        body: Some("{}".into()),
        source_ip: "203.0.113.9",
    }
}

fn headers() -> Vec<(String, String)> {
    vec![
        ("Authorization".to_owned(), "Bearer pgt_x".to_owned()),
        ("User-Agent".to_owned(), "agent/1".to_owned()),
        ("Accept".to_owned(), "a".to_owned()),
        ("Accept".to_owned(), "b".to_owned()),
        ("Cookie".to_owned(), "c1=1; c2=2".to_owned()),
    ]
}

#[test]
fn the_proxy_event_has_the_shape_sam_prints() {
    let headers = headers();
    let params = vec![("itemId".to_owned(), "a b".to_owned())];
    let event = http_proxy_event(
        &api(),
        &call(&headers),
        "PUT /items/{itemId}",
        &params,
        "r-1",
        Utc::now(),
    );
    let sample = fixture("http-api-proxy.json");
    assert_eq!(keys(&event), keys(&sample));
    let context = &event["requestContext"];
    let mut expected = keys(&sample["requestContext"]);
    // No client certificate; the authorizer's answer is added after it has run.
    expected.remove("authentication");
    expected.remove("authorizer");
    assert_eq!(keys(context), expected);
    assert_eq!(
        keys(&context["http"]),
        keys(&sample["requestContext"]["http"])
    );
    assert_eq!(event["headers"]["accept"], "a,b");
    assert_eq!(event["headers"]["authorization"], "Bearer pgt_x");
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(event["cookies"], json!(["c1=1", "c2=2"]));
    assert_eq!(
        event["queryStringParameters"],
        json!({"q": "1,2", "x": "✓"})
    );
    assert_eq!(event["stageVariables"]["patgateApi"], "example-http");
    assert_eq!(context["routeKey"], "PUT /items/{itemId}");
}

#[test]
fn the_function_sees_the_request_the_runtime_would_read() {
    let headers = headers();
    let params = vec![("itemId".to_owned(), "a b".to_owned())];
    let mut event = http_proxy_event(
        &api(),
        &call(&headers),
        "PUT /items/{itemId}",
        &params,
        "r-2",
        Utc::now(),
    );
    crate::event::set_authorizer(&mut event, json!({"lambda": {"userId": "vic"}}));
    let ours = lambda_request_v2(event.clone()).unwrap();
    let runtime = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(ours.method(), runtime.method());
    assert_eq!(ours.uri().path(), runtime.uri().path());
    assert_eq!(ours.headers(), runtime.headers());
    assert_eq!(ours.body(), runtime.body());
    assert_eq!(ours.path_parameters_ref(), runtime.path_parameters_ref());
    assert_eq!(ours.stage_variables_ref(), runtime.stage_variables_ref());
    let Some(RequestContext::ApiGatewayV2(context)) = runtime.request_context_ref() else {
        panic!("an HTTP API context")
    };
    let lambda = &context.authorizer.as_ref().unwrap().fields;
    assert_eq!(lambda["userId"], "vic");
    assert_eq!(
        ours.path_parameters_ref().and_then(|p| p.first("itemId")),
        Some("a b")
    );
}

#[test]
fn the_authorizer_event_is_the_proxy_event_without_the_body_and_with_its_identity() {
    let headers = headers();
    let proxy = http_proxy_event(
        &api(),
        &call(&headers),
        "PUT /items/{itemId}",
        &[],
        "r-3",
        Utc::now(),
    );
    let arn = api().route_arn("PUT", "/items/a%20b");
    let identity = vec!["Bearer pgt_x".to_owned(), "PUT /items/{itemId}".to_owned()];
    let event = http_authorizer_event(&proxy, &arn, &identity);
    let sample = fixture("http-api-authorizer-v2.json");
    // The sample's optional parts this call lacks: path parameters.
    let mut expected = keys(&sample);
    expected.remove("pathParameters");
    assert_eq!(keys(&event), expected);
    let typed: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(event).unwrap();
    assert_eq!(typed.identity_source, Some(identity));
    assert_eq!(typed.route_key.as_deref(), Some("PUT /items/{itemId}"));
    assert_eq!(
        typed.route_arn.as_deref(),
        Some("arn:aws:execute-api:us-east-1:123456789012:client0001/$default/PUT/items/a%20b")
    );
    assert_eq!(typed.stage_variables["patgateApi"], "example-http");
}
