use super::*;

/// The demo file, as the tests of every crate load it.
const DEMO: &str = include_str!("../../../infra/config/permissions.json");

fn demo() -> PermissionConfig {
    PermissionConfig::from_json(DEMO).unwrap()
}

fn granted(config: &PermissionConfig, role: &str) -> BTreeSet<String> {
    config.permissions_of(&[role.to_owned()])
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A version 1 file with one permission per route and the built-in catalogue entry.
fn file(apis: &str) -> String {
    format!(
        r#"{{"version": 1,
            "permissions": {{"one": "1", "two": "2", "token:rotate-self": "self"}},
            "roles": {{"R": ["one"]}},
            "apis": {apis}}}"#
    )
}

fn issues(text: &str) -> Vec<ConfigIssue> {
    match PermissionConfig::from_json(text) {
        Err(PermissionConfigError::Invalid(issues)) => issues,
        other => panic!("expected issues, got {other:?}"),
    }
}

fn entries(text: &str) -> Vec<String> {
    issues(text).into_iter().map(|i| i.entry).collect()
}

#[test]
fn the_demo_file_loads_with_the_built_in_roles() {
    let config = demo();
    for role in ["Viewer", "User", "Manager", "Admin"] {
        assert!(!granted(&config, role).is_empty(), "{role}");
    }
    assert_eq!(granted(&config, "Viewer"), set(&["catalog:read"]));
    assert!(granted(&config, "Admin").contains("settings:admin"));
    assert!(granted(&config, "Nobody").is_empty());
    assert!(config.is_known("token:rotate-self") && config.is_known("settings:admin"));
    assert!(!config.is_known("settings:write"));
    let names: Vec<&str> = config.tables().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "example-http",
            "example-rest",
            "orders",
            "orders-http",
            "patgate"
        ]
    );
    assert!(granted(&config, "Admin").contains("patgate:admin"));
}

#[test]
fn scoped_tokens_never_exceed_their_user_and_rotate_self_is_opt_in() {
    let config = demo();
    let user = ["User".to_owned()];
    assert_eq!(config.effective(&user, None), config.permissions_of(&user));
    assert!(!config
        .effective(&["Admin".to_owned()], None)
        .contains(ROTATE_SELF));
    let scope = set(&["catalog:read", "settings:admin", ROTATE_SELF]);
    assert_eq!(
        config.effective(&user, Some(&scope)),
        set(&["catalog:read", ROTATE_SELF])
    );
    assert_eq!(config.effective(&[], Some(&scope)), set(&[ROTATE_SELF]));
}

#[test]
fn rest_calls_are_found_by_their_route_template_exactly() {
    let config = demo();
    let patgate = config.table(PATGATE_API).unwrap();
    let route = patgate.rest_route("GET", "/catalog/{entityId}").unwrap();
    assert_eq!(route.permission.as_deref(), Some("catalog:read"));
    // The client API names its parameter differently: the same route.
    assert_eq!(patgate.rest_route("GET", "/catalog/{id}"), Some(route));
    assert_eq!(
        patgate
            .rest_route("PUT", "/catalog/{x}")
            .unwrap()
            .permission
            .as_deref(),
        Some("entity:edit")
    );
    // A deeper path, another method, a greedy resource: not listed.
    for (method, resource) in [
        ("GET", "/catalog/{entityId}/admin/export"),
        ("PATCH", "/catalog/{entityId}"),
        ("GET", "/catalog/{proxy+}"),
        ("GET", "/unlisted"),
    ] {
        assert_eq!(
            patgate.rest_route(method, resource),
            None,
            "{method} {resource}"
        );
    }
    // ANY covers every method; the same path needs another permission on another API.
    let rest = config.table("example-rest").unwrap();
    for method in ["GET", "DELETE", "POST"] {
        let admin = rest.rest_route(method, "/admin/{proxy+}").unwrap();
        assert_eq!(admin.permission.as_deref(), Some("settings:admin"));
    }
    assert_eq!(
        rest.rest_route("GET", "/settings")
            .unwrap()
            .permission
            .as_deref(),
        Some("catalog:read")
    );
    assert_eq!(
        patgate
            .rest_route("GET", "/settings")
            .unwrap()
            .permission
            .as_deref(),
        Some("settings:admin")
    );
}

#[test]
fn built_in_routes_belong_to_the_patgate_table_only() {
    let config = demo();
    let patgate = config.table(PATGATE_API).unwrap();
    let whoami = patgate.rest_route("GET", "/tokens/self").unwrap();
    assert_eq!(whoami.permission, None);
    assert!(whoami.allows(&BTreeSet::new()));
    let rotate = patgate.rest_route("POST", "/tokens/self/rotate").unwrap();
    assert!(!rotate.allows(&set(&["catalog:read"])));
    assert!(rotate.allows(&set(&[ROTATE_SELF])));
    assert_eq!(
        config
            .table("example-rest")
            .unwrap()
            .rest_route("GET", "/tokens/self"),
        None
    );
    // A file without a patgate table still gets one, with the built-in routes.
    let minimal = PermissionConfig::from_json(&file("{}")).unwrap();
    assert_eq!(minimal.table(PATGATE_API).unwrap().routes().len(), 2);
}

#[test]
fn http_api_route_keys_are_looked_up_exactly() {
    let config = demo();
    let http = config.table("example-http").unwrap();
    assert_eq!(http.http_api_response, HttpApiResponse::Simple);
    assert_eq!(
        http.http_route("PUT /items/{id}")
            .unwrap()
            .permission
            .as_deref(),
        Some("entity:edit")
    );
    assert!(http.http_route("ANY /admin/{proxy+}").is_some());
    // ANY in the route key is the ANY route; a method route key never falls back to it.
    assert_eq!(http.http_route("GET /admin/{proxy+}"), None);
    for key in ["$default", "GET", "GET items", "DELETE /items/{id}", ""] {
        assert_eq!(http.http_route(key), None, "{key}");
    }
    let iam = PermissionConfig::from_json(&file(
        r#"{"orders": {"httpApiResponse": "iam", "routes": []}}"#,
    ))
    .unwrap();
    assert_eq!(
        iam.table("orders").unwrap().http_api_response,
        HttpApiResponse::Iam
    );
}

#[test]
fn token_events_find_the_most_specific_route_of_a_called_path() {
    let config = PermissionConfig::from_json(&file(
        r#"{"a": {"routes": [
            {"method": "GET", "path": "/files/{rest+}", "permission": "one"},
            {"method": "GET", "path": "/files/{id}", "permission": "two"},
            {"method": "GET", "path": "/files/new", "permission": "one"},
            {"method": "ANY", "path": "/x", "permission": "two"},
            {"method": "GET", "path": "/", "permission": "one"}]}}"#,
    ))
    .unwrap();
    let table = config.table("a").unwrap();
    let route =
        |method: &str, path: &str| table.route_of_call(method, path).map(|r| r.path.as_str());
    assert_eq!(route("GET", "/files/new"), Some("/files/new"));
    assert_eq!(route("GET", "/files/42"), Some("/files/{id}"));
    assert_eq!(route("GET", "/files/42/raw"), Some("/files/{rest+}"));
    assert_eq!(route("POST", "/files/42"), None);
    assert_eq!(route("DELETE", "/x"), Some("/x"));
    assert_eq!(route("GET", "/"), Some("/"));
    assert_eq!(route("GET", "/y"), None);
}

#[test]
fn tables_are_chosen_by_stage_variable_and_api_id() {
    let config = PermissionConfig::from_json(&file(
        r#"{"orders": {"apiIds": ["a1b2c3d4e5"], "routes": []}, "open": {"routes": []}}"#,
    ))
    .unwrap();
    assert_eq!(
        config
            .table_for(Some("orders"), Some("a1b2c3d4e5"))
            .unwrap()
            .name,
        "orders"
    );
    assert_eq!(
        config
            .table_for(Some("orders"), Some("zzzzzzzzzz"))
            .unwrap_err(),
        NoTable::ApiIdNotListed
    );
    assert_eq!(
        config.table_for(Some("orders"), None).unwrap_err(),
        NoTable::ApiIdNotListed
    );
    assert_eq!(
        config
            .table_for(Some("open"), Some("anything"))
            .unwrap()
            .name,
        "open"
    );
    assert_eq!(
        config.table_for(Some("nope"), None).unwrap_err(),
        NoTable::UnknownApi
    );
    assert_eq!(
        config.table_for(None, None).unwrap_err(),
        NoTable::NoStageVariable
    );
    assert_eq!(
        config.table_for(Some(""), None).unwrap_err(),
        NoTable::NoStageVariable
    );
    assert_eq!(config.table_listing("a1b2c3d4e5").unwrap().name, "orders");
    assert!(config.table_listing("zzzzzzzzzz").is_none());
}

#[test]
fn every_problem_names_its_entry() {
    let bad = r#"{"version": 1,
        "permissions": {"one": "1", "token:rotate-self": "self", "has space": "x", "empty": " "},
        "roles": {"R": ["one", "nope", "one", "token:rotate-self"]},
        "apis": {
          "a": {"routes": [
            {"method": "GET", "path": "/items/{id}", "permission": "one"},
            {"method": "GET", "path": "/items/{itemId}", "permission": "one"},
            {"method": "ANY", "path": "/items/{x}", "permission": "has space"},
            {"method": "get", "path": "/ok", "permission": "one"},
            {"method": "GET", "path": "/items/{id}/", "permission": "one"},
            {"method": "GET", "path": "/other", "permission": "missing"}]},
          "patgate": {"routes": [{"method": "ANY", "path": "/tokens/self", "permission": "one"}]},
          "b": {"apiIds": ["a1b2c3d4e5", "NOT-AN-ID"], "httpApiResponse": "both", "routes": []},
          "c": {"apiIds": ["a1b2c3d4e5"], "routes": []},
          "d/e": {"apiIds": [], "routes": []}}}"#;
    let found = issues(bad);
    let expected = [
        ("/permissions/empty", "needs a description"),
        ("/permissions/has space", "no comma, space"),
        (
            "/roles/R/1",
            "`nope`, which is not in the permission catalogue",
        ),
        ("/roles/R/2", "lists `one` twice"),
        ("/roles/R/3", "no role grants `token:rotate-self`"),
        ("/apis/a/routes/1", "duplicate of routes[0]"),
        ("/apis/a/routes/2", "overlaps routes[0], which needs `one`"),
        ("/apis/a/routes/3", "method must be one of"),
        ("/apis/a/routes/4", "no empty segment"),
        (
            "/apis/a/routes/5",
            "permission `missing` is not in the permission catalogue",
        ),
        ("/apis/b/apiIds/1", "not an API Gateway API id"),
        ("/apis/b/httpApiResponse", "neither `simple` nor `iam`"),
        ("/apis/c/apiIds/0", "listed by `b` too"),
        ("/apis/d~1e", "API name `d/e`"),
        ("/apis/d~1e/apiIds", "empty apiIds list"),
        ("/apis/patgate/routes/0", "built-in route GET /tokens/self"),
    ];
    for (entry, text) in expected {
        assert!(
            found
                .iter()
                .any(|i| i.entry == entry && i.message.contains(text)),
            "no issue {entry}: {text} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    // The error's text names every entry, for a cold start that fails loudly.
    let message = PermissionConfig::from_json(bad).unwrap_err().to_string();
    assert!(message.contains("/apis/a/routes/2") && message.contains("/roles/R/1"));
}

#[test]
fn different_methods_and_deeper_paths_do_not_overlap() {
    let fine = file(
        r#"{"a": {"routes": [
            {"method": "GET", "path": "/catalog/{id}", "permission": "one"},
            {"method": "PUT", "path": "/catalog/{id}", "permission": "two"},
            {"method": "GET", "path": "/catalog/{id}/admin", "permission": "two"},
            {"method": "GET", "path": "/catalog/{rest+}", "permission": "two"},
            {"method": "GET", "path": "/catalog", "permission": "one"}]},
            "b": {"routes": [{"method": "GET", "path": "/catalog/{id}", "permission": "two"}]}}"#,
    );
    assert!(PermissionConfig::from_json(&fine).is_ok());
    let any_then_method = file(
        r#"{"a": {"routes": [
            {"method": "ANY", "path": "/s", "permission": "one"},
            {"method": "GET", "path": "/s", "permission": "one"}]}}"#,
    );
    assert_eq!(entries(&any_then_method), ["/apis/a/routes/1"]);
}

#[test]
fn the_file_must_be_version_1_with_known_fields_and_the_built_in_permission() {
    assert!(matches!(
        PermissionConfig::from_json("{"),
        Err(PermissionConfigError::Json(_))
    ));
    let unknown_field = file(r#"{"a": {"routes": [], "extra": 1}}"#);
    assert!(matches!(
        PermissionConfig::from_json(&unknown_field),
        Err(PermissionConfigError::Json(_))
    ));
    let old = r#"{"roles": {}, "routes": []}"#;
    assert!(matches!(
        PermissionConfig::from_json(old),
        Err(PermissionConfigError::Json(_))
    ));
    let v2 = file("{}").replace("\"version\": 1", "\"version\": 2");
    assert_eq!(entries(&v2), ["/version"]);
    let no_rotate = r#"{"version": 1, "permissions": {"one": "1"}, "apis": {}}"#;
    assert_eq!(entries(no_rotate), ["/permissions"]);
    let missing = PermissionConfig::load(Path::new("/nonexistent/patgate.json")).unwrap_err();
    assert!(matches!(missing, PermissionConfigError::Read { .. }));
    assert!(missing.to_string().contains("/nonexistent/patgate.json"));
}
