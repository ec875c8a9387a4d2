//! Payments in DynamoDB: the Stripe events already processed (in the orders table, expiring by
//! TTL). Orders themselves are moved through `orders::store`.

use super::model::EVENT_MEMORY_SECS;
use crate::{
    app::App,
    error::ApiResult,
    platform::db::{self, Item, TTL_ATTR, n},
    types::now_epoch_secs,
};

fn event_key(event_id: &str) -> Item {
    db::key(format!("STRIPE_EVENT#{event_id}"), "STRIPE_EVENT")
}

/// Whether this event id was processed (and not yet forgotten).
pub async fn processed(app: &App, event_id: &str) -> ApiResult<bool> {
    let item = db::get_item(
        &app.dynamo,
        &app.config.tables.orders,
        event_key(event_id),
        true,
    )
    .await?;
    Ok(item.is_some_and(|i| db::num::<u64>(&i, TTL_ATTR).unwrap_or(0) > now_epoch_secs()))
}

/// Marks the event processed. Written after its effects, which are themselves conditional: a
/// crash in between makes Stripe redeliver, and the redelivery changes nothing.
pub async fn remember(app: &App, event_id: &str) -> ApiResult<()> {
    let mut item = event_key(event_id);
    item.insert(TTL_ATTR.into(), n(now_epoch_secs() + EVENT_MEMORY_SECS));
    db::put(&app.dynamo, &app.config.tables.orders, item).await
}
