//! A TCP proxy in front of DynamoDB Local that understands just enough HTTP to
//! inject faults per request and to meter what each request costs.
//!
//! - Faults (for every request, or only those of one operation, optionally only the
//!   next N): answer late, forward late, reset the connection, swallow the request
//!   (blackhole), or send half an answer and stall (half-open). [`DynamoProxy::heal`]
//!   ends them.
//! - Metering: each request gets `"ReturnConsumedCapacity": "TOTAL"` added, and the
//!   `ConsumedCapacity` of each answer is summed per operation. The code under test
//!   needs no change for either.
//! - Recording: each request's operation and JSON body, as the code under test sent
//!   it (before the metering field is added), with the capacity its answer reports,
//!   so that a test can check what was asked for (IAM conditions, request shapes).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Forward the request at once, hold its answer back this long.
    DelayAnswer(Duration),
    /// Hold the request back this long before forwarding it, and drop it if the
    /// caller gave up meanwhile: a request still on its way when its caller stops
    /// waiting never reaches DynamoDB.
    DelayRequest(Duration),
    /// Close the connection instead of forwarding.
    Reset,
    /// Read the request, never answer.
    Blackhole,
    /// Forward, then send part of the answer and stall.
    HalfOpen,
}

#[derive(Debug, Clone)]
struct Rule {
    fault: Fault,
    /// `X-Amz-Target` operation, e.g. `TransactWriteItems`; `None` for every request.
    operation: Option<String>,
    /// How many more requests the rule applies to; `None` for all.
    remaining: Option<u32>,
}

/// What the proxied requests of one operation cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub requests: u32,
    pub capacity_units: f64,
}

/// One request as the code under test sent it, and what its answer said it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// `X-Amz-Target` operation, e.g. `UpdateItem`.
    pub operation: String,
    /// The request body as sent (`Value::Null` if it was not JSON).
    pub body: Value,
    /// Read and write capacity units the answer reported.
    pub capacity: Capacity,
    /// The HTTP status DynamoDB answered with.
    pub status: u16,
}

/// Capacity units, reads apart from writes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capacity {
    pub read_units: f64,
    pub write_units: f64,
}

impl std::ops::AddAssign for Capacity {
    fn add_assign(&mut self, other: Capacity) {
        self.read_units += other.read_units;
        self.write_units += other.write_units;
    }
}

/// What the requests of one operation cost, reads apart from writes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SplitUsage {
    pub requests: u32,
    pub capacity: Capacity,
}

#[derive(Default)]
struct State {
    rule: Option<Rule>,
    usage: BTreeMap<String, Usage>,
    recorded: Vec<Recorded>,
    /// Operations forwarded since the last [`DynamoProxy::clear_recorded`], in order.
    forwarded: Vec<String>,
    /// Requests forwarded whose answer has not been read yet.
    in_flight: usize,
}

/// Counts a forwarded request as in flight until dropped (answered, or failed).
struct InFlight(Arc<Mutex<State>>);

impl InFlight {
    fn start(state: &Arc<Mutex<State>>, operation: &str) -> Self {
        let mut locked = state.lock().unwrap_or_else(|p| p.into_inner());
        locked.in_flight += 1;
        locked.forwarded.push(operation.to_owned());
        InFlight(state.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut locked = self.0.lock().unwrap_or_else(|p| p.into_inner());
        locked.in_flight = locked.in_flight.saturating_sub(1);
    }
}

pub struct DynamoProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

/// Operations that accept `ReturnConsumedCapacity`.
const METERED: [&str; 10] = [
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
];

impl DynamoProxy {
    /// Listens on a free local port and forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("proxy address"));
        let state: Arc<Mutex<State>> = Arc::default();
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, upstream.clone(), shared.clone()));
            }
        });
        DynamoProxy {
            endpoint,
            state,
            task,
        }
    }

    /// Applies `fault` to every request from now on.
    pub fn set(&self, fault: Fault) {
        self.rule(fault, None, None);
    }

    /// Applies `fault` to the next `count` requests of `operation` (all if `None`).
    pub fn set_for(&self, fault: Fault, operation: &str, count: Option<u32>) {
        self.rule(fault, Some(operation.to_owned()), count);
    }

    fn rule(&self, fault: Fault, operation: Option<String>, remaining: Option<u32>) {
        self.lock().rule = Some(Rule {
            fault,
            operation,
            remaining,
        });
    }

    pub fn heal(&self) {
        self.lock().rule = None;
    }

    /// Requests and capacity per operation since the last [`DynamoProxy::reset_usage`].
    pub fn usage(&self) -> BTreeMap<String, Usage> {
        self.lock().usage.clone()
    }

    pub fn reset_usage(&self) {
        self.lock().usage.clear();
    }

    /// Every request since the last [`DynamoProxy::clear_recorded`], in the order
    /// their answers arrived.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.lock().recorded.clone()
    }

    /// Forgets the recorded requests (and nothing else).
    pub fn clear_recorded(&self) {
        let mut state = self.lock();
        state.recorded.clear();
        state.forwarded.clear();
    }

    /// Operations forwarded to DynamoDB since the last [`DynamoProxy::clear_recorded`],
    /// answered or not.
    pub fn forwarded(&self) -> Vec<String> {
        self.lock().forwarded.clone()
    }

    /// Waits (up to 30 s) until DynamoDB has answered every request forwarded so far,
    /// so that [`DynamoProxy::recorded`] holds requests whose caller stopped waiting.
    pub async fn settle(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while self.lock().in_flight > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Requests, read units and write units per operation, from the recorded requests.
    pub fn split_usage(&self) -> BTreeMap<String, SplitUsage> {
        split_usage(&self.recorded())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for DynamoProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One HTTP/1.1 message: head (up to and including the blank line) and body.
struct Message {
    head: String,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }

    fn with_body(&self, body: Vec<u8>) -> Message {
        let head = self
            .head
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| match line.split_once(':') {
                Some((key, _)) if key.trim().eq_ignore_ascii_case("content-length") => {
                    format!("Content-Length: {}", body.len())
                }
                _ => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\r\n");
        Message {
            head: format!("{head}\r\n\r\n"),
            body,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.head.as_bytes().to_vec();
        out.extend_from_slice(&self.body);
        out
    }
}

/// Reads one message (Content-Length or chunked body) from `stream`, using `buffer`
/// for bytes read past it. `None` at a clean end of stream.
async fn read_message(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Message> {
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    buffer.drain(..head_end);
    let message = Message {
        head,
        body: Vec::new(),
    };
    let chunked = message
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        read_chunked(stream, buffer).await?
    } else {
        let length: usize = message
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buffer.len() < length {
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        buffer.drain(..length).collect()
    };
    // Re-frame a chunked body with a length, which is simpler to forward.
    let message = if chunked {
        let head = message
            .head
            .lines()
            .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("transfer-encoding"))
            .collect::<Vec<_>>()
            .join("\r\n");
        Message {
            head: format!("{head}\r\nContent-Length: {}\r\n\r\n", body.len()),
            body,
        }
    } else {
        Message { body, ..message }
    };
    Some(message)
}

async fn read_chunked(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(end) = buffer.windows(2).position(|w| w == b"\r\n") {
                break end;
            }
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        };
        let size_text = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        buffer.drain(..line_end + 2);
        while buffer.len() < size + 2 {
            let mut chunk = [0u8; 8192];
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        body.extend(buffer.drain(..size));
        buffer.drain(..2);
        if size == 0 {
            return Some(body);
        }
    }
}

/// The status code of an HTTP answer (0 if its status line cannot be read).
fn status_of(response: &Message) -> u16 {
    response
        .head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

fn operation_of(request: &Message) -> String {
    request
        .header("x-amz-target")
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("")
        .to_owned()
}

/// The fault for a request of `operation`, using up one of the rule's count.
fn fault_for(state: &Mutex<State>, operation: &str) -> Option<Fault> {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    let rule = state.rule.as_mut()?;
    if rule.operation.as_deref().is_some_and(|o| o != operation) {
        return None;
    }
    let fault = rule.fault;
    if let Some(remaining) = rule.remaining.as_mut() {
        *remaining = remaining.saturating_sub(1);
        if *remaining == 0 {
            state.rule = None;
        }
    }
    Some(fault)
}

fn metered(request: &Message, operation: &str) -> Message {
    if !METERED.contains(&operation) {
        return Message {
            head: request.head.clone(),
            body: request.body.clone(),
        };
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(Value::Object(mut object)) => {
            object.insert("ReturnConsumedCapacity".into(), Value::from("TOTAL"));
            request.with_body(Value::Object(object).to_string().into_bytes())
        }
        _ => request.with_body(request.body.clone()),
    }
}

/// Requests, read units and write units per operation of `recorded`.
pub fn split_usage(recorded: &[Recorded]) -> BTreeMap<String, SplitUsage> {
    let mut usage: BTreeMap<String, SplitUsage> = BTreeMap::new();
    for request in recorded {
        let entry = usage.entry(request.operation.clone()).or_default();
        entry.requests += 1;
        entry.capacity += request.capacity;
    }
    usage
}

/// Operations whose capacity is read capacity; the others of [`METERED`] write.
const READS: [&str; 5] = [
    "GetItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "TransactGetItems",
];

/// The read and write units an answer of `operation` reports. `ReadCapacityUnits` and
/// `WriteCapacityUnits` when the answer has them; otherwise `CapacityUnits`, which is
/// read capacity for the reading operations and write capacity for the others (an
/// UpdateItem's implicit read is billed as a write).
fn consumed_capacity(operation: &str, body: &[u8]) -> Capacity {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Capacity::default();
    };
    let of = |entry: &Value| {
        let read = entry["ReadCapacityUnits"].as_f64();
        let write = entry["WriteCapacityUnits"].as_f64();
        if read.is_some() || write.is_some() {
            return Capacity {
                read_units: read.unwrap_or(0.0),
                write_units: write.unwrap_or(0.0),
            };
        }
        let units = entry["CapacityUnits"].as_f64().unwrap_or(0.0);
        if READS.contains(&operation) {
            Capacity {
                read_units: units,
                write_units: 0.0,
            }
        } else {
            Capacity {
                read_units: 0.0,
                write_units: units,
            }
        }
    };
    let mut total = Capacity::default();
    match &value["ConsumedCapacity"] {
        Value::Array(entries) => entries.iter().for_each(|e| total += of(e)),
        entry @ Value::Object(_) => total += of(entry),
        _ => {}
    }
    total
}

fn consumed_units(body: &[u8]) -> f64 {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return 0.0;
    };
    let units = |entry: &Value| entry["CapacityUnits"].as_f64().unwrap_or(0.0);
    match &value["ConsumedCapacity"] {
        Value::Array(entries) => entries.iter().map(units).sum(),
        entry @ Value::Object(_) => units(entry),
        _ => 0.0,
    }
}

async fn serve(mut client: TcpStream, upstream: String, state: Arc<Mutex<State>>) {
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
    while let Some(request) = read_message(&mut client, &mut from_client).await {
        let operation = operation_of(&request);
        let fault = fault_for(&state, &operation);
        match fault {
            Some(Fault::Reset) => return,
            Some(Fault::Blackhole) => {
                std::future::pending::<()>().await;
            }
            Some(Fault::DelayRequest(delay)) => {
                tokio::time::sleep(delay).await;
                let mut probe = [0u8; 1];
                match client.try_read(&mut probe) {
                    // The caller closed the connection: it no longer waits for this.
                    Ok(0) => return,
                    Ok(n) => from_client.extend_from_slice(&probe[..n]),
                    Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
            _ => {}
        }
        let forwarded = metered(&request, &operation);
        let in_flight = InFlight::start(&state, &operation);
        if server.write_all(&forwarded.bytes()).await.is_err() {
            return;
        }
        let Some(response) = read_message(&mut server, &mut from_server).await else {
            return;
        };
        {
            let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
            let usage = state.usage.entry(operation.clone()).or_default();
            usage.requests += 1;
            usage.capacity_units += consumed_units(&response.body);
            state.recorded.push(Recorded {
                operation: operation.clone(),
                body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
                capacity: consumed_capacity(&operation, &response.body),
                status: status_of(&response),
            });
        }
        drop(in_flight);
        let bytes = response.bytes();
        match fault {
            Some(Fault::DelayAnswer(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::HalfOpen) => {
                let _ = client.write_all(&bytes[..bytes.len() / 2]).await;
                std::future::pending::<()>().await;
            }
            _ => {}
        }
        if client.write_all(&bytes).await.is_err() {
            return;
        }
    }
}
