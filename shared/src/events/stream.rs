//! DynamoDB Streams records, as Lambda delivers them, into events: which entity a record is (by
//! its key), its images decoded into domain types, and the events of the change.

use serde::Deserialize;
use serde_dynamo::Item;
use serde_json::Value;

use super::model::{Event, StockLevel, order_events, product_events, user_events};
use crate::{
    auth::principal::{ACCOUNT_PREFIX, ACCOUNT_SK},
    catalog::store::{PRODUCT_PREFIX, PRODUCT_SK},
    orders::{
        model::Order,
        store::{ORDER_PREFIX, ORDER_SK},
    },
    platform::db::{PK, SK},
    users::model::UserView,
};

/// A stream batch: records are decoded one by one, so one bad record fails alone.
#[derive(Debug, Deserialize)]
pub struct StreamBatch {
    #[serde(rename = "Records", default)]
    pub records: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Record {
    #[serde(rename = "eventID")]
    pub id: String,
    pub dynamodb: Change,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    pub keys: Item,
    #[serde(default)]
    pub new_image: Option<Item>,
    #[serde(default)]
    pub old_image: Option<Item>,
    pub sequence_number: String,
    /// Epoch seconds.
    #[serde(default)]
    pub approximate_creation_date_time: Option<f64>,
}

/// A record's sequence number, read without decoding the rest (for reporting a record that does
/// not decode).
pub fn sequence_number(raw: &Value) -> Option<&str> {
    raw.get("dynamodb")?.get("SequenceNumber")?.as_str()
}

/// DynamoDB Local writes an empty map attribute as `{}` in stream images (DynamoDB writes
/// `{"M": {}}`); read both.
fn empty_maps(v: &mut Value) {
    let Value::Object(o) = v else { return };
    if o.is_empty() {
        o.insert("M".into(), Value::Object(Default::default()));
    } else if let Some(Value::Object(m)) = o.get_mut("M") {
        m.values_mut().for_each(empty_maps);
    } else if let Some(Value::Array(l)) = o.get_mut("L") {
        l.iter_mut().for_each(empty_maps);
    }
}

fn key_str<'a>(keys: &'a Item, attr: &str) -> Option<&'a str> {
    match keys.get(attr)? {
        serde_dynamo::AttributeValue::S(s) => Some(s),
        _ => None,
    }
}

enum Entity {
    Order,
    Product,
    Account,
}

fn entity(keys: &Item) -> Option<Entity> {
    let (pk, sk) = (key_str(keys, PK)?, key_str(keys, SK)?);
    if pk.starts_with(ORDER_PREFIX) && sk == ORDER_SK {
        Some(Entity::Order)
    } else if pk.starts_with(PRODUCT_PREFIX) && sk == PRODUCT_SK {
        Some(Entity::Product)
    } else if pk.starts_with(ACCOUNT_PREFIX) && sk == ACCOUNT_SK {
        Some(Entity::Account)
    } else {
        None
    }
}

fn decode<T: serde::de::DeserializeOwned>(image: &Option<Item>) -> Result<Option<T>, String> {
    image
        .clone()
        .map(serde_dynamo::from_item)
        .transpose()
        .map_err(|e| format!("image does not decode: {e}"))
}

/// The events of one raw record. Records of items that are no entity (carts, idempotency records,
/// counters, guards) are no event; a record of an entity whose image does not decode is an error.
pub fn events_of(raw: &Value, low_stock: i64) -> Result<Vec<Event>, String> {
    let mut raw = raw.clone();
    for image in ["NewImage", "OldImage", "Keys"] {
        if let Some(Value::Object(attrs)) = raw.get_mut("dynamodb").and_then(|d| d.get_mut(image)) {
            attrs.values_mut().for_each(empty_maps);
        }
    }
    let record: Record =
        serde_json::from_value(raw).map_err(|e| format!("not a stream record: {e}"))?;
    let c = &record.dynamodb;
    let Some(entity) = entity(&c.keys) else {
        return Ok(Vec::new());
    };
    let drafts = match entity {
        Entity::Order => order_events(
            decode::<Order>(&c.old_image)?.as_ref(),
            decode::<Order>(&c.new_image)?.as_ref(),
        ),
        Entity::Product => product_events(
            decode::<StockLevel>(&c.old_image)?.as_ref(),
            decode::<StockLevel>(&c.new_image)?.as_ref(),
            low_stock,
        ),
        Entity::Account => user_events(
            decode::<UserView>(&c.old_image)?.as_ref(),
            decode::<UserView>(&c.new_image)?.as_ref(),
        ),
    };
    let at = c
        .approximate_creation_date_time
        .filter(|t| t.is_finite() && *t >= 0.0)
        .map(|t| std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(t))
        .unwrap_or_else(std::time::SystemTime::now);
    let at = humantime::format_rfc3339_millis(at).to_string();
    Ok(drafts
        .into_iter()
        .map(|(kind, data)| Event::new(&record.id, kind, &at, data))
        .collect())
}
