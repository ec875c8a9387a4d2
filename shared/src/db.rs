//! Table definitions (the one place they are written down), key layout, and DynamoDB helpers.

use std::collections::HashMap;

use aws_sdk_dynamodb::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    operation::transact_write_items::TransactWriteItemsError,
    types::{
        AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
        KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
        builders::KeysAndAttributesBuilder,
    },
};

use crate::config::env;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
/// TTL attribute (epoch seconds) on every table that holds expiring items.
pub const TTL_ATTR: &str = "expires_at";

#[derive(Debug)]
pub struct Gsi {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

#[derive(Debug)]
pub struct TableDef {
    /// Short name: the domain it serves.
    pub id: &'static str,
    /// Environment variable that carries the deployed table name.
    pub env: &'static str,
    pub gsis: &'static [Gsi],
    pub ttl: bool,
}

/// Users (with their revoked tokens), email guards and login-attempt counters (expire by TTL).
pub const USERS: TableDef = TableDef {
    id: "users",
    env: env::USERS_TABLE,
    gsis: &[],
    ttl: true,
};

/// Products and slug guards. Both indexes sort by lower-cased name, so `q` is a `begins_with` on
/// the sort key: the whole catalog (`by_name`) or one category (`by_category`).
pub const PRODUCTS: TableDef = TableDef {
    id: "products",
    env: env::PRODUCTS_TABLE,
    gsis: &[BY_NAME, BY_CATEGORY],
    ttl: false,
};
pub const BY_NAME: Gsi = Gsi {
    name: "by_name",
    pk: "gsi1pk",
    sk: "gsi1sk",
};
pub const BY_CATEGORY: Gsi = Gsi {
    name: "by_category",
    pk: "gsi2pk",
    sk: "gsi2sk",
};

/// Orders, carts and idempotency records (the last expire by TTL after 24 h).
pub const ORDERS: TableDef = TableDef {
    id: "orders",
    env: env::ORDERS_TABLE,
    gsis: &[BY_USER, BY_STATUS],
    ttl: true,
};
/// A customer's orders, newest first (order ids are ULIDs, so they sort by time).
pub const BY_USER: Gsi = Gsi {
    name: "by_user",
    pk: "gsi1pk",
    sk: "gsi1sk",
};
/// Every order in one status, for the admin's fulfilment lists.
pub const BY_STATUS: Gsi = Gsi {
    name: "by_status",
    pk: "gsi2pk",
    sk: "gsi2sk",
};

pub const ALL_TABLES: &[&TableDef] = &[&USERS, &PRODUCTS, &ORDERS];

/// Partition and sort key of every item type, so key formats are written once.
pub mod keys {
    use super::*;

    pub fn key(pk: String, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_string(), AttributeValue::S(pk)),
            (SK.to_string(), AttributeValue::S(sk.to_string())),
        ])
    }

    pub fn user_pk(id: &str) -> String {
        format!("USER#{id}")
    }
    pub const USER_SK: &str = "PROFILE";
    pub fn user(id: &str) -> HashMap<String, AttributeValue> {
        key(user_pk(id), USER_SK)
    }

    /// Guard item that makes an email unique (written in the same transaction as the user).
    pub fn email_pk(email: &str) -> String {
        format!("EMAIL#{email}")
    }
    pub const EMAIL_SK: &str = "EMAIL";
    pub fn email(email: &str) -> HashMap<String, AttributeValue> {
        key(email_pk(email), EMAIL_SK)
    }

    pub fn login_attempts(email: &str) -> HashMap<String, AttributeValue> {
        key(format!("LOGIN#{email}"), "ATTEMPTS")
    }

    pub fn product_pk(id: &str) -> String {
        format!("PRODUCT#{id}")
    }
    pub const PRODUCT_SK: &str = "PRODUCT";
    pub fn product(id: &str) -> HashMap<String, AttributeValue> {
        key(product_pk(id), PRODUCT_SK)
    }
    /// Partition of the `by_name` index: the whole catalog.
    pub const CATALOG: &str = "CATALOG";
    pub fn category_pk(category: &str) -> String {
        format!("CAT#{category}")
    }
    /// Sort key of both product indexes: lower-cased name, then id to break ties.
    pub fn name_sk(name: &str, id: &str) -> String {
        format!("{}#{id}", name.to_lowercase())
    }
    pub fn slug(slug: &str) -> HashMap<String, AttributeValue> {
        key(format!("SLUG#{slug}"), "SLUG")
    }

    pub fn order_pk(id: &str) -> String {
        format!("ORDER#{id}")
    }
    pub const ORDER_SK: &str = "ORDER";
    pub fn order(id: &str) -> HashMap<String, AttributeValue> {
        key(order_pk(id), ORDER_SK)
    }
    pub fn status_pk(status: &str) -> String {
        format!("STATUS#{status}")
    }
    pub fn cart(user_id: &str) -> HashMap<String, AttributeValue> {
        key(format!("CART#{user_id}"), "CART")
    }
    /// Idempotency keys are scoped to the user who sent them.
    pub fn idempotency(user_id: &str, idem_key: &str) -> HashMap<String, AttributeValue> {
        key(format!("IDEMPOTENCY#{user_id}#{idem_key}"), "IDEMPOTENCY")
    }
}

/// One item by key, decoded; `None` when there is none. `consistent` asks for a strongly
/// consistent read (read-your-writes), at twice the read cost.
pub async fn get<T: serde::de::DeserializeOwned>(
    client: &Client,
    table: &str,
    key: Item,
    consistent: bool,
) -> crate::error::ApiResult<Option<T>> {
    let out = client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(consistent)
        .send()
        .await?;
    Ok(out.item.map(serde_dynamo::from_item).transpose()?)
}

/// Point reads across tables in one BatchGetItem round trip (unprocessed keys are retried), so an
/// endpoint's reads and its caller's authentication cost one request, not two.
#[derive(Debug, Default)]
pub struct BatchGet {
    tables: HashMap<String, KeysAndAttributesBuilder>,
}

/// What BatchGetItem allows in one request.
pub const BATCH_GET_MAX_KEYS: usize = 100;

impl BatchGet {
    /// Reads `key` from `table`; `consistent` holds for every key of that table.
    pub fn get(mut self, table: &str, key: Item, consistent: bool) -> Self {
        let entry = self.tables.entry(table.to_string()).or_default();
        *entry = std::mem::take(entry).keys(key).consistent_read(consistent);
        self
    }

    pub async fn send(self, client: &Client) -> crate::error::ApiResult<Fetched> {
        use crate::error::ApiError;
        let keys: usize = self
            .tables
            .values()
            .map(|b| b.get_keys().as_ref().map_or(0, Vec::len))
            .sum();
        if keys > BATCH_GET_MAX_KEYS {
            return Err(ApiError::internal(format!(
                "{keys} keys in one BatchGetItem (at most {BATCH_GET_MAX_KEYS})"
            )));
        }
        let mut pending = HashMap::new();
        for (table, builder) in self.tables {
            pending.insert(table, builder.build().map_err(ApiError::internal)?);
        }
        let mut fetched = Fetched::default();
        for attempt in 0..5 {
            if pending.is_empty() {
                return Ok(fetched);
            }
            if attempt > 0 {
                // Throttled keys come back unprocessed: back off before asking again.
                tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
            }
            let out = client
                .batch_get_item()
                .set_request_items(Some(pending))
                .send()
                .await?;
            for (table, items) in out.responses.unwrap_or_default() {
                fetched.0.entry(table).or_default().extend(items);
            }
            pending = out.unprocessed_keys.unwrap_or_default();
        }
        if pending.is_empty() {
            return Ok(fetched);
        }
        Err(ApiError::Unavailable {
            dependency: "storage",
            source: Some("BatchGetItem left keys unprocessed".into()),
        })
    }
}

/// The items a `BatchGet` found, by table (absent keys simply have no item).
#[derive(Debug, Default)]
pub struct Fetched(HashMap<String, Vec<Item>>);

impl Fetched {
    /// Removes and returns the item of `table` whose key is `key`.
    pub fn take(&mut self, table: &str, key: &Item) -> Option<Item> {
        let items = self.0.get_mut(table)?;
        let at = items
            .iter()
            .position(|i| [PK, SK].iter().all(|k| i.get(*k) == key.get(*k)))?;
        Some(items.swap_remove(at))
    }

    /// `take`, decoded (like `get`).
    pub fn take_as<T: serde::de::DeserializeOwned>(
        &mut self,
        table: &str,
        key: &Item,
    ) -> crate::error::ApiResult<Option<T>> {
        Ok(self
            .take(table, key)
            .map(serde_dynamo::from_item)
            .transpose()?)
    }

    /// Removes and returns every item found in `table`.
    pub fn take_all(&mut self, table: &str) -> Vec<Item> {
        self.0.remove(table).unwrap_or_default()
    }
}

/// A transactional put that fails when an item with this key exists: creating entities and the
/// guard items that keep emails and slugs unique.
pub fn put_new(table: &str, item: Item) -> crate::error::ApiResult<aws_sdk_dynamodb::types::Put> {
    aws_sdk_dynamodb::types::Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .map_err(crate::error::ApiError::internal)
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub type Item = HashMap<String, AttributeValue>;

/// Why one item of a cancelled transaction failed (`code: None` = that item was fine), with the
/// item's current state when the request asked for it.
#[derive(Debug, Clone)]
pub struct Cancellation {
    pub code: Option<String>,
    pub item: Option<Item>,
}

impl Cancellation {
    pub fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some(CONDITIONAL_CHECK_FAILED)
    }
}

/// Why each item of a cancelled transaction failed, in request order.
/// Returns `None` when the error is not a cancellation.
pub fn cancellation_reasons(err: &SdkError<TransactWriteItemsError>) -> Option<Vec<Cancellation>> {
    match err.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(e) => Some(
            e.cancellation_reasons()
                .iter()
                .map(|r| Cancellation {
                    code: r.code().filter(|c| *c != "None").map(str::to_string),
                    item: r.item().cloned(),
                })
                .collect(),
        ),
        _ => None,
    }
}

pub const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailed";

/// A single-item write refused by its condition expression (not a transaction's cancellation).
pub fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}
/// Another transaction touched the same item at the same moment; safe to retry.
pub const TRANSACTION_CONFLICT: &str = "TransactionConflict";

/// Creates a table as defined above (on-demand, TTL on). Succeeds when it already exists.
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

/// Creates every table under the names in `tables`.
pub async fn create_all(client: &Client, tables: &crate::config::Tables) -> Result<(), String> {
    for def in ALL_TABLES {
        create_table(client, table_name(tables, def), def).await?;
    }
    Ok(())
}

pub fn table_name<'a>(tables: &'a crate::config::Tables, def: &TableDef) -> &'a str {
    match def.id {
        "users" => &tables.users,
        "products" => &tables.products,
        _ => &tables.orders,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pk: &str, sk: &str, v: &str) -> Item {
        let mut i = keys::key(pk.to_string(), sk);
        i.insert("v".into(), s(v));
        i
    }

    #[test]
    fn fetched_items_are_found_by_their_whole_key_and_table() {
        let mut f = Fetched(HashMap::from([
            (
                "orders".to_string(),
                vec![item("CART#u", "CART", "cart"), item("CART#u", "OTHER", "x")],
            ),
            (
                "users".to_string(),
                vec![item("CART#u", "CART", "wrong table")],
            ),
        ]));
        let cart = f
            .take("orders", &keys::key("CART#u".into(), "CART"))
            .unwrap();
        assert_eq!(cart["v"], s("cart"));
        // Taken once: a second take finds nothing, the same key in another table is separate.
        assert!(
            f.take("orders", &keys::key("CART#u".into(), "CART"))
                .is_none()
        );
        assert!(
            f.take("products", &keys::key("CART#u".into(), "CART"))
                .is_none()
        );
        assert_eq!(f.take_all("orders").len(), 1);
        assert_eq!(f.take_all("users")[0]["v"], s("wrong table"));
    }
}
