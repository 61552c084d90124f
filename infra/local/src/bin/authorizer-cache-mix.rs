//! authorizer-cache-mix: how many authorizer invocations API Gateway's result cache
//! lets through per 1,000 requests, with the cache keyed as template.yaml keys
//! PatgateAuthorizer now (its identity sources: the token and the route) against a
//! key of the token alone (the identity sources before routes were part of it).
//!
//! The mix: `--tokens` tokens (default 20) each calling `--routes` routes (default
//! 10), every request a uniformly random (token, route), arriving as a Poisson process
//! at each of the listed rates; the cache is the local gateway's own (the authorizer
//! crate's `TtlMap`, keyed by `patgate_local::authz::cache_key` of the identity
//! sources' values) with the template's TTL (`--ttl`, default 300 s) on a simulated
//! clock. Counted after a warm-up of `--warmup` requests, over `--requests` requests.
//!
//! Usage: authorizer-cache-mix [--tokens 20] [--routes 10] [--ttl 300]
//!        [--requests 100000] [--warmup 5000] [--per-ttl 100,1000,10000]
//!
//! `--per-ttl`: the request rates, as requests per TTL window.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use authorizer::cache::TtlMap;
use patgate_local::authz::cache_key;
use patgate_local::sam::{self, AuthorizerDef, IdentitySource, LocalContext};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

struct Mix {
    tokens: usize,
    routes: usize,
    ttl: Duration,
    requests: usize,
    warmup: usize,
}

/// Invocations per 1,000 counted requests with the cache keyed by `sources`.
fn invocations(mix: &Mix, sources: &[IdentitySource], per_ttl: f64, seed: u64) -> f64 {
    let cache: TtlMap<String, ()> = TtlMap::new(mix.ttl, 10_000);
    let mut rng = StdRng::seed_from_u64(seed);
    let start = Instant::now();
    let mean_gap = mix.ttl.as_secs_f64() / per_ttl;
    let mut clock = 0.0_f64;
    let mut invoked = 0usize;
    for i in 0..mix.warmup + mix.requests {
        let u: f64 = rng.random();
        clock += -(1.0 - u).ln() * mean_gap;
        let token = rng.random_range(0..mix.tokens);
        let route = rng.random_range(0..mix.routes);
        let values: Vec<String> = sources
            .iter()
            .map(|source| match source {
                IdentitySource::Header(_) => format!("Bearer token-{token}"),
                IdentitySource::Context(name) if name == "httpMethod" => "GET".to_owned(),
                IdentitySource::Context(_) => format!("/route-{route}/{{id}}"),
                IdentitySource::StageVariable(_) => "patgate".to_owned(),
            })
            .collect();
        let key = cache_key(&values);
        let now = start + Duration::from_secs_f64(clock);
        if cache.get(&key, now).is_none() {
            cache.insert(key, (), now);
            if i >= mix.warmup {
                invoked += 1;
            }
        }
    }
    invoked as f64 * 1000.0 / mix.requests as f64
}

fn run(args: &[String]) -> Result<(), String> {
    let mut mix = Mix {
        tokens: 20,
        routes: 10,
        ttl: Duration::ZERO,
        requests: 100_000,
        warmup: 5_000,
    };
    let mut ttl_flag = None;
    let mut rates = vec![100.0, 1_000.0, 10_000.0];
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{flag}: not a number"))
        };
        match flag.as_str() {
            "--tokens" => mix.tokens = number()?,
            "--routes" => mix.routes = number()?,
            "--ttl" => ttl_flag = Some(number()? as u64),
            "--requests" => mix.requests = number()?,
            "--warmup" => mix.warmup = number()?,
            "--per-ttl" => {
                rates = value
                    .split(',')
                    .map(|r| r.parse::<f64>().map_err(|_| format!("--per-ttl: {r}")))
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if mix.tokens == 0 || mix.routes == 0 || mix.requests == 0 {
        return Err("--tokens, --routes and --requests must be positive".into());
    }
    // The identity sources and TTL exactly as template.yaml declares them.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    // The parameters' defaults; WebOrigin has none and does not matter here.
    let overrides = [("WebOrigin".to_owned(), "http://localhost:3000".to_owned())];
    let parameters = sam::local_parameters(&overrides.into_iter().collect());
    let api = sam::load(
        &root.join("template.yaml"),
        &parameters,
        &LocalContext::default(),
    )
    .map_err(|e| e.to_string())?;
    let Some(AuthorizerDef::Lambda {
        identity,
        ttl_seconds,
        ..
    }) = api.authorizers.get("PatgateAuthorizer")
    else {
        return Err("template.yaml has no Lambda authorizer PatgateAuthorizer".into());
    };
    mix.ttl = Duration::from_secs(ttl_flag.unwrap_or(*ttl_seconds));
    let token_only: Vec<IdentitySource> = identity
        .iter()
        .filter(|s| matches!(s, IdentitySource::Header(_)))
        .cloned()
        .collect();
    let names: Vec<String> = identity.iter().map(|s| format!("{s:?}")).collect();
    println!(
        "authorizer-cache-mix: {} tokens x {} routes, uniform, Poisson arrivals, TTL {} s, {} requests counted after {} (identity sources now: {})",
        mix.tokens,
        mix.routes,
        mix.ttl.as_secs(),
        mix.requests,
        mix.warmup,
        names.join(", ")
    );
    for per_ttl in rates {
        let before = invocations(&mix, &token_only, per_ttl, 7);
        let after = invocations(&mix, identity, per_ttl, 7);
        println!(
            "  {per_ttl:.0} requests per TTL: token key {before:.1}, token+route key {after:.1} invocations per 1000 requests ({:.2}x)",
            after / before
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("authorizer-cache-mix: {message}");
            ExitCode::FAILURE
        }
    }
}
