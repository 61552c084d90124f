//! TTL for the local table. DynamoDB Local's own TTL sweeper leaves the expired items
//! of a table that has a GSI in place (the table has three), so the local stack sweeps
//! them itself: every couple of seconds, each item whose TTL attribute is past is
//! deleted (conditionally, still past), and its `REMOVE` stream record is handed to the
//! stream consumers the cloud's way, by the DynamoDB service itself, so that an expired
//! token still becomes `token.expired` locally.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, UserIdentity};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;

/// How often the sweeper looks for expired items.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

pub struct TtlSweeper {
    client: Client,
    table: String,
    attribute: String,
    /// Keys (pk, sk) deleted by the sweeper whose stream record has not been seen yet.
    swept: Mutex<HashSet<(String, String)>>,
}

fn key_of(item: &std::collections::HashMap<String, AttributeValue>) -> Option<(String, String)> {
    let s = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    Some((s("pk")?, s("sk")?))
}

impl TtlSweeper {
    pub fn new(client: Client, table: String, attribute: String) -> Self {
        TtlSweeper {
            client,
            table,
            attribute,
            swept: Mutex::new(HashSet::new()),
        }
    }

    /// Deletes every item whose TTL attribute is before `now` (epoch seconds).
    pub async fn sweep_once(&self, now: i64) -> Result<usize, String> {
        let mut start = None;
        let mut deleted = 0;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#ttl < :now")
                .projection_expression("pk, sk")
                .expression_attribute_names("#ttl", &self.attribute)
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            for item in output.items.unwrap_or_default() {
                let Some(key) = key_of(&item) else { continue };
                let removed = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(item))
                    .condition_expression("#ttl < :now")
                    .expression_attribute_names("#ttl", &self.attribute)
                    .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                    .send()
                    .await;
                if removed.is_ok() {
                    self.swept
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key);
                    deleted += 1;
                }
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(deleted),
            }
        }
    }

    /// Sweeps until the task is dropped.
    pub async fn run(self: std::sync::Arc<Self>) {
        loop {
            tokio::time::sleep(SWEEP_INTERVAL).await;
            if let Err(err) = self.sweep_once(chrono::Utc::now().timestamp()).await {
                eprintln!("patgate-local: TTL sweep: {err}");
            }
        }
    }

    /// Marks the `REMOVE` records of swept items as deletions by the DynamoDB service.
    pub fn mark(&self, batch: &mut Event) {
        let mut swept = self.swept.lock().unwrap_or_else(|p| p.into_inner());
        for record in &mut batch.records {
            if record.event_name != "REMOVE" || record.user_identity.is_some() {
                continue;
            }
            let keys: std::collections::HashMap<String, AttributeValue> =
                record.change.keys.clone().into();
            if let Some(key) = key_of(&keys) {
                if swept.remove(&key) {
                    let mut identity = UserIdentity::default();
                    identity.type_ = "Service".to_owned();
                    identity.principal_id = "dynamodb.amazonaws.com".to_owned();
                    record.user_identity = Some(identity);
                }
            }
        }
    }
}
