//! Parsed values the domains share (ids, money, quantities, names). Once a value of one of these
//! types exists it is valid; handlers never re-check strings. Each parse error names the field it
//! came from. Pure: no HTTP, no AWS.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::ApiError;

fn char_len(s: &str) -> usize {
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

macro_rules! string_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_newtype!(
    /// A user id: a ULID, so ids sort by creation time.
    UserId
);
string_newtype!(
    /// An email address, normalised to lower case: uniqueness is case-insensitive.
    Email
);
string_newtype!(
    /// A display name.
    Name
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

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim().to_lowercase();
        let bad = || ApiError::invalid_field("email", "must be a valid email address");
        if s.is_empty()
            || char_len(&s) > Self::MAX_LEN
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(bad());
        }
        Ok(Email(s))
    }
}

impl Name {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        bounded_text("name", raw, 1, 100).map(Name)
    }
}

/// A plaintext password, checked for length before it is ever hashed (bounds argon2's cost).
/// Deliberately not `Debug`/`Serialize`, so it cannot be logged or echoed by accident.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(field: &str, raw: String) -> Result<Self, ApiError> {
        let n = char_len(&raw);
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&n) {
            return Err(ApiError::invalid_field(
                field,
                format!(
                    "must be {} to {} characters long",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Customer,
    Admin,
}

/// A postal address. Free-form lines with bounded lengths: formats vary too much by country to check more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
}

impl Address {
    pub fn parse(raw: Address) -> Result<Self, ApiError> {
        let opt = |f: &str, v: Option<String>| -> Result<Option<String>, ApiError> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(s) => bounded_text(f, s, 1, 100).map(Some),
            }
        };
        let country = raw.country.trim().to_ascii_uppercase();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ApiError::invalid_field(
                "address.country",
                "must be a two-letter country code such as US",
            ));
        }
        Ok(Address {
            line1: bounded_text("address.line1", &raw.line1, 1, 100)?,
            line2: opt("address.line2", raw.line2)?,
            city: bounded_text("address.city", &raw.city, 1, 100)?,
            region: opt("address.region", raw.region)?,
            postal_code: bounded_text("address.postal_code", &raw.postal_code, 1, 20)?,
            country,
        })
    }
}

/// For optional fields where `null` and absent differ: absent = `None`, `null` = `Some(None)`.
pub fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as Deserialize>::deserialize(d).map(Some)
}

/// RFC 3339 UTC timestamp with millisecond precision, the format of every `*_at` field.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
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
string_newtype!(
    /// URL-safe product handle: `a-z`, `0-9` and single inner hyphens, at most 100 characters.
    Slug
);
string_newtype!(
    /// Category handle, same alphabet as a slug, at most 50 characters (stored lower case).
    Category
);

impl ProductId {
    pub fn new() -> Self {
        ProductId(ulid::Ulid::new().to_string())
    }

    /// Parses a client-supplied id. Anything that is not a ULID cannot name a product.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ApiError> {
        ulid::Ulid::from_string(raw.trim())
            .map(|u| ProductId(u.to_string()))
            .map_err(|_| ApiError::invalid_field(field, "is not a product id"))
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

fn is_handle(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

impl Slug {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim().to_ascii_lowercase();
        if is_handle(&s, Self::MAX_LEN) {
            Ok(Slug(s))
        } else {
            Err(ApiError::invalid_field(
                "slug",
                "must be 1 to 100 characters of a-z, 0-9 and single hyphens",
            ))
        }
    }

    /// Derives a slug from a product name: ASCII letters and digits kept, everything else a hyphen.
    /// `None` when nothing usable is left (e.g. a name in a non-Latin script).
    pub fn from_name(name: &str) -> Option<Self> {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        let mut s = out.trim_end_matches('-').to_string();
        if s.len() > Self::MAX_LEN {
            s.truncate(Self::MAX_LEN);
            s = s.trim_end_matches('-').to_string();
        }
        is_handle(&s, Self::MAX_LEN).then_some(Slug(s))
    }
}

impl Category {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim().to_ascii_lowercase();
        if is_handle(&s, 50) {
            Ok(Category(s))
        } else {
            Err(ApiError::invalid_field(
                "category",
                "must be 1 to 50 characters of a-z, 0-9 and single hyphens",
            ))
        }
    }
}

/// An amount of money in integer minor units (cents). Never a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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

    /// `self * qty`; cannot overflow for prices and quantities within their bounds.
    pub fn times(self, qty: Quantity) -> Cents {
        Cents(self.0 * i64::from(qty.get()))
    }

    pub fn sum(items: impl IntoIterator<Item = Cents>) -> Cents {
        Cents(items.into_iter().map(|c| c.0).sum())
    }
}

/// Units in stock: 0..=1,000,000.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Stock(i64);

impl Stock {
    pub const MAX: i64 = 1_000_000;

    pub fn parse(raw: i64) -> Result<Self, ApiError> {
        if (0..=Self::MAX).contains(&raw) {
            Ok(Stock(raw))
        } else {
            Err(ApiError::invalid_field(
                "stock",
                format!("must be a whole number from 0 to {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_is_derived_from_the_name() {
        assert_eq!(
            Slug::from_name("  Fancy Mug — 350 ml! ").unwrap().as_str(),
            "fancy-mug-350-ml"
        );
        assert_eq!(Slug::from_name("Éclair"), Some(Slug("clair".into())));
        assert_eq!(Slug::from_name("咖啡"), None);
        assert!(Slug::from_name(&"ab ".repeat(80)).unwrap().as_str().len() <= 100);
    }

    #[test]
    fn slug_and_category_alphabet_is_enforced() {
        assert!(Slug::parse("good-slug-1").is_ok());
        assert_eq!(Slug::parse("Good-Slug").unwrap().as_str(), "good-slug");
        for bad in ["", "-a", "a-", "a--b", "a b", "a_b", "ü"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
            assert!(Category::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Category::parse(&"a".repeat(51)).is_err());
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
        assert!(Stock::parse(-1).is_err());
        assert!(Stock::parse(0).is_ok());
    }

    #[test]
    fn product_ids_must_be_ulids() {
        let id = ProductId::new();
        assert_eq!(
            ProductId::parse("id", &id.as_str().to_lowercase()).unwrap(),
            id
        );
        assert!(ProductId::parse("id", "not-an-id").is_err());
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

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.com",
            "ada@.com",
            "ada@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
    }

    #[test]
    fn password_length_bounds_are_inclusive_and_count_characters() {
        assert!(Password::parse("password", "1234567".into()).is_err());
        assert!(Password::parse("password", "12345678".into()).is_ok());
        assert!(Password::parse("password", "é".repeat(128)).is_ok());
        assert!(Password::parse("password", "x".repeat(129)).is_err());
    }

    #[test]
    fn name_rejects_blank_and_control_characters() {
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("Ada\u{0}").is_err());
        assert_eq!(
            Name::parse(" Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(Name::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn address_country_must_be_two_letters() {
        let a = Address {
            line1: "1 Main St".into(),
            line2: Some(" ".into()),
            city: "Springfield".into(),
            region: None,
            postal_code: "12345".into(),
            country: "us".into(),
        };
        let parsed = Address::parse(a.clone()).unwrap();
        assert_eq!(parsed.country, "US");
        assert_eq!(parsed.line2, None);
        let err = Address::parse(Address {
            country: "USA".into(),
            ..a
        })
        .unwrap_err();
        assert!(err.to_string().starts_with("address.country"));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let t = now_rfc3339();
        assert!(t.ends_with('Z') && t.contains('T'), "{t}");
    }
}
