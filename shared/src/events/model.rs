//! What leaves the shop when a change commits: the event catalogue (types, versions, ids) and the
//! rules that turn one stored change (the item before and after it) into events. Pure: no HTTP,
//! no AWS. The contract each type follows is `events/catalogue.json`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{
    orders::model::{CancelReason, Order, OrderStatus, PaymentStatus},
    platform::metrics::Metric,
    types::{ProductId, Timestamp, UserId},
    users::{
        links::{LinkRecord, Purpose},
        model::UserView,
    },
};

pub const EVENTS_PUBLISHED: Metric = Metric("EventsPublished");
pub const EMAILS_SENT: Metric = Metric("EmailsSent");

/// Every event type the publisher emits; EventBridge's `detail-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    OrderPlaced,
    OrderPaid,
    OrderShipped,
    OrderDelivered,
    OrderCancelled,
    OrderRefunded,
    ProductLowStock,
    ProductOutOfStock,
    UserRegistered,
    PasswordResetRequested,
    EmailVerificationRequested,
    AccountUnderAttack,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::OrderPlaced,
        EventType::OrderPaid,
        EventType::OrderShipped,
        EventType::OrderDelivered,
        EventType::OrderCancelled,
        EventType::OrderRefunded,
        EventType::ProductLowStock,
        EventType::ProductOutOfStock,
        EventType::UserRegistered,
        EventType::PasswordResetRequested,
        EventType::EmailVerificationRequested,
        EventType::AccountUnderAttack,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderPlaced => "OrderPlaced",
            EventType::OrderPaid => "OrderPaid",
            EventType::OrderShipped => "OrderShipped",
            EventType::OrderDelivered => "OrderDelivered",
            EventType::OrderCancelled => "OrderCancelled",
            EventType::OrderRefunded => "OrderRefunded",
            EventType::ProductLowStock => "ProductLowStock",
            EventType::ProductOutOfStock => "ProductOutOfStock",
            EventType::UserRegistered => "UserRegistered",
            EventType::PasswordResetRequested => "PasswordResetRequested",
            EventType::EmailVerificationRequested => "EmailVerificationRequested",
            EventType::AccountUnderAttack => "AccountUnderAttack",
        }
    }

    pub fn parse(raw: &str) -> Option<EventType> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }

    /// EventBridge's `source`: the domain that owns the change.
    pub fn source(self) -> &'static str {
        match self {
            EventType::ProductLowStock | EventType::ProductOutOfStock => "shop.catalog",
            EventType::UserRegistered
            | EventType::PasswordResetRequested
            | EventType::EmailVerificationRequested
            | EventType::AccountUnderAttack => "shop.users",
            _ => "shop.orders",
        }
    }

    /// The version of this type's `data`; raised only on a change a consumer could trip over.
    pub fn version(self) -> u32 {
        1
    }
}

/// One published event: EventBridge's `detail`. `metadata.id` is the same on every redelivery of
/// the change it comes from, so consumers deduplicate on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub metadata: Metadata,
    pub data: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub version: u32,
    /// When the change committed (the stream record's time).
    pub occurred_at: Timestamp,
}

impl Event {
    /// The event of kind `kind` from the change `change_id` (a stream record's id, the same on
    /// every redelivery). One change can yield several kinds, so the kind is part of the id.
    pub fn new(change_id: &str, kind: EventType, occurred_at: Timestamp, data: Value) -> Event {
        let digest = Sha256::digest(format!("{change_id}/{}", kind.as_str()));
        let id: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Event {
            metadata: Metadata {
                id,
                kind,
                version: kind.version(),
                occurred_at,
            },
            data,
        }
    }
}

/// What an order event carries: enough for an email or a projection without reading the order.
fn order_data(o: &Order) -> Value {
    json!({
        "order_id": o.id,
        "user_id": o.user_id,
        "status": o.status,
        "payment_status": o.payment_status,
        "items": o.items,
        "total_cents": o.total_cents,
        "currency": o.currency,
        "created_at": o.created_at,
    })
}

/// The events of one change to an order item. A write that moves nothing a customer would notice
/// (a payment attempt recorded, the same status rewritten) is no event.
pub fn order_events(old: Option<&Order>, new: Option<&Order>) -> Vec<(EventType, Value)> {
    let Some(new) = new else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match old {
        None => out.push((EventType::OrderPlaced, order_data(new))),
        Some(old) if old.status != new.status => {
            let kind = match new.status {
                OrderStatus::Pending => None,
                OrderStatus::Paid => Some(EventType::OrderPaid),
                OrderStatus::Shipped => Some(EventType::OrderShipped),
                OrderStatus::Delivered => Some(EventType::OrderDelivered),
                OrderStatus::Cancelled => Some(EventType::OrderCancelled),
            };
            if let Some(kind) = kind {
                let mut data = order_data(new);
                if kind == EventType::OrderCancelled {
                    // Orders cancelled before reasons were recorded could only be cancelled by
                    // an admin or their shopper; `null` says "not recorded".
                    data["reason"] = json!(new.cancel_reason.map(CancelReason::as_str));
                }
                out.push((kind, data));
            }
        }
        Some(_) => {}
    }
    let was_refunded = old.is_some_and(|o| o.payment_status == PaymentStatus::Refunded);
    if new.payment_status == PaymentStatus::Refunded && !was_refunded {
        out.push((EventType::OrderRefunded, order_data(new)));
    }
    out
}

/// The part of a product item the stock events read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StockLevel {
    pub id: ProductId,
    pub name: String,
    pub stock: i64,
}

/// The events of one change to a product item: stock crossing below `threshold` (still some
/// left), or reaching zero. Restocking, or a change that leaves the stock where it was, is none.
pub fn product_events(
    old: Option<&StockLevel>,
    new: Option<&StockLevel>,
    threshold: i64,
) -> Vec<(EventType, Value)> {
    let (Some(old), Some(new)) = (old, new) else {
        return Vec::new();
    };
    let data = || json!({"product_id": new.id, "name": new.name, "stock": new.stock, "threshold": threshold});
    let mut out = Vec::new();
    if old.stock > 0 && new.stock <= 0 {
        out.push((EventType::ProductOutOfStock, data()));
    } else if old.stock >= threshold && new.stock < threshold && new.stock > 0 {
        out.push((EventType::ProductLowStock, data()));
    }
    out
}

/// The events of one change to an account item: a new account.
pub fn user_events(old: Option<&UserView>, new: Option<&UserView>) -> Vec<(EventType, Value)> {
    match (old, new) {
        (None, Some(u)) => vec![(
            EventType::UserRegistered,
            json!({"user_id": u.id, "email": u.email, "name": u.name}),
        )],
        _ => Vec::new(),
    }
}

/// The events of one change to an emailed-link request: a new one for an account (a reset
/// asked for an address no account has is stored too, so both cost the same, but is no event).
pub fn link_events(
    purpose: Purpose,
    old: Option<&LinkRecord>,
    new: Option<&LinkRecord>,
) -> Vec<(EventType, Value)> {
    let (
        None,
        Some(LinkRecord {
            id,
            user_id: Some(user),
            expires_at,
            ..
        }),
    ) = (old, new)
    else {
        return Vec::new();
    };
    vec![match purpose {
        Purpose::Reset => (
            EventType::PasswordResetRequested,
            json!({"user_id": user, "reset_id": id, "expires_at": expires_at}),
        ),
        Purpose::Verify => (
            EventType::EmailVerificationRequested,
            json!({"user_id": user, "verification_id": id, "expires_at": expires_at}),
        ),
    }]
}

/// The part of an alert record an event carries.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Alert {
    pub user_id: UserId,
    pub failures: u64,
}

/// The events of one change to an alert record: a new one.
pub fn alert_events(old: Option<&Alert>, new: Option<&Alert>) -> Vec<(EventType, Value)> {
    match (old, new) {
        (None, Some(a)) => vec![(
            EventType::AccountUnderAttack,
            json!({"user_id": a.user_id, "failures": a.failures}),
        )],
        _ => Vec::new(),
    }
}

/// The customer an event is about (its `data.user_id`; events are the shop's own).
pub fn customer_of(event: &Event) -> Option<UserId> {
    let raw = event.data.get("user_id")?.as_str()?;
    Some(UserId::from_trusted(raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::OrderId;
    use crate::{
        orders::model::OrderLine,
        types::{Cents, Quantity},
    };

    fn order(status: OrderStatus, payment: PaymentStatus) -> Order {
        Order {
            id: OrderId::from_trusted("01JBXAMPLE0000000000000000"),
            user_id: UserId::from_trusted("01JBUSER000000000000000000"),
            status,
            payment_status: payment,
            expires_at: None,
            payment_intent_id: None,
            payment_error: None,
            payment_attempts: 0,
            payment_intents: Vec::new(),
            payment_open: false,
            cancel_reason: None,
            items: vec![OrderLine {
                product_id: ProductId::from_trusted("p1"),
                name: "Tea".into(),
                unit_price_cents: Cents::price("p", 1250).unwrap(),
                quantity: Quantity::parse("q", 2).unwrap(),
            }],
            total_cents: Cents::price("p", 2500).unwrap(),
            currency: "EUR".into(),
            created_at: Timestamp::parse("2026-12-01T00:00:00Z").unwrap(),
            updated_at: Timestamp::parse("2026-12-01T00:00:00Z").unwrap(),
        }
    }

    fn kinds(v: Vec<(EventType, Value)>) -> Vec<EventType> {
        v.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn a_new_order_is_placed_with_its_items_and_total() {
        let o = order(OrderStatus::Pending, PaymentStatus::Unpaid);
        let ev = order_events(None, Some(&o));
        assert_eq!(kinds(ev.clone()), [EventType::OrderPlaced]);
        assert_eq!(ev[0].1["total_cents"], 2500);
        assert_eq!(ev[0].1["items"][0]["quantity"], 2);
    }

    #[test]
    fn each_status_move_is_its_own_event() {
        use OrderStatus::*;
        let p = PaymentStatus::Paid;
        for (from, to, kind) in [
            (Pending, Paid, EventType::OrderPaid),
            (Paid, Shipped, EventType::OrderShipped),
            (Shipped, Delivered, EventType::OrderDelivered),
        ] {
            let ev = order_events(Some(&order(from, p)), Some(&order(to, p)));
            assert_eq!(kinds(ev), [kind]);
        }
    }

    #[test]
    fn a_cancellation_says_why_and_a_refund_follows_a_paid_one() {
        let mut c = order(OrderStatus::Cancelled, PaymentStatus::Unpaid);
        c.cancel_reason = Some(CancelReason::Expired);
        let ev = order_events(
            Some(&order(OrderStatus::Pending, PaymentStatus::Unpaid)),
            Some(&c),
        );
        assert_eq!(kinds(ev.clone()), [EventType::OrderCancelled]);
        assert_eq!(ev[0].1["reason"], "expired");
        c.payment_status = PaymentStatus::Refunded;
        c.cancel_reason = Some(CancelReason::Admin);
        let ev = order_events(
            Some(&order(OrderStatus::Paid, PaymentStatus::Paid)),
            Some(&c),
        );
        assert_eq!(
            kinds(ev),
            [EventType::OrderCancelled, EventType::OrderRefunded]
        );
    }

    #[test]
    fn writes_that_move_nothing_are_no_event() {
        let a = order(OrderStatus::Pending, PaymentStatus::Unpaid);
        let mut b = a.clone();
        b.payment_attempts = 1;
        b.payment_error = Some("declined".into());
        assert!(order_events(Some(&a), Some(&b)).is_empty());
        assert!(order_events(Some(&a), None).is_empty());
        let r = order(OrderStatus::Cancelled, PaymentStatus::Refunded);
        assert!(order_events(Some(&r), Some(&r)).is_empty());
    }

    fn level(stock: i64) -> StockLevel {
        StockLevel {
            id: ProductId::from_trusted("p1"),
            name: "Tea".into(),
            stock,
        }
    }

    #[test]
    fn stock_events_fire_once_when_a_line_is_crossed() {
        let ev = |a, b| kinds(product_events(Some(&level(a)), Some(&level(b)), 5));
        assert_eq!(ev(6, 4), [EventType::ProductLowStock]);
        assert_eq!(ev(5, 4), [EventType::ProductLowStock]);
        assert_eq!(ev(4, 3), [], "already low");
        assert_eq!(ev(2, 0), [EventType::ProductOutOfStock]);
        assert_eq!(ev(9, 0), [EventType::ProductOutOfStock]);
        assert_eq!(ev(0, 10), [], "restocked");
        assert_eq!(ev(9, 7), []);
        assert!(product_events(None, Some(&level(1)), 5).is_empty());
    }

    #[test]
    fn ids_are_stable_per_change_and_kind() {
        let a = Event::new("rec-1", EventType::OrderPaid, Timestamp::now(), json!({}));
        let b = Event::new("rec-1", EventType::OrderPaid, Timestamp::now(), json!({}));
        let c = Event::new(
            "rec-1",
            EventType::OrderRefunded,
            Timestamp::now(),
            json!({}),
        );
        let d = Event::new("rec-2", EventType::OrderPaid, Timestamp::now(), json!({}));
        assert_eq!(a.metadata.id, b.metadata.id);
        assert_ne!(a.metadata.id, c.metadata.id);
        assert_ne!(a.metadata.id, d.metadata.id);
        assert_eq!(a.metadata.id.len(), 32);
    }

    #[test]
    fn every_type_round_trips_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
    }
}
