//! The trail in DynamoDB: every entry under one partition of the users table (`AUDIT` / its
//! ULID), so the newest-first listing is one Query; admins write a few hundred times a day, far
//! below what one partition takes. An entry is only ever put new, inside the transaction of the
//! write it describes; the users table's stream filter matches none.

use aws_sdk_dynamodb::types::Put;
use serde_dynamo::to_item;

use super::model::Entry;
use crate::{
    app::App,
    error::ApiResult,
    platform::db::{self, Item, Page, PageQuery, PageRequest},
};

const PARTITION: &str = "AUDIT";

fn table(app: &App) -> &str {
    &app.config.tables.users
}

/// The transaction item that records `entry` beside the write it describes.
pub fn record(app: &App, entry: &Entry) -> ApiResult<Put> {
    let mut item: Item = to_item(entry)?;
    item.extend(db::key(PARTITION.into(), &entry.id.to_string()));
    db::put_new(table(app), item)
}

/// One page of the trail, newest first.
pub async fn page(app: &App, page: &PageRequest) -> ApiResult<Page<Entry>> {
    let query = PageQuery {
        table: table(app),
        index: None,
        partition: PARTITION.into(),
        prefix: None,
        descending: true,
    };
    db::query_page(&app.dynamo, &app.cursors, query, page).await
}
