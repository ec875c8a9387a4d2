//! The catalog in DynamoDB: products with their index keys, slug guards, listing by name (whole
//! catalog or one category), and the batch reads carts, checkouts and inventory use.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Delete, ReturnValue};
use serde_dynamo::to_item;

use super::model::{
    Category, NewProduct, ProductPatch, ProductQuery, ProductView, Slug, slug_taken,
};
use crate::{
    app::App,
    error::{ApiError, ApiResult},
    platform::{
        config::env,
        db::{
            self, BatchGet, Gsi, Item, Page, PageQuery, PageRequest, TableDef, Tx, TxError,
            UpdateExpr, built, n, s,
        },
    },
    types::{ProductId, now_rfc3339},
};

/// Products and slug guards. Both indexes sort by lower-cased name, so `q` is a `begins_with` on
/// the sort key: the whole catalog (`by_name`) or one category (`by_category`).
pub const TABLE: TableDef = TableDef {
    id: "products",
    env: env::PRODUCTS_TABLE,
    gsis: &[BY_NAME, BY_CATEGORY],
    ttl: false,
};
pub const BY_NAME: Gsi = Gsi::first("by_name");
pub const BY_CATEGORY: Gsi = Gsi::second("by_category");

/// Partition of the `by_name` index: the whole catalog.
pub const CATALOG: &str = "CATALOG";
const GUARD_PRODUCT_ID: &str = "product_id";
const SLUG: &str = "slug";
pub const STOCK: &str = "stock";
pub const PRICE_CENTS: &str = "price_cents";

pub fn product_key(id: &ProductId) -> Item {
    db::key(format!("PRODUCT#{id}"), "PRODUCT")
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
    ] {
        k.insert(attr.to_string(), s(v));
    }
    k
}

fn table(app: &App) -> &str {
    &app.config.tables.products
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
            let p: ProductView = serde_dynamo::from_item(item)?;
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
    let (index, partition) = match &query.category {
        Some(c) => (&BY_CATEGORY, category_pk(c)),
        None => (&BY_NAME, CATALOG.to_string()),
    };
    let q = PageQuery {
        table: table(app),
        index,
        partition,
        prefix: Some(query.q),
        descending: false,
    };
    db::query_page(&app.dynamo, &app.cursors, q, page).await
}

fn slug_guard(slug: &Slug, id: &ProductId) -> Item {
    let mut guard = slug_key(slug);
    guard.insert(GUARD_PRODUCT_ID.into(), s(id.as_str()));
    guard
}

/// Creates a product and its slug guard in one transaction (409 when the slug is taken).
pub async fn create(app: &App, new: NewProduct) -> ApiResult<ProductView> {
    let now = now_rfc3339();
    let id = ProductId::new();
    let product = ProductView {
        id: id.clone(),
        name: new.name,
        slug: new.slug,
        description: new.description,
        price_cents: new.price,
        currency: app.config.currency.clone(),
        category: new.category,
        stock: new.stock.get(),
        image_url: new.image_url,
        created_at: now.clone(),
        updated_at: now,
    };
    let mut item: Item = to_item(&product)?;
    item.extend(keys(&id, &product.name, &product.category));
    let tx = Tx::new()
        .put("product", db::put_new(table(app), item)?)
        .put(
            "slug_guard",
            db::put_new(table(app), slug_guard(&product.slug, &id))?,
        );
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(product),
        Err(TxError::Cancelled(r)) if r.failed("slug_guard") => Err(slug_taken()),
        Err(e) => Err(e.into()),
    }
}

/// One UpdateItem of only the given fields, so a concurrent checkout's stock decrement is never
/// overwritten. A slug change moves the guard in the same transaction. `current` is the product as
/// read just before; the update only applies if its slug is still the product's.
pub async fn update(
    app: &App,
    current: &ProductView,
    patch: &ProductPatch,
) -> ApiResult<ProductView> {
    let id = &current.id;
    let mut u = UpdateExpr::new();
    u.set("updated_at", s(now_rfc3339()));
    if patch.name.is_some() || patch.category.is_some() {
        let name = patch.name.as_deref().unwrap_or(&current.name);
        let category = patch.category.as_ref().unwrap_or(&current.category);
        for (attr, v) in keys(id, name, category) {
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
    match &patch.image_url {
        Some(Some(url)) => {
            u.set("image_url", s(url));
        }
        Some(None) => {
            u.remove("image_url");
        }
        None => {}
    }
    let new_slug = patch.slug.as_ref().filter(|s| **s != current.slug);
    if let Some(slug) = new_slug {
        u.set(SLUG, s(slug.as_str()));
    }
    // The slug guard below is only right if the slug we read is still the product's.
    let (slug_attr, old_slug) = (u.name(SLUG), u.value(s(current.slug.as_str())));
    u.condition(db::exists())
        .condition(format!("{slug_attr} = {old_slug}"));
    let mut tx = Tx::new().update("product", u.tx_item(table(app), product_key(id))?);
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

/// The product and its slug guard go together. Orders keep their own copy of name and price, so
/// history is unaffected.
pub async fn delete(app: &App, current: &ProductView) -> ApiResult<()> {
    let delete = |key: Item, condition: Option<String>| {
        built(
            Delete::builder()
                .table_name(table(app))
                .set_key(Some(key))
                .set_condition_expression(condition)
                .build(),
        )
    };
    let tx = Tx::new()
        .delete(
            "product",
            delete(product_key(&current.id), Some(db::exists()))?,
        )
        .delete("slug_guard", delete(slug_key(&current.slug), None)?);
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(()),
        Err(TxError::Cancelled(r)) if r.failed("product") => Err(ApiError::NotFound("product")),
        Err(e) => Err(e.into()),
    }
}

/// Points the product's `image_url` at `url` (404 when there is no such product).
pub async fn set_image(app: &App, id: &ProductId, url: &str) -> ApiResult<()> {
    let mut u = UpdateExpr::new();
    u.set("image_url", s(url))
        .set("updated_at", s(now_rfc3339()))
        .condition(db::exists());
    u.update_item(&app.dynamo, table(app), product_key(id))
        .return_values(ReturnValue::None)
        .send()
        .await
        .map_err(|e| {
            if db::is_condition_failure(&e) {
                ApiError::NotFound("product")
            } else {
                e.into()
            }
        })?;
    Ok(())
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
