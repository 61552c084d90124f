//! Publishing lifecycle events to Amazon EventBridge.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use super::{EventSink, LifecycleEvent, SOURCE};

/// PutEvents takes at most this many entries per call.
const ENTRIES_PER_CALL: usize = 10;

#[derive(Debug, Clone)]
pub struct EventBridgeSink {
    client: Client,
    bus_name: String,
}

impl EventBridgeSink {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        EventBridgeSink {
            client,
            bus_name: bus_name.into(),
        }
    }

    /// A client from the environment (`AWS_ENDPOINT_URL_EVENTBRIDGE` points it elsewhere).
    pub async fn from_env(bus_name: impl Into<String>) -> Self {
        let config = crate::sdk_config::load().await;
        EventBridgeSink::new(Client::new(&config), bus_name)
    }
}

impl EventSink for EventBridgeSink {
    async fn publish(&self, events: &[LifecycleEvent]) -> Vec<Result<(), String>> {
        let mut outcomes = Vec::with_capacity(events.len());
        for chunk in events.chunks(ENTRIES_PER_CALL) {
            let entries: Vec<PutEventsRequestEntry> = chunk
                .iter()
                .map(|event| {
                    PutEventsRequestEntry::builder()
                        .source(SOURCE)
                        .detail_type(event.detail_type)
                        .detail(event.detail_json())
                        .event_bus_name(&self.bus_name)
                        .build()
                })
                .collect();
            match self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(output) => {
                    let results = output.entries.unwrap_or_default();
                    for i in 0..chunk.len() {
                        outcomes.push(match results.get(i) {
                            Some(entry) => match entry.error_code() {
                                Some(code) => Err(format!(
                                    "{code}: {}",
                                    entry.error_message().unwrap_or_default()
                                )),
                                None => Ok(()),
                            },
                            None => Err("EventBridge returned no result for the entry".to_owned()),
                        });
                    }
                }
                Err(err) => {
                    let message = aws_sdk_eventbridge::error::DisplayErrorContext(&err).to_string();
                    outcomes.extend(chunk.iter().map(|_| Err(message.clone())));
                }
            }
        }
        outcomes
    }
}
