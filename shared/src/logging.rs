//! Logs of every patgate function: JSON lines (under Lambda's JSON log format) at the
//! level Lambda's advanced logging controls set, for patgate's own code only.
//!
//! The runtime and the AWS SDK stay at INFO at most whatever the level: at DEBUG and
//! TRACE they log raw events and request bodies, which hold bearer tokens, session
//! JWTs and token hashes. patgate's own code logs ids and reasons, never those.

use lambda_http::tracing::subscriber::filter::{EnvFilter, LevelFilter};
use lambda_http::tracing::subscriber::fmt;

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

/// Filter directives: everything at `min(level, INFO)`, patgate's crates at `level`.
pub fn directives(level: LevelFilter) -> String {
    let others = level.min(LevelFilter::INFO);
    let mut directives = vec![others.to_string().to_lowercase()];
    directives.extend(
        OWN_CRATES
            .iter()
            .map(|krate| format!("{krate}={}", level.to_string().to_lowercase())),
    );
    directives.join(",")
}

/// Installs the subscriber; call once, first thing in `main`.
pub fn init() {
    let raw = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let filter = EnvFilter::builder().parse_lossy(directives(level_from(raw.as_deref())));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let collector = fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter);
    if json {
        collector.json().init();
    } else {
        collector.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_never_log_below_info() {
        for (raw, ours, others) in [
            (Some("TRACE"), "trace", "info"),
            (Some("debug"), "debug", "info"),
            (None, "info", "info"),
            (Some("WARN"), "warn", "warn"),
            (Some("FATAL"), "error", "error"),
            (Some("nonsense"), "info", "info"),
        ] {
            let text = directives(level_from(raw));
            let mut parts = text.split(',');
            assert_eq!(parts.next(), Some(others), "{raw:?}");
            assert!(
                parts.all(|d| d.ends_with(&format!("={ours}"))),
                "{raw:?}: {text}"
            );
            assert!(!text.contains("lambda_runtime"));
        }
    }
}
