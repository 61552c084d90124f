//! Operational metrics as CloudWatch embedded metric format (EMF) lines: one JSON
//! object per line on stdout, which CloudWatch Logs turns into metrics with no API
//! call on the request path. Lambda passes JSON lines through unchanged under the
//! template's JSON log format; they carry no `level`, so they count as INFO and need
//! the application log level at INFO or more verbose.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

/// The CloudWatch namespace of every patgate metric.
pub const NAMESPACE: &str = "patgate";

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

/// Where metric lines go: stdout in Lambda, nowhere or a buffer elsewhere.
#[derive(Debug, Clone, Default)]
pub enum Metrics {
    #[default]
    Off,
    Stdout,
    /// Kept in memory (tests read them back).
    Captured(Arc<Mutex<Vec<String>>>),
}

impl Metrics {
    pub fn captured() -> Self {
        Metrics::Captured(Arc::default())
    }

    /// The lines captured so far (empty unless [`Metrics::Captured`]).
    pub fn lines(&self) -> Vec<String> {
        match self {
            Metrics::Captured(lines) => lines.lock().map(|lines| lines.clone()).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// Emits one EMF line: `metrics` under the dimension set `dimensions`
    /// (name, value pairs), at `timestamp_ms`.
    pub fn emit(
        &self,
        dimensions: &[(&str, &str)],
        metrics: &[(&str, Unit, f64)],
        timestamp_ms: i64,
    ) {
        if matches!(self, Metrics::Off) {
            return;
        }
        let line = emf_line(dimensions, metrics, timestamp_ms);
        match self {
            Metrics::Off => {}
            Metrics::Stdout => {
                let mut out = std::io::stdout().lock();
                // A lost metric line must never fail a request.
                let _ = writeln!(out, "{line}");
            }
            Metrics::Captured(lines) => {
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

/// The EMF document for `metrics` with one dimension set made of `dimensions`.
pub fn emf_line(
    dimensions: &[(&str, &str)],
    metrics: &[(&str, Unit, f64)],
    timestamp_ms: i64,
) -> String {
    let mut root = Map::new();
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), json!(value));
    }
    for (name, _, value) in metrics {
        root.insert((*name).to_owned(), json!(value));
    }
    let dimension_names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimension_names],
                "Metrics": definitions,
            }],
        }),
    );
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_embedded_metric_format() {
        let line = emf_line(
            &[("Function", "authorizer"), ("Outcome", "allow")],
            &[
                ("Decisions", Unit::Count, 1.0),
                ("DecisionLatency", Unit::Milliseconds, 2.5),
            ],
            1_795_600_000_000,
        );
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(doc["Outcome"], "allow");
        assert_eq!(doc["Decisions"], 1.0);
        assert_eq!(doc["DecisionLatency"], 2.5);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(doc["_aws"]["Timestamp"], 1_795_600_000_000i64);
        assert_eq!(directive["Namespace"], "patgate");
        assert_eq!(directive["Dimensions"], json!([["Function", "Outcome"]]));
        assert_eq!(
            directive["Metrics"][1],
            json!({"Name": "DecisionLatency", "Unit": "Milliseconds"})
        );
        assert!(!line.contains('\n'));
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
