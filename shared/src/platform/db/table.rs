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

/// The partition key of a table's third index, whose sort key is a number attribute of the item
/// itself (so the item's own writes keep it exact).
const THIRD_PK: &str = "gsi3pk";

/// Every attribute that only places an item in its table or an index (no model reads one).
pub const KEY_ATTRIBUTES: [&str; 7] = [
    PK, SK, SLOTS[0].0, SLOTS[0].1, SLOTS[1].0, SLOTS[1].1, THIRD_PK,
];

#[derive(Debug)]
pub struct Gsi {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
    /// The sort key is a number (an attribute the model reads, such as a stock level).
    pub sk_number: bool,
}

impl Gsi {
    /// A table's first index.
    pub const fn first(name: &'static str) -> Gsi {
        Gsi {
            name,
            pk: SLOTS[0].0,
            sk: SLOTS[0].1,
            sk_number: false,
        }
    }

    /// A table's second index.
    pub const fn second(name: &'static str) -> Gsi {
        Gsi {
            name,
            pk: SLOTS[1].0,
            sk: SLOTS[1].1,
            sk_number: false,
        }
    }

    /// A table's third index, sorted by the item's own string attribute `sk`.
    pub const fn third(name: &'static str, sk: &'static str) -> Gsi {
        Gsi {
            name,
            pk: THIRD_PK,
            sk,
            sk_number: false,
        }
    }

    /// A table's third index, sorted by the item's number attribute `sk`.
    pub const fn third_by_number(name: &'static str, sk: &'static str) -> Gsi {
        Gsi {
            name,
            pk: THIRD_PK,
            sk,
            sk_number: true,
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
            .attribute_definitions(sort_attr(gsi)?)
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
        Err(e) if e.code() == Some("ResourceInUseException") => {
            return add_missing_indexes(client, name, def).await;
        }
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

fn sort_attr(gsi: &Gsi) -> Result<AttributeDefinition, String> {
    let kind = if gsi.sk_number {
        ScalarAttributeType::N
    } else {
        ScalarAttributeType::S
    };
    AttributeDefinition::builder()
        .attribute_name(gsi.sk)
        .attribute_type(kind)
        .build()
        .map_err(|e| e.to_string())
}

/// A table made before an index was added to its definition (a developer's `.local` data) gets
/// it now, one index per update as DynamoDB requires; the items are indexed as it builds.
async fn add_missing_indexes(client: &Client, name: &str, def: &TableDef) -> Result<(), String> {
    let fail = |e: String| format!("add indexes to {name}: {e}");
    let described = client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| fail(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    let has: Vec<String> = described
        .table()
        .map(|t| t.global_secondary_indexes().iter())
        .into_iter()
        .flatten()
        .filter_map(|g| g.index_name().map(str::to_string))
        .collect();
    for gsi in def.gsis.iter().filter(|g| !has.iter().any(|h| h == g.name)) {
        // The index exactly as a new table gets it.
        let shape = index(gsi)?;
        let create = aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
            .index_name(gsi.name)
            .set_key_schema(Some(shape.key_schema))
            .set_projection(shape.projection)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        // A table (or index) still being built refuses the change: wait for it, up to 10 s.
        let mut attempt = 0;
        loop {
            let sent = client
                .update_table()
                .table_name(name)
                .attribute_definitions(string_attr(gsi.pk)?)
                .attribute_definitions(sort_attr(gsi)?)
                .global_secondary_index_updates(
                    aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                        .create(create.clone())
                        .build(),
                )
                .send()
                .await;
            match sent {
                Ok(_) => break,
                // Busy, or slow to answer (the change may have been made): look, then try again.
                Err(_) if attempt < 40 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    if has_index(client, name, gsi.name).await {
                        break;
                    }
                }
                Err(e) => {
                    return Err(fail(
                        aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whether table `name` has (or is building) index `index`.
async fn has_index(client: &Client, name: &str, index: &str) -> bool {
    client
        .describe_table()
        .table_name(name)
        .send()
        .await
        .ok()
        .and_then(|d| d.table)
        .is_some_and(|t| {
            t.global_secondary_indexes()
                .iter()
                .any(|g| g.index_name() == Some(index))
        })
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
