//! Integration tests, one binary (the AWS SDK is linked once): the real handlers, the
//! authorizer, the events and reminder functions and the store, with API
//! Gateway-shaped events, against DynamoDB Local. Each module is one area.

mod agreement;
mod authorizer;
mod bad_input;
mod costs;
mod directory;
mod events;
mod faults;
mod github;
mod iam;
mod idempotency;
mod inventory_costs;
mod lifecycle;
mod operations;
mod pre_traffic;
mod prefix;
mod redrive;
mod reminders;
mod request_tokens;
mod scanners;
mod sdk_config;
mod store;
mod token_api;
mod write_faults;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

pub type Item = HashMap<String, AttributeValue>;

/// A string attribute of a raw item ("" when absent).
pub fn attr_s<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .unwrap_or("")
}

/// Every attribute name and string anywhere in the stored items.
pub fn stored_strings(items: &[Item]) -> Vec<String> {
    fn walk(value: &AttributeValue, out: &mut Vec<String>) {
        match value {
            AttributeValue::S(s) | AttributeValue::N(s) => out.push(s.clone()),
            AttributeValue::Ss(set) => out.extend(set.iter().cloned()),
            AttributeValue::L(list) => list.iter().for_each(|v| walk(v, out)),
            AttributeValue::M(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for item in items {
        for (key, value) in item {
            out.push(key.clone());
            walk(value, &mut out);
        }
    }
    out
}
