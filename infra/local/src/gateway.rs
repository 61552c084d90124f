//! The local API Gateway: REST API semantics over the routes of template.yaml.
//!
//! For each request: route lookup (unknown → 403 "Missing Authentication Token"),
//! CORS preflight, the route's authorizer (Lambda TOKEN authorizer with its policy
//! cache, or the development-only session check standing in for Cognito), the Lambda
//! proxy event, the function called in-process, and its response passed through.
//! Answers API Gateway gives itself carry the template's GatewayResponses headers.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use lambda_http::Body;
use patgate::user::UserId;
use rand::RngCore;
use serde_json::{json, Map, Value};

use crate::authz::{deny_message, Authorization, PolicyCache};
use crate::event::{proxy_event, token_authorizer_event, ApiIdentity, HttpCall};
use crate::functions::{ApiFunction, AuthorizerFailure, Functions};
use crate::routes::{Lookup, Router};
use crate::sam::{AuthorizerDef, LocalApi, RouteDef};
use crate::session::{cognito_style_claims, SessionKeys, MAX_TTL};
use patgate::permissions::PolicyDecision;

pub type HttpResponse = hyper::Response<Full<Bytes>>;

/// API Gateway's REST API payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Most policies kept per authorizer.
const POLICY_CACHE_CAPACITY: usize = 10_000;

/// The clock handed to the functions as `now`. Development only: with
/// `--dev-clock-control`, `PUT /local/clock` shifts it (to test expiry end to end).
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::Relaxed))
    }

    pub fn offset(&self) -> i64 {
        self.offset_seconds.load(Ordering::Relaxed)
    }

    pub fn set_offset(&self, seconds: i64) {
        self.offset_seconds.store(seconds, Ordering::Relaxed);
    }
}

pub struct Gateway {
    api: LocalApi,
    router: Router,
    identity: ApiIdentity,
    functions: Functions,
    caches: BTreeMap<String, PolicyCache>,
    sessions: SessionKeys,
    clock: Clock,
    clock_control: bool,
    web_origin: String,
    log_requests: bool,
}

pub struct GatewayOptions {
    pub identity: ApiIdentity,
    pub sessions: SessionKeys,
    pub clock_control: bool,
    pub web_origin: String,
    pub log_requests: bool,
}

impl Gateway {
    /// Checks that every route and authorizer of the template can run here.
    pub fn new(
        api: LocalApi,
        functions: Functions,
        options: GatewayOptions,
    ) -> Result<Self, String> {
        for route in &api.routes {
            if ApiFunction::from_binary(&route.binary).is_none() {
                return Err(format!(
                    "route {} {} uses function {} (binary {}), which the local stack cannot run; add it to infra/local/src/functions.rs",
                    route.method, route.path, route.function, route.binary
                ));
            }
            if route.path == "/local" || route.path.starts_with("/local/") {
                return Err(format!(
                    "route {} {} collides with the local stack's /local/ routes",
                    route.method, route.path
                ));
            }
        }
        let mut caches = BTreeMap::new();
        for (name, authorizer) in &api.authorizers {
            if let AuthorizerDef::Lambda {
                binary,
                payload,
                ttl_seconds,
                ..
            } = authorizer
            {
                if binary != crate::functions::AUTHORIZER_BINARY
                    || *payload != crate::sam::PayloadType::Token
                {
                    return Err(format!("authorizer {name} ({binary}, {payload:?}) is not supported by the local stack"));
                }
                caches.insert(
                    name.clone(),
                    PolicyCache::new(Duration::from_secs(*ttl_seconds), POLICY_CACHE_CAPACITY),
                );
            }
        }
        Ok(Gateway {
            router: Router::new(&api.routes),
            api,
            identity: options.identity,
            functions,
            caches,
            sessions: options.sessions,
            clock: Clock::default(),
            clock_control: options.clock_control,
            web_origin: options.web_origin,
            log_requests: options.log_requests,
        })
    }

    pub fn routes(&self) -> &[RouteDef] {
        &self.api.routes
    }

    pub fn api(&self) -> &LocalApi {
        &self.api
    }

    /// Answers one HTTP request.
    pub async fn serve(
        self: Arc<Self>,
        request: hyper::Request<Incoming>,
        remote: SocketAddr,
    ) -> HttpResponse {
        let started = Instant::now();
        let request_id = request_id();
        let method = request.method().as_str().to_owned();
        let raw_path = request.uri().path().to_owned();
        let raw_query = request.uri().query().map(str::to_owned);
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut note = String::new();
        let response = match Limited::new(request.into_body(), MAX_PAYLOAD_BYTES)
            .collect()
            .await
        {
            Err(_) => self.gateway_response(
                "REQUEST_TOO_LARGE",
                413,
                Some("Request Too Long"),
                "RequestTooLargeException",
            ),
            Ok(collected) => {
                let bytes = collected.to_bytes();
                let source_ip = remote.ip().to_string();
                let body =
                    (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned());
                let call = HttpCall {
                    method: &method,
                    raw_path: &raw_path,
                    raw_query: raw_query.as_deref(),
                    headers: &headers,
                    body,
                    source_ip: &source_ip,
                };
                self.clone().route(&call, &request_id, &mut note).await
            }
        };
        let mut response = response;
        insert(&mut response, "x-amzn-RequestId", &request_id);
        if self.log_requests {
            let query = raw_query.map(|q| format!("?{q}")).unwrap_or_default();
            println!(
                "{} {method} {raw_path}{query} -> {} {:.1} ms{}",
                Utc::now().format("%H:%M:%S%.3f"),
                response.status().as_u16(),
                started.elapsed().as_secs_f64() * 1000.0,
                if note.is_empty() {
                    String::new()
                } else {
                    format!(" ({note})")
                }
            );
        }
        response
    }

    async fn route(
        self: Arc<Self>,
        call: &HttpCall<'_>,
        request_id: &str,
        note: &mut String,
    ) -> HttpResponse {
        if call.raw_path == "/local" || call.raw_path.starts_with("/local/") {
            return self.local_route(call).await;
        }
        let (route, resource_path, params) = match self.router.lookup(call.method, call.raw_path) {
            Lookup::Found { .. } | Lookup::MethodMissing
                if call.method == "OPTIONS" && self.api.cors.is_some() =>
            {
                return self.preflight();
            }
            Lookup::Found {
                route,
                resource,
                params,
            } => (route.clone(), resource.path.clone(), params),
            Lookup::MethodMissing | Lookup::NoResource => return self.missing_token(),
        };

        let authorizer_context = match &route.authorizer {
            None => None,
            Some(name) => match self.authorize(name, call, note).await {
                Ok(context) => Some(context),
                Err(response) => return self.gateway_error(response),
            },
        };

        let event = proxy_event(
            &self.identity,
            call,
            &resource_path,
            &params,
            authorizer_context,
            request_id,
            self.clock.now(),
        );
        let request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(err) => {
                eprintln!("patgate-local: cannot convert the proxy event: {err}");
                return self.gateway_response(
                    "API_CONFIGURATION_ERROR",
                    500,
                    Some("Internal server error"),
                    "InternalServerErrorException",
                );
            }
        };
        let function = ApiFunction::from_binary(&route.binary).expect("checked in Gateway::new");
        let now = self.clock.now();
        let gateway = self.clone();
        let task =
            tokio::spawn(async move { gateway.functions.call(function, request, now).await });
        match tokio::time::timeout(Duration::from_secs(route.timeout_seconds), task).await {
            Ok(Ok(response)) => lambda_to_http(response),
            Ok(Err(panic)) => {
                eprintln!("patgate-local: {} panicked: {panic}", route.function);
                self.function_error()
            }
            Err(_) => {
                eprintln!(
                    "patgate-local: {} timed out after {} s",
                    route.function, route.timeout_seconds
                );
                self.function_error()
            }
        }
    }

    /// Runs the route's authorizer; `Ok` is the `requestContext.authorizer` value.
    async fn authorize(
        &self,
        name: &str,
        call: &HttpCall<'_>,
        note: &mut String,
    ) -> Result<Value, GatewayError> {
        let definition = self
            .api
            .authorizers
            .get(name)
            .ok_or(GatewayError::AuthorizerFailure)?;
        match definition {
            AuthorizerDef::Lambda {
                header,
                timeout_seconds,
                ..
            } => {
                // An empty identity source is refused before the authorizer is called.
                let token = header_value(call.headers, header)
                    .filter(|v| !v.trim().is_empty())
                    .ok_or(GatewayError::Unauthorized)?;
                let cache = &self.caches[name];
                let method_arn = self.identity.method_arn(call.method, call.raw_path);
                let (authorization, latency_ms) = match cache.get(token, Instant::now()) {
                    Some(cached) => {
                        note.push_str(&format!("{name}: cached"));
                        (cached, 0)
                    }
                    None => {
                        let started = Instant::now();
                        let event = token_authorizer_event(token, &method_arn);
                        let outcome = tokio::time::timeout(
                            Duration::from_secs(*timeout_seconds),
                            self.functions.authorize(event, self.clock.now()),
                        )
                        .await;
                        let latency_ms = started.elapsed().as_millis() as u64;
                        note.push_str(&format!("{name}: called, {latency_ms} ms"));
                        let answer = match outcome {
                            Ok(Ok(answer)) => answer,
                            Ok(Err(AuthorizerFailure::Unauthorized)) => {
                                return Err(GatewayError::Unauthorized)
                            }
                            Ok(Err(AuthorizerFailure::Error)) | Err(_) => {
                                return Err(GatewayError::AuthorizerFailure)
                            }
                        };
                        let authorization = Authorization::from_response(answer)
                            .ok_or(GatewayError::AuthorizerFailure)?;
                        cache.insert(token.to_owned(), authorization.clone(), Instant::now());
                        (authorization, latency_ms)
                    }
                };
                match authorization.policy.decide(&method_arn) {
                    PolicyDecision::Allow => {}
                    denied => return Err(GatewayError::AccessDenied(denied)),
                }
                let mut context = authorization.context.clone();
                context.insert(
                    "principalId".to_owned(),
                    Value::String(authorization.principal_id.clone()),
                );
                context.insert("integrationLatency".to_owned(), json!(latency_ms));
                Ok(Value::Object(context))
            }
            AuthorizerDef::CognitoUserPool { header } => {
                let token = header_value(call.headers, header)
                    .filter(|v| !v.trim().is_empty())
                    .ok_or(GatewayError::Unauthorized)?;
                let claims = self
                    .sessions
                    .verify(token, Utc::now())
                    .map_err(|_| GatewayError::Unauthorized)?;
                note.push_str(&format!(
                    "{name}: session of {}",
                    claims.get("sub").and_then(Value::as_str).unwrap_or("?")
                ));
                Ok(json!({ "claims": cognito_style_claims(&claims) }))
            }
        }
    }

    // ------------------------------------------------------------ /local/ routes

    async fn local_route(&self, call: &HttpCall<'_>) -> HttpResponse {
        match (call.method, call.raw_path) {
            ("OPTIONS", "/local/session") => self.preflight(),
            ("POST", "/local/session") => self.create_session(call).await,
            ("GET" | "PUT", "/local/clock") if self.clock_control => self.clock_route(call),
            _ => self.missing_token(),
        }
    }

    /// `POST /local/session {"userId", "ttlSeconds"?}`: a session JWT for a user of the table.
    async fn create_session(&self, call: &HttpCall<'_>) -> HttpResponse {
        let body = match parse_object(call.body.as_deref(), &["userId", "ttlSeconds"]) {
            Ok(body) => body,
            Err(response) => return self.local_json(400, &response),
        };
        let Some(user_id) = body
            .get("userId")
            .and_then(Value::as_str)
            .and_then(UserId::parse)
        else {
            return self.local_json(
                400,
                &error_body(
                    "invalid_field",
                    "userId: is required, a user id string",
                    Some("userId"),
                ),
            );
        };
        let ttl = match body.get("ttlSeconds") {
            None | Some(Value::Null) => MAX_TTL,
            Some(value) => match value
                .as_u64()
                .filter(|s| (1..=MAX_TTL.as_secs()).contains(s))
            {
                Some(seconds) => Duration::from_secs(seconds),
                None => {
                    return self.local_json(
                        400,
                        &error_body(
                            "invalid_field",
                            &format!(
                                "ttlSeconds: must be a whole number from 1 to {}",
                                MAX_TTL.as_secs()
                            ),
                            Some("ttlSeconds"),
                        ),
                    )
                }
            },
        };
        match self.functions.service.store.get_user(&user_id).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return self.local_json(
                    404,
                    &error_body("not_found", &format!("no user {user_id} in the table; the demo users are demo-viewer, demo-user, demo-manager, demo-admin, demo-inactive"), None),
                )
            }
            Err(err) => {
                eprintln!("patgate-local: reading user {user_id}: {err}");
                return self.local_json(503, &error_body("service_unavailable", "the token store is unavailable; try again shortly", None));
            }
        }
        let now = Utc::now();
        let session = self.sessions.mint(user_id.as_str(), now, ttl);
        let expires_at = now + chrono::Duration::seconds(ttl.as_secs() as i64);
        self.local_json(
            200,
            &json!({
                "userId": user_id.as_str(),
                "session": session,
                "expiresAt": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }),
        )
    }

    /// `GET|PUT /local/clock {"offsetSeconds"}` (only with --dev-clock-control).
    fn clock_route(&self, call: &HttpCall<'_>) -> HttpResponse {
        if call.method == "PUT" {
            let body = match parse_object(call.body.as_deref(), &["offsetSeconds"]) {
                Ok(body) => body,
                Err(response) => return self.local_json(400, &response),
            };
            match body
                .get("offsetSeconds")
                .and_then(Value::as_i64)
                .filter(|s| s.abs() <= 10 * 366 * 86_400)
            {
                Some(seconds) => self.clock.set_offset(seconds),
                None => {
                    return self.local_json(
                        400,
                        &error_body(
                            "invalid_field",
                            "offsetSeconds: a whole number of seconds",
                            Some("offsetSeconds"),
                        ),
                    )
                }
            }
        }
        self.local_json(
            200,
            &json!({"offsetSeconds": self.clock.offset(), "now": self.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)}),
        )
    }

    fn local_json(&self, status: u16, body: &Value) -> HttpResponse {
        let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() =
            hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        insert(&mut response, "content-type", "application/json");
        insert(&mut response, "cache-control", "no-store");
        insert(
            &mut response,
            "access-control-allow-origin",
            &self.web_origin,
        );
        response
    }

    // ------------------------------------------------------------ answers API Gateway gives itself

    /// CORS preflight as SAM's `Cors` sets it up (a MOCK integration on OPTIONS).
    fn preflight(&self) -> HttpResponse {
        let mut response = hyper::Response::new(Full::new(Bytes::new()));
        insert(&mut response, "content-type", "application/json");
        if let Some(cors) = &self.api.cors {
            insert(
                &mut response,
                "access-control-allow-origin",
                &cors.allow_origin,
            );
            if let Some(headers) = &cors.allow_headers {
                insert(&mut response, "access-control-allow-headers", headers);
            }
            if let Some(methods) = &cors.allow_methods {
                insert(&mut response, "access-control-allow-methods", methods);
            }
            if let Some(max_age) = &cors.max_age {
                insert(&mut response, "access-control-max-age", max_age);
            }
            if cors.allow_credentials {
                insert(&mut response, "access-control-allow-credentials", "true");
            }
        } else {
            insert(
                &mut response,
                "access-control-allow-origin",
                &self.web_origin,
            );
            insert(
                &mut response,
                "access-control-allow-headers",
                "Authorization,Content-Type",
            );
            insert(
                &mut response,
                "access-control-allow-methods",
                "POST,OPTIONS",
            );
        }
        response
    }

    fn missing_token(&self) -> HttpResponse {
        self.gateway_response(
            "MISSING_AUTHENTICATION_TOKEN",
            403,
            Some("Missing Authentication Token"),
            "MissingAuthenticationTokenException",
        )
    }

    fn function_error(&self) -> HttpResponse {
        self.gateway_response(
            "DEFAULT_5XX",
            502,
            Some("Internal server error"),
            "InternalServerErrorException",
        )
    }

    fn gateway_error(&self, error: GatewayError) -> HttpResponse {
        match error {
            GatewayError::Unauthorized => self.gateway_response(
                "UNAUTHORIZED",
                401,
                Some("Unauthorized"),
                "UnauthorizedException",
            ),
            GatewayError::AccessDenied(decision) => self.gateway_response(
                "ACCESS_DENIED",
                403,
                deny_message(decision),
                "AccessDeniedException",
            ),
            GatewayError::AuthorizerFailure => self.gateway_response(
                "AUTHORIZER_CONFIGURATION_ERROR",
                500,
                None,
                "AuthorizerConfigurationException",
            ),
        }
    }

    /// `{"message": ...}` with the status and headers of the template's GatewayResponses
    /// entry for `kind`, else its DEFAULT_4XX / DEFAULT_5XX.
    fn gateway_response(
        &self,
        kind: &str,
        status: u16,
        message: Option<&str>,
        error_type: &str,
    ) -> HttpResponse {
        let fallback = if status >= 500 {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        let (definition, status) = match self.api.gateway_responses.get(kind) {
            Some(specific) => (Some(specific), specific.status.unwrap_or(status)),
            None => match self.api.gateway_responses.get(fallback) {
                Some(default) => (Some(default), default.status.unwrap_or(status)),
                None => (None, status),
            },
        };
        let body = json!({ "message": message });
        let mut response = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() =
            hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
        insert(&mut response, "content-type", "application/json");
        insert(&mut response, "x-amzn-ErrorType", error_type);
        for (name, value) in definition.map(|d| d.headers.as_slice()).unwrap_or_default() {
            insert(&mut response, name, value);
        }
        response
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GatewayError {
    Unauthorized,
    AccessDenied(PolicyDecision),
    AuthorizerFailure,
}

fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn insert(response: &mut HttpResponse, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}

/// The function's response as API Gateway passes it on.
fn lambda_to_http(response: lambda_http::Response<Body>) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    let has_body = !bytes.is_empty();
    let mut response = hyper::Response::from_parts(parts, Full::new(bytes));
    if has_body && !response.headers().contains_key(CONTENT_TYPE) {
        insert(&mut response, "content-type", "application/json");
    }
    response
}

fn request_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn error_body(code: &str, message: &str, field: Option<&str>) -> Value {
    let mut error = json!({"code": code, "message": message});
    if let Some(field) = field {
        error["field"] = json!(field);
    }
    json!({ "error": error })
}

/// A JSON object body with only `allowed` keys, else a 400 body.
fn parse_object(body: Option<&str>, allowed: &[&str]) -> Result<Map<String, Value>, Value> {
    let text = body.unwrap_or("").trim();
    if text.is_empty() {
        return Err(error_body(
            "invalid_json",
            "the body is empty; send a JSON object",
            None,
        ));
    }
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return Err(error_body(
                "invalid_json",
                "the body must be a JSON object",
                None,
            ))
        }
        Err(err) => return Err(error_body("invalid_json", &err.to_string(), None)),
    };
    if let Some(unknown) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        let unknown: String = unknown.chars().take(40).collect();
        return Err(error_body(
            "invalid_field",
            &format!("unknown field `{unknown}`; allowed: {}", allowed.join(", ")),
            Some("body"),
        ));
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
        assert_ne!(id, request_id());
    }

    #[test]
    fn local_bodies_are_strict_objects() {
        assert!(parse_object(Some(r#"{"userId":"a"}"#), &["userId"]).is_ok());
        assert_eq!(
            parse_object(None, &["userId"]).unwrap_err()["error"]["code"],
            "invalid_json"
        );
        assert_eq!(
            parse_object(Some("[]"), &["userId"]).unwrap_err()["error"]["code"],
            "invalid_json"
        );
        assert_eq!(
            parse_object(Some(r#"{"x":1}"#), &["userId"]).unwrap_err()["error"]["field"],
            "body"
        );
    }

    #[test]
    fn clock_offsets_shift_now() {
        let clock = Clock::default();
        clock.set_offset(-86_400);
        let delta = Utc::now() - clock.now();
        assert!((delta.num_seconds() - 86_400).abs() <= 1);
    }
}
