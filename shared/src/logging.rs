//! Logs of every patgate function: JSON lines (under Lambda's JSON log format) at the
//! level Lambda's advanced logging controls set, for patgate's own code only.
//!
//! The runtime and the AWS SDK stay at INFO at most whatever the level: at DEBUG and
//! TRACE they log raw events and request bodies, which hold bearer tokens, session
//! JWTs and token hashes. patgate's own code logs ids and reasons, never those.
//!
//! The runtime writes one ERROR line per handler error. The authorizer answers every
//! refused call (401) with an error and logs its store failures itself, so its lines
//! would be one per refusal that nobody reads and CloudWatch Logs bills:
//! [`init_without_handler_error_lines`] leaves them out (the runtime's line for a
//! panic stays).

use lambda_http::tracing::subscriber::filter::{filter_fn, LevelFilter, Targets};
use lambda_http::tracing::subscriber::fmt;
use lambda_http::tracing::subscriber::layer::SubscriberExt;
use lambda_http::tracing::subscriber::util::SubscriberInitExt;

/// The crates whose logs follow the configured level.
const OWN_CRATES: [&str; 11] = [
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
    "pre_traffic",
];

/// Where the runtime logs a handler's `Err` (a message, no other field) and a panic
/// (with an `error` field).
const HANDLER_OUTCOME_TARGET: &str = "lambda_runtime::layers::panic";

/// The runtime's line for a handler's `Err`, not for a panic.
pub fn is_handler_error_line(metadata: &lambda_http::tracing::Metadata<'_>) -> bool {
    metadata.target() == HANDLER_OUTCOME_TARGET && metadata.fields().field("error").is_none()
}

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
    install(false);
}

/// [`init`], without the runtime's line for each handler error (the authorizer's).
pub fn init_without_handler_error_lines() {
    install(true);
}

fn install(drop_handler_errors: bool) {
    let raw = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let filter = filter(level_from(raw.as_deref()));
    let handler_errors = filter_fn(move |m| !(drop_handler_errors && is_handler_error_line(m)));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let collector = fmt()
        .with_target(false)
        .without_time()
        .with_max_level(LevelFilter::TRACE);
    if json {
        collector
            .json()
            .finish()
            .with(filter)
            .with(handler_errors)
            .init();
    } else {
        collector.finish().with(filter).with(handler_errors).init();
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
    fn only_the_runtimes_handler_error_lines_are_told_apart() {
        use lambda_http::tracing::subscriber::layer::Context;
        use lambda_http::tracing::subscriber::registry::Registry;
        use lambda_http::tracing::subscriber::Layer;
        use std::sync::{Arc, Mutex};

        /// Records, per event, its target and whether it is a handler error line.
        #[derive(Clone, Default)]
        struct Seen(Arc<Mutex<Vec<(String, bool)>>>);
        impl<S: lambda_http::tracing::Subscriber> Layer<S> for Seen {
            fn on_event(&self, event: &lambda_http::tracing::Event<'_>, _: Context<'_, S>) {
                let metadata = event.metadata();
                self.0.lock().unwrap().push((
                    metadata.target().to_owned(),
                    is_handler_error_line(metadata),
                ));
            }
        }
        let seen = Seen::default();
        let subscriber = Registry::default().with(seen.clone());
        {
            let _guard = subscriber.set_default();
            // The runtime's two lines, as lambda_runtime 1.5 writes them.
            let error = "Unauthorized(\"expired\")";
            lambda_http::tracing::error!(target: "lambda_runtime::layers::panic", "{error:?}");
            lambda_http::tracing::error!(target: "lambda_runtime::layers::panic", ?error, "user handler panicked");
            lambda_http::tracing::error!(target: "authorizer", "decision");
        }
        let seen = seen.0.lock().unwrap().clone();
        assert_eq!(
            seen.iter()
                .map(|(_, handler_error)| *handler_error)
                .collect::<Vec<_>>(),
            [true, false, false]
        );
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
