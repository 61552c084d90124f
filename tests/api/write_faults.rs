//! The write step of each writing entry point under a fault, the reads around it
//! healthy: "commit, then lose the answer" (held back past every SDK attempt, or cut
//! off half way, on every attempt) and "never delivered" (connection reset, request
//! swallowed). A write that committed ends in success, with a working secret for
//! create and rotate; one that did not ends in a clean 503 with nothing stored, the
//! table whole, and (for a rotation) the old secret still working. Never a 5xx after
//! a commit, never an orphan. Run with `--nocapture` to see the matrix.

use authorizer::AuthorizerError;
use chrono::Utc;
use patgate::store::items;
use patgate::token::TokenHash;
use patgate_tests::proxy::Fault;
use serde_json::json;

use crate::attr_s;
use crate::faults::{
    assert_failed_closed, call, check_whole, check_whole_or_repaired, slots_of, Entry, Outcome,
    Rig, Tokens, PAST_ATTEMPT_TIMEOUT,
};

const WRITES: [Entry; 4] = [Entry::Create, Entry::Rotate, Entry::Revoke, Entry::Report];

/// Does `secret` authenticate now?
async fn works(rig: &Rig, secret: &str) -> bool {
    let decision = rig
        .app
        .authorize(&rig.app.authorizer(), secret, "GET", "/catalog", Utc::now())
        .await;
    match decision {
        Ok(_) => true,
        Err(AuthorizerError::Unauthorized(_)) => false,
        Err(other) => panic!("healed, the authorizer decides: {other:?}"),
    }
}

async fn token_items(rig: &Rig) -> Vec<patgate::store::TokenRecord> {
    rig.direct
        .all_items()
        .await
        .into_iter()
        .filter(|i| attr_s(i, "sk").starts_with(items::TOKEN_SK_PREFIX))
        .map(|i| items::token_from_item(i).unwrap())
        .collect()
}

/// What became of one write under `fault`, checked; returns the matrix cell.
async fn one_write(entry: Entry, fault: Fault, committed: bool) -> String {
    let rig = Rig::new().await;
    let tokens = Tokens::issue(&rig).await;
    let before = token_items(&rig).await.len();
    rig.proxy.set_for(fault, "TransactWriteItems", None);
    let started = std::time::Instant::now();
    let outcome = call(&rig, &tokens, entry).await;
    let took = started.elapsed();
    rig.proxy.heal();
    rig.proxy.settle().await;
    let Outcome::Answer(answer) = &outcome else {
        unreachable!("writes answer")
    };
    let cell = if committed {
        let expected = match entry {
            Entry::Create | Entry::Rotate => 201,
            Entry::Revoke => 204,
            _ => 202,
        };
        assert_eq!(
            answer.status, expected,
            "{entry:?} under {fault:?} committed: {}",
            answer.text
        );
        match entry {
            Entry::Create | Entry::Rotate => {
                let secret = answer.body["token"].as_str().expect("the secret");
                assert!(
                    works(&rig, secret).await,
                    "{entry:?}: the answered secret works"
                );
                let stored = token_items(&rig).await;
                let id = answer.body["id"].as_str().unwrap();
                let token = stored.iter().find(|t| t.id.as_str() == id).unwrap();
                assert_eq!(
                    token.hash,
                    TokenHash::of(secret),
                    "the stored secret is the answered one"
                );
                let added = usize::from(entry == Entry::Create);
                assert_eq!(stored.len(), before + added, "no second token");
            }
            Entry::Revoke => assert!(!works(&rig, &tokens.revoke.token).await),
            _ => assert!(!works(&rig, &tokens.report.token).await),
        }
        format!("{} (committed, answered after read-back)", answer.status)
    } else {
        assert_failed_closed(entry, &outcome, &tokens.secrets(), fault);
        assert_eq!(token_items(&rig).await.len(), before, "nothing stored");
        match entry {
            Entry::Create => {}
            Entry::Rotate => {
                assert!(
                    works(&rig, &tokens.rotate.token).await,
                    "the old secret still works"
                );
                let stored = token_items(&rig).await;
                let token = stored
                    .iter()
                    .find(|t| t.id.as_str() == tokens.rotate.id)
                    .unwrap();
                assert_eq!(
                    (token.secret_version, token.previous_hash.as_ref()),
                    (1, None)
                );
            }
            Entry::Revoke => assert!(works(&rig, &tokens.revoke.token).await),
            _ => assert!(works(&rig, &tokens.report.token).await),
        }
        "503, nothing written".to_owned()
    };
    check_whole_or_repaired(&rig.direct, &rig.user).await;
    format!("{cell}, {:.1} s", took.as_secs_f64())
}

async fn every_write_under(fault: Fault, label: &str, committed: bool) {
    let mut rows = Vec::new();
    for entry in WRITES {
        let cell = one_write(entry, fault, committed).await;
        rows.push(format!("| {entry:?} | {label} | {cell} |"));
    }
    println!("{}", rows.join("\n"));
}

#[tokio::test]
async fn a_write_whose_every_answer_is_held_back_succeeds_after_reading_it_back() {
    let fault = Fault::DelayAnswer(PAST_ATTEMPT_TIMEOUT);
    every_write_under(fault, "commit, every answer held back 2.6 s", true).await;
}

#[tokio::test]
async fn a_write_whose_every_answer_is_cut_half_way_succeeds_after_reading_it_back() {
    every_write_under(Fault::HalfOpen, "commit, every answer cut half way", true).await;
}

#[tokio::test]
async fn a_write_on_reset_connections_fails_cleanly_with_nothing_stored() {
    every_write_under(Fault::Reset, "never delivered: connection reset", false).await;
}

#[tokio::test]
async fn a_swallowed_write_fails_cleanly_with_nothing_stored() {
    every_write_under(
        Fault::Blackhole,
        "never delivered: request swallowed",
        false,
    )
    .await;
}

/// At a cap of one, a creation whose every answer is cut off after the commit: the
/// caller gets its 201 and a working secret, the one slot is that token's, and the
/// next creation is refused at the cap. (This replaces the test that pinned a 503
/// with the token stored, a secret nobody received.)
#[tokio::test]
async fn a_creation_that_committed_answers_its_token_and_keeps_its_slot() {
    let rig = Rig::with(&[("MAX_TOKENS_PER_USER", "1")]).await;
    rig.proxy
        .set_for(Fault::HalfOpen, "TransactWriteItems", None);
    let answer = rig.app.create(&rig.user, Rig::create_body()).await;
    rig.proxy.heal();
    assert_eq!(answer.status, 201, "{}", answer.text);
    let secret = answer.body["token"].as_str().unwrap();
    assert!(works(&rig, secret).await);
    let stored = token_items(&rig).await;
    assert_eq!(stored.len(), 1, "the half-answered write did commit");
    assert_eq!(
        slots_of(&rig.direct, "fay").await,
        vec![stored[0].id.as_str().to_owned()]
    );
    let next = rig.app.create(&rig.user, Rig::create_body()).await;
    assert_eq!(
        (next.status, next.code()),
        (409, "token_limit_reached"),
        "{}",
        next.text
    );
    assert!(check_whole(&rig.direct).await["fay"].is_empty());
}

/// A rotation without grace keeps the replaced secret working through the handover
/// until its write is known to have committed; then the answer ends it. Here the
/// rotation's answer is lost on every attempt and found by reading back: the old
/// secret stops working once the 201 is given. When the write is never delivered the
/// old secret goes on working (above).
#[tokio::test]
async fn a_rotation_ends_the_old_secret_only_once_its_answer_is_given() {
    let rig = Rig::new().await;
    let issued = rig.app.issue(&rig.user).await;
    rig.proxy.set_for(
        Fault::DelayAnswer(PAST_ATTEMPT_TIMEOUT),
        "TransactWriteItems",
        None,
    );
    let rotated = rig.app.rotate(&rig.user, &issued.id, json!({})).await;
    rig.proxy.heal();
    assert_eq!(rotated.status, 201, "{}", rotated.text);
    assert!(works(&rig, rotated.body["token"].as_str().unwrap()).await);
    assert!(
        !works(&rig, &issued.token).await,
        "grace 0: the old secret is refused"
    );
    // The hash item of the old secret says so (valid until the rotation, not +5 min).
    let old = rig
        .direct
        .item(
            &format!("HASH#{}", TokenHash::of(&issued.token).as_str()),
            "HASH",
        )
        .await
        .unwrap();
    let until: i64 = old["valid_until"].as_n().unwrap().parse().unwrap();
    assert!(until <= Utc::now().timestamp(), "{until}");
}

/// Every attempt the SDK makes is cut off before it reaches DynamoDB (its three
/// attempts), so the outcome is unknown; reading back finds nothing, and the same
/// transaction is sent once more, with the same request token: it commits, and the
/// caller gets its 201 with a working secret, one token stored.
#[tokio::test]
async fn a_write_that_never_arrived_commits_when_sent_again() {
    let rig = Rig::new().await;
    rig.proxy.clear_recorded();
    rig.proxy
        .set_for(Fault::Reset, "TransactWriteItems", Some(3));
    let answer = rig.app.create(&rig.user, Rig::create_body()).await;
    rig.proxy.heal();
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert!(works(&rig, answer.body["token"].as_str().unwrap()).await);
    let forwarded: Vec<String> = rig.proxy.forwarded();
    let writes = forwarded
        .iter()
        .filter(|op| *op == "TransactWriteItems")
        .count();
    assert_eq!(writes, 1, "only the resend reached DynamoDB: {forwarded:?}");
    let reads_before_resend = forwarded
        .iter()
        .take_while(|op| *op != "TransactWriteItems")
        .filter(|op| *op == "GetItem")
        .count();
    assert_eq!(
        reads_before_resend, 2,
        "the user, then the read-back: {forwarded:?}"
    );
    assert_eq!(token_items(&rig).await.len(), 1);
    assert!(check_whole(&rig.direct).await["fay"].is_empty());
}
