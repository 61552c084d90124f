//! The demo API's backend: answers any route with the caller as the patgate
//! authorizer described them (REST `requestContext.authorizer`, HTTP API
//! `requestContext.authorizer.lambda`), so a person trying the service sees what a
//! real backend would receive. Like a product backend should, it tells every token
//! caller when its token expires (`Patgate-Token-Expiration`, from the authorizer's
//! `expiresAt`: no read).
#![forbid(unsafe_code)]

use lambda_http::http::HeaderValue;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use patgate::token_context::{token_expiration, TOKEN_EXPIRATION_HEADER};
use serde_json::{json, Value};

pub fn handle(request: &Request) -> Response<Body> {
    let authorizer = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.authorizer.fields.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .map(|authorizer| authorizer.fields.clone())
            .unwrap_or_default(),
        _ => Default::default(),
    };
    let field = |name: &str| authorizer.get(name).cloned().unwrap_or(Value::Null);
    let body = json!({
        "method": request.method().as_str(),
        "path": request.raw_http_path(),
        "userId": field("userId"),
        "tokenId": field("tokenId"),
        "permissions": field("permissions"),
    });
    let mut response = Response::new(Body::Text(body.to_string()));
    response.headers_mut().insert(
        "content-type",
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    if let Some(value) = token_expiration(request).and_then(|at| HeaderValue::from_str(&at).ok()) {
        response
            .headers_mut()
            .insert(TOKEN_EXPIRATION_HEADER, value);
    }
    response
}
