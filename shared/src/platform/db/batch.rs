//! Point reads across tables in one round trip.

use std::collections::HashMap;

use aws_sdk_dynamodb::{Client, types::builders::KeysAndAttributesBuilder};

use super::{Item, PK, SK};
use crate::error::{ApiError, ApiResult};

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

    pub async fn send(self, client: &Client) -> ApiResult<Fetched> {
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
    ) -> ApiResult<Option<T>> {
        self.take(table, key).map(super::decode).transpose()
    }

    /// Removes and returns every item found in `table`.
    pub fn take_all(&mut self, table: &str) -> Vec<Item> {
        self.0.remove(table).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pk: &str, sk: &str, v: &str) -> Item {
        let mut i = super::super::key(pk.to_string(), sk);
        i.insert("v".into(), super::super::s(v));
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
            .take("orders", &super::super::key("CART#u".into(), "CART"))
            .unwrap();
        assert_eq!(cart["v"], super::super::s("cart"));
        // Taken once: a second take finds nothing, the same key in another table is separate.
        assert!(
            f.take("orders", &super::super::key("CART#u".into(), "CART"))
                .is_none()
        );
        assert!(
            f.take("products", &super::super::key("CART#u".into(), "CART"))
                .is_none()
        );
        assert_eq!(f.take_all("orders").len(), 1);
        assert_eq!(f.take_all("users")[0]["v"], super::super::s("wrong table"));
    }
}
