//! The figures' consumer of the bus and the admin's read of them.

use lambda_http::Request;
use serde_json::{Value, json};

use super::{
    export,
    model::{Day, ExportCursor, Range, delta_of, summarise},
    store::{self, Recorded},
};
use crate::{
    app::App,
    auth,
    error::{ApiError, ApiResult},
    events::model::Event,
    orders::{self, Order},
    platform::http::{Reply, query_param},
    types::{Timestamp, UserId},
    users,
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
    let range = requested_range(app, &req);
    auth::authenticate(app, &req).await?.require_admin()?;
    let range = range?;
    let (days, products) = store::load(app, range).await?;
    Reply::ok(&summarise(range, days, products))
}

/// Orders per export response: a page stays far below Lambda's 6 MB response limit, and a longer
/// range goes on at the `Link: rel="next"` address.
pub const EXPORT_PAGE_ROWS: usize = 2_000;
/// Orders per index read while exporting.
const EXPORT_READ: i32 = 500;

/// The range a request names, in the shop's days (today when it names none).
fn requested_range(app: &App, req: &Request) -> ApiResult<Range> {
    let today = Day::of(Timestamp::now(), app.settings.sales.utc_offset);
    Range::parse(
        query_param(req, "from").as_deref(),
        query_param(req, "to").as_deref(),
        today,
    )
}

/// `GET /admin/orders/export?from&to[&after]` (admins): the orders placed on those days (the
/// shop's days; the last 30 by default) as CSV, oldest first, read day by day from the `by_day`
/// index. A range of more than [`EXPORT_PAGE_ROWS`] orders answers in pages: each names the
/// next in `Link: <?...&after=...>; rel="next"`, and only the first carries the header line.
pub async fn export_orders(app: &'static App, req: Request) -> ApiResult<Reply> {
    let range = requested_range(app, &req);
    let cursor = query_param(&req, "after").map(|a| ExportCursor::parse(&a));
    auth::authenticate(app, &req).await?.require_admin()?;
    let (range, cursor) = (range?, cursor.transpose()?);
    let page = export_page(app, range, cursor.as_ref(), EXPORT_PAGE_ROWS).await?;
    let mut reply = Reply::text(export::CONTENT_TYPE, page.csv).with_header(
        lambda_http::http::header::CONTENT_DISPOSITION,
        format!(
            "attachment; filename=\"orders-{}-to-{}.csv\"",
            range.from, range.to
        ),
    );
    if let Some(next) = page.next {
        reply = reply.with_header(
            lambda_http::http::header::LINK,
            format!(
                "<?from={}&to={}&after={next}>; rel=\"next\"",
                range.from, range.to
            ),
        );
    }
    Ok(reply)
}

/// One page of an export: its CSV and where the next page starts.
pub struct ExportPage {
    pub csv: String,
    pub next: Option<ExportCursor>,
}

/// The orders of `range` from `cursor` on, until at least `rows` are read (the header line only
/// when `cursor` is none).
pub async fn export_page(
    app: &App,
    range: Range,
    cursor: Option<&ExportCursor>,
    rows: usize,
) -> ApiResult<ExportPage> {
    let offset = app.settings.sales.utc_offset;
    let read = i32::try_from(rows).unwrap_or(EXPORT_READ).min(EXPORT_READ);
    let mut found: Vec<Order> = Vec::new();
    let mut next: Option<ExportCursor> = None;
    'days: for day in range.utc_days(offset).days() {
        let mut after = match cursor {
            Some(c) if day < c.day => continue,
            Some(c) if day == c.day => Some(c.after.clone()),
            _ => None,
        };
        loop {
            let key = day.to_string();
            let (page, more) = orders::store::placed_on(app, &key, after.as_ref(), read).await?;
            after = page.last().map(|o| o.id.clone()).or(after);
            found.extend(
                page.into_iter()
                    .filter(|o| range.contains(o.created_at, offset)),
            );
            if found.len() >= rows {
                next = after.map(|after| ExportCursor { day, after });
                break 'days;
            }
            if !more {
                break;
            }
        }
    }
    let mut customers: Vec<UserId> = found.iter().map(|o| o.user_id.clone()).collect();
    customers.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    customers.dedup();
    let emails = users::store::emails_of(app, &customers).await?;
    let mut csv = match cursor {
        None => export::header(),
        Some(_) => String::new(),
    };
    for o in &found {
        csv.push_str(&export::row(o, emails.get(&o.user_id)));
    }
    tracing::info!(from = %range.from, to = %range.to, orders = found.len(), "orders exported");
    Ok(ExportPage { csv, next })
}
