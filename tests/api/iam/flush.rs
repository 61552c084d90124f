//! The revocations function's authorizer cache flushes, evaluated against its IAM
//! policy: the management API requests its real flusher makes (recorded by the local
//! management endpoint) are allowed, on exactly the registered stages' authorizer
//! caches and nothing else of API Gateway.

use std::sync::Arc;

use patgate_local::local_routes::Clock;
use patgate_local::management::Management;
use revocations::stages::parse_stages;
use revocations::CacheFlush;
use tokio::net::TcpListener;

use super::*;

const CLIENT_STAGES: &str = "rest:a1b2c3d4e5/prod,http:x9y8z7/$default";
const REGION: &str = "us-east-1";

fn template_with(overrides: &[(&str, &str)]) -> Template {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let mut parameters = BTreeMap::from([("WebOrigin".to_owned(), WEB_ORIGIN.to_owned())]);
    parameters.extend(
        overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Template::parse(
        &text,
        &sam::local_parameters(&parameters),
        &LocalContext::default(),
    )
    .unwrap()
}

/// Every function's statements on API Gateway (`apigateway:` actions, or any action),
/// by binary name (the DynamoDB evaluator leaves other services' statements out).
fn apigateway_statements(overrides: &[(&str, &str)]) -> BTreeMap<String, Vec<Statement>> {
    let template = template_with(overrides);
    template
        .resources_of("AWS::Serverless::Function")
        .map(|(_, resource)| {
            let binary = resource
                .pointer("/Metadata/BuildProperties/Binary")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let policies = resource
                .pointer("/Properties/Policies")
                .and_then(|p| template.resolve(p).unwrap())
                .unwrap_or(Value::Null);
            let statements = policies
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|entry| entry.get("Statement"))
                .flat_map(|list| {
                    list.as_array()
                        .cloned()
                        .unwrap_or_else(|| vec![list.clone()])
                })
                .filter(|raw| {
                    strings(&raw["Action"], "Action")
                        .iter()
                        .any(|a| a.starts_with("apigateway:") || a.starts_with('*'))
                })
                .map(|raw| parse_statement(&binary, &raw))
                .collect();
            (binary, statements)
        })
        .collect()
}

/// The revocations function's resolved environment variable `name`.
fn environment(overrides: &[(&str, &str)], name: &str) -> String {
    let template = template_with(overrides);
    let (_, function) = template
        .resources_of("AWS::Serverless::Function")
        .find(|(_, r)| r.pointer("/Metadata/BuildProperties/Binary") == Some(&json!("revocations")))
        .unwrap();
    let value = function
        .pointer(&format!("/Properties/Environment/Variables/{name}"))
        .unwrap_or_else(|| panic!("no {name}"));
    template
        .resolve(value)
        .unwrap()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn delete(resource: &str) -> IamRequest {
    request("apigateway:DELETE", resource)
}

fn request(action: &str, resource: &str) -> IamRequest {
    IamRequest {
        action: action.to_owned(),
        resource: resource.to_owned(),
        context: BTreeMap::new(),
    }
}

fn arn(path: &str) -> String {
    format!("arn:aws:apigateway:{REGION}::{path}")
}

/// The management API requests the real flusher makes for `stages`.
async fn flush_requests(stages: &str) -> Vec<IamRequest> {
    let stages = parse_stages("CLIENT_API_STAGES", stages).unwrap();
    let mut management = Management::new();
    for stage in &stages {
        management.register(stage, Arc::new(|| {}));
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let management = Arc::new(management);
    tokio::spawn(management.clone().serve(listener));
    let flusher =
        patgate_local::revocation::start(&url, stages, Arc::new(Clock::default())).unwrap();
    flusher.flush().await.unwrap();
    management
        .requests()
        .into_iter()
        .map(|r| {
            let path = r.path.strip_prefix("/v2").unwrap_or(&r.path).to_owned();
            request(&format!("apigateway:{}", r.method), &arn(&path))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revocations_function_may_flush_exactly_the_registered_stages() {
    let overrides = [("ClientApiStages", CLIENT_STAGES)];
    let policies = apigateway_statements(&overrides);
    let statements = &policies["revocations"];
    let allowed = |r: &IamRequest| matches!(decide(statements, r), Decision::Allowed(_));

    // The client stages, as the real flusher calls them.
    assert_eq!(environment(&overrides, "CLIENT_API_STAGES"), CLIENT_STAGES);
    let requests = flush_requests(CLIENT_STAGES).await;
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert!(allowed(r), "{r:?} refused");
    }
    // This stack's stage, as PATGATE_API_STAGE names it.
    let own = environment(&overrides, "PATGATE_API_STAGE");
    let (api, stage) = own
        .strip_prefix("rest:")
        .and_then(|s| s.split_once('/'))
        .unwrap_or_else(|| panic!("PATGATE_API_STAGE {own}"));
    let own_cache = arn(&format!("/restapis/{api}/stages/{stage}/cache/authorizers"));
    assert!(allowed(&delete(&own_cache)));

    // Nothing else: not the stages themselves, their data caches, other stages or
    // APIs, nor another verb on the caches.
    for refused in [
        delete(&arn("/restapis/a1b2c3d4e5/stages/prod")),
        delete(&arn("/restapis/a1b2c3d4e5/stages/prod/cache/data")),
        delete(&arn("/restapis/a1b2c3d4e5/stages/test/cache/authorizers")),
        delete(&arn("/restapis/zzzzzzzzzz/stages/prod/cache/authorizers")),
        delete(&arn("/apis/x9y8z7/stages/$default")),
        delete(&arn("/apis/x9y8z7/stages/other/cache/authorizers")),
        delete(&arn("/restapis/x9y8z7/stages/$default/cache/authorizers")),
        delete(&arn(&format!("/restapis/{api}"))),
        request(
            "apigateway:PATCH",
            &arn("/restapis/a1b2c3d4e5/stages/prod/cache/authorizers"),
        ),
        request("apigateway:GET", &own_cache),
        delete(&format!(
            "arn:aws:apigateway:eu-west-1::/restapis/{api}/stages/{stage}/cache/authorizers"
        )),
    ] {
        assert_eq!(
            decide(statements, &refused),
            Decision::ImplicitDeny,
            "{refused:?}"
        );
    }

    // Without client stages, this stack's stage alone.
    let alone = apigateway_statements(&[]);
    let flush = &alone["revocations"];
    assert_eq!(flush.len(), 1);
    assert_eq!(flush[0].resources, [own_cache]);
    // No other function may flush.
    for (function, statements) in &alone {
        if function != "revocations" {
            assert!(
                statements.is_empty(),
                "{function} may call API Gateway's management API"
            );
        }
    }
}
