use super::*;
use authorizer::{AuthorizerContext, PolicyResponse, SimpleResponse};
use serde_json::json;

const BASE: &str = "arn:aws:execute-api:us-east-1:123456789012:local/v1";

fn context() -> AuthorizerContext {
    AuthorizerContext {
        user_id: "demo-viewer".into(),
        token_id: "01J".into(),
        permissions: "catalog:read".into(),
        expires_at: "2027-01-01T00:00:00Z".into(),
        token_name: "ci".into(),
        hint: "pgt_…abcd".into(),
        limited: "false".into(),
        secret_version: "1".into(),
        owner_kind: "user".into(),
        secret_state: "current".into(),
    }
}

fn authorization() -> AuthorizerResponse {
    AuthorizerResponse::Policy(PolicyResponse {
        principal_id: "demo-viewer".into(),
        policy_document: serde_json::from_value(json!({"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [format!("{BASE}/GET/catalog"), format!("{BASE}/GET/catalog/*")]},
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [format!("{BASE}/PUT/settings")]}
        ]}))
        .unwrap(),
        context: context(),
    })
}

#[test]
fn evaluation_tells_allow_explicit_and_implicit_deny_apart() {
    let auth = authorization();
    let policy = &auth.policy().unwrap().policy_document;
    assert_eq!(
        policy.decide(&format!("{BASE}/GET/catalog")),
        PolicyDecision::Allow
    );
    assert_eq!(
        policy.decide(&format!("{BASE}/GET/catalog/svc-1")),
        PolicyDecision::Allow
    );
    assert_eq!(
        policy.decide(&format!("{BASE}/PUT/settings")),
        PolicyDecision::ExplicitDeny
    );
    assert_eq!(
        policy.decide(&format!("{BASE}/POST/catalog")),
        PolicyDecision::ImplicitDeny
    );
    assert_eq!(
        deny_message(PolicyDecision::ExplicitDeny),
        Some("User is not authorized to access this resource with an explicit deny")
    );
}

#[test]
fn the_backend_sees_the_context_the_principal_and_the_latency() {
    let rest = backend_context(&authorization(), 12, false);
    assert_eq!(rest["userId"], "demo-viewer");
    assert_eq!(rest["tokenName"], "ci");
    assert_eq!(rest["principalId"], "demo-viewer");
    assert_eq!(rest["integrationLatency"], 12);
    // An HTTP API hands the context under `lambda`.
    let simple = AuthorizerResponse::Simple(SimpleResponse {
        is_authorized: true,
        context: context(),
    });
    let http = backend_context(&simple, 3, true);
    assert_eq!(http["lambda"]["userId"], "demo-viewer");
    assert_eq!(http.as_object().unwrap().len(), 1);
}

#[test]
fn the_cache_key_is_every_identity_source_value() {
    let cache = PolicyCache::new(Duration::from_secs(300), 100);
    let t0 = Instant::now();
    let get = |values: &[&str]| {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        cache_key(&values)
    };
    cache.insert(get(&["Bearer a", "GET", "/catalog"]), authorization(), t0);
    assert!(cache
        .get(&get(&["Bearer a", "GET", "/catalog"]), t0)
        .is_some());
    // Another route, or another spelling of the header, is another entry.
    assert!(cache
        .get(&get(&["Bearer a", "PUT", "/catalog"]), t0)
        .is_none());
    assert!(cache
        .get(&get(&["Bearer a", "GET", "/catalog/{entityId}"]), t0)
        .is_none());
    assert!(cache
        .get(&get(&["bearer a", "GET", "/catalog"]), t0)
        .is_none());
    assert_ne!(get(&["a", "bc"]), get(&["ab", "c"]));
    assert!(cache
        .get(
            &get(&["Bearer a", "GET", "/catalog"]),
            t0 + Duration::from_secs(300)
        )
        .is_none());
}

#[test]
fn zero_ttl_disables_caching_and_capacity_bounds_it() {
    let t0 = Instant::now();
    let off = PolicyCache::new(Duration::ZERO, 100);
    off.insert("k".to_owned(), authorization(), t0);
    assert!(off.get("k", t0).is_none());
    let small = PolicyCache::new(Duration::from_secs(60), 2);
    for i in 0..10 {
        small.insert(format!("k{i}"), authorization(), t0);
    }
    assert!(small.len() <= 2);
    assert!(small.get("k9", t0).is_some());
}

#[test]
fn a_stage_flush_empties_the_cache_before_the_ttl() {
    let cache = PolicyCache::new(Duration::from_secs(300), 100);
    let t0 = Instant::now();
    cache.insert("Bearer a".to_owned(), authorization(), t0);
    cache.insert("Bearer b".to_owned(), authorization(), t0);
    cache.clear();
    assert!(cache.get("Bearer a", t0).is_none());
    assert!(cache.is_empty());
    cache.insert("Bearer a".to_owned(), authorization(), t0);
    assert!(
        cache.get("Bearer a", t0).is_some(),
        "refilled by the next call"
    );
}
