use super::*;

fn demo() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/permissions.json"
    ))
    .unwrap()
}

fn openapi() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.yaml")).unwrap()
}

const SMALL: &str = r#"{
  "version": 1,
  "permissions": {"a:read": "Read", "token:rotate-self": "Rotate itself"},
  "roles": {"Reader": ["a:read"]},
  "apis": {
    "orders": {
      "routes": [
        {"method": "GET", "path": "/orders", "permission": "a:read"},
        {"method": "GET", "path": "/orders/{id}", "permission": "a:read"}
      ]
    }
  }
}"#;

#[test]
fn the_demo_file_and_a_small_file_pass() {
    let config = check(&demo()).unwrap();
    assert!(config.table("patgate").is_some());
    assert!(check(SMALL).is_ok());
}

#[test]
fn each_problem_names_its_entry_and_line() {
    let bad = SMALL.replace(r#"["a:read"]"#, r#"["a:write"]"#).replace(
        r#"{"method": "GET", "path": "/orders/{id}", "permission": "a:read"}"#,
        r#"{"method": "GET", "path": "/orders/{orderId}", "permission": "token:rotate-self"},
        {"method": "FETCH", "path": "orders", "permission": "a:read"},
        {"method": "GET", "path": "/orders", "permission": "a:read"}"#,
    );
    let problems = check(&bad).unwrap_err();
    let expect = [
        (
            "line 4: /roles/Reader/0:",
            "`a:write`, which is not in the permission catalogue",
        ),
        ("line 10: /apis/orders/routes/2:", "method must be one of"),
        ("line 10: /apis/orders/routes/2:", "a path starts with /"),
        ("line 11: /apis/orders/routes/3:", "duplicate of routes[0]"),
    ];
    for (prefix, text) in expect {
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(prefix) && p.contains(text)),
            "{prefix} {text} in {problems:#?}"
        );
    }
    // Overlapping routes with different permissions: one call, two permissions.
    let overlap = SMALL.replace(
        r#"{"method": "GET", "path": "/orders/{id}", "permission": "a:read"}"#,
        r#"{"method": "GET", "path": "/orders/{id}", "permission": "a:read"},
        {"method": "ANY", "path": "/orders/{orderId}", "permission": "token:rotate-self"}"#,
    );
    let problems = check(&overlap).unwrap_err();
    assert!(
        problems[0].starts_with("line 10: /apis/orders/routes/2:")
            && problems[0].contains("overlaps routes[1], which needs `a:read`"),
        "{problems:?}"
    );
    // Not JSON: serde's own line and column.
    let broken = check("{\n  \"version\": 1,\n  oops\n}").unwrap_err();
    assert!(broken[0].contains("line 3"), "{broken:?}");
}

#[test]
fn spans_locate_every_value() {
    let located = spans(SMALL);
    assert_eq!(located["/roles/Reader"].line, 4);
    let route = located["/apis/orders/routes/1"];
    assert_eq!(route.line, 9);
    assert_eq!(
        &SMALL[route.start..route.end],
        r#"{"method": "GET", "path": "/orders/{id}", "permission": "a:read"}"#
    );
    let escaped = spans(r#"{"a/b": {"c~d": [1, "x\"y"]}}"#);
    assert_eq!(
        escaped["/a~1b/c~0d/1"],
        Span {
            line: 1,
            start: 20,
            end: 26
        }
    );
}

#[test]
fn the_demo_openapi_document_generates_table_patgate_of_the_demo_file() {
    let generated = openapi_routes(&openapi()).unwrap();
    assert_eq!(generated.len(), 9);
    assert_eq!(
        generated[2],
        json!({"method": "GET", "path": "/catalog/{entityId}", "permission": "catalog:read"})
    );
    // Operations without the extension (the token routes) are not in the table.
    assert!(generated.iter().all(|r| r["path"] != "/tokens"));
    assert_eq!(routes_of(&demo(), "patgate").unwrap(), generated);
}

#[test]
fn generated_routes_replace_one_table_and_keep_the_rest_of_the_file() {
    let spec = "openapi: 3.0.1\npaths:\n  /items/{id}:\n    get:\n      x-patgate-permission: a:read\n    put:\n      summary: no extension, not behind the authorizer\n  /admin/{proxy+}:\n    x-amazon-apigateway-any-method:\n      x-patgate-permission: a:read\n";
    let routes = openapi_routes(spec).unwrap();
    assert_eq!(
        routes,
        [
            json!({"method": "GET", "path": "/items/{id}", "permission": "a:read"}),
            json!({"method": "ANY", "path": "/admin/{proxy+}", "permission": "a:read"}),
        ]
    );
    let updated = replace_routes(SMALL, "orders", &routes).unwrap();
    assert!(check(&updated).is_ok(), "{updated}");
    assert_eq!(routes_of(&updated, "orders").unwrap(), routes);
    assert_eq!(
        updated[..SMALL.find("\"routes\"").unwrap()],
        SMALL[..SMALL.find("\"routes\"").unwrap()]
    );
    assert!(updated.contains(
        "        { \"method\": \"GET\", \"path\": \"/items/{id}\", \"permission\": \"a:read\" },\n"
    ));
    assert!(replace_routes(SMALL, "nope", &routes).is_err());
    let bad = "paths:\n  /x:\n    get:\n      x-patgate-permission: [a, b]\n";
    assert!(openapi_routes(bad).unwrap_err()[0].contains("must be one permission name"));
}
