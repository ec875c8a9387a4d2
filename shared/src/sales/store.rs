//! The sales figures in DynamoDB, in the orders table (the stream's `ORDER#` filter never sees
//! them). Each day's counters are split over [`SHARDS`] items (`SALES#<shard>` / `DAY#<date>`), and
//! each product's over the same shards (`SALES#<shard>` / `ITEM#<date>#<product>`): an event adds
//! to one shard, so a busy day's writes spread over several partitions, and a read of any range is
//! one Query per shard. An event is counted once: its marker (`SALESEVENT#<id>`) is put in the same
//! transaction as its counts, on the condition that none exists.

use super::model::{Day, Delta, Figures, ProductSale, Range, SHARDS, shard_of};
use crate::{
    app::App,
    error::ApiResult,
    orders::store::{CONFLICT_ATTEMPTS, backoff},
    platform::db::{self, Item, PK, SK, TTL_ATTR, Tx, TxError, UpdateExpr, n, s},
    types::{ProductId, now_epoch_secs},
};

/// How long a counted event is remembered: past EventBridge's (24 h) and Lambda's (6 h) retries.
const COUNTED_MEMORY_SECS: u64 = 7 * 24 * 60 * 60;
const DAY_PREFIX: &str = "DAY#";
const ITEM_PREFIX: &str = "ITEM#";
const NAME: &str = "name";
const UNITS: &str = "units";
const REVENUE: &str = "revenue_cents";

fn table(app: &App) -> &str {
    &app.config.tables.orders
}

fn partition(shard: u8) -> String {
    format!("SALES#{shard}")
}

fn marker(event_id: &str) -> Item {
    let mut item = db::key(format!("SALESEVENT#{event_id}"), "SALESEVENT");
    item.insert(TTL_ATTR.into(), n(now_epoch_secs() + COUNTED_MEMORY_SECS));
    item
}

#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    Counted,
    /// Counted before (a redelivery): nothing changed.
    AlreadyCounted,
}

/// Adds `delta` (from event `event_id`) to its day, once per event id.
pub async fn record(app: &App, event_id: &str, delta: &Delta) -> ApiResult<Recorded> {
    let pk = partition(shard_of(event_id));
    for attempt in 0..CONFLICT_ATTEMPTS {
        if attempt > 0 {
            backoff(attempt).await;
        }
        let mut tx = Tx::new().put("marker", db::put_new(table(app), marker(event_id))?);
        let mut day = UpdateExpr::new();
        for (counter, by) in delta.figures.counters() {
            if by != 0 {
                day.add(counter, n(by));
            }
        }
        if !day.is_empty() {
            let key = db::key(pk.clone(), &format!("{DAY_PREFIX}{}", delta.day));
            tx = tx.update("day", day.tx_item(table(app), key)?);
        }
        for sale in &delta.products {
            let mut u = UpdateExpr::new();
            u.add(UNITS, n(sale.units))
                .add(REVENUE, n(sale.revenue_cents))
                .set(NAME, s(sale.name.clone()));
            let sk = format!("{ITEM_PREFIX}{}#{}", delta.day, sale.product_id);
            tx = tx.update("product", u.tx_item(table(app), db::key(pk.clone(), &sk))?);
        }
        match tx.send(&app.dynamo).await {
            Ok(()) => return Ok(Recorded::Counted),
            Err(TxError::Cancelled(r)) if r.failed("marker") => {
                return Ok(Recorded::AlreadyCounted);
            }
            Err(TxError::Cancelled(r)) if r.conflict() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(crate::error::ApiError::Unavailable {
        dependency: "sales figures (the day's counters stayed busy)",
        source: None,
    })
}

/// Every stored row of `range`: the day counters and the product sales, all shards, read
/// concurrently (one Query per shard and kind, each paged through).
pub async fn load(
    app: &App,
    range: Range,
) -> ApiResult<(Vec<(Day, Figures)>, Vec<(Day, ProductSale)>)> {
    let reads = (0..SHARDS).flat_map(|shard| {
        [
            rows(app, shard, DAY_PREFIX, range, ""),
            rows(app, shard, ITEM_PREFIX, range, "#~"),
        ]
    });
    let pages = futures_util::future::try_join_all(reads).await?;
    let (mut days, mut products) = (Vec::new(), Vec::new());
    for item in pages.into_iter().flatten() {
        let Some(sk) = db::str_attr(&item, SK) else {
            continue;
        };
        if let Some(date) = sk.strip_prefix(DAY_PREFIX) {
            let Ok(day) = Day::parse(SK, date) else {
                continue;
            };
            days.push((
                day,
                Figures::from_counters(|c| db::num(&item, c).unwrap_or(0)),
            ));
        } else if let Some((date, product)) = sk
            .strip_prefix(ITEM_PREFIX)
            .and_then(|rest| rest.split_once('#'))
        {
            let Ok(day) = Day::parse(SK, date) else {
                continue;
            };
            products.push((
                day,
                ProductSale {
                    product_id: ProductId::from_trusted(product),
                    name: db::str_attr(&item, NAME).unwrap_or_default().to_string(),
                    units: db::num(&item, UNITS).unwrap_or(0),
                    revenue_cents: db::num(&item, REVENUE).unwrap_or(0),
                },
            ));
        }
    }
    Ok((days, products))
}

/// The items of one shard whose sort key lies between `prefix + from` and `prefix + to + upper`.
async fn rows(
    app: &App,
    shard: u8,
    prefix: &str,
    range: Range,
    upper: &str,
) -> ApiResult<Vec<Item>> {
    db::query_all(
        app.dynamo
            .query()
            .table_name(table(app))
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(partition(shard)))
            .expression_attribute_values(":from", s(format!("{prefix}{}", range.from)))
            .expression_attribute_values(":to", s(format!("{prefix}{}{upper}", range.to))),
    )
    .await
}
