#![forbid(unsafe_code)]

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patgate::config::Settings;
use pre_traffic::{CodeDeployReporter, Hook, LambdaInvoker, Target};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    let settings = Settings::from_env()?;
    let target = Target::from_env()?;
    let config = patgate::sdk_config::load().await;
    let invoker = LambdaInvoker::new(aws_sdk_lambda::Client::new(&config), target.version_arn);
    let reporter = CodeDeployReporter::new(aws_sdk_codedeploy::Client::new(&config));
    let hook = Hook::new(invoker, reporter, settings.token_prefix, target.method_arn);
    run(service_fn(|event: LambdaEvent<Value>| async {
        hook.handle(event.payload).await.map_err(Error::from)
    }))
    .await
}
