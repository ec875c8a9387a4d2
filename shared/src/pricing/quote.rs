//! The one pricing function: lines at catalog prices, the shipping options to an address and the
//! chosen one's price, the tax of the address's region per line (and on shipping where the region
//! taxes it), a discount code's saving per line (tax is on what is left), and the total. The quote and the checkout both call [`quote`], so a shopper pays
//! what the quote said. Integer cents throughout, each tax amount rounded half up. Pure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    address::ShippingAddress,
    rates::{Method, RateId, ShippingRates, TaxRates, TaxRegion},
};
use crate::{
    catalog::model::Category,
    error::{ApiError, ApiResult},
    promotions::model::{Priced, PromoCode, Promotion},
    types::{Cents, Currency, Grams, ProductId, Quantity, TaxClass, Timestamp},
};

/// A line to price: what the catalog says about the product, and how many.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price_cents: Cents,
    pub quantity: Quantity,
    pub weight_grams: Grams,
    pub tax_class: TaxClass,
    pub category: Category,
}

/// A discount code a shopper entered, to apply as of `at`.
#[derive(Clone, Copy, Debug)]
pub struct Offer<'a> {
    pub promotion: &'a Promotion,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    pub product_id: ProductId,
    pub name: String,
    pub unit_price_cents: Cents,
    pub quantity: Quantity,
    pub line_cents: Cents,
}

/// A shipping method offered for this basket and address, at its price for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingOption {
    pub id: RateId,
    pub name: String,
    pub price_cents: Cents,
}

/// The method an order ships by, as it was named when the order was placed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingChoice {
    pub id: RateId,
    pub name: String,
}

/// One rate's tax: `{name, rate_bp, amount_cents}`; a quote's lines sum to its `tax_cents`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxLine {
    pub name: String,
    pub rate_bp: u32,
    pub amount_cents: Cents,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub lines: Vec<QuoteLine>,
    pub subtotal_cents: Cents,
    /// The code applied, and what it took off the subtotal (0 without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promo_code: Option<PromoCode>,
    #[serde(default)]
    pub discount_cents: Cents,
    pub shipping_options: Vec<ShippingOption>,
    pub shipping_method: ShippingChoice,
    pub shipping_cents: Cents,
    pub tax_lines: Vec<TaxLine>,
    pub tax_cents: Cents,
    pub total_cents: Cents,
    pub currency: Currency,
    pub prices_include_tax: bool,
}

/// What a basket costs delivered to `to` by `method` (the cheapest offered when `None`), less
/// `offer`'s discount. Refusals: 422 `cannot_ship_to` (no zone serves the country), 422
/// `shipping_method_unavailable` (the method is not offered there, or the basket is too heavy),
/// 422 `promotion_invalid` (the code may not be used on this basket now). Free shipping from a
/// threshold counts the subtotal after the discount.
pub fn quote(
    items: &[Item],
    to: &ShippingAddress,
    method: Option<&RateId>,
    rates: &ShippingRates,
    tax: &TaxRates,
    currency: &Currency,
    offer: Option<Offer<'_>>,
) -> ApiResult<Quote> {
    let lines: Vec<QuoteLine> = items
        .iter()
        .map(|i| QuoteLine {
            product_id: i.product_id.clone(),
            name: i.name.clone(),
            unit_price_cents: i.unit_price_cents,
            quantity: i.quantity,
            line_cents: i.unit_price_cents.times(i.quantity),
        })
        .collect();
    let subtotal = Cents::sum(lines.iter().map(|l| l.line_cents));
    let off = match offer {
        None => vec![Cents::ZERO; lines.len()],
        Some(o) => {
            let priced: Vec<Priced<'_>> = items
                .iter()
                .zip(&lines)
                .map(|(i, l)| Priced {
                    line_cents: l.line_cents,
                    category: &i.category,
                })
                .collect();
            o.promotion
                .discounts(&priced, o.at)
                .map_err(|why| why.error(&o.promotion.code))?
        }
    };
    let discount = Cents::sum(off.iter().copied());
    let grams: u64 = items
        .iter()
        .map(|i| u64::from(i.weight_grams.get()) * u64::from(i.quantity.get()))
        .sum();
    let options = shipping_options(to, rates, grams, subtotal - discount)?;
    let chosen = choose(&options, method)?;
    let region = tax.region_for(&to.country, to.region.as_deref());
    let tax_lines = region.map_or_else(Vec::new, |r| {
        tax_lines(
            r,
            items.iter().zip(lines.iter().zip(&off)),
            chosen.price_cents,
            tax.prices_include_tax,
        )
    });
    let tax_cents = Cents::sum(tax_lines.iter().map(|t| t.amount_cents));
    let total = subtotal - discount + chosen.price_cents;
    Ok(Quote {
        total_cents: if tax.prices_include_tax {
            total
        } else {
            total + tax_cents
        },
        shipping_method: ShippingChoice {
            id: chosen.id.clone(),
            name: chosen.name.clone(),
        },
        shipping_cents: chosen.price_cents,
        shipping_options: options,
        lines,
        subtotal_cents: subtotal,
        promo_code: offer.map(|o| o.promotion.code.clone()),
        discount_cents: discount,
        tax_lines,
        tax_cents,
        currency: currency.clone(),
        prices_include_tax: tax.prices_include_tax,
    })
}

/// The methods of the address's zone that take a basket of `grams`, at their price for it.
fn shipping_options(
    to: &ShippingAddress,
    rates: &ShippingRates,
    grams: u64,
    subtotal: Cents,
) -> ApiResult<Vec<ShippingOption>> {
    let zone = rates
        .zone_for(&to.country)
        .ok_or_else(|| ApiError::Rejected {
            code: "cannot_ship_to",
            message: format!("the shop does not ship to {} yet", to.country.name()),
            details: Some(serde_json::json!({ "country": to.country })),
        })?;
    let offer = |m: &Method| {
        m.price_for(grams).map(|price| ShippingOption {
            id: m.id.clone(),
            name: m.name.clone(),
            price_cents: match m.free_from_cents {
                Some(from) if subtotal >= from => Cents::ZERO,
                _ => price,
            },
        })
    };
    Ok(zone.methods.iter().filter_map(offer).collect())
}

/// The requested option, or the cheapest (the first listed of equals).
fn choose<'a>(
    options: &'a [ShippingOption],
    method: Option<&RateId>,
) -> ApiResult<&'a ShippingOption> {
    let found = match method {
        Some(id) => options.iter().find(|o| &o.id == id),
        None => options.iter().min_by_key(|o| o.price_cents),
    };
    found.ok_or_else(|| ApiError::Rejected {
        code: "shipping_method_unavailable",
        message: match method {
            Some(id) => format!("shipping method {id} is not offered for this address and basket"),
            None => "no shipping method takes this basket to this address".into(),
        },
        details: Some(
            serde_json::json!({ "offered": options.iter().map(|o| &o.id).collect::<Vec<_>>() }),
        ),
    })
}

/// Tax per line (and on shipping where the region taxes it, at the standard rate), grouped by
/// rate; lines of 0 are left out.
fn tax_lines<'a>(
    region: &TaxRegion,
    lines: impl Iterator<Item = (&'a Item, (&'a QuoteLine, &'a Cents))>,
    shipping: Cents,
    included: bool,
) -> Vec<TaxLine> {
    let tax_of = |amount: Cents, bp: u32| {
        if included {
            amount.tax_contained(bp)
        } else {
            amount.tax_added(bp)
        }
    };
    let rate = |class: TaxClass| match class {
        TaxClass::Standard => region.rates.standard,
        TaxClass::Reduced => region.rates.reduced,
        TaxClass::Exempt => 0,
    };
    let mut by_rate: BTreeMap<u32, Cents> = BTreeMap::new();
    let mut add = |bp: u32, amount: Cents| {
        if bp > 0 {
            let t = by_rate.entry(bp).or_insert(Cents::ZERO);
            *t = *t + tax_of(amount, bp);
        }
    };
    for (item, (line, off)) in lines {
        add(rate(item.tax_class), line.line_cents - *off);
    }
    if region.shipping_taxed {
        add(region.rates.standard, shipping);
    }
    by_rate
        .into_iter()
        .rev()
        .filter(|(_, amount)| *amount > Cents::ZERO)
        .map(|(rate_bp, amount_cents)| TaxLine {
            name: region.name.clone(),
            rate_bp,
            amount_cents,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pricing::{
        address::AddressRequest,
        rates::{ShippingRatesRequest, TaxRatesRequest},
    };

    /// The README's sample rates (the same JSON the dev seed and the tests' fixture load).
    fn sample() -> (ShippingRates, TaxRates) {
        let s: ShippingRatesRequest =
            serde_json::from_str(include_str!("../../../scripts/seed-shipping.json")).unwrap();
        let t: TaxRatesRequest =
            serde_json::from_str(include_str!("../../../scripts/seed-tax.json")).unwrap();
        (s.try_into().unwrap(), t.try_into().unwrap())
    }

    fn to(country: &str, region: Option<&str>, postal: &str) -> ShippingAddress {
        ShippingAddress::parse(
            "a",
            AddressRequest {
                name: "A".into(),
                line1: "1 Main St".into(),
                city: "Town".into(),
                region: region.map(String::from),
                postal_code: postal.into(),
                country: country.into(),
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn item(price: i64, qty: i64, grams: i64, class: TaxClass) -> Item {
        Item {
            product_id: ProductId::new(),
            name: format!("p{price}"),
            unit_price_cents: Cents::price("p", price).unwrap(),
            quantity: Quantity::parse("q", qty).unwrap(),
            weight_grams: Grams::parse("w", grams).unwrap(),
            tax_class: class,
            category: Category::parse("things").unwrap(),
        }
    }

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn price(items: &[Item], to: &ShippingAddress, method: Option<&str>) -> ApiResult<Quote> {
        let (s, t) = sample();
        let id = method.map(|m| RateId::parse("m", m).unwrap());
        quote(items, to, id.as_ref(), &s, &t, &usd(), None)
    }

    fn code(r: ApiResult<Quote>) -> &'static str {
        r.expect_err("a refusal").code()
    }

    const MUG: (i64, i64) = (1800, 400);
    const COFFEE: (i64, i64) = (1650, 280);

    #[test]
    fn california_taxes_the_mug_and_not_the_coffee_and_not_shipping() {
        let items = [
            item(MUG.0, 1, MUG.1, TaxClass::Standard),
            item(COFFEE.0, 1, COFFEE.1, TaxClass::Reduced),
        ];
        let q = price(&items, &to("US", Some("CA"), "94105"), None).unwrap();
        assert_eq!(q.subtotal_cents.get(), 3450);
        assert_eq!(q.shipping_method.id.as_str(), "standard");
        assert_eq!(q.shipping_cents.get(), 590);
        // 7.25% of 18.00 = 1.305, rounded half up.
        assert_eq!(q.tax_lines.len(), 1);
        assert_eq!(
            (q.tax_lines[0].rate_bp, q.tax_lines[0].amount_cents.get()),
            (725, 131)
        );
        assert_eq!(q.total_cents.get(), 3450 + 590 + 131);
        assert_eq!(
            q.shipping_options
                .iter()
                .map(|o| o.id.as_str())
                .collect::<Vec<_>>(),
            ["standard", "express"]
        );
    }

    #[test]
    fn standard_shipping_is_by_weight_band_and_free_from_sixty() {
        let light = [item(1000, 1, 2000, TaxClass::Standard)];
        let heavy = [item(1000, 1, 2001, TaxClass::Standard)];
        let home = to("US", Some("OR"), "97201");
        assert_eq!(
            price(&light, &home, None).unwrap().shipping_cents.get(),
            590
        );
        assert_eq!(
            price(&heavy, &home, None).unwrap().shipping_cents.get(),
            990
        );
        let almost = [item(5999, 1, 100, TaxClass::Standard)];
        let enough = [item(3000, 2, 100, TaxClass::Standard)];
        assert_eq!(
            price(&almost, &home, None).unwrap().shipping_cents.get(),
            590
        );
        assert_eq!(price(&enough, &home, None).unwrap().shipping_cents.get(), 0);
        let express = price(&enough, &home, Some("express")).unwrap();
        assert_eq!(express.shipping_cents.get(), 1490, "express is never free");
        // Oregon has no sales tax.
        assert!(express.tax_lines.is_empty());
        assert_eq!(express.total_cents.get(), 6000 + 1490);
    }

    #[test]
    fn new_york_taxes_shipping_and_illinois_has_a_reduced_rate() {
        let items = [
            item(2000, 1, 500, TaxClass::Standard),
            item(1000, 1, 500, TaxClass::Reduced),
        ];
        let ny = price(&items, &to("US", Some("NY"), "10001"), None).unwrap();
        // 4% of 20.00 + 4% of 5.90 shipping = 0.80 + 0.236 -> 0.80 + 0.24.
        assert_eq!(ny.tax_lines.len(), 1);
        assert_eq!(ny.tax_cents.get(), 80 + 24);
        let il = price(&items, &to("US", Some("IL"), "60601"), None).unwrap();
        let rates: Vec<(u32, i64)> = il
            .tax_lines
            .iter()
            .map(|t| (t.rate_bp, t.amount_cents.get()))
            .collect();
        // 6.25% of 20.00 = 1.25; 1% of 10.00 = 0.10; shipping untaxed.
        assert_eq!(rates, [(625, 125), (100, 10)]);
        assert_eq!(il.tax_cents.get(), 135);
        let wa = price(
            &[item(1000, 3, 10, TaxClass::Exempt)],
            &to("US", Some("WA"), "98101"),
            None,
        )
        .unwrap();
        assert_eq!(wa.tax_cents.get(), 0, "exempt products pay no tax");
    }

    #[test]
    fn rounding_is_half_up_per_line() {
        // 7.25% of 0.20 = 0.0145 -> 0.01 per line, twice: 0.02 (not 0.03 on the sum).
        let items = [
            item(20, 1, 1, TaxClass::Standard),
            item(21, 1, 1, TaxClass::Standard),
        ];
        let q = price(&items, &to("US", Some("CA"), "94105"), None).unwrap();
        assert_eq!(q.tax_cents.get(), 1 + 2);
        assert_eq!(
            Cents::amount("x", 10).unwrap().tax_added(500).get(),
            1,
            "0.5 rounds up"
        );
        assert_eq!(Cents::amount("x", 9).unwrap().tax_added(500).get(), 0);
    }

    #[test]
    fn international_orders_pay_by_weight_and_no_tax_here() {
        let light = [item(1000, 2, 1000, TaxClass::Standard)];
        let heavy = [item(1000, 3, 1000, TaxClass::Standard)];
        let london = to("GB", None, "SW1A 1AA");
        let q = price(&light, &london, None).unwrap();
        assert_eq!(
            (q.shipping_method.id.as_str(), q.shipping_cents.get()),
            ("international", 1990)
        );
        assert_eq!(
            price(&heavy, &london, None).unwrap().shipping_cents.get(),
            3490
        );
        assert_eq!(q.tax_cents.get(), 0);
        assert_eq!(
            code(price(&light, &london, Some("express"))),
            "shipping_method_unavailable"
        );
    }

    #[test]
    fn a_country_outside_every_zone_cannot_be_shipped_to() {
        let tokyo = to("JP", None, "100-0001");
        assert_eq!(
            code(price(
                &[item(1000, 1, 100, TaxClass::Standard)],
                &tokyo,
                None
            )),
            "cannot_ship_to"
        );
    }

    #[test]
    fn tax_included_prices_contain_the_tax_and_do_not_add_it() {
        let (s, _) = sample();
        let t = TaxRates::try_from(
            serde_json::from_value::<TaxRatesRequest>(serde_json::json!({"prices_include_tax": true, "regions": [
                {"country": "DE", "name": "MwSt", "rates": {"standard": 1900, "reduced": 700}, "shipping_taxed": true}
            ]}))
            .unwrap(),
        )
        .unwrap();
        let items = [
            item(1190, 1, 500, TaxClass::Standard),
            item(1070, 1, 500, TaxClass::Reduced),
        ];
        let q = quote(&items, &to("DE", None, "10115"), None, &s, &t, &usd(), None).unwrap();
        // 11.90 holds 1.90 at 19%; 10.70 holds 0.70 at 7%; 19.90 shipping holds 3.177 -> 3.18.
        let rates: Vec<(u32, i64)> = q
            .tax_lines
            .iter()
            .map(|t| (t.rate_bp, t.amount_cents.get()))
            .collect();
        assert_eq!(rates, [(1900, 190 + 318), (700, 70)]);
        assert!(q.prices_include_tax);
        assert_eq!(
            q.total_cents.get(),
            1190 + 1070 + 1990,
            "the tax is inside the prices"
        );
    }

    fn code_of(json: serde_json::Value) -> Promotion {
        let r = serde_json::from_value(json).unwrap();
        Promotion::create(r, Timestamp::now()).unwrap()
    }

    #[test]
    fn a_code_comes_off_before_tax_and_before_the_free_shipping_threshold() {
        let (s, t) = sample();
        let items = [
            item(MUG.0, 2, MUG.1, TaxClass::Standard),
            item(COFFEE.0, 2, COFFEE.1, TaxClass::Reduced),
        ];
        let ca = to("US", Some("CA"), "94105");
        let full = quote(&items, &ca, None, &s, &t, &usd(), None).unwrap();
        assert_eq!(
            (full.subtotal_cents.get(), full.shipping_cents.get()),
            (6900, 0)
        );
        let promo = code_of(serde_json::json!({"code": "tenoff", "kind": "percent", "value": 20}));
        let offer = Offer {
            promotion: &promo,
            at: Timestamp::now(),
        };
        let q = quote(&items, &ca, None, &s, &t, &usd(), Some(offer)).unwrap();
        // 20 % of 36.00 and of 33.00; 55.20 left is under the 60.00 of free shipping.
        assert_eq!(q.discount_cents.get(), 720 + 660);
        assert_eq!(q.promo_code.as_ref().map(PromoCode::as_str), Some("TENOFF"));
        assert_eq!(q.shipping_cents.get(), 590);
        // 7.25 % of the mugs' 28.80 left = 2.088.
        assert_eq!(q.tax_cents.get(), 209);
        assert_eq!(q.total_cents.get(), 6900 - 1380 + 590 + 209);
    }

    #[test]
    fn a_code_that_does_not_apply_is_refused_with_its_reason() {
        let (s, t) = sample();
        let items = [item(1000, 1, 100, TaxClass::Standard)];
        let promo = code_of(
            serde_json::json!({"code": "big", "kind": "fixed", "value": 500, "min_subtotal_cents": 5000}),
        );
        let offer = Offer {
            promotion: &promo,
            at: Timestamp::now(),
        };
        let err = quote(
            &items,
            &to("US", Some("OR"), "97201"),
            None,
            &s,
            &t,
            &usd(),
            Some(offer),
        )
        .unwrap_err();
        assert_eq!(err.code(), "promotion_invalid");
        assert!(err.to_string().contains("50.00"), "{err}");
    }
}
