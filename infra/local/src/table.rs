//! The table template.yaml declares, created in DynamoDB Local: keys, attributes,
//! billing mode, GSIs, TTL and stream, as CloudFormation would create it. The local
//! stack and the tests create their tables here.

use std::fmt;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ProvisionedThroughput, ScalarAttributeType, StreamSpecification,
    StreamViewType, TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_dynamodb::Client;

use crate::sam::{IndexDef, TableDef};

#[derive(Debug)]
pub enum TableError {
    /// The table exists with other keys than the template's.
    KeySchemaMismatch {
        table: String,
        existing: Vec<(String, String)>,
        declared: Vec<(String, String)>,
    },
    /// The template's definition cannot be expressed as a request.
    Definition(String),
    /// DynamoDB refused or did not answer a request.
    Request { operation: String, detail: String },
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::KeySchemaMismatch {
                table,
                existing,
                declared,
            } => write!(
                f,
                "table {table} exists with key schema {existing:?} but template.yaml says {declared:?}; \
                 remove infra/.local/dynamodb or run with --in-memory"
            ),
            TableError::Definition(detail) => write!(f, "table definition: {detail}"),
            TableError::Request { operation, detail } => write!(f, "{operation}: {detail}"),
        }
    }
}

impl std::error::Error for TableError {}

impl TableError {
    /// Whether trying again may help (DynamoDB Local still starting, say).
    pub fn is_transient(&self) -> bool {
        matches!(self, TableError::Request { .. })
    }
}

fn request_error<E, R>(operation: &str, err: SdkError<E, R>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let code = err.code().unwrap_or("error").to_owned();
    TableError::Request {
        operation: operation.to_owned(),
        detail: format!("{code}: {}", DisplayErrorContext(&err)),
    }
}

fn definition_error(err: impl std::error::Error) -> TableError {
    TableError::Definition(err.to_string())
}

/// What [`ensure_table`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum TableOutcome {
    Created,
    Existing,
}

/// Creates table `name` from the template's definition unless it exists; an existing
/// table must have the template's key schema. Enables TTL as the template does.
pub async fn ensure_table(
    client: &Client,
    name: &str,
    def: &TableDef,
) -> Result<TableOutcome, TableError> {
    match client.describe_table().table_name(name).send().await {
        Ok(described) => {
            let existing: Vec<(String, String)> = described
                .table()
                .map(|t| t.key_schema().iter().map(key_pair).collect())
                .unwrap_or_default();
            if existing != def.key_schema {
                return Err(TableError::KeySchemaMismatch {
                    table: name.to_owned(),
                    existing,
                    declared: def.key_schema.clone(),
                });
            }
            enable_ttl(client, name, def).await?;
            Ok(TableOutcome::Existing)
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            create_table(client, name, def).await?;
            Ok(TableOutcome::Created)
        }
        Err(err) => Err(request_error(&format!("DescribeTable {name}"), err)),
    }
}

fn key_pair(key: &KeySchemaElement) -> (String, String) {
    (
        key.attribute_name().to_owned(),
        key.key_type().as_str().to_owned(),
    )
}

/// Creates table `name` as `def` declares it, TTL included.
pub async fn create_table(client: &Client, name: &str, def: &TableDef) -> Result<(), TableError> {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()))
        .set_key_schema(Some(key_schema(&def.key_schema)?));
    if def.billing_mode != "PAY_PER_REQUEST" {
        let throughput = ProvisionedThroughput::builder()
            .read_capacity_units(5)
            .write_capacity_units(5)
            .build()
            .map_err(definition_error)?;
        request = request.provisioned_throughput(throughput);
    }
    for (attribute, kind) in &def.attributes {
        let definition = AttributeDefinition::builder()
            .attribute_name(attribute)
            .attribute_type(ScalarAttributeType::from(kind.as_str()))
            .build()
            .map_err(definition_error)?;
        request = request.attribute_definitions(definition);
    }
    for index in &def.global_secondary_indexes {
        request = request.global_secondary_indexes(global_secondary_index(index)?);
    }
    if let Some(view_type) = &def.stream_view_type {
        let stream = StreamSpecification::builder()
            .stream_enabled(true)
            .stream_view_type(StreamViewType::from(view_type.as_str()))
            .build()
            .map_err(definition_error)?;
        request = request.stream_specification(stream);
    }
    match request.send().await {
        Ok(_) => {}
        // The SDK retried a create whose first answer came too late (three GSIs make
        // it slow on a busy machine): that first attempt created the table.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(err) => return Err(request_error(&format!("CreateTable {name}"), err)),
    }
    enable_ttl(client, name, def).await
}

fn key_schema(keys: &[(String, String)]) -> Result<Vec<KeySchemaElement>, TableError> {
    keys.iter()
        .map(|(attribute, kind)| {
            KeySchemaElement::builder()
                .attribute_name(attribute)
                .key_type(KeyType::from(kind.as_str()))
                .build()
                .map_err(definition_error)
        })
        .collect()
}

fn global_secondary_index(index: &IndexDef) -> Result<GlobalSecondaryIndex, TableError> {
    let non_key_attributes =
        (!index.non_key_attributes.is_empty()).then(|| index.non_key_attributes.clone());
    let projection = Projection::builder()
        .projection_type(ProjectionType::from(index.projection_type.as_str()))
        .set_non_key_attributes(non_key_attributes)
        .build();
    GlobalSecondaryIndex::builder()
        .index_name(&index.name)
        .projection(projection)
        .set_key_schema(Some(key_schema(&index.key_schema)?))
        .build()
        .map_err(definition_error)
}

/// Turns TTL on for the template's attribute unless it is on already.
async fn enable_ttl(client: &Client, name: &str, def: &TableDef) -> Result<(), TableError> {
    let Some(attribute) = def.ttl_attribute() else {
        return Ok(());
    };
    let current = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| request_error(&format!("DescribeTimeToLive {name}"), e))?;
    let enabled = current
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status())
        .is_some_and(|s| matches!(s, TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling));
    if enabled {
        return Ok(());
    }
    let specification = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
        .build()
        .map_err(definition_error)?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(specification)
        .send()
        .await
        .map_err(|e| request_error(&format!("UpdateTimeToLive {name}"), e))?;
    Ok(())
}
