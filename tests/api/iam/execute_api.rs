//! The execute-api side: what the authorizer's answers let API Gateway do, evaluated
//! with the policy evaluator API Gateway's semantics are modelled by
//! (`PolicyDocument::decide`: explicit Deny, then Allow, else implicit deny).
//!
//! The reported flaw: one policy listed every configured route, a `{param}` segment as
//! IAM's `?*`, which also matches `/`; so on an API with a route the configuration did
//! not list, `GET /catalog/svc-42/admin/export`, a Viewer's policy for
//! `GET /catalog/{entityId}` allowed it. Now each answer is for one route (the route is
//! an identity source, so a cached answer is applied to calls of that route only), and
//! an unlisted route gets an answer of its own: Deny.

use chrono::Utc;
use patgate::permissions::{PolicyDecision, PolicyDocument, PATGATE_API};
use patgate_local::authz::cache_key;
use patgate_local::sam::{AuthorizerDef, IdentitySource};
use patgate_tests::*;
use serde_json::json;

const EXPORT: (&str, &str) = ("GET", "/catalog/svc-42/admin/export");
/// The API's own route for the export, which the configuration does not list.
const EXPORT_ROUTE: &str = "/catalog/{entityId}/admin/export";

#[tokio::test]
async fn a_deeper_path_under_a_parameter_route_was_allowed_and_is_now_denied() {
    let app = TestApp::new().await;
    let vic = app.user("vic", &["Viewer"], None).await;
    let token = app.issue(&vic).await.token;
    let bearer = format!("Bearer {token}");
    let authorizer = app.authorizer();
    let export_arn = method_arn(EXPORT.0, EXPORT.1);

    // Before: the Viewer's policy held `GET/catalog/?*` for GET /catalog/{entityId}.
    let before: PolicyDocument = serde_json::from_value(json!({
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow",
            "Resource": [method_arn("GET", "/catalog"), method_arn("GET", "/catalog/?*")]}]
    }))
    .unwrap();
    assert_eq!(
        before.decide(&export_arn),
        PolicyDecision::Allow,
        "the flaw, reproduced"
    );

    // Now: the export's route is the call's resource, so the authorizer is asked about
    // it, and it is not in table patgate: Deny.
    let event = rest_authorizer_event(
        Some(&bearer),
        EXPORT.0,
        EXPORT_ROUTE,
        &export_arn,
        Some(PATGATE_API),
    );
    let answer = authorizer.handle(event, Utc::now()).await.unwrap();
    assert!(!answer.is_allowed());
    let policy = &answer.policy().unwrap().policy_document;
    assert_eq!(policy.decide(&export_arn), PolicyDecision::ExplicitDeny);

    // The listed route's answer is an Allow for that route, and API Gateway never
    // applies it to the export: their identity sources' values differ.
    let entity_arn = method_arn("GET", "/catalog/svc-42");
    let entity = authorizer
        .handle(
            rest_authorizer_event(
                Some(&bearer),
                "GET",
                "/catalog/{entityId}",
                &entity_arn,
                Some(PATGATE_API),
            ),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(entity.policy().unwrap().policy_document.allows(&entity_arn));
    let AuthorizerDef::Lambda { identity, .. } = &template().authorizers["PatgateAuthorizer"]
    else {
        panic!("a Lambda authorizer")
    };
    let key = |resource: &str| {
        let values: Vec<String> = identity
            .iter()
            .map(|source| match source {
                IdentitySource::Header(_) => bearer.clone(),
                IdentitySource::Context(name) if name == "httpMethod" => "GET".to_owned(),
                IdentitySource::Context(name) if name == "resourcePath" => resource.to_owned(),
                other => panic!("unexpected identity source {other:?}"),
            })
            .collect();
        cache_key(&values)
    };
    assert_ne!(key("/catalog/{entityId}"), key(EXPORT_ROUTE));
}

#[tokio::test]
async fn only_a_greedy_route_covers_deeper_paths_and_unknown_apis_are_denied() {
    let app = TestApp::new().await;
    let ada = app.user("ada", &["Admin"], None).await;
    let vic = app.user("vic", &["Viewer"], None).await;
    let admin = format!("Bearer {}", app.issue(&ada).await.token);
    let viewer = format!("Bearer {}", app.issue(&vic).await.token);
    let authorizer = app.authorizer();
    let decide = |bearer: String,
                  method: &'static str,
                  path: &'static str,
                  resource: &'static str,
                  api: Option<&'static str>| {
        let authorizer = &authorizer;
        async move {
            let arn = method_arn(method, path);
            let event = rest_authorizer_event(Some(&bearer), method, resource, &arn, api);
            let answer = authorizer.handle(event, Utc::now()).await.unwrap();
            answer.policy().unwrap().policy_document.decide(&arn)
        }
    };
    // example-rest lists `ANY /admin/{proxy+}` (settings:admin).
    for (method, path) in [("GET", "/admin/a"), ("DELETE", "/admin/a/b/c")] {
        assert_eq!(
            decide(
                admin.clone(),
                method,
                path,
                "/admin/{proxy+}",
                Some("example-rest")
            )
            .await,
            PolicyDecision::Allow,
            "{method} {path}"
        );
        assert_eq!(
            decide(
                viewer.clone(),
                method,
                path,
                "/admin/{proxy+}",
                Some("example-rest")
            )
            .await,
            PolicyDecision::ExplicitDeny
        );
    }
    // `GET /items/{itemId}` covers one segment; a deeper route of the API is unlisted.
    assert_eq!(
        decide(
            admin.clone(),
            "GET",
            "/items/i1",
            "/items/{itemId}",
            Some("example-rest")
        )
        .await,
        PolicyDecision::Allow
    );
    assert_eq!(
        decide(
            admin.clone(),
            "GET",
            "/items/i1/raw",
            "/items/{itemId}/raw",
            Some("example-rest")
        )
        .await,
        PolicyDecision::ExplicitDeny
    );
    // The same path on another API's table needs that table's permission.
    assert_eq!(
        decide(
            viewer.clone(),
            "GET",
            "/settings",
            "/settings",
            Some("example-rest")
        )
        .await,
        PolicyDecision::Allow
    );
    assert_eq!(
        decide(
            viewer.clone(),
            "GET",
            "/settings",
            "/settings",
            Some(PATGATE_API)
        )
        .await,
        PolicyDecision::ExplicitDeny
    );
    // An API the configuration does not know, or none named: Deny, even for an Admin.
    for api in [Some("no-such-api"), None] {
        assert_eq!(
            decide(admin.clone(), "GET", "/catalog", "/catalog", api).await,
            PolicyDecision::ExplicitDeny,
            "{api:?}"
        );
    }
}
