//! The shipping and tax documents in DynamoDB: one item each in the orders table (key
//! `SETTINGS#<kind>` / `SETTINGS`, which the outbox's stream filter never matches), written only
//! on condition that the version the admin edited is still the current one.

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_dynamo::to_item;

use aws_sdk_dynamodb::types::Put;

use super::rates::{ShippingRates, TaxRates, Versioned};
use crate::{
    app::App,
    audit::{self, Action},
    error::{ApiError, ApiResult},
    platform::db::{self, Fetched, Item, Tx, TxError, n, not_exists},
};

/// A settings document of the shop.
pub trait Document: Serialize + DeserializeOwned + Default {
    /// Its key's kind, e.g. `shipping`.
    const KIND: &'static str;
    /// What an error message calls it.
    const NAME: &'static str;
    /// What the audit trail calls its replacement.
    const CHANGED: Action;
}

impl Document for ShippingRates {
    const KIND: &'static str = "shipping";
    const NAME: &'static str = "shipping rates";
    const CHANGED: Action = Action::ShippingRatesChanged;
}

impl Document for TaxRates {
    const KIND: &'static str = "tax";
    const NAME: &'static str = "tax rates";
    const CHANGED: Action = Action::TaxRatesChanged;
}

const SETTINGS_PREFIX: &str = "SETTINGS#";
const SETTINGS_SK: &str = "SETTINGS";
const VERSION: &str = "version";

#[derive(Serialize, Deserialize)]
struct Stored<T> {
    version: u64,
    doc: T,
}

pub fn key<T: Document>() -> Item {
    db::key(format!("{SETTINGS_PREFIX}{}", T::KIND), SETTINGS_SK)
}

fn table(app: &App) -> &str {
    &app.config.tables.orders
}

fn decode<T: Document>(item: Option<Item>) -> ApiResult<Versioned<T>> {
    Ok(match item {
        Some(item) => {
            let s: Stored<T> = crate::db::decode(item)?;
            Versioned {
                doc: s.doc,
                version: s.version,
            }
        }
        None => Versioned {
            doc: T::default(),
            version: 0,
        },
    })
}

/// The current document (its default, at version 0, if never written).
pub async fn load<T: Document>(app: &App, consistency: db::Consistency) -> ApiResult<Versioned<T>> {
    let item = db::get_item(&app.dynamo, table(app), key::<T>(), consistency.is_strong()).await?;
    decode(item)
}

/// Adds both documents to a batch read (a quote or checkout reads them with its other items).
pub fn prefetch(app: &App, batch: db::BatchGet) -> db::BatchGet {
    batch
        .get(table(app), key::<ShippingRates>(), false)
        .get(table(app), key::<TaxRates>(), false)
}

/// Both documents out of a batch read that [`prefetch`] extended.
pub fn take(app: &App, fetched: &mut Fetched) -> ApiResult<(ShippingRates, TaxRates)> {
    let shipping = decode::<ShippingRates>(fetched.take(table(app), &key::<ShippingRates>()))?;
    let tax = decode::<TaxRates>(fetched.take(table(app), &key::<TaxRates>()))?;
    Ok((shipping.doc, tax.doc))
}

/// Replaces the document edited at version `edited`, with its audit entry; 412 when another
/// write came first.
pub async fn save<T: Document>(
    app: &App,
    doc: T,
    edited: u64,
    audit: &audit::Entry,
) -> ApiResult<Versioned<T>> {
    let version = edited + 1;
    let mut item: Item = to_item(Stored { version, doc: &doc })?;
    item.extend(key::<T>());
    let put = Put::builder().table_name(table(app)).set_item(Some(item));
    let put = if edited == 0 {
        put.condition_expression(not_exists())
    } else {
        put.condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", n(edited))
    };
    let tx = Tx::new()
        .put("document", db::built(put.build())?)
        .put("audit", audit::store::record(app, audit)?);
    match tx.send(&app.dynamo).await {
        Ok(()) => Ok(Versioned { doc, version }),
        Err(TxError::Cancelled(r)) if r.failed("document") => Err(ApiError::Stale(T::NAME)),
        Err(e) => Err(e.into()),
    }
}
