//! Checkout and orders. A checkout is ONE DynamoDB transaction: the order, the idempotency record
//! and a conditional stock decrement per line (plus deleting the cart when the cart was checked
//! out), so stock can never be oversold and a retried request never reserves twice.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::types::{
    Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use lambda_http::{Request, http::StatusCode};
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};
use sha2::{Digest, Sha256};

use crate::{
    app::App,
    auth::{self, Principal},
    cart::{self, Line, LineRequest, parse_lines, unknown_products},
    db::{
        self, BY_STATUS, BY_USER, BatchGet, Cancellation, Item, TRANSACTION_CONFLICT, keys, n, s,
    },
    error::{ApiError, ApiResult},
    http::{IDEMPOTENCY_KEY, Reply, header_str, json_body, path_param, query_param, record_order},
    metrics::{self, Metric},
    pagination::{self, Page},
    products::{self, load_products},
    types::{Cents, ProductId, Quantity, UserId, now_epoch_secs, now_rfc3339},
};

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 60 * 60;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 100;
/// Attempts at a transaction that DynamoDB cancelled only because another one touched the same item.
const CONFLICT_ATTEMPTS: u32 = 8;

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price_cents: Cents,
    pub quantity: Quantity,
}

/// An order as written: the public view plus its key attributes. Reads decode `Order` straight from
/// the item (unknown attributes are ignored), which skips the buffering `flatten` costs on the way in.
#[derive(Debug, Clone, Serialize)]
struct OrderRecord {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    gsi2pk: String,
    gsi2sk: String,
    #[serde(flatten)]
    order: Order,
}

/// `{id, user_id, status, items, total_cents, currency, created_at, updated_at}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub user_id: UserId,
    pub status: OrderStatus,
    pub items: Vec<OrderLine>,
    pub total_cents: Cents,
    pub currency: String,
    pub created_at: String,
    pub updated_at: String,
}

impl OrderRecord {
    fn new(order: Order) -> Self {
        OrderRecord {
            pk: keys::order_pk(&order.id),
            sk: keys::ORDER_SK.into(),
            gsi1pk: keys::user_pk(order.user_id.as_str()),
            gsi1sk: order.id.clone(),
            gsi2pk: keys::status_pk(order.status.as_str()),
            gsi2sk: order.id.clone(),
            order,
        }
    }
}

/// Prices the lines from the catalog (never from the client) and totals them.
pub fn build_order(
    user: &UserId,
    lines: &[Line],
    catalog: &HashMap<ProductId, (String, Cents)>,
    currency: &str,
) -> Result<Order, Vec<ProductId>> {
    let missing: Vec<ProductId> = lines
        .iter()
        .filter(|l| !catalog.contains_key(&l.product_id))
        .map(|l| l.product_id.clone())
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let items: Vec<OrderLine> = lines
        .iter()
        .map(|l| {
            let (name, price) = &catalog[&l.product_id];
            OrderLine {
                product_id: l.product_id.clone(),
                name: name.clone(),
                unit_price_cents: *price,
                quantity: l.quantity,
            }
        })
        .collect();
    let now = now_rfc3339();
    Ok(Order {
        id: ulid::Ulid::new().to_string(),
        user_id: user.clone(),
        status: OrderStatus::Pending,
        total_cents: Cents::sum(items.iter().map(|l| l.unit_price_cents.times(l.quantity))),
        items,
        currency: currency.to_string(),
        created_at: now.clone(),
        updated_at: now,
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    #[serde(default)]
    pub items: Option<Vec<LineRequest>>,
}

/// What a checkout buys: explicit lines, or whatever is in the cart.
pub enum CheckoutSource {
    Items(Vec<Line>),
    Cart,
}

impl TryFrom<CheckoutRequest> for CheckoutSource {
    type Error = ApiError;
    fn try_from(r: CheckoutRequest) -> ApiResult<Self> {
        match r.items {
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

impl CheckoutSource {
    /// Fingerprint of the request body, so a reused key with another body is detected.
    /// Line order does not matter.
    pub fn fingerprint(&self) -> String {
        let canonical = match self {
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
        B64.encode(Sha256::digest(canonical.as_bytes()))
    }
}

fn idempotency_key(req: &Request) -> ApiResult<String> {
    let key = header_str(req, IDEMPOTENCY_KEY)
        .map(str::trim)
        .unwrap_or_default();
    let ok = !key.is_empty()
        && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(key.to_string())
    } else {
        Err(ApiError::BadRequest {
            code: "invalid_idempotency_key",
            message: format!(
                "the Idempotency-Key header is required: 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters, unique per order attempt"
            ),
            field: Some("Idempotency-Key".into()),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyRecord {
    order_id: String,
    fingerprint: String,
    /// The table's TTL attribute (`db::TTL_ATTR`).
    expires_at: u64,
}

async fn load_order(app: &App, id: &str) -> ApiResult<Option<Order>> {
    db::get(
        &app.dynamo,
        &app.config.tables.orders,
        keys::order(id),
        true,
    )
    .await
}

/// The order an earlier request with this key created, or a 409 if that request had another body.
async fn replay(
    app: &App,
    user: &UserId,
    key: &str,
    fingerprint: &str,
) -> ApiResult<Option<Order>> {
    let record: Option<IdempotencyRecord> = db::get(
        &app.dynamo,
        &app.config.tables.orders,
        keys::idempotency(user.as_str(), key),
        true,
    )
    .await?;
    let Some(record) = record else {
        return Ok(None);
    };
    if record.expires_at <= now_epoch_secs() {
        return Ok(None);
    }
    if record.fingerprint != fingerprint {
        return Err(ApiError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different order request",
        ));
    }
    load_order(app, &record.order_id).await
}

fn replayed(order: &Order) -> ApiResult<Reply> {
    record_order(&order.id);
    Ok(Reply::json(StatusCode::CREATED, order)?.with_header(
        lambda_http::http::HeaderName::from_static("idempotent-replayed"),
        "true",
    ))
}

fn build<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> ApiResult<T> {
    r.map_err(ApiError::internal)
}

/// What to check out: the body's `items`, or the cart when the body is empty or `{}`.
fn checkout_source(req: &Request) -> ApiResult<CheckoutSource> {
    let body: CheckoutRequest = if req.body().as_ref().iter().all(u8::is_ascii_whitespace) {
        CheckoutRequest::default()
    } else {
        json_body(req)?
    };
    CheckoutSource::try_from(body)
}

/// `POST /orders`
pub async fn create_order(app: &'static App, req: Request) -> ApiResult<Reply> {
    let key = idempotency_key(&req);
    let source = checkout_source(&req);
    let tables = &app.config.tables;
    // One round trip reads the caller's account and what the checkout needs first: the products of
    // `items`, or the cart. An earlier request with this key is not looked for up front: the
    // transaction's conditional put of the idempotency record finds it, so a first attempt (nearly
    // every request) pays no read for it.
    let (who, mut fetched) = auth::authenticate_batch(app, &req, |user| match &source {
        Ok(CheckoutSource::Items(lines)) => lines.iter().fold(BatchGet::default(), |b, l| {
            b.get(
                &tables.products,
                keys::product(l.product_id.as_str()),
                false,
            )
        }),
        Ok(CheckoutSource::Cart) => {
            BatchGet::default().get(&tables.orders, keys::cart(user.as_str()), true)
        }
        Err(_) => BatchGet::default(),
    })
    .await?;
    let (key, source) = (key?, source?);
    let fingerprint = source.fingerprint();
    // What a repeated request finds changed (its cart emptied, a product since deleted) must not
    // hide the order the first one placed: any refusal before the transaction checks for a replay.
    let refuse = async |err: ApiError| match replay(app, &who.user_id, &key, &fingerprint).await? {
        Some(order) => replayed(&order),
        None => Err(err),
    };

    let (lines, cart_version, mut prefetched) = match &source {
        CheckoutSource::Items(lines) => (
            lines.clone(),
            None,
            Some(products::views(fetched.take_all(&tables.products))?),
        ),
        CheckoutSource::Cart => {
            let cart: cart::CartRecord = fetched
                .take_as(&tables.orders, &keys::cart(who.user_id.as_str()))?
                .unwrap_or_default();
            if cart.items.is_empty() {
                return refuse(ApiError::Unprocessable {
                    code: "empty_cart",
                    message: "the cart is empty: add products or send items".into(),
                    details: None,
                })
                .await;
            }
            (cart.items, Some(cart.updated_at), None)
        }
    };

    for attempt in 0..CONFLICT_ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        // A retry re-reads the catalog: a price may have changed under us.
        let catalog = match prefetched.take() {
            Some(found) => found,
            None => {
                let ids: Vec<ProductId> = lines.iter().map(|l| l.product_id.clone()).collect();
                load_products(app, &ids).await?
            }
        };
        let catalog: HashMap<ProductId, (String, Cents)> = catalog
            .into_iter()
            .map(|(id, p)| (id, (p.name, p.price_cents)))
            .collect();
        let order = match build_order(&who.user_id, &lines, &catalog, &app.config.currency) {
            Ok(order) => order,
            Err(missing) => return refuse(unknown_products(&missing)).await,
        };
        match place(
            app,
            &who,
            &key,
            &fingerprint,
            &order,
            cart_version.as_deref(),
        )
        .await?
        {
            Placed::Done => {
                record_order(&order.id);
                tracing::info!(order_id = %order.id, total_cents = order.total_cents.get(), "order placed");
                metrics::emit(&[
                    (Metric::OrdersPlaced, 1),
                    (Metric::RevenueCents, order.total_cents.get()),
                ]);
                return Reply::created(&order);
            }
            Placed::Failed(err) => return Err(err),
            Placed::KeyTaken => {
                // A concurrent request with the same key won the race: answer as it did.
                return match replay(app, &who.user_id, &key, &fingerprint).await? {
                    Some(order) => replayed(&order),
                    None => Err(ApiError::conflict(
                        "idempotency_conflict",
                        "a request with this Idempotency-Key is in progress; retry",
                    )),
                };
            }
            Placed::Retry => continue,
        }
    }
    Err(busy())
}

fn busy() -> ApiError {
    ApiError::conflict(
        "busy",
        "too many simultaneous changes to these products; retry shortly",
    )
}

/// Jittered exponential backoff for transaction conflicts.
async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.min(6);
    let jitter = u64::from(ulid::Ulid::new().random() as u16) % base.max(1);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

enum Placed {
    Done,
    Retry,
    KeyTaken,
    Failed(ApiError),
}

/// Writes the whole checkout in one transaction and interprets a cancellation.
async fn place(
    app: &App,
    who: &Principal,
    key: &str,
    fingerprint: &str,
    order: &Order,
    cart_version: Option<&str>,
) -> ApiResult<Placed> {
    let orders = &app.config.tables.orders;
    let products = &app.config.tables.products;
    let mut idem: Item = to_item(IdempotencyRecord {
        order_id: order.id.clone(),
        fingerprint: fingerprint.to_string(),
        expires_at: now_epoch_secs() + IDEMPOTENCY_TTL_SECS,
    })?;
    idem.extend(keys::idempotency(who.user_id.as_str(), key));
    let mut tx = app
        .dynamo
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(db::put_new(
                    orders,
                    to_item(OrderRecord::new(order.clone()))?,
                )?)
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .put(build(
                    Put::builder()
                        .table_name(orders)
                        .set_item(Some(idem))
                        // An expired record that TTL has not swept yet may be replaced.
                        .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                        .expression_attribute_values(":now", n(now_epoch_secs()))
                        .build(),
                )?)
                .build(),
        );
    for line in &order.items {
        tx = tx.transact_items(
            TransactWriteItem::builder()
                .update(build(
                    Update::builder()
                        .table_name(products)
                        .set_key(Some(keys::product(line.product_id.as_str())))
                        .update_expression("SET stock = stock - :q")
                        // Enough stock, and the price we charge is still the catalog price.
                        .condition_expression(
                            "attribute_exists(pk) AND stock >= :q AND price_cents = :p",
                        )
                        .expression_attribute_values(":q", n(line.quantity.get()))
                        .expression_attribute_values(":p", n(line.unit_price_cents.get()))
                        .return_values_on_condition_check_failure(
                            ReturnValuesOnConditionCheckFailure::AllOld,
                        )
                        .build(),
                )?)
                .build(),
        );
    }
    if let Some(version) = cart_version {
        tx = tx.transact_items(
            TransactWriteItem::builder()
                .delete(build(
                    Delete::builder()
                        .table_name(orders)
                        .set_key(Some(keys::cart(who.user_id.as_str())))
                        .condition_expression("updated_at = :v")
                        .expression_attribute_values(":v", s(version))
                        .build(),
                )?)
                .build(),
        );
    }
    let err = match tx.send().await {
        Ok(_) => return Ok(Placed::Done),
        Err(e) => e,
    };
    let Some(reasons) = db::cancellation_reasons(&err) else {
        return Err(err.into());
    };
    if reasons.get(1).is_some_and(Cancellation::condition_failed) {
        return Ok(Placed::KeyTaken);
    }
    let line_reasons = &reasons[2..2 + order.items.len().min(reasons.len().saturating_sub(2))];
    let mut short = Vec::new();
    let mut available = serde_json::Map::new();
    let mut gone = Vec::new();
    let mut repriced = false;
    for (line, reason) in order.items.iter().zip(line_reasons) {
        if !reason.condition_failed() {
            continue;
        }
        let current = reason.item.as_ref();
        let num = |k: &str| {
            current
                .and_then(|i| i.get(k))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
        };
        match (num("stock"), num("price_cents")) {
            (None, _) => gone.push(line.product_id.clone()),
            (Some(stock), _) if stock < i64::from(line.quantity.get()) => {
                short.push(line.product_id.clone());
                available.insert(line.product_id.to_string(), stock.into());
            }
            _ => repriced = true,
        }
    }
    if !gone.is_empty() {
        return Ok(Placed::Failed(unknown_products(&gone)));
    }
    if !short.is_empty() {
        metrics::emit(&[(Metric::OutOfStock, 1)]);
        let names: Vec<String> = order
            .items
            .iter()
            .filter(|l| short.contains(&l.product_id))
            .map(|l| {
                format!(
                    "{} (only {} left)",
                    l.name,
                    available[l.product_id.as_str()]
                )
            })
            .collect();
        return Ok(Placed::Failed(ApiError::Conflict {
            code: "insufficient_stock",
            message: format!("not enough stock: {}", names.join(", ")),
            details: Some(serde_json::json!({ "product_ids": short, "available": available })),
        }));
    }
    if cart_version.is_some() && reasons.last().is_some_and(Cancellation::condition_failed) {
        return Ok(Placed::Failed(ApiError::conflict(
            "cart_changed",
            "the cart changed during checkout; review it and try again",
        )));
    }
    let conflict = reasons
        .iter()
        .any(|r| r.code.as_deref() == Some(TRANSACTION_CONFLICT));
    if repriced || conflict {
        // A price changed under us (re-read the catalog) or another transaction held an item.
        return Ok(Placed::Retry);
    }
    Err(err.into())
}

/// `GET /orders?limit&cursor[&status]`: the caller's orders, newest first. Admins may pass
/// `status` to list every customer's orders in that status (customers get 403 for it).
pub async fn list_orders(app: &'static App, req: Request) -> ApiResult<Reply> {
    let limit = pagination::limit(&req)?;
    let status = query_param(&req, "status")
        .filter(|s| !s.is_empty())
        .map(|s| OrderStatus::parse("status", &s))
        .transpose()?;
    let query = |index: &'static db::Gsi, partition: String| {
        let scope = format!("{}|{partition}", index.name);
        let start = app.cursors.from_request(&scope, &req);
        async move {
            let out = app
                .dynamo
                .query()
                .table_name(&app.config.tables.orders)
                .index_name(index.name)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", index.pk)
                .expression_attribute_values(":pk", s(partition))
                .scan_index_forward(false)
                .set_exclusive_start_key(start?)
                .limit(limit)
                .send()
                .await?;
            Ok::<_, ApiError>((scope, out))
        }
    };
    let (scope, out) = match status {
        // Every customer's orders: admins only, so the role is known before anything is read.
        Some(st) => {
            auth::authenticate(app, &req).await?.require_admin()?;
            query(&BY_STATUS, keys::status_pk(st.as_str())).await?
        }
        // The caller's own orders: read while the token is checked.
        None => {
            auth::authenticate_with(app, &req, |id| query(&BY_USER, keys::user_pk(id.as_str())))
                .await?
                .1
        }
    };
    let items = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(from_item::<_, Order>)
        .collect::<Result<Vec<_>, _>>()?;
    Reply::ok(&Page {
        items,
        next_cursor: app.cursors.encode(&scope, out.last_evaluated_key.as_ref()),
    })
}

/// Loads an order the caller may see: its owner or an admin. Anyone else gets the same 404 as for
/// an order that does not exist.
async fn visible_order(app: &App, who: &Principal, req: &Request) -> ApiResult<Order> {
    visible(who, load_order(app, &order_id(req)?).await?)
}

/// The order id from the path; a malformed one cannot name an order (404).
fn order_id(req: &Request) -> ApiResult<String> {
    let id = path_param(req, "id")?;
    if ulid::Ulid::from_string(&id).is_err() {
        return Err(ApiError::NotFound("order"));
    }
    record_order(&id);
    Ok(id)
}

fn visible(who: &Principal, order: Option<Order>) -> ApiResult<Order> {
    match order {
        Some(o) if o.user_id == who.user_id || who.is_admin() => Ok(o),
        _ => Err(ApiError::NotFound("order")),
    }
}

/// `GET /orders/{id}`: the order is read while the token is checked.
pub async fn get_order(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = order_id(&req)?;
    let (who, order) = auth::authenticate_with(app, &req, |_| load_order(app, &id)).await?;
    Reply::ok(&visible(&who, order)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: String,
}

/// `PUT /orders/{id}/status`: admins move orders along the state machine; an owner may cancel
/// their own PENDING order. A move the state machine forbids is a 409.
pub async fn update_order_status(app: &'static App, req: Request) -> ApiResult<Reply> {
    let who = auth::authenticate(app, &req).await?;
    let body: StatusRequest = json_body(&req)?;
    let to = OrderStatus::parse("status", &body.status)?;
    let order = visible_order(app, &who, &req).await?;
    if !who.is_admin() {
        if to != OrderStatus::Cancelled {
            return Err(ApiError::Forbidden(
                "only an admin can move an order to this status",
            ));
        }
        if order.status != OrderStatus::Pending {
            return Err(invalid_move(order.status, to));
        }
    }
    if !order.status.can_move_to(to) {
        return Err(invalid_move(order.status, to));
    }
    let updated = transition(app, &order, to).await?;
    Reply::ok(&updated)
}

fn invalid_move(from: OrderStatus, to: OrderStatus) -> ApiError {
    ApiError::conflict(
        "invalid_status_transition",
        format!(
            "an order cannot move from {} to {}",
            from.as_str(),
            to.as_str()
        ),
    )
}

/// Moves the order from its current status to `to`, guarded by a condition on the current status
/// (so two concurrent moves cannot both succeed). Cancelling restores the stock in the same
/// transaction; lines whose product has since been deleted are not restocked.
async fn transition(app: &App, order: &Order, to: OrderStatus) -> ApiResult<Order> {
    let now = now_rfc3339();
    let orders = &app.config.tables.orders;
    let mut skip: Vec<ProductId> = Vec::new();
    for attempt in 0..CONFLICT_ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        let update = build(
            Update::builder()
                .table_name(orders)
                .set_key(Some(keys::order(&order.id)))
                .update_expression("SET #st = :to, gsi2pk = :gsi, updated_at = :now")
                .condition_expression("#st = :from")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":to", s(to.as_str()))
                .expression_attribute_values(":from", s(order.status.as_str()))
                .expression_attribute_values(":gsi", s(keys::status_pk(to.as_str())))
                .expression_attribute_values(":now", s(&now))
                .build(),
        )?;
        let mut tx = app
            .dynamo
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build());
        let restock: Vec<&OrderLine> = if to == OrderStatus::Cancelled {
            order
                .items
                .iter()
                .filter(|l| !skip.contains(&l.product_id))
                .collect()
        } else {
            Vec::new()
        };
        for line in &restock {
            tx = tx.transact_items(
                TransactWriteItem::builder()
                    .update(build(
                        Update::builder()
                            .table_name(&app.config.tables.products)
                            .set_key(Some(keys::product(line.product_id.as_str())))
                            .update_expression("SET stock = stock + :q")
                            .condition_expression("attribute_exists(pk)")
                            .expression_attribute_values(":q", n(line.quantity.get()))
                            .build(),
                    )?)
                    .build(),
            );
        }
        let err = match tx.send().await {
            Ok(_) => {
                tracing::info!(order_id = %order.id, from = order.status.as_str(), to = to.as_str(), "order status changed");
                let mut updated = order.clone();
                updated.status = to;
                updated.updated_at = now;
                return Ok(updated);
            }
            Err(e) => e,
        };
        let Some(reasons) = db::cancellation_reasons(&err) else {
            return Err(err.into());
        };
        if reasons.first().is_some_and(Cancellation::condition_failed) {
            // Someone else moved it first; report against its real current status.
            let current = load_order(app, &order.id)
                .await?
                .map(|o| o.status)
                .unwrap_or(order.status);
            return Err(invalid_move(current, to));
        }
        let deleted: Vec<ProductId> = restock
            .iter()
            .zip(reasons.iter().skip(1))
            .filter(|(_, r)| r.condition_failed())
            .map(|(l, _)| l.product_id.clone())
            .collect();
        if deleted.is_empty()
            && !reasons
                .iter()
                .any(|r| r.code.as_deref() == Some(TRANSACTION_CONFLICT))
        {
            return Err(err.into());
        }
        skip.extend(deleted);
    }
    Err(busy())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn line(id: &ProductId, q: i64) -> Line {
        Line {
            product_id: id.clone(),
            quantity: Quantity::parse("q", q).unwrap(),
        }
    }

    #[test]
    fn order_is_priced_from_the_catalog_and_totalled() {
        let (a, b) = (ProductId::new(), ProductId::new());
        let catalog = HashMap::from([
            (
                a.clone(),
                ("Mug".to_string(), Cents::price("p", 1490).unwrap()),
            ),
            (
                b.clone(),
                ("Tea".to_string(), Cents::price("p", 890).unwrap()),
            ),
        ]);
        let user = UserId::from_trusted("U1");
        let o = build_order(&user, &[line(&a, 2), line(&b, 3)], &catalog, "USD").unwrap();
        assert_eq!(o.total_cents.get(), 2 * 1490 + 3 * 890);
        assert_eq!(o.status, OrderStatus::Pending);
        assert_eq!(o.items[0].name, "Mug");
        assert_eq!(o.items[1].unit_price_cents.get(), 890);
        let ghost = ProductId::new();
        assert_eq!(
            build_order(&user, &[line(&ghost, 1)], &catalog, "USD").unwrap_err(),
            vec![ghost]
        );
    }

    #[test]
    fn fingerprint_ignores_line_order_but_not_quantities() {
        let (a, b) = (ProductId::new(), ProductId::new());
        let one = CheckoutSource::Items(vec![line(&a, 1), line(&b, 2)]).fingerprint();
        let same = CheckoutSource::Items(vec![line(&b, 2), line(&a, 1)]).fingerprint();
        let other = CheckoutSource::Items(vec![line(&a, 1), line(&b, 3)]).fingerprint();
        assert_eq!(one, same);
        assert_ne!(one, other);
        assert_ne!(one, CheckoutSource::Cart.fingerprint());
    }
}
