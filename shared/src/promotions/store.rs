//! Discount codes in DynamoDB, in the orders table (the checkout's transaction counts a use
//! there with the order): every code under one partition (`PROMOTIONS` / `CODE#<code>`, so the
//! list is one paged Query in code order), and one counter per customer and
//! code (`PROMOUSE#<code>#<user>` / `PROMOUSE`). `redeemed` on the code's item counts the orders
//! holding it now; the outbox's stream filter matches neither key.

use aws_sdk_dynamodb::types::Update;
use serde_dynamo::to_item;

use super::model::{PromoCode, Promotion};
use crate::{
    app::App,
    audit,
    error::{ApiError, ApiResult},
    platform::db::{self, Fetched, Item, Page, PageQuery, PageRequest, Tx, TxError, UpdateExpr, n},
    types::UserId,
};

const PARTITION: &str = "PROMOTIONS";
const REDEEMED: &str = "redeemed";
const MAX_REDEMPTIONS: &str = "max_redemptions";
const USES: &str = "uses";

fn table(app: &App) -> &str {
    &app.config.tables.orders
}

pub fn key(code: &PromoCode) -> Item {
    db::key(PARTITION.into(), &format!("CODE#{code}"))
}

fn use_key(code: &PromoCode, user: &UserId) -> Item {
    db::key(format!("PROMOUSE#{code}#{user}"), "PROMOUSE")
}

/// Adds the code's item to a checkout's or quote's batch read.
pub fn prefetch(app: &App, batch: db::BatchGet, code: &PromoCode) -> db::BatchGet {
    batch.get(table(app), key(code), false)
}

/// The code out of a batch read [`prefetch`] extended (`None`: no such code).
pub fn take(app: &App, fetched: &mut Fetched, code: &PromoCode) -> ApiResult<Option<Promotion>> {
    fetched
        .take(table(app), &key(code))
        .map(db::decode)
        .transpose()
}

/// Creates the code with its audit entry; 409 `promotion_exists` when the code is taken.
pub async fn create(app: &App, promo: &Promotion, audit: &audit::Entry) -> ApiResult<()> {
    let mut item: Item = to_item(promo)?;
    item.extend(key(&promo.code));
    let tx = Tx::new()
        .put("promotion", db::put_new(table(app), item)?)
        .put("audit", audit::store::record(app, audit)?);
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(()),
        Err(TxError::Cancelled(r)) if r.failed("promotion") => Err(ApiError::conflict(
            "promotion_exists",
            format!("{} is already a discount code", promo.code),
        )),
        Err(e) => Err(e.into()),
    }
}

pub async fn load(app: &App, code: &PromoCode) -> ApiResult<Option<Promotion>> {
    db::get_item(&app.dynamo, table(app), key(code), true)
        .await?
        .map(db::decode)
        .transpose()
}

/// One page of the codes, A to Z.
pub async fn page(app: &App, page: &PageRequest) -> ApiResult<Page<Promotion>> {
    let query = PageQuery {
        table: table(app),
        index: None,
        partition: PARTITION.into(),
        prefix: None,
        descending: false,
    };
    db::query_page(&app.dynamo, &app.cursors, query, page).await
}

/// Writes the admin's edit of the limits and period with its audit entry, leaving the count of
/// uses as the checkouts keep it; `false` when there is no such code.
pub async fn save_limits(app: &App, edited: &Promotion, audit: &audit::Entry) -> ApiResult<bool> {
    let mut u = UpdateExpr::new();
    let item: Item = to_item(edited)?;
    for attr in [
        "min_subtotal_cents",
        "starts_at",
        "ends_at",
        MAX_REDEMPTIONS,
        "max_per_customer",
        "updated_at",
    ] {
        match item.get(attr) {
            Some(v) => u.set(attr, v.clone()),
            None => u.remove(attr),
        };
    }
    u.condition(db::exists());
    let tx = Tx::new()
        .update("promotion", u.tx_item(table(app), key(&edited.code))?)
        .put("audit", audit::store::record(app, audit)?);
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(true),
        Err(TxError::Cancelled(r)) if r.failed("promotion") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The checkout transaction's items that take one use of `promo` for `user`: the code's count,
/// refused once every use is taken (named `promotion`), and the customer's own, refused at their
/// limit (named `promotion_use`). Both read the limits the item holds at the write, not as read.
pub fn redeem(app: &App, promo: &Promotion, user: &UserId) -> ApiResult<[Update; 2]> {
    let mut u = UpdateExpr::new();
    u.add(REDEEMED, n(1));
    let (count, max) = (u.name(REDEEMED), u.name(MAX_REDEMPTIONS));
    u.condition(format!(
        "{} AND (attribute_not_exists({max}) OR attribute_not_exists({count}) OR {count} < {max})",
        db::exists()
    ));
    let code = u.tx_item(table(app), key(&promo.code))?;
    let mut c = UpdateExpr::new();
    c.add(USES, n(1));
    if let Some(max) = promo.max_per_customer {
        let (uses, max) = (c.name(USES), c.value(n(max)));
        c.condition(format!("attribute_not_exists({uses}) OR {uses} < {max}"));
    }
    Ok([code, c.tx_item(table(app), use_key(&promo.code, user))?])
}

/// The items that give one use of `code` back to it and to `user` (an order holding it cancelled
/// or lapsed; the order's own conditional move makes this happen once).
pub fn give_back(app: &App, code: &PromoCode, user: &UserId) -> ApiResult<[Update; 2]> {
    let mut u = UpdateExpr::new();
    u.add(REDEEMED, n(-1));
    let mut c = UpdateExpr::new();
    c.add(USES, n(-1));
    Ok([
        u.tx_item(table(app), key(code))?,
        c.tx_item(table(app), use_key(code, user))?,
    ])
}
