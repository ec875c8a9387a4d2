//! The pricing endpoints: the owner's shipping and tax documents (read and replaced with
//! `ETag` / `If-Match`), and where the shop ships.

use lambda_http::{Request, http::header};
use serde::de::DeserializeOwned;

use super::{
    rates::{ShippingRates, ShippingRatesRequest, TaxRates, TaxRatesRequest, Versioned, if_match},
    store::{self, Document},
};
use crate::{
    app::App,
    audit::Entry,
    auth,
    error::{ApiError, ApiResult},
    platform::{
        db::Consistency,
        http::{CATALOG_CACHING, Reply, header_str, json_body},
    },
};

fn versioned<T: serde::Serialize>(v: &Versioned<T>) -> ApiResult<Reply> {
    Ok(Reply::ok(&v.doc)?.with_header(header::ETAG, v.etag()))
}

/// The document, read while the token is checked (shown only once the caller is an admin).
async fn read<T: Document>(app: &'static App, req: &Request) -> ApiResult<Reply> {
    let (admin, doc) =
        auth::authenticate_with(app, req, |_| store::load::<T>(app, Consistency::Strong)).await?;
    admin.require_admin()?;
    versioned(&doc)
}

async fn replace<T, R>(app: &'static App, req: &Request) -> ApiResult<Reply>
where
    T: Document + TryFrom<R, Error = ApiError>,
    R: DeserializeOwned,
{
    let edited = if_match(T::NAME, header_str(req, "if-match"))?;
    let doc = T::try_from(json_body::<R>(req)?)?;
    // The version edited is read with the token: it is the entry's "before", and the write is
    // conditional on it still being current.
    let (admin, current) =
        auth::authenticate_with(app, req, |_| store::load::<T>(app, Consistency::Strong)).await?;
    admin.require_admin()?;
    if current.version != edited {
        return Err(ApiError::Stale(T::NAME));
    }
    let audit = Entry::new(
        &admin.user_id,
        T::CHANGED,
        T::KIND,
        Some(&current.doc),
        Some(&doc),
    )?;
    let saved = store::save(app, doc, edited, &audit).await?;
    tracing::info!(admin = %admin.user_id, kind = T::KIND, version = saved.version, "settings changed");
    versioned(&saved)
}

/// `GET /shipping` (admin): the zones, their countries and methods, with an `ETag`.
pub async fn get_shipping(app: &'static App, req: Request) -> ApiResult<Reply> {
    read::<ShippingRates>(app, &req).await
}

/// `PUT /shipping` (admin, `If-Match`): replaces the zones; 412 when someone saved first.
pub async fn put_shipping(app: &'static App, req: Request) -> ApiResult<Reply> {
    replace::<ShippingRates, ShippingRatesRequest>(app, &req).await
}

/// `GET /tax` (admin): the tax regions and whether prices include tax, with an `ETag`.
pub async fn get_tax(app: &'static App, req: Request) -> ApiResult<Reply> {
    read::<TaxRates>(app, &req).await
}

/// `PUT /tax` (admin, `If-Match`): replaces the tax document; 412 when someone saved first.
pub async fn put_tax(app: &'static App, req: Request) -> ApiResult<Reply> {
    replace::<TaxRates, TaxRatesRequest>(app, &req).await
}

/// `GET /shipping/countries` (public): `{countries: [{code, name}]}`, where the shop ships.
pub async fn shipping_countries(app: &'static App, _req: Request) -> ApiResult<Reply> {
    let rates = store::load::<ShippingRates>(app, Consistency::Eventual).await?;
    let countries: Vec<serde_json::Value> = rates
        .doc
        .countries()
        .into_iter()
        .map(|c| serde_json::json!({ "code": c.as_str(), "name": c.name() }))
        .collect();
    Ok(Reply::ok(&serde_json::json!({ "countries": countries }))?.cached(CATALOG_CACHING))
}
