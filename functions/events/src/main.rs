#![forbid(unsafe_code)]

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patgate::config::Settings;
use patgate::events::eventbridge::EventBridgeSink;
use patgate::metrics::Metrics;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    let settings = Settings::from_env()?;
    let sink = EventBridgeSink::from_env(settings.event_bus_name.clone()).await;
    let metrics = Metrics::stdout(&settings);
    run(service_fn(|event: LambdaEvent<Event>| async {
        Ok::<_, Error>(events::handle(&sink, &metrics, event.payload, chrono::Utc::now()).await)
    }))
    .await
}
