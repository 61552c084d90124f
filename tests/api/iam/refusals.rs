//! Requests the functions must never be able to make.

use patgate::store::items::{self, LAST_USE_ATTRIBUTES};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

use super::*;

// ---------------------------------------------------------------- what must be refused

/// A DynamoDB request body for `translate`.
pub(super) fn update(
    pk: &str,
    sk: &str,
    expression: &str,
    names: Value,
    return_values: &str,
) -> Value {
    json!({
        "TableName": "t",
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {":v": {"S": "x"}},
        "ReturnValues": return_values,
    })
}

pub(super) fn put(pk: &str, sk: &str, extra: &[&str]) -> Value {
    let mut item = json!({"pk": {"S": pk}, "sk": {"S": sk}});
    for name in extra {
        item[*name] = json!({"S": "x"});
    }
    json!({"TableName": "t", "Item": item})
}

pub(super) fn key_request(pk: &str, sk: &str) -> Value {
    json!({"TableName": "t", "Key": {"pk": {"S": pk}, "sk": {"S": sk}}})
}

pub(super) fn query(pk: &str) -> Value {
    json!({"TableName": "t", "KeyConditionExpression": "pk = :pk",
           "ExpressionAttributeValues": {":pk": {"S": pk}}})
}

/// Asserts `function` may not make any of `requests`.
pub(super) fn assert_refused(
    policies: &BTreeMap<String, Vec<Statement>>,
    function: &str,
    requests: &[(&str, &str, Value)],
) {
    let translator = Translator { table: "t" };
    let statements = &policies[function];
    for (what, operation, body) in requests {
        for request in translator.translate(operation, body) {
            let decision = decide(statements, &request);
            assert!(
                !matches!(decision, Decision::Allowed(_)),
                "{function} may {what}: {decision:?} for {request:?}"
            );
        }
    }
}

#[test]
pub(super) fn the_authorizer_can_write_only_last_use_attributes_of_token_items_and_read_nothing_back(
) {
    let policies = function_policies();
    let token = ("TOKENS#alice", "TOKEN#01ARZ3NDEKTSV4RRFFQ69G5FAV");
    let none = json!({});
    assert_refused(
        &policies,
        "authorizer",
        &[
            (
                "set a user's roles",
                "UpdateItem",
                update(
                    "USER#alice",
                    "PROFILE",
                    "SET #r = :v",
                    json!({"#r": "roles"}),
                    "NONE",
                ),
            ),
            (
                "set a token's roles",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET #r = :v",
                    json!({"#r": "roles"}),
                    "NONE",
                ),
            ),
            (
                "change a token's hash",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET token_hash = :v",
                    none.clone(),
                    "NONE",
                ),
            ),
            (
                "extend a token",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET expires_at = :v",
                    none.clone(),
                    "NONE",
                ),
            ),
            (
                "take a slot",
                "UpdateItem",
                update(token.0, "SLOTS", "ADD live :v", none.clone(), "NONE"),
            ),
            (
                "read a token back",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET last_used_at = :v",
                    none.clone(),
                    "ALL_OLD",
                ),
            ),
            (
                "read an update back",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET last_used_at = :v",
                    none.clone(),
                    "ALL_NEW",
                ),
            ),
            (
                "read updated values",
                "UpdateItem",
                update(
                    token.0,
                    token.1,
                    "SET last_used_at = :v",
                    none.clone(),
                    "UPDATED_NEW",
                ),
            ),
            (
                "write last use on a hash item",
                "UpdateItem",
                update(
                    "HASH#ab",
                    "HASH",
                    "SET last_used_at = :v",
                    none.clone(),
                    "NONE",
                ),
            ),
            (
                "write last use on a user",
                "UpdateItem",
                update(
                    "USER#alice",
                    "PROFILE",
                    "SET last_used_at = :v",
                    none.clone(),
                    "NONE",
                ),
            ),
            ("condition on another attribute", "UpdateItem", {
                let mut body = update(
                    token.0,
                    token.1,
                    "SET last_used_at = :v",
                    none.clone(),
                    "NONE",
                );
                body["ConditionExpression"] = json!("begins_with(token_hash, :v)");
                body
            }),
            (
                "put a token item",
                "PutItem",
                put(token.0, token.1, &["last_used_at"]),
            ),
            (
                "put a user",
                "PutItem",
                put("USER#alice", "PROFILE", &["roles"]),
            ),
            (
                "put a hash item",
                "PutItem",
                put("HASH#ab", "HASH", &["token_id"]),
            ),
            (
                "delete a token",
                "DeleteItem",
                key_request(token.0, token.1),
            ),
            (
                "read a token item",
                "GetItem",
                key_request(token.0, token.1),
            ),
            (
                "read a user",
                "GetItem",
                key_request("USER#alice", "PROFILE"),
            ),
            ("query tokens", "Query", query("TOKENS#alice")),
            (
                "batch-read hash items",
                "BatchGetItem",
                json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "HASH#ab"}, "sk": {"S": "HASH"}}]}}}),
            ),
            ("scan", "Scan", json!({"TableName": "t"})),
        ],
    );
    // What it may do is what the code writes: the template and the store agree.
    let statement = policies["authorizer"]
        .iter()
        .find(|s| s.actions == ["dynamodb:UpdateItem"])
        .expect("the authorizer's UpdateItem statement");
    let allowed: BTreeSet<&str> = statement
        .conditions
        .iter()
        .filter(|c| c.key == "dynamodb:Attributes")
        .flat_map(|c| c.values.iter().map(String::as_str))
        .collect();
    let expected: BTreeSet<&str> = LAST_USE_ATTRIBUTES
        .iter()
        .copied()
        .chain([items::PK, items::SK])
        .collect();
    assert_eq!(allowed, expected);
}

#[test]
pub(super) fn no_function_can_write_user_records_or_scan() {
    let policies = function_policies();
    // The directory's functions write principals by design (admin API, SCIM); the
    // revocations repair may only mark a fan-out complete.
    for function in policies
        .keys()
        .filter(|f| !["admin", "scim"].contains(&f.as_str()))
    {
        assert_refused(
            &policies,
            function,
            &[
                (
                    "put a user record",
                    "PutItem",
                    put("USER#alice", "PROFILE", &["roles", "active"]),
                ),
                (
                    "set a user's roles",
                    "UpdateItem",
                    update(
                        "USER#alice",
                        "PROFILE",
                        "SET #r = :v",
                        json!({"#r": "roles"}),
                        "NONE",
                    ),
                ),
                (
                    "activate a user",
                    "UpdateItem",
                    update(
                        "USER#alice",
                        "PROFILE",
                        "SET active = :v",
                        json!({}),
                        "NONE",
                    ),
                ),
                (
                    "delete a user record",
                    "DeleteItem",
                    key_request("USER#alice", "PROFILE"),
                ),
                ("scan the table", "Scan", json!({"TableName": "t"})),
                ("put into another table", "PutItem", {
                    let mut body = put("TOKENS#alice", "TOKEN#x", &[]);
                    body["TableName"] = json!("other");
                    body
                }),
            ],
        );
    }
}

#[test]
pub(super) fn each_token_function_writes_only_its_own_kind_of_item() {
    let policies = function_policies();
    let token = ("TOKENS#alice", "TOKEN#01ARZ3NDEKTSV4RRFFQ69G5FAV");
    let hash = ("HASH#ab", "HASH");
    let writes = |pk: &str, sk: &str| {
        vec![
            ("put", "PutItem", put(pk, sk, &["x"])),
            (
                "update",
                "UpdateItem",
                update(pk, sk, "SET x = :v", json!({}), "NONE"),
            ),
            ("delete", "DeleteItem", key_request(pk, sk)),
        ]
    };
    // Listing reads; it writes nothing at all. The reminder job writes reminders only.
    for (pk, sk) in [token, hash, ("REMIND#2027-01-01T09", "x#1")] {
        assert_refused(&policies, "list-tokens", &writes(pk, sk));
    }
    for (pk, sk) in [token, hash] {
        assert_refused(&policies, "reminders", &writes(pk, sk));
    }
    // GitHub's replay markers are the leak reports' alone, and only put or deleted.
    let marker = ("REPLAY#ab", "REPLAY");
    for function in policies.keys().filter(|f| *f != "revoke-credentials") {
        assert_refused(&policies, function, &writes(marker.0, marker.1));
    }
    assert_refused(
        &policies,
        "revoke-credentials",
        &[(
            "change a replay marker",
            "UpdateItem",
            update(marker.0, marker.1, "SET x = :v", json!({}), "NONE"),
        )],
    );
    // Revoking deletes credentials; it never mints or changes one.
    for function in ["revoke-token", "revoke-credentials"] {
        assert_refused(
            &policies,
            function,
            &[
                (
                    "mint a hash item",
                    "PutItem",
                    put(hash.0, hash.1, &["token_id"]),
                ),
                (
                    "change a hash item",
                    "UpdateItem",
                    update(hash.0, hash.1, "SET valid_until = :v", json!({}), "NONE"),
                ),
                (
                    "put a reminder",
                    "PutItem",
                    put("REMIND#2027-01-01T09", "x#1", &[]),
                ),
            ],
        );
    }
    // Creating never repoints or reads a credential, and its catch-up touches only the
    // owner's access attributes of a hash item. (A creation replayed under its
    // Idempotency-Key re-issues the secret as a rotation does, so create-token may
    // now retire and delete hash items like rotate-token: a deliberate change.)
    assert_refused(
        &policies,
        "create-token",
        &[
            (
                "repoint a hash item",
                "UpdateItem",
                update(hash.0, hash.1, "SET token_id = :v", json!({}), "NONE"),
            ),
            (
                "read a hash item back",
                "UpdateItem",
                update(
                    hash.0,
                    hash.1,
                    "SET #r = :v",
                    json!({"#r": "roles"}),
                    "ALL_OLD",
                ),
            ),
            ("read a hash item", "GetItem", key_request(hash.0, hash.1)),
        ],
    );
    // The reminder job touches reminders and its checkpoint only.
    assert_refused(
        &policies,
        "reminders",
        &[
            ("read a token", "GetItem", key_request(token.0, token.1)),
            ("read a hash item", "GetItem", key_request(hash.0, hash.1)),
        ],
    );
}

#[test]
pub(super) fn the_directory_functions_keep_to_their_partitions() {
    let policies = function_policies();
    for function in ["admin", "scim", "revocations"] {
        assert_refused(
            &policies,
            function,
            &[
                ("scan the table", "Scan", json!({"TableName": "t"})),
                (
                    "write a reminder checkpoint",
                    "PutItem",
                    put("JOB#reminders", "CHECKPOINT", &[]),
                ),
                (
                    "set a hash item's permissions",
                    "UpdateItem",
                    update(
                        "HASH#ab",
                        "HASH",
                        "SET #p = :v",
                        json!({"#p": "permissions"}),
                        "NONE",
                    ),
                ),
            ],
        );
    }
    assert_refused(
        &policies,
        "revocations",
        &[(
            "set a user's roles",
            "UpdateItem",
            update(
                "USER#alice",
                "PROFILE",
                "SET #r = :v",
                json!({"#r": "roles"}),
                "NONE",
            ),
        )],
    );
    assert_refused(
        &policies,
        "scim",
        &[
            (
                "issue an integration credential",
                "PutItem",
                put("CRED#ab", "CRED", &["kind"]),
            ),
            (
                "read the inventory's counters",
                "Query",
                query("STATS#inventory"),
            ),
        ],
    );
}
