//! The built-in routes and the opt-in `token:rotate-self` (issue 24).

use super::*;

const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/catalog";

fn arn(method: &str, path: &str) -> String {
    format!("arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/{method}{path}")
}

#[test]
fn rotate_self_is_opt_in_per_token_and_no_role_grants_it() {
    let config = PermissionConfig::bundled().unwrap();
    let user = ["User".to_owned()];
    assert!(!config.effective(&user, None).contains(ROTATE_SELF));
    let scope = BTreeSet::from([ROTATE_SELF.to_owned(), "catalog:read".to_owned()]);
    let granted = config.effective(&user, Some(&scope));
    assert_eq!(granted, scope);
    let policy = config.policy(&granted, ARN).unwrap();
    assert!(policy.allows(&arn("POST", "/tokens/self/rotate")));
    assert!(!policy.allows(&arn("PUT", "/catalog/x")), "still narrowed");
    assert!(config.is_known(ROTATE_SELF));
    let granting = r#"{"roles":{"Bot":["token:rotate-self"]},"routes":[]}"#;
    assert!(matches!(
        PermissionConfig::from_json(granting),
        Err(PermissionConfigError::Role { .. })
    ));
    let shadowing = r#"{"roles":{},"routes":[
        {"method":"GET","path":"/tokens/{id}","permission":"catalog:read"}]}"#;
    assert!(matches!(
        PermissionConfig::from_json(shadowing),
        Err(PermissionConfigError::Route { .. })
    ));
}
