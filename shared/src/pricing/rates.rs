//! The owner's shipping rates and tax rates, each one settings document: what an admin sends
//! (`*Request`, raw JSON shapes) and what it parses into (checked once, then trusted by pricing).
//! Pure: no HTTP, no AWS.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{
    address::Country,
    countries::{CA_PROVINCES, US_STATES},
};
use crate::{
    error::{ApiError, ApiResult},
    types::{Cents, bounded_text, string_newtype},
};

const MAX_ZONES: usize = 50;
const MAX_METHODS: usize = 10;
const MAX_BANDS: usize = 20;
const MAX_TAX_REGIONS: usize = 200;
/// 100% in basis points.
pub const MAX_RATE_BP: u32 = 10_000;

string_newtype!(
    /// A zone's or a method's id: 1 to 50 of `a-z`, `0-9` and `-`.
    RateId
);

impl RateId {
    pub fn parse(field: &str, raw: &str) -> ApiResult<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= 50
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(RateId(raw.to_string()))
        } else {
            Err(ApiError::invalid_field(
                field,
                "must be 1 to 50 characters of a-z, 0-9 and -",
            ))
        }
    }
}

/// One price for baskets up to a weight; the last band may be open (no `up_to_grams`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_to_grams: Option<u32>,
    pub price_cents: Cents,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Method {
    pub id: RateId,
    pub name: String,
    pub bands: Vec<Band>,
    /// A subtotal at or above this ships free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_from_cents: Option<Cents>,
}

impl Method {
    /// The price for a basket of `grams`; `None` when it is heavier than every band.
    pub fn price_for(&self, grams: u64) -> Option<Cents> {
        self.bands
            .iter()
            .find(|b| b.up_to_grams.is_none_or(|max| grams <= u64::from(max)))
            .map(|b| b.price_cents)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    pub id: RateId,
    pub name: String,
    pub countries: Vec<Country>,
    pub methods: Vec<Method>,
}

/// Where the shop ships and at what price. No zones: it ships nowhere yet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRates {
    pub zones: Vec<Zone>,
}

impl ShippingRates {
    pub fn zone_for(&self, country: &Country) -> Option<&Zone> {
        self.zones.iter().find(|z| z.countries.contains(country))
    }

    /// Every country some zone serves, in code order.
    pub fn countries(&self) -> Vec<Country> {
        let mut all: Vec<Country> = self
            .zones
            .iter()
            .flat_map(|z| z.countries.iter().cloned())
            .collect();
        all.sort();
        all
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandRequest {
    #[serde(default)]
    pub up_to_grams: Option<i64>,
    pub price_cents: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodRequest {
    pub id: String,
    pub name: String,
    pub bands: Vec<BandRequest>,
    #[serde(default)]
    pub free_from_cents: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneRequest {
    pub id: String,
    pub name: String,
    pub countries: Vec<String>,
    pub methods: Vec<MethodRequest>,
}

/// `PUT /shipping`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShippingRatesRequest {
    pub zones: Vec<ZoneRequest>,
}

fn name(field: &str, raw: &str) -> ApiResult<String> {
    bounded_text(field, raw, 1, 100)
}

fn unique<T: Eq + std::hash::Hash>(
    field: &str,
    what: &str,
    items: impl IntoIterator<Item = T>,
) -> ApiResult<()> {
    let mut seen = HashSet::new();
    if items.into_iter().all(|i| seen.insert(i)) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("{what} must be unique"),
        ))
    }
}

fn at_most<T>(field: &str, items: &[T], max: usize) -> ApiResult<()> {
    if items.len() <= max {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("at most {max} allowed"),
        ))
    }
}

fn bands(field: &str, raw: Vec<BandRequest>) -> ApiResult<Vec<Band>> {
    if raw.is_empty() {
        return Err(ApiError::invalid_field(field, "needs at least one band"));
    }
    at_most(field, &raw, MAX_BANDS)?;
    let mut out: Vec<Band> = Vec::with_capacity(raw.len());
    let last = raw.len() - 1;
    for (i, b) in raw.into_iter().enumerate() {
        let f = format!("{field}[{i}]");
        let up_to = b
            .up_to_grams
            .map(|g| match u32::try_from(g) {
                Ok(g) if g >= 1 => Ok(g),
                _ => Err(ApiError::invalid_field(
                    format!("{f}.up_to_grams"),
                    "must be a positive number of grams",
                )),
            })
            .transpose()?;
        let previous = out.last().and_then(|p| p.up_to_grams);
        let ascending = match (previous, up_to) {
            (None, _) if i > 0 => false,
            (Some(p), Some(u)) => u > p,
            (Some(_), None) | (None, _) => true,
        };
        if !ascending || (up_to.is_none() && i != last) {
            return Err(ApiError::invalid_field(
                format!("{f}.up_to_grams"),
                "bands must go up in weight, and only the last may be open",
            ));
        }
        out.push(Band {
            up_to_grams: up_to,
            price_cents: Cents::amount(&format!("{f}.price_cents"), b.price_cents)?,
        });
    }
    Ok(out)
}

fn method(field: &str, m: MethodRequest) -> ApiResult<Method> {
    Ok(Method {
        id: RateId::parse(&format!("{field}.id"), &m.id)?,
        name: name(&format!("{field}.name"), &m.name)?,
        bands: bands(&format!("{field}.bands"), m.bands)?,
        free_from_cents: m
            .free_from_cents
            .map(|c| Cents::amount(&format!("{field}.free_from_cents"), c))
            .transpose()?,
    })
}

fn zone(field: &str, z: ZoneRequest) -> ApiResult<Zone> {
    let countries = z
        .countries
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Country::parse(c).ok_or_else(|| {
                ApiError::invalid_field(
                    format!("{field}.countries[{i}]"),
                    "must be an ISO 3166-1 alpha-2 code",
                )
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if countries.is_empty() {
        return Err(ApiError::invalid_field(
            format!("{field}.countries"),
            "needs at least one country",
        ));
    }
    at_most(&format!("{field}.methods"), &z.methods, MAX_METHODS)?;
    let methods = z
        .methods
        .into_iter()
        .enumerate()
        .map(|(i, m)| method(&format!("{field}.methods[{i}]"), m))
        .collect::<ApiResult<Vec<_>>>()?;
    if methods.is_empty() {
        return Err(ApiError::invalid_field(
            format!("{field}.methods"),
            "needs at least one method",
        ));
    }
    unique(
        &format!("{field}.methods"),
        "method ids",
        methods.iter().map(|m| &m.id),
    )?;
    Ok(Zone {
        id: RateId::parse(&format!("{field}.id"), &z.id)?,
        name: name(&format!("{field}.name"), &z.name)?,
        countries,
        methods,
    })
}

impl TryFrom<ShippingRatesRequest> for ShippingRates {
    type Error = ApiError;
    fn try_from(r: ShippingRatesRequest) -> ApiResult<Self> {
        at_most("zones", &r.zones, MAX_ZONES)?;
        let zones = r
            .zones
            .into_iter()
            .enumerate()
            .map(|(i, z)| zone(&format!("zones[{i}]"), z))
            .collect::<ApiResult<Vec<_>>>()?;
        unique("zones", "zone ids", zones.iter().map(|z| &z.id))?;
        unique(
            "zones",
            "a country's zone (one zone per country)",
            zones.iter().flat_map(|z| z.countries.iter()),
        )?;
        Ok(ShippingRates { zones })
    }
}

/// A region's rate per tax class, in basis points (725 is 7.25%). Exempt products pay none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRates {
    pub standard: u32,
    pub reduced: u32,
}

/// A country's tax, or a US state's / Canadian province's within it (the more specific wins).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRegion {
    pub country: Country,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub name: String,
    pub rates: ClassRates,
    pub shipping_taxed: bool,
}

/// How prices are meant, and the tax of every region that has one (elsewhere: none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRates {
    /// `true`: catalog prices contain the tax (EU style); `false`: tax is added (US style).
    pub prices_include_tax: bool,
    pub regions: Vec<TaxRegion>,
}

impl TaxRates {
    /// The region taxing a delivery to `country` / `region`: the state's or province's own entry,
    /// else the country's.
    pub fn region_for(&self, country: &Country, region: Option<&str>) -> Option<&TaxRegion> {
        let exact = self
            .regions
            .iter()
            .find(|r| &r.country == country && r.region.is_some() && r.region.as_deref() == region);
        exact.or_else(|| {
            self.regions
                .iter()
                .find(|r| &r.country == country && r.region.is_none())
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxRegionRequest {
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
    pub name: String,
    pub rates: ClassRates,
    #[serde(default)]
    pub shipping_taxed: bool,
}

/// `PUT /tax`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxRatesRequest {
    pub prices_include_tax: bool,
    pub regions: Vec<TaxRegionRequest>,
}

fn tax_region(field: &str, r: TaxRegionRequest) -> ApiResult<TaxRegion> {
    let country = Country::parse(&r.country).ok_or_else(|| {
        ApiError::invalid_field(
            format!("{field}.country"),
            "must be an ISO 3166-1 alpha-2 code",
        )
    })?;
    let region = match r.region.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => {
            let code = raw.to_ascii_uppercase();
            let known = match country.as_str() {
                "US" => US_STATES.contains(&code.as_str()),
                "CA" => CA_PROVINCES.contains(&code.as_str()),
                _ => {
                    (1..=10).contains(&code.len())
                        && code.bytes().all(|b| b.is_ascii_alphanumeric())
                }
            };
            if !known {
                return Err(ApiError::invalid_field(
                    format!("{field}.region"),
                    "must be the region's code (a USPS state code, a Canadian province code)",
                ));
            }
            Some(code)
        }
    };
    for (class, bp) in [("standard", r.rates.standard), ("reduced", r.rates.reduced)] {
        if bp > MAX_RATE_BP {
            return Err(ApiError::invalid_field(
                format!("{field}.rates.{class}"),
                format!("must be basis points from 0 to {MAX_RATE_BP}"),
            ));
        }
    }
    Ok(TaxRegion {
        country,
        region,
        name: name(&format!("{field}.name"), &r.name)?,
        rates: r.rates,
        shipping_taxed: r.shipping_taxed,
    })
}

impl TryFrom<TaxRatesRequest> for TaxRates {
    type Error = ApiError;
    fn try_from(r: TaxRatesRequest) -> ApiResult<Self> {
        at_most("regions", &r.regions, MAX_TAX_REGIONS)?;
        let regions = r
            .regions
            .into_iter()
            .enumerate()
            .map(|(i, t)| tax_region(&format!("regions[{i}]"), t))
            .collect::<ApiResult<Vec<_>>>()?;
        unique(
            "regions",
            "a country and region pair",
            regions.iter().map(|t| (&t.country, &t.region)),
        )?;
        Ok(TaxRates {
            prices_include_tax: r.prices_include_tax,
            regions,
        })
    }
}

/// A settings document and the version it is at; its `ETag` is the version, quoted.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    pub doc: T,
    /// 0 for a document never written (its default).
    pub version: u64,
}

impl<T> Versioned<T> {
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// The version an `If-Match` names: 428 without one, 412 for one that names no version (a weak or
/// `*` tag cannot say which version was edited).
pub fn if_match(what: &'static str, raw: Option<&str>) -> ApiResult<u64> {
    let raw = raw.ok_or(ApiError::PreconditionRequired(what))?.trim();
    raw.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .and_then(|v| v.parse().ok())
        .ok_or(ApiError::Stale(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipping(v: serde_json::Value) -> ApiResult<ShippingRates> {
        ShippingRates::try_from(serde_json::from_value::<ShippingRatesRequest>(v).unwrap())
    }

    fn refused(r: ApiResult<impl std::fmt::Debug>) -> String {
        match r {
            Err(ApiError::Invalid { field, .. }) => field.unwrap(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn zone_with(bands: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"zones": [{"id": "us", "name": "US", "countries": ["US"],
            "methods": [{"id": "standard", "name": "Standard", "bands": bands}]}]})
    }

    #[test]
    fn a_method_prices_by_the_first_band_that_holds_the_weight() {
        let r = shipping(zone_with(serde_json::json!([
            {"up_to_grams": 2000, "price_cents": 590}, {"price_cents": 990}
        ])))
        .unwrap();
        let m = &r.zones[0].methods[0];
        assert_eq!(m.price_for(0).map(Cents::get), Some(590));
        assert_eq!(m.price_for(2000).map(Cents::get), Some(590));
        assert_eq!(m.price_for(2001).map(Cents::get), Some(990));
        let capped = shipping(zone_with(
            serde_json::json!([{"up_to_grams": 500, "price_cents": 300}]),
        ))
        .unwrap();
        assert_eq!(capped.zones[0].methods[0].price_for(501), None);
    }

    #[test]
    fn bands_must_go_up_and_only_the_last_may_be_open() {
        let down = zone_with(
            serde_json::json!([{"up_to_grams": 2000, "price_cents": 1}, {"up_to_grams": 1000, "price_cents": 2}]),
        );
        assert_eq!(
            refused(shipping(down)),
            "zones[0].methods[0].bands[1].up_to_grams"
        );
        let open_first = zone_with(
            serde_json::json!([{"price_cents": 1}, {"up_to_grams": 1000, "price_cents": 2}]),
        );
        assert_eq!(
            refused(shipping(open_first)),
            "zones[0].methods[0].bands[0].up_to_grams"
        );
        let negative = zone_with(serde_json::json!([{"price_cents": -1}]));
        assert_eq!(
            refused(shipping(negative)),
            "zones[0].methods[0].bands[0].price_cents"
        );
        assert_eq!(
            refused(shipping(zone_with(serde_json::json!([])))),
            "zones[0].methods[0].bands"
        );
    }

    #[test]
    fn a_country_belongs_to_one_zone_and_ids_are_unique() {
        let z = |id: &str, c: &str| {
            serde_json::json!({"id": id, "name": "Z", "countries": [c],
            "methods": [{"id": "m", "name": "M", "bands": [{"price_cents": 100}]}]})
        };
        assert_eq!(
            refused(shipping(
                serde_json::json!({"zones": [z("a", "US"), z("b", "US")]})
            )),
            "zones"
        );
        assert_eq!(
            refused(shipping(
                serde_json::json!({"zones": [z("a", "US"), z("a", "CA")]})
            )),
            "zones"
        );
        assert_eq!(
            refused(shipping(serde_json::json!({"zones": [z("a", "XX")]}))),
            "zones[0].countries[0]"
        );
        assert_eq!(
            refused(shipping(serde_json::json!({"zones": [z("A", "US")]}))),
            "zones[0].id"
        );
        let ok = shipping(serde_json::json!({"zones": [z("a", "us"), z("b", "CA")]})).unwrap();
        assert_eq!(
            ok.countries()
                .iter()
                .map(Country::as_str)
                .collect::<Vec<_>>(),
            ["CA", "US"]
        );
    }

    fn tax(v: serde_json::Value) -> ApiResult<TaxRates> {
        TaxRates::try_from(serde_json::from_value::<TaxRatesRequest>(v).unwrap())
    }

    #[test]
    fn the_state_rate_wins_over_the_countrys() {
        let t = tax(serde_json::json!({"prices_include_tax": false, "regions": [
            {"country": "US", "name": "US", "rates": {"standard": 100, "reduced": 0}},
            {"country": "US", "region": "ny", "name": "NY", "rates": {"standard": 400, "reduced": 0}, "shipping_taxed": true}
        ]}))
        .unwrap();
        let us = Country::parse("US").unwrap();
        assert_eq!(t.region_for(&us, Some("NY")).unwrap().name, "NY");
        assert_eq!(t.region_for(&us, Some("OR")).unwrap().name, "US");
        assert!(t.region_for(&Country::parse("JP").unwrap(), None).is_none());
    }

    #[test]
    fn tax_regions_are_checked() {
        let one = |r: serde_json::Value| {
            tax(serde_json::json!({"prices_include_tax": true, "regions": [r]}))
        };
        assert_eq!(
            refused(one(
                serde_json::json!({"country": "US", "region": "XX", "name": "n", "rates": {"standard": 1, "reduced": 0}})
            )),
            "regions[0].region"
        );
        assert_eq!(
            refused(one(
                serde_json::json!({"country": "DE", "name": "n", "rates": {"standard": 10001, "reduced": 0}})
            )),
            "regions[0].rates.standard"
        );
        let twice = tax(serde_json::json!({"prices_include_tax": true, "regions": [
            {"country": "DE", "name": "a", "rates": {"standard": 1900, "reduced": 700}},
            {"country": "de", "name": "b", "rates": {"standard": 1900, "reduced": 700}}
        ]}));
        assert_eq!(refused(twice), "regions");
    }

    #[test]
    fn if_match_names_the_version_edited() {
        assert_eq!(if_match("x", Some("\"7\"")).unwrap(), 7);
        let v = Versioned {
            doc: (),
            version: 7,
        };
        assert_eq!(if_match("x", Some(&v.etag())).unwrap(), 7);
        assert_eq!(
            if_match("x", None).unwrap_err().code(),
            "precondition_required"
        );
        for bad in ["*", "W/\"7\"", "7", "\"seven\""] {
            assert_eq!(
                if_match("x", Some(bad)).unwrap_err().code(),
                "precondition_failed",
                "{bad}"
            );
        }
    }
}
