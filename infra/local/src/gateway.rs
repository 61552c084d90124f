//! The local API Gateway's request pipeline: REST API or HTTP API semantics over the
//! routes of a template (template.yaml, or a client API's template).
//!
//! For each request: the body read (over the payload limit → 413), the `/local/`
//! routes ([`crate::local_routes`], patgate's own API only), route lookup (unknown →
//! REST 403 "Missing Authentication Token", HTTP API 404), CORS preflight, the route's
//! authorizer ([`crate::authz`]), the Lambda proxy event (payload 1.0 for a REST API,
//! 2.0 for an HTTP API), the function called in-process, and its response passed
//! through. Answers API Gateway gives itself come from [`crate::answers`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use lambda_http::Body;
use rand::RngCore;
use serde_json::Value;

use crate::answers::GatewayAnswers;
use crate::authz::{AuthorizeCall, Authorizers};
use crate::event::{lambda_request, proxy_event, set_authorizer, ApiIdentity, HttpCall};
use crate::event_v2::{http_proxy_event, lambda_request_v2, route_key};
use crate::functions::{ApiFunction, Functions};
use crate::local_routes::{is_local, Clock, LocalRoutes};
use crate::response::{insert, HttpResponse};
use crate::routes::{Lookup, Router};
use crate::sam::{ApiKind, LocalApi, RouteDef};
use crate::session::SessionKeys;

/// API Gateway's REST API payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;

pub struct Gateway {
    api: LocalApi,
    router: Router,
    identity: ApiIdentity,
    functions: Arc<Functions>,
    authorizers: Authorizers,
    /// `/local/` routes: on patgate's own API only.
    local: Option<LocalRoutes>,
    answers: GatewayAnswers,
    clock: Arc<Clock>,
    log_requests: bool,
}

pub struct GatewayOptions {
    pub identity: ApiIdentity,
    pub sessions: Arc<SessionKeys>,
    /// The functions' clock, one for every API of the stack.
    pub clock: Arc<Clock>,
    /// Serve the `/local/` routes (patgate's own API).
    pub local_routes: bool,
    pub clock_control: bool,
    pub web_origin: String,
    pub log_requests: bool,
}

/// A request's parts, read before its body.
struct Head {
    method: String,
    raw_path: String,
    raw_query: Option<String>,
    headers: Vec<(String, String)>,
}

impl Gateway {
    /// Checks that every route and authorizer of the template can run here.
    pub fn new(
        api: LocalApi,
        functions: Arc<Functions>,
        options: GatewayOptions,
    ) -> Result<Self, String> {
        for route in &api.routes {
            check_route(route)?;
        }
        let sessions = options.sessions;
        let clock = options.clock;
        let local = options.local_routes.then(|| LocalRoutes {
            sessions: sessions.clone(),
            clock: clock.clone(),
            clock_control: options.clock_control,
            store: functions.service.store.clone(),
            lifecycle: functions.lifecycle.clone(),
        });
        Ok(Gateway {
            router: Router::new(&api.routes),
            authorizers: Authorizers::new(&api.authorizers, sessions)?,
            answers: GatewayAnswers::new(&api, options.web_origin),
            api,
            identity: options.identity,
            functions,
            local,
            clock,
            log_requests: options.log_requests,
        })
    }

    pub fn routes(&self) -> &[RouteDef] {
        &self.api.routes
    }

    /// The clock the functions see (shifted by `PUT /local/clock`).
    pub fn clock(&self) -> Arc<Clock> {
        self.clock.clone()
    }

    pub fn functions(&self) -> &Functions {
        &self.functions
    }

    pub fn api(&self) -> &LocalApi {
        &self.api
    }

    /// The authorizers and their caches (a stage flush empties them).
    pub fn authorizers(&self) -> &Authorizers {
        &self.authorizers
    }

    pub fn identity(&self) -> &ApiIdentity {
        &self.identity
    }

    /// Answers one HTTP request.
    pub async fn serve(
        &self,
        request: hyper::Request<Incoming>,
        remote: SocketAddr,
    ) -> HttpResponse {
        let started = Instant::now();
        let request_id = request_id();
        let head = Head {
            method: request.method().as_str().to_owned(),
            raw_path: request.uri().path().to_owned(),
            raw_query: request.uri().query().map(str::to_owned),
            headers: request
                .headers()
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
        };
        let mut note = String::new();
        let body = Limited::new(request.into_body(), MAX_PAYLOAD_BYTES)
            .collect()
            .await;
        let mut response = match body {
            Err(_) => self.answers.too_large(),
            Ok(collected) => {
                let bytes = collected.to_bytes();
                let source_ip = remote.ip().to_string();
                let call = call(&head, &bytes, &source_ip);
                self.route(&call, &request_id, &mut note).await
            }
        };
        insert(&mut response, "x-amzn-RequestId", &request_id);
        if self.log_requests {
            log_request(&head, &response, started, &note);
        }
        response
    }

    async fn route(
        &self,
        call: &HttpCall<'_>,
        request_id: &str,
        note: &mut String,
    ) -> HttpResponse {
        if let Some(local) = self.local.as_ref().filter(|_| is_local(call.raw_path)) {
            return local.serve(call, &self.answers).await;
        }
        let (route, resource_path, params) = match self.router.lookup(call.method, call.raw_path) {
            Lookup::Found { .. } | Lookup::MethodMissing
                if call.method == "OPTIONS" && self.api.cors.is_some() =>
            {
                return self.answers.preflight();
            }
            Lookup::Found {
                route,
                resource,
                params,
            } => (route, resource.path.as_str(), params),
            Lookup::MethodMissing | Lookup::NoResource => return self.answers.missing_token(),
        };
        let now = self.clock.now();
        let mut event = match self.api.kind {
            ApiKind::Rest => proxy_event(
                &self.identity,
                call,
                resource_path,
                &params,
                request_id,
                now,
            ),
            ApiKind::Http => {
                let key = route_key(&route.method, &route.path);
                http_proxy_event(&self.identity, call, &key, &params, request_id, now)
            }
        };
        if route.authorizer.as_deref() == Some(crate::sam::AWS_IAM) {
            match crate::sigv4::verify(call, Utc::now()) {
                Ok(key) => set_iam_identity(&mut event, key),
                Err(refusal) => return self.answers.iam_refused(refusal),
            }
        } else if let Some(name) = &route.authorizer {
            match self.authorize(name, call, &event, note).await {
                Ok(context) => set_authorizer(&mut event, context),
                Err(response) => return response,
            }
        }
        self.invoke(route, event).await
    }

    async fn authorize(
        &self,
        name: &str,
        call: &HttpCall<'_>,
        proxy_event: &Value,
        note: &mut String,
    ) -> Result<Value, HttpResponse> {
        let input = AuthorizeCall {
            call,
            proxy_event,
            identity: &self.identity,
            functions: &self.functions,
            now: self.clock.now(),
        };
        self.authorizers
            .authorize(name, input, note)
            .await
            .map_err(|error| self.answers.error(error))
    }

    /// Calls the route's function with the proxy event, within its timeout.
    async fn invoke(&self, route: &RouteDef, event: Value) -> HttpResponse {
        let converted = match self.api.kind {
            ApiKind::Rest => lambda_request(event),
            ApiKind::Http => lambda_request_v2(event),
        };
        let request = match converted {
            Ok(request) => request,
            Err(err) => {
                eprintln!("patgate-local: cannot convert the proxy event: {err}");
                return self.answers.configuration_error();
            }
        };
        let function = ApiFunction::from_binary(&route.binary).expect("checked in Gateway::new");
        let now = self.clock.now();
        let functions = self.functions.clone();
        let mut task = tokio::spawn(async move { functions.call(function, request, now).await });
        let limit = Duration::from_secs(route.timeout_seconds);
        let outcome = tokio::time::timeout(limit, &mut task).await;
        // Lambda stops a timed-out invocation: so does the local stack, so that a
        // timed-out create never commits a token nobody received.
        if outcome.is_err() {
            task.abort();
        }
        match outcome {
            Ok(Ok(response)) => lambda_to_http(response),
            Ok(Err(panic)) => {
                eprintln!("patgate-local: {} panicked: {panic}", route.function);
                self.answers.function_error()
            }
            Err(_) => {
                eprintln!(
                    "patgate-local: {} timed out after {} s",
                    route.function, route.timeout_seconds
                );
                self.answers.function_error()
            }
        }
    }
}

/// `requestContext.identity` of a call API Gateway authorized by IAM.
fn set_iam_identity(event: &mut Value, access_key: &str) {
    if let Some(identity) = event.pointer_mut("/requestContext/identity") {
        identity["accessKey"] = Value::from(access_key);
        identity["accountId"] = Value::from("123456789012");
        identity["caller"] = Value::from("AIDAPATGATELOCAL0001");
        identity["user"] = Value::from("AIDAPATGATELOCAL0001");
        identity["userArn"] = Value::from(crate::sigv4::LOCAL_USER_ARN);
    }
}

/// A route the local stack can serve: a function it runs, outside `/local/`.
fn check_route(route: &RouteDef) -> Result<(), String> {
    if ApiFunction::from_binary(&route.binary).is_none() {
        return Err(format!(
            "route {} {} uses function {} (binary {}), which the local stack cannot run; add it to infra/local/src/functions.rs",
            route.method, route.path, route.function, route.binary
        ));
    }
    if is_local(&route.path) {
        return Err(format!(
            "route {} {} collides with the local stack's /local/ routes",
            route.method, route.path
        ));
    }
    Ok(())
}

fn call<'a>(head: &'a Head, bytes: &Bytes, source_ip: &'a str) -> HttpCall<'a> {
    HttpCall {
        method: &head.method,
        raw_path: &head.raw_path,
        raw_query: head.raw_query.as_deref(),
        headers: &head.headers,
        body: (!bytes.is_empty()).then(|| String::from_utf8_lossy(bytes).into_owned()),
        source_ip,
    }
}

fn log_request(head: &Head, response: &HttpResponse, started: Instant, note: &str) {
    let query = head
        .raw_query
        .as_ref()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    let note = if note.is_empty() {
        String::new()
    } else {
        format!(" ({note})")
    };
    println!(
        "{} {} {}{query} -> {} {:.1} ms{note}",
        Utc::now().format("%H:%M:%S%.3f"),
        head.method,
        head.raw_path,
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
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
    let mut response = hyper::Response::from_parts(parts, http_body_util::Full::new(bytes));
    if has_body && !response.headers().contains_key(CONTENT_TYPE) {
        insert(&mut response, "content-type", "application/json");
    }
    response
}

/// A random (version 4) UUID, as API Gateway's request ids are.
fn request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut id = String::with_capacity(36);
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuids() {
        let id = request_id();
        assert_eq!(id.len(), 36);
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert!(id
            .chars()
            .all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(id, request_id());
    }
}
