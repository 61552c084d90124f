//! The API Gateway stages whose authorizer caches are flushed: this stack's API
//! (`PATGATE_API_STAGE`) and the client APIs that attach its authorizer
//! (`CLIENT_API_STAGES`, template parameter `ClientApiStages`), each written
//! `rest:{rest api id}/{stage}` or `http:{http api id}/{stage}`, comma-separated.

use std::fmt;

/// This stack's API stage (`rest:{PatgateApi}/{StageName}`).
pub const PATGATE_API_STAGE: &str = "PATGATE_API_STAGE";
/// The client APIs' stages (template parameter `ClientApiStages`).
pub const CLIENT_API_STAGES: &str = "CLIENT_API_STAGES";
/// The queue of flushes due later (`RevocationFlushQueue`).
pub const FLUSH_QUEUE_URL: &str = "REVOCATION_FLUSH_QUEUE_URL";

/// Which API Gateway API a stage belongs to: the flush call differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiKind {
    /// A REST API: `FlushStageAuthorizersCache`.
    Rest,
    /// An HTTP API: `ResetAuthorizersCache`.
    Http,
}

/// One stage to flush.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stage {
    pub kind: ApiKind,
    pub api_id: String,
    pub stage: String,
}

impl Stage {
    /// The management API's path of the stage's authorizer cache (what the flush
    /// deletes).
    pub fn cache_path(&self) -> String {
        match self.kind {
            ApiKind::Rest => format!(
                "/restapis/{}/stages/{}/cache/authorizers",
                self.api_id, self.stage
            ),
            ApiKind::Http => format!(
                "/v2/apis/{}/stages/{}/cache/authorizers",
                self.api_id, self.stage
            ),
        }
    }

    /// The IAM resource `apigateway:DELETE` is authorised on for the flush
    /// (HTTP APIs' resources drop the path's `/v2`).
    pub fn iam_resource(&self, partition: &str, region: &str) -> String {
        let path = self.cache_path();
        let path = path.strip_prefix("/v2").unwrap_or(&path);
        format!("arn:{partition}:apigateway:{region}::{path}")
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ApiKind::Rest => "rest",
            ApiKind::Http => "http",
        };
        write!(f, "{kind}:{}/{}", self.api_id, self.stage)
    }
}

/// An API id as API Gateway makes them: lowercase letters and digits.
fn valid_api_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A stage name as API Gateway allows it (HTTP APIs also have `$default`).
fn valid_stage(kind: ApiKind, stage: &str) -> bool {
    (kind == ApiKind::Http && stage == "$default")
        || ((1..=128).contains(&stage.len())
            && stage
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
}

fn parse_one(entry: &str) -> Option<Stage> {
    let (kind, rest) = entry.split_once(':')?;
    let kind = match kind {
        "rest" => ApiKind::Rest,
        "http" => ApiKind::Http,
        _ => return None,
    };
    let (api_id, stage) = rest.split_once('/')?;
    (valid_api_id(api_id) && valid_stage(kind, stage)).then(|| Stage {
        kind,
        api_id: api_id.to_owned(),
        stage: stage.to_owned(),
    })
}

/// The stages of a comma-separated list (`variable` names it in errors); blank is
/// none. Duplicates are flushed once.
pub fn parse_stages(variable: &str, raw: &str) -> Result<Vec<Stage>, String> {
    let mut stages = Vec::new();
    if raw.trim().is_empty() {
        return Ok(stages);
    }
    for (index, entry) in raw.split(',').enumerate() {
        let entry = entry.trim();
        let stage = parse_one(entry).ok_or_else(|| {
            format!(
                "{variable}: entry {} ({entry:?}) is not rest:<api id>/<stage> or http:<api id>/<stage> \
                 (api id: lowercase letters and digits; stage: letters, digits, - and _, or $default for an HTTP API)",
                index + 1
            )
        })?;
        if !stages.contains(&stage) {
            stages.push(stage);
        }
    }
    Ok(stages)
}

/// Every stage to flush, from the environment read through `lookup`: this stack's
/// API (`PATGATE_API_STAGE`, required) and the client APIs (`CLIENT_API_STAGES`).
pub fn stages_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Vec<Stage>, String> {
    let own = lookup(PATGATE_API_STAGE).unwrap_or_default();
    let mut stages = parse_stages("PATGATE_API_STAGE", &own)?;
    if stages.len() != 1 {
        return Err(format!(
            "PATGATE_API_STAGE must name this stack's API stage, as rest:<api id>/<stage> (got {own:?})"
        ));
    }
    for stage in parse_stages(
        "CLIENT_API_STAGES",
        &lookup(CLIENT_API_STAGES).unwrap_or_default(),
    )? {
        if !stages.contains(&stage) {
            stages.push(stage);
        }
    }
    Ok(stages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_with_their_kind_and_paths() {
        let stages = parse_stages("X", "rest:a1b2c3d4e5/prod, http:x9y8z7/$default").unwrap();
        assert_eq!(stages.len(), 2);
        assert_eq!(
            stages[0].cache_path(),
            "/restapis/a1b2c3d4e5/stages/prod/cache/authorizers"
        );
        assert_eq!(
            stages[1].cache_path(),
            "/v2/apis/x9y8z7/stages/$default/cache/authorizers"
        );
        assert_eq!(
            stages[1].iam_resource("aws", "eu-west-1"),
            "arn:aws:apigateway:eu-west-1::/apis/x9y8z7/stages/$default/cache/authorizers"
        );
        assert_eq!(stages[0].to_string(), "rest:a1b2c3d4e5/prod");
        assert!(parse_stages("X", " ").unwrap().is_empty());
        assert_eq!(
            parse_stages("X", "rest:a/v1,rest:a/v1").unwrap().len(),
            1,
            "flushed once"
        );
    }

    #[test]
    fn a_bad_entry_is_refused_naming_the_variable_and_the_entry() {
        for bad in [
            "a1b2c3d4e5/prod",
            "soap:a1/prod",
            "rest:A1/prod",
            "rest:a1/",
            "rest:a1/$default",
            "rest:a1/prod/x",
            "rest:a1/prod,",
            "rest:a1/p d",
        ] {
            let err = parse_stages("CLIENT_API_STAGES", bad).unwrap_err();
            assert!(err.starts_with("CLIENT_API_STAGES: entry "), "{bad}: {err}");
        }
        let err = parse_stages("CLIENT_API_STAGES", "rest:a1/prod,http:b2").unwrap_err();
        assert!(err.contains("entry 2 (\"http:b2\")"), "{err}");
    }

    #[test]
    fn this_stacks_stage_is_required_and_comes_first() {
        let env = |own: &'static str, clients: &'static str| {
            move |name: &str| match name {
                "PATGATE_API_STAGE" => Some(own.to_owned()),
                "CLIENT_API_STAGES" => Some(clients.to_owned()),
                _ => None,
            }
        };
        let stages =
            stages_from_lookup(env("rest:own1/v1", "http:c1/$default,rest:own1/v1")).unwrap();
        let names: Vec<String> = stages.iter().map(Stage::to_string).collect();
        assert_eq!(names, ["rest:own1/v1", "http:c1/$default"]);
        assert!(stages_from_lookup(env("", "rest:c1/v1"))
            .unwrap_err()
            .contains("PATGATE_API_STAGE"));
        assert!(stages_from_lookup(env("rest:own1/v1", "rest:c1"))
            .unwrap_err()
            .contains("CLIENT_API_STAGES"));
    }
}
