//! DynamoDB Streams records, as Lambda delivers them, into events: which entity a record is (by
//! its key), its images decoded into domain types, and the events of the change.

use serde::Deserialize;
use serde_dynamo::Item;
use serde_json::Value;

use super::model::{
    Alert, Event, StockLevel, alert_events, link_events, order_events, page_events, product_events,
    user_events,
};
use crate::{
    auth::account::{ACCOUNT_PREFIX, ACCOUNT_SK},
    catalog::{
        model::ProductView,
        store::{PRODUCT_PREFIX, PRODUCT_SK},
    },
    orders::{
        model::Order,
        store::{ORDER_PREFIX, ORDER_SK},
    },
    platform::db::{PK, SK},
    types::Timestamp,
    users::{
        links::{LinkRecord, Purpose},
        model::UserView,
        store::{ALERT_PREFIX, ALERT_SK, RESET_PREFIX, RESET_SK, VERIFY_PREFIX, VERIFY_SK},
    },
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
    Link(Purpose),
    Alert,
}

fn entity(keys: &Item) -> Option<Entity> {
    let (pk, sk) = (key_str(keys, PK)?, key_str(keys, SK)?);
    if pk.starts_with(ORDER_PREFIX) && sk == ORDER_SK {
        Some(Entity::Order)
    } else if pk.starts_with(PRODUCT_PREFIX) && sk == PRODUCT_SK {
        Some(Entity::Product)
    } else if pk.starts_with(ACCOUNT_PREFIX) && sk == ACCOUNT_SK {
        Some(Entity::Account)
    } else if pk.starts_with(RESET_PREFIX) && sk == RESET_SK {
        Some(Entity::Link(Purpose::Reset))
    } else if pk.starts_with(VERIFY_PREFIX) && sk == VERIFY_SK {
        Some(Entity::Link(Purpose::Verify))
    } else if pk.starts_with(ALERT_PREFIX) && sk == ALERT_SK {
        Some(Entity::Alert)
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
        Entity::Product => {
            let old = decode::<ProductView>(&c.old_image)?;
            let new = decode::<ProductView>(&c.new_image)?;
            let level = |p: &Option<ProductView>| p.as_ref().map(StockLevel::from);
            let mut events = product_events(level(&old).as_ref(), level(&new).as_ref(), low_stock);
            events.extend(page_events(old.as_ref(), new.as_ref()));
            events
        }
        Entity::Account => user_events(
            decode::<UserView>(&c.old_image)?.as_ref(),
            decode::<UserView>(&c.new_image)?.as_ref(),
        ),
        Entity::Link(purpose) => link_events(
            purpose,
            decode::<LinkRecord>(&c.old_image)?.as_ref(),
            decode::<LinkRecord>(&c.new_image)?.as_ref(),
        ),
        Entity::Alert => alert_events(
            decode::<Alert>(&c.old_image)?.as_ref(),
            decode::<Alert>(&c.new_image)?.as_ref(),
        ),
    };
    let at = c
        .approximate_creation_date_time
        .filter(|t| t.is_finite() && *t >= 0.0)
        .map(|t| std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(t))
        .unwrap_or_else(std::time::SystemTime::now);
    let at = Timestamp::from(at);
    Ok(drafts
        .into_iter()
        .map(|(kind, data)| Event::new(&record.id, kind, at, data))
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::events::EventType;

    fn order_image(status: &str, payment: &str) -> Value {
        let mut o = serde_json::to_value(crate::orders::Order::example()).unwrap();
        o["status"] = status.into();
        o["payment_status"] = payment.into();
        o["items"][0]["name"] = "Tea".into();
        o["pk"] = "ORDER#01JBXAMPLE0000000000000000".into();
        o["sk"] = "ORDER".into();
        let item: serde_dynamo::Item = serde_dynamo::to_item(o).unwrap();
        serde_json::to_value(item).unwrap()
    }

    fn record(id: &str, name: &str, keys: Value, old: Option<Value>, new: Option<Value>) -> Value {
        let mut d = json!({"Keys": keys, "SequenceNumber": "100", "ApproximateCreationDateTime": 1_795_996_800});
        if let Some(o) = old {
            d["OldImage"] = o;
        }
        if let Some(n) = new {
            d["NewImage"] = n;
        }
        json!({"eventID": id, "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": d})
    }

    fn order_keys() -> Value {
        json!({"pk": {"S": "ORDER#01JBXAMPLE0000000000000000"}, "sk": {"S": "ORDER"}})
    }

    fn kinds(r: &Value) -> Vec<EventType> {
        events_of(r, 5)
            .unwrap()
            .into_iter()
            .map(|e| e.metadata.kind)
            .collect()
    }

    #[test]
    fn an_order_insert_is_placed_and_a_status_modify_moves_it() {
        let placed = record(
            "a",
            "INSERT",
            order_keys(),
            None,
            Some(order_image("PENDING", "unpaid")),
        );
        let ev = events_of(&placed, 5).unwrap();
        assert_eq!(ev[0].metadata.kind, EventType::OrderPlaced);
        assert_eq!(
            ev[0].metadata.occurred_at.to_string(),
            "2026-11-30T00:00:00.000Z"
        );
        let data = serde_json::to_value(&ev[0].data).unwrap();
        assert_eq!(data["items"][0]["name"], "Tea");
        let paid = record(
            "b",
            "MODIFY",
            order_keys(),
            Some(order_image("PENDING", "unpaid")),
            Some(order_image("PAID", "paid")),
        );
        assert_eq!(kinds(&paid), [EventType::OrderPaid]);
    }

    #[test]
    fn the_same_record_gives_the_same_event_ids() {
        let r = record(
            "same",
            "INSERT",
            order_keys(),
            None,
            Some(order_image("PENDING", "unpaid")),
        );
        assert_eq!(
            events_of(&r, 5).unwrap()[0].metadata.id,
            events_of(&r, 5).unwrap()[0].metadata.id
        );
    }

    #[test]
    fn carts_idempotency_records_counters_and_guards_are_no_event() {
        for (pk, sk) in [
            ("CART#01JBUSER000000000000000000", "CART"),
            ("IDEMPOTENCY#01JBUSER000000000000000000#k", "IDEMPOTENCY"),
            ("UNPAID#01JBUSER000000000000000000", "UNPAID"),
            ("STRIPE_EVENT#evt_1", "STRIPE_EVENT"),
            ("EMAIL#a@b.test", "EMAIL"),
            ("SLUG#tea", "SLUG"),
        ] {
            let keys = json!({"pk": {"S": pk}, "sk": {"S": sk}});
            let r = record(
                "c",
                "INSERT",
                keys.clone(),
                None,
                Some(json!({"pk": {"S": pk}, "sk": {"S": sk}, "x": {"M": {}}})),
            );
            assert!(kinds(&r).is_empty(), "{pk}");
        }
    }

    #[test]
    fn stock_records_cross_the_threshold_and_accounts_register() {
        let keys =
            json!({"pk": {"S": "PRODUCT#01JBPRODUCT000000000000000"}, "sk": {"S": "PRODUCT"}});
        let img = |stock: i64| {
            json!({"id": {"S": "01JBPRODUCT000000000000000"}, "name": {"S": "Tea"}, "stock": {"N": stock.to_string()}, "price_cents": {"N": "100"},
            "slug": {"S": "tea"}, "description": {"S": ""}, "currency": {"S": "USD"}, "category": {"S": "tea"},
            "created_at": {"S": "2026-12-01T00:00:00Z"}, "updated_at": {"S": "2026-12-01T00:00:00Z"}})
        };
        assert_eq!(
            kinds(&record(
                "p",
                "MODIFY",
                keys.clone(),
                Some(img(6)),
                Some(img(3))
            )),
            [EventType::ProductLowStock]
        );
        // Selling out also changes what the product's page says.
        assert_eq!(
            kinds(&record(
                "p",
                "MODIFY",
                keys.clone(),
                Some(img(1)),
                Some(img(0))
            )),
            [EventType::ProductOutOfStock, EventType::ProductUpdated]
        );
        assert_eq!(
            kinds(&record("p", "INSERT", keys.clone(), None, Some(img(4)))),
            [EventType::ProductCreated]
        );
        assert_eq!(
            kinds(&record("p", "REMOVE", keys, Some(img(4)), None)),
            [EventType::ProductDeleted]
        );
        let keys = json!({"pk": {"S": "USER#01JBUSER000000000000000000"}, "sk": {"S": "PROFILE"}});
        // DynamoDB Local writes an empty map attribute (no sessions yet) as `{}`.
        let user = json!({"id": {"S": "01JBUSER000000000000000000"}, "email": {"S": "a@b.test"}, "name": {"S": "Ada"},
            "role": {"S": "customer"}, "sessions": {}, "password_hash": {"S": "x"},
            "created_at": {"S": "2026-11-30T00:00:00.000Z"}, "updated_at": {"S": "2026-11-30T00:00:00.000Z"}});
        let ev = events_of(&record("u", "INSERT", keys, None, Some(user)), 5).unwrap();
        assert_eq!(ev[0].metadata.kind, EventType::UserRegistered);
        let data = serde_json::to_value(&ev[0].data).unwrap();
        assert_eq!(data["email"], "a@b.test");
        assert!(data.get("password_hash").is_none());
    }

    #[test]
    fn an_entity_that_does_not_decode_is_an_error_not_silence() {
        let mut broken = order_image("PENDING", "unpaid");
        broken["status"] = json!({"S": "MISLAID"});
        let r = record("x", "INSERT", order_keys(), None, Some(broken));
        assert!(events_of(&r, 5).unwrap_err().contains("does not decode"));
        assert!(events_of(&json!({"eventID": 1}), 5).is_err());
        assert_eq!(sequence_number(&r), Some("100"));
    }
}
