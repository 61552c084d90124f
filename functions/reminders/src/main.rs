#![forbid(unsafe_code)]

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use patgate::config::Settings;
use patgate::events::eventbridge::EventBridgeSink;
use patgate::metrics::Metrics;
use patgate::store::{connect, TokenStore};
use reminders::ReminderJob;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    patgate::logging::init();
    let settings = Settings::from_env()?;
    let store = TokenStore::new(connect().await, settings.table_name.clone());
    let sink = EventBridgeSink::from_env(settings.event_bus_name.clone()).await;
    let job = ReminderJob::new(store, sink, Metrics::stdout(&settings));
    run(service_fn(|_: LambdaEvent<Value>| async {
        job.run_counted(chrono::Utc::now())
            .await
            .map_err(Error::from)
    }))
    .await
}
