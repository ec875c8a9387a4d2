//! The figures' consumer of the bus and the admin's read of them.

use lambda_http::Request;
use serde_json::{Value, json};

use super::{
    model::{Day, Range, delta_of, summarise},
    store::{self, Recorded},
};
use crate::{
    app::App,
    auth,
    error::{ApiError, ApiResult},
    events::model::Event,
    platform::http::{Reply, query_param},
    types::Timestamp,
};

/// `record-sales` (an EventBridge rule's target): adds an order or account event to its day's
/// figures, once per event id, so a redelivered event changes nothing.
pub async fn record_sales(app: &'static App, envelope: Value) -> ApiResult<Value> {
    let event: Event = serde_json::from_value(envelope["detail"].clone())
        .map_err(|e| ApiError::internal(format!("not a shop event: {e}")))?;
    let Some(delta) = delta_of(&event, app.settings.sales.utc_offset) else {
        return Ok(json!({ "recorded": false }));
    };
    let (id, kind) = (&event.metadata.id, event.metadata.kind.as_str());
    match store::record(app, id, &delta).await? {
        Recorded::Counted => {
            tracing::info!(event_id = %id, r#type = kind, day = %delta.day, "sales figures updated");
            Ok(json!({ "recorded": true }))
        }
        Recorded::AlreadyCounted => {
            tracing::info!(event_id = %id, r#type = kind, "event already counted");
            Ok(json!({ "recorded": false, "duplicate": true }))
        }
    }
}

/// `GET /admin/stats?from=YYYY-MM-DD&to=YYYY-MM-DD` (admins): each day's figures, their totals
/// and the best-selling products. Without `to`, today; without `from`, the 30 days to `to`.
pub async fn admin_stats(app: &'static App, req: Request) -> ApiResult<Reply> {
    let today = Day::of(Timestamp::now(), app.settings.sales.utc_offset);
    let range = Range::parse(
        query_param(&req, "from").as_deref(),
        query_param(&req, "to").as_deref(),
        today,
    );
    auth::authenticate(app, &req).await?.require_admin()?;
    let range = range?;
    let (days, products) = store::load(app, range).await?;
    Reply::ok(&summarise(range, days, products))
}
