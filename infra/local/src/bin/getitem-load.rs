//! getitem-load: the floor the local stack's authorizer path is measured against.
//!
//! Runs strongly consistent GetItem calls of one token's hash item (the authorizer's
//! one read per decision) against a DynamoDB Local, from `--concurrency` tasks for
//! `--duration` seconds, with the client the local stack builds
//! (`patgate::store::connect_local`), and prints the calls per second and latency
//! percentiles. `infra/scripts/bench-local.sh --compare-getitem` runs it against the
//! stack's own DynamoDB Local at wrk's concurrency.
//!
//! Usage: getitem-load --endpoint URL --table NAME --token PAT
//!                     [--concurrency 8] [--duration 10] [--warmup 1]

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::get_item::{GetItemError, GetItemOutput};
use aws_sdk_dynamodb::Client;
use patgate::store::{connect_local, items};
use patgate::token::TokenHash;

const USAGE: &str = "\
Usage: getitem-load --endpoint URL --table NAME --token PAT
                    [--concurrency N (8)] [--duration SECS (10)] [--warmup SECS (1)]
";

struct Options {
    endpoint: String,
    table: String,
    token: String,
    concurrency: usize,
    duration: Duration,
    warmup: Duration,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (mut endpoint, mut table, mut token) = (None, None, None);
    let mut concurrency = 8usize;
    let mut duration = Duration::from_secs(10);
    let mut warmup = Duration::from_secs(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--endpoint" => endpoint = Some(value()?),
            "--table" => table = Some(value()?),
            "--token" => token = Some(value()?),
            "--concurrency" => {
                concurrency = value()?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--concurrency must be a positive integer")?
            }
            "--duration" => duration = seconds(&value()?, "--duration")?,
            "--warmup" => warmup = seconds(&value()?, "--warmup")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Options {
        endpoint: endpoint.ok_or("--endpoint is required")?,
        table: table.ok_or("--table is required")?,
        token: token.ok_or("--token is required")?,
        concurrency,
        duration,
        warmup,
    })
}

/// `10`, `10s` or `2.5` seconds.
fn seconds(raw: &str, flag: &str) -> Result<Duration, String> {
    raw.trim_end_matches('s')
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag} must be a number of seconds, not {raw}"))
}

/// What one task saw while the clock ran.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: u64,
    not_found: u64,
}

/// Calls GetItem until `stop`, recording only the calls that began after `measuring`.
async fn worker(
    client: Client,
    table: Arc<str>,
    hash: Arc<TokenHash>,
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Tally {
    let mut tally = Tally::default();
    while !stop.load(Ordering::Relaxed) {
        let counted = measuring.load(Ordering::Relaxed);
        let started = Instant::now();
        let outcome = read_hash_item(&client, &table, &hash).await;
        if !counted || stop.load(Ordering::Relaxed) {
            continue;
        }
        match outcome {
            Ok(output) if output.item.is_some() => {
                let micros = started.elapsed().as_micros();
                tally
                    .latencies_us
                    .push(u32::try_from(micros).unwrap_or(u32::MAX));
            }
            Ok(_) => tally.not_found += 1,
            Err(_) => tally.errors += 1,
        }
    }
    tally
}

/// The authorizer's one read: the token's hash item, strongly consistent.
async fn read_hash_item(
    client: &Client,
    table: &str,
    hash: &TokenHash,
) -> Result<GetItemOutput, SdkError<GetItemError, HttpResponse>> {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(items::hash_key(hash)))
        .consistent_read(true)
        .send()
        .await
}

/// User and system CPU time of this process so far (all threads).
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is handed.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

async fn run(options: Options) -> Result<(), String> {
    let client = connect_local(&options.endpoint);
    let table: Arc<str> = Arc::from(options.table.as_str());
    let hash = Arc::new(TokenHash::of(&options.token));
    // One call first: a wrong table or token is an error, not a fast empty loop.
    let first = read_hash_item(&client, &table, &hash)
        .await
        .map_err(|e| format!("GetItem failed: {}", patgate::store::classify(e)))?;
    if first.item.is_none() {
        return Err(format!(
            "no hash item for that token in table {}",
            options.table
        ));
    }
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..options.concurrency)
        .map(|_| {
            tokio::spawn(worker(
                client.clone(),
                table.clone(),
                hash.clone(),
                measuring.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(options.warmup).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let cpu_before = process_cpu();
    tokio::time::sleep(options.duration).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let cpu = process_cpu().saturating_sub(cpu_before);
    let mut all = Tally::default();
    for task in tasks {
        let tally = task.await.map_err(|e| format!("a load task failed: {e}"))?;
        all.latencies_us.extend(tally.latencies_us);
        all.errors += tally.errors;
        all.not_found += tally.not_found;
    }
    all.latencies_us.sort_unstable();
    let ok = all.latencies_us.len();
    println!(
        "getitem: {ok} consistent GetItem in {:.2} s, concurrency {}: {:.0} req/s; latency p50 {:.2} ms, p99 {:.2} ms; driver CPU {:.0} us/call; errors {}, not found {}",
        elapsed.as_secs_f64(),
        options.concurrency,
        ok as f64 / elapsed.as_secs_f64(),
        percentile(&all.latencies_us, 50.0),
        percentile(&all.latencies_us, 99.0),
        cpu.as_secs_f64() * 1e6 / ok.max(1) as f64,
        all.errors,
        all.not_found,
    );
    if all.errors + all.not_found > 0 {
        return Err("some calls failed or found nothing".to_owned());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("getitem-load: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("getitem-load: error: {message}");
            ExitCode::FAILURE
        }
    }
}
