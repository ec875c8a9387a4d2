//! Parsed values the domains share (ids, money, quantities, roles, bounded text, time). Once a value of one of these
//! types exists it is valid; handlers never re-check strings. Each parse error names the field it
//! came from. Pure: no HTTP, no AWS.

use serde::{Deserialize, Serialize};
use std::{
    fmt,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::error::ApiError;

pub(crate) fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Trimmed text of bounded length with no control characters.
pub fn bounded_text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, ApiError> {
    let s = raw.trim();
    let n = char_len(s);
    if n < min || n > max {
        return Err(ApiError::invalid_field(
            field,
            format!("must be {min} to {max} characters long"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ApiError::invalid_field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(s.to_string())
}

/// A `String` newtype whose only constructors are its type's parsers.
macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use string_newtype;

string_newtype!(
    /// A user id: a ULID, so ids sort by creation time.
    UserId
);
impl UserId {
    pub fn new() -> Self {
        UserId(ulid::Ulid::new().to_string())
    }

    /// Ids that reach us from a verified token or our own table.
    pub fn from_trusted(s: impl Into<String>) -> Self {
        UserId(s.into())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Admin,
}

/// An ISO 4217 currency code, upper case (`USD`): the shop prices in one, an order records it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim().to_ascii_uppercase();
        (code.len() == 3 && code.bytes().all(|b| b.is_ascii_alphabetic())).then_some(Currency(code))
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Currency::parse(&raw).ok_or_else(|| format!("not an ISO 4217 currency code: {raw:?}"))
    }
}

/// For optional fields where `null` and absent differ: absent = `None`, `null` = `Some(None)`.
pub fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as Deserialize>::deserialize(d).map(Some)
}

/// A point in time to the millisecond: every `*_at` field. Stored and sent as RFC 3339 UTC text
/// (`2026-12-04T12:00:00.000Z`); compared as a time, never as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(SystemTime);

impl Timestamp {
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// `after` later.
    pub fn plus(self, after: Duration) -> Self {
        Self::from(self.0 + after)
    }

    /// RFC 3339 UTC text (`Z`, any fraction of a second); `None` for anything else, an offset
    /// included (the shop writes UTC only).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        if !raw.ends_with(['Z', 'z']) {
            return None;
        }
        humantime::parse_rfc3339_weak(raw).ok().map(Self::from)
    }
}

impl From<SystemTime> for Timestamp {
    /// Truncated to the millisecond, so a time survives its text unchanged.
    fn from(t: SystemTime) -> Self {
        let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let millis = Duration::from_millis(u64::try_from(since.as_millis()).unwrap_or(u64::MAX));
        Timestamp(UNIX_EPOCH + millis)
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_rfc3339_millis(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Timestamp::parse(&raw)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {raw:?}")))
    }
}

pub fn now_epoch_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

string_newtype!(
    /// A product id (ULID, canonical upper case).
    ProductId
);
impl ProductId {
    pub fn new() -> Self {
        ProductId(ulid::Ulid::new().to_string())
    }

    /// Parses a client-supplied id. Anything that is not a ULID cannot name a product.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ApiError> {
        parse_ulid(raw)
            .map(|u| ProductId(u.to_string()))
            .ok_or_else(|| ApiError::invalid_field(field, "is not a product id"))
    }

    pub fn from_trusted(s: impl Into<String>) -> Self {
        ProductId(s.into())
    }
}

impl Default for ProductId {
    fn default() -> Self {
        Self::new()
    }
}

string_newtype!(
    /// An order id (ULID, so a customer's orders sort by time).
    OrderId
);
impl OrderId {
    pub fn new() -> Self {
        OrderId(ulid::Ulid::new().to_string())
    }

    /// Parses an id from outside (a path, a payment's metadata); `None` for anything that is not
    /// a ULID, which cannot name an order.
    pub fn parse(raw: &str) -> Option<Self> {
        parse_ulid(raw).map(|_| OrderId(raw.to_string()))
    }

    /// Ids that reach us from our own table.
    pub fn from_trusted(s: impl Into<String>) -> Self {
        OrderId(s.into())
    }
}

impl Default for OrderId {
    fn default() -> Self {
        Self::new()
    }
}

/// An amount of money in integer minor units (cents). Never a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(i64);

impl Cents {
    /// Largest price of one unit: 1,000,000.00.
    pub const MAX_PRICE: i64 = 100_000_000;

    pub fn price(field: &str, raw: i64) -> Result<Self, ApiError> {
        if (1..=Self::MAX_PRICE).contains(&raw) {
            Ok(Cents(raw))
        } else {
            Err(ApiError::invalid_field(
                field,
                format!(
                    "must be a whole number of cents from 1 to {}",
                    Self::MAX_PRICE
                ),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// `12.34` (never through a float), as a feed or a spreadsheet reads an amount.
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", self.0.abs() / 100, self.0.abs() % 100)
    }

    /// `self * qty`; cannot overflow for prices and quantities within their bounds.
    pub fn times(self, qty: Quantity) -> Cents {
        Cents(self.0 * i64::from(qty.get()))
    }

    pub fn sum(items: impl IntoIterator<Item = Cents>) -> Cents {
        Cents(items.into_iter().map(|c| c.0).sum())
    }

    pub const ZERO: Cents = Cents(0);

    /// An amount that may be zero (a shipping price, a threshold): 0 to `MAX_PRICE`.
    pub fn amount(field: &str, raw: i64) -> Result<Self, ApiError> {
        if (0..=Self::MAX_PRICE).contains(&raw) {
            Ok(Cents(raw))
        } else {
            Err(ApiError::invalid_field(
                field,
                format!(
                    "must be a whole number of cents from 0 to {}",
                    Self::MAX_PRICE
                ),
            ))
        }
    }

    /// `pct` percent of this amount, rounded half up.
    pub fn percent(self, pct: u32) -> Cents {
        Cents(half_up(self.0 * i64::from(pct), 100))
    }

    /// An amount the shop computed itself (a share of a discount); never from outside.
    pub fn from_trusted(cents: i64) -> Cents {
        Cents(cents)
    }

    /// The tax `bp` basis points add to this amount, in cents rounded half up.
    pub fn tax_added(self, bp: u32) -> Cents {
        Cents(half_up(self.0 * i64::from(bp), 10_000))
    }

    /// The tax at `bp` basis points that this tax-inclusive amount contains, rounded half up.
    pub fn tax_contained(self, bp: u32) -> Cents {
        Cents(half_up(self.0 * i64::from(bp), 10_000 + i64::from(bp)))
    }
}

/// `n / d` rounded half up, for `n >= 0` and `d > 0`.
fn half_up(n: i64, d: i64) -> i64 {
    (2 * n + d) / (2 * d)
}

impl std::ops::Add for Cents {
    type Output = Cents;
    fn add(self, other: Cents) -> Cents {
        Cents(self.0 + other.0)
    }
}

impl std::ops::Sub for Cents {
    type Output = Cents;
    fn sub(self, other: Cents) -> Cents {
        Cents(self.0 - other.0)
    }
}

/// Units of one product on a cart or order line: 1..=99.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 99;

    pub fn parse(field: &str, raw: i64) -> Result<Self, ApiError> {
        if (1..=i64::from(Self::MAX)).contains(&raw) {
            Ok(Quantity(raw as u32))
        } else {
            Err(ApiError::invalid_field(
                field,
                format!("must be a whole number from 1 to {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// A ULID in its 26-character form. A ULID is 128 bits, so its first character is at most `7`;
/// the crate would accept a larger one by dropping the overflow, which made `8…` and `0…` name the
/// same product.
pub fn parse_ulid(raw: &str) -> Option<ulid::Ulid> {
    let raw = raw.trim();
    if !raw.starts_with(|c: char| ('0'..='7').contains(&c)) {
        return None;
    }
    ulid::Ulid::from_string(raw).ok()
}

/// An absolute http(s) URL of bounded length.
pub fn parse_url(field: &str, raw: &str) -> Result<String, ApiError> {
    let s = raw.trim();
    let ok = (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() <= 2048
        && s.len() > "https://".len()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(s.to_string())
    } else {
        Err(ApiError::invalid_field(
            field,
            "must be an absolute http(s) URL",
        ))
    }
}

/// A product's shipping weight in grams: 0..=100,000 (0: weightless, e.g. a gift card).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grams(u32);

impl Grams {
    pub const MAX: u32 = 100_000;

    pub fn parse(field: &str, raw: i64) -> Result<Self, ApiError> {
        if (0..=i64::from(Self::MAX)).contains(&raw) {
            Ok(Grams(raw as u32))
        } else {
            Err(ApiError::invalid_field(
                field,
                format!("must be a whole number of grams from 0 to {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Which of a tax region's rates applies to a product.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaxClass {
    #[default]
    Standard,
    Reduced,
    /// Never taxed.
    Exempt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_is_rfc3339_millis_text_and_orders_as_time() {
        let t = Timestamp::parse("2026-12-04T12:00:00.123Z").unwrap();
        assert_eq!(t.to_string(), "2026-12-04T12:00:00.123Z");
        assert_eq!(
            serde_json::to_value(t).unwrap(),
            serde_json::json!("2026-12-04T12:00:00.123Z")
        );
        // Another precision is the same instant; an offset is refused; order is by time, not text.
        assert_eq!(Timestamp::parse("2026-12-04T12:00:00.123000Z"), Some(t));
        assert_eq!(Timestamp::parse("2026-12-04T13:00:00.123+01:00"), None);
        let later = Timestamp::parse("2026-12-04T12:00:01Z").unwrap();
        assert!(later > t);
        let whole_second = Timestamp::parse("2026-12-04T12:00:00Z").unwrap();
        assert!(whole_second < t && "2026-12-04T12:00:00Z" > "2026-12-04T12:00:00.123Z");
        assert_eq!(t.plus(Duration::from_millis(877)), later);
        let now = Timestamp::now();
        let back: Timestamp = serde_json::from_value(serde_json::to_value(now).unwrap()).unwrap();
        assert_eq!(back, now, "a time survives its text");
        assert!(serde_json::from_value::<Timestamp>(serde_json::json!("yesterday")).is_err());
    }

    #[test]
    fn money_and_quantities_have_bounds() {
        assert!(Cents::price("price_cents", 0).is_err());
        assert!(Cents::price("price_cents", -5).is_err());
        assert!(Cents::price("price_cents", Cents::MAX_PRICE + 1).is_err());
        assert_eq!(
            Cents::price("p", 250)
                .unwrap()
                .times(Quantity::parse("q", 3).unwrap())
                .get(),
            750
        );
        assert!(Quantity::parse("q", 0).is_err());
        assert!(Quantity::parse("q", 100).is_err());
    }

    #[test]
    fn product_ids_must_be_ulids() {
        let id = ProductId::new();
        assert_eq!(
            ProductId::parse("id", &id.as_str().to_lowercase()).unwrap(),
            id
        );
        assert!(ProductId::parse("id", "not-an-id").is_err());
        // Past the 128 bits a ULID holds: refused, not wrapped onto another id.
        let max = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ";
        assert!(ProductId::parse("id", max).is_ok());
        for over in [
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
            "80000000000000000000000001",
        ] {
            assert!(ProductId::parse("id", over).is_err(), "{over}");
        }
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(parse_url("image_url", "https://cdn.example.com/a.png").is_ok());
        for bad in [
            "ftp://x",
            "javascript:alert(1)",
            "/relative.png",
            "https://",
        ] {
            assert!(parse_url("image_url", bad).is_err(), "{bad}");
        }
    }
}
