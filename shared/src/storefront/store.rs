//! The site bucket: the published shell read, the planned pages written.

use super::{pages::SHELL_KEY, pages::Shell, plan::Output};
use crate::{
    app::App,
    error::{ApiError, ApiResult},
    platform::objects::Stored,
};

/// Pages are revalidated on every load (they change with the catalog), like the shell.
const PAGE_CACHE: &str = "no-cache";

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

/// Writes every planned object (the sitemap and robots.txt last, after the pages they name).
pub async fn write(app: &App, outputs: Vec<Output>) -> ApiResult<usize> {
    let credentials = app.credentials().await?;
    let count = outputs.len();
    for o in outputs {
        let stored = Stored {
            content_type: o.content_type,
            cache_control: PAGE_CACHE,
        };
        app.site
            .put(&credentials, &o.key, o.body.into_bytes(), stored)
            .await?;
    }
    Ok(count)
}
