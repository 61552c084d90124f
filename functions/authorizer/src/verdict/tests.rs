use std::path::Path;

use chrono::{TimeZone, Utc};
use patgate::permissions::{PolicyDecision, ROTATE_SELF};
use patgate::store::HashRecord;
use patgate::token::TokenId;
use patgate::user::UserId;

use super::*;

fn demo() -> PermissionConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/config/permissions.json");
    PermissionConfig::load(&path).unwrap()
}

const BASE: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod";

fn record() -> HashRecord {
    HashRecord {
        user_id: UserId::parse("vic").unwrap(),
        token_id: TokenId::parse("01JDV4W3W1W7J2ZK2Y4G4E4J7M").unwrap(),
        valid_until: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        rotated_out: false,
        permissions: None,
        roles: vec!["Viewer".into()],
        active: true,
        name: "ci".into(),
        hint: "pgt_…abcd".into(),
        expires_at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
        secret_version: 1,
        owner_kind: patgate::user::PrincipalKind::User,
    }
}

fn viewer() -> BTreeSet<String> {
    BTreeSet::from(["catalog:read".to_owned()])
}

fn rest(api: Option<&str>, method: &str, resource: &str, called: &str) -> CalledRoute {
    CalledRoute::Rest {
        http_method: method.into(),
        resource: resource.into(),
        stage_variable: api.map(str::to_owned),
        api_id: Some("a1b2c3d4e5".into()),
        method_arn: format!("{BASE}/{method}{called}"),
    }
}

fn decide(route: &CalledRoute, granted: &BTreeSet<String>) -> Verdict {
    let context = AuthorizerContext::new(&record(), granted);
    verdict(&demo(), route, "vic", granted, context)
}

fn policy(verdict: &Verdict) -> &PolicyDocument {
    &verdict.response.policy().expect("a policy").policy_document
}

#[test]
fn a_rest_policy_names_only_the_called_route() {
    let call = rest(
        Some("patgate"),
        "GET",
        "/catalog/{entityId}",
        "/catalog/svc-1",
    );
    let answer = decide(&call, &viewer());
    assert_eq!(answer.reason, GRANTED);
    let document = policy(&answer);
    assert_eq!(document.statement.len(), 1);
    assert_eq!(document.statement[0].effect, Effect::Allow);
    assert_eq!(
        document.statement[0].resource,
        [format!("{BASE}/GET/catalog/*")]
    );
    assert!(document.allows(&format!("{BASE}/GET/catalog/svc-2")));
    // Other methods are other routes, with answers of their own.
    assert!(!document.allows(&format!("{BASE}/PUT/catalog/svc-1")));
    assert_eq!(answer.response.context().user_id, "vic");
}

#[test]
fn ungranted_and_unlisted_routes_and_unknown_apis_are_denied() {
    let write = decide(
        &rest(Some("patgate"), "PUT", "/settings", "/settings"),
        &viewer(),
    );
    assert_eq!(write.reason, NOT_GRANTED);
    assert_eq!(
        policy(&write).decide(&format!("{BASE}/PUT/settings")),
        PolicyDecision::ExplicitDeny
    );
    // The issue's case: a deeper path under a listed route is another, unlisted route.
    let deeper = rest(
        Some("patgate"),
        "GET",
        "/catalog/{entityId}/admin/export",
        "/catalog/svc-42/admin/export",
    );
    let answer = decide(&deeper, &viewer());
    assert_eq!(answer.reason, UNLISTED_ROUTE);
    assert_eq!(
        policy(&answer).decide(&format!("{BASE}/GET/catalog/svc-42/admin/export")),
        PolicyDecision::ExplicitDeny
    );
    for (api, reason) in [(None, "no_stage_variable"), (Some("nope"), "unknown_api")] {
        let answer = decide(&rest(api, "GET", "/catalog", "/catalog"), &viewer());
        assert_eq!(answer.reason, reason);
        assert!(!answer.response.is_allowed());
    }
    let malformed = CalledRoute::Rest {
        http_method: "GET".into(),
        resource: "/catalog".into(),
        stage_variable: Some("patgate".into()),
        api_id: None,
        method_arn: "not-an-arn".into(),
    };
    assert_eq!(decide(&malformed, &viewer()).reason, MALFORMED_ARN);
    assert!(!decide(&malformed, &viewer()).response.is_allowed());
}

#[test]
fn the_same_path_needs_what_its_api_says() {
    let on_patgate = decide(
        &rest(Some("patgate"), "GET", "/settings", "/settings"),
        &viewer(),
    );
    let on_example = decide(
        &rest(Some("example-rest"), "GET", "/settings", "/settings"),
        &viewer(),
    );
    assert!(!on_patgate.response.is_allowed());
    assert!(on_example.response.is_allowed());
    // ANY covers every method; the policy names the called method.
    let admin = BTreeSet::from(["settings:admin".to_owned()]);
    let any = decide(
        &rest(
            Some("example-rest"),
            "DELETE",
            "/admin/{proxy+}",
            "/admin/a/b",
        ),
        &admin,
    );
    assert_eq!(
        policy(&any).statement[0].resource,
        [format!("{BASE}/DELETE/admin/*")]
    );
    assert!(any.response.is_allowed());
}

#[test]
fn built_in_routes_need_a_valid_token_or_the_opt_in_permission() {
    let whoami = rest(Some("patgate"), "GET", "/tokens/self", "/tokens/self");
    assert!(decide(&whoami, &BTreeSet::new()).response.is_allowed());
    let rotate = rest(
        Some("patgate"),
        "POST",
        "/tokens/self/rotate",
        "/tokens/self/rotate",
    );
    assert!(!decide(&rotate, &viewer()).response.is_allowed());
    let opted_in = BTreeSet::from([ROTATE_SELF.to_owned()]);
    assert!(decide(&rotate, &opted_in).response.is_allowed());
    let elsewhere = rest(Some("example-rest"), "GET", "/tokens/self", "/tokens/self");
    assert_eq!(decide(&elsewhere, &opted_in).reason, UNLISTED_ROUTE);
}

fn http(api: Option<&str>, route_key: &str, method: &str) -> CalledRoute {
    CalledRoute::Http {
        route_key: route_key.into(),
        http_method: method.into(),
        stage_variable: api.map(str::to_owned),
        api_id: Some("x9y8z7w6v5".into()),
        route_arn: format!(
            "arn:aws:execute-api:us-east-1:123456789012:x9y8z7w6v5/$default/{method}/items/7"
        ),
    }
}

#[test]
fn http_apis_get_simple_answers_by_default() {
    let read = decide(
        &http(Some("example-http"), "GET /items/{itemId}", "GET"),
        &viewer(),
    );
    let AuthorizerResponse::Simple(simple) = &read.response else {
        panic!("simple: {read:?}")
    };
    assert!(simple.is_authorized);
    assert_eq!(simple.context.permissions, "catalog:read");
    let wire = serde_json::to_value(&read.response).unwrap();
    assert_eq!(wire["isAuthorized"], true);
    assert_eq!(wire["context"]["tokenName"], "ci");
    let write = decide(
        &http(Some("example-http"), "PUT /items/{id}", "PUT"),
        &viewer(),
    );
    assert!(!write.response.is_allowed());
    assert_eq!(write.reason, NOT_GRANTED);
    for (api, key, reason) in [
        (Some("example-http"), "$default", UNLISTED_ROUTE),
        (Some("example-http"), "GET /items/{id}/raw", UNLISTED_ROUTE),
        (Some("nope"), "GET /items", "unknown_api"),
        (None, "GET /items", "no_stage_variable"),
    ] {
        let answer = decide(&http(api, key, "GET"), &viewer());
        assert_eq!(
            (answer.response.is_allowed(), answer.reason),
            (false, reason),
            "{key}"
        );
        assert!(matches!(answer.response, AuthorizerResponse::Simple(_)));
    }
}

#[test]
fn http_apis_in_iam_mode_get_a_policy_for_the_route() {
    let config = PermissionConfig::from_json(
        r#"{"version": 1, "permissions": {"catalog:read": "r", "token:rotate-self": "s"},
            "roles": {"Viewer": ["catalog:read"]},
            "apis": {"orders": {"httpApiResponse": "iam", "routes": [
                {"method": "ANY", "path": "/items/{id}", "permission": "catalog:read"}]}}}"#,
    )
    .unwrap();
    let route = http(Some("orders"), "ANY /items/{id}", "DELETE");
    let answer = verdict(
        &config,
        &route,
        "vic",
        &viewer(),
        AuthorizerContext::new(&record(), &viewer()),
    );
    let policy = answer
        .response
        .policy()
        .expect("IAM mode answers with a policy");
    assert_eq!(policy.principal_id, "vic");
    assert_eq!(
        policy.policy_document.statement[0].resource,
        ["arn:aws:execute-api:us-east-1:123456789012:x9y8z7w6v5/$default/DELETE/items/*"]
    );
    assert!(answer.response.is_allowed());
    let unlisted = http(Some("orders"), "GET /other", "GET");
    let denied = verdict(
        &config,
        &unlisted,
        "vic",
        &viewer(),
        AuthorizerContext::new(&record(), &viewer()),
    );
    assert!(denied.response.policy().is_some() && !denied.response.is_allowed());
}

#[test]
fn token_events_are_answered_for_the_one_called_arn() {
    let config = PermissionConfig::from_json(
        r#"{"version": 1, "permissions": {"catalog:read": "r", "token:rotate-self": "s"},
            "roles": {"Viewer": ["catalog:read"]},
            "apis": {"legacy": {"apiIds": ["a1b2c3d4e5"], "routes": [
                {"method": "GET", "path": "/catalog/{id}", "permission": "catalog:read"}]}}}"#,
    )
    .unwrap();
    let decide = |arn: &str| {
        let route = CalledRoute::Token {
            method_arn: arn.into(),
        };
        verdict(
            &config,
            &route,
            "vic",
            &viewer(),
            AuthorizerContext::new(&record(), &viewer()),
        )
    };
    let called = format!("{BASE}/GET/catalog/svc-1");
    let answer = decide(&called);
    assert!(answer.response.is_allowed());
    let document = policy(&answer);
    assert_eq!(
        document.statement[0].resource,
        std::slice::from_ref(&called)
    );
    assert!(!document.allows(&format!("{BASE}/GET/catalog/svc-2")));
    assert_eq!(
        decide(&format!("{BASE}/GET/catalog/svc-1/raw")).reason,
        UNLISTED_ROUTE
    );
    let other_api = "arn:aws:execute-api:us-east-1:123456789012:zzzzzzzzzz/prod/GET/catalog/x";
    assert_eq!(decide(other_api).reason, NO_TABLE_FOR_API_ID);
    assert_eq!(
        decide(&format!("{BASE}/GET/catalog/*")).reason,
        MALFORMED_ARN
    );
    assert!(!decide("arn:nope").response.is_allowed());
}

#[test]
fn the_context_carries_the_tokens_facts_as_strings() {
    let mut found = record();
    found.permissions = Some(BTreeSet::from(["catalog:read".to_owned()]));
    found.rotated_out = true;
    found.secret_version = 3;
    let context = AuthorizerContext::new(&found, &viewer());
    let wire = serde_json::to_value(&context).unwrap();
    assert_eq!(
        wire,
        serde_json::json!({
            "userId": "vic", "tokenId": "01JDV4W3W1W7J2ZK2Y4G4E4J7M",
            "permissions": "catalog:read", "expiresAt": "2027-01-01T00:00:00Z",
            "tokenName": "ci", "hint": "pgt_…abcd", "limited": "true",
            "secretVersion": "3", "ownerKind": "user", "secretState": "grace"})
    );
    assert!(wire.as_object().unwrap().values().all(|v| v.is_string()));
}
