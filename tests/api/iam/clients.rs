//! Issue 24's requests: a token rotating itself (rotate-token) and GitLab's
//! revocation API (revoke-credentials: the credential's GetItem, then the leak path).

use std::collections::BTreeMap;

use chrono::Utc;
use patgate::github::keys::{GitHubKeys, KEY_REFETCH_INTERVAL};
use patgate::gitlab::TOKEN_TYPE;
use patgate::store::IntegrationKind;
use patgate_tests::*;
use serde_json::json;

use super::{Rig, Seen};
use crate::clients::{scoped, token_call};

pub(super) async fn client_flows(rig: &Rig) -> BTreeMap<&'static str, Seen> {
    let mut seen: BTreeMap<&'static str, Seen> = BTreeMap::new();
    let hal = rig.setup.user("hal", &["User"], None).await;

    let bot = scoped(&rig.setup, &hal, &["catalog:read", "token:rotate-self"]).await;
    let now = Utc::now();
    let route = ("POST", "/tokens/self/rotate", "/tokens/self/rotate");
    let call = token_call(&rig.setup, &bot.token, route, Some("{}"), now)
        .await
        .unwrap();
    let (answer, recorded) = rig
        .watch(rotate_token::handle(&rig.watched.service, call, now))
        .await;
    assert_eq!(answer.status(), 201);
    seen.entry("rotate-token")
        .or_default()
        .add("self-rotation", recorded);

    let credential = rig
        .setup
        .table
        .directory()
        .issue_credential(IntegrationKind::Gitlab, "ops", now)
        .await
        .unwrap()
        .credential;
    let leaked = rig.setup.issue(&hal).await;
    let body = json!([{"type": TOKEN_TYPE, "token": leaked.token, "location": "x"}]).to_string();
    let path = "/integrations/gitlab/v1/revoke_tokens";
    let mut event = proxy_event("POST", path, path, Some(&body), &Caller::Anonymous);
    event["headers"]["Authorization"] = json!(credential);
    let keys = GitHubKeys::new(None, KEY_REFETCH_INTERVAL);
    let (answer, recorded) = rig
        .watch(revoke_credentials::dispatch(
            &rig.watched.service,
            &keys,
            request(&event),
            now,
        ))
        .await;
    assert_eq!(answer.status(), 204);
    seen.entry("revoke-credentials")
        .or_default()
        .add("GitLab revocation", recorded);
    seen
}
