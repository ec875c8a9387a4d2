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

#[derive(Debug)]
pub struct Gsi {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

impl Gsi {
    /// A table's first index. Tables overload the same two index slots, so their attribute names
    /// are written here once.
    pub const fn first(name: &'static str) -> Gsi {
        Gsi {
            name,
            pk: "gsi1pk",
            sk: "gsi1sk",
        }
    }

    /// A table's second index.
    pub const fn second(name: &'static str) -> Gsi {
        Gsi {
            name,
            pk: "gsi2pk",
            sk: "gsi2sk",
        }
    }
}

#[derive(Debug)]
pub struct TableDef {
    /// Short name: the domain it serves.
    pub id: &'static str,
    /// Environment variable that carries the deployed table name.
    pub env: &'static str,
    pub gsis: &'static [Gsi],
    pub ttl: bool,
    /// Streams its changes (new and old images) to the outbox publisher.
    pub stream: bool,
}

/// Creates a table as defined (on-demand, TTL on when it has one). Succeeds when it already exists.
pub async fn create_table(client: &Client, name: &str, def: &TableDef) -> Result<(), String> {
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|e| e.to_string())
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .map_err(|e| e.to_string())
    };
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK)?)
        .attribute_definitions(attr(SK)?)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?);
    for gsi in def.gsis {
        req = req
            .attribute_definitions(attr(gsi.pk)?)
            .attribute_definitions(attr(gsi.sk)?)
            .global_secondary_indexes(
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
                    .map_err(|e| e.to_string())?,
            );
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
    }
    Ok(())
}
