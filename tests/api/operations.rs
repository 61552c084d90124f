//! template.yaml's rollout and operations pack, read as written: every function
//! publishes an alias and is watched by an Errors and a Throttles alarm (the
//! authorizer's Errors through its crash alarm), the authorizer and the token API
//! roll out with CodeDeploy and roll back on their alarms, every alarm notifies the
//! topic and names a runbook section that infra/docs/operations.md has, and the
//! stack-name limit the template and the deploying guide state is the one its fixed
//! names allow. A function added without its alarms, or a name that lowers the limit,
//! fails here.

use std::collections::{BTreeMap, BTreeSet};

use patgate_local::cfn::{LocalContext, Template};
use patgate_local::sam;
use patgate_tests::{repo_root, WEB_ORIGIN};
use serde_json::{json, Value};

fn template() -> Template {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let overrides = BTreeMap::from([("WebOrigin".to_owned(), WEB_ORIGIN.to_owned())]);
    Template::parse(
        &text,
        &sam::local_parameters(&overrides),
        &LocalContext::default(),
    )
    .expect("template reads")
}

/// Every resource of `kind`, whatever its condition: (logical id, raw resource).
fn all_of(template: &Template, kind: &str) -> Vec<(String, Value)> {
    template.root()["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| Template::resource_type(r) == kind)
        .map(|(id, r)| (id.clone(), r.clone()))
        .collect()
}

fn resolved(template: &Template, value: &Value) -> Value {
    template.resolve(value).unwrap().unwrap_or(Value::Null)
}

/// GitHub's anchors of the headings of a Markdown page.
fn anchors(page: &str) -> BTreeSet<String> {
    page.lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| {
            line.trim_start_matches('#')
                .trim()
                .to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                .map(|c| if c == ' ' { '-' } else { c })
                .collect()
        })
        .collect()
}

#[test]
fn every_alarm_notifies_the_topic_and_names_a_runbook_section_that_exists() {
    let template = template();
    let runbook = std::fs::read_to_string(repo_root().join("infra/docs/operations.md")).unwrap();
    let sections = anchors(&runbook);
    let topic =
        json!([{"Fn::If": ["CreatesAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}]);
    let alarms = all_of(&template, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 20, "{}", alarms.len());
    for (id, alarm) in &alarms {
        let properties = &alarm["Properties"];
        assert_eq!(properties["AlarmActions"], topic, "{id}");
        assert_eq!(properties["OKActions"], topic, "{id}");
        let description = properties["AlarmDescription"].as_str().unwrap_or("");
        let section = description
            .split("Runbook: infra/docs/operations.md#")
            .nth(1)
            .unwrap_or_else(|| panic!("{id}: no runbook section in its description"))
            .trim();
        assert!(
            sections.contains(section),
            "{id}: operations.md has no section #{section}"
        );
    }
}

/// The FunctionName dimension of each alarm on an AWS/Lambda metric, by metric name.
fn lambda_alarms(template: &Template) -> BTreeMap<String, BTreeSet<String>> {
    let mut watched: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (_, alarm) in all_of(template, "AWS::CloudWatch::Alarm") {
        let properties = &alarm["Properties"];
        let mut stats: Vec<&Value> = vec![properties];
        let metrics = properties["Metrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let inner: Vec<Value> = metrics
            .iter()
            .map(|m| m["MetricStat"]["Metric"].clone())
            .collect();
        stats.extend(inner.iter());
        for stat in stats {
            if stat["Namespace"] != "AWS/Lambda" {
                continue;
            }
            let name = stat["MetricName"].as_str().unwrap_or("").to_owned();
            for dimension in stat["Dimensions"].as_array().into_iter().flatten() {
                if dimension["Name"] == "FunctionName" {
                    let function = resolved(template, &dimension["Value"]);
                    watched
                        .entry(name.clone())
                        .or_default()
                        .insert(function.as_str().unwrap_or("").to_owned());
                }
            }
        }
    }
    watched
}

#[test]
fn every_function_has_an_alias_an_errors_alarm_and_a_throttles_alarm() {
    let template = template();
    let globals = &template.root()["Globals"]["Function"];
    assert_eq!(
        globals["AutoPublishAlias"], "live",
        "every function publishes its alias"
    );
    let watched = lambda_alarms(&template);
    let crash_alarm = &all_of(&template, "AWS::CloudWatch::Alarm")
        .into_iter()
        .find(|(id, _)| id == "AuthorizerCrashesAlarm")
        .expect("the authorizer's crash alarm")
        .1;
    assert_eq!(
        crash_alarm["Properties"]["Metrics"][0]["Expression"],
        "errors - FILL(refused, 0) - FILL(failed, 0)"
    );
    for (id, function) in all_of(&template, "AWS::Serverless::Function") {
        assert!(
            function["Properties"].get("AutoPublishAlias").is_none(),
            "{id} overrides the alias of Globals"
        );
        let name = resolved(&template, &function["Properties"]["FunctionName"]);
        let name = name
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no FunctionName"));
        assert!(
            watched["Throttles"].contains(name),
            "{id} ({name}): no Throttles alarm"
        );
        // The authorizer's Errors are its 401s too: its crash alarm watches them.
        assert!(
            watched["Errors"].contains(name),
            "{id} ({name}): no Errors alarm"
        );
    }
}

#[test]
fn the_authorizer_and_the_token_api_roll_out_with_codedeploy_and_roll_back_on_alarms() {
    let template = template();
    let functions: BTreeMap<String, Value> = all_of(&template, "AWS::Serverless::Function")
        .into_iter()
        .collect();
    let binary = |f: &Value| {
        f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    let api_function = |f: &Value| {
        f["Properties"]["Events"]
            .as_object()
            .is_some_and(|events| events.values().any(|e| e["Type"] == "Api"))
            && binary(f) != "demo-echo"
    };
    let mut gradual = BTreeSet::new();
    for (id, function) in &functions {
        let Some(preference) = function["Properties"].get("DeploymentPreference") else {
            assert!(
                !api_function(function),
                "{id}: a token API function without DeploymentPreference"
            );
            continue;
        };
        gradual.insert(binary(function));
        assert_eq!(preference["Type"], json!({"Ref": "DeploymentType"}), "{id}");
        let alarms: Vec<&str> = preference["Alarms"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: no rollback alarms"))
            .iter()
            .filter_map(|a| a["Ref"].as_str())
            .collect();
        assert!(alarms.contains(&"ApiServerErrorsAlarm"), "{id}: {alarms:?}");
        for alarm in alarms {
            let exists = template.root()["Resources"][alarm]["Type"] == "AWS::CloudWatch::Alarm";
            assert!(exists, "{id}: rollback alarm {alarm} is not an alarm");
        }
    }
    assert!(gradual.contains("authorizer"));
    for token_api in [
        "create-token",
        "list-tokens",
        "revoke-token",
        "rotate-token",
        "revoke-credentials",
    ] {
        assert!(gradual.contains(token_api), "{token_api}");
    }
    let authorizer = &functions["AuthorizerFunction"]["Properties"]["DeploymentPreference"];
    assert_eq!(
        authorizer["Hooks"]["PreTraffic"],
        json!({"Ref": "PreTrafficHookFunction"})
    );
    let alarms = authorizer["Alarms"].to_string();
    assert!(
        alarms.contains("AuthorizerCrashesAlarm")
            && alarms.contains("AuthorizerStoreFailuresAlarm")
    );
    let hook = &functions["PreTrafficHookFunction"]["Properties"];
    let name = resolved(&template, &hook["FunctionName"]);
    // SAM's CodeDeploy role may invoke only functions named CodeDeployHook_*.
    assert!(
        name.as_str().unwrap().starts_with("CodeDeployHook_"),
        "{name}"
    );
    assert_eq!(
        hook["Environment"]["Variables"]["AUTHORIZER_VERSION"],
        json!({"Ref": "AuthorizerFunction.Version"}),
        "the hook probes the version this deployment publishes"
    );
}

/// The stack-name limit a text states: "… at N characters or fewer".
fn stated_limit(text: &str, what: &str) -> usize {
    let at = text
        .find("characters or fewer")
        .unwrap_or_else(|| panic!("{what} states no stack-name limit"));
    let before = text[..at].trim_end();
    let digits: String = before
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{what}: no number before 'characters or fewer'"))
}

#[test]
fn the_stated_stack_name_limit_is_the_one_the_fixed_names_allow() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let template = template();
    // Names built from the stack name and a fixed suffix, with their services' limits.
    let limits = [
        ("AWS::Serverless::Function", "FunctionName", 64),
        ("AWS::SQS::Queue", "QueueName", 80),
        ("AWS::SNS::Topic", "TopicName", 256),
        ("AWS::CloudWatch::Alarm", "AlarmName", 255),
        (
            "AWS::CloudFront::OriginAccessControl",
            "OriginAccessControlConfig",
            64,
        ),
        ("AWS::WAFv2::WebACL", "Name", 128),
    ];
    let stack_length = LocalContext::default().stack_name.len();
    let mut allowed = usize::MAX;
    let mut longest = String::new();
    for (kind, property, limit) in limits {
        for (id, resource) in all_of(&template, kind) {
            let raw = &resource["Properties"][property];
            let raw = if property == "OriginAccessControlConfig" {
                &raw["Name"]
            } else {
                raw
            };
            if raw.is_null() {
                continue;
            }
            let name = resolved(&template, raw);
            let name = name.as_str().unwrap_or_else(|| panic!("{id}.{property}"));
            let fixed = name.len() - stack_length;
            if limit - fixed < allowed {
                allowed = limit - fixed;
                longest = format!("{id} ({name})");
            }
        }
    }
    let header = text.split("\nResources:").next().unwrap();
    assert_eq!(
        stated_limit(header, "template.yaml"),
        allowed,
        "limited by {longest}"
    );
    let guide = std::fs::read_to_string(repo_root().join("infra/docs/deploying.md")).unwrap();
    assert_eq!(
        stated_limit(&guide, "infra/docs/deploying.md"),
        allowed,
        "limited by {longest}"
    );
    let samconfig = std::fs::read_to_string(repo_root().join("samconfig.toml")).unwrap();
    for line in samconfig
        .lines()
        .filter(|l| l.trim_start().starts_with("stack_name"))
    {
        let name = line.split('"').nth(1).unwrap_or("");
        assert!(
            name.len() <= allowed,
            "samconfig.toml: {name} is over {allowed} characters"
        );
    }
}

#[test]
fn samconfig_has_dev_and_prod_setting_parameters_the_template_allows() {
    let samconfig = std::fs::read_to_string(repo_root().join("samconfig.toml")).unwrap();
    let template = template();
    let parameters = &template.root()["Parameters"];
    let mut environments = BTreeSet::new();
    for line in samconfig.lines() {
        if let Some(section) = line.strip_prefix('[') {
            environments.insert(section.split('.').next().unwrap_or("").to_owned());
        }
        let Some(overrides) = line.strip_prefix("parameter_overrides = ") else {
            continue;
        };
        let overrides = overrides.trim();
        let overrides = overrides
            .strip_prefix('"')
            .and_then(|o| o.strip_suffix('"'))
            .unwrap_or(overrides)
            .replace("\\\"", "\"");
        for pair in overrides.split_whitespace() {
            let (name, value) = pair.split_once('=').unwrap_or_else(|| panic!("{pair}"));
            let value = value.trim_matches('"');
            let spec = &parameters[name];
            assert!(
                spec.is_object(),
                "samconfig.toml sets {name}, which the template does not have"
            );
            if let Some(allowed) = spec["AllowedValues"].as_array() {
                let allowed: Vec<String> = allowed
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .collect();
                assert!(
                    allowed.iter().any(|a| a == value),
                    "{name}={value} is not one of {allowed:?}"
                );
            }
        }
    }
    for environment in ["default", "dev", "prod"] {
        assert!(
            environments.contains(environment),
            "samconfig.toml has no {environment} environment"
        );
    }
}
