//! Authorizer warm-path latency against DynamoDB Local, compared in the same run with
//! the physical floor of a decision: one strongly consistent GetItem. The authorizer
//! makes exactly that read (its hash item carries the owner's roles), so its targets
//! are p50 ≤ 1.15 × and p99 ≤ 1.3 × the GetItem's. Also times the
//! rejection of a malformed token, which must need no network call.
//!
//! Run: `bash infra/scripts/bench-authorizer.sh` (starts DynamoDB Local), or with one
//! already running: `PATGATE_TEST_DYNAMODB=http://127.0.0.1:8000 cargo bench -p patgate-tests --bench authorizer_latency`.

use std::time::{Duration, Instant};

use authorizer::Authorizer;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use patgate::store::TokenStore;
use patgate::token::TokenHash;
use patgate_tests::*;

const ROUNDS: usize = 2000;
const WARMUP: usize = 200;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let app = TestApp::new().await;
    let caller = app
        .user("bench-user", &["Manager"], Some("Europe/Paris"))
        .await;
    let token = app.issue(&caller).await.token;
    let hash = TokenHash::of(&token);
    let table = &app.table;
    let settings = table.settings();
    let authorizer = app.authorizer();
    let event = request_authorizer_event(
        Some(&format!("Bearer {token}")),
        &method_arn("GET", "/catalog"),
    );

    // The floor: one strongly consistent GetItem (of the same hash item).
    let reads = || async {
        let hash_item = table
            .client
            .get_item()
            .table_name(table.name())
            .key("pk", AttributeValue::S(format!("HASH#{}", hash.as_str())))
            .key("sk", AttributeValue::S("HASH".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        assert!(hash_item.item.is_some());
    };

    for _ in 0..WARMUP {
        reads().await;
        authorizer.handle(event.clone(), Utc::now()).await.unwrap();
    }
    // Interleaved, so both see the same machine load.
    let (mut read_samples, mut authorizer_samples) =
        (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        let started = Instant::now();
        reads().await;
        read_samples.push(started.elapsed());

        let event = event.clone();
        let started = Instant::now();
        let decision = authorizer.handle(event, Utc::now()).await;
        authorizer_samples.push(started.elapsed());
        assert!(decision.is_ok());
    }

    // Malformed and forged tokens, with a store that would fail if it were ever called.
    let dead = TokenStore::new(client("http://127.0.0.1:9"), table.name());
    let offline = Authorizer::new(&settings, dead, patgate_tests::test_permissions());
    let forged = token_authorizer_event(
        &format!("Bearer pgt_{}", "A".repeat(patgate::token::BODY_LEN)),
        &method_arn("GET", "/catalog"),
    );
    let mut reject_samples = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let event = forged.clone();
        let started = Instant::now();
        let outcome = offline.handle(event, Utc::now()).await;
        reject_samples.push(started.elapsed());
        assert!(matches!(
            outcome,
            Err(authorizer::AuthorizerError::Unauthorized("bad_checksum"))
        ));
    }

    let (read_p50, read_p99) = (
        percentile(&mut read_samples, 0.5),
        percentile(&mut read_samples, 0.99),
    );
    let (auth_p50, auth_p99) = (
        percentile(&mut authorizer_samples, 0.5),
        percentile(&mut authorizer_samples, 0.99),
    );
    let (reject_p50, reject_p99) = (
        percentile(&mut reject_samples, 0.5),
        percentile(&mut reject_samples, 0.99),
    );
    println!("authorizer latency against DynamoDB Local ({ROUNDS} rounds, interleaved)");
    println!(
        "  one consistent GetItem     p50 {:>9.1} us  p99 {:>9.1} us",
        micros(read_p50),
        micros(read_p99)
    );
    println!(
        "  authorizer, allow          p50 {:>9.1} us  p99 {:>9.1} us",
        micros(auth_p50),
        micros(auth_p99)
    );
    println!(
        "  authorizer, forged token   p50 {:>9.1} us  p99 {:>9.1} us  (no network)",
        micros(reject_p50),
        micros(reject_p99)
    );
    let ratio = auth_p50.as_secs_f64() / read_p50.as_secs_f64();
    println!("  ratio authorizer/GetItem p50 {ratio:.3} (target 1.15)");
    println!(
        "  ratio authorizer/GetItem p99 {:.3} (target 1.3)",
        auth_p99.as_secs_f64() / read_p99.as_secs_f64()
    );
}
