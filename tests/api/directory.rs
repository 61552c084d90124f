//! The user directory through its real handlers: the admin API (`/admin/*` as the
//! IAM-authorized backend, `/org/*` as an administrator's session), SCIM with a
//! patgate-issued credential, service accounts, the inventory and its counters, and
//! user writes that converge (the fault proxy cuts a deactivation half way; a retry,
//! or the `revocations` stream repair with no retry, completes it).

use chrono::Utc;
use patgate::directory::{Directory, UserWrite};
use patgate::store::items;
use patgate::store::TokenStore;
use patgate::user::UserId;
use patgate_tests::proxy::{DynamoProxy, Fault};
use patgate_tests::*;
use serde_json::{json, Value};

const BACKEND: &str = "arn:aws:iam::123456789012:role/product-backend";

/// `METHOD resource` on the admin function, as `caller`, with `path` filled in.
async fn admin(
    directory: &Directory,
    caller: &Caller,
    method: &str,
    resource: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let text = body.map(|b| b.to_string());
    let event = proxy_event_with_query(method, resource, path, query, text.as_deref(), caller);
    let response = admin::handle(directory, request(&event), Utc::now()).await;
    (response.status().as_u16(), json_body(&response))
}

async fn scim_call(
    directory: &Directory,
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
    event["multiValueHeaders"]["Authorization"] = json!([format!("Bearer {credential}")]);
    let response = scim::handle(directory, request(&event), Utc::now()).await;
    (response.status().as_u16(), json_body(&response))
}

async fn allowed(app: &TestApp, token: &str) -> bool {
    app.authorize(&app.authorizer(), token, "GET", "/catalog", Utc::now())
        .await
        .is_ok()
}

#[tokio::test]
async fn the_backend_feeds_users_and_revokes_one_token_with_a_reason() {
    let app = TestApp::new().await;
    let directory = app.table.directory();
    let iam = Caller::Iam(BACKEND.to_owned());
    let (status, user) = admin(
        &directory,
        &iam,
        "PUT",
        "/admin/users/{userId}",
        "/admin/users/ann",
        &[],
        Some(json!({"roles": ["User"], "timeZone": "Europe/Paris"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(
        (user["id"].clone(), user["synced"].clone()),
        (json!("ann"), json!(true))
    );
    let ann = Caller::Session("ann".into());
    let issued = app.issue(&ann).await;

    // Bad input names its field and stores nothing.
    let (status, error) = admin(
        &directory,
        &iam,
        "PUT",
        "/admin/users/{userId}",
        "/admin/users/svc_x",
        &[],
        Some(json!({"roles": ["User"]})),
    )
    .await;
    assert_eq!(
        (status, error["error"]["field"].clone()),
        (400, json!("id"))
    );
    let (status, error) = admin(
        &directory,
        &iam,
        "PUT",
        "/admin/users/{userId}",
        "/admin/users/bob",
        &[],
        Some(json!({"roles": "User"})),
    )
    .await;
    assert_eq!(
        (status, error["error"]["field"].clone()),
        (400, json!("roles"))
    );
    assert!(app
        .table
        .store
        .get_user(&UserId::parse("bob").unwrap())
        .await
        .unwrap()
        .is_none());
    // A session, or a token's context, is not an IAM caller.
    let (status, _) = admin(
        &directory,
        &ann,
        "GET",
        "/admin/users/{userId}",
        "/admin/users/ann",
        &[],
        None,
    )
    .await;
    assert_eq!(status, 401);

    let (status, listed) = admin(
        &directory,
        &iam,
        "GET",
        "/admin/users/{userId}/tokens",
        "/admin/users/ann/tokens",
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(listed["tokens"][0]["id"], json!(issued.id));
    let path = format!("/admin/users/ann/tokens/{}", issued.id);
    let (status, _) = admin(
        &directory,
        &iam,
        "DELETE",
        "/admin/users/{userId}/tokens/{tokenId}",
        &path,
        &[],
        Some(json!({"note": "left on a shared screen"})),
    )
    .await;
    assert_eq!(status, 204);
    assert!(!allowed(&app, &issued.token).await, "revoked at once");
    let revoked = app
        .table
        .item("TOKENS#ann", &format!("REVOKED#{}", issued.id))
        .await
        .unwrap();
    assert_eq!(crate::attr_s(&revoked, "revoked_reason"), "admin");
    assert_eq!(crate::attr_s(&revoked, "revoked_by"), BACKEND);
    assert_eq!(
        crate::attr_s(&revoked, "revoked_note"),
        "left on a shared screen"
    );
}

#[tokio::test]
async fn org_routes_need_patgate_admin_from_the_callers_roles() {
    let app = TestApp::new().await;
    let directory = app.table.directory();
    let viewer = app.user("vic", &["Viewer"], None).await;
    let boss = app.user("ada", &["Admin"], None).await;
    let (status, body) = admin(
        &directory,
        &viewer,
        "GET",
        "/org/tokens",
        "/org/tokens",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (403, json!("forbidden"))
    );
    let issued = app.issue(&viewer).await;
    let (status, page) = admin(
        &directory,
        &boss,
        "GET",
        "/org/tokens",
        "/org/tokens",
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["tokens"][0]["ownerId"], "vic");
    assert_eq!(page["tokens"][0]["ownerKind"], "user");
    let path = format!("/org/tokens/vic/{}/revoke", issued.id);
    let (status, _) = admin(
        &directory,
        &boss,
        "POST",
        "/org/tokens/{ownerId}/{tokenId}/revoke",
        &path,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 204);
    let revoked = app
        .table
        .item("TOKENS#vic", &format!("REVOKED#{}", issued.id))
        .await
        .unwrap();
    assert_eq!(crate::attr_s(&revoked, "revoked_by"), "ada");
}

#[tokio::test]
async fn service_accounts_outlive_their_owners_and_are_flagged_orphaned() {
    let app = TestApp::new().await;
    let directory = app.table.directory();
    app.user("own", &["User"], None).await;
    let iam = Caller::Iam(BACKEND.to_owned());
    let (status, account) = admin(
        &directory,
        &iam,
        "POST",
        "/admin/service-accounts",
        "/admin/service-accounts",
        &[],
        Some(json!({"name": "deploy bot", "owners": ["own"], "roles": ["Manager"]})),
    )
    .await;
    assert_eq!(status, 201, "{account}");
    let id = account["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("svc_") && account["orphaned"] == json!(false));
    let path = format!("/admin/service-accounts/{id}/tokens");
    let body = json!({"name": "deploy", "expiresOn": date_in(30, chrono_tz::Tz::UTC, Utc::now())});
    let (status, issued) = admin(
        &directory,
        &iam,
        "POST",
        "/admin/service-accounts/{id}/tokens",
        &path,
        &[],
        Some(body),
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let token = issued["token"].as_str().unwrap().to_owned();
    assert!(allowed(&app, &token).await);
    // No web session may mint or manage a service account's tokens as if it were its own.
    let squatter = Caller::Session(id.clone());
    let answer = app
        .create(
            &squatter,
            json!({"name": "x", "expiresOn": date_in(3, chrono_tz::Tz::UTC, Utc::now())}),
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text);

    // The owner leaves: the account's token keeps working, the account is orphaned.
    let leaver = patgate::user::User {
        id: UserId::parse("own").unwrap(),
        roles: vec!["User".into()],
        time_zone: None,
        active: false,
    };
    directory
        .put_user(&leaver.id, UserWrite::of(&leaver), Utc::now())
        .await
        .unwrap();
    assert!(
        allowed(&app, &token).await,
        "offboarding an owner revokes nothing of the account"
    );
    let (_, account) = admin(
        &directory,
        &iam,
        "GET",
        "/admin/service-accounts/{id}",
        &format!("/admin/service-accounts/{id}"),
        &[],
        None,
    )
    .await;
    assert_eq!(account["orphaned"], json!(true));
    let (_, page) = admin(
        &directory,
        &iam,
        "GET",
        "/admin/tokens",
        "/admin/tokens",
        &[("ownerKind", "service")],
        None,
    )
    .await;
    let tokens = page["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1, "{page}");
    assert_eq!(
        (tokens[0]["ownerId"].clone(), tokens[0]["createdBy"].clone()),
        (json!(id), json!(BACKEND))
    );
}

#[tokio::test]
async fn a_downgrade_shows_as_permissions_lost_on_the_tokens_that_relied_on_them() {
    let app = TestApp::new().await;
    let mia = app.user("mia", &["Manager"], None).await;
    let unscoped = app.issue(&mia).await;
    let scoped = app
        .issue_with(&mia, json!({"permissions": ["catalog:read"]}))
        .await;
    app.table.add_user("mia", &["Viewer"], None).await;
    let listed = app.list(&mia).await.body["tokens"].clone();
    let lost = |id: &str| -> Vec<String> {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap()["permissionsLost"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["permission"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(lost(&unscoped.id), ["entity:edit", "scorecard:edit"]);
    assert!(
        lost(&scoped.id).is_empty(),
        "a token scoped to what is still granted lost nothing"
    );
    app.table.add_user("mia", &["User"], None).await;
    let listed = app.list(&mia).await.body["tokens"].clone();
    let again: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["id"] == unscoped.id.as_str())
        .collect();
    assert_eq!(
        again[0]["permissionsLost"].as_array().unwrap().len(),
        1,
        "entity:edit is granted again"
    );
}

#[tokio::test]
async fn scim_provisions_filters_patches_and_deprovisions_with_its_own_credential() {
    let app = TestApp::new().await;
    let directory = app.table.directory();
    let issued = directory
        .issue_credential(patgate::store::IntegrationKind::Scim, BACKEND, Utc::now())
        .await
        .unwrap();
    let credential = issued.credential.clone();
    // A personal token, or nothing, is no SCIM credential.
    let (status, error) = scim_call(
        &directory,
        "pgt_nope",
        "GET",
        "/scim/v2/Users",
        "/scim/v2/Users",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (status, error["schemas"][0].clone()),
        (401, json!(patgate::scim::ERROR_SCHEMA))
    );
    let stored = app.table.all_items().await;
    assert!(
        !stored_strings_contain(&stored, &credential),
        "the credential is stored hashed only"
    );

    let user = json!({"schemas": [patgate::scim::USER_SCHEMA], "userName": "Lea.Roy@example.com",
        "active": true, "roles": [{"value": "User"}], "displayName": "Léa Roy"});
    let (status, created) = scim_call(
        &directory,
        &credential,
        "POST",
        "/scim/v2/Users",
        "/scim/v2/Users",
        &[],
        Some(user.clone()),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, conflict) = scim_call(
        &directory,
        &credential,
        "POST",
        "/scim/v2/Users",
        "/scim/v2/Users",
        &[],
        Some(json!({"userName": "lea.roy@EXAMPLE.com"})),
    )
    .await;
    assert_eq!(
        (status, conflict["scimType"].clone()),
        (409, json!("uniqueness"))
    );
    let filter = "userName eq \"lea.roy@example.com\"";
    let (_, found) = scim_call(
        &directory,
        &credential,
        "GET",
        "/scim/v2/Users",
        "/scim/v2/Users",
        &[("filter", filter)],
        None,
    )
    .await;
    assert_eq!(
        (
            found["totalResults"].clone(),
            found["Resources"][0]["id"].clone()
        ),
        (json!(1), json!(id))
    );

    let session = Caller::Session(id.clone());
    let token = app.issue(&session).await.token;
    assert!(allowed(&app, &token).await);
    let path = format!("/scim/v2/Users/{id}");
    let deactivate = json!({"schemas": [patgate::scim::PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (status, patched) = scim_call(
        &directory,
        &credential,
        "PATCH",
        "/scim/v2/Users/{id}",
        &path,
        &[],
        Some(deactivate),
    )
    .await;
    assert_eq!((status, patched["active"].clone()), (200, json!(false)));
    assert!(
        !allowed(&app, &token).await,
        "deactivated from the identity provider: refused at once"
    );
    let rename = json!({"schemas": [patgate::scim::PATCH_SCHEMA], "Operations": [{"op": "replace", "path": "userName", "value": "x"}]});
    let (status, error) = scim_call(
        &directory,
        &credential,
        "PATCH",
        "/scim/v2/Users/{id}",
        &path,
        &[],
        Some(rename),
    )
    .await;
    assert_eq!(
        (status, error["scimType"].clone()),
        (400, json!("mutability"))
    );
    let (status, _) = scim_call(
        &directory,
        &credential,
        "DELETE",
        "/scim/v2/Users/{id}",
        &path,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = scim_call(
        &directory,
        &credential,
        "GET",
        "/scim/v2/Users/{id}",
        &path,
        &[],
        None,
    )
    .await;
    assert_eq!(status, 404);
}

fn stored_strings_contain(items: &[crate::Item], needle: &str) -> bool {
    crate::stored_strings(items)
        .iter()
        .any(|s| s.contains(needle))
}

/// The deactivation's answers are cut after the record is written: every UpdateItem
/// of the fan-out fails. The token keeps being allowed until the write converges:
/// by a retry of the same write, or by the stream repair alone.
#[tokio::test]
async fn a_deactivation_cut_half_way_converges_by_retry_or_by_the_repair() {
    for by_retry in [true, false] {
        let direct = TestTable::new().await;
        let proxy = DynamoProxy::start(&endpoint()).await;
        let through = client(&proxy.endpoint);
        let cut = TestApp::on(
            TestTable {
                client: through.clone(),
                store: TokenStore::new(through, direct.name()),
            },
            &[],
        );
        let app = TestApp::on(direct, &[]);
        let kim = app.user("kim", &["Admin"], None).await;
        let tokens = [app.issue(&kim).await.token, app.issue(&kim).await.token];
        let leaver = patgate::user::User {
            id: UserId::parse("kim").unwrap(),
            roles: vec!["Admin".into()],
            time_zone: None,
            active: false,
        };
        proxy.set_for(Fault::Reset, "UpdateItem", None);
        let failed = cut
            .table
            .directory()
            .put_user(&leaver.id, UserWrite::of(&leaver), Utc::now())
            .await;
        proxy.heal();
        assert!(failed.is_err(), "the fan-out was cut: {failed:?}");
        let record = app.table.store.get_user(&leaver.id).await.unwrap().unwrap();
        assert!(!record.user.active && record.profile.synced_version < record.access_version);
        assert!(
            allowed(&app, &tokens[0]).await,
            "the cut write left a token allowed: the bug this fixes"
        );
        if by_retry {
            // The same write again: "nothing changed", yet it completes the fan-out.
            app.table
                .directory()
                .put_user(&leaver.id, UserWrite::of(&leaver), Utc::now())
                .await
                .unwrap();
        } else {
            // Nobody retries: the revocations function sees the record on the stream.
            let item = app
                .table
                .item(&items::user_pk(&leaver.id), items::PROFILE_SK)
                .await
                .unwrap();
            let event = stream_event(&item);
            let response = revocations::handle(
                &app.table.directory(),
                &revocations::NoFlush,
                event,
                Utc::now(),
            )
            .await;
            assert!(response.batch_item_failures.is_empty());
        }
        for token in &tokens {
            assert!(
                !allowed(&app, token).await,
                "refused after the {}",
                if by_retry { "retry" } else { "repair" }
            );
        }
        let record = app.table.store.get_user(&leaver.id).await.unwrap().unwrap();
        assert_eq!(record.profile.synced_version, record.access_version);
    }
}

/// A stream batch with one MODIFY record of `item` (new image), as Lambda hands it over.
fn stream_event(item: &crate::Item) -> aws_lambda_events::dynamodb::Event {
    let image = serde_json::to_value(serde_dynamo::Item::from(item.clone())).unwrap();
    let keys = json!({"pk": image["pk"], "sk": image["sk"]});
    serde_json::from_value(json!({"Records": [{
        "eventID": "1", "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {"ApproximateCreationDateTime": 1795600000.0, "Keys": keys, "NewImage": image,
            "OldImage": {}, "SequenceNumber": "1", "SizeBytes": 1, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    }]}))
    .unwrap()
}

/// The inventory's counters follow the stream (a replayed record counts once), the
/// summary reads them, and `recount-inventory` rebuilds the same counts from the GSIs.
#[tokio::test]
async fn the_summary_counts_follow_the_stream_once_and_the_recount_agrees() {
    let app = TestApp::new().await;
    let directory = app.table.directory();
    let ola = app.user("ola", &["User"], None).await;
    let scoped = app
        .issue_with(&ola, json!({"permissions": ["catalog:read"]}))
        .await;
    let soon = app
        .issue_with(
            &ola,
            json!({"expiresOn": date_in(3, chrono_tz::Tz::UTC, Utc::now())}),
        )
        .await;
    let sink = CapturedSink::default();
    for issued in [&scoped, &soon] {
        let item = app
            .table
            .item("TOKENS#ola", &format!("TOKEN#{}", issued.id))
            .await
            .unwrap();
        let mut batch = stream_event(&item);
        batch.records[0].event_name = "INSERT".into();
        batch.records[0].event_id = format!("insert-{}", issued.id);
        // Delivered twice (a retried batch): counted once.
        for _ in 0..2 {
            let response = events::handle_with_inventory(
                &app.table.store,
                &sink,
                &patgate::metrics::Metrics::Off,
                batch.clone(),
                Utc::now(),
            )
            .await;
            assert!(response.batch_item_failures.is_empty());
        }
    }
    let summary = directory
        .inventory_summary(&Default::default(), Utc::now())
        .await
        .unwrap();
    assert_eq!(
        (summary.total, summary.scoped, summary.never_used),
        (2, 1, 2)
    );
    assert_eq!(summary.expiring_within_days["7"], 1);
    assert_eq!(summary.by_owner_kind["user"], 2);
    let counted = app.table.store.recount_inventory().await.unwrap();
    assert_eq!(counted, 2);
    let recounted = directory
        .inventory_summary(&Default::default(), Utc::now())
        .await
        .unwrap();
    assert_eq!(recounted, summary);
}
