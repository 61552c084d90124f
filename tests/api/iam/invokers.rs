//! Who may invoke what: the authorizer's Lambda permissions (its alias only, this
//! API, the listed APIs and accounts), the pre-traffic hook's reach, and the events
//! function's stream permission (this table's stream, nothing account-wide).

use super::*;

const REGION_ACCOUNT: &str = "us-east-1:123456789012";

/// The template with the local reader, `overrides` on top of the local parameters.
fn template_with(overrides: &[(&str, &str)]) -> (Template, LocalContext) {
    let text = std::fs::read_to_string(repo_root().join("template.yaml")).expect("template.yaml");
    let mut given = BTreeMap::from([("WebOrigin".to_owned(), WEB_ORIGIN.to_owned())]);
    given.extend(
        overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let parameters = sam::local_parameters(&given);
    let context = LocalContext::default();
    let template = Template::parse(&text, &parameters, &context).expect("template reads");
    (template, context)
}

/// Whether the template creates `resource` (its condition, if any, holds).
fn exists(template: &Template, resource: &Value) -> bool {
    match resource["Condition"].as_str() {
        None => true,
        Some(condition) => {
            template
                .resolve(&json!({"Fn::If": [condition, true, false]}))
                .unwrap()
                .unwrap()
                == json!(true)
        }
    }
}

/// (source account, source ARN pattern) of every Lambda permission that lets API
/// Gateway invoke the authorizer. `PatgateApi`'s own comes from SAM, which adds a
/// permission for this API's authorizers when the Api declares a Lambda authorizer.
fn authorizer_invokers(client_apis: &str, client_accounts: &str) -> Vec<(String, String)> {
    let (template, context) = template_with(&[
        ("AuthorizerClientApiArns", client_apis),
        ("AuthorizerClientAccounts", client_accounts),
    ]);
    let alias = json!("local:AuthorizerFunction.Alias");
    let authorizer = template
        .resource("PatgateApi")
        .and_then(|api| api.pointer("/Properties/Auth/Authorizers/PatgateAuthorizer"))
        .expect("PatgateApi declares PatgateAuthorizer");
    let authorizer = template.resolve(authorizer).unwrap().unwrap();
    assert_eq!(
        authorizer["FunctionArn"], alias,
        "the API invokes the alias, never $LATEST"
    );
    assert!(
        authorizer.get("FunctionInvokeRole").is_none(),
        "with an invoke role SAM adds no scoped permission"
    );
    let mut invokers = vec![(
        context.account_id.clone(),
        format!(
            "arn:aws:execute-api:{}:{}:PatgateApi/authorizers/*",
            context.region, context.account_id
        ),
    )];
    let function = template
        .resource("AuthorizerFunction")
        .expect("AuthorizerFunction");
    assert!(
        function.pointer("/Properties/Events").is_none(),
        "an event source on the authorizer would add permissions of its own"
    );
    let resources = template.root()["Resources"].as_object().unwrap();
    for (name, resource) in resources {
        if Template::resource_type(resource) != "AWS::Lambda::Permission"
            || !exists(&template, resource)
        {
            continue;
        }
        let properties = template.resolve(&resource["Properties"]).unwrap().unwrap();
        let target = properties["FunctionName"].as_str().unwrap_or("");
        if !target.starts_with("local:AuthorizerFunction") {
            continue;
        }
        assert_eq!(
            properties["FunctionName"], alias,
            "{name} grants the function itself ($LATEST)"
        );
        assert_eq!(properties["Action"], "lambda:InvokeFunction");
        assert_eq!(properties["Principal"], "apigateway.amazonaws.com");
        let source = properties["SourceArn"].as_str().unwrap_or_else(|| {
            panic!("{name}: a permission without SourceArn lets any API invoke the authorizer")
        });
        let account = properties["SourceAccount"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert_eq!(
            source.split(':').nth(4),
            Some(account.as_str()),
            "{name}: SourceAccount is the account of SourceArn"
        );
        invokers.push((account, source.to_owned()));
    }
    invokers
}

/// Whether an API's authorizer `source_arn` (in `account`) may invoke the authorizer.
fn may_invoke(invokers: &[(String, String)], source_arn: &str) -> bool {
    let account = source_arn.split(':').nth(4).unwrap_or("");
    invokers
        .iter()
        .any(|(acct, pattern)| acct == account && like(pattern, source_arn))
}

#[test]
fn the_authorizer_may_be_invoked_by_this_api_and_the_listed_apis_only() {
    let ours = "arn:aws:execute-api:us-east-1:123456789012:PatgateApi/authorizers/k3j4h5";
    let listed = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/authorizers/*";
    let listed_one = "arn:aws:execute-api:us-east-1:123456789012:f6g7h8i9j0/authorizers/abc123";
    let unlisted = "arn:aws:execute-api:us-east-1:123456789012:zzzzzzzzzz/authorizers/abc123";

    let alone = authorizer_invokers("", "");
    assert_eq!(alone.len(), 1, "{alone:?}");
    assert!(may_invoke(&alone, ours));
    for other in [
        listed_one,
        unlisted,
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/authorizers/x",
    ] {
        assert!(!may_invoke(&alone, other), "{other}");
    }

    let shared = authorizer_invokers(&format!("{listed},{listed_one}"), "");
    assert_eq!(shared.len(), 3, "{shared:?}");
    assert!(may_invoke(&shared, ours));
    assert!(may_invoke(
        &shared,
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/authorizers/x"
    ));
    assert!(may_invoke(&shared, listed_one));
    for other in [
        unlisted,
        "arn:aws:execute-api:us-east-1:123456789012:f6g7h8i9j0/authorizers/other",
        "arn:aws:execute-api:us-east-1:999999999999:a1b2c3d4e5/authorizers/x",
    ] {
        assert!(!may_invoke(&shared, other), "{other}");
    }

    // Five slots: every one of five listed APIs gets its own permission.
    let five: Vec<String> = (1..=5)
        .map(|i| format!("arn:aws:execute-api:{REGION_ACCOUNT}:api{i}abcdef/authorizers/*"))
        .collect();
    let all = authorizer_invokers(&five.join(","), "");
    assert_eq!(all.len(), 6, "{all:?}");
    for listed in &five {
        assert!(may_invoke(&all, &listed.replace('*', "k3j4h5")), "{listed}");
    }
    assert!(!may_invoke(&all, unlisted));
}

#[test]
fn a_listed_api_of_another_account_is_granted_with_its_own_account() {
    let theirs = "arn:aws:execute-api:us-east-1:210987654321:a1b2c3d4e5/authorizers/*";
    let invokers = authorizer_invokers(theirs, "");
    assert!(may_invoke(
        &invokers,
        "arn:aws:execute-api:us-east-1:210987654321:a1b2c3d4e5/authorizers/q1"
    ));
    assert!(!may_invoke(
        &invokers,
        "arn:aws:execute-api:us-east-1:210987654321:otherapi00/authorizers/q1"
    ));
}

#[test]
fn a_listed_account_may_attach_any_of_its_apis_in_this_region_only() {
    let invokers = authorizer_invokers("", "210987654321,345678901234");
    assert_eq!(invokers.len(), 3, "{invokers:?}");
    for allowed in [
        "arn:aws:execute-api:us-east-1:210987654321:a1b2c3d4e5/authorizers/q1",
        "arn:aws:execute-api:us-east-1:345678901234:zz99yy88xx/authorizers/k2",
    ] {
        assert!(may_invoke(&invokers, allowed), "{allowed}");
    }
    for refused in [
        "arn:aws:execute-api:eu-west-1:210987654321:a1b2c3d4e5/authorizers/q1",
        "arn:aws:execute-api:us-east-1:999999999999:a1b2c3d4e5/authorizers/q1",
        "arn:aws:execute-api:us-east-1:123456789012:zzzzzzzzzz/authorizers/q1",
    ] {
        assert!(!may_invoke(&invokers, refused), "{refused}");
    }
    let five: Vec<String> = (1..=5).map(|i| format!("21098765432{i}")).collect();
    assert_eq!(authorizer_invokers("", &five.join(",")).len(), 6);
}

#[test]
fn the_alias_arn_is_published_for_client_stacks_and_shared_with_the_listed_accounts() {
    let (template, _) = template_with(&[]);
    let parameter = template
        .resource("AuthorizerAliasParameter")
        .expect("the SSM parameter");
    let properties = template.resolve(&parameter["Properties"]).unwrap().unwrap();
    assert_eq!(properties["Value"], "local:AuthorizerFunction.Alias");
    assert_eq!(
        properties["Name"],
        "/patgate/patgate-local/authorizer-alias-arn"
    );
    assert_eq!(properties["Tier"], "Standard");
    assert!(
        template.resource("AuthorizerAliasShare").is_none(),
        "nothing shared without accounts"
    );

    let (shared, _) = template_with(&[
        ("AuthorizerClientAccounts", "210987654321"),
        (
            "AuthorizerAliasParameterName",
            "/platform/patgate/authorizer",
        ),
    ]);
    let parameter = shared
        .resolve(&shared.resource("AuthorizerAliasParameter").unwrap()["Properties"])
        .unwrap()
        .unwrap();
    assert_eq!(parameter["Name"], "/platform/patgate/authorizer");
    assert_eq!(
        parameter["Tier"], "Advanced",
        "RAM shares advanced parameters only"
    );
    let share = shared
        .resource("AuthorizerAliasShare")
        .expect("the RAM share");
    let share = shared.resolve(&share["Properties"]).unwrap().unwrap();
    assert_eq!(share["Principals"], json!(["210987654321"]));
    assert_eq!(
        share["AllowExternalPrincipals"], false,
        "inside the organisation only"
    );
}

/// The statements of the function built from `binary`.
fn policy_of(binary: &str) -> Vec<Statement> {
    function_policies()
        .remove(binary)
        .unwrap_or_else(|| panic!("no function {binary}"))
}

fn request(action: &str, resource: &str) -> IamRequest {
    IamRequest {
        action: action.to_owned(),
        resource: resource.to_owned(),
        context: BTreeMap::new(),
    }
}

#[test]
fn the_events_function_reads_this_tables_stream_and_no_other() {
    let (template, _) = template_with(&[]);
    for (name, resource) in template.resources_of("AWS::Serverless::Function") {
        let events = resource
            .pointer("/Properties/Events")
            .and_then(Value::as_object);
        for (event, spec) in events.into_iter().flatten() {
            assert!(
                !matches!(spec["Type"].as_str(), Some("DynamoDB" | "Kinesis")),
                "{name}.{event}: SAM gives a stream event AWSLambdaDynamoDBExecutionRole (every stream of the account)"
            );
        }
    }
    let mapping = template
        .resource("EventsStreamMapping")
        .expect("the events stream mapping");
    let mapping = template.resolve(&mapping["Properties"]).unwrap().unwrap();
    assert_eq!(mapping["EventSourceArn"], "local:TokensTable.StreamArn");
    assert_eq!(mapping["FunctionName"], "local:EventsFunction.Alias");

    let statements = policy_of("events");
    let stream = "local:TokensTable.Arn/stream/2027-01-01T00:00:00.000";
    for action in [
        "DescribeStream",
        "GetRecords",
        "GetShardIterator",
        "ListStreams",
    ] {
        let allowed = decide(&statements, &request(&format!("dynamodb:{action}"), stream));
        assert!(
            matches!(allowed, Decision::Allowed(_)),
            "{action}: {allowed:?}"
        );
        let other =
            "arn:aws:dynamodb:us-east-1:123456789012:table/other/stream/2027-01-01T00:00:00.000";
        assert_eq!(
            decide(&statements, &request(&format!("dynamodb:{action}"), other)),
            Decision::ImplicitDeny
        );
    }
    for action in ["GetItem", "Query", "Scan", "PutItem"] {
        assert_eq!(
            decide(
                &statements,
                &request(&format!("dynamodb:{action}"), TABLE_ARN)
            ),
            Decision::ImplicitDeny,
            "{action}: the events function reads the stream, not the table"
        );
    }
}

#[test]
fn the_pre_traffic_hook_invokes_authorizer_versions_only_and_reads_nothing() {
    let statements = policy_of("pre-traffic");
    let version = "local:AuthorizerFunction.Arn:7";
    assert!(matches!(
        decide(&statements, &request("lambda:InvokeFunction", version)),
        Decision::Allowed(_)
    ));
    for other in [
        "local:CreateTokenFunction.Arn:3",
        "arn:aws:lambda:us-east-1:123456789012:function:other",
    ] {
        assert_eq!(
            decide(&statements, &request("lambda:InvokeFunction", other)),
            Decision::ImplicitDeny,
            "{other}"
        );
    }
    assert_eq!(
        decide(&statements, &request("dynamodb:GetItem", TABLE_ARN)),
        Decision::ImplicitDeny
    );
    let group = "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:patgate-local-ServerlessDeploymentApplication-ABC/AuthorizerGroup";
    assert!(matches!(
        decide(
            &statements,
            &request("codedeploy:PutLifecycleEventHookExecutionStatus", group)
        ),
        Decision::Allowed(_)
    ));
    let foreign = "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:other-app/g";
    assert_eq!(
        decide(
            &statements,
            &request("codedeploy:PutLifecycleEventHookExecutionStatus", foreign)
        ),
        Decision::ImplicitDeny
    );
}
