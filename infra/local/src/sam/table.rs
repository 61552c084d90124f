//! The template's DynamoDB table: keys, attributes, indexes, TTL and stream, as
//! `table.rs` creates it in DynamoDB Local.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub logical_id: String,
    /// (name, type) e.g. ("pk", "S").
    pub attributes: Vec<(String, String)>,
    /// (name, HASH|RANGE).
    pub key_schema: Vec<(String, String)>,
    pub billing_mode: String,
    pub global_secondary_indexes: Vec<IndexDef>,
    /// `TimeToLiveSpecification`, when declared.
    pub time_to_live: Option<TimeToLiveDef>,
    /// `StreamSpecification.StreamViewType`, when a stream is declared and enabled.
    pub stream_view_type: Option<String>,
}

impl TableDef {
    /// The TTL attribute, when TTL is enabled.
    pub fn ttl_attribute(&self) -> Option<&str> {
        self.time_to_live
            .as_ref()
            .filter(|ttl| ttl.enabled)
            .map(|ttl| ttl.attribute_name.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeToLiveDef {
    pub attribute_name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub key_schema: Vec<(String, String)>,
    pub projection_type: String,
    pub non_key_attributes: Vec<String>,
}

pub(super) fn table_def(template: &Template) -> Result<TableDef, TemplateError> {
    let tables: Vec<(&String, &Value)> = template.resources_of("AWS::DynamoDB::Table").collect();
    let (logical_id, table) = match tables.as_slice() {
        [one] => *one,
        [] => return err("no AWS::DynamoDB::Table resource"),
        _ => return err("several AWS::DynamoDB::Table resources; the local stack creates one"),
    };
    let properties = template
        .resolve(table.get("Properties").unwrap_or(&Value::Null))?
        .unwrap_or(Value::Null);
    let attributes = pairs(
        properties.get("AttributeDefinitions"),
        "AttributeName",
        "AttributeType",
    );
    let key_schema = pairs(properties.get("KeySchema"), "AttributeName", "KeyType");
    if key_schema.is_empty() || attributes.is_empty() {
        return err(format!(
            "{logical_id}: KeySchema and AttributeDefinitions are required"
        ));
    }
    Ok(TableDef {
        logical_id: logical_id.clone(),
        attributes,
        key_schema,
        billing_mode: properties
            .get("BillingMode")
            .and_then(Value::as_str)
            .unwrap_or("PROVISIONED")
            .to_owned(),
        global_secondary_indexes: indexes(properties.get("GlobalSecondaryIndexes")),
        time_to_live: time_to_live(properties.get("TimeToLiveSpecification")),
        stream_view_type: stream_view_type(properties.get("StreamSpecification")),
    })
}

/// `[{a: x, b: y}, ...]` → `[(x, y), ...]`.
fn pairs(value: Option<&Value>, a: &str, b: &str) -> Vec<(String, String)> {
    let items = value.and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter_map(|i| {
            Some((
                i.get(a)?.as_str()?.to_owned(),
                i.get(b)?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

fn indexes(value: Option<&Value>) -> Vec<IndexDef> {
    let text = |index: &Value, pointer: &str| {
        index
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let items = value.and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .map(|index| IndexDef {
            name: text(index, "/IndexName").unwrap_or_default(),
            key_schema: pairs(index.get("KeySchema"), "AttributeName", "KeyType"),
            projection_type: text(index, "/Projection/ProjectionType")
                .unwrap_or_else(|| "ALL".to_owned()),
            non_key_attributes: index
                .pointer("/Projection/NonKeyAttributes")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

fn time_to_live(spec: Option<&Value>) -> Option<TimeToLiveDef> {
    let spec = spec?;
    Some(TimeToLiveDef {
        attribute_name: spec.get("AttributeName")?.as_str()?.to_owned(),
        enabled: spec.get("Enabled").and_then(as_bool_loose).unwrap_or(false),
    })
}

/// CloudFormation's `StreamSpecification` has `StreamViewType`; `StreamEnabled: false`
/// (DynamoDB's own spelling) turns it off.
fn stream_view_type(spec: Option<&Value>) -> Option<String> {
    let spec = spec?;
    let enabled = spec
        .get("StreamEnabled")
        .and_then(as_bool_loose)
        .unwrap_or(true);
    let view_type = spec.get("StreamViewType")?.as_str()?;
    enabled.then(|| view_type.to_owned())
}
