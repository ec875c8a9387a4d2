//! The catalog endpoints, one function each.

use lambda_http::Request;

use serde_json::{Value, json};

use super::{
    images,
    model::{
        CreateProductRequest, ImageRequest, ImageUpload, LowStock, NewProduct, ProductPatch,
        ProductQuery, StockLevel, UpdateProductRequest, inventory_ids, product_id_in_path,
    },
    pictures::{self, UploadKey},
    store,
};
use crate::{
    app::App,
    audit::{Action, Entry},
    auth,
    error::{ApiError, ApiResult},
    platform::{
        http::{CATALOG_CACHING, Caching, Reply, json_body, page_request, path_param, query_param},
        objects::{IMMUTABLE, ObjectCreated, Stored},
    },
    types::ProductId,
};

/// What an image upload changes on the product.
#[derive(serde::Serialize)]
struct ImageSet<'a> {
    image_url: Option<&'a str>,
}

fn product_id(req: &Request) -> ApiResult<ProductId> {
    product_id_in_path(&path_param(req, "id")?)
}

/// `GET /products?limit&cursor&category&q`: name order (case-insensitive), `q` a word search.
pub async fn list_products(app: &'static App, req: Request) -> ApiResult<Reply> {
    let page = page_request(&req)?;
    let query = ProductQuery::parse(
        query_param(&req, "category").as_deref(),
        query_param(&req, "q").as_deref(),
    )?;
    Ok(Reply::ok(&store::list(app, query, &page).await?)?.cached(CATALOG_CACHING))
}

/// `GET /products/{id}`
pub async fn get_product(app: &'static App, req: Request) -> ApiResult<Reply> {
    let id = product_id(&req)?;
    let product = store::load_product(app, &id, false)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    Ok(Reply::ok(&product)?.cached(CATALOG_CACHING))
}

/// `POST /products` (admin)
pub async fn create_product(app: &'static App, req: Request) -> ApiResult<Reply> {
    let who = auth::authenticate(app, &req).await?;
    who.require_admin()?;
    let new = NewProduct::try_from(json_body::<CreateProductRequest>(&req)?)?;
    let product = new.product(app.settings.catalog.currency.clone());
    let audit = Entry::new(
        &who.user_id,
        Action::ProductCreated,
        &product.id,
        None,
        Some(&product),
    )?;
    Reply::created(&store::create(app, product, &audit).await?)
}

/// `PUT /products/{id}` (admin): a partial update.
pub async fn update_product(app: &'static App, req: Request) -> ApiResult<Reply> {
    let who = auth::authenticate(app, &req).await?;
    who.require_admin()?;
    let id = product_id(&req)?;
    let patch = ProductPatch::try_from(json_body::<UpdateProductRequest>(&req)?)?;
    let current = store::load_product(app, &id, true)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    // The stock as read: a checkout may take units between this read and the write.
    let audit = Entry::new(
        &who.user_id,
        Action::ProductUpdated,
        &id,
        Some(&current),
        Some(&patch.applied_to(&current)),
    )?;
    Reply::ok(&store::update(app, &current, &patch, &audit).await?)
}

/// `DELETE /products/{id}` (admin)
pub async fn delete_product(app: &'static App, req: Request) -> ApiResult<Reply> {
    let who = auth::authenticate(app, &req).await?;
    who.require_admin()?;
    let id = product_id(&req)?;
    let current = store::load_product(app, &id, true)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    let audit = Entry::new(
        &who.user_id,
        Action::ProductDeleted,
        &id,
        Some(&current),
        None,
    )?;
    store::delete(app, &current, &audit).await?;
    Reply::no_content()
}

/// `POST /products/{id}/image` (admin): a short-lived presigned POST for one jpeg/png/webp of at
/// most 5 MiB, to a private upload key. Nothing changes on the product yet: `resize-image` turns
/// the upload into the product's picture (and records it in the audit trail) once it is checked.
pub async fn product_image(app: &'static App, req: Request) -> ApiResult<Reply> {
    let who = auth::authenticate(app, &req).await?;
    who.require_admin()?;
    let id = product_id(&req)?;
    let body: ImageRequest = json_body(&req)?;
    let (key, mime) = UploadKey::new(&id, &who.user_id, &body.content_type)?;
    store::load_product(app, &id, false)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    let upload = images::presign_upload(app, &key.key(), mime).await?;
    Ok(Reply::ok(&ImageUpload {
        upload_url: upload.url,
        upload_fields: upload.fields,
        upload: key.upload,
        expires_in: images::UPLOAD_URL_TTL.as_secs(),
        content_type: mime.to_string(),
        max_bytes: images::MAX_IMAGE_BYTES,
    })?
    .cached(Caching::NoStore))
}

/// `resize-image` (the bucket's `Object Created` events under `uploads/`): the upload becomes the
/// product's picture, one WebP per width plus the original, unless it is not an allowed picture
/// (refused and logged as a security event, never served), the product is gone, or the product
/// already shows this or a later upload. The upload is deleted in every case but a failure, which
/// the trigger retries. Idempotent: a second delivery finds the picture set and does nothing.
pub async fn resize_image(app: &'static App, event: Value) -> ApiResult<Value> {
    let event: ObjectCreated = serde_json::from_value(event)
        .map_err(|e| ApiError::internal(format!("not an S3 Object Created event: {e}")))?;
    let Some(raw_key) = event.key_in(&app.config.images_bucket) else {
        return Ok(json!({ "made": "nothing" }));
    };
    let Some(key) = UploadKey::parse(raw_key) else {
        tracing::warn!(
            security_event = "upload_refused",
            key = raw_key,
            "an object under uploads/ that no upload URL names"
        );
        return Ok(json!({ "made": "nothing" }));
    };
    let credentials = app.credentials().await?;
    let made = make_picture(app, &credentials, &key).await?;
    app.images.delete(&credentials, &key.key()).await?;
    Ok(json!({ "made": made }))
}

/// What the upload at `key` made: `picture`, `refused` or `nothing`.
async fn make_picture(
    app: &App,
    credentials: &aws_credential_types::Credentials,
    key: &UploadKey,
) -> ApiResult<&'static str> {
    let current = store::load_product(app, &key.product, true).await?;
    let Some(current) = current else {
        return Ok("nothing");
    };
    if !pictures::supersedes(key, current.picture.as_ref()) {
        return Ok("nothing");
    }
    let Some(bytes) = app.images.get(credentials, &key.key()).await? else {
        // Already handled and deleted by an earlier delivery.
        return Ok("nothing");
    };
    let rendered = match pictures::render(key, &bytes) {
        Ok(r) => r,
        Err(refusal) => {
            tracing::warn!(
                security_event = "upload_refused",
                product_id = %key.product,
                admin = %key.admin,
                key = %key.key(),
                bytes = bytes.len(),
                reason = %refusal,
                "an uploaded picture was refused"
            );
            return Ok("refused");
        }
    };
    let picture = rendered.picture(key, &app.config.images_base_url);
    let folder = key.folder();
    for r in rendered.renditions {
        let stored = Stored {
            content_type: r.content_type,
            // Pictures are never rewritten: each upload has its own folder.
            cache_control: IMMUTABLE,
        };
        app.images
            .put(
                credentials,
                &format!("{folder}/{}", r.name),
                r.bytes,
                stored,
            )
            .await?;
    }
    let audit = Entry::new(
        &key.admin,
        Action::ProductImageSet,
        &key.product,
        Some(&ImageSet {
            image_url: current.image_url.as_deref(),
        }),
        Some(&ImageSet {
            image_url: Some(picture.default_url()),
        }),
    )?;
    Ok(
        if store::set_picture(app, &key.product, &picture, &audit).await? {
            tracing::info!(product_id = %key.product, upload = %key.upload, widths = picture.sources.len(), "picture made");
            "picture"
        } else {
            "nothing"
        },
    )
}

/// `GET /inventory?ids=a,b,c` (up to 100): one BatchGetItem. Unknown ids report stock 0, unavailable.
pub async fn get_inventory(app: &'static App, req: Request) -> ApiResult<Reply> {
    let ids = inventory_ids(&query_param(&req, "ids").unwrap_or_default())?;
    let found = store::load_products(app, &ids).await?;
    let items: Vec<StockLevel> = ids
        .into_iter()
        .map(|id| {
            let stock = found.get(&id).map(|p| p.stock);
            StockLevel::of(id, stock)
        })
        .collect();
    // Not cached: stock moves with every checkout and cancel, and a shopper deciding on an
    // "available" that is 30 s old would be told otherwise at checkout.
    Ok(Reply::ok(&serde_json::json!({ "items": items }))?.cached(Caching::NoStore))
}

/// `GET /admin/low-stock?limit` (admins): the `limit` products (20 unless asked, at most 100) with
/// the fewest units at or under `LOW_STOCK_THRESHOLD`, fewest first; `more` when others are low too.
pub async fn low_stock(app: &'static App, req: Request) -> ApiResult<Reply> {
    let limit = page_request(&req)?.limit;
    auth::authenticate(app, &req).await?.require_admin()?;
    let threshold = app.settings.catalog.low_stock_threshold;
    let (items, more) = store::low_stock(app, threshold, limit).await?;
    Reply::ok(&LowStock {
        threshold,
        items,
        more,
    })
}
