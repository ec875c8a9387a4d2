//! Catalog and inventory: product CRUD (admin), listing with search and paging, image uploads
//! through presigned S3 URLs, and the batch stock check.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem, Update};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_dynamo::{from_item, to_item};

use crate::{
    app::App,
    auth,
    db::{self, BY_CATEGORY, BY_NAME, Item, keys, n, s},
    error::{ApiError, ApiResult},
    http::{Reply, json_body, path_param, query_param},
    pagination::{self, Page},
    types::{Category, Cents, ProductId, Slug, Stock, bounded_text, now_rfc3339, parse_url},
};

pub const MAX_INVENTORY_IDS: usize = 100;
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(300);
/// Image types an admin may upload, with the file extension each is stored under.
pub const IMAGE_TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
];

/// A product as stored: the public view plus the index keys that make listing and search a Query.
/// Reads decode `ProductView` straight from the item (unknown attributes are ignored), which skips
/// the buffering `flatten` costs on the way in: every list page and cart decodes up to 100 of them.
#[derive(Debug, Clone, Serialize)]
struct ProductRecord {
    pk: String,
    sk: String,
    gsi1pk: String,
    gsi1sk: String,
    gsi2pk: String,
    gsi2sk: String,
    #[serde(flatten)]
    pub product: ProductView,
}

/// `{id, name, slug, description, price_cents, currency, category, stock, image_url?, created_at, updated_at}`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProductView {
    pub id: ProductId,
    pub name: String,
    pub slug: Slug,
    pub description: String,
    pub price_cents: Cents,
    pub currency: String,
    pub category: Category,
    pub stock: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn product_name(raw: &str) -> ApiResult<String> {
    bounded_text("name", raw, 1, 200)
}

fn description(raw: &str) -> ApiResult<String> {
    bounded_text("description", raw, 0, 5000)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub price_cents: i64,
    pub category: String,
    pub stock: i64,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
}

pub struct NewProduct {
    pub name: String,
    pub description: String,
    pub price: Cents,
    pub category: Category,
    pub stock: Stock,
    pub slug: Slug,
    pub image_url: Option<String>,
}

impl TryFrom<CreateProductRequest> for NewProduct {
    type Error = ApiError;
    fn try_from(r: CreateProductRequest) -> ApiResult<Self> {
        let name = product_name(&r.name)?;
        let slug = match r.slug.as_deref() {
            Some(raw) => Slug::parse(raw)?,
            None => Slug::from_name(&name).ok_or_else(|| {
                ApiError::invalid_field("slug", "cannot be derived from this name; send one")
            })?,
        };
        Ok(NewProduct {
            description: description(&r.description)?,
            price: Cents::price("price_cents", r.price_cents)?,
            category: Category::parse(&r.category)?,
            stock: Stock::parse(r.stock)?,
            image_url: r
                .image_url
                .as_deref()
                .map(|u| parse_url("image_url", u))
                .transpose()?,
            name,
            slug,
        })
    }
}

/// Partial update: absent fields stay as they are; `image_url: null` removes the image.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub price_cents: Option<i64>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub stock: Option<i64>,
    #[serde(default)]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "crate::http::double_option")]
    pub image_url: Option<Option<String>>,
}

#[derive(Default)]
pub struct ProductPatch {
    name: Option<String>,
    description: Option<String>,
    price: Option<Cents>,
    category: Option<Category>,
    stock: Option<Stock>,
    slug: Option<Slug>,
    image_url: Option<Option<String>>,
}

impl TryFrom<UpdateProductRequest> for ProductPatch {
    type Error = ApiError;
    fn try_from(r: UpdateProductRequest) -> ApiResult<Self> {
        let patch = ProductPatch {
            name: r.name.as_deref().map(product_name).transpose()?,
            description: r.description.as_deref().map(description).transpose()?,
            price: r
                .price_cents
                .map(|p| Cents::price("price_cents", p))
                .transpose()?,
            category: r.category.as_deref().map(Category::parse).transpose()?,
            stock: r.stock.map(Stock::parse).transpose()?,
            slug: r.slug.as_deref().map(Slug::parse).transpose()?,
            image_url: r
                .image_url
                .map(|u| u.as_deref().map(|u| parse_url("image_url", u)).transpose())
                .transpose()?,
        };
        let empty = patch.name.is_none()
            && patch.description.is_none()
            && patch.price.is_none()
            && patch.category.is_none()
            && patch.stock.is_none()
            && patch.slug.is_none()
            && patch.image_url.is_none();
        if empty {
            return Err(ApiError::bad_request("invalid_field", "nothing to update"));
        }
        Ok(patch)
    }
}

fn slug_taken() -> ApiError {
    ApiError::conflict("slug_taken", "another product already uses this slug")
}

/// A product id from the path. A malformed id cannot name a product: 404, like an unknown one.
fn product_id_from_path(req: &Request) -> ApiResult<ProductId> {
    ProductId::parse("id", &path_param(req, "id")?).map_err(|_| ApiError::NotFound("product"))
}

pub async fn load_product(
    app: &App,
    id: &ProductId,
    consistent: bool,
) -> ApiResult<Option<ProductView>> {
    let table = &app.config.tables.products;
    db::get(&app.dynamo, table, keys::product(id.as_str()), consistent).await
}

/// Loads many products in BatchGetItem rounds of 100. Unknown ids are absent.
pub async fn load_products(
    app: &App,
    ids: &[ProductId],
) -> ApiResult<HashMap<ProductId, ProductView>> {
    let table = &app.config.tables.products;
    let mut found = HashMap::new();
    for chunk in ids.chunks(db::BATCH_GET_MAX_KEYS) {
        let batch = chunk.iter().fold(db::BatchGet::default(), |b, id| {
            b.get(table, keys::product(id.as_str()), false)
        });
        let mut fetched = batch.send(&app.dynamo).await?;
        found.extend(views(fetched.take_all(table))?);
    }
    Ok(found)
}

/// Products read as part of another batch (see `db::BatchGet`), by id.
pub fn views(items: Vec<Item>) -> ApiResult<HashMap<ProductId, ProductView>> {
    items
        .into_iter()
        .map(|item| {
            let p: ProductView = from_item(item)?;
            Ok((p.id.clone(), p))
        })
        .collect()
}

/// `GET /products?limit&cursor&category&q`: name order (case-insensitive), `q` a name prefix.
pub async fn list_products(app: &'static App, req: Request) -> ApiResult<Reply> {
    let limit = pagination::limit(&req)?;
    let category = query_param(&req, "category")
        .filter(|c| !c.trim().is_empty())
        .map(|c| Category::parse(&c))
        .transpose()?;
    let q = query_param(&req, "q")
        .map(|q| q.trim().to_lowercase())
        .unwrap_or_default();
    if q.chars().count() > 100 {
        return Err(ApiError::invalid_field(
            "q",
            "must be at most 100 characters",
        ));
    }
    let (index, partition) = match &category {
        Some(c) => (&BY_CATEGORY, keys::category_pk(c.as_str())),
        None => (&BY_NAME, keys::CATALOG.to_string()),
    };
    let scope = format!("{}|{partition}|{q}", index.name);
    let start = app.cursors.from_request(&scope, &req)?;
    let mut query = app
        .dynamo
        .query()
        .table_name(&app.config.tables.products)
        .index_name(index.name)
        .expression_attribute_names("#pk", index.pk)
        .expression_attribute_values(":pk", s(partition))
        .set_exclusive_start_key(start)
        .limit(limit);
    query = if q.is_empty() {
        query.key_condition_expression("#pk = :pk")
    } else {
        query
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :q)")
            .expression_attribute_names("#sk", index.sk)
            .expression_attribute_values(":q", s(q))
    };
    let out = query.send().await?;
    let items = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(from_item::<_, ProductView>)
        .collect::<Result<Vec<_>, _>>()?;
    Reply::ok(&Page {
        items,
        next_cursor: app.cursors.encode(&scope, out.last_evaluated_key.as_ref()),
    })
}

/// `GET /products/{id}`
pub async fn get_product(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = product_id_from_path(&req)?;
    let product = load_product(app, &id, false)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    Reply::ok(&product)
}

/// Creates a product and its slug guard in one transaction (409 when the slug is taken).
pub async fn create(app: &App, new: NewProduct) -> ApiResult<ProductView> {
    let now = now_rfc3339();
    let id = ProductId::new();
    let record = ProductRecord {
        pk: keys::product_pk(id.as_str()),
        sk: keys::PRODUCT_SK.into(),
        gsi1pk: keys::CATALOG.into(),
        gsi1sk: keys::name_sk(&new.name, id.as_str()),
        gsi2pk: keys::category_pk(new.category.as_str()),
        gsi2sk: keys::name_sk(&new.name, id.as_str()),
        product: ProductView {
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
        },
    };
    let table = &app.config.tables.products;
    let mut guard = keys::slug(record.product.slug.as_str());
    guard.insert("product_id".into(), s(id.as_str()));
    let result = app
        .dynamo
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(db::put_new(table, to_item(&record)?)?)
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .put(db::put_new(table, guard)?)
                .build(),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(record.product),
        Err(e) => match db::cancellation_reasons(&e) {
            Some(r) if r.get(1).is_some_and(db::Cancellation::condition_failed) => {
                Err(slug_taken())
            }
            _ => Err(e.into()),
        },
    }
}

/// `POST /products` (admin)
pub async fn create_product(app: &'static App, req: Request) -> ApiResult<Reply> {
    auth::authenticate(app, &req).await?.require_admin()?;
    let new = NewProduct::try_from(json_body::<CreateProductRequest>(&req)?)?;
    Reply::created(&create(app, new).await?)
}

/// `PUT /products/{id}` (admin): one UpdateItem of only the given fields, so a concurrent checkout's
/// stock decrement is never overwritten. A slug change moves the guard in the same transaction.
pub async fn update_product(app: &'static App, req: Request) -> ApiResult<Reply> {
    auth::authenticate(app, &req).await?.require_admin()?;
    let id = product_id_from_path(&req)?;
    let patch = ProductPatch::try_from(json_body::<UpdateProductRequest>(&req)?)?;
    let current = load_product(app, &id, true)
        .await?
        .ok_or(ApiError::NotFound("product"))?;

    let mut sets = vec!["updated_at = :now".to_string()];
    let mut removes = Vec::new();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut values: HashMap<String, AttributeValue> =
        HashMap::from([(":now".into(), s(now_rfc3339()))]);
    let mut set = |attr: &str, v: AttributeValue| {
        names.insert(format!("#{attr}"), attr.to_string());
        values.insert(format!(":{attr}"), v);
        sets.push(format!("#{attr} = :{attr}"));
    };
    let name = patch.name.clone().unwrap_or_else(|| current.name.clone());
    let category = patch
        .category
        .clone()
        .unwrap_or_else(|| current.category.clone());
    if let Some(v) = &patch.name {
        set("name", s(v));
        set("gsi1sk", s(keys::name_sk(&name, id.as_str())));
        set("gsi2sk", s(keys::name_sk(&name, id.as_str())));
    }
    if let Some(c) = &patch.category {
        set("category", s(c.as_str()));
        set("gsi2pk", s(keys::category_pk(category.as_str())));
    }
    if let Some(v) = &patch.description {
        set("description", s(v));
    }
    if let Some(v) = patch.price {
        set("price_cents", n(v.get()));
    }
    if let Some(v) = patch.stock {
        set("stock", n(v.get()));
    }
    match &patch.image_url {
        Some(Some(u)) => set("image_url", s(u)),
        Some(None) => removes.push("image_url"),
        None => {}
    }
    let new_slug = patch.slug.as_ref().filter(|s| **s != current.slug);
    if let Some(slug) = new_slug {
        set("slug", s(slug.as_str()));
    }
    let mut expr = format!("SET {}", sets.join(", "));
    if !removes.is_empty() {
        expr.push_str(&format!(" REMOVE {}", removes.join(", ")));
    }
    let table = &app.config.tables.products;
    values.insert(":old_slug".into(), s(current.slug.as_str()));
    names.insert("#slug".into(), "slug".into());
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(keys::product(id.as_str())))
        .update_expression(expr)
        // The slug guard below is only right if the slug we read is still the product's.
        .condition_expression("attribute_exists(pk) AND #slug = :old_slug")
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(ApiError::internal)?;
    let mut tx = app
        .dynamo
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().update(update).build());
    if let Some(slug) = new_slug {
        let mut guard = keys::slug(slug.as_str());
        guard.insert("product_id".into(), s(id.as_str()));
        tx = tx
            .transact_items(
                TransactWriteItem::builder()
                    .put(db::put_new(table, guard)?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(table)
                            .set_key(Some(keys::slug(current.slug.as_str())))
                            .build()
                            .map_err(ApiError::internal)?,
                    )
                    .build(),
            );
    }
    if let Err(e) = tx.send().await {
        return Err(match db::cancellation_reasons(&e) {
            Some(r) if r.get(1).is_some_and(db::Cancellation::condition_failed) => slug_taken(),
            Some(r) if r.first().is_some_and(db::Cancellation::condition_failed) => {
                ApiError::conflict(
                    "concurrent_update",
                    "the product was changed or deleted meanwhile; reload and retry",
                )
            }
            _ => e.into(),
        });
    }
    let updated = load_product(app, &id, true)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    Reply::ok(&updated)
}

/// `DELETE /products/{id}` (admin): the product and its slug guard go together. Orders keep their
/// own copy of name and price, so history is unaffected.
pub async fn delete_product(app: &'static App, req: Request) -> ApiResult<Reply> {
    auth::authenticate(app, &req).await?.require_admin()?;
    let id = product_id_from_path(&req)?;
    let current = load_product(app, &id, true)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    let table = &app.config.tables.products;
    let delete = |key: Item, condition: Option<&str>| {
        Delete::builder()
            .table_name(table)
            .set_key(Some(key))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(ApiError::internal)
    };
    let result = app
        .dynamo
        .transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .delete(delete(
                    keys::product(id.as_str()),
                    Some("attribute_exists(pk)"),
                )?)
                .build(),
        )
        .transact_items(
            TransactWriteItem::builder()
                .delete(delete(keys::slug(current.slug.as_str()), None)?)
                .build(),
        )
        .send()
        .await;
    match result {
        Ok(_) => Reply::no_content(),
        Err(e) => match db::cancellation_reasons(&e) {
            Some(r) if r.first().is_some_and(db::Cancellation::condition_failed) => {
                Err(ApiError::NotFound("product"))
            }
            _ => Err(e.into()),
        },
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageRequest {
    pub content_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ImageUpload {
    pub upload_url: String,
    pub image_url: String,
    pub expires_in: u64,
    /// The upload must send exactly this `Content-Type` (it is part of the signature).
    pub content_type: String,
}

/// The object key and extension for an upload of `content_type`, or a 400 for other types.
pub fn image_key(id: &ProductId, content_type: &str) -> ApiResult<(String, &'static str)> {
    let ct = content_type.trim().to_ascii_lowercase();
    let (mime, ext) = IMAGE_TYPES.iter().find(|(m, _)| *m == ct).ok_or_else(|| {
        ApiError::invalid_field(
            "content_type",
            "must be image/jpeg, image/png or image/webp",
        )
    })?;
    Ok((format!("products/{id}/{}.{ext}", ulid::Ulid::new()), mime))
}

/// A presigned PUT for `key`, valid for [`UPLOAD_URL_TTL`], bound to `content_type`, signed with
/// the function's own credentials. Signing needs no S3 client, which keeps the S3 SDK (a third of
/// the zip) out of the function.
pub async fn presign_upload(app: &App, key: &str, content_type: &str) -> ApiResult<String> {
    presign(
        "PUT",
        &app.image_object_url(key),
        &[("content-type", content_type)],
        app.credentials().await?,
        &app.config.region,
        std::time::SystemTime::now(),
        UPLOAD_URL_TTL,
    )
}

/// An S3 URL with SigV4 in its query string (what the S3 SDK's presigner produces): the signature
/// covers the method, the URL, `headers` and the expiry, not the payload.
fn presign(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    credentials: aws_credential_types::Credentials,
    region: &str,
    time: std::time::SystemTime,
    expires_in: std::time::Duration,
) -> ApiResult<String> {
    use aws_sigv4::{
        http_request::{
            PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
            UriPathNormalizationMode, sign,
        },
        sign::v4,
    };
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(expires_in);
    // S3 signs the path exactly as sent: no second encoding, no normalisation.
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(ApiError::internal)?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::UnsignedPayload,
    )
    .map_err(ApiError::internal)?;
    let (instructions, _) = sign(signable, &params)
        .map_err(ApiError::internal)?
        .into_parts();
    let mut req = lambda_http::http::Request::builder()
        .method(method)
        .uri(url)
        .body(())
        .map_err(ApiError::internal)?;
    instructions.apply_to_request_http1x(&mut req);
    Ok(req.uri().to_string())
}

/// `POST /products/{id}/image` (admin): a short-lived presigned PUT for a jpeg/png/webp. The
/// product's `image_url` points at the new object straight away (documented: upload right after).
pub async fn product_image(app: &'static App, req: Request) -> ApiResult<Reply> {
    auth::authenticate(app, &req).await?.require_admin()?;
    let id = product_id_from_path(&req)?;
    let body: ImageRequest = json_body(&req)?;
    let (key, mime) = image_key(&id, &body.content_type)?;
    let upload_url = presign_upload(app, &key, mime).await?;
    let image_url = format!("{}/{key}", app.config.images_base_url);
    app.dynamo
        .update_item()
        .table_name(&app.config.tables.products)
        .set_key(Some(keys::product(id.as_str())))
        .update_expression("SET image_url = :u, updated_at = :now")
        .condition_expression("attribute_exists(pk)")
        .expression_attribute_values(":u", s(&image_url))
        .expression_attribute_values(":now", s(now_rfc3339()))
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
    Reply::ok(&ImageUpload {
        upload_url,
        image_url,
        expires_in: UPLOAD_URL_TTL.as_secs(),
        content_type: mime.to_string(),
    })
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct StockLevel {
    pub product_id: ProductId,
    pub stock: i64,
    pub available: bool,
}

/// `GET /inventory?ids=a,b,c` (up to 100): one BatchGetItem. Unknown ids report stock 0, unavailable.
pub async fn get_inventory(app: &'static App, req: Request) -> ApiResult<Reply> {
    let raw = query_param(&req, "ids").unwrap_or_default();
    let mut ids: Vec<ProductId> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = ProductId::parse("ids", part)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if ids.is_empty() || ids.len() > MAX_INVENTORY_IDS {
        return Err(ApiError::invalid_field(
            "ids",
            format!("must list 1 to {MAX_INVENTORY_IDS} product ids, separated by commas"),
        ));
    }
    let found = load_products(app, &ids).await?;
    let items: Vec<StockLevel> = ids
        .into_iter()
        .map(|id| {
            let stock = found.get(&id).map(|p| p.stock).unwrap_or(0);
            StockLevel {
                product_id: id,
                stock,
                available: stock > 0,
            }
        })
        .collect();
    Reply::ok(&serde_json::json!({ "items": items }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_request_derives_slug_and_checks_bounds() {
        let req: CreateProductRequest = serde_json::from_str(
            r#"{"name":"Moka Pot 6 Cup","price_cents":3490,"category":"Equipment","stock":5}"#,
        )
        .unwrap();
        let p = NewProduct::try_from(req).unwrap();
        assert_eq!(p.slug.as_str(), "moka-pot-6-cup");
        assert_eq!(p.category.as_str(), "equipment");
        assert_eq!(p.description, "");
        for (field, body) in [
            (
                "price_cents",
                r#"{"name":"A","price_cents":0,"category":"c","stock":1}"#,
            ),
            (
                "stock",
                r#"{"name":"A","price_cents":1,"category":"c","stock":-1}"#,
            ),
            (
                "category",
                r#"{"name":"A","price_cents":1,"category":"a b","stock":1}"#,
            ),
            (
                "image_url",
                r#"{"name":"A","price_cents":1,"category":"c","stock":1,"image_url":"javascript:x"}"#,
            ),
            (
                "slug",
                r#"{"name":"咖啡","price_cents":1,"category":"c","stock":1}"#,
            ),
        ] {
            let req: CreateProductRequest = serde_json::from_str(body).unwrap();
            let e = NewProduct::try_from(req).err().unwrap();
            assert!(e.to_string().starts_with(field), "{field}: {e}");
        }
    }

    #[test]
    fn prices_must_be_integers() {
        assert!(
            serde_json::from_str::<CreateProductRequest>(
                r#"{"name":"A","price_cents":9.99,"category":"c","stock":1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn only_jpeg_png_webp_images() {
        let id = ProductId::new();
        let (key, mime) = image_key(&id, "IMAGE/PNG").unwrap();
        assert!(key.starts_with(&format!("products/{id}/")) && key.ends_with(".png"));
        assert_eq!(mime, "image/png");
        for bad in ["image/gif", "image/svg+xml", "text/html", ""] {
            assert!(image_key(&id, bad).is_err(), "{bad}");
        }
    }

    /// AWS's published example ("Authenticating Requests: Using Query Parameters"), byte for byte.
    #[test]
    fn presigning_reproduces_the_aws_documented_example() {
        let url = presign(
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            &[],
            aws_credential_types::Credentials::new(
                "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                None,
                None,
                "example",
            ),
            "us-east-1",
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_369_353_600),
            std::time::Duration::from_secs(86_400),
        )
        .unwrap();
        assert_eq!(
            url,
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }

    #[tokio::test]
    async fn presigned_upload_is_a_put_bound_to_type_and_expiring() {
        let m: HashMap<&str, String> = HashMap::from([
            ("USERS_TABLE", "u".into()),
            ("PRODUCTS_TABLE", "p".into()),
            ("ORDERS_TABLE", "o".into()),
            ("JWT_SECRET", "s".repeat(32)),
            ("IMAGES_BUCKET", "shop-images".into()),
            ("S3_ENDPOINT", "http://127.0.0.1:9".into()),
        ]);
        let config = crate::config::Config::from_lookup(|k| m.get(k).cloned()).unwrap();
        let app = App::new(config);
        let url = presign_upload(&app, "products/X/1.png", "image/png")
            .await
            .unwrap();
        assert!(
            url.starts_with("http://127.0.0.1:9/shop-images/products/X/1.png?"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        assert!(
            url.contains("X-Amz-SignedHeaders=content-type%3Bhost"),
            "{url}"
        );
        assert!(url.contains("X-Amz-Signature="), "{url}");
        assert!(!url.contains("x-id=GetObject"), "{url}");
    }
}
