//! Orders and carts without storage: the status machine, pricing an order or a cart from the
//! catalog, checkout input and its fingerprint, and the errors a checkout can end in. Pure: no
//! HTTP, no AWS.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    catalog::model::ProductView,
    error::{ApiError, ApiResult},
    platform::metrics::Metric,
    pricing::{
        address::{AddressRequest, ShippingAddress},
        quote::{Item, Quote, ShippingChoice, TaxLine},
        rates::RateId,
    },
    promotions::model::PromoCode,
    types::{Cents, Currency, OrderId, ProductId, Quantity, Timestamp, UserId},
};

use super::shipment::{Dispatch, Shipment};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 60 * 60;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 100;
/// Most distinct products in one cart or order (keeps a checkout inside one DynamoDB transaction).
pub const MAX_LINES: usize = 25;

pub const ORDERS_PLACED: Metric = Metric("OrdersPlaced");
pub const REVENUE_CENTS: Metric = Metric("RevenueCents");
pub const OUT_OF_STOCK: Metric = Metric("OutOfStock");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Paid => "PAID",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(field: &str, raw: &str) -> ApiResult<Self> {
        serde_json::from_value(serde_json::Value::String(raw.trim().to_ascii_uppercase())).map_err(
            |_| {
                ApiError::invalid_field(
                    field,
                    "must be one of PENDING, PAID, SHIPPED, DELIVERED, CANCELLED",
                )
            },
        )
    }

    /// The moves the state machine allows: forward one step, or cancel before shipping.
    pub fn can_move_to(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (Pending, Paid) | (Paid, Shipped) | (Shipped, Delivered) | (Pending | Paid, Cancelled)
        )
    }
}

/// Where the money is. Only a verified Stripe webhook (or an admin recording a bank transfer)
/// makes an order `paid`; a cancelled paid order is `refunded`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    #[default]
    Unpaid,
    Paid,
    Refunded,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unpaid => "unpaid",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Refunded => "refunded",
        }
    }
}

/// Who cancelled an order: its shopper, an admin, or the expiry of its payment window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CancelReason {
    Shopper,
    Admin,
    Expired,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::Shopper => "shopper",
            CancelReason::Admin => "admin",
            CancelReason::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price_cents: Cents,
    pub quantity: Quantity,
}

/// `{id, user_id, status, payment_status, expires_at?, items, shipping_address, shipping_method,
/// subtotal_cents, shipping_cents, tax_lines, tax_cents, total_cents, currency, ...}`: every figure
/// as the checkout's quote had it, so a later change of prices or rates never moves them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    #[serde(default)]
    pub payment_status: PaymentStatus,
    /// While PENDING: when the reservation lapses. Stored as text, so the table's TTL (a number
    /// attribute of the same name on idempotency records) never deletes an order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The PaymentIntent of the last attempt (and of the payment, once paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent_id: Option<String>,
    /// Why the last payment attempt failed, in words for the shopper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_error: Option<String>,
    /// Attempts that ended without a payment; part of the next attempt's Stripe idempotency key.
    #[serde(default)]
    pub payment_attempts: u32,
    /// Every PaymentIntent created for this order, oldest first: no other intent can pay it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payment_intents: Vec<String>,
    /// The current attempt's intent was created and has not failed: paying again resumes it
    /// instead of creating another.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub payment_open: bool,
    /// Set when the order is cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<CancelReason>,
    /// Set when the order is shipped: the carrier and where the shopper follows the parcel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment: Option<Shipment>,
    pub items: Vec<OrderLine>,
    pub shipping_address: ShippingAddress,
    pub shipping_method: ShippingChoice,
    pub subtotal_cents: Cents,
    /// The discount code the order used, and what it took off (0 without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo_code: Option<PromoCode>,
    #[serde(default)]
    pub discount_cents: Cents,
    pub shipping_cents: Cents,
    pub tax_lines: Vec<TaxLine>,
    pub tax_cents: Cents,
    /// Whether the prices (and so the subtotal and shipping) contain `tax_cents`.
    pub prices_include_tax: bool,
    /// What the shopper pays: subtotal + shipping (+ tax when prices do not include it).
    pub total_cents: Cents,
    pub currency: Currency,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Order {
    /// The order the documentation, the sample events and the unit tests show: two mugs to
    /// California by standard shipping, sales tax added.
    pub fn example() -> Order {
        let at = Timestamp::parse("2026-12-01T00:00:00.000Z").expect("a valid time");
        let cents = |c| Cents::amount("example", c).expect("a valid amount");
        Order {
            id: OrderId::from_trusted("01JBXAMPLE0000000000000000"),
            user_id: UserId::from_trusted("01JBUSER000000000000000000"),
            status: OrderStatus::Pending,
            payment_status: PaymentStatus::Unpaid,
            expires_at: None,
            payment_intent_id: None,
            payment_error: None,
            payment_attempts: 0,
            payment_intents: Vec::new(),
            payment_open: false,
            cancel_reason: None,
            shipment: None,
            items: vec![OrderLine {
                product_id: ProductId::from_trusted("01JBPRODUCT000000000000000"),
                name: "Stoneware Mug".into(),
                unit_price_cents: cents(1490),
                quantity: Quantity::parse("quantity", 2).expect("a valid quantity"),
            }],
            shipping_address: ShippingAddress::parse(
                "shipping_address",
                AddressRequest {
                    name: "Ada Lovelace".into(),
                    line1: "1 Market St".into(),
                    city: "San Francisco".into(),
                    region: Some("CA".into()),
                    postal_code: "94105".into(),
                    country: "US".into(),
                    ..Default::default()
                },
            )
            .expect("a valid address"),
            shipping_method: ShippingChoice {
                id: RateId::parse("id", "standard").expect("a valid id"),
                name: "Standard (3-5 business days)".into(),
            },
            subtotal_cents: cents(2980),
            promo_code: None,
            discount_cents: Cents::ZERO,
            shipping_cents: cents(590),
            tax_lines: vec![TaxLine {
                name: "California sales tax".into(),
                rate_bp: 725,
                amount_cents: cents(216),
            }],
            tax_cents: cents(216),
            prices_include_tax: false,
            total_cents: cents(2980 + 590 + 216),
            currency: Currency::parse("USD").expect("a valid currency"),
            created_at: at,
            updated_at: at,
        }
    }
}

/// An order as the API answers it: the stored order without the payment bookkeeping (the intents
/// it created, whether an attempt is open) that only the shop acts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderView {
    pub id: OrderId,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub payment_status: PaymentStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_error: Option<String>,
    pub payment_attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<CancelReason>,
    /// Set when the order is shipped: the carrier and where the shopper follows the parcel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment: Option<Shipment>,
    pub items: Vec<OrderLine>,
    pub shipping_address: ShippingAddress,
    pub shipping_method: ShippingChoice,
    pub subtotal_cents: Cents,
    /// The discount code the order used, and what it took off (0 without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo_code: Option<PromoCode>,
    #[serde(default)]
    pub discount_cents: Cents,
    pub shipping_cents: Cents,
    pub tax_lines: Vec<TaxLine>,
    pub tax_cents: Cents,
    /// Whether the prices (and so the subtotal and shipping) contain `tax_cents`.
    pub prices_include_tax: bool,
    /// What the shopper pays: subtotal + shipping (+ tax when prices do not include it).
    pub total_cents: Cents,
    pub currency: Currency,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Order> for OrderView {
    fn from(o: Order) -> Self {
        OrderView {
            id: o.id,
            user_id: o.user_id,
            status: o.status,
            payment_status: o.payment_status,
            expires_at: o.expires_at,
            payment_intent_id: o.payment_intent_id,
            payment_error: o.payment_error,
            payment_attempts: o.payment_attempts,
            cancel_reason: o.cancel_reason,
            shipment: o.shipment,
            items: o.items,
            shipping_address: o.shipping_address,
            shipping_method: o.shipping_method,
            subtotal_cents: o.subtotal_cents,
            promo_code: o.promo_code,
            discount_cents: o.discount_cents,
            shipping_cents: o.shipping_cents,
            tax_lines: o.tax_lines,
            tax_cents: o.tax_cents,
            prices_include_tax: o.prices_include_tax,
            total_cents: o.total_cents,
            currency: o.currency,
            created_at: o.created_at,
            updated_at: o.updated_at,
        }
    }
}

/// What `lines` buy at the catalog's current prices (never the client's), ready to price. From a
/// cart, a line whose product has left the catalog is dropped, as the cart shows it (unavailable,
/// not in the total); explicit items must all exist. `Err`: the products not found, when nothing
/// can be bought.
pub fn basket(
    lines: &[Line],
    from_cart: bool,
    catalog: &HashMap<ProductId, ProductView>,
) -> Result<Vec<Item>, Vec<ProductId>> {
    let missing: Vec<ProductId> = lines
        .iter()
        .filter(|l| !catalog.contains_key(&l.product_id))
        .map(|l| l.product_id.clone())
        .collect();
    if (!from_cart && !missing.is_empty()) || missing.len() == lines.len() {
        return Err(missing);
    }
    Ok(lines
        .iter()
        .filter_map(|l| {
            catalog.get(&l.product_id).map(|p| Item {
                product_id: l.product_id.clone(),
                name: p.name.clone(),
                unit_price_cents: p.price_cents,
                quantity: l.quantity,
                weight_grams: p.weight_grams,
                tax_class: p.tax_class,
                category: p.category.clone(),
            })
        })
        .collect())
}

/// A new PENDING order of what `quote` priced, to `address`, holding its stock for `payment_window`.
pub fn order_from(
    user: &UserId,
    quote: &Quote,
    address: ShippingAddress,
    payment_window: std::time::Duration,
) -> Order {
    let now = Timestamp::now();
    Order {
        id: OrderId::new(),
        user_id: user.clone(),
        status: OrderStatus::Pending,
        payment_status: PaymentStatus::Unpaid,
        expires_at: Some(now.plus(payment_window)),
        payment_intent_id: None,
        payment_error: None,
        payment_attempts: 0,
        payment_intents: Vec::new(),
        payment_open: false,
        cancel_reason: None,
        shipment: None,
        items: quote
            .lines
            .iter()
            .map(|l| OrderLine {
                product_id: l.product_id.clone(),
                name: l.name.clone(),
                unit_price_cents: l.unit_price_cents,
                quantity: l.quantity,
            })
            .collect(),
        shipping_address: address,
        shipping_method: quote.shipping_method.clone(),
        subtotal_cents: quote.subtotal_cents,
        promo_code: quote.promo_code.clone(),
        discount_cents: quote.discount_cents,
        shipping_cents: quote.shipping_cents,
        tax_lines: quote.tax_lines.clone(),
        tax_cents: quote.tax_cents,
        prices_include_tax: quote.prices_include_tax,
        total_cents: quote.total_cents,
        currency: quote.currency.clone(),
        created_at: now,
        updated_at: now,
    }
}

/// The body of `POST /orders` and `POST /checkout/quote`: `{items?, shipping_address,
/// shipping_method?}` (no items: the cart).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    #[serde(default)]
    pub items: Option<Vec<LineRequest>>,
    #[serde(default)]
    pub shipping_address: Option<AddressRequest>,
    #[serde(default)]
    pub shipping_method: Option<String>,
    #[serde(default)]
    pub promo_code: Option<String>,
}

/// What a checkout buys: explicit lines, or whatever is in the cart.
pub enum CheckoutSource {
    Items(Vec<Line>),
    Cart,
}

impl CheckoutSource {
    fn parse(items: Option<Vec<LineRequest>>) -> ApiResult<Self> {
        match items {
            None => Ok(CheckoutSource::Cart),
            Some(raw) => {
                let lines = parse_lines(raw, false)?;
                if lines.is_empty() {
                    return Err(ApiError::invalid_field(
                        "items",
                        "must not be empty (omit it to check out the cart)",
                    ));
                }
                Ok(CheckoutSource::Items(lines))
            }
        }
    }
}

/// A checkout or quote, parsed: what is bought, where it goes, and how (`None`: the cheapest).
pub struct Checkout {
    pub source: CheckoutSource,
    pub address: ShippingAddress,
    pub method: Option<RateId>,
    /// The discount code entered (`None`: no discount).
    pub promo_code: Option<PromoCode>,
}

impl TryFrom<CheckoutRequest> for Checkout {
    type Error = ApiError;
    fn try_from(r: CheckoutRequest) -> ApiResult<Self> {
        let source = CheckoutSource::parse(r.items)?;
        let address = r.shipping_address.ok_or_else(|| {
            ApiError::invalid_field(
                "shipping_address",
                "is required: where should the order go?",
            )
        })?;
        Ok(Checkout {
            source,
            address: ShippingAddress::parse("shipping_address", address)?,
            method: r
                .shipping_method
                .map(|m| RateId::parse("shipping_method", &m))
                .transpose()?,
            promo_code: r
                .promo_code
                .filter(|c| !c.trim().is_empty())
                .map(|c| PromoCode::parse("promo_code", &c))
                .transpose()?,
        })
    }
}

impl Checkout {
    pub fn from_cart(&self) -> bool {
        matches!(self.source, CheckoutSource::Cart)
    }

    /// Fingerprint of the request body, so a reused key with another body is detected.
    /// Line order does not matter.
    pub fn fingerprint(&self) -> String {
        let lines = match &self.source {
            CheckoutSource::Cart => "cart".to_string(),
            CheckoutSource::Items(lines) => {
                let mut parts: Vec<String> = lines
                    .iter()
                    .map(|l| format!("{}x{}", l.product_id, l.quantity.get()))
                    .collect();
                parts.sort();
                format!("items:{}", parts.join(","))
            }
        };
        let address = serde_json::to_string(&self.address).expect("an address serialises");
        let method = self.method.as_ref().map_or("", RateId::as_str);
        let code = self.promo_code.as_ref().map_or("", PromoCode::as_str);
        B64.encode(Sha256::digest(
            format!("{lines}|{address}|{method}|{code}").as_bytes(),
        ))
    }
}

/// The `Idempotency-Key` header's value: required, 1 to 100 visible ASCII characters.
pub fn idempotency_key(raw: Option<&str>) -> ApiResult<String> {
    let key = raw.map(str::trim).unwrap_or_default();
    let ok = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(key.to_string())
    } else {
        Err(ApiError::Invalid {
            code: "invalid_idempotency_key",
            message: format!(
                "the Idempotency-Key header is required: 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters, unique per order attempt"
            ),
            field: Some("Idempotency-Key".into()),
        })
    }
}

/// An order id from a path; a malformed one cannot name an order (404).
pub fn order_id_in_path(raw: &str) -> ApiResult<OrderId> {
    OrderId::parse(raw).ok_or(ApiError::NotFound("order"))
}

/// The order if `user` may see it: its owner, or an admin. Anyone else gets the same 404 as for an
/// order that does not exist.
pub fn visible_to(order: Option<Order>, user: &UserId, admin: bool) -> ApiResult<Order> {
    match order {
        Some(o) if o.user_id == *user || admin => Ok(o),
        _ => Err(ApiError::NotFound("order")),
    }
}

/// The body of `PUT /orders/{id}/status`: `{status}`, and for SHIPPED `{carrier,
/// tracking_number, tracking_url?}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: String,
    #[serde(default)]
    pub carrier: Option<String>,
    #[serde(default)]
    pub tracking_number: Option<String>,
    #[serde(default)]
    pub tracking_url: Option<String>,
}

/// Where an order is asked to move, with what shipping it needs: SHIPPED carries its dispatch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub to: OrderStatus,
    pub dispatch: Option<Dispatch>,
}

impl From<OrderStatus> for Move {
    fn from(to: OrderStatus) -> Self {
        Move { to, dispatch: None }
    }
}

impl TryFrom<StatusRequest> for Move {
    type Error = ApiError;
    fn try_from(r: StatusRequest) -> ApiResult<Self> {
        let to = OrderStatus::parse("status", &r.status)?;
        let dispatch = if to == OrderStatus::Shipped {
            Some(Dispatch::parse(
                r.carrier.as_deref(),
                r.tracking_number.as_deref(),
                r.tracking_url.as_deref(),
            )?)
        } else if let Some(field) = [
            ("carrier", &r.carrier),
            ("tracking_number", &r.tracking_number),
            ("tracking_url", &r.tracking_url),
        ]
        .into_iter()
        .find_map(|(name, v)| v.as_ref().map(|_| name))
        {
            return Err(ApiError::invalid_field(
                field,
                "only goes with status SHIPPED",
            ));
        } else {
            None
        };
        Ok(Move { to, dispatch })
    }
}

pub fn invalid_move(from: OrderStatus, to: OrderStatus) -> ApiError {
    ApiError::conflict(
        "invalid_status_transition",
        format!(
            "an order cannot move from {} to {}",
            from.as_str(),
            to.as_str()
        ),
    )
}

/// The order of a listing: newest first (the default), or oldest first (`sort=oldest`: the admin's
/// queue of PAID orders to ship, first come first served).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    NewestFirst,
    OldestFirst,
}

impl Sort {
    pub fn parse(raw: Option<&str>) -> ApiResult<Self> {
        match raw.map(str::trim).unwrap_or_default() {
            "" | "newest" => Ok(Sort::NewestFirst),
            "oldest" => Ok(Sort::OldestFirst),
            _ => Err(ApiError::invalid_field("sort", "must be newest or oldest")),
        }
    }
}

/// Who may make a move: an admin any move the machine allows; an owner only cancelling their own
/// PENDING order.
pub fn check_move(order: OrderStatus, to: OrderStatus, admin: bool) -> ApiResult<()> {
    if !admin {
        if to != OrderStatus::Cancelled {
            return Err(ApiError::NotAllowed(
                "only an admin can move an order to this status",
            ));
        }
        if order != OrderStatus::Pending {
            return Err(invalid_move(order, to));
        }
    }
    if !order.can_move_to(to) {
        return Err(invalid_move(order, to));
    }
    Ok(())
}

/// Who moves an order, and so what the move may be and what it records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover<'a> {
    /// An admin through the API: any move the state machine allows.
    Admin,
    /// The order's owner through the API: only cancelling it while PENDING.
    Owner,
    /// The expiry job: the payment window closed on a PENDING order.
    Expiry,
    /// A verified payment of the order by this PaymentIntent.
    Payment(&'a str),
}

/// What moving an order means, decided before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The status the order was read in: the move happens only if it still is.
    pub from: OrderStatus,
    /// The order once moved.
    pub order: Order,
    /// A card payment to give back before the move (a paid order cancelled).
    pub refund: Option<String>,
    /// The lines whose units go back into stock.
    pub restock: Vec<OrderLine>,
    /// The move ends an order counted against its owner's cap of unpaid orders.
    pub releases_unpaid: bool,
    /// The discount code whose use the move gives back (a cancelled or lapsed order's).
    pub gives_back: Option<PromoCode>,
}

/// The one answer to "what happens when this order moves to `to`": the refusal, or the new status
/// and payment status, who cancelled, what is refunded and restocked.
pub fn plan_transition(
    order: &Order,
    to: impl Into<Move>,
    by: Mover<'_>,
    now: Timestamp,
) -> ApiResult<Transition> {
    let Move { to, dispatch } = to.into();
    let from = order.status;
    let allowed = match by {
        Mover::Admin => {
            check_move(from, to, true)?;
            true
        }
        Mover::Owner => {
            check_move(from, to, false)?;
            true
        }
        Mover::Expiry => (from, to) == (OrderStatus::Pending, OrderStatus::Cancelled),
        Mover::Payment(_) => (from, to) == (OrderStatus::Pending, OrderStatus::Paid),
    };
    if !allowed {
        return Err(invalid_move(from, to));
    }
    let mut moved = order.clone();
    moved.status = to;
    moved.updated_at = now;
    moved.expires_at = None;
    moved.payment_open = false;
    moved.payment_status = match (order.payment_status, to) {
        (_, OrderStatus::Paid) => PaymentStatus::Paid,
        (PaymentStatus::Paid, OrderStatus::Cancelled) => PaymentStatus::Refunded,
        (p, _) => p,
    };
    if to == OrderStatus::Paid {
        moved.payment_error = None;
    }
    if to == OrderStatus::Shipped {
        let dispatch = dispatch.ok_or_else(|| {
            ApiError::invalid_field("tracking_number", "is required to mark an order shipped")
        })?;
        moved.shipment = Some(dispatch.shipped(now));
    }
    if let Mover::Payment(intent) = by {
        moved.payment_intent_id = Some(intent.to_string());
    }
    let cancelled = to == OrderStatus::Cancelled;
    if cancelled {
        moved.cancel_reason = Some(match by {
            Mover::Owner => CancelReason::Shopper,
            Mover::Expiry => CancelReason::Expired,
            Mover::Admin | Mover::Payment(_) => CancelReason::Admin,
        });
    }
    let refund = order
        .payment_intent_id
        .clone()
        .filter(|_| cancelled && order.payment_status == PaymentStatus::Paid);
    Ok(Transition {
        from,
        refund,
        restock: if cancelled {
            order.items.clone()
        } else {
            Vec::new()
        },
        // Every checkout counted its order while PENDING.
        releases_unpaid: from == OrderStatus::Pending,
        gives_back: order.promo_code.clone().filter(|_| cancelled),
        order: moved,
    })
}

pub fn busy() -> ApiError {
    ApiError::conflict(
        "busy",
        "too many simultaneous changes to these products; retry shortly",
    )
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineRequest {
    pub product_id: String,
    pub quantity: i64,
}

/// A validated line: a product and 1..=99 units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub product_id: ProductId,
    pub quantity: Quantity,
}

/// Parses request lines: ids must be product ids, each product at most once, at most
/// [`MAX_LINES`] lines. With `zero_removes`, quantity 0 drops the line (PUT /cart).
pub fn parse_lines(raw: Vec<LineRequest>, zero_removes: bool) -> ApiResult<Vec<Line>> {
    let mut lines: Vec<Line> = Vec::new();
    for (i, l) in raw.into_iter().enumerate() {
        let product_id = ProductId::parse(&format!("items[{i}].product_id"), &l.product_id)?;
        if lines.iter().any(|x| x.product_id == product_id) {
            return Err(ApiError::invalid_field(
                format!("items[{i}].product_id"),
                "appears more than once; send one line per product",
            ));
        }
        if zero_removes && l.quantity == 0 {
            continue;
        }
        let quantity = Quantity::parse(&format!("items[{i}].quantity"), l.quantity)?;
        lines.push(Line {
            product_id,
            quantity,
        });
    }
    if lines.len() > MAX_LINES {
        return Err(ApiError::invalid_field(
            "items",
            format!("must have at most {MAX_LINES} different products"),
        ));
    }
    Ok(lines)
}

/// The cart as stored. `version` lets a checkout delete exactly the cart it read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CartRecord {
    pub items: Vec<Line>,
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CartLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price_cents: Cents,
    pub quantity: Quantity,
    pub line_total_cents: Cents,
    /// Units in stock now; the line can be checked out when this is at least `quantity`.
    pub stock: i64,
}

/// `{items, total_cents, currency, unavailable}`; `unavailable` lists products that are in the cart
/// but no longer in the catalog (they are not part of the total and are dropped at checkout).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct CartView {
    pub items: Vec<CartLine>,
    pub total_cents: Cents,
    pub currency: Currency,
    pub unavailable: Vec<ProductId>,
}

pub fn price_cart(
    lines: &[Line],
    catalog: &HashMap<ProductId, ProductView>,
    currency: &Currency,
) -> CartView {
    let mut items = Vec::new();
    let mut unavailable = Vec::new();
    for line in lines {
        match catalog.get(&line.product_id) {
            Some(p) => items.push(CartLine {
                product_id: line.product_id.clone(),
                name: p.name.clone(),
                unit_price_cents: p.price_cents,
                quantity: line.quantity,
                line_total_cents: p.price_cents.times(line.quantity),
                stock: p.stock,
            }),
            None => unavailable.push(line.product_id.clone()),
        }
    }
    CartView {
        total_cents: Cents::sum(items.iter().map(|l| l.line_total_cents)),
        items,
        currency: currency.clone(),
        unavailable,
    }
}

/// The products of `lines`, in order.
pub fn product_ids(lines: &[Line]) -> Vec<ProductId> {
    lines.iter().map(|l| l.product_id.clone()).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutCartRequest {
    pub items: Vec<LineRequest>,
}

pub fn unknown_products(ids: &[ProductId]) -> ApiError {
    ApiError::Rejected {
        code: "unknown_products",
        message: format!(
            "these products are not in the catalog: {}",
            ids.iter()
                .map(ProductId::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        details: Some(serde_json::json!({ "product_ids": ids })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn state_machine_allows_only_forward_steps_and_early_cancels() {
        use OrderStatus::*;
        let all = [Pending, Paid, Shipped, Delivered, Cancelled];
        let allowed: Vec<(OrderStatus, OrderStatus)> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_move_to(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Pending, Paid),
                (Pending, Cancelled),
                (Paid, Shipped),
                (Paid, Cancelled),
                (Shipped, Delivered)
            ]
        );
    }

    #[test]
    fn status_parses_case_insensitively_and_serialises_upper_case() {
        assert_eq!(
            OrderStatus::parse("status", "shipped").unwrap(),
            OrderStatus::Shipped
        );
        assert!(OrderStatus::parse("status", "LOST").is_err());
        assert_eq!(
            serde_json::to_string(&OrderStatus::Cancelled).unwrap(),
            "\"CANCELLED\""
        );
    }

    const WINDOW: std::time::Duration = std::time::Duration::from_secs(1800);

    /// To San Francisco by the cheapest method, at the README's sample rates.
    fn address() -> ShippingAddress {
        Order::example().shipping_address
    }

    fn place(
        lines: &[Line],
        from_cart: bool,
        catalog: &HashMap<ProductId, ProductView>,
    ) -> Result<Order, Vec<ProductId>> {
        let shipping: crate::pricing::rates::ShippingRatesRequest =
            serde_json::from_str(include_str!("../../../scripts/seed-shipping.json")).unwrap();
        let tax: crate::pricing::rates::TaxRatesRequest =
            serde_json::from_str(include_str!("../../../scripts/seed-tax.json")).unwrap();
        let items = basket(lines, from_cart, catalog)?;
        let q = crate::pricing::quote::quote(
            &items,
            &address(),
            None,
            &shipping.try_into().unwrap(),
            &tax.try_into().unwrap(),
            &usd(),
            None,
        )
        .unwrap();
        Ok(order_from(
            &UserId::from_trusted("01USER"),
            &q,
            address(),
            WINDOW,
        ))
    }

    #[test]
    fn a_new_order_is_unpaid_and_lapses_after_the_payment_window() {
        let id = ProductId::new();
        let catalog = HashMap::from([(id.clone(), view(&id, "Mug", 100))]);
        let before = Timestamp::now().plus(WINDOW);
        let o = place(&[line(&id, 1)], false, &catalog).unwrap();
        let after = Timestamp::now().plus(WINDOW);
        assert_eq!(o.payment_status, PaymentStatus::Unpaid);
        let expires = o.expires_at.unwrap();
        assert!(
            before <= expires && expires <= after,
            "{before} <= {expires} <= {after}"
        );
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["payment_status"], "unpaid");
    }

    fn view(id: &ProductId, name: &str, cents: i64) -> ProductView {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "slug": name.to_lowercase(), "description": "",
            "price_cents": cents, "currency": "USD", "category": "kitchen", "stock": 5,
            "created_at": "2026-12-01T00:00:00.000Z", "updated_at": "2026-12-01T00:00:00.000Z"
        }))
        .unwrap()
    }

    #[test]
    fn a_cart_drops_products_gone_from_the_catalog_but_explicit_items_must_all_exist() {
        let (mug, gone) = (ProductId::new(), ProductId::new());
        let catalog = HashMap::from([(mug.clone(), view(&mug, "Mug", 1490))]);
        let lines = [line(&mug, 2), line(&gone, 1)];
        let o = place(&lines, true, &catalog).unwrap();
        assert_eq!((o.items.len(), o.subtotal_cents.get()), (1, 2980));
        assert_eq!(
            place(&lines, false, &catalog).unwrap_err(),
            vec![gone.clone()]
        );
        assert_eq!(
            place(&[line(&gone, 1)], true, &catalog).unwrap_err(),
            vec![gone],
            "a cart of nothing left names what is gone"
        );
    }

    fn line(id: &ProductId, q: i64) -> Line {
        Line {
            product_id: id.clone(),
            quantity: Quantity::parse("q", q).unwrap(),
        }
    }

    #[test]
    fn order_keeps_every_figure_of_its_quote() {
        let (a, b) = (ProductId::new(), ProductId::new());
        let catalog = HashMap::from([
            (a.clone(), view(&a, "Mug", 1490)),
            (b.clone(), view(&b, "Tea", 890)),
        ]);
        let o = place(&[line(&a, 2), line(&b, 3)], false, &catalog).unwrap();
        assert_eq!(o.subtotal_cents.get(), 2 * 1490 + 3 * 890);
        assert_eq!(o.status, OrderStatus::Pending);
        assert_eq!(o.items[0].name, "Mug");
        assert_eq!(o.items[1].unit_price_cents.get(), 890);
        // California: 7.25% on both (their views are standard rated); standard shipping.
        assert_eq!(o.shipping_method.id.as_str(), "standard");
        assert_eq!(o.shipping_cents.get(), 590);
        assert_eq!(o.tax_cents.get(), 216 + 194);
        assert_eq!(o.total_cents.get(), 2980 + 2670 + 590 + 216 + 194);
        assert_eq!(o.shipping_address, address());
    }

    #[test]
    fn the_api_view_keeps_what_a_shopper_reads_and_drops_the_payment_bookkeeping() {
        let mut order = pending(1);
        order.payment_intents = vec!["pi_1".into(), "pi_2".into()];
        order.payment_open = true;
        order.payment_intent_id = Some("pi_2".into());
        order.payment_attempts = 1;
        let view = serde_json::to_value(OrderView::from(order.clone())).unwrap();
        let stored = serde_json::to_value(&order).unwrap();
        assert!(stored.get("payment_intents").is_some() && stored.get("payment_open").is_some());
        assert!(view.get("payment_intents").is_none() && view.get("payment_open").is_none());
        let mut kept = stored.as_object().unwrap().clone();
        kept.retain(|k, _| k != "payment_intents" && k != "payment_open");
        assert_eq!(
            view,
            serde_json::Value::Object(kept),
            "every other field as stored"
        );
    }

    #[test]
    fn fingerprint_ignores_line_order_but_not_quantities_address_or_method() {
        let (a, b) = (ProductId::new(), ProductId::new());
        let of = |source: CheckoutSource, method: Option<&str>, address: ShippingAddress| {
            Checkout {
                source,
                address,
                method: method.map(|m| RateId::parse("m", m).unwrap()),
                promo_code: None,
            }
            .fingerprint()
        };
        let items = |q: i64| vec![line(&a, 1), line(&b, q)];
        let one = of(CheckoutSource::Items(items(2)), None, address());
        let same = of(
            CheckoutSource::Items(vec![line(&b, 2), line(&a, 1)]),
            None,
            address(),
        );
        assert_eq!(one, same);
        assert_ne!(one, of(CheckoutSource::Items(items(3)), None, address()));
        assert_ne!(one, of(CheckoutSource::Cart, None, address()));
        assert_ne!(
            one,
            of(CheckoutSource::Items(items(2)), Some("express"), address())
        );
        let elsewhere = ShippingAddress {
            line1: "2 Market St".into(),
            ..address()
        };
        assert_ne!(one, of(CheckoutSource::Items(items(2)), None, elsewhere));
    }

    #[test]
    fn a_checkout_needs_an_address_and_names_its_bad_fields() {
        let refused = |v: serde_json::Value| match Checkout::try_from(
            serde_json::from_value::<CheckoutRequest>(v).unwrap(),
        ) {
            Err(ApiError::Invalid { field, .. }) => field.unwrap(),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("accepted"),
        };
        assert_eq!(refused(serde_json::json!({})), "shipping_address");
        let mut a = serde_json::to_value(address()).unwrap();
        a["postal_code"] = "ABCDE".into();
        assert_eq!(
            refused(serde_json::json!({"shipping_address": a})),
            "shipping_address.postal_code"
        );
        let a = serde_json::to_value(address()).unwrap();
        assert_eq!(
            refused(serde_json::json!({"shipping_address": a, "shipping_method": "Next Day!"})),
            "shipping_method"
        );
    }

    fn req_line(id: &ProductId, q: i64) -> LineRequest {
        LineRequest {
            product_id: id.to_string(),
            quantity: q,
        }
    }

    #[test]
    fn lines_are_validated_and_zero_removes_only_in_the_cart() {
        let (a, b) = (ProductId::new(), ProductId::new());
        let lines = parse_lines(vec![req_line(&a, 2), req_line(&b, 0)], true).unwrap();
        assert_eq!(lines.len(), 1);
        let e = parse_lines(vec![req_line(&a, 0)], false).unwrap_err();
        assert!(e.to_string().starts_with("items[0].quantity"), "{e}");
        let e = parse_lines(vec![req_line(&a, 1), req_line(&a, 2)], true).unwrap_err();
        assert!(e.to_string().starts_with("items[1].product_id"), "{e}");
        assert!(parse_lines(vec![req_line(&a, 100)], true).is_err());
        assert!(parse_lines(vec![req_line(&a, -1)], true).is_err());
        let many: Vec<_> = (0..26).map(|_| req_line(&ProductId::new(), 1)).collect();
        assert!(
            parse_lines(many, true)
                .unwrap_err()
                .to_string()
                .contains("25")
        );
        let e = parse_lines(
            vec![LineRequest {
                product_id: "x".into(),
                quantity: 1,
            }],
            true,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("items[0].product_id"));
    }

    #[test]
    fn only_admins_move_orders_forward_and_owners_cancel_pending_ones() {
        use OrderStatus::*;
        assert!(check_move(Pending, Paid, true).is_ok());
        assert_eq!(
            check_move(Pending, Paid, false).unwrap_err().code(),
            "forbidden"
        );
        assert!(check_move(Pending, Cancelled, false).is_ok());
        assert_eq!(
            check_move(Paid, Cancelled, false).unwrap_err().code(),
            "invalid_status_transition"
        );
        assert_eq!(
            check_move(Delivered, Cancelled, true).unwrap_err().code(),
            "invalid_status_transition"
        );
    }

    fn pending(lines: usize) -> Order {
        let catalog: HashMap<ProductId, ProductView> = (0..lines)
            .map(|i| {
                let id = ProductId::new();
                (
                    id.clone(),
                    view(&id, &format!("P{i}"), 100 * (i as i64 + 1)),
                )
            })
            .collect();
        let lines: Vec<Line> = catalog.keys().map(|id| line(id, 2)).collect();
        place(&lines, false, &catalog).unwrap()
    }

    fn now() -> Timestamp {
        Timestamp::parse("2026-12-04T12:00:00.000Z").unwrap()
    }

    #[test]
    fn a_payment_marks_a_pending_order_paid_by_its_intent() {
        let mut order = pending(2);
        order.payment_error = Some("declined".into());
        order.payment_open = true;
        let plan =
            plan_transition(&order, OrderStatus::Paid, Mover::Payment("pi_1"), now()).unwrap();
        assert_eq!(plan.from, OrderStatus::Pending);
        assert_eq!(
            (plan.order.status, plan.order.payment_status),
            (OrderStatus::Paid, PaymentStatus::Paid)
        );
        assert_eq!(plan.order.payment_intent_id.as_deref(), Some("pi_1"));
        assert_eq!(
            (plan.order.payment_error.clone(), plan.order.payment_open),
            (None, false)
        );
        assert_eq!(
            (plan.order.expires_at, plan.order.updated_at),
            (None, now())
        );
        assert!(plan.restock.is_empty() && plan.refund.is_none());
        assert!(
            plan.releases_unpaid,
            "a paid order no longer counts as unpaid"
        );
        let paid = plan.order;
        let again = plan_transition(&paid, OrderStatus::Paid, Mover::Payment("pi_2"), now());
        assert_eq!(again.unwrap_err().code(), "invalid_status_transition");
    }

    #[test]
    fn a_cancel_restocks_every_line_and_says_who_cancelled() {
        let order = pending(3);
        for (by, reason) in [
            (Mover::Owner, CancelReason::Shopper),
            (Mover::Admin, CancelReason::Admin),
            (Mover::Expiry, CancelReason::Expired),
        ] {
            let plan = plan_transition(&order, OrderStatus::Cancelled, by, now()).unwrap();
            assert_eq!(plan.order.cancel_reason, Some(reason));
            assert_eq!(plan.restock, order.items);
            assert_eq!(plan.order.payment_status, PaymentStatus::Unpaid);
            assert!(plan.refund.is_none() && plan.releases_unpaid);
            assert_eq!(plan.gives_back, None, "it used no code");
        }
    }

    #[test]
    fn only_a_cancel_gives_a_discount_codes_use_back() {
        let order = Order {
            promo_code: Some(PromoCode::parse("c", "save10").unwrap()),
            ..pending(1)
        };
        let lapsed = plan_transition(&order, OrderStatus::Cancelled, Mover::Expiry, now()).unwrap();
        assert_eq!(lapsed.gives_back, order.promo_code);
        let paid =
            plan_transition(&order, OrderStatus::Paid, Mover::Payment("pi_1"), now()).unwrap();
        assert_eq!(paid.gives_back, None);
        let refunded =
            plan_transition(&paid.order, OrderStatus::Cancelled, Mover::Admin, now()).unwrap();
        assert_eq!(refunded.gives_back, order.promo_code);
    }

    #[test]
    fn cancelling_a_paid_order_refunds_its_payment_first() {
        let order = pending(1);
        let paid = plan_transition(&order, OrderStatus::Paid, Mover::Payment("pi_9"), now())
            .unwrap()
            .order;
        let plan = plan_transition(&paid, OrderStatus::Cancelled, Mover::Admin, now()).unwrap();
        assert_eq!(plan.refund.as_deref(), Some("pi_9"));
        assert_eq!(plan.order.payment_status, PaymentStatus::Refunded);
        assert!(!plan.releases_unpaid, "only a PENDING order was counted");
        assert_eq!(plan.restock, paid.items);
        // Paid by bank transfer (an admin's move): nothing to refund through Stripe.
        let by_hand = plan_transition(&order, OrderStatus::Paid, Mover::Admin, now())
            .unwrap()
            .order;
        let plan = plan_transition(&by_hand, OrderStatus::Cancelled, Mover::Admin, now()).unwrap();
        assert_eq!(plan.refund, None);
    }

    fn ship_by_ups() -> Move {
        Move::try_from(StatusRequest {
            status: "shipped".into(),
            carrier: Some("ups".into()),
            tracking_number: Some("1Z999AA10123456784".into()),
            tracking_url: None,
        })
        .unwrap()
    }

    #[test]
    fn shipping_records_the_parcel_and_needs_its_tracking() {
        let order = pending(1);
        let paid = plan_transition(&order, OrderStatus::Paid, Mover::Admin, now())
            .unwrap()
            .order;
        let untracked = plan_transition(&paid, OrderStatus::Shipped, Mover::Admin, now());
        assert_eq!(untracked.unwrap_err().code(), "invalid_field");
        let shipped = plan_transition(&paid, ship_by_ups(), Mover::Admin, now())
            .unwrap()
            .order;
        let parcel = shipped.shipment.expect("the shipment is recorded");
        assert_eq!(parcel.carrier, super::super::shipment::Carrier::Ups);
        assert_eq!(parcel.shipped_at, now());
        assert!(parcel.tracking_url.ends_with("1Z999AA10123456784"));
        // Tracking goes with SHIPPED only, and SHIPPED never goes without it.
        let stray = StatusRequest {
            status: "CANCELLED".into(),
            carrier: None,
            tracking_number: Some("1Z".into()),
            tracking_url: None,
        };
        assert_eq!(Move::try_from(stray).unwrap_err().code(), "invalid_field");
        let bare = StatusRequest {
            status: "SHIPPED".into(),
            carrier: None,
            tracking_number: None,
            tracking_url: None,
        };
        assert_eq!(Move::try_from(bare).unwrap_err().code(), "invalid_field");
    }

    #[test]
    fn each_mover_may_make_only_its_own_moves() {
        let order = pending(1);
        let shipped = |o: &Order| {
            let paid = plan_transition(o, OrderStatus::Paid, Mover::Admin, now()).unwrap();
            plan_transition(&paid.order, ship_by_ups(), Mover::Admin, now())
                .unwrap()
                .order
        };
        let code = |r: ApiResult<Transition>| r.unwrap_err().code();
        assert_eq!(
            code(plan_transition(
                &order,
                OrderStatus::Paid,
                Mover::Owner,
                now()
            )),
            "forbidden"
        );
        assert_eq!(
            code(plan_transition(
                &order,
                OrderStatus::Paid,
                Mover::Expiry,
                now()
            )),
            "invalid_status_transition"
        );
        assert_eq!(
            code(plan_transition(
                &order,
                OrderStatus::Cancelled,
                Mover::Payment("pi"),
                now()
            )),
            "invalid_status_transition"
        );
        let shipped = shipped(&order);
        assert_eq!(
            code(plan_transition(
                &shipped,
                OrderStatus::Cancelled,
                Mover::Admin,
                now()
            )),
            "invalid_status_transition"
        );
        assert_eq!(
            code(plan_transition(
                &shipped,
                OrderStatus::Cancelled,
                Mover::Expiry,
                now()
            )),
            "invalid_status_transition"
        );
        let delivered =
            plan_transition(&shipped, OrderStatus::Delivered, Mover::Admin, now()).unwrap();
        assert!(delivered.restock.is_empty() && !delivered.releases_unpaid);
    }

    #[test]
    fn idempotency_keys_are_required_visible_and_bounded() {
        assert_eq!(idempotency_key(Some(" k-1 ")).unwrap(), "k-1");
        for bad in [None, Some(""), Some("a b"), Some("é")] {
            assert!(idempotency_key(bad).is_err(), "{bad:?}");
        }
        assert!(idempotency_key(Some(&"k".repeat(101))).is_err());
        assert!(order_id_in_path("nope").is_err());
    }
}
