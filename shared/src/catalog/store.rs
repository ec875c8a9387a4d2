//! The catalog in DynamoDB: products with their index keys, slug guards, listing by name (whole
//! catalog or one category), and the batch reads carts, checkouts and inventory use.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, Update,
};
use serde_dynamo::to_item;

use super::{
    model::{Category, ProductPatch, ProductQuery, ProductView, Slug, Stock, slug_taken},
    pictures::Picture,
    search::{self, SearchQuery},
};
use crate::{
    app::App,
    audit,
    error::{ApiError, ApiResult},
    platform::{
        config::{TableId, env},
        db::{
            self, BatchGet, Cancellation, Gsi, Item, PK, Page, PageQuery, PageRequest, TableDef,
            Tx, TxError, UpdateExpr, built, n, s,
        },
    },
    types::{Cents, ProductId, Quantity, Timestamp},
};

/// Products, slug guards and the word index (see `search`). Two indexes sort by lower-cased name:
/// the whole catalog (`by_name`) or one category (`by_category`); `by_stock` sorts by the stock
/// level itself, so every write of a product's stock (a checkout's decrement too) keeps it exact.
pub const TABLE: TableDef = TableDef {
    id: TableId::Products,
    env: env::PRODUCTS_TABLE,
    gsis: &[BY_NAME, BY_CATEGORY, BY_STOCK],
    ttl: false,
    stream: true,
};
/// The product's uploaded picture (`pictures::Picture`).
const PICTURE: &str = "picture";
pub const BY_NAME: Gsi = Gsi::first("by_name");
pub const BY_CATEGORY: Gsi = Gsi::second("by_category");
pub const BY_STOCK: Gsi = Gsi::third_by_number("by_stock", STOCK);
/// The `by_stock` partitions: products spread over a few, so a busy shop's stock writes are not
/// all on one index partition; a read of low stock queries each.
pub const STOCK_SHARDS: u8 = 4;

/// Partition of the `by_name` index: the whole catalog.
pub const CATALOG: &str = "CATALOG";
const GUARD_PRODUCT_ID: &str = "product_id";
const SLUG: &str = "slug";
pub const STOCK: &str = "stock";
pub const PRICE_CENTS: &str = "price_cents";

/// A product item's key: `PRODUCT#<id>` / `PRODUCT` (the outbox's stream filter matches the prefix).
pub const PRODUCT_PREFIX: &str = "PRODUCT#";
pub const PRODUCT_SK: &str = "PRODUCT";

pub fn product_key(id: &ProductId) -> Item {
    db::key(format!("{PRODUCT_PREFIX}{id}"), PRODUCT_SK)
}

/// A checkout's hold on one line, as an item of the caller's transaction: the product's stock goes
/// down by `quantity` if that much is left and its price is still the `price` being charged.
pub fn reserve(
    app: &App,
    product: &ProductId,
    quantity: Quantity,
    price: Cents,
) -> ApiResult<Update> {
    let mut u = UpdateExpr::new();
    let quantity = i64::from(quantity.get());
    u.increment(STOCK, -quantity);
    let (stock, price_name) = (u.name(STOCK), u.name(PRICE_CENTS));
    let (q, p) = (u.value(n(quantity)), u.value(n(price.get())));
    u.condition(db::exists())
        .condition(format!("{stock} >= {q} AND {price_name} = {p}"));
    stock_update(app, &u, product)
}

/// How units go back into a product's stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restock {
    /// Added, if that stays within the most a product may hold ([`Stock::MAX`]).
    Add(Quantity),
    /// Adding them would pass the most it may hold: the stock is filled to it instead.
    FillUp(Quantity),
}

/// Units going back (a cancelled order's line), as an item of the caller's transaction. Either
/// form fails on a product deleted since, or whose stock moved across the maximum meanwhile.
pub fn restock(app: &App, product: &ProductId, how: Restock) -> ApiResult<Update> {
    let mut u = UpdateExpr::new();
    let q = match how {
        Restock::Add(q) | Restock::FillUp(q) => i64::from(q.get()),
    };
    let stock = u.name(STOCK);
    let limit = u.value(n(Stock::MAX - q));
    match how {
        Restock::Add(_) => u
            .increment(STOCK, q)
            .condition(format!("{stock} <= {limit}")),
        Restock::FillUp(_) => u
            .set(STOCK, n(Stock::MAX))
            .condition(format!("{stock} > {limit}")),
    };
    u.condition(db::exists());
    stock_update(app, &u, product)
}

fn stock_update(app: &App, u: &UpdateExpr, product: &ProductId) -> ApiResult<Update> {
    built(
        u.tx_builder(&app.config.tables.products, product_key(product))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build(),
    )
}

/// What a refused [`reserve`] or [`restock`] found: the product gone, or its stock now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockFound {
    Gone,
    Units(i64),
}

pub fn stock_found(refused: &Cancellation) -> StockFound {
    match refused.item.as_ref() {
        None => StockFound::Gone,
        Some(item) => db::num::<i64>(item, STOCK).map_or(StockFound::Gone, StockFound::Units),
    }
}

fn slug_key(slug: &Slug) -> Item {
    db::key(format!("SLUG#{slug}"), "SLUG")
}

fn category_pk(category: &Category) -> String {
    format!("CAT#{category}")
}

/// Sort key of both product indexes: lower-cased name, then id to break ties.
fn name_sk(name: &str, id: &ProductId) -> String {
    format!("{}#{id}", name.to_lowercase())
}

/// A product's primary and index keys, derived from what they index. Create writes them all;
/// update rewrites them from the new name and category, so the two can never disagree.
fn keys(id: &ProductId, name: &str, category: &Category) -> Item {
    let mut k = product_key(id);
    for (attr, v) in [
        (BY_NAME.pk, CATALOG.to_string()),
        (BY_NAME.sk, name_sk(name, id)),
        (BY_CATEGORY.pk, category_pk(category)),
        (BY_CATEGORY.sk, name_sk(name, id)),
        (BY_STOCK.pk, stock_pk(id)),
    ] {
        k.insert(attr.to_string(), s(v));
    }
    k
}

/// A product's `by_stock` partition, fixed by its id.
fn stock_pk(id: &ProductId) -> String {
    let last = id.as_str().bytes().last().unwrap_or_default();
    format!("STOCK#{}", last % STOCK_SHARDS)
}

fn table(app: &App) -> &str {
    &app.config.tables.products
}

/// The `limit` products with the fewest units at or under `threshold`, fewest first, and whether
/// more are: one Query page per `by_stock` partition (the key condition selects only those).
pub async fn low_stock(
    app: &App,
    threshold: i64,
    limit: i32,
) -> ApiResult<(Vec<ProductView>, bool)> {
    // Each partition is sorted by stock, so the fewest `limit` of all are among the fewest `limit`
    // of each: one page per partition, never the whole list.
    let reads = (0..STOCK_SHARDS).map(|shard| {
        app.dynamo
            .query()
            .table_name(table(app))
            .index_name(BY_STOCK.name)
            .key_condition_expression("#pk = :pk AND #stock <= :t")
            .expression_attribute_names("#pk", BY_STOCK.pk)
            .expression_attribute_names("#stock", BY_STOCK.sk)
            .expression_attribute_values(":pk", s(format!("STOCK#{shard}")))
            .expression_attribute_values(":t", n(threshold))
            .limit(limit)
            .send()
    });
    let pages = futures_util::future::try_join_all(reads).await?;
    let mut more = pages
        .iter()
        .any(|p| p.last_evaluated_key.as_ref().is_some_and(|k| !k.is_empty()));
    let found: Vec<Item> = pages
        .into_iter()
        .flat_map(|p| p.items.unwrap_or_default())
        .collect();
    let mut all: Vec<ProductView> = db::decode_all(found)?;
    all.sort_by(|a, b| (a.stock, &a.name).cmp(&(b.stock, &b.name)));
    let limit = usize::try_from(limit).unwrap_or(0);
    more |= all.len() > limit;
    all.truncate(limit);
    Ok((all, more))
}

const INDEX_PRODUCT_ID: &str = "product_id";
const INDEX_WORDS: &str = "words";
const INDEX_CATEGORY: &str = "category";
/// Most index pages one search request reads (100 items each) before it answers with what it has
/// and a cursor to go on: a rare word in a large partition cannot hold a request for long.
const MAX_SEARCH_READS: usize = 10;
const SEARCH_PAGE: i32 = 100;

/// The word-index entry of a product under one prefix: sorted by name within the prefix.
fn index_key(prefix: &str, name: &str, id: &ProductId) -> Item {
    db::key(format!("WORD#{prefix}"), &name_sk(name, id))
}

/// Every word-index entry of `p`, carrying its words and category so a search can match the rest of
/// a query without reading the product.
fn index_entries(p: &ProductView) -> Vec<Item> {
    let words = search::product_words(&p.name, p.category.as_str());
    let list = AttributeValue::L(words.iter().map(|w| s(w.as_str())).collect());
    search::prefixes(&words)
        .iter()
        .map(|prefix| {
            let mut item = index_key(prefix, &p.name, &p.id);
            item.insert(INDEX_PRODUCT_ID.into(), s(p.id.as_str()));
            item.insert(INDEX_WORDS.into(), list.clone());
            item.insert(INDEX_CATEGORY.into(), s(p.category.as_str()));
            item
        })
        .collect()
}

/// The keys of `p`'s word-index entries (what a rename or a delete removes).
fn index_keys(p: &ProductView) -> Vec<Item> {
    let words = search::product_words(&p.name, p.category.as_str());
    search::prefixes(&words)
        .iter()
        .map(|prefix| index_key(prefix, &p.name, &p.id))
        .collect()
}

fn put(table: &str, item: Item) -> ApiResult<Put> {
    built(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .build(),
    )
}

fn delete_key(table: &str, key: Item) -> ApiResult<Delete> {
    built(
        Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .build(),
    )
}

pub async fn load_product(
    app: &App,
    id: &ProductId,
    consistent: bool,
) -> ApiResult<Option<ProductView>> {
    db::get(&app.dynamo, table(app), product_key(id), consistent).await
}

/// Loads many products in BatchGetItem rounds of 100. Unknown ids are absent.
pub async fn load_products(
    app: &App,
    ids: &[ProductId],
) -> ApiResult<HashMap<ProductId, ProductView>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(db::BATCH_GET_MAX_KEYS) {
        let batch = chunk.iter().fold(BatchGet::default(), |b, id| {
            b.get(table(app), product_key(id), false)
        });
        let mut fetched = batch.send(&app.dynamo).await?;
        found.extend(views(fetched.take_all(table(app)))?);
    }
    Ok(found)
}

/// Products read as part of another batch (see `db::BatchGet`), by id.
pub fn views(items: Vec<Item>) -> ApiResult<HashMap<ProductId, ProductView>> {
    items
        .into_iter()
        .map(|item| {
            let p: ProductView = crate::db::decode(item)?;
            Ok((p.id.clone(), p))
        })
        .collect()
}

/// One page of products in name order (case-insensitive), `q` a name prefix.
pub async fn list(
    app: &App,
    query: ProductQuery,
    page: &PageRequest,
) -> ApiResult<Page<ProductView>> {
    if let Some(words) = &query.search {
        return search(app, words, query.category.as_ref(), page).await;
    }
    let (index, partition) = match &query.category {
        Some(c) => (&BY_CATEGORY, category_pk(c)),
        None => (&BY_NAME, CATALOG.to_string()),
    };
    let q = PageQuery {
        table: table(app),
        index: Some(index),
        partition,
        prefix: None,
        descending: false,
    };
    db::query_page(&app.dynamo, &app.cursors, q, page).await
}

/// Every product in name order, up to `cap` (and whether there were more), read in pages as large
/// as DynamoDB returns (1 MB, some 1,500 products): a catalog of thousands is a few round trips,
/// not one per hundred. For jobs that publish the whole catalog, never for a request.
pub async fn every_product(app: &App, cap: usize) -> ApiResult<(Vec<ProductView>, bool)> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        // One more than still fits: a catalog of exactly `cap` is not "more".
        let limit = i32::try_from(cap + 1 - out.len()).unwrap_or(i32::MAX);
        let page = PageRequest { limit, cursor };
        let query = ProductQuery {
            category: None,
            search: None,
        };
        let got = list(app, query, &page).await?;
        out.extend(got.items);
        if out.len() >= cap {
            let more = out.len() > cap || got.next_cursor.is_some();
            out.truncate(cap);
            return Ok((out, more));
        }
        match got.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((out, false)),
        }
    }
}

/// One page of the products `query` finds (in `category`, when given), in name order: the index
/// partition of the query's most selective word, read in name order, keeping the entries whose
/// words match every query word. The cursor is the last entry's key, signed for this query.
async fn search(
    app: &App,
    query: &SearchQuery,
    category: Option<&Category>,
    page: &PageRequest,
) -> ApiResult<Page<ProductView>> {
    let scope = format!(
        "search|{}|{}",
        query.scope(),
        category.map(Category::as_str).unwrap_or_default()
    );
    let mut start = page
        .cursor
        .as_deref()
        .map(|c| app.cursors.decode(&scope, c))
        .transpose()?;
    let partition = format!("WORD#{}", query.partition());
    let want = usize::try_from(page.limit).unwrap_or(1);
    let mut ids: Vec<ProductId> = Vec::new();
    let mut next: Option<Item> = None;
    'pages: for _ in 0..MAX_SEARCH_READS {
        let out = app
            .dynamo
            .query()
            .table_name(table(app))
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(&partition))
            .set_exclusive_start_key(start.take())
            .limit(SEARCH_PAGE)
            .send()
            .await?;
        let items = out.items.unwrap_or_default();
        let last = items.len().saturating_sub(1);
        for (i, item) in items.iter().enumerate() {
            let words: Vec<&str> = item
                .get(INDEX_WORDS)
                .and_then(|v| v.as_l().ok())
                .map(|l| {
                    l.iter()
                        .filter_map(|w| w.as_s().ok().map(String::as_str))
                        .collect()
                })
                .unwrap_or_default();
            let in_category =
                category.is_none_or(|c| db::str_attr(item, INDEX_CATEGORY) == Some(c.as_str()));
            if !(in_category && query.matches(words.iter().copied())) {
                continue;
            }
            if let Some(id) = db::str_attr(item, INDEX_PRODUCT_ID) {
                ids.push(ProductId::from_trusted(id));
            }
            if ids.len() == want {
                // Full: go on after this entry, unless it was the partition's very last.
                let more = i < last || out.last_evaluated_key.is_some();
                next = more.then(|| db::key_of(item));
                break 'pages;
            }
        }
        match out.last_evaluated_key {
            None => {
                next = None;
                break;
            }
            // When the read budget runs out, the cursor goes on from here.
            Some(k) => {
                next = Some(k.clone());
                start = Some(k);
            }
        }
    }
    // No ids, no request: load_products reads in chunks of what it is given.
    let mut found = load_products(app, &ids).await?;
    Ok(Page {
        // A product deleted since its index entry was read is simply not listed.
        items: ids.iter().filter_map(|id| found.remove(id)).collect(),
        next_cursor: app.cursors.encode(&scope, next.as_ref()),
    })
}

fn slug_guard(slug: &Slug, id: &ProductId) -> Item {
    let mut guard = slug_key(slug);
    guard.insert(GUARD_PRODUCT_ID.into(), s(id.as_str()));
    guard
}

/// Creates `product`, its slug guard and its audit entry in one transaction (409 when the slug is
/// taken).
pub async fn create(
    app: &App,
    product: ProductView,
    audit: &audit::Entry,
) -> ApiResult<ProductView> {
    let id = product.id.clone();
    let mut item: Item = to_item(&product)?;
    item.extend(keys(&id, &product.name, &product.category));
    let mut tx = Tx::new()
        .put("product", db::put_new(table(app), item)?)
        .put(
            "slug_guard",
            db::put_new(table(app), slug_guard(&product.slug, &id))?,
        )
        .put("audit", audit::store::record(app, audit)?);
    // The word index is written with the product, so it can never disagree with the catalog.
    for entry in index_entries(&product) {
        tx = tx.put("index", put(table(app), entry)?);
    }
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(product),
        Err(TxError::Cancelled(r)) if r.failed("slug_guard") => Err(slug_taken()),
        Err(e) => Err(e.into()),
    }
}

/// One UpdateItem of only the given fields, so a concurrent checkout's stock decrement is never
/// overwritten. A slug change moves the guard, and the audit entry is recorded, in the same
/// transaction. `current` is the product as read just before; the update only applies if its slug
/// is still the product's.
pub async fn update(
    app: &App,
    current: &ProductView,
    patch: &ProductPatch,
    audit: &audit::Entry,
) -> ApiResult<ProductView> {
    let id = &current.id;
    let mut renamed = current.clone();
    if let Some(name) = &patch.name {
        renamed.name = name.clone();
    }
    if let Some(category) = &patch.category {
        renamed.category = category.clone();
    }
    let reindex = renamed.name != current.name || renamed.category != current.category;
    if reindex {
        search::check_indexable(&renamed.name, renamed.category.as_str())?;
    }
    let new_slug = patch.slug.as_ref().filter(|s| **s != current.slug);
    let u = update_expr(current, patch, reindex, new_slug)?;
    let mut tx = Tx::new()
        .update("product", u.tx_item(table(app), product_key(id))?)
        .put("audit", audit::store::record(app, audit)?);
    if reindex {
        tx = reindex_items(tx, table(app), current, &renamed)?;
    }
    if let Some(slug) = new_slug {
        tx = tx
            .put("slug_guard", db::put_new(table(app), slug_guard(slug, id))?)
            .delete(
                "old_slug_guard",
                built(
                    Delete::builder()
                        .table_name(table(app))
                        .set_key(Some(slug_key(&current.slug)))
                        .build(),
                )?,
            );
    }
    match tx.send(&app.dynamo).await {
        Ok(()) => {}
        Err(TxError::Cancelled(r)) if r.failed("slug_guard") => return Err(slug_taken()),
        Err(TxError::Cancelled(r)) if r.failed("product") => {
            return Err(ApiError::conflict(
                "concurrent_update",
                "the product was changed or deleted meanwhile; reload and retry",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    load_product(app, id, true)
        .await?
        .ok_or(ApiError::NotFound("product"))
}

/// The product item's update: the patched attributes and index keys, on condition that the slug
/// (and, when `reindex`, the name and category) are still what was read.
fn update_expr(
    current: &ProductView,
    patch: &ProductPatch,
    reindex: bool,
    new_slug: Option<&Slug>,
) -> ApiResult<UpdateExpr> {
    let mut u = UpdateExpr::new();
    u.set("updated_at", s(Timestamp::now().to_string()));
    if patch.name.is_some() || patch.category.is_some() {
        let name = patch.name.as_deref().unwrap_or(&current.name);
        let category = patch.category.as_ref().unwrap_or(&current.category);
        for (attr, v) in keys(&current.id, name, category) {
            if attr != db::PK && attr != db::SK {
                u.set(&attr, v);
            }
        }
    }
    if let Some(v) = &patch.name {
        u.set("name", s(v));
    }
    if let Some(c) = &patch.category {
        u.set("category", s(c.as_str()));
    }
    if let Some(v) = &patch.description {
        u.set("description", s(v));
    }
    if let Some(v) = patch.price {
        u.set(PRICE_CENTS, n(v.get()));
    }
    if let Some(v) = patch.stock {
        u.set(STOCK, n(v.get()));
    }
    if let Some(v) = patch.weight {
        u.set("weight_grams", n(v.get()));
    }
    if let Some(v) = patch.tax_class {
        u.set("tax_class", serde_dynamo::to_attribute_value(v)?);
    }
    match &patch.image_url {
        Some(Some(url)) => {
            u.set("image_url", s(url)).remove(PICTURE);
        }
        Some(None) => {
            u.remove("image_url").remove(PICTURE);
        }
        None => {}
    }
    if let Some(slug) = new_slug {
        u.set(SLUG, s(slug.as_str()));
    }
    // The slug guard is only right if the slug we read is still the product's.
    let (slug_attr, old_slug) = (u.name(SLUG), u.value(s(current.slug.as_str())));
    u.condition(db::exists())
        .condition(format!("{slug_attr} = {old_slug}"));
    if reindex {
        // The index entries replaced are only the product's if its name and category are still
        // what we read: two concurrent renames cannot both succeed and leave stale entries.
        let (name_attr, old_name) = (u.name("name"), u.value(s(&current.name)));
        let (cat_attr, old_cat) = (u.name("category"), u.value(s(current.category.as_str())));
        u.condition(format!(
            "{name_attr} = {old_name} AND {cat_attr} = {old_cat}"
        ));
    }
    Ok(u)
}

/// Search entries of `renamed` put, and those of `current` it no longer has deleted.
fn reindex_items(
    mut tx: Tx,
    table: &str,
    current: &ProductView,
    renamed: &ProductView,
) -> ApiResult<Tx> {
    let entries = index_entries(renamed);
    let kept: Vec<Item> = entries.iter().map(db::key_of).collect();
    for old in index_keys(current)
        .into_iter()
        .filter(|k| !kept.contains(k))
    {
        tx = tx.delete("index", delete_key(table, old)?);
    }
    for entry in entries {
        tx = tx.put("index", put(table, entry)?);
    }
    Ok(tx)
}

/// The product and its slug guard go together, with the audit entry. Orders keep their own copy
/// of name and price, so history is unaffected.
pub async fn delete(app: &App, current: &ProductView, audit: &audit::Entry) -> ApiResult<()> {
    let delete = |key: Item, condition: Option<String>| {
        built(
            Delete::builder()
                .table_name(table(app))
                .set_key(Some(key))
                .set_condition_expression(condition)
                .build(),
        )
    };
    let mut tx = Tx::new()
        .delete(
            "product",
            delete(product_key(&current.id), Some(db::exists()))?,
        )
        .delete("slug_guard", delete(slug_key(&current.slug), None)?)
        .put("audit", audit::store::record(app, audit)?);
    for key in index_keys(current) {
        tx = tx.delete("index", delete_key(table(app), key)?);
    }
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(()),
        Err(TxError::Cancelled(r)) if r.failed("product") => Err(ApiError::NotFound("product")),
        Err(e) => Err(e.into()),
    }
}

/// Gives the product `picture` (and its default width as `image_url`), with the audit entry, unless
/// the product is gone or already has this or a later upload's picture (uploads resized out of
/// order, or an event delivered twice): then nothing is written and the answer is `false`.
pub async fn set_picture(
    app: &App,
    id: &ProductId,
    picture: &Picture,
    audit: &audit::Entry,
) -> ApiResult<bool> {
    let mut u = UpdateExpr::new();
    u.set(PICTURE, serde_dynamo::to_attribute_value(picture)?)
        .set("image_url", s(picture.default_url()))
        .set("updated_at", s(Timestamp::now().to_string()));
    let (pic, upload) = (u.name(PICTURE), u.name("upload"));
    let this = u.value(s(picture.upload.to_string()));
    u.condition(db::exists()).condition(format!(
        "attribute_not_exists({pic}) OR {pic}.{upload} < {this}"
    ));
    let tx = Tx::new()
        .update("product", u.tx_item(table(app), product_key(id))?)
        .put("audit", audit::store::record(app, audit)?);
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(true),
        Err(TxError::Cancelled(r)) if r.failed("product") => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Writes the word index and the stock partition of every product (idempotent): for catalogs that
/// predate them.
/// Reads the catalog page by page in name order; each product's entries go in one transaction.
pub async fn backfill_index(app: &App) -> ApiResult<usize> {
    let mut page = PageRequest {
        limit: db::MAX_LIMIT,
        cursor: None,
    };
    let mut indexed = 0;
    loop {
        let found = list(
            app,
            ProductQuery {
                category: None,
                search: None,
            },
            &page,
        )
        .await?;
        for product in &found.items {
            let mut place = UpdateExpr::new();
            place
                .set(BY_STOCK.pk, s(stock_pk(&product.id)))
                .condition(db::exists());
            let mut tx = Tx::new().update(
                "stock_index",
                place.tx_item(table(app), product_key(&product.id))?,
            );
            for entry in index_entries(product) {
                tx = tx.put("index", put(table(app), entry)?);
            }
            if !tx.is_empty() {
                tx.send(&app.dynamo).await?;
            }
            indexed += 1;
        }
        match found.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => return Ok(indexed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_follow_name_and_category() {
        let id = ProductId::from_trusted("01H");
        let k = keys(&id, "Earl Grey", &Category::parse("tea").unwrap());
        assert_eq!(k[BY_NAME.pk], s(CATALOG));
        assert_eq!(k[BY_NAME.sk], s("earl grey#01H"));
        assert_eq!(k[BY_CATEGORY.pk], s("CAT#tea"));
        assert_eq!(k[BY_CATEGORY.sk], k[BY_NAME.sk]);
        assert_eq!(k[db::PK], s("PRODUCT#01H"));
    }
}
