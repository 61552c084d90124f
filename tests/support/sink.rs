//! An event sink that keeps what it is given, for the events and reminder tests.

use std::sync::{Arc, Mutex};

use patgate::events::{EventSink, LifecycleEvent};

/// Keeps the events it publishes; refuses those whose type is in `failing`.
#[derive(Clone, Default)]
pub struct CapturedSink {
    pub events: Arc<Mutex<Vec<LifecycleEvent>>>,
    pub failing: Vec<&'static str>,
}

impl CapturedSink {
    pub fn events(&self) -> Vec<LifecycleEvent> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl EventSink for CapturedSink {
    async fn publish(&self, events: &[LifecycleEvent]) -> Vec<Result<(), String>> {
        events
            .iter()
            .map(|event| {
                if self.failing.contains(&event.detail_type) {
                    Err("refused".to_owned())
                } else {
                    self.events
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(event.clone());
                    Ok(())
                }
            })
            .collect()
    }
}
