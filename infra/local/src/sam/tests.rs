//! The template reader against the real template.yaml.

use super::*;

fn repo_template() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
    std::fs::read_to_string(path).expect("template.yaml next to the workspace root")
}

fn local_overrides() -> BTreeMap<String, String> {
    local_parameters(&BTreeMap::from([(
        "WebOrigin".to_owned(),
        "http://localhost:3000".to_owned(),
    )]))
}

fn api() -> LocalApi {
    parse(
        &repo_template(),
        &local_overrides(),
        &LocalContext::default(),
    )
    .unwrap()
}

#[test]
fn the_real_template_yields_every_route_with_its_binary_and_authorizer() {
    let api = api();
    assert_eq!(api.api_logical_id, "PatgateApi");
    assert_eq!(api.stage, "v1");
    let find = |method: &str, path: &str| {
        api.routes
            .iter()
            .find(|r| r.method == method && r.path == path)
            .cloned()
    };
    let create = find("POST", "/tokens").unwrap();
    assert_eq!(create.binary, "create-token");
    assert_eq!(create.authorizer.as_deref(), Some("WebSessionAuthorizer"));
    assert_eq!(create.timeout_seconds, 10);
    assert_eq!(find("GET", "/tokens").unwrap().binary, "list-tokens");
    assert_eq!(
        find("DELETE", "/tokens/{id}").unwrap().binary,
        "revoke-token"
    );
    assert_eq!(
        find("POST", "/tokens/{id}/rotate").unwrap().binary,
        "rotate-token"
    );
    let report = find("POST", "/credentials/revoke").unwrap();
    assert_eq!(report.binary, "revoke-credentials");
    assert_eq!(report.authorizer, None);
    let alert = find("POST", "/integrations/github/secret-scanning").unwrap();
    assert_eq!(
        (alert.binary.as_str(), alert.authorizer.as_deref()),
        ("revoke-credentials", None)
    );
    let demo = find("PUT", "/catalog/{entityId}").unwrap();
    assert_eq!(demo.binary, "demo-echo");
    assert_eq!(demo.authorizer.as_deref(), Some("PatgateAuthorizer"));
    assert_eq!(
        api.routes.len(),
        10 + 9 + 21 + 11,
        "token and leak-report, demo, admin and SCIM routes"
    );
    match &api.authorizers["PatgateAuthorizer"] {
        AuthorizerDef::Lambda {
            binary,
            payload,
            identity,
            ttl_seconds,
            timeout_seconds,
            ..
        } => {
            assert_eq!(binary, "authorizer");
            assert_eq!(*payload, PayloadType::Request);
            assert_eq!(
                identity,
                &vec![
                    IdentitySource::Header("Authorization".into()),
                    IdentitySource::Context("httpMethod".into()),
                    IdentitySource::Context("resourcePath".into()),
                ]
            );
            assert_eq!(*ttl_seconds, 300);
            assert_eq!(*timeout_seconds, 5);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&api.authorizers["WebSessionAuthorizer"], AuthorizerDef::CognitoUserPool { header } if header == "Authorization")
    );
}

#[test]
fn the_demo_api_follows_its_condition() {
    let mut overrides = local_overrides();
    overrides.insert("EnableDemoApi".into(), "false".into());
    let api = parse(&repo_template(), &overrides, &LocalContext::default()).unwrap();
    assert!(api.routes.iter().all(|r| r.binary != "demo-echo"));
    assert_eq!(api.routes.len(), 10 + 21 + 11);
}

#[test]
fn table_cors_gateway_responses_and_environment_resolve() {
    let api = api();
    assert_eq!(api.stage_variables["patgateApi"], "patgate");
    assert_eq!(api.kind, ApiKind::Rest);
    let table = api.table.as_ref().unwrap();
    assert_eq!(table.logical_id, "TokensTable");
    assert_eq!(
        table.key_schema,
        vec![("pk".into(), "HASH".into()), ("sk".into(), "RANGE".into())]
    );
    let attributes: Vec<String> = table.attributes.iter().map(|a| a.0.clone()).collect();
    let expected = "pk sk dir_pk dir_sk inv_pk inv_expiry inv_idle";
    assert_eq!(attributes.join(" "), expected);
    let indexes: Vec<String> = table
        .global_secondary_indexes
        .iter()
        .map(|i| i.name.clone())
        .collect();
    assert_eq!(
        indexes.join(" "),
        "directory inventory-by-expiry inventory-by-idle"
    );
    assert_eq!(table.ttl_attribute(), Some("delete_after"));
    assert_eq!(table.billing_mode, "PAY_PER_REQUEST");
    let cors = api.cors.unwrap();
    assert_eq!(cors.allow_origin, "http://localhost:3000");
    assert_eq!(
        cors.allow_headers.as_deref(),
        Some("Authorization,Content-Type,Idempotency-Key")
    );
    assert_eq!(
        cors.allow_methods.as_deref(),
        Some("GET,POST,PUT,DELETE,OPTIONS")
    );
    assert_eq!(cors.max_age.as_deref(), Some("600"));
    let unauthorized = &api.gateway_responses["UNAUTHORIZED"];
    assert_eq!(unauthorized.status, Some(401));
    assert!(unauthorized
        .headers
        .contains(&("WWW-Authenticate".into(), "Bearer".into())));
    assert!(unauthorized.headers.contains(&(
        "Access-Control-Allow-Origin".into(),
        "http://localhost:3000".into()
    )));
    assert_eq!(api.gateway_responses["DEFAULT_5XX"].status, None);
    assert_eq!(api.environment["TABLE_NAME"], "patgate-local");
    assert_eq!(api.environment["TOKEN_PREFIX"], "pgt_");
    assert_eq!(api.environment["GITHUB_SECRET_SCANNING_KEYS_URL"], "");
    assert_eq!(api.environment["WEB_ORIGIN"], "http://localhost:3000");
    assert_eq!(api.environment["MAX_TOKENS_PER_USER"], "50");
}

#[test]
fn parameters_are_checked_and_overridden() {
    let mut overrides = local_overrides();
    overrides.insert("AuthorizerCacheTtlSeconds".into(), "0".into());
    let api = parse(&repo_template(), &overrides, &LocalContext::default()).unwrap();
    assert!(matches!(
        api.authorizers["PatgateAuthorizer"],
        AuthorizerDef::Lambda { ttl_seconds: 0, .. }
    ));
    overrides.insert("AuthorizerCacheTtlSeconds".into(), "7200".into());
    assert!(parse(&repo_template(), &overrides, &LocalContext::default()).is_err());
    let mut unknown = local_overrides();
    unknown.insert("NoSuchParameter".into(), "1".into());
    assert!(parse(&repo_template(), &unknown, &LocalContext::default()).is_err());
    let mut missing = local_overrides();
    missing.remove("WebOrigin");
    assert!(parse(&repo_template(), &missing, &LocalContext::default())
        .unwrap_err()
        .0
        .contains("WebOrigin"));
    let mut bad = local_overrides();
    bad.insert("EnableDemoApi".into(), "yes".into());
    assert!(parse(&repo_template(), &bad, &LocalContext::default()).is_err());
}

#[test]
fn functions_and_streams_are_read() {
    let api = api();
    let authorizer = &api.functions["AuthorizerFunction"];
    assert_eq!(authorizer.binary, "authorizer");
    assert_eq!(authorizer.environment, None);
    assert_eq!(
        api.table.as_ref().unwrap().stream_view_type.as_deref(),
        Some("NEW_AND_OLD_IMAGES")
    );
    assert_eq!(api.functions["EventsFunction"].binary, "events");
    let yaml = "Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]\n      KeySchema: [{AttributeName: pk, KeyType: HASH}]\n      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}\n";
    let t = Template::parse(yaml, &BTreeMap::new(), &LocalContext::default()).unwrap();
    let def = table_def(&t).unwrap();
    assert_eq!(def.stream_view_type.as_deref(), Some("NEW_AND_OLD_IMAGES"));
    assert_eq!(def.ttl_attribute(), None);
    let off = yaml.replace("{StreamViewType", "{StreamEnabled: false, StreamViewType");
    let t = Template::parse(&off, &BTreeMap::new(), &LocalContext::default()).unwrap();
    assert_eq!(table_def(&t).unwrap().stream_view_type, None);
}
