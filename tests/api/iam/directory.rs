//! The directory's functions (admin, scim, revocations) and the events function's
//! inventory counters: every request their flows make is allowed by their own
//! policies in template.yaml.

use patgate::directory::{Directory, UserWrite};
use patgate::store::IntegrationKind;
use patgate::user::{User, UserId};

use super::*;

const BACKEND: &str = "arn:aws:iam::123456789012:role/product-backend";

fn watched_directory(rig: &Rig) -> Directory {
    Directory::new(rig.watched.service.clone())
}

async fn call_admin(
    rig: &Rig,
    caller: &Caller,
    method: &str,
    resource: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> u16 {
    let text = body.map(|b| b.to_string());
    let event = proxy_event_with_query(method, resource, path, query, text.as_deref(), caller);
    let directory = watched_directory(rig);
    admin::handle(&directory, request(&event), Utc::now())
        .await
        .status()
        .as_u16()
}

async fn call_scim(
    rig: &Rig,
    credential: &str,
    method: &str,
    resource: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let text = body.map(|b| b.to_string());
    let mut event = proxy_event_with_query(
        method,
        resource,
        path,
        query,
        text.as_deref(),
        &Caller::Anonymous,
    );
    event["headers"]["Authorization"] = json!(format!("Bearer {credential}"));
    let directory = watched_directory(rig);
    let response = scim::handle(&directory, request(&event), Utc::now()).await;
    (response.status().as_u16(), json_body(&response))
}

/// (flow, method, resource, path, query, body, expected status)
type AdminFlow<'a> = (
    &'a str,
    &'a str,
    &'a str,
    String,
    Vec<(&'a str, &'a str)>,
    Option<Value>,
    u16,
);

async fn admin_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let iam = Caller::Iam(BACKEND.to_owned());
    let flows: Vec<AdminFlow> = vec![
        (
            "put a user",
            "PUT",
            "/admin/users/{userId}",
            "/admin/users/ivy".into(),
            vec![],
            Some(json!({"roles": ["Manager"]})),
            201,
        ),
        (
            "get a user",
            "GET",
            "/admin/users/{userId}",
            "/admin/users/ivy".into(),
            vec![],
            None,
            200,
        ),
        (
            "inventory",
            "GET",
            "/admin/tokens",
            "/admin/tokens".into(),
            vec![],
            None,
            200,
        ),
        (
            "inventory, unused",
            "GET",
            "/admin/tokens",
            "/admin/tokens".into(),
            vec![("unusedForDays", "30")],
            None,
            200,
        ),
        (
            "inventory, one owner",
            "GET",
            "/admin/tokens",
            "/admin/tokens".into(),
            vec![("owner", "ivy")],
            None,
            200,
        ),
        (
            "summary",
            "GET",
            "/admin/tokens/summary",
            "/admin/tokens/summary".into(),
            vec![],
            None,
            200,
        ),
        (
            "issue the SCIM credential",
            "POST",
            "/admin/integrations/{kind}/credential",
            "/admin/integrations/scim/credential".into(),
            vec![],
            None,
            201,
        ),
        (
            "rotate the SCIM credential",
            "POST",
            "/admin/integrations/{kind}/credential",
            "/admin/integrations/scim/credential".into(),
            vec![],
            None,
            201,
        ),
        (
            "create a service account",
            "POST",
            "/admin/service-accounts",
            "/admin/service-accounts".into(),
            vec![],
            Some(json!({"name": "bot", "owners": ["ivy"], "roles": ["User"]})),
            201,
        ),
        (
            "list service accounts",
            "GET",
            "/admin/service-accounts",
            "/admin/service-accounts".into(),
            vec![],
            None,
            200,
        ),
    ];
    for (flow, method, resource, path, query, body, status) in flows {
        let (got, recorded) = rig
            .watch(call_admin(rig, &iam, method, resource, &path, &query, body))
            .await;
        assert_eq!(got, status, "{flow}");
        seen.add(flow, recorded);
    }
    let ivy = Caller::Session("ivy".into());
    let token = rig.setup.issue(&ivy).await;
    let (got, recorded) = rig
        .watch(call_admin(
            rig,
            &iam,
            "GET",
            "/admin/users/{userId}/tokens",
            "/admin/users/ivy/tokens",
            &[],
            None,
        ))
        .await;
    assert_eq!(got, 200);
    seen.add("a user's tokens", recorded);
    // A downgrade: the fan-out brings the hash item in step and records drift.
    let (got, recorded) = rig
        .watch(call_admin(
            rig,
            &iam,
            "PUT",
            "/admin/users/{userId}",
            "/admin/users/ivy",
            &[],
            Some(json!({"roles": ["Viewer"]})),
        ))
        .await;
    assert_eq!(got, 200);
    seen.add("downgrade a user", recorded);
    let path = format!("/admin/users/ivy/tokens/{}", token.id);
    let (got, recorded) = rig
        .watch(call_admin(
            rig,
            &iam,
            "DELETE",
            "/admin/users/{userId}/tokens/{tokenId}",
            &path,
            &[],
            Some(json!({"note": "audit"})),
        ))
        .await;
    assert_eq!(got, 204);
    seen.add("admin revoke", recorded);
    rig.setup.issue(&ivy).await;
    let (got, recorded) = rig
        .watch(call_admin(
            rig,
            &iam,
            "POST",
            "/admin/users/{userId}/tokens/revoke-all",
            "/admin/users/ivy/tokens/revoke-all",
            &[],
            None,
        ))
        .await;
    assert_eq!(got, 200);
    seen.add("revoke all", recorded);
    let account = rig
        .setup
        .table
        .directory()
        .list_service_accounts(10, None)
        .await
        .unwrap()
        .0[0]
        .user
        .id
        .clone();
    let path = format!("/admin/service-accounts/{account}/tokens");
    let body = json!({"name": "deploy", "expiresOn": date_in(10, chrono_tz::Tz::UTC, Utc::now())});
    let (got, recorded) = rig
        .watch(call_admin(
            rig,
            &iam,
            "POST",
            "/admin/service-accounts/{id}/tokens",
            &path,
            &[],
            Some(body),
        ))
        .await;
    assert_eq!(got, 201);
    seen.add("a service account's token", recorded);
    let path = format!("/admin/service-accounts/{account}");
    let body = json!({"name": "bot", "owners": ["ivy"], "roles": ["Viewer"]});
    let (got, recorded) = rig
        .watch(call_admin(
            rig,
            &iam,
            "PUT",
            "/admin/service-accounts/{id}",
            &path,
            &[],
            Some(body),
        ))
        .await;
    assert_eq!(got, 200);
    seen.add("change a service account's roles", recorded);
    // An administrator's session on /org.
    rig.setup.user("ada", &["Admin"], None).await;
    let (got, recorded) = rig
        .watch(call_admin(
            rig,
            &Caller::Session("ada".into()),
            "GET",
            "/org/tokens",
            "/org/tokens",
            &[("neverUsed", "true")],
            None,
        ))
        .await;
    assert_eq!(got, 200);
    seen.add("org inventory", recorded);
    seen
}

async fn scim_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let credential = rig
        .setup
        .table
        .directory()
        .issue_credential(IntegrationKind::Scim, BACKEND, Utc::now())
        .await
        .unwrap()
        .credential;
    let user = json!({"userName": "sam", "roles": [{"value": "Manager"}]});
    let ((status, _), recorded) = rig
        .watch(call_scim(
            rig,
            &credential,
            "POST",
            "/scim/v2/Users",
            "/scim/v2/Users",
            &[],
            Some(user),
        ))
        .await;
    assert_eq!(status, 201);
    seen.add("create", recorded);
    let ((status, _), recorded) = rig
        .watch(call_scim(
            rig,
            &credential,
            "GET",
            "/scim/v2/Users",
            "/scim/v2/Users",
            &[("filter", "userName eq \"SAM\"")],
            None,
        ))
        .await;
    assert_eq!(status, 200);
    seen.add("filter", recorded);
    let ((status, _), recorded) = rig
        .watch(call_scim(
            rig,
            &credential,
            "GET",
            "/scim/v2/Users",
            "/scim/v2/Users",
            &[("count", "5")],
            None,
        ))
        .await;
    assert_eq!(status, 200);
    seen.add("list", recorded);
    rig.setup.issue(&Caller::Session("sam".into())).await;
    let patch = json!({"schemas": [patgate::scim::PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": false, "roles": [{"value": "Viewer"}]}}]});
    let ((status, _), recorded) = rig
        .watch(call_scim(
            rig,
            &credential,
            "PATCH",
            "/scim/v2/Users/{id}",
            "/scim/v2/Users/sam",
            &[],
            Some(patch),
        ))
        .await;
    assert_eq!(status, 200);
    seen.add("deactivate and downgrade", recorded);
    let ((status, _), recorded) = rig
        .watch(call_scim(
            rig,
            &credential,
            "DELETE",
            "/scim/v2/Users/{id}",
            "/scim/v2/Users/sam",
            &[],
            None,
        ))
        .await;
    assert_eq!(status, 204);
    seen.add("delete", recorded);
    seen
}

/// A stream batch of one record (`name`) of `item`'s images.
fn record(
    name: &str,
    old: Option<&crate::Item>,
    new: Option<&crate::Item>,
) -> aws_lambda_events::dynamodb::Event {
    let image = |item: Option<&crate::Item>| {
        item.map_or(json!({}), |i| {
            serde_json::to_value(serde_dynamo::Item::from(i.clone())).unwrap()
        })
    };
    let any = new.or(old).unwrap();
    let keys = json!({"pk": image(Some(any))["pk"], "sk": image(Some(any))["sk"]});
    serde_json::from_value(json!({"Records": [{
        "eventID": format!("{:016x}", rand::random::<u64>()), "eventName": name, "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"ApproximateCreationDateTime": 1795600000.0, "Keys": keys, "NewImage": image(new),
            "OldImage": image(old), "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    }]}))
    .unwrap()
}

async fn revocations_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let rex = rig.setup.user("rex", &["Manager"], None).await;
    rig.setup.issue(&rex).await;
    // A downgrade whose fan-out is cut: every UpdateItem fails.
    let cut = Directory::new(rig.watched.service.clone());
    rig.proxy.set_for(Fault::Reset, "UpdateItem", None);
    let user = User {
        id: UserId::parse("rex").unwrap(),
        roles: vec!["Viewer".into()],
        time_zone: None,
        active: false,
    };
    assert!(cut
        .put_user(&user.id, UserWrite::of(&user), Utc::now())
        .await
        .is_err());
    rig.proxy.heal();
    let profile = rig.setup.table.item("USER#rex", "PROFILE").await.unwrap();
    let batch = record("MODIFY", None, Some(&profile));
    let (response, recorded) = rig
        .watch(revocations::handle(
            &watched_directory(rig),
            &revocations::NoFlush,
            batch,
            Utc::now(),
        ))
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert!(
        recorded.iter().any(|r| r.operation == "UpdateItem"),
        "repaired"
    );
    seen.add("repair a cut downgrade", recorded);
    seen
}

async fn events_flows(rig: &Rig) -> Seen {
    let mut seen = Seen::default();
    let eli = rig.setup.user("eli", &["User"], None).await;
    let issued = rig.setup.issue(&eli).await;
    let item = rig
        .setup
        .table
        .item("TOKENS#eli", &format!("TOKEN#{}", issued.id))
        .await
        .unwrap();
    let sink = CapturedSink::default();
    let (response, recorded) = rig
        .watch(events::handle_with_inventory(
            &rig.watched.table.store,
            &sink,
            &Metrics::Off,
            record("INSERT", None, Some(&item)),
            Utc::now(),
        ))
        .await;
    assert!(response.batch_item_failures.is_empty());
    seen.add("count a new token", recorded);
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_the_directorys_functions_make_is_allowed_by_their_own_policies() {
    let policies = function_policies();
    let rig = Rig::new(&[]).await;
    let table = rig.setup.table.name().to_owned();
    let mut all: BTreeMap<&str, Seen> = BTreeMap::new();
    all.insert("admin", admin_flows(&rig).await);
    all.insert("scim", scim_flows(&rig).await);
    all.insert("revocations", revocations_flows(&rig).await);
    all.insert("events", events_flows(&rig).await);
    let mut refused = Vec::new();
    for (function, seen) in &all {
        let statements = &policies[*function];
        match check_allowed(function, statements, &table, seen) {
            Ok(shapes) => println!(
                "  {function}: {}",
                shapes.into_iter().collect::<Vec<_>>().join("; ")
            ),
            Err(message) => refused.push(message),
        }
    }
    assert!(refused.is_empty(), "{}", refused.join("\n"));
}
