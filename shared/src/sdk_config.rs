//! The AWS SDK configuration every function builds once, at cold start.
//!
//! Lambda hands a function its region and its role's credentials in the environment
//! (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
//! aws-config's default chains would find them too, but only after work a function
//! does not need at cold start: reading the shared config and credentials files,
//! building the whole credentials chain (profile, web identity, ECS, IMDS, SSO) and a
//! dozen providers that each look for a setting. When the environment already has
//! the region and credentials, [`load`] builds the configuration from it directly;
//! otherwise (a developer's machine with a profile, SnapStart's container credentials)
//! it falls back to aws-config's default chain.
//!
//! The direct path also defers loading the trust store. The SDK's default HTTPS client
//! builds its TLS connector, reading and parsing every root certificate of the system,
//! as soon as a client is built, so that work sits in every function's cold start
//! before the runtime asks for its first event. Here the same client (hyper 1, rustls,
//! on ring rather than the default aws-lc: see the workspace manifest) builds its
//! connector when the first request needs it. It is the only HTTP client in the
//! build: every SDK client, the fallback chain's included, is handed it.
//!
//! On the direct path the configuration keeps what the functions rely on from the
//! environment: the service endpoint variables (`AWS_ENDPOINT_URL_DYNAMODB`,
//! `AWS_ENDPOINT_URL_EVENTBRIDGE`, `AWS_ENDPOINT_URL`, and
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`), `AWS_USE_FIPS_ENDPOINT` and
//! `AWS_USE_DUALSTACK_ENDPOINT`. Retries, timeouts, the identity cache, sleeping and
//! the clock are the SDK's defaults for the behavior version, as the loader gives them
//! when nothing overrides them.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The credentials' provider name, as the SDK's own environment provider names them.
const PROVIDER_NAME: &str = "LambdaEnvironment";

/// The global endpoint variable; each service also reads `AWS_ENDPOINT_URL_<SERVICE>`.
const ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";

/// The SDK configuration: from the Lambda environment when it holds a region and
/// credentials, else from aws-config's default chain.
pub async fn load() -> SdkConfig {
    match from_environment(|name| std::env::var(name).ok()) {
        Some(config) => config,
        None => {
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(https_client())
                .load()
                .await
        }
    }
}

/// The configuration built from environment variables alone, read through `lookup`;
/// `None` when the region or the credentials are missing (then the default chain
/// must look further). Empty values count as missing, as the SDK counts them.
pub fn from_environment(lookup: impl Fn(&str) -> Option<String>) -> Option<SdkConfig> {
    let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"))?;
    let access_key_id = get("AWS_ACCESS_KEY_ID")?;
    let secret_access_key = get("AWS_SECRET_ACCESS_KEY")?;
    let credentials = Credentials::new(
        access_key_id,
        secret_access_key,
        get("AWS_SESSION_TOKEN"),
        None,
        PROVIDER_NAME,
    );
    let endpoints = EnvironmentEndpoints::read(&get);
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(https_client());
    builder.set_use_fips(get("AWS_USE_FIPS_ENDPOINT").and_then(|v| flag(&v)));
    builder.set_use_dual_stack(get("AWS_USE_DUALSTACK_ENDPOINT").and_then(|v| flag(&v)));
    Some(builder.service_config(endpoints).build())
}

/// The one TLS stack of the build: rustls on ring.
fn tls_provider() -> tls::Provider {
    tls::Provider::Rustls(CryptoMode::Ring)
}

/// The HTTPS client of every SDK client (plain HTTP too, for local endpoints), built
/// to load the trust store on the first request.
pub fn https_client() -> SharedHttpClient {
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls_provider())
        .build_https();
    OnFirstRequest(client).into_shared()
}

/// The same client stack (hyper 1, rustls on ring) as a connector of its own, for the
/// one call the functions make outside AWS: fetching GitHub's secret scanning keys
/// ([`crate::github`]). It loads the trust store when it is built, so build it when the
/// first fetch needs it. Plain HTTP works too (a local key server in tests).
pub fn https_connector() -> aws_smithy_http_client::Connector {
    aws_smithy_http_client::Connector::builder()
        .tls_provider(tls_provider())
        .build()
}

/// An HTTP client that skips the eager start of the client it wraps: the SDK calls
/// `validate_base_client_config` when a client is built, and the default client uses
/// that call to build its connector. Everything else is the wrapped client's.
#[derive(Debug)]
struct OnFirstRequest(SharedHttpClient);

impl HttpClient for OnFirstRequest {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// `true`/`false` in any case, as the SDK reads its boolean variables; anything else is
/// left unset (the SDK's default) rather than guessed.
fn flag(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// The environment's endpoint settings, read once: `AWS_ENDPOINT_URL_<SERVICE>` before
/// `AWS_ENDPOINT_URL`, none of them when `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` is true.
/// Each SDK client asks its configuration for its own service's value when it is built.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentEndpoints {
    /// (variable name, value) of every `AWS_ENDPOINT_URL*` variable that is set.
    values: Vec<(String, String)>,
}

impl EnvironmentEndpoints {
    /// The services whose clients the functions build, and the global variable.
    const VARIABLES: [&'static str; 3] = [
        ENDPOINT_URL,
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_EVENTBRIDGE",
    ];

    fn read(get: &impl Fn(&str) -> Option<String>) -> Self {
        if get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").and_then(|v| flag(&v)) == Some(true) {
            return EnvironmentEndpoints::default();
        }
        let values = Self::VARIABLES
            .iter()
            .filter_map(|name| get(name).map(|value| (name.to_string(), value)))
            .collect();
        EnvironmentEndpoints { values }
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(variable, _)| variable == name)
            .map(|(_, value)| value.as_str())
    }
}

impl LoadServiceConfig for EnvironmentEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        // The SDK's rule: the service's variable (its service id upper-cased, spaces as
        // underscores) first, then the global one.
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        self.value(&format!("{}_{service}", key.env()))
            .or_else(|| self.value(key.env()))
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use aws_sdk_dynamodb::config::ProvideCredentials;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const LAMBDA: [(&str, &str); 4] = [
        ("AWS_REGION", "eu-west-3"),
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG"),
        ("AWS_SESSION_TOKEN", "IQoJb3JpZ2luX2VjEXAMPLE"),
    ];

    fn endpoint_of(config: &SdkConfig, service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env(ENDPOINT_URL)
            .profile("endpoint_url")
            .build()
            .unwrap();
        config.service_config()?.load_config(key)
    }

    async fn credentials_of(config: &SdkConfig) -> Credentials {
        config
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn lambda_environment_gives_region_and_the_role_credentials() {
        let config = from_environment(env(&LAMBDA)).expect("a full Lambda environment");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-3"));
        let credentials = credentials_of(&config).await;
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "wJalrXUtnFEMI/K7MDENG");
        assert_eq!(credentials.session_token(), Some("IQoJb3JpZ2luX2VjEXAMPLE"));
        assert_eq!(config.behavior_version(), Some(BehaviorVersion::latest()));
        assert_eq!(endpoint_of(&config, "DynamoDB"), None);
        assert_eq!(config.use_fips(), None);
        let client = config.http_client().expect("an HTTP client");
        assert!(
            format!("{client:?}").contains("OnFirstRequest"),
            "{client:?}"
        );
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let config = from_environment(env(&LAMBDA)).unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
        assert!(!text.contains("IQoJb3JpZ2lu"), "{text}");
    }

    #[test]
    fn anything_missing_leaves_it_to_the_default_chain() {
        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let pairs: Vec<_> = LAMBDA
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            assert!(from_environment(env(&pairs)).is_none(), "without {missing}");
            let blank: Vec<_> = LAMBDA
                .iter()
                .map(|&(k, v)| if k == missing { (k, " ") } else { (k, v) })
                .collect();
            assert!(from_environment(env(&blank)).is_none(), "blank {missing}");
        }
    }

    #[tokio::test]
    async fn session_token_and_region_variants() {
        let pairs = [
            ("AWS_DEFAULT_REGION", "us-east-2"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ];
        let config = from_environment(env(&pairs)).unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-2"));
        let credentials = credentials_of(&config).await;
        assert_eq!(credentials.session_token(), None);

        let both = [
            ("AWS_REGION", "eu-central-1"),
            ("AWS_DEFAULT_REGION", "us-east-2"),
        ];
        let pairs: Vec<_> = pairs[1..].iter().chain(&both).copied().collect();
        let config = from_environment(env(&pairs)).unwrap();
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-central-1"));
    }

    #[test]
    fn service_endpoint_before_the_global_one() {
        let mut pairs = LAMBDA.to_vec();
        pairs.push(("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"));
        pairs.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"));
        let config = from_environment(env(&pairs)).unwrap();
        assert_eq!(
            endpoint_of(&config, "DynamoDB").as_deref(),
            Some("http://127.0.0.1:8000")
        );
        assert_eq!(
            endpoint_of(&config, "EventBridge").as_deref(),
            Some("http://127.0.0.1:4566")
        );

        pairs.push(("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"));
        let config = from_environment(env(&pairs)).unwrap();
        assert_eq!(endpoint_of(&config, "DynamoDB"), None);
        assert_eq!(endpoint_of(&config, "EventBridge"), None);
    }

    #[test]
    fn fips_and_dual_stack_flags() {
        let mut pairs = LAMBDA.to_vec();
        pairs.push(("AWS_USE_FIPS_ENDPOINT", "true"));
        pairs.push(("AWS_USE_DUALSTACK_ENDPOINT", "False"));
        let config = from_environment(env(&pairs)).unwrap();
        assert_eq!(config.use_fips(), Some(true));
        assert_eq!(config.use_dual_stack(), Some(false));

        let mut pairs = LAMBDA.to_vec();
        pairs.push(("AWS_USE_FIPS_ENDPOINT", "yes"));
        let config = from_environment(env(&pairs)).unwrap();
        assert_eq!(config.use_fips(), None);
    }
}
