#![forbid(unsafe_code)]

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patgate::directory::Directory;
use patgate::service::TokenService;
use revocations::NoFlush;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    let directory = Directory::new(TokenService::from_env().await?);
    run(service_fn(|event: LambdaEvent<Event>| async {
        Ok::<_, Error>(
            revocations::handle(&directory, &NoFlush, event.payload, chrono::Utc::now()).await,
        )
    }))
    .await
}
