//! What a table looks like (keys, indexes, TTL), so the dev tools and tests create exactly the tables
//! template.yaml and terraform/ describe.

use aws_sdk_dynamodb::{
    Client,
    error::ProvideErrorMetadata,
    types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
        Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
        TimeToLiveSpecification,
    },
};

use super::{PK, SK, TTL_ATTR};
use crate::platform::config::TableId;

/// The two index slots' key attributes: tables overload the same two slots.
const SLOTS: [(&str, &str); 2] = [("gsi1pk", "gsi1sk"), ("gsi2pk", "gsi2sk")];

/// Every attribute that only places an item in its table or an index (no model reads one).
pub const KEY_ATTRIBUTES: [&str; 6] = [PK, SK, SLOTS[0].0, SLOTS[0].1, SLOTS[1].0, SLOTS[1].1];

#[derive(Debug)]
pub struct Gsi {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

impl Gsi {
    /// A table's first index.
    pub const fn first(name: &'static str) -> Gsi {
        Gsi {
            name,
            pk: SLOTS[0].0,
            sk: SLOTS[0].1,
        }
    }

    /// A table's second index.
    pub const fn second(name: &'static str) -> Gsi {
        Gsi {
            name,
            pk: SLOTS[1].0,
            sk: SLOTS[1].1,
        }
    }
}

#[derive(Debug)]
pub struct TableDef {
    /// Which table: the domain it serves.
    pub id: TableId,
    /// Environment variable that carries the deployed table name.
    pub env: &'static str,
    pub gsis: &'static [Gsi],
    pub ttl: bool,
    /// Streams its changes (new and old images) to the outbox publisher.
    pub stream: bool,
}

/// Creates a table as defined (on-demand, TTL on when it has one). Succeeds when it already exists.
pub async fn create_table(client: &Client, name: &str, def: &TableDef) -> Result<(), String> {
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(string_attr(PK)?)
        .attribute_definitions(string_attr(SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?);
    for gsi in def.gsis {
        req = req
            .attribute_definitions(string_attr(gsi.pk)?)
            .attribute_definitions(string_attr(gsi.sk)?)
            .global_secondary_indexes(index(gsi)?);
    }
    if def.stream {
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| e.to_string())?,
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) if e.code() == Some("ResourceInUseException") => return Ok(()),
        Err(e) => {
            return Err(format!(
                "create table {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            ));
        }
    }
    if def.ttl {
        enable_ttl(client, name).await?;
    }
    Ok(())
}

fn string_attr(name: &str) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())
}

fn key(name: &str, t: KeyType) -> Result<KeySchemaElement, String> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .map_err(|e| e.to_string())
}

/// An index projecting every attribute.
fn index(gsi: &Gsi) -> Result<GlobalSecondaryIndex, String> {
    GlobalSecondaryIndex::builder()
        .index_name(gsi.name)
        .key_schema(key(gsi.pk, KeyType::Hash)?)
        .key_schema(key(gsi.sk, KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(|e| e.to_string())
}

async fn enable_ttl(client: &Client, name: &str) -> Result<(), String> {
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTR)
                .enabled(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| {
            format!(
                "enable TTL on {name}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })?;
    Ok(())
}
