//! DynamoDB misbehaving under the functions: answers held back past the SDK's attempt
//! timeout, connections reset, requests swallowed, answers cut off half way. The
//! functions talk to DynamoDB Local through [`DynamoProxy`] with the SDK settings
//! they run with (`patgate::store::local_config`: the same timeouts as in Lambda).
//!
//! For every fault on every request and every entry point: the authorizer never
//! allows, the token API answers 503 with the error JSON and no secret, what is stored
//! stays whole (every token has its hash items and the reverse, every live token holds
//! a slot, and a slot without a token is freed by the recount at the cap), and once
//! the proxy heals the same calls succeed. A write whose answer is lost after it
//! committed is retried by the SDK with the same `ClientRequestToken`, and succeeds
//! exactly once. Faults on the write step alone (the commit and its lost answer) are
//! in `write_faults`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use authorizer::{AuthorizerError, AuthorizerResponse};
use chrono::Utc;
use patgate::store::items;
use patgate::store::TokenStore;
use patgate::token::TokenHash;
use patgate_tests::proxy::{DynamoProxy, Fault};
use patgate_tests::*;
use serde_json::{json, Value};

use crate::{attr_s, Item};

/// Longer than the SDK's attempt timeout (2 s), so the SDK gives up on the attempt
/// and retries while DynamoDB has already done the work.
pub(crate) const PAST_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(2_600);

const FAULTS: [Fault; 4] = [
    Fault::DelayAnswer(PAST_ATTEMPT_TIMEOUT),
    Fault::Reset,
    Fault::Blackhole,
    Fault::HalfOpen,
];

/// A table reached two ways: through the proxy (the app under test) and directly
/// (to see what is stored, whatever the proxy does).
pub(crate) struct Rig {
    pub(crate) direct: TestTable,
    pub(crate) proxy: DynamoProxy,
    pub(crate) app: TestApp,
    pub(crate) user: Caller,
}

impl Rig {
    pub(crate) async fn new() -> Self {
        Self::with(&[]).await
    }

    /// With settings overridden (`MAX_TOKENS_PER_USER`).
    pub(crate) async fn with(overrides: &[(&str, &str)]) -> Self {
        let direct = TestTable::new().await;
        let proxy = DynamoProxy::start(&endpoint()).await;
        let through = client(&proxy.endpoint);
        let app = TestApp::on(
            TestTable {
                client: through.clone(),
                store: TokenStore::new(through, direct.name()),
            },
            overrides,
        );
        let user = app.user("fay", &["User"], Some("Europe/Paris")).await;
        Rig {
            direct,
            proxy,
            app,
            user,
        }
    }

    pub(crate) fn create_body() -> Value {
        json!({"name": "under fault", "expiresOn": date_in(30, chrono_tz::Tz::UTC, Utc::now()), "timeZone": "UTC"})
    }
}

/// The calls a client can make, each through its real handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Authorize,
    Create,
    List,
    Revoke,
    Rotate,
    Report,
}

const ENTRIES: [Entry; 6] = [
    Entry::Authorize,
    Entry::Create,
    Entry::List,
    Entry::Revoke,
    Entry::Rotate,
    Entry::Report,
];

/// A token for each entry point that needs one (a revoke or a report uses its own up).
pub(crate) struct Tokens {
    pub(crate) authorize: Issued,
    pub(crate) revoke: Issued,
    pub(crate) rotate: Issued,
    pub(crate) report: Issued,
}

impl Tokens {
    pub(crate) async fn issue(rig: &Rig) -> Self {
        Tokens {
            authorize: rig.app.issue(&rig.user).await,
            revoke: rig.app.issue(&rig.user).await,
            rotate: rig.app.issue(&rig.user).await,
            report: rig.app.issue(&rig.user).await,
        }
    }

    pub(crate) fn secrets(&self) -> Vec<String> {
        [&self.authorize, &self.revoke, &self.rotate, &self.report]
            .iter()
            .map(|t| t.token.clone())
            .collect()
    }
}

#[derive(Debug)]
pub(crate) enum Outcome {
    Decision(Result<AuthorizerResponse, AuthorizerError>),
    Answer(Answer),
}

pub(crate) async fn call(rig: &Rig, tokens: &Tokens, entry: Entry) -> Outcome {
    let app = &rig.app;
    match entry {
        Entry::Authorize => Outcome::Decision(
            app.authorize(
                &app.authorizer(),
                &tokens.authorize.token,
                "GET",
                "/catalog",
                Utc::now(),
            )
            .await,
        ),
        Entry::Create => Outcome::Answer(app.create(&rig.user, Rig::create_body()).await),
        Entry::List => Outcome::Answer(app.list(&rig.user).await),
        Entry::Revoke => Outcome::Answer(app.revoke(&rig.user, &tokens.revoke.id).await),
        Entry::Rotate => Outcome::Answer(
            app.rotate(&rig.user, &tokens.rotate.id, json!({"graceSeconds": 60}))
                .await,
        ),
        Entry::Report => Outcome::Answer(
            app.report(&json!({"credentials": [tokens.report.token]}).to_string())
                .await,
        ),
    }
}

/// The authorizer fails (API Gateway answers 500), the token API answers 503 with
/// exactly `{"error":{"code","message"}}`, and no secret or hash is in either.
pub(crate) fn assert_failed_closed(
    entry: Entry,
    outcome: &Outcome,
    secrets: &[String],
    fault: Fault,
) {
    match outcome {
        Outcome::Decision(decision) => assert!(
            matches!(decision, Err(AuthorizerError::Unavailable(_))),
            "{fault:?}: the authorizer must fail, never decide: {decision:?}"
        ),
        Outcome::Answer(answer) => {
            assert_eq!(answer.status, 503, "{fault:?} {entry:?}: {}", answer.text);
            assert_eq!(answer.code(), "service_unavailable");
            let error = answer.body["error"].as_object().expect("error object");
            let keys: BTreeSet<&str> = error.keys().map(String::as_str).collect();
            assert_eq!(keys, BTreeSet::from(["code", "message"]), "{}", answer.text);
            assert!(!error["message"].as_str().unwrap_or("").is_empty());
            assert_eq!(answer.body.as_object().map(|o| o.len()), Some(1));
            for secret in secrets {
                assert!(
                    !answer.text.contains(&secret[4..]),
                    "{entry:?} leaks a secret"
                );
                assert!(!answer.text.contains(TokenHash::of(secret).as_str()));
            }
        }
    }
}

fn assert_succeeded(entry: Entry, outcome: &Outcome) {
    match outcome {
        Outcome::Decision(decision) => {
            let allowed = decision.as_ref().expect("healed: a decision");
            assert!(allowed
                .policy()
                .expect("a policy")
                .policy_document
                .allows(&method_arn("GET", "/catalog")));
        }
        Outcome::Answer(answer) => {
            let expected = match entry {
                Entry::Create | Entry::Rotate => 201,
                Entry::List => 200,
                Entry::Revoke => 204,
                Entry::Report => 202,
                Entry::Authorize => unreachable!(),
            };
            assert_eq!(answer.status, expected, "healed {entry:?}: {}", answer.text);
        }
    }
}

/// What the table holds, read directly, after checking that it is whole: every token
/// item has its hash item (and its rotated-out secret's, if any) pointing back at it,
/// every hash item has its token, no token is both live and revoked, every reminder
/// item belongs to a token that lists it, and every live token holds a slot.
/// Returns the slots held without a live token, per user.
pub(crate) async fn check_whole(table: &TestTable) -> BTreeMap<String, BTreeSet<String>> {
    let all = table.all_items().await;
    let now = Utc::now();
    let with = |prefix: &str| -> Vec<&Item> {
        all.iter()
            .filter(|i| attr_s(i, "sk").starts_with(prefix) || attr_s(i, "pk").starts_with(prefix))
            .collect()
    };
    let tokens: Vec<_> = with(items::TOKEN_SK_PREFIX)
        .into_iter()
        .map(|i| items::token_from_item(i.clone()).expect("token item reads"))
        .collect();
    let hashes: BTreeMap<String, _> = with("HASH#")
        .into_iter()
        .map(|i| {
            (
                attr_s(i, "pk").to_owned(),
                items::hash_from_item(i.clone()).expect("hash item reads"),
            )
        })
        .collect();
    let revoked: BTreeSet<String> = with(items::REVOKED_SK_PREFIX)
        .into_iter()
        .map(|i| attr_s(i, "sk").trim_start_matches("REVOKED#").to_owned())
        .collect();

    let mut owned = BTreeSet::new();
    for token in &tokens {
        assert!(
            !revoked.contains(token.id.as_str()),
            "token {} is both live and revoked",
            token.id
        );
        for hash in std::iter::once(&token.hash).chain(token.previous_hash.as_ref()) {
            let pk = format!("HASH#{}", hash.as_str());
            let found = hashes
                .get(&pk)
                .unwrap_or_else(|| panic!("token {} has no hash item {pk}", token.id));
            assert_eq!(
                (&found.token_id, &found.user_id),
                (&token.id, &token.user_id)
            );
            owned.insert(pk);
        }
    }
    let orphans: Vec<_> = hashes.keys().filter(|pk| !owned.contains(*pk)).collect();
    assert!(
        orphans.is_empty(),
        "hash items without a token: {orphans:?}"
    );

    let listed: BTreeSet<_> = tokens.iter().flat_map(|t| t.reminders.clone()).collect();
    let reminders: BTreeSet<_> = with(items::REMINDER_PK_PREFIX)
        .into_iter()
        .map(|i| {
            items::reminder_from_item(i.clone())
                .expect("reminder reads")
                .key
        })
        .collect();
    assert_eq!(
        reminders, listed,
        "reminder items are exactly those their tokens list"
    );

    let mut stale = BTreeMap::new();
    for slots in all.iter().filter(|i| attr_s(i, "sk") == items::SLOTS_SK) {
        let user = attr_s(slots, "pk").trim_start_matches("TOKENS#").to_owned();
        let held: BTreeSet<String> = slots
            .get(items::SLOTS_ATTRIBUTE)
            .and_then(|v| v.as_ss().ok())
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default();
        let live: BTreeSet<String> = tokens
            .iter()
            .filter(|t| t.user_id.as_str() == user && t.is_live(now))
            .map(|t| t.id.as_str().to_owned())
            .collect();
        let unheld: Vec<_> = live.difference(&held).collect();
        assert!(
            unheld.is_empty(),
            "live tokens of {user} without a slot (the cap would not count them): {unheld:?}"
        );
        stale.insert(user, held.difference(&live).cloned().collect());
    }
    stale
}

/// Checks the table is whole; if slots are held without a token, shows the recount
/// frees them: at a cap of exactly the slots held, a creation (late enough that no
/// creation can still be in flight) succeeds, and afterwards the slots are exactly
/// the live tokens.
pub(crate) async fn check_whole_or_repaired(table: &TestTable, user: &Caller) {
    let stale = check_whole(table).await;
    let Caller::Session(id) = user else {
        unreachable!()
    };
    let Some(stale) = stale.get(id).filter(|s| !s.is_empty()) else {
        return;
    };
    let held = table
        .item(&format!("TOKENS#{id}"), items::SLOTS_SK)
        .await
        .and_then(|i| i.get(items::SLOTS_ATTRIBUTE).cloned())
        .and_then(|v| v.as_ss().ok().map(Vec::len))
        .unwrap_or(0);
    let cap = held.to_string();
    let repair = TestApp::on(
        TestTable {
            client: table.client.clone(),
            store: table.store.clone(),
        },
        &[("MAX_TOKENS_PER_USER", &cap)],
    );
    let later = Utc::now() + chrono::Duration::minutes(10);
    let answer = repair.create_at(user, Rig::create_body(), later).await;
    assert_eq!(
        answer.status, 201,
        "the recount frees {stale:?}: {}",
        answer.text
    );
    let left = check_whole(table).await;
    assert!(
        left.get(id).is_none_or(BTreeSet::is_empty),
        "after the recount the slots are the live tokens: {left:?}"
    );
}

/// Every entry point while every DynamoDB request meets `fault`, then healed.
async fn every_entry_point_under(fault: Fault) {
    let rig = Rig::new().await;
    let tokens = Tokens::issue(&rig).await;
    let secrets = tokens.secrets();
    rig.proxy.set(fault);
    let outcomes =
        futures::future::join_all(ENTRIES.iter().map(|&entry| call(&rig, &tokens, entry))).await;
    for (entry, outcome) in ENTRIES.iter().zip(&outcomes) {
        assert_failed_closed(*entry, outcome, &secrets, fault);
    }
    rig.proxy.heal();
    check_whole_or_repaired(&rig.direct, &rig.user).await;
    for entry in ENTRIES {
        assert_succeeded(entry, &call(&rig, &tokens, entry).await);
    }
    check_whole_or_repaired(&rig.direct, &rig.user).await;
    // The reported secret and the rotated-out one (past no grace yet) are told apart:
    // the reported token is gone.
    let reported = rig
        .app
        .authorize(
            &rig.app.authorizer(),
            &tokens.report.token,
            "GET",
            "/catalog",
            Utc::now(),
        )
        .await;
    assert!(matches!(reported, Err(AuthorizerError::Unauthorized(_))));
}

#[tokio::test]
async fn answers_held_back_past_the_attempt_timeout_fail_closed_and_recover() {
    every_entry_point_under(FAULTS[0]).await;
}

#[tokio::test]
async fn reset_connections_fail_closed_and_recover() {
    every_entry_point_under(Fault::Reset).await;
}

#[tokio::test]
async fn a_blackholed_dynamodb_fails_closed_and_recovers() {
    every_entry_point_under(Fault::Blackhole).await;
}

#[tokio::test]
async fn half_open_answers_fail_closed_and_recover() {
    every_entry_point_under(Fault::HalfOpen).await;
}

/// A write DynamoDB refused wrote nothing, so its slot is given back at once. (Here
/// the transaction is cancelled because the new token's hash item exists already.)
#[tokio::test]
async fn a_cancelled_creation_gives_its_slot_back() {
    let rig = Rig::new().await;
    let issued = rig.app.issue(&rig.user).await;
    let user = patgate::user::UserId::parse("fay").unwrap();
    let owner = rig.direct.store.get_user(&user).await.unwrap().unwrap();
    let taken = rig
        .direct
        .store
        .get_token(&user, &patgate::token::TokenId::parse(&issued.id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let millis = u64::try_from(Utc::now().timestamp_millis()).unwrap();
    let clash = patgate::store::TokenRecord {
        id: patgate::token::TokenId::generate(millis).unwrap(),
        ..taken
    };
    let result = rig
        .app
        .service
        .store
        .create_token(&clash, &[], 10, &owner)
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(
        slots_of(&rig.direct, "fay").await,
        vec![issued.id.clone()],
        "the cancelled creation gave its slot back"
    );
    assert!(check_whole(&rig.direct).await["fay"].is_empty());
}

/// A refusal at the cap reads none of the user's tokens while every slot is too
/// recent to be freed; a slot old enough to be stale is recounted, and freed.
#[tokio::test]
async fn the_recount_runs_only_when_a_held_slot_may_be_stale() {
    let rig = Rig::with(&[("MAX_TOKENS_PER_USER", "3")]).await;
    for _ in 0..3 {
        rig.app.issue(&rig.user).await;
    }
    rig.proxy.reset_usage();
    let refused = rig.app.create(&rig.user, Rig::create_body()).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    let usage = rig.proxy.usage();
    assert_eq!(usage.get("Query"), None, "no recount: {usage:?}");

    // A slot taken ten minutes ago by a creation that never stored its token.
    let old = patgate::token::TokenId::generate(
        u64::try_from((Utc::now() - chrono::Duration::minutes(10)).timestamp_millis()).unwrap(),
    )
    .unwrap();
    let revoked = rig.app.list(&rig.user).await.body["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(rig.app.revoke(&rig.user, &revoked).await.status, 204);
    rig.direct
        .client
        .update_item()
        .table_name(rig.direct.name())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("TOKENS#fay".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("SLOTS".into()),
        )
        .update_expression("ADD live :id")
        .expression_attribute_values(
            ":id",
            aws_sdk_dynamodb::types::AttributeValue::Ss(vec![old.as_str().to_owned()]),
        )
        .send()
        .await
        .unwrap();
    rig.proxy.reset_usage();
    let created = rig.app.create(&rig.user, Rig::create_body()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(rig.proxy.usage()["Query"].requests, 1, "one recount");
    assert!(!slots_of(&rig.direct, "fay")
        .await
        .contains(&old.as_str().to_owned()));
    assert!(check_whole(&rig.direct).await["fay"].is_empty());
}

/// The ids in `user`'s slots item, sorted.
pub(crate) async fn slots_of(table: &TestTable, user: &str) -> Vec<String> {
    let mut held = table
        .item(&format!("TOKENS#{user}"), items::SLOTS_SK)
        .await
        .and_then(|i| i.get(items::SLOTS_ATTRIBUTE).cloned())
        .and_then(|v| v.as_ss().ok().cloned())
        .unwrap_or_default();
    held.sort();
    held
}

/// The transaction's answer is lost after it committed (held back past the attempt
/// timeout); the SDK sends it again with the same `ClientRequestToken`, which
/// DynamoDB answers as the success it was. One 201, one token, one slot.
#[tokio::test]
async fn a_creation_whose_answer_was_lost_succeeds_exactly_once() {
    let rig = Rig::new().await;
    rig.proxy.set_for(
        Fault::DelayAnswer(PAST_ATTEMPT_TIMEOUT),
        "TransactWriteItems",
        Some(1),
    );
    rig.proxy.reset_usage();
    let answer = rig.app.create(&rig.user, Rig::create_body()).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(
        rig.proxy.usage()["TransactWriteItems"].requests,
        2,
        "the SDK sent the transaction a second time"
    );
    let id = answer.body["id"].as_str().unwrap().to_owned();
    let all = rig.direct.all_items().await;
    let tokens: Vec<&str> = all
        .iter()
        .filter(|i| attr_s(i, "sk").starts_with(items::TOKEN_SK_PREFIX))
        .map(|i| attr_s(i, "token_id"))
        .collect();
    assert_eq!(
        tokens,
        [id.as_str()],
        "exactly the answered token is stored"
    );
    assert!(check_whole(&rig.direct).await["fay"].is_empty());
    let secret = answer.body["token"].as_str().unwrap();
    let decision = rig
        .app
        .authorize(&rig.app.authorizer(), secret, "GET", "/catalog", Utc::now())
        .await;
    assert!(decision.is_ok(), "{decision:?}");
}

/// The same for the slot reservation, a rotation and a revoke: each retried write
/// finds its own earlier success instead of a changed item.
#[tokio::test]
async fn other_writes_whose_answer_was_lost_succeed_exactly_once() {
    let rig = Rig::new().await;
    let lost = Fault::DelayAnswer(PAST_ATTEMPT_TIMEOUT);

    // The reservation: its retry finds the slot it already took.
    rig.proxy.set_for(lost, "UpdateItem", Some(1));
    let created = rig.app.create(&rig.user, Rig::create_body()).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert!(check_whole(&rig.direct).await["fay"].is_empty());

    // A rotation: the retry must not read as a lost race (409) or a vanished token.
    let id = created.body["id"].as_str().unwrap().to_owned();
    rig.proxy.set_for(lost, "TransactWriteItems", Some(1));
    let rotated = rig.app.rotate(&rig.user, &id, json!({})).await;
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    let secret = rotated.body["token"].as_str().unwrap().to_owned();
    let authorizer = rig.app.authorizer();
    let decision = rig
        .app
        .authorize(&authorizer, &secret, "GET", "/catalog", Utc::now())
        .await;
    assert!(decision.is_ok(), "the answered secret works: {decision:?}");
    assert!(check_whole(&rig.direct).await["fay"].is_empty());

    // A revoke: one revoked record, the slot given back.
    rig.proxy.set_for(lost, "TransactWriteItems", Some(1));
    let revoked = rig.app.revoke(&rig.user, &id).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    let stale = check_whole(&rig.direct).await;
    assert!(stale["fay"].is_empty(), "{stale:?}");
    let held = rig
        .direct
        .item("TOKENS#fay", items::SLOTS_SK)
        .await
        .and_then(|i| i.get(items::SLOTS_ATTRIBUTE).cloned());
    assert_eq!(held, None, "no slot left held");
    let decision = rig
        .app
        .authorize(&authorizer, &secret, "GET", "/catalog", Utc::now())
        .await;
    assert!(matches!(decision, Err(AuthorizerError::Unauthorized(_))));
}
