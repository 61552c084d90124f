//! DynamoDB requests as IAM sees them: each request (and each item of a transaction)
//! turned into the action, partition keys and attributes IAM authorises.

use patgate::store::items::PK;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

use super::*;

// ---------------------------------------------------------------- DynamoDB requests as IAM sees them

/// Words of an expression that are not attribute names.
pub(super) const KEYWORDS: [&str; 9] = [
    "SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "BETWEEN", "IN",
];

/// The top-level attribute names an expression reads or writes (`#aliases`
/// resolved; functions, keywords, `:values` and nested path parts left out).
pub(super) fn expression_attributes(expression: &str, names: &Value) -> BTreeSet<String> {
    let chars: Vec<char> = expression.chars().collect();
    let mut found = BTreeSet::new();
    let mut i = 0;
    let mut nested = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' || c == ':' || c.is_alphabetic() || c == '_' {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let call = chars.get(next) == Some(&'(');
            let part_of_path = std::mem::take(&mut nested);
            if word.starts_with(':')
                || part_of_path
                || call
                || KEYWORDS.contains(&word.to_ascii_uppercase().as_str())
            {
                continue;
            }
            let name = if word.starts_with('#') {
                names[&word]
                    .as_str()
                    .unwrap_or_else(|| panic!("{word} of `{expression}` has no name"))
                    .to_owned()
            } else {
                word
            };
            found.insert(name);
        } else if c == '.' {
            nested = true;
            i += 1;
        } else if c == '[' {
            while i < chars.len() && chars[i] != ']' {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The partition key value a Query's key condition fixes.
pub(super) fn queried_partition(body: &Value) -> String {
    let expression = body["KeyConditionExpression"]
        .as_str()
        .expect("a Query by key condition");
    let names = &body["ExpressionAttributeNames"];
    let resolve = |word: &str| {
        let word = word.trim();
        if word.starts_with('#') {
            names[word].as_str().unwrap_or("").to_owned()
        } else {
            word.to_owned()
        }
    };
    // A Query of an index fixes that index's partition key (IAM's LeadingKeys).
    let key = match body["IndexName"].as_str() {
        None => PK,
        Some(patgate::store::items::DIRECTORY_INDEX) => "dir_pk",
        Some(_) => patgate::store::items::INVENTORY_PK,
    };
    for part in expression.split(" AND ").chain(expression.split(" and ")) {
        if let Some((left, right)) = part.split_once('=') {
            let (left, right) = (left.trim(), right.trim());
            let placeholder = if resolve(left) == key {
                right
            } else if resolve(right) == key {
                left
            } else {
                continue;
            };
            return body["ExpressionAttributeValues"][placeholder]["S"]
                .as_str()
                .unwrap_or_else(|| panic!("{placeholder} of `{expression}`"))
                .to_owned();
        }
    }
    panic!("no partition key in `{expression}`")
}

pub(super) fn partition_of(key: &Value) -> String {
    key[PK]["S"]
        .as_str()
        .unwrap_or_else(|| panic!("no string {PK} in {key}"))
        .to_owned()
}

pub(super) fn attribute_names(object: &Value) -> BTreeSet<String> {
    object
        .as_object()
        .map(|map| map.keys().cloned().collect())
        .unwrap_or_default()
}

/// The attributes a single-item request (or one item of a transaction) names.
pub(super) fn named_attributes(item_or_key: &Value, body: &Value) -> BTreeSet<String> {
    let names = &body["ExpressionAttributeNames"];
    let mut attributes = attribute_names(item_or_key);
    for field in [
        "UpdateExpression",
        "ConditionExpression",
        "ProjectionExpression",
        "FilterExpression",
        "KeyConditionExpression",
    ] {
        if let Some(expression) = body[field].as_str() {
            attributes.extend(expression_attributes(expression, names));
        }
    }
    for legacy in ["AttributeUpdates", "Expected"] {
        attributes.extend(attribute_names(&body[legacy]));
    }
    if let Some(list) = body["AttributesToGet"].as_array() {
        attributes.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    attributes
}

pub(super) struct Translator<'a> {
    pub(super) table: &'a str,
}

impl Translator<'_> {
    pub(super) fn resource(&self, body: &Value) -> String {
        match body["TableName"].as_str() {
            Some(name) if name == self.table => match body["IndexName"].as_str() {
                Some(index) => format!("{TABLE_ARN}/index/{index}"),
                None => TABLE_ARN.to_owned(),
            },
            Some(other) => format!("local:table/{other}"),
            None => "local:no-table".to_owned(),
        }
    }

    pub(super) fn request(
        &self,
        action: &str,
        body: &Value,
        partitions: Vec<String>,
        attributes: BTreeSet<String>,
        enclosing: Option<&str>,
    ) -> IamRequest {
        let mut context: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        if !partitions.is_empty() {
            context.insert("dynamodb:LeadingKeys", partitions);
        }
        context.insert("dynamodb:Attributes", attributes.into_iter().collect());
        for (key, field) in [
            ("dynamodb:ReturnValues", "ReturnValues"),
            ("dynamodb:ReturnConsumedCapacity", "ReturnConsumedCapacity"),
        ] {
            // Strictly as sent: a parameter left out is absent from the request. (AWS
            // documents ReturnValues as NONE when left out; the functions state it, so
            // the policies hold under either reading.)
            if let Some(value) = body[field].as_str() {
                context.insert(key, vec![value.to_owned()]);
            }
        }
        if ["GetItem", "Query", "Scan", "BatchGetItem"].contains(&action) {
            let select = match body["Select"].as_str() {
                Some(select) => select,
                None if body["ProjectionExpression"].is_string() => "SPECIFIC_ATTRIBUTES",
                None => "ALL_ATTRIBUTES",
            };
            context.insert("dynamodb:Select", vec![select.to_owned()]);
        }
        if let Some(operation) = enclosing {
            context.insert("dynamodb:EnclosingOperation", vec![operation.to_owned()]);
        }
        IamRequest {
            action: format!("dynamodb:{action}"),
            resource: self.resource(body),
            context,
        }
    }

    /// The IAM requests one DynamoDB request is authorised as.
    pub(super) fn translate(&self, operation: &str, body: &Value) -> Vec<IamRequest> {
        match operation {
            "GetItem" | "UpdateItem" | "DeleteItem" => {
                let key = &body["Key"];
                vec![self.request(
                    operation,
                    body,
                    vec![partition_of(key)],
                    named_attributes(key, body),
                    None,
                )]
            }
            "PutItem" => {
                let item = &body["Item"];
                vec![self.request(
                    operation,
                    body,
                    vec![partition_of(item)],
                    named_attributes(item, body),
                    None,
                )]
            }
            "Query" => vec![self.request(
                operation,
                body,
                vec![queried_partition(body)],
                named_attributes(&Value::Null, body),
                None,
            )],
            "Scan" => vec![self.request(
                operation,
                body,
                Vec::new(),
                named_attributes(&Value::Null, body),
                None,
            )],
            "BatchGetItem" => attribute_names(&body["RequestItems"])
                .into_iter()
                .map(|table| {
                    let part = &body["RequestItems"][&table];
                    let keys = part["Keys"].as_array().cloned().unwrap_or_default();
                    let mut attributes = named_attributes(&Value::Null, part);
                    keys.iter()
                        .for_each(|k| attributes.extend(attribute_names(k)));
                    let mut request = self.request(
                        operation,
                        part,
                        keys.iter().map(partition_of).collect(),
                        attributes,
                        None,
                    );
                    request.resource = self.resource(&json!({ "TableName": table }));
                    request
                })
                .collect(),
            "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|entry| {
                    let (kind, part) = entry
                        .as_object()
                        .and_then(|m| m.iter().next())
                        .unwrap_or_else(|| panic!("transaction item {entry}"));
                    let (action, item) = match kind.as_str() {
                        "Put" => ("PutItem", &part["Item"]),
                        "Update" => ("UpdateItem", &part["Key"]),
                        "Delete" => ("DeleteItem", &part["Key"]),
                        "ConditionCheck" => ("ConditionCheckItem", &part["Key"]),
                        "Get" => ("GetItem", &part["Key"]),
                        other => panic!("transaction item kind {other}"),
                    };
                    self.request(
                        action,
                        part,
                        vec![partition_of(item)],
                        named_attributes(item, part),
                        Some(operation),
                    )
                })
                .collect(),
            other => vec![self.request(other, body, Vec::new(), BTreeSet::new(), None)],
        }
    }
}
