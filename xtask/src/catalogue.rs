//! `sample-events`: one committed change of each kind, as the tables' streams carry it, through
//! the publisher's own decoding (`shop::events::stream::events_of`); prints each resulting event
//! as EventBridge receives it (`source`, `detail-type`, `detail`). tests/contract checks every one
//! against docs/events/asyncapi.json and that every documented type comes out.

use serde_json::{Value, json};
use shop::events::stream::events_of;

const ORDER: &str = "01JBXAMPLE0000000000000000";
const USER: &str = "01JBUSER000000000000000000";
const PRODUCT: &str = "01JBPRODUCT000000000000000";

/// A domain value in DynamoDB's JSON form, as a stream image holds it.
fn image(v: Value) -> Value {
    let item: serde_dynamo::Item = serde_dynamo::to_item(v).expect("samples are valid items");
    serde_json::to_value(item).expect("an item serialises")
}

fn order(status: &str, payment: &str, reason: Option<&str>) -> Value {
    let mut o = serde_json::to_value(shop::orders::Order::example()).expect("an order serialises");
    for (k, v) in [
        ("pk", json!(format!("ORDER#{ORDER}"))),
        ("sk", json!("ORDER")),
        ("status", json!(status)),
        ("payment_status", json!(payment)),
    ] {
        o[k] = v;
    }
    if let Some(r) = reason {
        o["cancel_reason"] = json!(r);
    }
    if matches!(status, "SHIPPED" | "DELIVERED") {
        o["shipment"] = json!({
            "carrier": "ups", "tracking_number": "1Z999AA10123456784",
            "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            "shipped_at": "2026-12-03T09:30:00.000Z"
        });
    }
    image(o)
}

fn product(stock: i64) -> Value {
    image(json!({
        "pk": format!("PRODUCT#{PRODUCT}"), "sk": "PRODUCT", "id": PRODUCT, "name": "Earl Grey",
        "slug": "earl-grey", "description": "", "price_cents": 1250, "currency": "USD",
        "category": "tea", "stock": stock, "created_at": "2026-12-01T00:00:00.000Z", "updated_at": "2026-12-01T00:00:00.000Z"
    }))
}

fn record(n: usize, name: &str, old: Option<Value>, new: Option<Value>) -> Value {
    let keys_of = |img: &Value| json!({"pk": img["pk"], "sk": img["sk"]});
    let keys = new
        .as_ref()
        .or(old.as_ref())
        .map(keys_of)
        .unwrap_or_default();
    let mut d = json!({"Keys": keys, "SequenceNumber": format!("{n:021}"), "ApproximateCreationDateTime": 1_796_083_200});
    if let Some(o) = old {
        d["OldImage"] = o;
    }
    if let Some(v) = new {
        d["NewImage"] = v;
    }
    json!({"eventID": format!("sample-{n}"), "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": d})
}

/// An order `user` placed, as the orders table's stream carries it (the benchmark's load for the
/// publisher and the email function); `n` makes the record's id.
pub(crate) fn order_placed(n: usize, user: &str) -> Value {
    let mut o = order("PENDING", "unpaid", None);
    o["user_id"] = json!({ "S": user });
    record(n, "INSERT", None, Some(o))
}

/// Order `n` of `user` moving from PENDING to PAID, as the orders table's stream hands it on.
pub(crate) fn order_paid(n: usize, user: &str) -> Value {
    let (mut old, mut new) = (
        order("PENDING", "unpaid", None),
        order("PAID", "paid", None),
    );
    old["user_id"] = json!({ "S": user });
    new["user_id"] = json!({ "S": user });
    record(n, "MODIFY", Some(old), Some(new))
}

/// The changes behind every event type, in the order a shop would see them.
fn changes() -> Vec<Value> {
    let user = image(json!({
        "pk": format!("USER#{USER}"), "sk": "PROFILE", "id": USER, "email": "ada@example.com",
        "name": "Ada", "role": "customer", "password_hash": "$argon2id$...", "created_at": "2026-12-01T00:00:00.000Z", "updated_at": "2026-12-01T00:00:00.000Z"
    }));
    vec![
        record(1, "INSERT", None, Some(user)),
        record(2, "INSERT", None, Some(order("PENDING", "unpaid", None))),
        record(
            3,
            "MODIFY",
            Some(order("PENDING", "unpaid", None)),
            Some(order("PAID", "paid", None)),
        ),
        record(
            4,
            "MODIFY",
            Some(order("PAID", "paid", None)),
            Some(order("SHIPPED", "paid", None)),
        ),
        record(
            5,
            "MODIFY",
            Some(order("SHIPPED", "paid", None)),
            Some(order("DELIVERED", "paid", None)),
        ),
        record(
            6,
            "MODIFY",
            Some(order("PAID", "paid", None)),
            Some(order("CANCELLED", "refunded", Some("admin"))),
        ),
        record(
            7,
            "MODIFY",
            Some(order("PENDING", "unpaid", None)),
            Some(order("CANCELLED", "unpaid", Some("expired"))),
        ),
        record(8, "MODIFY", Some(product(6)), Some(product(4))),
        record(9, "MODIFY", Some(product(4)), Some(product(0))),
        record(13, "INSERT", None, Some(product(6))),
        record(14, "REMOVE", Some(product(4)), None),
        record(
            10,
            "INSERT",
            None,
            Some(image(json!({
                "pk": "RESET#01JBRESET00000000000000000", "sk": "RESET",
                "id": "01JBRESET00000000000000000", "user_id": USER, "expires_at": 1_796_085_000
            }))),
        ),
        record(
            11,
            "INSERT",
            None,
            Some(image(json!({
                "pk": "VERIFY#01JBVERFY00000000000000000", "sk": "VERIFY",
                "id": "01JBVERFY00000000000000000", "user_id": USER, "expires_at": 1_796_688_000
            }))),
        ),
        record(
            12,
            "INSERT",
            None,
            Some(image(json!({
                "pk": format!("ALERT#{USER}#498912"), "sk": "ALERT",
                "user_id": USER, "failures": 100, "expires_at": 1_796_086_800
            }))),
        ),
    ]
}

pub fn sample_events() -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for r in changes() {
        for ev in events_of(&r, 5)? {
            out.push(json!({
                "source": ev.metadata.kind.source(),
                "detail-type": ev.metadata.kind.as_str(),
                "detail": ev,
            }));
        }
    }
    Ok(out)
}
