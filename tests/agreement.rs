//! template.yaml, the functions and the permission configuration must agree: the
//! same routes and methods, the same authorizer on each route, the same settings.
//! (The local stack reads its routes from template.yaml itself.)

use std::collections::{BTreeMap, BTreeSet};

use patgate::config::Settings;
use patgate::permissions::PermissionConfig;
use patgate::store::items::{PK, SK, TTL_ATTRIBUTE};
use patgate_tests::repo_root;
use serde_yaml::Value;

fn template() -> Value {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml parses")
}

fn functions(template: &Value) -> BTreeMap<String, &Value> {
    template["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, resource)| resource["Type"] == "AWS::Serverless::Function")
        .map(|(name, resource)| (name.as_str().unwrap().to_owned(), resource))
        .collect()
}

fn binary(function: &Value) -> String {
    function["Metadata"]["BuildProperties"]["Binary"]
        .as_str()
        .expect("Binary")
        .to_owned()
}

/// (method, path) → (binary, authorizer) for every Api event in the template.
fn template_routes(template: &Value) -> BTreeMap<(String, String), (String, String)> {
    let mut routes = BTreeMap::new();
    for function in functions(template).values() {
        let Some(events) = function["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for event in events.values().filter(|e| e["Type"] == "Api") {
            let properties = &event["Properties"];
            let key = (
                properties["Method"].as_str().unwrap().to_uppercase(),
                properties["Path"].as_str().unwrap().to_owned(),
            );
            let authorizer = properties["Auth"]["Authorizer"]
                .as_str()
                .unwrap_or("NONE")
                .to_owned();
            assert!(
                routes
                    .insert(key.clone(), (binary(function), authorizer))
                    .is_none(),
                "{key:?} declared twice"
            );
        }
    }
    routes
}

#[test]
fn every_setting_the_code_reads_is_set_by_the_template_and_nothing_else() {
    let template = template();
    let variables: BTreeSet<String> = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .expect("global environment")
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let read: BTreeSet<String> = Settings::VARIABLES
        .iter()
        .map(|v| (*v).to_owned())
        .collect();
    assert_eq!(variables, read);
    for (name, function) in functions(&template) {
        assert!(
            function["Properties"]["Environment"].is_null(),
            "{name} sets its own environment; settings belong in Globals so every function reads the same"
        );
    }
}

#[test]
fn token_routes_match_the_handlers_and_sit_behind_the_web_session() {
    let routes = template_routes(&template());
    for (route, binary) in [
        (create_token::ROUTE, "create-token"),
        (list_tokens::ROUTE, "list-tokens"),
        (revoke_token::ROUTE, "revoke-token"),
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
    let routes = template_routes(&template());
    let demo: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|(_, (_, authorizer))| authorizer == "PatgateAuthorizer")
        .map(|(key, (binary, _))| {
            assert_eq!(binary, "demo-echo", "{key:?}");
            key.clone()
        })
        .collect();
    let configured: BTreeSet<(String, String)> = PermissionConfig::bundled()
        .unwrap()
        .routes()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(demo, configured);
    let unprotected: Vec<_> = routes.iter().filter(|(_, (_, a))| a == "NONE").collect();
    assert!(
        unprotected.is_empty(),
        "routes without an authorizer: {unprotected:?}"
    );
}

#[test]
fn every_function_binary_is_a_workspace_crate_and_vice_versa() {
    let template = template();
    let binaries: BTreeSet<String> = functions(&template).values().map(|f| binary(f)).collect();
    let crates: BTreeSet<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(binaries, crates);
    let authorizer = &template["Resources"]["PatgateApi"]["Properties"]["Auth"]["Authorizers"]
        ["PatgateAuthorizer"];
    assert_eq!(authorizer["Identity"]["Header"], "Authorization");
}

#[test]
fn the_table_has_the_key_layout_and_ttl_attribute_the_store_uses() {
    let template = template();
    let table = &template["Resources"]["TokensTable"]["Properties"];
    let keys: Vec<(&str, &str)> = table["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap(),
                k["KeyType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(keys, [(PK, "HASH"), (SK, "RANGE")]);
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        TTL_ATTRIBUTE
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert!(
        table["GlobalSecondaryIndexes"].is_null(),
        "every lookup is by primary key"
    );
}
