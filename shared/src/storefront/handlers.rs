//! `render-pages`: the consumer of the catalog's `ProductCreated`, `ProductUpdated` and
//! `ProductDeleted` events (and of `{"rebuild": true}`, invoked after a deploy) that rewrites the
//! public pages they change.

use serde::Deserialize;
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

/// What invokes render-pages: a bus rule's event, or the deploy's `{"rebuild": true}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    Rebuild { rebuild: bool },
    Bus { detail: Box<Event> },
}

fn change_of(input: Value) -> ApiResult<Option<Change>> {
    let input: Input = serde_json::from_value(input).map_err(|_| {
        ApiError::internal("neither a catalog event from the bus nor {\"rebuild\": true}")
    })?;
    Ok(match input {
        Input::Rebuild { rebuild } => rebuild.then_some(Change::Rebuild),
        Input::Bus { detail } => match detail.data {
            Payload::Product(data) => Some(Change::Product(data)),
            _ => None,
        },
    })
}

/// Rewrites the pages `input` changes, from the catalog as it is when it runs.
pub async fn render_pages(app: &'static App, input: Value) -> ApiResult<Value> {
    let Some(change) = change_of(input)? else {
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
    // Read after the event, so a late or repeated event writes the catalog as it is now. Boxed:
    // SDK futures are large.
    let (shell, (catalog, more)) = tokio::try_join!(
        Box::pin(store::shell(app)),
        Box::pin(catalog::store::every_product(app, MAX_PRODUCTS)),
    )?;
    let Some(shell) = shell else {
        tracing::warn!("the site bucket has no index.html yet: no public pages are written");
        return Ok(json!({ "written": 0 }));
    };
    if more {
        tracing::warn!(
            max = MAX_PRODUCTS,
            "the catalog is larger than the pages list"
        );
    }
    let written = store::write(app, plan(&change, &shell, &site, &catalog)).await?;
    tracing::info!(written, products = catalog.len(), "public pages written");
    Ok(json!({ "written": written, "products": catalog.len() }))
}
