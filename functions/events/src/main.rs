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
    let store = patgate::store::TokenStore::new(
        patgate::store::connect().await,
        settings.table_name.clone(),
    );
    run(service_fn(|event: LambdaEvent<Event>| async {
        Ok::<_, Error>(
            events::handle_with_inventory(
                &store,
                &sink,
                &metrics,
                event.payload,
                chrono::Utc::now(),
            )
            .await,
        )
    }))
    .await
}
