//! What leaves the shop when a change commits: the event catalogue (types, versions, ids) and the
//! rules that turn one stored change (the item before and after it) into events. Pure: no HTTP,
//! no AWS. The contract each type follows is `events/catalogue.json`.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    catalog::model::{Category, ProductView, Slug},
    orders::model::{CancelReason, Order, OrderLine, OrderStatus, PaymentStatus},
    orders::shipment::Shipment,
    platform::metrics::Metric,
    pricing::{
        address::ShippingAddress,
        quote::{ShippingChoice, TaxLine},
    },
    promotions::model::PromoCode,
    types::{Cents, Currency, OrderId, ProductId, Timestamp, UserId},
    users::{
        links::{LinkRecord, Purpose},
        model::{Email, Name, UserView},
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
    ProductCreated,
    ProductUpdated,
    ProductDeleted,
    UserRegistered,
    PasswordResetRequested,
    EmailVerificationRequested,
    AccountUnderAttack,
}

impl EventType {
    pub const ALL: [EventType; 15] = [
        EventType::OrderPlaced,
        EventType::OrderPaid,
        EventType::OrderShipped,
        EventType::OrderDelivered,
        EventType::OrderCancelled,
        EventType::OrderRefunded,
        EventType::ProductLowStock,
        EventType::ProductOutOfStock,
        EventType::ProductCreated,
        EventType::ProductUpdated,
        EventType::ProductDeleted,
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
            EventType::ProductCreated => "ProductCreated",
            EventType::ProductUpdated => "ProductUpdated",
            EventType::ProductDeleted => "ProductDeleted",
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
            EventType::ProductLowStock
            | EventType::ProductOutOfStock
            | EventType::ProductCreated
            | EventType::ProductUpdated
            | EventType::ProductDeleted => "shop.catalog",
            EventType::UserRegistered
            | EventType::PasswordResetRequested
            | EventType::EmailVerificationRequested
            | EventType::AccountUnderAttack => "shop.users",
            _ => "shop.orders",
        }
    }

    /// The version of this type's `data`; raised only on a change a consumer could trip over.
    /// Order events are at 2: their data gained the address, shipping and tax, all required.
    pub fn version(self) -> u32 {
        use EventType::*;
        match self {
            OrderPlaced | OrderPaid | OrderShipped | OrderDelivered | OrderCancelled
            | OrderRefunded => 2,
            _ => 1,
        }
    }
}

/// One published event: EventBridge's `detail`. `metadata.id` is the same on every redelivery of
/// the change it comes from, so consumers deduplicate on it. Read back, `data` is typed by
/// `metadata.type`: an event whose data does not fit its type does not parse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WireEvent")]
pub struct Event {
    pub metadata: Metadata,
    pub data: Payload,
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

/// An event as text carries it, before its data is read by its type.
#[derive(Deserialize)]
struct WireEvent {
    metadata: Metadata,
    data: Value,
}

impl TryFrom<WireEvent> for Event {
    type Error = serde_json::Error;
    fn try_from(w: WireEvent) -> Result<Self, Self::Error> {
        let data = Payload::parse(w.metadata.kind, w.data)?;
        Ok(Event {
            metadata: w.metadata,
            data,
        })
    }
}

impl Event {
    /// The event of kind `kind` from the change `change_id` (a stream record's id, the same on
    /// every redelivery). One change can yield several kinds, so the kind is part of the id.
    pub fn new(change_id: &str, kind: EventType, occurred_at: Timestamp, data: Payload) -> Event {
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

/// An event's data, by the family of its type (`events/catalogue.json` has each one's fields).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Payload {
    Order(Box<OrderData>),
    Stock(StockData),
    Product(ProductData),
    Account(AccountData),
    Reset(ResetData),
    Verification(VerificationData),
    Attack(AttackData),
}

impl Payload {
    /// `data` read as the payload of `kind`.
    pub fn parse(kind: EventType, data: Value) -> Result<Payload, serde_json::Error> {
        use EventType::*;
        Ok(match kind {
            OrderPlaced | OrderPaid | OrderShipped | OrderDelivered | OrderCancelled
            | OrderRefunded => Payload::Order(serde_json::from_value(data)?),
            ProductLowStock | ProductOutOfStock => Payload::Stock(serde_json::from_value(data)?),
            ProductCreated | ProductUpdated | ProductDeleted => {
                Payload::Product(serde_json::from_value(data)?)
            }
            UserRegistered => Payload::Account(serde_json::from_value(data)?),
            PasswordResetRequested => Payload::Reset(serde_json::from_value(data)?),
            EmailVerificationRequested => Payload::Verification(serde_json::from_value(data)?),
            AccountUnderAttack => Payload::Attack(serde_json::from_value(data)?),
        })
    }

    /// The customer the event is about; `None` for the shop's own (stock) events.
    pub fn customer(&self) -> Option<&UserId> {
        match self {
            Payload::Order(d) => Some(&d.user_id),
            Payload::Account(d) => Some(&d.user_id),
            Payload::Reset(d) => Some(&d.user_id),
            Payload::Verification(d) => Some(&d.user_id),
            Payload::Attack(d) => Some(&d.user_id),
            Payload::Stock(_) | Payload::Product(_) => None,
        }
    }
}

/// What an order event carries: enough for an email or a projection without reading the order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderData {
    pub order_id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub items: Vec<OrderLine>,
    pub shipping_address: ShippingAddress,
    pub shipping_method: ShippingChoice,
    pub subtotal_cents: Cents,
    /// The discount code the order used, and what it took off (absent: 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo_code: Option<PromoCode>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub discount_cents: Cents,
    pub shipping_cents: Cents,
    pub tax_lines: Vec<TaxLine>,
    pub tax_cents: Cents,
    pub prices_include_tax: bool,
    pub total_cents: Cents,
    pub currency: Currency,
    pub created_at: Timestamp,
    /// `OrderCancelled`: who cancelled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CancelReason>,
    /// `OrderShipped`: the carrier and where the shopper follows the parcel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment: Option<Shipment>,
}

fn is_zero(c: &Cents) -> bool {
    *c == Cents::ZERO
}

impl From<&Order> for OrderData {
    fn from(o: &Order) -> Self {
        OrderData {
            order_id: o.id.clone(),
            user_id: o.user_id.clone(),
            status: o.status,
            payment_status: o.payment_status,
            items: o.items.clone(),
            shipping_address: o.shipping_address.clone(),
            shipping_method: o.shipping_method.clone(),
            subtotal_cents: o.subtotal_cents,
            promo_code: o.promo_code.clone(),
            discount_cents: o.discount_cents,
            shipping_cents: o.shipping_cents,
            tax_lines: o.tax_lines.clone(),
            tax_cents: o.tax_cents,
            prices_include_tax: o.prices_include_tax,
            total_cents: o.total_cents,
            currency: o.currency.clone(),
            created_at: o.created_at,
            reason: None,
            shipment: o.shipment.clone(),
        }
    }
}

/// `ProductLowStock`, `ProductOutOfStock`: the product, its stock now and the alert line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockData {
    pub product_id: ProductId,
    pub name: String,
    pub stock: i64,
    pub threshold: i64,
}

/// `ProductCreated`, `ProductUpdated`, `ProductDeleted`: the product as its public page shows it
/// (after the change; before it, for a deletion), and where its page and category were before an
/// update that moved them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductData {
    pub product_id: ProductId,
    pub name: String,
    pub slug: Slug,
    pub category: Category,
    pub price_cents: Cents,
    pub currency: Currency,
    pub in_stock: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_slug: Option<Slug>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<Category>,
}

impl ProductData {
    /// The product as its page shows it, with no move recorded.
    pub fn of(p: &ProductView) -> Self {
        ProductData {
            product_id: p.id.clone(),
            name: p.name.clone(),
            slug: p.slug.clone(),
            category: p.category.clone(),
            price_cents: p.price_cents,
            currency: p.currency.clone(),
            in_stock: p.stock > 0,
            previous_slug: None,
            previous_category: None,
        }
    }
}

/// `UserRegistered`: the new account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountData {
    pub user_id: UserId,
    pub email: Email,
    pub name: Name,
}

/// `PasswordResetRequested`: the request whose link the email carries (the token is made from it
/// when the email is written, and exists nowhere else).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResetData {
    pub user_id: UserId,
    pub reset_id: String,
    /// Epoch seconds.
    pub expires_at: u64,
}

/// `EmailVerificationRequested`: as [`ResetData`], for the verification link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationData {
    pub user_id: UserId,
    pub verification_id: String,
    /// Epoch seconds.
    pub expires_at: u64,
}

/// `AccountUnderAttack`: failed sign-ins on the account within the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackData {
    pub user_id: UserId,
    pub failures: u64,
}

/// The events of one change to an order item. A write that moves nothing a customer would notice
/// (a payment attempt recorded, the same status rewritten) is no event.
pub fn order_events(old: Option<&Order>, new: Option<&Order>) -> Vec<(EventType, Payload)> {
    let Some(new) = new else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match old {
        None => out.push((EventType::OrderPlaced, Payload::Order(Box::new(new.into())))),
        Some(old) if old.status != new.status => {
            let kind = match new.status {
                OrderStatus::Pending => None,
                OrderStatus::Paid => Some(EventType::OrderPaid),
                OrderStatus::Shipped => Some(EventType::OrderShipped),
                OrderStatus::Delivered => Some(EventType::OrderDelivered),
                OrderStatus::Cancelled => Some(EventType::OrderCancelled),
            };
            if let Some(kind) = kind {
                let mut data = OrderData::from(new);
                if kind == EventType::OrderCancelled {
                    data.reason = new.cancel_reason;
                }
                out.push((kind, Payload::Order(Box::new(data))));
            }
        }
        Some(_) => {}
    }
    let was_refunded = old.is_some_and(|o| o.payment_status == PaymentStatus::Refunded);
    if new.payment_status == PaymentStatus::Refunded && !was_refunded {
        out.push((
            EventType::OrderRefunded,
            Payload::Order(Box::new(new.into())),
        ));
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

impl From<&ProductView> for StockLevel {
    fn from(p: &ProductView) -> Self {
        StockLevel {
            id: p.id.clone(),
            name: p.name.clone(),
            stock: p.stock,
        }
    }
}

/// The events of one change to a product item: stock crossing below `threshold` (still some
/// left), or reaching zero. Restocking, or a change that leaves the stock where it was, is none.
pub fn product_events(
    old: Option<&StockLevel>,
    new: Option<&StockLevel>,
    threshold: i64,
) -> Vec<(EventType, Payload)> {
    let (Some(old), Some(new)) = (old, new) else {
        return Vec::new();
    };
    let data = || {
        Payload::Stock(StockData {
            product_id: new.id.clone(),
            name: new.name.clone(),
            stock: new.stock,
            threshold,
        })
    };
    let mut out = Vec::new();
    if old.stock > 0 && new.stock <= 0 {
        out.push((EventType::ProductOutOfStock, data()));
    } else if old.stock >= threshold && new.stock < threshold && new.stock > 0 {
        out.push((EventType::ProductLowStock, data()));
    }
    out
}

/// What a product's public page shows, so a change elsewhere (a stock count that stays above
/// zero, `updated_at`) moves no page.
fn page_of(p: &ProductView) -> impl PartialEq + '_ {
    (
        (&p.name, &p.slug, &p.description, p.price_cents, &p.currency),
        (&p.category, &p.image_url, &p.picture, p.stock > 0),
    )
}

/// The events of one change to a product item for its public page: created, deleted, or changed
/// in something the page shows.
pub fn page_events(
    old: Option<&ProductView>,
    new: Option<&ProductView>,
) -> Vec<(EventType, Payload)> {
    match (old, new) {
        (None, Some(p)) => vec![(
            EventType::ProductCreated,
            Payload::Product(ProductData::of(p)),
        )],
        (Some(p), None) => vec![(
            EventType::ProductDeleted,
            Payload::Product(ProductData::of(p)),
        )],
        (Some(o), Some(n)) if page_of(o) != page_of(n) => {
            let mut data = ProductData::of(n);
            data.previous_slug = (o.slug != n.slug).then(|| o.slug.clone());
            data.previous_category = (o.category != n.category).then(|| o.category.clone());
            vec![(EventType::ProductUpdated, Payload::Product(data))]
        }
        _ => Vec::new(),
    }
}

/// The events of one change to an account item: a new account.
pub fn user_events(old: Option<&UserView>, new: Option<&UserView>) -> Vec<(EventType, Payload)> {
    match (old, new) {
        (None, Some(u)) => vec![(
            EventType::UserRegistered,
            Payload::Account(AccountData {
                user_id: u.id.clone(),
                email: u.email.clone(),
                name: u.name.clone(),
            }),
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
) -> Vec<(EventType, Payload)> {
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
    let (user_id, expires_at) = (user.clone(), *expires_at);
    vec![match purpose {
        Purpose::Reset => (
            EventType::PasswordResetRequested,
            Payload::Reset(ResetData {
                user_id,
                reset_id: id.clone(),
                expires_at,
            }),
        ),
        Purpose::Verify => (
            EventType::EmailVerificationRequested,
            Payload::Verification(VerificationData {
                user_id,
                verification_id: id.clone(),
                expires_at,
            }),
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
pub fn alert_events(old: Option<&Alert>, new: Option<&Alert>) -> Vec<(EventType, Payload)> {
    match (old, new) {
        (None, Some(a)) => vec![(
            EventType::AccountUnderAttack,
            Payload::Attack(AttackData {
                user_id: a.user_id.clone(),
                failures: a.failures,
            }),
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Quantity;

    fn order(status: OrderStatus, payment: PaymentStatus) -> Order {
        Order {
            status,
            payment_status: payment,
            items: vec![OrderLine {
                product_id: ProductId::from_trusted("p1"),
                name: "Tea".into(),
                unit_price_cents: Cents::price("p", 1250).unwrap(),
                quantity: Quantity::parse("q", 2).unwrap(),
            }],
            total_cents: Cents::price("p", 2500).unwrap(),
            currency: Currency::parse("EUR").unwrap(),
            ..Order::example()
        }
    }

    fn kinds(v: Vec<(EventType, Payload)>) -> Vec<EventType> {
        v.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn a_new_order_is_placed_with_its_items_and_total() {
        let o = order(OrderStatus::Pending, PaymentStatus::Unpaid);
        let ev = order_events(None, Some(&o));
        assert_eq!(kinds(ev.clone()), [EventType::OrderPlaced]);
        let Payload::Order(d) = &ev[0].1 else {
            panic!("{ev:?}")
        };
        assert_eq!((d.total_cents.get(), d.items[0].quantity.get()), (2500, 2));
        assert_eq!(d.reason, None);
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
        let data = serde_json::to_value(&ev[0].1).unwrap();
        assert_eq!(data["reason"], "expired");
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

    fn paid() -> Payload {
        Payload::Order(Box::new(
            (&order(OrderStatus::Paid, PaymentStatus::Paid)).into(),
        ))
    }

    #[test]
    fn an_event_reads_back_with_its_data_typed_by_its_type() {
        let ev = Event::new("rec-1", EventType::OrderPaid, Timestamp::now(), paid());
        let text = serde_json::to_string(&ev).unwrap();
        assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), ev);
        // Order data under a stock type does not fit it: not an event of the shop's.
        let wrong = text.replace("\"OrderPaid\"", "\"ProductLowStock\"");
        assert!(serde_json::from_str::<Event>(&wrong).is_err());
        assert_eq!(
            ev.data.customer().map(UserId::as_str),
            Some("01JBUSER000000000000000000")
        );
    }

    #[test]
    fn ids_are_stable_per_change_and_kind() {
        let a = Event::new("rec-1", EventType::OrderPaid, Timestamp::now(), paid());
        let b = Event::new("rec-1", EventType::OrderPaid, Timestamp::now(), paid());
        let c = Event::new("rec-1", EventType::OrderRefunded, Timestamp::now(), paid());
        let d = Event::new("rec-2", EventType::OrderPaid, Timestamp::now(), paid());
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

    fn shown(name: &str, stock: i64) -> ProductView {
        ProductView {
            stock,
            ..ProductView::example(name)
        }
    }

    #[test]
    fn a_page_event_follows_what_the_page_shows_and_nothing_else() {
        let tea = shown("Tea", 5);
        assert_eq!(
            kinds(page_events(None, Some(&tea))),
            [EventType::ProductCreated]
        );
        assert_eq!(
            kinds(page_events(Some(&tea), None)),
            [EventType::ProductDeleted]
        );
        // A sale that leaves some in stock, or a touched updated_at, moves no page.
        let mut sold = shown("Tea", 2);
        sold.updated_at = Timestamp::parse("2026-12-02T00:00:00Z").unwrap();
        assert!(page_events(Some(&tea), Some(&sold)).is_empty());
        for (what, changed) in [
            ("sold out", shown("Tea", 0)),
            (
                "price",
                ProductView {
                    price_cents: Cents::price("p", 600).unwrap(),
                    ..tea.clone()
                },
            ),
            (
                "picture",
                ProductView {
                    image_url: Some("https://i/x.webp".into()),
                    ..tea.clone()
                },
            ),
        ] {
            assert_eq!(
                kinds(page_events(Some(&tea), Some(&changed))),
                [EventType::ProductUpdated],
                "{what}"
            );
        }
        let renamed = ProductView {
            category: Category::parse("black-tea").unwrap(),
            ..shown("Assam", 5)
        };
        let ev = page_events(Some(&tea), Some(&renamed));
        let Payload::Product(d) = &ev[0].1 else {
            panic!("{ev:?}")
        };
        assert_eq!(
            (d.slug.as_str(), d.previous_slug.as_ref().map(Slug::as_str)),
            ("assam", Some("tea"))
        );
        assert_eq!(
            d.previous_category.as_ref().map(Category::as_str),
            Some("tea")
        );
        let unmoved = page_events(Some(&tea), Some(&shown("Tea", 0)));
        let Payload::Product(d) = &unmoved[0].1 else {
            panic!()
        };
        assert_eq!((d.previous_slug.as_ref(), d.in_stock), (None, false));
    }
}
