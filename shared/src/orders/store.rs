//! Orders and carts in DynamoDB: order items with their index keys (by customer, by status), the
//! cart item, idempotency records (expire by TTL), and status moves as conditional transactions.

use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Put};
use serde::{Deserialize, Serialize};
use serde_dynamo::to_item;

use super::model::{
    Line, Order, OrderLine, OrderStatus, OrderView, PaymentStatus, Sort, Transition, busy,
    invalid_move,
};
use crate::{
    app::App,
    audit,
    auth::account::account_pk,
    catalog::store::{self as catalog, Restock, StockFound},
    error::{ApiError, ApiResult},
    platform::{
        config::{TableId, env},
        db::{
            self, Gsi, Item, Page, PageQuery, PageRequest, TTL_ATTR, TableDef, Tx, TxError,
            UpdateExpr, built, n, s,
        },
    },
    promotions::store as promotions,
    types::{OrderId, ProductId, Timestamp, UserId, now_epoch_secs},
};

/// Orders, carts and idempotency records (the last expire by TTL after 24 h).
pub const TABLE: TableDef = TableDef {
    id: TableId::Orders,
    env: env::ORDERS_TABLE,
    gsis: &[BY_USER, BY_STATUS, BY_DAY],
    ttl: true,
    stream: true,
};
/// A customer's orders, newest first (order ids are ULIDs, so they sort by time).
pub const BY_USER: Gsi = Gsi::first("by_user");
/// Every order in one status, for the admin's fulfilment lists.
pub const BY_STATUS: Gsi = Gsi::second("by_status");
/// The orders placed on one UTC day, in the order they were placed (the export).
pub const BY_DAY: Gsi = Gsi::third("by_day", "id");

/// Attempts at a transaction that DynamoDB cancelled only because another one touched the same item.
pub const CONFLICT_ATTEMPTS: u32 = 8;
const STATUS: &str = "status";
const UPDATED_AT: &str = "updated_at";
const PAYMENT_STATUS: &str = "payment_status";
const PAYMENT_INTENT: &str = "payment_intent_id";
const PAYMENT_ERROR: &str = "payment_error";
const PAYMENT_ATTEMPTS: &str = "payment_attempts";
const CANCEL_REASON: &str = "cancel_reason";
const SHIPMENT: &str = "shipment";
/// The order's RFC 3339 deadline (not the table's numeric TTL attribute of the same name, which
/// only idempotency records carry).
const EXPIRES_AT: &str = "expires_at";

/// An order item's key: `ORDER#<id>` / `ORDER` (the outbox's stream filter matches the prefix).
pub const ORDER_PREFIX: &str = "ORDER#";
pub const ORDER_SK: &str = "ORDER";

pub fn order_key(id: &OrderId) -> Item {
    db::key(format!("{ORDER_PREFIX}{id}"), ORDER_SK)
}

pub fn cart_key(user: &UserId) -> Item {
    db::key(format!("CART#{user}"), "CART")
}

/// How many unpaid orders a customer holds: counted up in the checkout transaction (refused at the
/// limit) and down in the transaction that moves a counted order out of PENDING.
fn unpaid_key(user: &UserId) -> Item {
    db::key(format!("UNPAID#{user}"), "UNPAID")
}
const UNPAID: &str = "unpaid";

/// The checkout transaction's count of one more unpaid order, refused at `max`.
pub fn count_unpaid(app: &App, user: &UserId) -> ApiResult<aws_sdk_dynamodb::types::Update> {
    let mut u = UpdateExpr::new();
    // ADD creates the counter at 1 for a customer's first order.
    u.add(UNPAID, n(1));
    let (count, max) = (
        u.name(UNPAID),
        u.value(n(app.settings.orders.max_unpaid_orders)),
    );
    u.condition(format!("attribute_not_exists({count}) OR {count} < {max}"));
    u.tx_item(table(app), unpaid_key(user))
}

/// Idempotency keys are scoped to the user who sent them.
pub fn idempotency_record_key(user: &UserId, idem_key: &str) -> Item {
    db::key(format!("IDEMPOTENCY#{user}#{idem_key}"), "IDEMPOTENCY")
}

/// The `by_day` partition of the orders placed on UTC day `day` (`YYYY-MM-DD`).
fn placed_pk(day: &str) -> String {
    format!("PLACED#{day}")
}

/// The orders placed on UTC day `day` (`YYYY-MM-DD`), oldest first, after order `after` when
/// given; at most `limit`, and whether more follow.
pub async fn placed_on(
    app: &App,
    day: &str,
    after: Option<&OrderId>,
    limit: i32,
) -> ApiResult<(Vec<Order>, bool)> {
    let mut q = app
        .dynamo
        .query()
        .table_name(table(app))
        .index_name(BY_DAY.name)
        .expression_attribute_names("#pk", BY_DAY.pk)
        .expression_attribute_values(":pk", s(placed_pk(day)))
        .limit(limit);
    q = match after {
        None => q.key_condition_expression("#pk = :pk"),
        Some(id) => q
            .key_condition_expression("#pk = :pk AND #id > :after")
            .expression_attribute_names("#id", BY_DAY.sk)
            .expression_attribute_values(":after", s(id.as_str())),
    };
    let out = q.send().await?;
    let more = out
        .last_evaluated_key
        .as_ref()
        .is_some_and(|k| !k.is_empty());
    Ok((db::decode_all(out.items.unwrap_or_default())?, more))
}

fn status_pk(status: OrderStatus) -> String {
    format!("STATUS#{}", status.as_str())
}

/// An order's primary and index keys. Checkout writes them all; a status move rewrites them from
/// the new status, so the two can never disagree.
fn keys(order: &Order) -> Item {
    let mut k = order_key(&order.id);
    for (attr, v) in [
        (BY_USER.pk, account_pk(order.user_id.as_str())),
        (BY_USER.sk, order.id.to_string()),
        (BY_STATUS.pk, status_pk(order.status)),
        (BY_STATUS.sk, order.id.to_string()),
        (BY_DAY.pk, placed_pk(&order.created_at.to_string()[..10])),
    ] {
        k.insert(attr.to_string(), s(v));
    }
    k
}

fn table(app: &App) -> &str {
    &app.config.tables.orders
}

/// The order as a transaction's conditional put (it must not exist yet).
pub fn put_order(app: &App, order: &Order) -> ApiResult<Put> {
    let mut item: Item = to_item(order)?;
    item.extend(keys(order));
    db::put_new(table(app), item)
}

pub async fn load_order(app: &App, id: &OrderId) -> ApiResult<Option<Order>> {
    db::get(&app.dynamo, table(app), order_key(id), true).await
}

/// One page of `user`'s orders in `sort` order of placing, as the API shows them.
pub async fn list_own(
    app: &App,
    user: &UserId,
    sort: Sort,
    page: &PageRequest,
) -> ApiResult<Page<OrderView>> {
    let newest_first = sort == Sort::NewestFirst;
    list_ordered(app, &BY_USER, account_pk(user.as_str()), page, newest_first).await
}

/// One page of every customer's orders in `status`, in `sort` order of placing.
pub async fn list_by_status(
    app: &App,
    status: OrderStatus,
    sort: Sort,
    page: &PageRequest,
) -> ApiResult<Page<OrderView>> {
    let newest_first = sort == Sort::NewestFirst;
    list_ordered(app, &BY_STATUS, status_pk(status), page, newest_first).await
}

async fn list_ordered<T: serde::de::DeserializeOwned>(
    app: &App,
    index: &Gsi,
    partition: String,
    page: &PageRequest,
    descending: bool,
) -> ApiResult<Page<T>> {
    let q = PageQuery {
        table: table(app),
        index: Some(index),
        partition,
        prefix: None,
        descending,
    };
    db::query_page(&app.dynamo, &app.cursors, q, page).await
}

/// The cart as stored. `updated_at` lets a checkout delete exactly the cart it read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CartRecord {
    pub items: Vec<Line>,
    pub updated_at: String,
}

pub async fn load_cart(app: &App, user: &UserId) -> ApiResult<CartRecord> {
    Ok(db::get(&app.dynamo, table(app), cart_key(user), true)
        .await?
        .unwrap_or_default())
}

/// Replaces the cart (an empty one is deleted).
pub async fn save_cart(app: &App, user: &UserId, lines: Vec<Line>) -> ApiResult<()> {
    if lines.is_empty() {
        return db::delete(&app.dynamo, table(app), cart_key(user)).await;
    }
    let mut item: Item = to_item(CartRecord {
        items: lines,
        updated_at: Timestamp::now().to_string(),
    })?;
    item.extend(cart_key(user));
    db::put(&app.dynamo, table(app), item).await
}

/// A transaction's delete of the cart, only if it is still the version the checkout read.
pub fn delete_cart_version(
    app: &App,
    user: &UserId,
    version: &str,
) -> ApiResult<aws_sdk_dynamodb::types::Delete> {
    built(
        aws_sdk_dynamodb::types::Delete::builder()
            .table_name(table(app))
            .set_key(Some(cart_key(user)))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", UPDATED_AT)
            .expression_attribute_values(":v", s(version))
            .build(),
    )
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyRecord {
    order_id: OrderId,
    fingerprint: String,
}

/// The idempotency record of a checkout, as a transaction's put: it fails while an unexpired
/// record holds the key (an expired one that TTL has not swept yet may be replaced).
pub fn put_idempotency(
    app: &App,
    user: &UserId,
    key: &str,
    order_id: &OrderId,
    fingerprint: &str,
    ttl_secs: u64,
) -> ApiResult<Put> {
    let now = now_epoch_secs();
    let mut item: Item = to_item(IdempotencyRecord {
        order_id: order_id.clone(),
        fingerprint: fingerprint.to_string(),
    })?;
    item.insert(TTL_ATTR.into(), n(now + ttl_secs));
    item.extend(idempotency_record_key(user, key));
    built(
        Put::builder()
            .table_name(table(app))
            .set_item(Some(item))
            .condition_expression(format!("{} OR #ttl <= :now", db::not_exists()))
            .expression_attribute_names("#ttl", TTL_ATTR)
            .expression_attribute_values(":now", n(now))
            .build(),
    )
}

/// The order an earlier, unexpired request with this key created, or a 409 if that request had
/// another body.
pub async fn replay(
    app: &App,
    user: &UserId,
    key: &str,
    fingerprint: &str,
) -> ApiResult<Option<Order>> {
    let item = db::get_item(
        &app.dynamo,
        table(app),
        idempotency_record_key(user, key),
        true,
    )
    .await?;
    let Some(item) = item else {
        return Ok(None);
    };
    if db::num::<u64>(&item, TTL_ATTR).unwrap_or(0) <= now_epoch_secs() {
        return Ok(None);
    }
    let record: IdempotencyRecord = crate::db::decode(item)?;
    if record.fingerprint != fingerprint {
        return Err(ApiError::conflict(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different order request",
        ));
    }
    load_order(app, &record.order_id).await
}

/// The attribute holding a payment attempt's claim on the order: until when (epoch seconds) one
/// request may talk to Stripe for it. At most one attempt per order is in flight.
const PAYMENT_CLAIM: &str = "payment_claim";
const PAYMENT_INTENTS: &str = "payment_intents";
const PAYMENT_OPEN: &str = "payment_open";

/// Claims the order's payment for one request until `until` (epoch seconds): only while it is
/// PENDING at the attempt it was read with and no other request holds an unexpired claim. `false`
/// when another attempt holds it (or the order moved meanwhile).
pub async fn claim_payment(app: &App, order: &Order, now: u64, until: u64) -> ApiResult<bool> {
    let mut u = UpdateExpr::new();
    u.set(PAYMENT_CLAIM, n(until));
    let (claim, free) = (u.name(PAYMENT_CLAIM), u.value(n(now)));
    u.condition(format!(
        "attribute_not_exists({claim}) OR {claim} <= {free}"
    ));
    still_at_attempt(&mut u, order);
    db::applied(
        u.update_item(&app.dynamo, table(app), order_key(&order.id))
            .send()
            .await,
    )
}

/// Gives the claim back without recording anything (Stripe could not be reached).
pub async fn release_payment(app: &App, order: &Order) -> ApiResult<()> {
    let mut u = UpdateExpr::new();
    u.remove(PAYMENT_CLAIM).condition(db::exists());
    db::applied(
        u.update_item(&app.dynamo, table(app), order_key(&order.id))
            .send()
            .await,
    )?;
    Ok(())
}

/// Conditions: PENDING, and still at the attempt `order` was read with: as many attempts spent
/// and the same current intent. An attempt that opened an intent spends nothing, so without the
/// intent a request that read the order before it would plan a second intent for the same money.
fn still_at_attempt(u: &mut UpdateExpr, order: &Order) {
    let attempts = u.name(PAYMENT_ATTEMPTS);
    let read = u.value(n(order.payment_attempts));
    let (st, pending) = (u.name(STATUS), u.value(s(OrderStatus::Pending.as_str())));
    u.condition(format!("{st} = {pending}"));
    u.condition(format!(
        "attribute_not_exists({attempts}) OR {attempts} = {read}"
    ));
    let intent = u.name(PAYMENT_INTENT);
    match &order.payment_intent_id {
        Some(id) => {
            let read = u.value(s(id));
            u.condition(format!("{intent} = {read}"))
        }
        None => u.condition(format!("attribute_not_exists({intent})")),
    };
}

/// What a payment attempt on a PENDING order left behind.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    /// The PaymentIntent it created (none when Stripe refused before making one).
    pub intent: Option<&'a str>,
    /// Why it failed, in words for the shopper.
    pub error: Option<&'a str>,
    /// Whether it is over without a payment (the next attempt then uses a new Stripe
    /// idempotency key); an attempt not spent is the order's open attempt.
    pub spent: bool,
    /// The intent was created by this attempt (not resumed): it joins the order's intents.
    pub created: bool,
}

/// Records an attempt and gives its claim back. Conditional on the order still being PENDING at
/// the attempt it was read with, so a concurrent status move wins; `false` when it did.
pub async fn record_payment_attempt(app: &App, order: &Order, a: Attempt<'_>) -> ApiResult<bool> {
    let mut u = UpdateExpr::new();
    u.set(UPDATED_AT, s(Timestamp::now().to_string()))
        .remove(PAYMENT_CLAIM);
    if let Some(i) = a.intent {
        u.set(PAYMENT_INTENT, s(i));
        if a.created {
            u.push(PAYMENT_INTENTS, s(i));
        }
    }
    match a.error {
        Some(e) => u.set(PAYMENT_ERROR, s(e)),
        None => u.remove(PAYMENT_ERROR),
    };
    if a.intent.is_some() && !a.spent {
        u.set(PAYMENT_OPEN, AttributeValue::Bool(true));
    } else {
        u.remove(PAYMENT_OPEN);
    }
    if a.spent {
        u.set(PAYMENT_ATTEMPTS, n(order.payment_attempts + 1));
    }
    still_at_attempt(&mut u, order);
    db::applied(
        u.update_item(&app.dynamo, table(app), order_key(&order.id))
            .send()
            .await,
    )
}

/// Records that a payment for a CANCELLED order went back to the customer.
pub async fn record_refund(app: &App, order: &Order, intent: &str) -> ApiResult<bool> {
    let mut u = UpdateExpr::new();
    u.set(PAYMENT_STATUS, s(PaymentStatus::Refunded.as_str()))
        .set(PAYMENT_INTENT, s(intent))
        .set(UPDATED_AT, s(Timestamp::now().to_string()));
    let (st, cancelled) = (u.name(STATUS), u.value(s(OrderStatus::Cancelled.as_str())));
    u.condition(format!("{st} = {cancelled}"));
    db::applied(
        u.update_item(&app.dynamo, table(app), order_key(&order.id))
            .send()
            .await,
    )
}

/// One page of PENDING orders, oldest first: the expiry job's worklist. Ids are ULIDs and every
/// order gets the same payment window, so this is also deadline order.
pub async fn oldest_pending(app: &App, page: &PageRequest) -> ApiResult<Page<Order>> {
    list_ordered(
        app,
        &BY_STATUS,
        status_pk(OrderStatus::Pending),
        page,
        false,
    )
    .await
}

/// Jittered exponential backoff for transaction conflicts.
pub async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.min(6);
    let jitter = u64::from(ulid::Ulid::new().random() as u16) % base.max(1);
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Carries out a [`Transition`] in one transaction, conditional on the order still being in the
/// status it was planned from (of two concurrent moves one wins; the other is refused against the
/// status the order has now). A cancellation restores its lines' stock and gives its discount
/// code's use back in the same transaction;
/// a product deleted since is not restocked, and none is restocked past the most it may hold.
/// An admin's move records its `audit` entry in the same transaction.
pub async fn apply(app: &App, plan: &Transition, audit: Option<&audit::Entry>) -> ApiResult<Order> {
    let moved = &plan.order;
    // Lines whose product is gone (not restocked), and lines restocked to the maximum instead.
    let mut gone: Vec<ProductId> = Vec::new();
    let mut capped: Vec<ProductId> = Vec::new();
    for attempt in 0..CONFLICT_ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        let mut tx = Tx::new().update("order", move_item(app, plan)?);
        if let Some(entry) = audit {
            tx = tx.put("audit", audit::store::record(app, entry)?);
        }
        if plan.releases_unpaid {
            let mut c = UpdateExpr::new();
            c.add(UNPAID, n(-1));
            tx = tx.update("unpaid", c.tx_item(table(app), unpaid_key(&moved.user_id))?);
        }
        let restock: Vec<&OrderLine> = plan
            .restock
            .iter()
            .filter(|l| !gone.contains(&l.product_id))
            .collect();
        if let Some(code) = &plan.gives_back {
            for item in promotions::give_back(app, code, &moved.user_id)? {
                tx = tx.update("promotion", item);
            }
        }
        for line in &restock {
            let how = if capped.contains(&line.product_id) {
                Restock::FillUp(line.quantity)
            } else {
                Restock::Add(line.quantity)
            };
            tx = tx.update("restock", catalog::restock(app, &line.product_id, how)?);
        }
        let reasons = match tx.send(&app.dynamo).await {
            Ok(()) => {
                tracing::info!(order_id = %moved.id, from = plan.from.as_str(), to = moved.status.as_str(), "order status changed");
                return Ok(moved.clone());
            }
            Err(TxError::Cancelled(r)) => r,
            Err(e) => return Err(e.into()),
        };
        if reasons.failed("order") {
            // Someone else moved it first; report against its real current status.
            let current = load_order(app, &moved.id)
                .await?
                .map(|o| o.status)
                .unwrap_or(plan.from);
            return Err(invalid_move(current, moved.status));
        }
        // A refused restock is a product deleted since (not restocked), or one whose stock moved
        // across the maximum since we chose how to restock it (choose again).
        let mut changed = false;
        for (line, reason) in restock.iter().zip(reasons.named("restock")) {
            if !reason.condition_failed() {
                continue;
            }
            changed = true;
            let id = line.product_id.clone();
            match catalog::stock_found(reason) {
                StockFound::Gone => gone.push(id),
                StockFound::Units(_) if capped.contains(&id) => capped.retain(|c| *c != id),
                StockFound::Units(_) => capped.push(id),
            }
        }
        if !changed && !reasons.conflict() {
            return Err(TxError::Cancelled(reasons).into());
        }
    }
    Err(busy())
}

/// The order's half of a move: the new status and payment fields, if its status is still `from`.
fn move_item(app: &App, plan: &Transition) -> ApiResult<aws_sdk_dynamodb::types::Update> {
    let moved = &plan.order;
    let mut u = UpdateExpr::new();
    u.set(STATUS, s(moved.status.as_str()))
        .set(BY_STATUS.pk, keys(moved)[BY_STATUS.pk].clone())
        .set(UPDATED_AT, s(moved.updated_at.to_string()))
        .set(PAYMENT_STATUS, s(moved.payment_status.as_str()))
        .remove(EXPIRES_AT)
        .remove(PAYMENT_OPEN);
    match &moved.payment_error {
        Some(e) => u.set(PAYMENT_ERROR, s(e)),
        None => u.remove(PAYMENT_ERROR),
    };
    if let Some(intent) = &moved.payment_intent_id {
        u.set(PAYMENT_INTENT, s(intent));
    }
    if let Some(reason) = moved.cancel_reason {
        u.set(CANCEL_REASON, s(reason.as_str()));
    }
    if let Some(parcel) = &moved.shipment {
        u.set(SHIPMENT, serde_dynamo::to_attribute_value(parcel)?);
    }
    let (st, from) = (u.name(STATUS), u.value(s(plan.from.as_str())));
    u.condition(format!("{st} = {from}"));
    u.tx_item(table(app), order_key(&moved.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_follow_owner_and_status() {
        let order = Order {
            id: OrderId::from_trusted("01ORDER"),
            user_id: UserId::from_trusted("01USER"),
            status: OrderStatus::Paid,
            ..Order::example()
        };
        let k = keys(&order);
        assert_eq!(k[BY_USER.pk], s("USER#01USER"));
        assert_eq!(k[BY_USER.sk], s("01ORDER"));
        assert_eq!(k[BY_STATUS.pk], s("STATUS#PAID"));
        assert_eq!(k[db::PK], s("ORDER#01ORDER"));
    }
}
