//! Discount codes: the code, what it takes off, when and on what it applies, and how often it may
//! be used; the admin's requests; and the pure rules that say whether a basket may use a code and
//! what each line saves. Pure: no HTTP, no AWS.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    catalog::model::Category,
    error::{ApiError, ApiResult},
    types::{Cents, Timestamp, double_option, string_newtype},
};

string_newtype!(
    /// A discount code: 3 to 32 of A-Z, 0-9, `-` and `_`, kept upper case, so codes match
    /// whatever case a shopper types.
    PromoCode
);

impl PromoCode {
    pub fn parse(field: &str, raw: &str) -> ApiResult<Self> {
        let code = raw.trim().to_ascii_uppercase();
        let ok = (3..=32).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(PromoCode(code))
        } else {
            Err(ApiError::invalid_field(
                field,
                "must be 3 to 32 letters, digits, '-' or '_'",
            ))
        }
    }
}

/// What a code takes off the lines it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discount {
    /// Whole percent of each line, 1 to 100.
    Percent(u32),
    /// An amount off the lines in scope together, never more than they cost.
    Fixed(Cents),
}

/// A discount code as stored and as the admin sees it (`kind` and `value` side by side).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Record", try_from = "Record")]
pub struct Promotion {
    pub code: PromoCode,
    pub discount: Discount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_subtotal_cents: Option<Cents>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redemptions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_customer: Option<u32>,
    /// The categories whose products it discounts; empty: every product.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
    /// Orders holding it now (an order cancelled or lapsed gives its use back).
    #[serde(default)]
    pub redeemed: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Percent,
    Fixed,
}

/// [`Promotion`]'s stored and wire shape.
#[derive(Serialize, Deserialize)]
struct Record {
    code: PromoCode,
    kind: Kind,
    value: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min_subtotal_cents: Option<Cents>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    starts_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ends_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_redemptions: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_per_customer: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    categories: Vec<Category>,
    #[serde(default)]
    redeemed: u32,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl Discount {
    fn parse(kind: Kind, value: i64) -> ApiResult<Self> {
        Ok(match kind {
            Kind::Percent => Discount::Percent(
                u32::try_from(value)
                    .ok()
                    .filter(|p| (1..=100).contains(p))
                    .ok_or_else(|| {
                        ApiError::invalid_field("value", "a percent must be from 1 to 100")
                    })?,
            ),
            Kind::Fixed => Discount::Fixed(Cents::price("value", value)?),
        })
    }
}

impl From<Promotion> for Record {
    fn from(p: Promotion) -> Self {
        let (kind, value) = match p.discount {
            Discount::Percent(pct) => (Kind::Percent, i64::from(pct)),
            Discount::Fixed(c) => (Kind::Fixed, c.get()),
        };
        Record {
            code: p.code,
            kind,
            value,
            min_subtotal_cents: p.min_subtotal_cents,
            starts_at: p.starts_at,
            ends_at: p.ends_at,
            max_redemptions: p.max_redemptions,
            max_per_customer: p.max_per_customer,
            categories: p.categories,
            redeemed: p.redeemed,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl TryFrom<Record> for Promotion {
    type Error = ApiError;
    fn try_from(r: Record) -> ApiResult<Self> {
        Ok(Promotion {
            discount: Discount::parse(r.kind, r.value)?,
            code: r.code,
            min_subtotal_cents: r.min_subtotal_cents,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            max_redemptions: r.max_redemptions,
            max_per_customer: r.max_per_customer,
            categories: r.categories,
            redeemed: r.redeemed,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Why a basket may not use a code: the `reason` of a 422 `promotion_invalid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invalid {
    Unknown,
    NotStarted,
    Ended,
    OutOfScope,
    UnderMinimum(Cents),
}

impl Invalid {
    fn reason(self) -> &'static str {
        match self {
            Invalid::Unknown => "unknown",
            Invalid::NotStarted => "not_started",
            Invalid::Ended => "ended",
            Invalid::OutOfScope => "out_of_scope",
            Invalid::UnderMinimum(_) => "under_minimum",
        }
    }

    /// The 422 a shopper sees, naming the code and why.
    pub fn error(self, code: &PromoCode) -> ApiError {
        let message = match self {
            Invalid::Unknown => format!("{code} is not a discount code of this shop"),
            Invalid::NotStarted => format!("{code} cannot be used yet"),
            Invalid::Ended => format!("{code} has ended"),
            Invalid::OutOfScope => format!("{code} does not apply to anything in this basket"),
            Invalid::UnderMinimum(min) => format!(
                "{code} needs a subtotal of at least {}.{:02}",
                min.get() / 100,
                min.get() % 100
            ),
        };
        let mut details = json!({ "code": code, "reason": self.reason() });
        if let Invalid::UnderMinimum(min) = self {
            details["min_subtotal_cents"] = json!(min);
        }
        ApiError::Rejected {
            code: "promotion_invalid",
            message,
            details: Some(details),
        }
    }
}

/// 409 `promotion_exhausted`: every use of the code is taken, or the shopper's own.
pub fn exhausted(code: &PromoCode, by_customer: bool) -> ApiError {
    ApiError::Conflict {
        code: "promotion_exhausted",
        message: if by_customer {
            format!("you have used {code} as often as it may be used")
        } else {
            format!("{code} has been used as often as it may be")
        },
        details: Some(json!({ "code": code })),
    }
}

/// A line as the discount sees it: what it costs and the category of its product.
pub struct Priced<'a> {
    pub line_cents: Cents,
    pub category: &'a Category,
}

impl Promotion {
    /// Whether it may be used at `now` (its period only; its counts are the checkout's).
    pub fn open_at(&self, now: Timestamp) -> Result<(), Invalid> {
        if self.starts_at.is_some_and(|s| now < s) {
            return Err(Invalid::NotStarted);
        }
        if self.ends_at.is_some_and(|e| now >= e) {
            return Err(Invalid::Ended);
        }
        Ok(())
    }

    /// Every use taken (checked again, exactly, by the checkout's transaction).
    pub fn used_up(&self) -> bool {
        self.max_redemptions.is_some_and(|max| self.redeemed >= max)
    }

    fn covers(&self, category: &Category) -> bool {
        self.categories.is_empty() || self.categories.contains(category)
    }

    /// What it takes off each line at `now`, in line order; a refusal when the basket may not use
    /// it. The minimum is on the whole basket's subtotal, before any discount. No line's discount
    /// exceeds the line.
    pub fn discounts(&self, lines: &[Priced<'_>], now: Timestamp) -> Result<Vec<Cents>, Invalid> {
        self.open_at(now)?;
        let subtotal = Cents::sum(lines.iter().map(|l| l.line_cents));
        if let Some(min) = self.min_subtotal_cents.filter(|m| subtotal < *m) {
            return Err(Invalid::UnderMinimum(min));
        }
        let in_scope: Vec<Cents> = lines
            .iter()
            .map(|l| {
                if self.covers(l.category) {
                    l.line_cents
                } else {
                    Cents::ZERO
                }
            })
            .collect();
        let scope_total = Cents::sum(in_scope.iter().copied());
        if scope_total == Cents::ZERO {
            return Err(Invalid::OutOfScope);
        }
        Ok(match self.discount {
            Discount::Percent(pct) => in_scope.iter().map(|c| c.percent(pct)).collect(),
            Discount::Fixed(amount) => share(amount.min(scope_total), &in_scope),
        })
    }
}

/// `amount` split over `lines` in proportion to what each costs (each share rounded down, the
/// cents left over given one each to the first lines with room), so no share exceeds its line.
/// `amount` is at most the lines' sum.
fn share(amount: Cents, lines: &[Cents]) -> Vec<Cents> {
    let total = Cents::sum(lines.iter().copied()).get();
    let mut shares: Vec<i64> = lines
        .iter()
        .map(|l| amount.get() * l.get() / total)
        .collect();
    let mut left = amount.get() - shares.iter().sum::<i64>();
    for (s, l) in shares.iter_mut().zip(lines) {
        if left == 0 {
            break;
        }
        let room = (l.get() - *s).min(left);
        *s += room;
        left -= room;
    }
    shares.into_iter().map(Cents::from_trusted).collect()
}

/// The body of `POST /admin/promotions`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionRequest {
    pub code: String,
    pub kind: String,
    pub value: i64,
    #[serde(default)]
    pub min_subtotal_cents: Option<i64>,
    #[serde(default)]
    pub starts_at: Option<String>,
    #[serde(default)]
    pub ends_at: Option<String>,
    #[serde(default)]
    pub max_redemptions: Option<i64>,
    #[serde(default)]
    pub max_per_customer: Option<i64>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
}

/// The body of `PUT /admin/promotions/{code}`: the limits and period to change (`null` removes
/// one). The code, its discount and its categories stay as created.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PromotionUpdate {
    #[serde(default, deserialize_with = "double_option")]
    pub min_subtotal_cents: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub starts_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub ends_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub max_redemptions: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub max_per_customer: Option<Option<i64>>,
}

/// A limit: a whole number from 1 to 1,000,000.
fn limit(field: &str, raw: i64) -> ApiResult<u32> {
    u32::try_from(raw)
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| ApiError::invalid_field(field, "must be a whole number from 1 to 1000000"))
}

fn time(field: &str, raw: &str) -> ApiResult<Timestamp> {
    Timestamp::parse(raw)
        .ok_or_else(|| ApiError::invalid_field(field, "must be an RFC 3339 UTC time (…Z)"))
}

fn optional<T, R>(raw: Option<R>, parse: impl FnOnce(R) -> ApiResult<T>) -> ApiResult<Option<T>> {
    raw.map(parse).transpose()
}

impl Promotion {
    /// A new code from the admin's request, created at `now`.
    pub fn create(r: PromotionRequest, now: Timestamp) -> ApiResult<Self> {
        let kind = match r.kind.as_str() {
            "percent" => Kind::Percent,
            "fixed" => Kind::Fixed,
            _ => return Err(ApiError::invalid_field("kind", "must be percent or fixed")),
        };
        let discount = Discount::parse(kind, r.value)?;
        let categories = r
            .categories
            .unwrap_or_default()
            .iter()
            .map(|c| Category::parse(c))
            .collect::<ApiResult<Vec<_>>>()?;
        let promo = Promotion {
            code: PromoCode::parse("code", &r.code)?,
            discount,
            min_subtotal_cents: optional(r.min_subtotal_cents, |c| {
                Cents::amount("min_subtotal_cents", c)
            })?,
            starts_at: optional(r.starts_at, |t| time("starts_at", &t))?,
            ends_at: optional(r.ends_at, |t| time("ends_at", &t))?,
            max_redemptions: optional(r.max_redemptions, |n| limit("max_redemptions", n))?,
            max_per_customer: optional(r.max_per_customer, |n| limit("max_per_customer", n))?,
            categories,
            redeemed: 0,
            created_at: now,
            updated_at: now,
        };
        promo.checked()
    }

    /// This code with `u`'s changes, made at `now`.
    pub fn edited(&self, u: PromotionUpdate, now: Timestamp) -> ApiResult<Self> {
        let mut p = self.clone();
        if let Some(v) = u.min_subtotal_cents {
            p.min_subtotal_cents = optional(v, |c| Cents::amount("min_subtotal_cents", c))?;
        }
        if let Some(v) = u.starts_at {
            p.starts_at = optional(v, |t| time("starts_at", &t))?;
        }
        if let Some(v) = u.ends_at {
            p.ends_at = optional(v, |t| time("ends_at", &t))?;
        }
        if let Some(v) = u.max_redemptions {
            p.max_redemptions = optional(v, |n| limit("max_redemptions", n))?;
        }
        if let Some(v) = u.max_per_customer {
            p.max_per_customer = optional(v, |n| limit("max_per_customer", n))?;
        }
        p.updated_at = now;
        p.checked()
    }

    fn checked(self) -> ApiResult<Self> {
        if let (Some(s), Some(e)) = (self.starts_at, self.ends_at)
            && e <= s
        {
            return Err(ApiError::invalid_field(
                "ends_at",
                "must be after starts_at",
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cat(s: &str) -> Category {
        Category::parse(s).unwrap()
    }

    fn promo(discount: Discount) -> Promotion {
        Promotion {
            code: PromoCode::parse("code", "save10").unwrap(),
            discount,
            min_subtotal_cents: None,
            starts_at: None,
            ends_at: None,
            max_redemptions: None,
            max_per_customer: None,
            categories: Vec::new(),
            redeemed: 0,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
        }
    }

    fn c(n: i64) -> Cents {
        Cents::from_trusted(n)
    }

    #[test]
    fn codes_match_in_any_case_and_refuse_other_characters() {
        assert_eq!(
            PromoCode::parse("c", " Summer-25 ").unwrap().as_str(),
            "SUMMER-25"
        );
        for bad in ["ab", "has space", "ümlaut", &"X".repeat(33)] {
            assert!(PromoCode::parse("c", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_percent_rounds_each_line_half_up_and_skips_lines_out_of_scope() {
        let mut p = promo(Discount::Percent(15));
        p.categories = vec![cat("mugs")];
        let (mugs, books) = (cat("mugs"), cat("books"));
        let lines = [
            Priced {
                line_cents: c(1_099),
                category: &mugs,
            },
            Priced {
                line_cents: c(2_000),
                category: &books,
            },
        ];
        // 15 % of 10.99 is 1.6485.
        assert_eq!(
            p.discounts(&lines, Timestamp::now()),
            Ok(vec![c(165), c(0)])
        );
    }

    #[test]
    fn a_fixed_amount_is_shared_by_cost_and_never_exceeds_the_lines() {
        let p = promo(Discount::Fixed(c(1_000)));
        let any = cat("any");
        let lines = [
            Priced {
                line_cents: c(300),
                category: &any,
            },
            Priced {
                line_cents: c(600),
                category: &any,
            },
            Priced {
                line_cents: c(100),
                category: &any,
            },
        ];
        let off = p.discounts(&lines, Timestamp::now()).unwrap();
        assert_eq!(off, vec![c(300), c(600), c(100)], "capped at the lines");
        let p = promo(Discount::Fixed(c(100)));
        let lines = [
            Priced {
                line_cents: c(333),
                category: &any,
            },
            Priced {
                line_cents: c(333),
                category: &any,
            },
            Priced {
                line_cents: c(334),
                category: &any,
            },
        ];
        let off = p.discounts(&lines, Timestamp::now()).unwrap();
        assert_eq!(Cents::sum(off.iter().copied()), c(100));
        assert!(off.iter().zip(&lines).all(|(o, l)| *o <= l.line_cents));
    }

    #[test]
    fn refusals_name_their_reason() {
        let now = Timestamp::now();
        let hour = Duration::from_secs(3600);
        let any = cat("any");
        let lines = [Priced {
            line_cents: c(500),
            category: &any,
        }];
        let mut p = promo(Discount::Percent(10));
        p.starts_at = Some(now.plus(hour));
        assert_eq!(p.discounts(&lines, now), Err(Invalid::NotStarted));
        p.starts_at = None;
        p.ends_at = Some(now);
        assert_eq!(p.discounts(&lines, now), Err(Invalid::Ended));
        p.ends_at = None;
        p.min_subtotal_cents = Some(c(501));
        assert_eq!(p.discounts(&lines, now), Err(Invalid::UnderMinimum(c(501))));
        p.min_subtotal_cents = Some(c(500));
        p.categories = vec![cat("mugs")];
        assert_eq!(p.discounts(&lines, now), Err(Invalid::OutOfScope));
        let err = Invalid::UnderMinimum(c(2_500)).error(&p.code);
        assert!(err.to_string().contains("25.00"), "{err}");
    }

    #[test]
    fn the_admin_may_change_limits_and_end_a_code_but_not_its_discount() {
        let p = promo(Discount::Percent(10));
        let now = Timestamp::now();
        let u: PromotionUpdate =
            serde_json::from_str(r#"{"max_redemptions": 5, "ends_at": "2030-01-01T00:00:00Z"}"#)
                .unwrap();
        let e = p.edited(u, now).unwrap();
        assert_eq!((e.max_redemptions, e.discount), (Some(5), p.discount));
        let u: PromotionUpdate = serde_json::from_str(r#"{"max_redemptions": null}"#).unwrap();
        assert_eq!(e.edited(u, now).unwrap().max_redemptions, None);
        assert!(serde_json::from_str::<PromotionUpdate>(r#"{"value": 50}"#).is_err());
        let u: PromotionUpdate = serde_json::from_str(
            r#"{"starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert!(p.edited(u, now).is_err());
    }

    #[test]
    fn a_request_parses_into_a_code() {
        let r: PromotionRequest = serde_json::from_str(
            r#"{"code":"welcome","kind":"fixed","value":500,"categories":["Mugs"],"max_per_customer":1}"#,
        )
        .unwrap();
        let p = Promotion::create(r, Timestamp::now()).unwrap();
        assert_eq!(p.code.as_str(), "WELCOME");
        assert_eq!(p.discount, Discount::Fixed(c(500)));
        assert_eq!(p.categories, vec![cat("mugs")]);
        let stored = serde_json::to_value(&p).unwrap();
        assert_eq!(
            (stored["kind"].as_str(), stored["value"].as_i64()),
            (Some("fixed"), Some(500))
        );
        for bad in [
            r#"{"code":"x1x","kind":"percent","value":101}"#,
            r#"{"code":"x1x","kind":"bogo","value":1}"#,
            r#"{"code":"x1x","kind":"fixed","value":0}"#,
            r#"{"code":"x1x","kind":"fixed","value":5,"max_redemptions":0}"#,
        ] {
            let r: PromotionRequest = serde_json::from_str(bad).unwrap();
            assert!(Promotion::create(r, Timestamp::now()).is_err(), "{bad}");
        }
    }
}
