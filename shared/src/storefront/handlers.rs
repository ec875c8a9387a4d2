//! `render-pages`: the consumer of the catalog's `ProductCreated`, `ProductUpdated` and
//! `ProductDeleted` events (and of `{"rebuild": true}`, invoked after a deploy) that rewrites the
//! public pages they change.

use serde_json::{Value, json};

use super::{
    pages::Site,
    plan::{Change, plan},
    store,
};
use crate::{
    app::App,
    catalog,
    error::{ApiError, ApiResult},
    events::model::{Event, Payload},
};

/// The most products the pages list; a larger catalog needs a sitemap index (not built yet).
pub const MAX_PRODUCTS: usize = 5_000;

fn change_of(input: &Value) -> ApiResult<Option<Change>> {
    if input.get("rebuild") == Some(&Value::Bool(true)) {
        return Ok(Some(Change::Rebuild));
    }
    let event: Event = serde_json::from_value(input["detail"].clone())
        .map_err(|e| ApiError::internal(format!("not a shop event: {e}")))?;
    Ok(match event.data {
        Payload::Product(data) => Some(Change::Product(data)),
        _ => None,
    })
}

pub async fn render_pages(app: &'static App, input: Value) -> ApiResult<Value> {
    let Some(change) = change_of(&input)? else {
        return Ok(json!({ "written": 0 }));
    };
    let Some(url) = app.settings.site.url.as_deref() else {
        tracing::warn!("SITE_URL is not set: no public pages are written");
        return Ok(json!({ "written": 0 }));
    };
    let site = Site {
        name: &app.settings.site.store_name,
        url,
    };
    // Read after the event, so a late or repeated event writes the catalog as it is now.
    let Some(shell) = store::shell(app).await? else {
        tracing::warn!("the site bucket has no index.html yet: no public pages are written");
        return Ok(json!({ "written": 0 }));
    };
    let (catalog, more) = catalog::store::every_product(app, MAX_PRODUCTS).await?;
    if more {
        tracing::warn!(
            max = MAX_PRODUCTS,
            "the catalog is larger than the pages list"
        );
    }
    let written = store::write(app, plan(&change, &shell, &site, &catalog)).await?;
    tracing::info!(written, "public pages written");
    Ok(json!({ "written": written }))
}
