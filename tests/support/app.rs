//! [`TestApp`]: a table of its own, the token API's handlers and the authorizer,
//! called the way API Gateway calls them, with the setup most tests repeat (a user,
//! then a token) in one call.

use authorizer::{Authorizer, AuthorizerError, AuthorizerResponse};
use chrono::{DateTime, Utc};
use http::HeaderMap;
use lambda_http::{Body, Request, Response};
use patgate::service::TokenService;
use serde_json::{json, Value};

use crate::{
    body_text, date_in, json_body, method_arn, proxy_event, proxy_event_with_query, request,
    request_authorizer_event, Caller, TestTable,
};
use patgate::github::keys::GitHubKeys;

/// A REST proxy event of GitHub's alert: the sample event with `headers` added.
pub fn github_event(headers: &[(String, String)], body: &str) -> Value {
    let path = "/integrations/github/secret-scanning";
    let mut event = proxy_event("POST", path, path, Some(body), &Caller::Anonymous);
    for (name, value) in headers {
        event["headers"][name] = json!(value);
        event["multiValueHeaders"][name] = json!([value]);
    }
    event
}

/// A handler's answer, read.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: HeaderMap,
}

impl Answer {
    pub fn of(response: Response<Body>) -> Self {
        Answer {
            status: response.status().as_u16(),
            body: json_body(&response),
            text: body_text(&response),
            headers: response.headers().clone(),
        }
    }

    /// `error.code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// `error.field` of a field error.
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }
}

/// A token issued by [`TestApp::issue`].
#[derive(Debug, Clone)]
pub struct Issued {
    pub id: String,
    pub token: String,
    pub body: Value,
}

pub struct TestApp {
    pub table: TestTable,
    pub service: TokenService,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(&[]).await
    }

    /// With settings overridden (`MAX_TOKENS_PER_USER`, ...).
    pub async fn with(overrides: &[(&str, &str)]) -> Self {
        let table = TestTable::new().await;
        let service = table.service_with(overrides);
        TestApp { table, service }
    }

    /// A test app on another table (e.g. behind a proxy, or a private DynamoDB).
    pub fn on(table: TestTable, overrides: &[(&str, &str)]) -> Self {
        let service = table.service_with(overrides);
        TestApp { table, service }
    }

    /// An active user with `roles`, signed in to the web UI.
    pub async fn user(&self, id: &str, roles: &[&str], time_zone: Option<&str>) -> Caller {
        self.table.add_user(id, roles, time_zone).await;
        Caller::Session(id.to_owned())
    }

    fn call(
        &self,
        method: &str,
        resource: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&str>,
        caller: &Caller,
    ) -> Request {
        request(&proxy_event_with_query(
            method, resource, path, query, body, caller,
        ))
    }

    pub async fn create(&self, caller: &Caller, body: Value) -> Answer {
        self.create_at(caller, body, Utc::now()).await
    }

    pub async fn create_at(&self, caller: &Caller, body: Value, now: DateTime<Utc>) -> Answer {
        self.create_raw(caller, &body.to_string(), now).await
    }

    /// `POST /tokens` with `text` as the body, as sent.
    pub async fn create_raw(&self, caller: &Caller, text: &str, now: DateTime<Utc>) -> Answer {
        let request = self.call("POST", "/tokens", "/tokens", &[], Some(text), caller);
        Answer::of(create_token::handle(&self.service, request, now).await)
    }

    /// `POST /tokens` with an `Idempotency-Key` header.
    pub async fn create_keyed(&self, caller: &Caller, body: Value, key: &str) -> Answer {
        let text = body.to_string();
        let mut request = self.call("POST", "/tokens", "/tokens", &[], Some(&text), caller);
        request.headers_mut().insert(
            "Idempotency-Key",
            http::HeaderValue::from_str(key).expect("a header value"),
        );
        Answer::of(create_token::handle(&self.service, request, Utc::now()).await)
    }

    /// A token for `caller` expiring in 30 days (UTC); panics unless created.
    pub async fn issue(&self, caller: &Caller) -> Issued {
        self.issue_with(caller, json!({})).await
    }

    /// Like [`TestApp::issue`], with fields of `extra` added to the body.
    pub async fn issue_with(&self, caller: &Caller, extra: Value) -> Issued {
        let mut body = json!({
            "name": "test token",
            "expiresOn": date_in(30, chrono_tz::Tz::UTC, Utc::now()),
            "timeZone": "UTC",
        });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let answer = self.create(caller, body).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        Issued {
            id: answer.body["id"].as_str().expect("id").to_owned(),
            token: answer.body["token"].as_str().expect("token").to_owned(),
            body: answer.body,
        }
    }

    pub async fn list(&self, caller: &Caller) -> Answer {
        self.list_query(caller, &[], Utc::now()).await
    }

    /// `GET /tokens?…` at `now`.
    pub async fn list_query(
        &self,
        caller: &Caller,
        query: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Answer {
        let request = self.call("GET", "/tokens", "/tokens", query, None, caller);
        Answer::of(list_tokens::handle(&self.service, request, now).await)
    }

    /// The names of `caller`'s live tokens, newest first.
    pub async fn names(&self, caller: &Caller) -> Vec<String> {
        let answer = self.list(caller).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        answer.body["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .map(|t| t["name"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    pub async fn revoke(&self, caller: &Caller, id: &str) -> Answer {
        let path = format!("/tokens/{id}");
        let request = self.call("DELETE", "/tokens/{id}", &path, &[], None, caller);
        Answer::of(revoke_token::handle(&self.service, request, Utc::now()).await)
    }

    pub async fn rotate(&self, caller: &Caller, id: &str, body: Value) -> Answer {
        self.rotate_at(caller, id, body, Utc::now()).await
    }

    pub async fn rotate_at(
        &self,
        caller: &Caller,
        id: &str,
        body: Value,
        now: DateTime<Utc>,
    ) -> Answer {
        let path = format!("/tokens/{id}/rotate");
        let text = body.to_string();
        let request = self.call(
            "POST",
            "/tokens/{id}/rotate",
            &path,
            &[],
            Some(&text),
            caller,
        );
        Answer::of(rotate_token::handle(&self.service, request, now).await)
    }

    /// `POST /credentials/revoke` with `body` (no caller: the route has no authorizer).
    pub async fn report(&self, body: &str) -> Answer {
        let request = self.call(
            "POST",
            "/credentials/revoke",
            "/credentials/revoke",
            &[],
            Some(body),
            &Caller::Anonymous,
        );
        Answer::of(revoke_credentials::handle(&self.service, request, Utc::now()).await)
    }

    /// `POST /integrations/github/secret-scanning` with `headers` added to the sample
    /// event's and `body` as sent, answered with `keys`.
    pub async fn github_alert(
        &self,
        keys: &GitHubKeys,
        headers: &[(String, String)],
        body: &str,
    ) -> Answer {
        let request = request(&github_event(headers, body));
        Answer::of(
            revoke_credentials::handle_github(&self.service, keys, request, Utc::now()).await,
        )
    }

    /// The authorizer over this app's table and settings.
    pub fn authorizer(&self) -> Authorizer {
        Authorizer::new(
            &self.service.settings,
            self.service.store.clone(),
            crate::test_permissions(),
        )
    }

    /// One REQUEST authorizer decision for `Bearer token` on `METHOD path` at `now`.
    pub async fn authorize(
        &self,
        authorizer: &Authorizer,
        token: &str,
        method: &str,
        path: &str,
        now: DateTime<Utc>,
    ) -> Result<AuthorizerResponse, AuthorizerError> {
        let event =
            request_authorizer_event(Some(&format!("Bearer {token}")), &method_arn(method, path));
        authorizer.handle(event, now).await
    }

    /// Whether `Bearer token` may call `METHOD path` now: the authorizer's answer for
    /// that call's route, applied to that call as API Gateway applies it.
    pub async fn allows(
        &self,
        authorizer: &Authorizer,
        token: &str,
        method: &str,
        path: &str,
    ) -> bool {
        let answer = self
            .authorize(authorizer, token, method, path, Utc::now())
            .await
            .expect("a decision");
        answer
            .policy()
            .expect("a REST API answer is a policy")
            .policy_document
            .allows(&method_arn(method, path))
    }
}
