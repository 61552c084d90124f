//! The table's stream, read from DynamoDB Local (which implements DynamoDB Streams)
//! and handed to the `events` function as the Lambda event the DynamoDB event source
//! mapping builds: the same handler and the same mapping code run here as in the cloud.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::dynamodb::Event;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use serde_json::{json, Map, Value};

/// How often the reader asks for new records when the last answer had none.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A streams client for the DynamoDB Local at `endpoint`.
pub fn client(endpoint: &str) -> StreamsClient {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(aws_sdk_dynamodbstreams::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_dynamodbstreams::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
            "local",
            "local",
            None,
            None,
            "patgate-local",
        ))
        .http_client(patgate::sdk_config::https_client())
        .build();
    StreamsClient::from_conf(config)
}

/// Reads one table's stream from where it stood when [`StreamReader::open`] was called
/// (or from its start), shard by shard.
pub struct StreamReader {
    client: StreamsClient,
    stream_arn: String,
    /// Open iterators, one per shard read so far.
    iterators: HashMap<String, String>,
    from_start: bool,
}

impl StreamReader {
    /// The stream of `table`: `from_start` reads every record still in it, otherwise
    /// only records written from now on.
    pub async fn open(
        dynamodb: &aws_sdk_dynamodb::Client,
        streams: StreamsClient,
        table: &str,
        from_start: bool,
    ) -> Result<Self, BoxError> {
        let described = dynamodb.describe_table().table_name(table).send().await?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| format!("table {table} has no stream"))?
            .to_owned();
        let mut reader = StreamReader {
            client: streams,
            stream_arn,
            iterators: HashMap::new(),
            from_start,
        };
        reader.discover_shards().await?;
        Ok(reader)
    }

    async fn discover_shards(&mut self) -> Result<(), BoxError> {
        let described = self
            .client
            .describe_stream()
            .stream_arn(&self.stream_arn)
            .send()
            .await?;
        let shards = described
            .stream_description()
            .map(|d| d.shards().to_vec())
            .unwrap_or_default();
        for shard in shards {
            let Some(id) = shard.shard_id() else { continue };
            if self.iterators.contains_key(id) {
                continue;
            }
            let kind = if self.from_start {
                ShardIteratorType::TrimHorizon
            } else {
                ShardIteratorType::Latest
            };
            let iterator = self
                .client
                .get_shard_iterator()
                .stream_arn(&self.stream_arn)
                .shard_id(id)
                .shard_iterator_type(kind)
                .send()
                .await?;
            if let Some(iterator) = iterator.shard_iterator() {
                self.iterators.insert(id.to_owned(), iterator.to_owned());
            }
        }
        // Shards opened after this point (DynamoDB rolls them) are read from their start.
        self.from_start = true;
        Ok(())
    }

    /// The records written since the last call, as one Lambda event (empty if none).
    pub async fn next_batch(&mut self) -> Result<Event, BoxError> {
        self.discover_shards().await?;
        let mut records = Vec::new();
        let shards: Vec<String> = self.iterators.keys().cloned().collect();
        for shard in shards {
            let Some(iterator) = self.iterators.get(&shard).cloned() else {
                continue;
            };
            let output = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await?;
            records.extend(
                output
                    .records()
                    .iter()
                    .map(|r| lambda_record(r, &self.stream_arn)),
            );
            match output.next_shard_iterator() {
                Some(next) => {
                    self.iterators.insert(shard, next.to_owned());
                }
                // A closed shard is done.
                None => {
                    self.iterators.remove(&shard);
                }
            }
        }
        Ok(serde_json::from_value(json!({ "Records": records }))?)
    }

    /// Reads until `count` records came in or `timeout` passed.
    pub async fn collect(&mut self, count: usize, timeout: Duration) -> Result<Event, BoxError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut all = Vec::new();
        while all.len() < count && tokio::time::Instant::now() < deadline {
            let batch = self.next_batch().await?;
            if batch.records.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            all.extend(batch.records);
        }
        let mut event = Event::default();
        event.records = all;
        Ok(event)
    }
}

/// One stream record as Lambda's DynamoDB event source mapping hands it over.
///
/// DynamoDB Local (3.3) reports a deletion by its TTL with the event name
/// `UNKNOWN_TO_SDK_VERSION` and no `userIdentity`; the cloud reports it as a
/// `REMOVE` by the service itself (`userIdentity` `Service`/`dynamodb.amazonaws.com`).
/// Such records are handed over the cloud's way, so the events function sees the
/// records it will see in production.
pub fn lambda_record(record: &Record, stream_arn: &str) -> Value {
    let change = record.dynamodb();
    let name = record.event_name().map(|n| n.as_str()).unwrap_or_default();
    let removed_by_ttl = !["INSERT", "MODIFY", "REMOVE"].contains(&name)
        && change.is_some_and(|c| c.old_image.is_some() && c.new_image.is_none());
    let image = |item: Option<&HashMap<String, AttributeValue>>| {
        item.map(|item| {
            Value::Object(
                item.iter()
                    .map(|(k, v)| (k.clone(), attribute(v)))
                    .collect(),
            )
        })
        .unwrap_or_else(|| json!({}))
    };
    let mut value = json!({
        "eventID": record.event_id().unwrap_or_default(),
        "eventName": if removed_by_ttl { "REMOVE" } else { name },
        "eventVersion": record.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region().unwrap_or("us-east-1"),
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": change
                .and_then(|c| c.approximate_creation_date_time())
                .map(|t| t.secs() as f64)
                .unwrap_or_default(),
            "Keys": image(change.and_then(|c| c.keys.as_ref())),
            "NewImage": image(change.and_then(|c| c.new_image.as_ref())),
            "OldImage": image(change.and_then(|c| c.old_image.as_ref())),
            "SequenceNumber": change.and_then(|c| c.sequence_number()).unwrap_or_default(),
            "SizeBytes": change.and_then(|c| c.size_bytes()).unwrap_or_default(),
            "StreamViewType": change
                .and_then(|c| c.stream_view_type())
                .map(|t| t.as_str())
                .unwrap_or("NEW_AND_OLD_IMAGES"),
        },
    });
    if let Some(identity) = record.user_identity() {
        value["userIdentity"] = json!({
            "type": identity.r#type().unwrap_or_default(),
            "principalId": identity.principal_id().unwrap_or_default(),
        });
    } else if removed_by_ttl {
        value["userIdentity"] = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    }
    value
}

/// An attribute value in DynamoDB JSON (`{"S": "x"}`, `{"N": "1"}`, ...).
fn attribute(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::Ss(set) => json!({ "SS": set }),
        AttributeValue::Ns(set) => json!({ "NS": set }),
        AttributeValue::L(list) => json!({ "L": list.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::M(map) => {
            let inner: Map<String, Value> =
                map.iter().map(|(k, v)| (k.clone(), attribute(v))).collect();
            json!({ "M": inner })
        }
        AttributeValue::B(blob) => json!({ "B": base64_encode(blob.as_ref()) }),
        AttributeValue::Bs(blobs) => {
            json!({ "BS": blobs.iter().map(|b| base64_encode(b.as_ref())).collect::<Vec<_>>() })
        }
        _ => json!({ "NULL": true }),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_dynamodb_json() {
        let value = AttributeValue::M(HashMap::from([
            ("s".to_owned(), AttributeValue::S("x".into())),
            ("n".to_owned(), AttributeValue::N("1".into())),
            (
                "l".to_owned(),
                AttributeValue::L(vec![AttributeValue::Bool(true)]),
            ),
            ("ss".to_owned(), AttributeValue::Ss(vec!["a".into()])),
        ]));
        assert_eq!(
            attribute(&value),
            json!({"M": {"s": {"S": "x"}, "n": {"N": "1"}, "l": {"L": [{"BOOL": true}]}, "ss": {"SS": ["a"]}}})
        );
    }
}
