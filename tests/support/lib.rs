//! Test support: template.yaml as the local stack reads it, DynamoDB Local
//! connections, one fresh table per test (created from template.yaml's table), API
//! Gateway events built from the real samples in `tests/fixtures/events`, a
//! [`TestApp`] that calls the real handlers, and a fault-injecting, metering proxy
//! in front of DynamoDB Local ([`proxy`]).
//!
//! Tests use the DynamoDB Local that the test command starts (`PATGATE_TEST_DYNAMODB`,
//! default `http://127.0.0.1:8000`); a test that must stop DynamoDB mid-run starts a
//! private instance with [`private_dynamodb`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use lambda_http::{Body, Request, Response};
use patgate::config::Settings;
use patgate::directory::{Directory, UserWrite};
use patgate::permissions::{ExecuteApiArn, PermissionConfig, PATGATE_API, STAGE_VARIABLE};
use patgate::service::TokenService;
use patgate::store::TokenStore;
use patgate::user::{User, UserId};
use patgate_local::dynamodb::{DynamoDbLocal, Launch};
use patgate_local::sam::{self, LocalApi, LocalContext};
use serde_json::{json, Value};

pub mod app;
pub mod github;
pub mod proxy;
pub mod sink;

pub use app::{Answer, Issued, TestApp};
pub use sink::CapturedSink;

pub const WEB_ORIGIN: &str = "https://portal.example.com";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// template.yaml as the local stack reads it (its local parameters, the demo API
/// on), with [`WEB_ORIGIN`] as the web origin.
pub fn template() -> &'static LocalApi {
    static TEMPLATE: OnceLock<LocalApi> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let overrides = BTreeMap::from([("WebOrigin".to_owned(), WEB_ORIGIN.to_owned())]);
        sam::load(
            &repo_root().join("template.yaml"),
            &sam::local_parameters(&overrides),
            &LocalContext::default(),
        )
        .expect("template.yaml reads")
    })
}

/// The demo permission configuration, `infra/config/permissions.json`, as the
/// functions load it at cold start.
pub fn demo_permissions() -> PermissionConfig {
    static DEMO: OnceLock<PermissionConfig> = OnceLock::new();
    DEMO.get_or_init(|| {
        PermissionConfig::load(&demo_config_path()).expect("the demo permission configuration")
    })
    .clone()
}

/// The demo configuration with table `patgate` also listing the test API's id
/// ([`TEST_API_ID`]): a TOKEN event names no stage variable, so only a table that lists
/// its API id can answer it. What the test authorizers load.
pub fn test_permissions() -> PermissionConfig {
    static TEST: OnceLock<PermissionConfig> = OnceLock::new();
    TEST.get_or_init(|| {
        let text = std::fs::read_to_string(demo_config_path()).expect("the demo file");
        let mut file: Value = serde_json::from_str(&text).expect("JSON");
        file["apis"][PATGATE_API]["apiIds"] = json!([TEST_API_ID]);
        PermissionConfig::from_json(&file.to_string()).expect("a valid configuration")
    })
    .clone()
}

pub fn demo_config_path() -> PathBuf {
    repo_root().join("infra/config/permissions.json")
}

pub fn endpoint() -> String {
    std::env::var("PATGATE_TEST_DYNAMODB").unwrap_or_else(|_| "http://127.0.0.1:8000".to_owned())
}

/// A DynamoDB client for the DynamoDB Local at `endpoint`.
pub fn client(endpoint: &str) -> Client {
    patgate::store::connect_local(endpoint)
}

/// template.yaml's tokens table.
pub fn tokens_table() -> &'static patgate_local::sam::TableDef {
    template()
        .table
        .as_ref()
        .expect("template.yaml declares the tokens table")
}

/// A table of its own for one test, in the shared DynamoDB Local.
pub struct TestTable {
    pub client: Client,
    pub store: TokenStore,
}

impl TestTable {
    pub async fn new() -> Self {
        Self::at(&endpoint()).await
    }

    pub async fn at(endpoint: &str) -> Self {
        Self::from_definition(endpoint, tokens_table()).await
    }

    /// The template's table without its GSIs, for the tests that watch DynamoDB
    /// Local's TTL sweeper: it leaves expired items of a table with a GSI in place
    /// (DynamoDB itself does not), so those tests use a table without one.
    pub async fn without_indexes(endpoint: &str) -> Self {
        let mut definition = tokens_table().clone();
        definition.global_secondary_indexes.clear();
        definition
            .attributes
            .retain(|(name, _)| definition.key_schema.iter().any(|(key, _)| key == name));
        Self::from_definition(endpoint, &definition).await
    }

    async fn from_definition(endpoint: &str, definition: &patgate_local::sam::TableDef) -> Self {
        let client = client(endpoint);
        let name = format!("patgate-test-{:016x}", rand::random::<u64>());
        let created = patgate_local::table::create_table(&client, &name, definition).await;
        let store = TokenStore::new(client.clone(), name);
        if let Err(err) = created {
            panic!(
                "cannot create a table in DynamoDB Local at {endpoint}: {err}\n\
                 Start it with `infra/scripts/dynamodb-local.sh start --in-memory` or run the test command."
            );
        }
        TestTable { client, store }
    }

    /// Another handle on the same table, reached through `endpoint` (a
    /// [`proxy::DynamoProxy`] in front of the same DynamoDB Local), so that a test can
    /// set up through one handle and watch what the code under test does through the
    /// other.
    pub fn through(&self, endpoint: &str) -> TestTable {
        let client = client(endpoint);
        TestTable {
            store: TokenStore::new(client.clone(), self.name()),
            client,
        }
    }

    pub fn name(&self) -> &str {
        self.store.table()
    }

    pub fn settings(&self) -> Settings {
        self.settings_with(&[])
    }

    pub fn settings_with(&self, overrides: &[(&str, &str)]) -> Settings {
        let table = self.name().to_owned();
        Settings::from_lookup(|name| {
            if let Some((_, value)) = overrides.iter().find(|(k, _)| *k == name) {
                return Some((*value).to_owned());
            }
            match name {
                "TABLE_NAME" => Some(table.clone()),
                "WEB_ORIGIN" => Some(WEB_ORIGIN.to_owned()),
                _ => None,
            }
        })
        .expect("test settings are valid")
    }

    pub fn service(&self) -> TokenService {
        self.service_with(&[])
    }

    pub fn service_with(&self, overrides: &[(&str, &str)]) -> TokenService {
        TokenService::new(
            self.settings_with(overrides),
            self.store.clone(),
            demo_permissions(),
        )
    }

    /// The directory's use cases over this table (user writes, service accounts,
    /// the inventory).
    pub fn directory(&self) -> Directory {
        Directory::new(self.service())
    }

    pub async fn add_user(&self, id: &str, roles: &[&str], time_zone: Option<&str>) -> UserId {
        let user = User {
            id: UserId::parse(id).expect("valid test user id"),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            time_zone: time_zone.map(|tz| tz.parse().expect("valid zone")),
            active: true,
        };
        self.directory()
            .put_user(&user.id, UserWrite::of(&user), Utc::now())
            .await
            .expect("put user");
        user.id
    }

    /// Every item in the table, read raw (a Scan is fine in tests: it checks what is stored).
    pub async fn all_items(&self) -> Vec<std::collections::HashMap<String, AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(self.name())
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return items,
            }
        }
    }

    pub async fn item(
        &self,
        pk: &str,
        sk: &str,
    ) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.client
            .get_item()
            .table_name(self.name())
            .key("pk", AttributeValue::S(pk.to_owned()))
            .key("sk", AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }
}

fn fixture(name: &str) -> Value {
    let path = repo_root().join("tests/fixtures/events").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// Who API Gateway says is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The web UI's session: a Cognito user pool authorizer puts the claims in the context.
    Session(String),
    /// The patgate Lambda authorizer's context.
    Authorizer(String),
    /// An IAM principal (this ARN) API Gateway authorized on an `AWS_IAM` route.
    Iam(String),
    Anonymous,
}

/// A REST API proxy event as API Gateway sends it to the token functions, built from SAM's sample.
pub fn proxy_event(
    method: &str,
    resource: &str,
    path: &str,
    body: Option<&str>,
    caller: &Caller,
) -> Value {
    let mut event = fixture("aws-proxy.json");
    event["httpMethod"] = json!(method);
    event["resource"] = json!(resource);
    event["path"] = json!(path);
    event["body"] = body.map_or(Value::Null, |b| json!(b));
    event["isBase64Encoded"] = json!(false);
    event["queryStringParameters"] = Value::Null;
    event["multiValueQueryStringParameters"] = Value::Null;
    let params: serde_json::Map<String, Value> = resource
        .split('/')
        .zip(path.split('/'))
        .filter_map(|(pattern, value)| {
            let name = pattern.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_owned(), json!(value)))
        })
        .collect();
    event["pathParameters"] = if params.is_empty() {
        Value::Null
    } else {
        Value::Object(params)
    };
    let context = &mut event["requestContext"];
    context["httpMethod"] = json!(method);
    context["resourcePath"] = json!(resource);
    context["path"] = json!(format!("/prod{path}"));
    match caller {
        Caller::Session(sub) => {
            context["authorizer"] = json!({"claims": {"sub": sub, "token_use": "id", "email": format!("{sub}@example.com")}})
        }
        Caller::Authorizer(user) => {
            context["authorizer"] =
                json!({"principalId": user, "userId": user, "tokenId": "x", "permissions": ""})
        }
        Caller::Iam(arn) => {
            context["identity"]["userArn"] = json!(arn);
            context["identity"]["accessKey"] = json!("AKIAEXAMPLE");
        }
        Caller::Anonymous => {}
    }
    event
}

/// Like [`proxy_event`], with query string parameters.
pub fn proxy_event_with_query(
    method: &str,
    resource: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&str>,
    caller: &Caller,
) -> Value {
    let mut event = proxy_event(method, resource, path, body, caller);
    if !query.is_empty() {
        let single: serde_json::Map<String, Value> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let multi: serde_json::Map<String, Value> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!([v])))
            .collect();
        event["queryStringParameters"] = Value::Object(single);
        event["multiValueQueryStringParameters"] = Value::Object(multi);
    }
    event
}

pub fn request(event: &Value) -> Request {
    lambda_http::request::from_str(&event.to_string()).expect("event converts to a request")
}

pub fn post_tokens(body: &Value, caller: &Caller) -> Request {
    request(&proxy_event(
        "POST",
        "/tokens",
        "/tokens",
        Some(&body.to_string()),
        caller,
    ))
}

pub fn get_tokens(caller: &Caller) -> Request {
    request(&proxy_event("GET", "/tokens", "/tokens", None, caller))
}

pub fn delete_token(id: &str, caller: &Caller) -> Request {
    request(&proxy_event(
        "DELETE",
        "/tokens/{id}",
        &format!("/tokens/{id}"),
        None,
        caller,
    ))
}

/// A TOKEN authorizer event (SAM's sample with our header and method ARN).
pub fn token_authorizer_event(authorization: &str, method_arn: &str) -> Value {
    let mut event = fixture("authorizer-token.json");
    event["authorizationToken"] = json!(authorization);
    event["methodArn"] = json!(method_arn);
    event
}

/// A REST API REQUEST authorizer event (SAM's sample with our header, method ARN,
/// and a caller at 198.51.100.7 with the user agent `patgate-tests/1.0`) on patgate's
/// own API (stage variable `patgateApi: patgate`). The route template is the demo
/// route the called path belongs to (the path itself when none).
pub fn request_authorizer_event(authorization: Option<&str>, method_arn: &str) -> Value {
    // An unreadable ARN (a bad-input case) keeps the route the sample names.
    let Some(arn) = ExecuteApiArn::parse(method_arn) else {
        return rest_authorizer_event(
            authorization,
            "GET",
            "/catalog",
            method_arn,
            Some(PATGATE_API),
        );
    };
    let path = format!("/{}", arn.path);
    let resource = demo_permissions()
        .table(PATGATE_API)
        .and_then(|table| table.route_of_call(arn.method, &path))
        .map(|route| route.path.clone())
        .unwrap_or_else(|| path.clone());
    rest_authorizer_event(
        authorization,
        arn.method,
        &resource,
        method_arn,
        Some(PATGATE_API),
    )
}

/// A REST API REQUEST authorizer event for the route `method resource`, called as
/// `method_arn`, on the API whose stage variable `patgateApi` is `api`.
pub fn rest_authorizer_event(
    authorization: Option<&str>,
    method: &str,
    resource: &str,
    method_arn: &str,
    api: Option<&str>,
) -> Value {
    let mut event = fixture("authorizer-request.json");
    if let Some(value) = authorization {
        event["headers"]["Authorization"] = json!(value);
    }
    event["headers"]["User-Agent"] = json!(USER_AGENT);
    event["requestContext"]["identity"]["sourceIp"] = json!(SOURCE_IP);
    event["methodArn"] = json!(method_arn);
    event["httpMethod"] = json!(method);
    event["resource"] = json!(resource);
    event["requestContext"]["httpMethod"] = json!(method);
    event["requestContext"]["resourcePath"] = json!(resource);
    if let Some(arn) = ExecuteApiArn::parse(method_arn) {
        let path = format!("/{}", arn.path);
        event["path"] = json!(path);
        event["requestContext"]["path"] = json!(path);
        event["requestContext"]["apiId"] = json!(arn.api_id);
    }
    event["stageVariables"] = match api {
        Some(name) => json!({ STAGE_VARIABLE: name }),
        None => Value::Null,
    };
    event
}

/// Where [`request_authorizer_event`]'s caller is.
pub const SOURCE_IP: &str = "198.51.100.7";
pub const USER_AGENT: &str = "patgate-tests/1.0";

/// The test API: its account and id.
pub const TEST_ACCOUNT: &str = "123456789012";
pub const TEST_API_ID: &str = "abcdef1234";

/// The ARN API Gateway passes for `METHOD /path` on the test API.
pub fn method_arn(method: &str, path: &str) -> String {
    format!("arn:aws:execute-api:us-east-1:{TEST_ACCOUNT}:{TEST_API_ID}/prod/{method}{path}")
}

pub fn json_body(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        Body::Binary(bytes) => serde_json::from_slice(bytes).expect("JSON body"),
        _ => Value::Null,
    }
}

pub fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    }
}

pub fn date_in(days: i64, zone: chrono_tz::Tz, now: DateTime<Utc>) -> String {
    (now.with_timezone(&zone).date_naive() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// A DynamoDB Local of a test's own (in memory, on a free port), for tests that stop
/// it mid-run; killed when dropped.
pub async fn private_dynamodb() -> DynamoDbLocal {
    DynamoDbLocal::start(&repo_root(), &Launch::private())
        .await
        .unwrap_or_else(|err| panic!("private DynamoDB Local: {err}"))
}

/// `store.put_user(&user)`: the directory's user write (record, fan-out, synced) over
/// a store, with the table's default settings, as `patgate-users put` runs it.
#[allow(async_fn_in_trait)]
pub trait PutUser {
    async fn put_user(
        &self,
        user: &User,
    ) -> Result<patgate::store::StoredUser, patgate::error::ApiError>;
}

impl PutUser for TokenStore {
    async fn put_user(
        &self,
        user: &User,
    ) -> Result<patgate::store::StoredUser, patgate::error::ApiError> {
        let table = self.table().to_owned();
        let settings = Settings::from_lookup(|name| (name == "TABLE_NAME").then(|| table.clone()))
            .expect("test settings are valid");
        let service = TokenService::new(settings, self.clone(), demo_permissions());
        Directory::new(service)
            .put_user(&user.id, UserWrite::of(user), Utc::now())
            .await
            .map(|(stored, _)| stored)
    }
}
