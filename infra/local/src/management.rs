//! The part of API Gateway's management API that the `revocations` function calls,
//! on a port of its own (the cloud's is `apigateway.{region}.amazonaws.com`):
//!
//! - `DELETE /restapis/{id}/stages/{stage}/cache/authorizers`
//!   (`FlushStageAuthorizersCache`, REST APIs): 202;
//! - `DELETE /v2/apis/{id}/stages/{stage}/cache/authorizers`
//!   (`ResetAuthorizersCache`, HTTP APIs): 204.
//!
//! Each registered stage empties its authorizer caches; an unknown stage is a 404
//! `NotFoundException`, as API Gateway answers it. Requests are not signed-checked
//! (any credentials do, as with DynamoDB Local); each one is recorded, so that tests
//! can evaluate them against the function's IAM policy.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use revocations::stages::{ApiKind, Stage};
use serde_json::json;
use tokio::net::TcpListener;

use crate::response::{insert, json, with_body, HttpResponse};

/// What a flush of one stage empties.
pub type FlushTarget = Arc<dyn Fn() + Send + Sync>;

/// One request the management endpoint received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagementRequest {
    pub method: String,
    /// Percent-decoded.
    pub path: String,
    pub status: u16,
}

/// The stages this endpoint knows, by their cache path.
#[derive(Default)]
pub struct Management {
    targets: BTreeMap<String, (ApiKind, FlushTarget)>,
    requests: Mutex<Vec<ManagementRequest>>,
}

impl Management {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `stage`: a flush of it calls `flush`.
    pub fn register(&mut self, stage: &Stage, flush: FlushTarget) {
        self.targets.insert(stage.cache_path(), (stage.kind, flush));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ManagementRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Answers one request.
    pub fn answer(&self, method: &str, raw_path: &str) -> HttpResponse {
        let path = percent_decode_str(raw_path)
            .decode_utf8_lossy()
            .into_owned();
        let is_cache_path = path.ends_with("/cache/authorizers")
            && (path.starts_with("/restapis/") || path.starts_with("/v2/apis/"));
        let response = match (method, self.targets.get(&path)) {
            ("DELETE", Some((kind, flush))) => {
                flush();
                match kind {
                    ApiKind::Rest => with_body(202, ""),
                    ApiKind::Http => with_body(204, ""),
                }
            }
            (_, Some(_)) => error(405, "MethodNotAllowedException", "Method not allowed"),
            (_, None) if is_cache_path => error(
                404,
                "NotFoundException",
                "Invalid stage identifier specified",
            ),
            (_, None) => error(
                404,
                "NotFoundException",
                "Not part of the local stack's API Gateway management emulation",
            ),
        };
        if let Ok(mut requests) = self.requests.lock() {
            requests.push(ManagementRequest {
                method: method.to_owned(),
                path,
                status: response.status().as_u16(),
            });
        }
        response
    }

    /// Serves `listener` until the task is dropped.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        let http = hyper::server::conn::http1::Builder::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            };
            let management = self.clone();
            let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let response = management.answer(request.method().as_str(), request.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    }
}

/// An error as API Gateway's management API answers it.
fn error(status: u16, kind: &str, message: &str) -> HttpResponse {
    let mut response = json(status, &json!({ "message": message }));
    insert(&mut response, "x-amzn-ErrorType", kind);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn registered_stages_are_flushed_and_others_are_not_found() {
        let flushed = Arc::new(AtomicU32::new(0));
        let mut management = Management::new();
        let counter = flushed.clone();
        let stages =
            revocations::stages::parse_stages("X", "rest:abc/v1,http:xyz/$default").unwrap();
        for stage in &stages {
            let counter = counter.clone();
            management.register(
                stage,
                Arc::new(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                }),
            );
        }
        let rest = management.answer("DELETE", "/restapis/abc/stages/v1/cache/authorizers");
        assert_eq!(rest.status(), 202);
        let http = management.answer("DELETE", "/v2/apis/xyz/stages/%24default/cache/authorizers");
        assert_eq!(http.status(), 204);
        assert_eq!(flushed.load(Ordering::SeqCst), 2);
        let other = management.answer("DELETE", "/restapis/abc/stages/v2/cache/authorizers");
        assert_eq!(other.status(), 404);
        assert_eq!(other.headers()["x-amzn-ErrorType"], "NotFoundException");
        assert_eq!(
            management
                .answer("GET", "/restapis/abc/stages/v1/cache/authorizers")
                .status(),
            405
        );
        assert_eq!(
            flushed.load(Ordering::SeqCst),
            2,
            "only DELETEs of known stages flush"
        );
        let seen = management.requests();
        assert_eq!(seen.len(), 4);
        assert_eq!(
            seen[1].path,
            "/v2/apis/xyz/stages/$default/cache/authorizers"
        );
    }
}
