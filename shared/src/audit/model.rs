//! An audit entry and the field-by-field difference it records.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{
    error::{ApiError, ApiResult},
    types::{Timestamp, UserId},
};

/// What an admin did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    ProductImageSet,
    OrderStatusChanged,
    ShippingRatesChanged,
    TaxRatesChanged,
    CustomerDisabled,
    CustomerEnabled,
    PromotionCreated,
    PromotionChanged,
}

/// One changed field: its value before and after (absent: it was not set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// One admin write as the trail keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The entry's key, so the trail sorts by time.
    pub id: ulid::Ulid,
    pub at: Timestamp,
    /// The admin's account.
    pub actor: UserId,
    pub action: Action,
    /// What changed: a product, order or customer id, a discount code, or `shipping` / `tax`.
    pub target: String,
    pub changes: Vec<Change>,
}

/// The actor of the writes the dev tooling makes (sample data, test and benchmark fixtures).
pub fn tooling() -> UserId {
    UserId::from_trusted("tooling")
}

/// Fields every write sets to its own time: the entry's `at` already says when.
const WRITE_TIME: &[&str] = &["updated_at"];

impl Entry {
    /// The entry of `actor`'s `action` on `target` that turned `before` into `after` (`None`:
    /// nothing before, as for a creation, or nothing after, as for a deletion).
    pub fn new<T: Serialize>(
        actor: &UserId,
        action: Action,
        target: impl ToString,
        before: Option<&T>,
        after: Option<&T>,
    ) -> ApiResult<Entry> {
        Ok(Entry {
            id: ulid::Ulid::new(),
            at: Timestamp::now(),
            actor: actor.clone(),
            action,
            target: target.to_string(),
            changes: changes(before, after)?,
        })
    }
}

/// The top-level fields whose values differ between `before` and `after`, in name order; a null
/// is an absent field.
pub fn changes<T: Serialize>(before: Option<&T>, after: Option<&T>) -> ApiResult<Vec<Change>> {
    let (mut old, mut new) = (fields(before)?, fields(after)?);
    let names: BTreeSet<String> = old
        .keys()
        .chain(new.keys())
        .filter(|k| !WRITE_TIME.contains(&k.as_str()))
        .cloned()
        .collect();
    Ok(names
        .into_iter()
        .filter_map(|field| {
            let (before, after) = (old.remove(&field), new.remove(&field));
            (before != after).then_some(Change {
                field,
                before,
                after,
            })
        })
        .collect())
}

fn fields<T: Serialize>(value: Option<&T>) -> ApiResult<Map<String, Value>> {
    let value = value
        .map(serde_json::to_value)
        .transpose()
        .map_err(ApiError::internal)?;
    let mut map = match value {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => Map::from_iter([("value".to_string(), other)]),
    };
    map.retain(|_, v| !v.is_null());
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_fields_that_changed_are_recorded_with_both_values() {
        let before = json!({"name": "Tea", "price_cents": 500, "stock": 3, "updated_at": "a"});
        let after = json!({"name": "Tea", "price_cents": 450, "stock": 3, "updated_at": "b",
                           "image_url": "https://x/y.png"});
        let changed = changes(Some(&before), Some(&after)).unwrap();
        assert_eq!(
            changed,
            [
                Change {
                    field: "image_url".into(),
                    before: None,
                    after: Some(json!("https://x/y.png")),
                },
                Change {
                    field: "price_cents".into(),
                    before: Some(json!(500)),
                    after: Some(json!(450)),
                },
            ]
        );
    }

    #[test]
    fn a_creation_records_every_field_and_a_deletion_every_field_it_had() {
        let product = json!({"name": "Tea", "stock": 3, "description": null});
        let created = changes(None, Some(&product)).unwrap();
        assert_eq!(
            created.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
            ["name", "stock"]
        );
        assert!(created.iter().all(|c| c.before.is_none()));
        let deleted = changes(Some(&product), None).unwrap();
        assert!(
            deleted
                .iter()
                .all(|c| c.after.is_none() && c.before.is_some())
        );
        assert_eq!(deleted.len(), 2);
    }

    #[test]
    fn a_write_that_changes_nothing_records_no_field() {
        let v = json!({"disabled": false});
        assert!(changes(Some(&v), Some(&v)).unwrap().is_empty());
    }

    #[test]
    fn the_entry_names_who_what_and_when() {
        let admin = UserId::new();
        let e = Entry::new(
            &admin,
            Action::CustomerDisabled,
            "01CUSTOMER",
            Some(&json!({"disabled": false})),
            Some(&json!({"disabled": true})),
        )
        .unwrap();
        assert_eq!(e.actor, admin);
        assert_eq!(e.target, "01CUSTOMER");
        assert_eq!(e.changes[0].after, Some(json!(true)));
        let stored = serde_json::to_value(&e).unwrap();
        assert_eq!(stored["action"], "customer_disabled");
        // Kept as the ULID's text, the trail's sort key.
        assert_eq!(stored["id"], e.id.to_string());
        let item: crate::db::Item = serde_dynamo::to_item(&e).unwrap();
        assert_eq!(item["id"].as_s().unwrap().len(), 26);
    }
}
