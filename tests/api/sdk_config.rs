//! The SDK configuration the functions build from the Lambda environment
//! (`patgate::sdk_config`): a client built from it reaches the table through the
//! endpoint variables, signs with the environment's credentials, and goes to AWS when
//! the endpoint variables are to be ignored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use patgate::sdk_config::from_environment;
use patgate::store::TokenStore;
use patgate::token::TokenHash;
use patgate_tests::*;

fn lambda_environment(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "ASIALAMBDAROLE"),
        ("AWS_SECRET_ACCESS_KEY", "lambda-role-secret"),
        ("AWS_SESSION_TOKEN", "lambda-role-session"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

/// Records each request's URI and Authorization header; with `stop`, fails the
/// request instead of sending it.
#[derive(Debug, Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<(String, String)>>>,
    stop: bool,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let authorization = request
            .headers()
            .get("authorization")
            .unwrap_or_default()
            .to_owned();
        self.seen
            .lock()
            .unwrap()
            .push((request.uri().to_owned(), authorization));
        if self.stop {
            Err("stopped before sending".into())
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_store_built_from_the_lambda_environment_reads_the_table() {
    let app = TestApp::new().await;
    let caller = app.user("sdk-env-user", &["User"], None).await;
    let issued = app.issue(&caller).await;

    let endpoint = endpoint();
    let env = lambda_environment(&[("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str())]);
    let config = from_environment(|name| env.get(name).cloned()).expect("fast path");
    let recorder = Recorder::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(recorder.clone())
            .build(),
    );
    let store = TokenStore::new(client, app.table.name());
    let found = store
        .authorization_lookup(&TokenHash::of(&issued.token))
        .await
        .expect("the read succeeds");
    assert!(found.is_some(), "the issued token's hash item is found");

    let seen = recorder.seen.lock().unwrap().clone();
    assert!(!seen.is_empty());
    for (uri, authorization) in &seen {
        assert!(uri.starts_with(&endpoint), "{uri} is not {endpoint}");
        assert!(
            authorization.contains("Credential=ASIALAMBDAROLE/"),
            "signed with the environment's key: {authorization}"
        );
        assert!(!authorization.contains("lambda-role-secret"));
    }
}

#[tokio::test]
async fn ignored_endpoint_variables_send_requests_to_aws() {
    let env = lambda_environment(&[
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9"),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
    ]);
    let config = from_environment(|name| env.get(name).cloned()).expect("fast path");
    let recorder = Recorder {
        stop: true,
        ..Recorder::default()
    };
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(recorder.clone())
            .build(),
    );
    let outcome = client.list_tables().send().await;
    assert!(outcome.is_err(), "the recorder stops every request");
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "https://dynamodb.us-east-1.amazonaws.com/");
}
