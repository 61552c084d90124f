//! The development-only routes under `/local/`, which exist in patgate-local alone:
//! `POST /local/session` (a session for a demo user, standing in for the web UI's
//! Cognito sign-in), `POST /local/reminders` (one run of the reminder job now, at the
//! functions' clock) and, with `--dev-clock-control`, `GET|PUT /local/clock` (shifts
//! the clock the functions see, to test expiry and reminders end to end).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use lambda_http::{Body, Request};
use patgate::api::{json_object, MAX_BODY_BYTES};
use patgate::error::ApiError;
use patgate::store::TokenStore;
use patgate::user::UserId;
use serde_json::{json, Map, Value};

use crate::answers::GatewayAnswers;
use crate::event::HttpCall;
use crate::lifecycle::Lifecycle;
use crate::response::{insert, json as json_response, HttpResponse};
use crate::session::{SessionKeys, MAX_TTL};

/// Largest clock shift `PUT /local/clock` accepts: ten years either way.
const MAX_CLOCK_OFFSET_SECONDS: i64 = 10 * 366 * 86_400;

/// The clock handed to the functions as `now`.
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

pub struct LocalRoutes {
    pub sessions: Arc<SessionKeys>,
    pub clock: Arc<Clock>,
    pub clock_control: bool,
    /// Where sessions are minted for: users must exist there.
    pub store: TokenStore,
    pub lifecycle: Arc<Lifecycle>,
}

/// Whether `raw_path` belongs to the `/local/` routes.
pub fn is_local(raw_path: &str) -> bool {
    raw_path == "/local" || raw_path.starts_with("/local/")
}

impl LocalRoutes {
    pub async fn serve(&self, call: &HttpCall<'_>, answers: &GatewayAnswers) -> HttpResponse {
        let answer = match (call.method, call.raw_path) {
            ("OPTIONS", "/local/session") => return answers.preflight(),
            ("POST", "/local/session") => self.create_session(call).await,
            ("GET" | "PUT", "/local/clock") if self.clock_control => self.clock_route(call),
            ("POST", "/local/reminders") => self.run_reminders().await,
            _ => return answers.missing_token(),
        };
        let (status, body) = match answer {
            Ok(body) => (200, body),
            Err(LocalError::Api(err)) => (err.status().as_u16(), err.body()),
            Err(LocalError::Described(err, message)) => {
                let mut body = err.body();
                body["error"]["message"] = json!(message);
                (err.status().as_u16(), body)
            }
        };
        let mut response = json_response(status, &body);
        insert(&mut response, "cache-control", "no-store");
        insert(
            &mut response,
            "access-control-allow-origin",
            answers.web_origin(),
        );
        response
    }

    /// `POST /local/session {"userId", "ttlSeconds"?}`: a session JWT for a user of the table.
    async fn create_session(&self, call: &HttpCall<'_>) -> Result<Value, LocalError> {
        let body = object_with(call, &["userId", "ttlSeconds"])?;
        let user_id = body
            .get("userId")
            .and_then(Value::as_str)
            .and_then(UserId::parse)
            .ok_or_else(|| ApiError::invalid("userId", "is required, a user id string"))?;
        let ttl = match body.get("ttlSeconds") {
            None | Some(Value::Null) => MAX_TTL,
            Some(value) => value
                .as_u64()
                .filter(|s| (1..=MAX_TTL.as_secs()).contains(s))
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "ttlSeconds",
                        format!("must be a whole number from 1 to {}", MAX_TTL.as_secs()),
                    )
                })?,
        };
        match self.store.get_user(&user_id).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err(LocalError::Described(ApiError::NotFound, format!("no user {user_id} in the table; the demo users are demo-viewer, demo-user, demo-manager, demo-admin, demo-inactive"))),
            Err(err) => {
                eprintln!("patgate-local: reading user {user_id}: {err}");
                return Err(ApiError::Unavailable.into());
            }
        }
        let now = Utc::now();
        let session = self.sessions.mint(user_id.as_str(), now, ttl);
        let expires_at = now + chrono::Duration::seconds(ttl.as_secs() as i64);
        Ok(json!({
            "userId": user_id.as_str(),
            "session": session,
            "expiresAt": expires_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }))
    }

    /// `POST /local/reminders`: the reminder job, once, at the functions' clock.
    async fn run_reminders(&self) -> Result<Value, LocalError> {
        let now = self.clock.now();
        match self.lifecycle.run_reminders(now).await {
            Ok(report) => Ok(json!({
                "ranAt": now.to_rfc3339_opts(SecondsFormat::Secs, true),
                "report": report,
                "eventsFile": self.lifecycle.sink.path().display().to_string(),
            })),
            Err(err) => {
                eprintln!("patgate-local: reminder run: {err}");
                Err(ApiError::Unavailable.into())
            }
        }
    }

    /// `GET|PUT /local/clock {"offsetSeconds"}`.
    fn clock_route(&self, call: &HttpCall<'_>) -> Result<Value, LocalError> {
        if call.method == "PUT" {
            let body = object_with(call, &["offsetSeconds"])?;
            let seconds = body
                .get("offsetSeconds")
                .and_then(Value::as_i64)
                .filter(|s| s.abs() <= MAX_CLOCK_OFFSET_SECONDS)
                .ok_or_else(|| ApiError::invalid("offsetSeconds", "a whole number of seconds"))?;
            self.clock.set_offset(seconds);
        }
        Ok(json!({
            "offsetSeconds": self.clock.offset(),
            "now": self.clock.now().to_rfc3339_opts(SecondsFormat::Secs, true),
        }))
    }
}

/// A failed `/local/` call: the token API's error, or one of its kinds with a message
/// of its own.
#[derive(Debug)]
enum LocalError {
    Api(ApiError),
    Described(ApiError, String),
}

impl From<ApiError> for LocalError {
    fn from(err: ApiError) -> Self {
        LocalError::Api(err)
    }
}

/// The body as a JSON object (read as the token API reads its bodies) with only
/// `allowed` keys.
fn object_with(
    call: &HttpCall<'_>,
    allowed: &'static [&'static str],
) -> Result<Map<String, Value>, ApiError> {
    let body = call.body.clone().map(Body::from).unwrap_or(Body::Empty);
    json_object(&Request::new(body), allowed, MAX_BODY_BYTES, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(body: Option<&str>) -> HttpCall<'static> {
        HttpCall {
            method: "POST",
            raw_path: "/local/session",
            raw_query: None,
            headers: &[],
            body: body.map(str::to_owned),
            source_ip: "127.0.0.1",
        }
    }

    #[test]
    fn local_bodies_are_strict_objects() {
        assert!(object_with(&call(Some(r#"{"userId":"a"}"#)), &["userId"]).is_ok());
        assert_eq!(
            object_with(&call(None), &["userId"]).unwrap_err().body()["error"]["code"],
            "invalid_json"
        );
        assert_eq!(
            object_with(&call(Some("[]")), &["userId"])
                .unwrap_err()
                .body()["error"]["code"],
            "invalid_json"
        );
        assert_eq!(
            object_with(&call(Some(r#"{"x":1}"#)), &["userId"])
                .unwrap_err()
                .body()["error"]["field"],
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
