//! Logs of every patgate function: JSON lines (under Lambda's JSON log format) at the
//! level Lambda's advanced logging controls set, for patgate's own code only.
//!
//! The runtime and the AWS SDK stay at INFO at most whatever the level: at DEBUG and
//! TRACE they log raw events and request bodies, which hold bearer tokens, session
//! JWTs and token hashes. patgate's own code logs ids and reasons, never those.

use lambda_http::tracing::subscriber::filter::{LevelFilter, Targets};
use lambda_http::tracing::subscriber::fmt;
use lambda_http::tracing::subscriber::layer::SubscriberExt;
use lambda_http::tracing::subscriber::util::SubscriberInitExt;

/// The crates whose logs follow the configured level.
const OWN_CRATES: [&str; 10] = [
    "patgate",
    "authorizer",
    "create_token",
    "list_tokens",
    "revoke_token",
    "rotate_token",
    "revoke_credentials",
    "events",
    "reminders",
    "demo_echo",
];

/// The configured level: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` read as a bare level,
/// else INFO. FATAL (which Lambda allows) reads as ERROR.
pub fn level_from(raw: Option<&str>) -> LevelFilter {
    match raw.map(|r| r.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") | Some("FATAL") => LevelFilter::ERROR,
        Some("OFF") => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// The filter: everything at `min(level, INFO)`, patgate's crates at `level`.
///
/// A `Targets` filter, not an `EnvFilter`: it matches target prefixes only, which is
/// all this needs, and is built from values, where an `EnvFilter` parses directive
/// strings with regular expressions compiled at cold start.
pub fn filter(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(level.min(LevelFilter::INFO))
        .with_targets(OWN_CRATES.iter().map(|krate| (*krate, level)))
}

/// Installs the subscriber; call once, first thing in `main`.
pub fn init() {
    let raw = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let filter = filter(level_from(raw.as_deref()));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let collector = fmt()
        .with_target(false)
        .without_time()
        .with_max_level(LevelFilter::TRACE);
    if json {
        collector.json().finish().with(filter).init();
    } else {
        collector.finish().with(filter).init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use lambda_http::tracing::Level;

    /// The most verbose level `filter` lets through for `target`.
    fn most_verbose(filter: &Targets, target: &str) -> Option<Level> {
        [
            Level::TRACE,
            Level::DEBUG,
            Level::INFO,
            Level::WARN,
            Level::ERROR,
        ]
        .into_iter()
        .find(|level| filter.would_enable(target, level))
    }

    #[test]
    fn dependencies_never_log_below_info() {
        use Level as L;
        for (raw, ours, others) in [
            (Some("TRACE"), Some(L::TRACE), Some(L::INFO)),
            (Some("debug"), Some(L::DEBUG), Some(L::INFO)),
            (None, Some(L::INFO), Some(L::INFO)),
            (Some("WARN"), Some(L::WARN), Some(L::WARN)),
            (Some("FATAL"), Some(L::ERROR), Some(L::ERROR)),
            (Some("off"), None, None),
            (Some("nonsense"), Some(L::INFO), Some(L::INFO)),
        ] {
            let filter = filter(level_from(raw));
            for krate in OWN_CRATES {
                assert_eq!(most_verbose(&filter, krate), ours, "{raw:?} {krate}");
                let module = format!("{krate}::store::tokens");
                assert_eq!(most_verbose(&filter, &module), ours, "{raw:?} {module}");
            }
            for dependency in [
                "lambda_runtime",
                "lambda_runtime_api_client",
                "lambda_http",
                "aws_smithy_runtime::client::orchestrator",
                "aws_sdk_dynamodb",
                "hyper_util",
                "rustls",
            ] {
                assert_eq!(
                    most_verbose(&filter, dependency),
                    others,
                    "{raw:?} {dependency}"
                );
            }
        }
    }
}
