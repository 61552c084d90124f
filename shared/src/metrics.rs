//! Operational metrics as CloudWatch embedded metric format (EMF) lines: one JSON
//! object per line on stdout, which CloudWatch Logs turns into metrics with no API
//! call on the request path. Lambda passes JSON lines through unchanged under the
//! template's JSON log format; they carry no `level`, so they count as INFO and need
//! the application log level at INFO or more verbose (the template allows no less).
//!
//! Every metric lands in the stack's namespace (`METRIC_NAMESPACE`) under the
//! dimension `Service` = `METRIC_SERVICE`, so that two stacks of one account keep
//! their metrics, and their alarms, apart.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use crate::config::Settings;

/// The namespace and service of a deployment that sets neither.
pub const DEFAULT_NAMESPACE: &str = "patgate";
pub const DEFAULT_SERVICE: &str = "patgate";

/// The dimension every metric carries, valued with the deployment's service.
pub const SERVICE_DIMENSION: &str = "Service";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Where a deployment's metrics go in CloudWatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub namespace: String,
    pub service: String,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            service: DEFAULT_SERVICE.to_owned(),
        }
    }
}

impl Scope {
    pub fn of(settings: &Settings) -> Self {
        Scope {
            namespace: settings.metric_namespace.clone(),
            service: settings.metric_service.clone(),
        }
    }
}

/// Where metric lines go: stdout in Lambda, nowhere or a buffer elsewhere.
#[derive(Debug, Clone, Default)]
pub enum Metrics {
    #[default]
    Off,
    Stdout(Arc<Scope>),
    /// Kept in memory (tests read them back).
    Captured(Arc<Scope>, Arc<Mutex<Vec<String>>>),
}

impl Metrics {
    /// Lines on stdout, in the namespace and service of `settings`.
    pub fn stdout(settings: &Settings) -> Self {
        Metrics::Stdout(Arc::new(Scope::of(settings)))
    }

    /// Lines kept in memory, in the default namespace and service.
    pub fn captured() -> Self {
        Self::captured_in(Scope::default())
    }

    pub fn captured_in(scope: Scope) -> Self {
        Metrics::Captured(Arc::new(scope), Arc::default())
    }

    /// The lines captured so far (empty unless [`Metrics::Captured`]).
    pub fn lines(&self) -> Vec<String> {
        match self {
            Metrics::Captured(_, lines) => {
                lines.lock().map(|lines| lines.clone()).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    /// Emits one EMF line: `metrics` under the dimension set `Service` +
    /// `dimensions` (name, value pairs), at `timestamp_ms`. A `Service` among
    /// `dimensions` is replaced by the deployment's.
    pub fn emit(
        &self,
        dimensions: &[(&str, &str)],
        metrics: &[(&str, Unit, f64)],
        timestamp_ms: i64,
    ) {
        self.emit_with_rollup(dimensions, None, metrics, timestamp_ms);
    }

    /// As [`Metrics::emit`], and also under the dimension set `Service` + `rollup`
    /// (names among `dimensions`): the same values summed over the dimensions left
    /// out, for an alarm that cannot add up every combination (CloudWatch alarms
    /// cannot search).
    pub fn emit_with_rollup(
        &self,
        dimensions: &[(&str, &str)],
        rollup: Option<&[&str]>,
        metrics: &[(&str, Unit, f64)],
        timestamp_ms: i64,
    ) {
        let (scope, captured) = match self {
            Metrics::Off => return,
            Metrics::Stdout(scope) => (scope, None),
            Metrics::Captured(scope, lines) => (scope, Some(lines)),
        };
        let line = emf_line(scope, dimensions, rollup, metrics, timestamp_ms);
        match captured {
            None => {
                let mut out = std::io::stdout().lock();
                // A lost metric line must never fail a request.
                let _ = writeln!(out, "{line}");
            }
            Some(lines) => {
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        }
    }

    /// Counts one event of `name` under `dimensions`.
    pub fn count(&self, name: &str, dimensions: &[(&str, &str)], timestamp_ms: i64) {
        self.emit(dimensions, &[(name, Unit::Count, 1.0)], timestamp_ms);
    }
}

/// The EMF document for `metrics` in `scope`, with the dimension set `Service` +
/// `dimensions` and, given `rollup`, a second one `Service` + `rollup`.
pub fn emf_line(
    scope: &Scope,
    dimensions: &[(&str, &str)],
    rollup: Option<&[&str]>,
    metrics: &[(&str, Unit, f64)],
    timestamp_ms: i64,
) -> String {
    let mut root = Map::new();
    root.insert(SERVICE_DIMENSION.to_owned(), json!(scope.service));
    let mut names = vec![SERVICE_DIMENSION];
    for (name, value) in dimensions {
        if *name != SERVICE_DIMENSION {
            root.insert((*name).to_owned(), json!(value));
            names.push(name);
        }
    }
    for (name, _, value) in metrics {
        root.insert((*name).to_owned(), json!(value));
    }
    let mut sets = vec![names];
    if let Some(rollup) = rollup {
        let mut set = vec![SERVICE_DIMENSION];
        set.extend(
            rollup
                .iter()
                .copied()
                .filter(|name| *name != SERVICE_DIMENSION && root.contains_key(*name)),
        );
        sets.push(set);
    }
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": scope.namespace,
                "Dimensions": sets,
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(namespace: &str, service: &str) -> Scope {
        Scope {
            namespace: namespace.into(),
            service: service.into(),
        }
    }

    #[test]
    fn lines_follow_the_embedded_metric_format() {
        let line = emf_line(
            &scope("patgate", "patgate-prod"),
            &[("Function", "authorizer"), ("Outcome", "allow")],
            None,
            &[
                ("Decisions", Unit::Count, 1.0),
                ("DecisionLatency", Unit::Milliseconds, 2.5),
            ],
            1_795_600_000_000,
        );
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["Outcome"], "allow");
        assert_eq!(doc["Service"], "patgate-prod");
        assert_eq!(doc["Decisions"], 1.0);
        assert_eq!(doc["DecisionLatency"], 2.5);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_795_600_000_000i64);
        assert_eq!(directive["Namespace"], "patgate");
        assert_eq!(
            directive["Dimensions"],
            json!([["Service", "Function", "Outcome"]])
        );
        assert_eq!(
            directive["Metrics"][1],
            json!({"Name": "DecisionLatency", "Unit": "Milliseconds"})
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn the_deployment_names_the_namespace_and_the_service() {
        let metrics = Metrics::captured_in(scope("acme/tokens", "tokens-dev"));
        // A caller's own Service is the deployment's.
        metrics.count("TokensCreated", &[("Service", "other")], 0);
        let doc: Value = serde_json::from_str(&metrics.lines()[0]).unwrap();
        assert_eq!(doc["Service"], "tokens-dev");
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "acme/tokens");
        assert_eq!(directive["Dimensions"], json!([["Service"]]));
    }

    #[test]
    fn a_rollup_adds_a_dimension_set_without_the_other_dimensions() {
        let line = emf_line(
            &Scope::default(),
            &[("Outcome", "unauthorized"), ("Reason", "expired")],
            Some(&["Outcome"]),
            &[("Decisions", Unit::Count, 1.0)],
            0,
        );
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Service", "Outcome", "Reason"], ["Service", "Outcome"]])
        );
    }

    #[test]
    fn only_a_capturing_sink_keeps_lines() {
        let captured = Metrics::captured();
        captured.count("TokensCreated", &[("Function", "create-token")], 0);
        assert_eq!(captured.lines().len(), 1);
        let off = Metrics::Off;
        off.count("TokensCreated", &[], 0);
        assert!(off.lines().is_empty());
    }
}
