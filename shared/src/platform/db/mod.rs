//! DynamoDB helpers every domain store uses: item and key building, point reads, batches
//! ([`BatchGet`]), transactions with named items ([`Tx`]), update expressions ([`UpdateExpr`]),
//! paged queries ([`query_page`]) and the table definitions the dev tools create.
//! Knows nothing of users, products or orders: each domain's store defines its own keys.

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    types::AttributeValue,
};

use crate::error::{ApiError, ApiResult};

mod batch;
mod cursor;
mod de;
mod query;
mod table;
mod tx;
mod update;

pub use batch::{BATCH_GET_MAX_KEYS, BatchGet, Fetched};
pub use cursor::{CursorKey, DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest};
pub use query::{PageQuery, decode, decode_all, query_all, query_page};
pub use table::{Gsi, KEY_ATTRIBUTES, TableDef, create_table};
pub use tx::{Cancellation, Reasons, Tx, TxError};
pub use update::UpdateExpr;

pub type Item = HashMap<String, AttributeValue>;

/// Partition and sort key attributes of every table.
pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// TTL attribute (epoch seconds) on every table that holds expiring items.
pub const TTL_ATTR: &str = "expires_at";

pub const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailed";
/// Another transaction touched the same item at the same moment; safe to retry.
pub const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// The primary key `{pk, sk}`.
pub fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// The primary key `{pk, sk}` of an item (attributes it lacks are left out).
pub fn key_of(item: &Item) -> Item {
    [PK, SK]
        .iter()
        .filter_map(|k| Some((k.to_string(), item.get(*k)?.clone())))
        .collect()
}

/// Condition: the item exists (written once, so the key attribute's name is too).
pub fn exists() -> String {
    format!("attribute_exists({PK})")
}

/// Condition: no item has this key yet.
pub fn not_exists() -> String {
    format!("attribute_not_exists({PK})")
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A number attribute of `item`, when it is one.
pub fn num<T: std::str::FromStr>(item: &Item, attr: &str) -> Option<T> {
    item.get(attr)?.as_n().ok()?.parse().ok()
}

/// A string attribute of `item`, when it is one.
pub fn str_attr<'a>(item: &'a Item, attr: &str) -> Option<&'a str> {
    item.get(attr)?.as_s().ok().map(String::as_str)
}

/// How fresh a read must be: `Strong` sees every write acknowledged before it (read-your-writes)
/// at twice the read cost; `Eventual` may lag by a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    Strong,
    Eventual,
}

impl Consistency {
    pub fn is_strong(self) -> bool {
        self == Consistency::Strong
    }
}

/// One item by key, decoded; `None` when there is none. `consistent` asks for a strongly
/// consistent read (read-your-writes), at twice the read cost.
pub async fn get<T: serde::de::DeserializeOwned>(
    client: &Client,
    table: &str,
    key: Item,
    consistent: bool,
) -> ApiResult<Option<T>> {
    get_item(client, table, key, consistent)
        .await?
        .map(decode)
        .transpose()
}

/// One raw item by key.
pub async fn get_item(
    client: &Client,
    table: &str,
    key: Item,
    consistent: bool,
) -> ApiResult<Option<Item>> {
    Ok(client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(consistent)
        .send()
        .await?
        .item)
}

/// A transactional put that fails when an item with this key exists: creating entities and the
/// guard items that keep emails and slugs unique.
pub fn put_new(table: &str, item: Item) -> ApiResult<aws_sdk_dynamodb::types::Put> {
    built(
        aws_sdk_dynamodb::types::Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(not_exists())
            .build(),
    )
}

/// An SDK builder's result: a missing required field is our bug (500), never the client's.
pub fn built<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> ApiResult<T> {
    r.map_err(ApiError::internal)
}

/// A single-item write refused by its condition expression (not a transaction's cancellation).
pub fn is_condition_failure<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// The outcome of a conditional single-item write: `false` when its condition failed, an error for
/// any other failure.
pub fn applied<T, E>(result: Result<T, E>) -> ApiResult<bool>
where
    E: ProvideErrorMetadata + Into<ApiError>,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Writes `item`, replacing any item with its key.
pub async fn put(client: &Client, table: &str, item: Item) -> ApiResult<()> {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await?;
    Ok(())
}

/// Deletes the item with this key (nothing happens when there is none).
pub async fn delete(client: &Client, table: &str, key: Item) -> ApiResult<()> {
    client
        .delete_item()
        .table_name(table)
        .set_key(Some(key))
        .send()
        .await?;
    Ok(())
}

/// Transport failures, timeouts and throttling are a dependency outage (503); anything else from the
/// SDK is unexpected (500). Conditional-check failures are handled by the callers before this.
impl<E, R> From<SdkError<E, R>> for ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        let outage = match &err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => true,
            SdkError::ServiceError(e) => matches!(
                e.err().code(),
                Some(
                    "ProvisionedThroughputExceededException"
                        | "ThrottlingException"
                        | "RequestLimitExceeded"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "SlowDown"
                )
            ),
            SdkError::ResponseError(_) => true,
            _ => false,
        };
        let source = aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string();
        if outage {
            ApiError::Unavailable {
                dependency: "storage",
                source: Some(source.into()),
            }
        } else {
            ApiError::Internal(source.into())
        }
    }
}

impl From<serde_dynamo::Error> for ApiError {
    fn from(e: serde_dynamo::Error) -> Self {
        ApiError::internal(e)
    }
}
