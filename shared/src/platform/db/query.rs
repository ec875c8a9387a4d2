//! The one paged Query every listing uses: a partition of an index or of the table, optionally
//! narrowed to a sort-key prefix, one page at a time behind a signed cursor.

use aws_sdk_dynamodb::{Client, operation::query::builders::QueryFluentBuilder};
use serde::de::DeserializeOwned;

use super::{CursorKey, Gsi, Item, PK, Page, PageRequest, SK, s};
use crate::error::ApiResult;

/// Which items a listing reads.
#[derive(Debug)]
pub struct PageQuery<'a> {
    pub table: &'a str,
    /// `None`: the table itself, by its own keys.
    pub index: Option<&'a Gsi>,
    /// Value of the partition key.
    pub partition: String,
    /// `begins_with` on the sort key, when set and not empty.
    pub prefix: Option<String>,
    /// Descending sort-key order (ULID sort keys: newest first).
    pub descending: bool,
}

impl PageQuery<'_> {
    /// What a cursor of this listing belongs to: it is accepted back for the same listing only.
    fn scope(&self) -> String {
        format!(
            "{}|{}|{}",
            self.index.map_or("table", |i| i.name),
            self.partition,
            self.prefix.as_deref().unwrap_or_default()
        )
    }
}

/// One page of `q`, decoded as `T`, and the cursor of the next page (`None` on the last).
pub async fn query_page<T: DeserializeOwned>(
    client: &Client,
    cursors: &CursorKey,
    q: PageQuery<'_>,
    page: &PageRequest,
) -> ApiResult<Page<T>> {
    let scope = q.scope();
    let start = page
        .cursor
        .as_deref()
        .map(|c| cursors.decode(&scope, c))
        .transpose()?;
    let (pk, sk) = q.index.map_or((PK, SK), |i| (i.pk, i.sk));
    let mut query = client
        .query()
        .table_name(q.table)
        .set_index_name(q.index.map(|i| i.name.to_string()))
        .expression_attribute_names("#pk", pk)
        .expression_attribute_values(":pk", s(q.partition))
        .scan_index_forward(!q.descending)
        .set_exclusive_start_key(start)
        .limit(page.limit);
    query = match q.prefix.filter(|p| !p.is_empty()) {
        None => query.key_condition_expression("#pk = :pk"),
        Some(prefix) => query
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#sk", sk)
            .expression_attribute_values(":prefix", s(prefix)),
    };
    // Read whole, without a ProjectionExpression: measured on a page of 10 orders, a projection
    // saved the function ~10 µs of parsing and cost DynamoDB Local ~0.2 ms per query.
    let out = query.send().await?;
    let items = decode_all(out.items.unwrap_or_default())?;
    Ok(Page {
        items,
        next_cursor: cursors.encode(&scope, out.last_evaluated_key.as_ref()),
    })
}

/// Items as read from a table or an index, decoded as `T`.
pub fn decode_all<T: DeserializeOwned>(items: Vec<Item>) -> ApiResult<Vec<T>> {
    items.into_iter().map(decode).collect()
}

/// One item as `T`. The key attributes only place an item and no model reads them: they are
/// passed over.
pub fn decode<T: DeserializeOwned>(item: Item) -> ApiResult<T> {
    Ok(super::de::from_item(item)?)
}

/// Every item `query` finds, read page after page: for reads bounded by their key condition
/// (a range of days, the products under a threshold), never for a listing a client pages through.
pub async fn query_all(query: QueryFluentBuilder) -> ApiResult<Vec<Item>> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = query.clone().set_exclusive_start_key(start).send().await?;
        out.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(out),
        }
    }
}
