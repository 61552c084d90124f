//! template.yaml, the functions and the permission configuration must agree: the
//! same routes and methods, the same authorizer on each route, the same settings.
//! template.yaml is read by the local stack's reader (`patgate_local::sam`), the one
//! the local stack serves from.

use std::collections::{BTreeMap, BTreeSet};

use patgate::config::Settings;
use patgate::permissions::{BUILT_IN_ROUTES, PATGATE_API};
use patgate::store::items::{self, PK, SK, TTL_ATTRIBUTE};
use patgate_local::sam::{AuthorizerDef, IdentitySource, PayloadType};
use patgate_tests::{demo_permissions, repo_root, template};

/// (method, path) → (binary, authorizer) for every Api event in the template.
fn template_routes() -> BTreeMap<(String, String), (String, String)> {
    let mut routes = BTreeMap::new();
    for route in &template().routes {
        let key = (route.method.clone(), route.path.clone());
        let authorizer = route.authorizer.as_deref().unwrap_or("NONE").to_owned();
        assert!(
            routes
                .insert(key.clone(), (route.binary.clone(), authorizer))
                .is_none(),
            "{key:?} declared twice"
        );
    }
    routes
}

#[test]
fn every_setting_the_code_reads_is_set_by_the_template_and_nothing_else() {
    let template = template();
    let variables: BTreeSet<String> = template.environment.keys().cloned().collect();
    let read: BTreeSet<String> = Settings::VARIABLES
        .iter()
        .map(|v| (*v).to_owned())
        .collect();
    assert_eq!(variables, read);
    for (name, function) in &template.functions {
        if function.binary == "pre-traffic" {
            // Not settings: what the hook probes (the version this deployment publishes).
            let own: BTreeSet<&str> = function
                .environment
                .iter()
                .flat_map(|env| env.keys().map(String::as_str))
                .collect();
            assert_eq!(
                own,
                BTreeSet::from([
                    pre_traffic::AUTHORIZER_VERSION,
                    pre_traffic::PROBE_METHOD_ARN
                ])
            );
            continue;
        }
        if function.binary == "revocations" {
            // Not settings: the stages it flushes and its queue. This stack's stage
            // names PatgateApi, which Globals cannot (the API refers to the authorizer).
            let own: BTreeSet<&str> = function
                .environment
                .iter()
                .flat_map(|env| env.keys().map(String::as_str))
                .collect();
            assert_eq!(
                own,
                BTreeSet::from([
                    revocations::stages::PATGATE_API_STAGE,
                    revocations::stages::CLIENT_API_STAGES,
                    revocations::stages::FLUSH_QUEUE_URL
                ])
            );
            continue;
        }
        assert!(
            function.environment.is_none(),
            "{name} sets its own environment; settings belong in Globals so every function reads the same"
        );
    }
}

#[test]
fn token_routes_match_the_handlers_and_sit_behind_the_web_session() {
    let routes = template_routes();
    for (route, binary) in [
        (create_token::ROUTE, "create-token"),
        (list_tokens::ROUTE, "list-tokens"),
        (revoke_token::ROUTE, "revoke-token"),
        (rotate_token::ROUTE, "rotate-token"),
    ] {
        let key = (route.0.to_owned(), route.1.to_owned());
        assert_eq!(
            routes.get(&key),
            Some(&(binary.to_owned(), "WebSessionAuthorizer".to_owned())),
            "{route:?}"
        );
    }
}

#[test]
fn demo_routes_are_exactly_the_permission_routes_behind_the_patgate_authorizer() {
    let routes = template_routes();
    // patgate's own token routes (whoami, self-rotation) are the built-in routes every
    // policy covers; the rest is the demo API.
    let built_in: BTreeMap<(String, String), &str> = [
        (whoami::ROUTE, "whoami"),
        (rotate_token::SELF_ROUTE, "rotate-token"),
    ]
    .into_iter()
    .map(|(route, binary)| ((route.0.to_owned(), route.1.to_owned()), binary))
    .collect();
    let listed: BTreeSet<(String, String)> = BUILT_IN_ROUTES
        .iter()
        .map(|(method, path, _)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(built_in.keys().cloned().collect::<BTreeSet<_>>(), listed);
    let demo: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|(_, (_, authorizer))| authorizer == "PatgateAuthorizer")
        .filter(|(key, (binary, _))| match built_in.get(*key) {
            Some(expected) => {
                assert_eq!(binary, expected, "{key:?}");
                false
            }
            None => true,
        })
        .map(|(key, (binary, _))| {
            assert_eq!(binary, "demo-echo", "{key:?}");
            key.clone()
        })
        .collect();
    for key in built_in.keys() {
        let authorizer = routes.get(key).map(|(_, authorizer)| authorizer.as_str());
        assert_eq!(authorizer, Some("PatgateAuthorizer"), "{key:?}");
    }
    // Table `patgate` of the demo configuration, without the built-in routes
    // (served by patgate's own functions).
    let configured: BTreeSet<(String, String)> = demo_permissions()
        .table(PATGATE_API)
        .expect("table patgate")
        .routes()
        .iter()
        .filter(|r| {
            !BUILT_IN_ROUTES
                .iter()
                .any(|(m, p, _)| r.method == *m && r.path == *p)
        })
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(demo, configured);
    let unprotected: Vec<_> = routes
        .iter()
        .filter(|(_, (_, a))| a == "NONE")
        .map(|(key, (binary, _))| (key.0.as_str(), key.1.as_str(), binary.as_str()))
        .collect();
    // The leaked-credential report, GitHub's signed alerts, GitLab's revocation API
    // and SCIM (whose functions check their own credentials) are the only routes
    // without an API Gateway authorizer.
    let (report, github) = (revoke_credentials::ROUTE, revoke_credentials::GITHUB_ROUTE);
    let mut expected: Vec<(&str, &str, &str)> = scim::ROUTES
        .iter()
        .map(|(method, path)| (*method, *path, "scim"))
        .chain(
            [
                report,
                github,
                revoke_credentials::GITLAB_TYPES_ROUTE,
                revoke_credentials::GITLAB_REVOKE_ROUTE,
            ]
            .map(|(method, path)| (method, path, "revoke-credentials")),
        )
        .collect();
    expected.sort();
    let mut unprotected = unprotected;
    unprotected.sort();
    assert_eq!(unprotected, expected);
}

#[test]
fn admin_routes_sit_behind_iam_and_org_routes_behind_the_web_session() {
    let routes = template_routes();
    let admin: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|(_, (binary, _))| binary == "admin")
        .map(|(key, (_, authorizer))| {
            let expected = if key.1.starts_with("/admin/") {
                "AWS_IAM"
            } else {
                "WebSessionAuthorizer"
            };
            assert_eq!(authorizer, expected, "{key:?}");
            key.clone()
        })
        .collect();
    let declared: BTreeSet<(String, String)> = admin::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(admin, declared);
}

#[test]
fn every_function_binary_is_a_workspace_crate_and_vice_versa() {
    let template = template();
    let binaries: BTreeSet<String> = template
        .functions
        .values()
        .map(|f| f.binary.clone())
        .collect();
    let crates: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(binaries, crates);
    let AuthorizerDef::Lambda {
        identity, payload, ..
    } = &template.authorizers["PatgateAuthorizer"]
    else {
        panic!("PatgateAuthorizer is a Lambda authorizer")
    };
    assert_eq!(
        identity,
        &[
            IdentitySource::Header("Authorization".into()),
            IdentitySource::Context("httpMethod".into()),
            IdentitySource::Context("resourcePath".into()),
        ],
        "every cached answer is for one token and one route"
    );
    assert_eq!(
        *payload,
        PayloadType::Request,
        "a REQUEST authorizer sees the caller's IP and user agent"
    );
}

#[test]
fn the_table_has_the_key_layout_and_ttl_attribute_the_store_uses() {
    let table = template().table.as_ref().expect("the tokens table");
    assert_eq!(table.logical_id, "TokensTable");
    let keys: Vec<(&str, &str)> = table
        .key_schema
        .iter()
        .map(|(name, kind)| (name.as_str(), kind.as_str()))
        .collect();
    assert_eq!(keys, [(PK, "HASH"), (SK, "RANGE")]);
    let ttl = table
        .time_to_live
        .as_ref()
        .expect("TimeToLiveSpecification");
    assert_eq!(ttl.attribute_name, TTL_ATTRIBUTE);
    assert!(ttl.enabled);
    // The directory and the inventory are read by index key, never scanned.
    let indexes: Vec<(&str, Vec<&str>)> = table
        .global_secondary_indexes
        .iter()
        .map(|i| {
            (
                i.name.as_str(),
                i.key_schema.iter().map(|(n, _)| n.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        indexes,
        [
            (items::DIRECTORY_INDEX, vec!["dir_pk", "dir_sk"]),
            (
                items::INVENTORY_BY_EXPIRY,
                vec![items::INVENTORY_PK, items::INVENTORY_EXPIRY]
            ),
            (
                items::INVENTORY_BY_IDLE,
                vec![items::INVENTORY_PK, items::INVENTORY_IDLE]
            ),
        ]
    );
    assert_eq!(
        table.stream_view_type.as_deref(),
        Some("NEW_AND_OLD_IMAGES"),
        "the events function needs both images"
    );
}

#[test]
fn every_route_without_an_authorizer_has_a_throttle_of_its_own_below_the_apis() {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let overrides =
        BTreeMap::from([("WebOrigin".to_owned(), patgate_tests::WEB_ORIGIN.to_owned())]);
    let parameters = patgate_local::sam::local_parameters(&overrides);
    let parsed = patgate_local::cfn::Template::parse(
        &text,
        &parameters,
        &patgate_local::cfn::LocalContext::default(),
    )
    .expect("template reads");
    let (_, api) = parsed
        .resources_of("AWS::Serverless::Api")
        .find(|(id, _)| *id == "PatgateApi")
        .expect("PatgateApi");
    let settings = parsed
        .resolve(&api["Properties"]["MethodSettings"])
        .expect("MethodSettings resolve")
        .expect("MethodSettings");
    let limit = |path: &str, method: &str| -> (f64, f64) {
        let setting = settings
            .as_array()
            .expect("a list")
            .iter()
            .find(|s| s["ResourcePath"] == path && s["HttpMethod"] == method)
            .unwrap_or_else(|| panic!("no MethodSettings for {method} {path}"));
        let number = |key: &str| {
            let value = &setting[key];
            value
                .as_f64()
                .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
                .unwrap_or_else(|| panic!("{key} of {method} {path}: {value}"))
        };
        (
            number("ThrottlingRateLimit"),
            number("ThrottlingBurstLimit"),
        )
    };
    let whole = limit("/*", "*");
    for (method, path) in [revoke_credentials::ROUTE, revoke_credentials::GITHUB_ROUTE] {
        let own = limit(&format!("/{}", path.replace('/', "~1")), method);
        assert!(
            own.0 < whole.0 && own.1 < whole.1,
            "{method} {path}: {own:?} vs {whole:?}"
        );
    }
}
