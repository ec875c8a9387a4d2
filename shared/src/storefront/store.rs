//! The site bucket: the published shell read, the planned pages written.

use super::{
    pages::{PAGES_PREFIX, SHELL_KEY, Shell},
    plan::Output,
};
use crate::{
    app::App,
    error::{ApiError, ApiResult},
    platform::objects::{REVALIDATE, Stored},
};

/// The published `index.html`, which every page is made from; `None` before the site is published
/// (the deploy's `{"rebuild": true}` then writes every page).
pub async fn shell(app: &App) -> ApiResult<Option<Shell>> {
    let credentials = app.credentials().await?;
    let Some(html) = app.site.get(&credentials, SHELL_KEY).await? else {
        return Ok(None);
    };
    let html = String::from_utf8_lossy(&html);
    Shell::parse(&html).map(Some).ok_or_else(|| {
        ApiError::internal("the published index.html has no </head> or <main id=\"app\">")
    })
}

/// Writes in flight at once: a rebuild writes every product's page, an event a handful.
const WRITES_AT_ONCE: usize = 8;

/// Writes every planned object, the pages side by side, then the sitemap and robots.txt (after the
/// pages they name).
pub async fn write(app: &App, outputs: Vec<Output>) -> ApiResult<usize> {
    use futures_util::{StreamExt, TryStreamExt, stream};
    let credentials = app.credentials().await?;
    let count = outputs.len();
    let (pages, index): (Vec<Output>, Vec<Output>) = outputs
        .into_iter()
        .partition(|o| o.key.starts_with(PAGES_PREFIX));
    for batch in [pages, index] {
        stream::iter(batch)
            .map(|o| {
                let credentials = &credentials;
                async move {
                    let stored = Stored {
                        content_type: o.content_type,
                        // Pages change with the catalog.
                        cache_control: REVALIDATE,
                    };
                    let body = o.body.into_bytes();
                    app.site.put(credentials, &o.key, body, stored).await
                }
            })
            .buffer_unordered(WRITES_AT_ONCE)
            .try_collect::<()>()
            .await?;
    }
    Ok(count)
}
