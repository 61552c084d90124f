//! event-cost: what the local gateway spends building a request's Lambda events, away
//! from the network and DynamoDB Local, so that a loaded machine blurs it less.
//!
//! For one authorized call as `bench-local.sh` sends it (`GET /catalog` with wrk's
//! headers and a bearer token), it times, per call, in one process and in turns:
//! - `text`: the REQUEST authorizer event and the proxy event each built from the
//!   request, and the function's request read back from the proxy event's JSON text
//!   (printed, then parsed as the Lambda runtime parses it);
//! - `value`: the proxy event built once, the authorizer event derived from it, and
//!   the function's request deserialized from the event value (what the gateway does).
//!
//! Usage: event-cost [--iterations 20000] [--rounds 5]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use chrono::Utc;
use patgate_local::event::{
    lambda_request, proxy_event, request_authorizer_event, set_authorizer, ApiIdentity, HttpCall,
};
use serde_json::{json, Value};

fn identity() -> ApiIdentity {
    ApiIdentity {
        api_id: "patgatelocal".into(),
        stage: "v1".into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        stage_variables: [("patgateApi".to_owned(), "patgate".to_owned())].into(),
    }
}

fn headers() -> Vec<(String, String)> {
    [
        ("host", "127.0.0.1:3000"),
        (
            "authorization",
            "Bearer pgt_oNIWpvJcfpkiBvReND0sJEvSncWwPUe6jo3pvzfsBAt1olM5U",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn authorizer_context() -> Value {
    json!({"userId": "demo-viewer", "tokenId": "01M8CB13803QJANCV0T901T61M",
           "permissions": "catalog:read", "principalId": "demo-viewer",
           "integrationLatency": 1})
}

/// The events as built before: each from the request, the request read from text.
fn text(api: &ApiIdentity, call: &HttpCall<'_>, arn: &str) -> usize {
    let now = Utc::now();
    let authorizer_event =
        request_authorizer_event(&proxy_event(api, call, "/catalog", &[], "req", now), arn);
    let mut event = proxy_event(api, call, "/catalog", &[], "req", now);
    set_authorizer(&mut event, authorizer_context());
    let request = lambda_http::request::from_str(&event.to_string());
    black_box(&authorizer_event);
    request.map(|r| r.headers().len()).unwrap_or(0)
}

/// The events as the gateway builds them now.
fn value(api: &ApiIdentity, call: &HttpCall<'_>, arn: &str) -> usize {
    let mut event = proxy_event(api, call, "/catalog", &[], "req", Utc::now());
    let authorizer_event = request_authorizer_event(&event, arn);
    set_authorizer(&mut event, authorizer_context());
    let request = lambda_request(event);
    black_box(&authorizer_event);
    request.map(|r| r.headers().len()).unwrap_or(0)
}

fn time(iterations: u32, f: impl Fn() -> usize) -> f64 {
    let started = Instant::now();
    let mut sink = 0;
    for _ in 0..iterations {
        sink += f();
    }
    black_box(sink);
    started.elapsed().as_secs_f64() * 1e6 / f64::from(iterations)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() -> ExitCode {
    let mut iterations = 20_000u32;
    let mut rounds = 5usize;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let parsed = args.next().and_then(|v| v.parse::<u32>().ok());
        match (flag.as_str(), parsed) {
            ("--iterations", Some(n)) if n > 0 => iterations = n,
            ("--rounds", Some(n)) if n > 0 => rounds = n as usize,
            _ => {
                eprintln!("Usage: event-cost [--iterations N] [--rounds N]");
                return ExitCode::from(2);
            }
        }
    }
    let api = identity();
    let headers = headers();
    let call = HttpCall {
        method: "GET",
        raw_path: "/catalog",
        raw_query: None,
        headers: &headers,
        body: None,
        source_ip: "127.0.0.1",
    };
    let arn = api.method_arn("GET", "/catalog");
    // A sanity check that both ways build a request; event.rs tests compare them in full.
    if text(&api, &call, &arn) != value(&api, &call, &arn) || value(&api, &call, &arn) == 0 {
        eprintln!("event-cost: the two ways disagree");
        return ExitCode::FAILURE;
    }
    let (mut texts, mut values) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        texts.push(time(iterations, || text(&api, &call, &arn)));
        values.push(time(iterations, || value(&api, &call, &arn)));
    }
    let (t, v) = (median(texts), median(values));
    println!(
        "event-cost: median of {rounds} rounds of {iterations} calls: text round trip {t:.1} us/call, value {v:.1} us/call ({:.1} us saved, {:.0}%)",
        t - v,
        (t - v) / t * 100.0
    );
    ExitCode::SUCCESS
}
