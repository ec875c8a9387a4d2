//! Checkout. ONE DynamoDB transaction holds the order, the idempotency record and a conditional
//! stock decrement per line (plus deleting the cart when the cart was checked out, and taking a use
//! of the discount code within its limits), so stock can never be oversold, a code never used past
//! its limits, and a retried request never reserves twice.

use std::collections::HashMap;

use super::{
    model::{
        Checkout, CheckoutSource, IDEMPOTENCY_TTL_SECS, Line, ORDERS_PLACED, OUT_OF_STOCK, Order,
        REVENUE_CENTS, basket, busy, order_from, product_ids, unknown_products,
    },
    store::{self, CONFLICT_ATTEMPTS, CartRecord, backoff},
};
use crate::{
    app::App,
    auth::Principal,
    catalog::{
        model::ProductView,
        store::{self as catalog, StockFound, load_products, product_key},
    },
    error::{ApiError, ApiResult},
    platform::{
        db::{self, Fetched, Reasons, Tx, TxError},
        metrics,
    },
    pricing::{
        quote::{Offer, Quote, quote},
        rates::{ShippingRates, TaxRates},
        store as rates,
    },
    promotions::{
        model::{Invalid, Promotion, exhausted},
        store as promotions,
    },
    types::{ProductId, Timestamp},
};

/// How a checkout ended.
pub enum Outcome {
    /// This request placed the order.
    Placed(Order),
    /// An earlier request with the same key and body had placed it.
    Replayed(Order),
}

/// What a checkout or a quote needs to have read first (in the same round trip as
/// authentication): the products of `items`, or the cart, the shipping and tax rates, and the
/// discount code.
pub fn prefetch(app: &App, checkout: &Checkout, user: &crate::types::UserId) -> db::BatchGet {
    let tables = &app.config.tables;
    let batch = match &checkout.source {
        CheckoutSource::Items(lines) => lines.iter().fold(db::BatchGet::default(), |b, l| {
            b.get(&tables.products, product_key(&l.product_id), false)
        }),
        CheckoutSource::Cart => {
            db::BatchGet::default().get(&tables.orders, store::cart_key(user), true)
        }
    };
    let batch = match &checkout.promo_code {
        Some(code) => promotions::prefetch(app, batch, code),
        None => batch,
    };
    rates::prefetch(app, batch)
}

/// What [`prefetch`] read, taken apart.
pub struct Prefetched {
    pub lines: Vec<Line>,
    /// The cart's version, when the cart is checked out (the checkout deletes exactly that cart).
    pub cart_version: Option<String>,
    /// The products of explicit items (a cart's are read once its lines are known).
    pub products: Option<HashMap<ProductId, ProductView>>,
    pub shipping: ShippingRates,
    pub tax: TaxRates,
    /// The discount code entered, as read (`None` also when it names no code).
    pub promotion: Option<Promotion>,
}

/// Takes [`prefetch`]'s items out of `fetched`; `None` for an empty cart.
pub fn prefetched(
    app: &App,
    who: &Principal,
    checkout: &Checkout,
    mut fetched: Fetched,
) -> ApiResult<Option<Prefetched>> {
    let tables = &app.config.tables;
    let (shipping, tax) = rates::take(app, &mut fetched)?;
    let promotion = match &checkout.promo_code {
        Some(code) => promotions::take(app, &mut fetched, code)?,
        None => None,
    };
    let (lines, cart_version, products) = match &checkout.source {
        CheckoutSource::Items(lines) => (
            lines.clone(),
            None,
            Some(crate::catalog::store::views(
                fetched.take_all(&tables.products),
            )?),
        ),
        CheckoutSource::Cart => {
            let cart: CartRecord = fetched
                .take_as(&tables.orders, &store::cart_key(&who.user_id))?
                .unwrap_or_default();
            if cart.items.is_empty() {
                return Ok(None);
            }
            (cart.items, Some(cart.updated_at), None)
        }
    };
    Ok(Some(Prefetched {
        lines,
        cart_version,
        products,
        shipping,
        tax,
        promotion,
    }))
}

pub fn empty_cart() -> ApiError {
    ApiError::Rejected {
        code: "empty_cart",
        message: "the cart is empty: add products or send items".into(),
        details: None,
    }
}

/// The code `checkout` names, as read: 422 `promotion_invalid` when there is no such code, 409
/// `promotion_exhausted` when every use was taken when read.
fn offer<'a>(checkout: &Checkout, read: &'a Prefetched) -> ApiResult<Option<Offer<'a>>> {
    let Some(code) = &checkout.promo_code else {
        return Ok(None);
    };
    let promotion = read
        .promotion
        .as_ref()
        .ok_or_else(|| Invalid::Unknown.error(code))?;
    if promotion.used_up() {
        return Err(exhausted(code, false));
    }
    Ok(Some(Offer {
        promotion,
        at: Timestamp::now(),
    }))
}

/// The quote of `checkout` from what was read: the catalog (read now when `products` is `None`),
/// the rates, the address and method, the discount code.
pub async fn price(app: &App, checkout: &Checkout, read: &mut Prefetched) -> ApiResult<Quote> {
    let catalog = match read.products.take() {
        Some(found) => found,
        None => load_products(app, &product_ids(&read.lines)).await?,
    };
    let items = basket(&read.lines, checkout.from_cart(), &catalog)
        .map_err(|gone| unknown_products(&gone))?;
    quote(
        &items,
        &checkout.address,
        checkout.method.as_ref(),
        &read.shipping,
        &read.tax,
        &app.settings.catalog.currency,
        offer(checkout, read)?,
    )
}

/// Places the order `checkout` describes for `who`, given what `prefetch` read.
pub async fn checkout(
    app: &App,
    who: &Principal,
    key: &str,
    checkout: &Checkout,
    fetched: Fetched,
) -> ApiResult<Outcome> {
    let fingerprint = checkout.fingerprint();
    // What a repeated request finds changed (its cart emptied, a product since deleted) must not
    // hide the order the first one placed: any refusal before the transaction checks for a replay.
    let refuse =
        async |err: ApiError| match store::replay(app, &who.user_id, key, &fingerprint).await? {
            Some(order) => Ok(Outcome::Replayed(order)),
            None => Err(err),
        };
    let Some(mut read) = prefetched(app, who, checkout, fetched)? else {
        return refuse(empty_cart()).await;
    };
    for attempt in 0..CONFLICT_ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        // A retry re-reads the catalog: a price may have changed under us.
        let priced = match price(app, checkout, &mut read).await {
            Ok(q) => q,
            Err(
                e @ (ApiError::Rejected { .. }
                | ApiError::Invalid { .. }
                | ApiError::Conflict { .. }),
            ) => {
                return refuse(e).await;
            }
            Err(e) => return Err(e),
        };
        let order = order_from(
            &who.user_id,
            &priced,
            checkout.address.clone(),
            app.settings.orders.payment_window,
        );
        match place(
            app,
            who,
            key,
            &fingerprint,
            &order,
            read.cart_version.as_deref(),
            read.promotion
                .as_ref()
                .filter(|_| order.promo_code.is_some()),
        )
        .await?
        {
            Placed::Done => {
                tracing::info!(order_id = %order.id, total_cents = order.total_cents.get(), "order placed");
                metrics::emit(&[(ORDERS_PLACED, 1), (REVENUE_CENTS, order.total_cents.get())]);
                return Ok(Outcome::Placed(order));
            }
            Placed::Failed(err) => return Err(err),
            Placed::KeyTaken => {
                // A concurrent request with the same key won the race: answer as it did.
                return match store::replay(app, &who.user_id, key, &fingerprint).await? {
                    Some(order) => Ok(Outcome::Replayed(order)),
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
    promotion: Option<&Promotion>,
) -> ApiResult<Placed> {
    let mut tx = Tx::new().put("order", store::put_order(app, order)?).put(
        "idempotency",
        store::put_idempotency(
            app,
            &who.user_id,
            key,
            &order.id,
            fingerprint,
            IDEMPOTENCY_TTL_SECS,
        )?,
    );
    for line in &order.items {
        let hold = catalog::reserve(app, &line.product_id, line.quantity, line.unit_price_cents)?;
        tx = tx.update("line", hold);
    }
    tx = tx.update("unpaid", store::count_unpaid(app, &who.user_id)?);
    if let Some(promo) = promotion {
        let [code, own] = promotions::redeem(app, promo, &who.user_id)?;
        tx = tx.update("promotion", code).update("promotion_use", own);
    }
    if let Some(version) = cart_version {
        tx = tx.delete(
            "cart",
            store::delete_cart_version(app, &who.user_id, version)?,
        );
    }
    let reasons = match tx.send(&app.dynamo).await {
        Ok(()) => return Ok(Placed::Done),
        Err(TxError::Cancelled(r)) => r,
        Err(TxError::Failed(e)) => return Err(e),
    };
    if reasons.failed("idempotency") {
        return Ok(Placed::KeyTaken);
    }
    if reasons.failed("unpaid") {
        let max = app.settings.orders.max_unpaid_orders;
        return Ok(Placed::Failed(ApiError::conflict(
            "too_many_unpaid_orders",
            format!("you already have {max} unpaid orders: pay for or cancel one first"),
        )));
    }
    if let Some(promo) = promotion {
        if reasons.failed("promotion") {
            return Ok(Placed::Failed(exhausted(&promo.code, false)));
        }
        if reasons.failed("promotion_use") {
            return Ok(Placed::Failed(exhausted(&promo.code, true)));
        }
    }
    if let Some(failed) = line_failure(order, &reasons) {
        return Ok(Placed::Failed(failed));
    }
    if reasons.failed("cart") {
        return Ok(Placed::Failed(ApiError::conflict(
            "cart_changed",
            "the cart changed during checkout; review it and try again",
        )));
    }
    let repriced = reasons.failed("line");
    if repriced || reasons.conflict() {
        // A price changed under us (re-read the catalog) or another transaction held an item.
        return Ok(Placed::Retry);
    }
    Err(TxError::Cancelled(reasons).into())
}

/// A line whose product is gone (422) or short of stock (409, naming what is short); `None` when
/// every failed line only failed on its price.
fn line_failure(order: &Order, reasons: &Reasons) -> Option<ApiError> {
    let mut short = Vec::new();
    let mut available = serde_json::Map::new();
    let mut gone = Vec::new();
    for (line, reason) in order.items.iter().zip(reasons.named("line")) {
        if !reason.condition_failed() {
            continue;
        }
        match catalog::stock_found(reason) {
            StockFound::Gone => gone.push(line.product_id.clone()),
            StockFound::Units(stock) if stock < i64::from(line.quantity.get()) => {
                short.push(line.product_id.clone());
                available.insert(line.product_id.to_string(), stock.into());
            }
            _ => {}
        }
    }
    if !gone.is_empty() {
        return Some(unknown_products(&gone));
    }
    if short.is_empty() {
        return None;
    }
    metrics::emit(&[(OUT_OF_STOCK, 1)]);
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
    Some(ApiError::Conflict {
        code: "insufficient_stock",
        message: format!("not enough stock: {}", names.join(", ")),
        details: Some(serde_json::json!({ "product_ids": short, "available": available })),
    })
}
