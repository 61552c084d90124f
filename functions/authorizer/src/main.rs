#![forbid(unsafe_code)]

use authorizer::Authorizer;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patgate::config::Settings;
use patgate::metrics::Metrics;
use patgate::permissions::PermissionConfig;
use patgate::store::{connect, TokenStore};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init_without_handler_error_lines();
    let settings = Settings::from_env()?;
    let permissions = PermissionConfig::load(&settings.config_path)?;
    let store = TokenStore::new(connect().await, settings.table_name.clone());
    let metrics = Metrics::stdout(&settings);
    let authorizer = Authorizer::new(&settings, store, permissions).with_metrics(metrics);
    run(service_fn(|event: LambdaEvent<Value>| {
        authorizer.handle(event.payload, chrono::Utc::now())
    }))
    .await
}
