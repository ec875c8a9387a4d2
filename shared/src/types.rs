//! Parsed domain values. Once a value of one of these types exists it is valid; handlers never
//! re-check strings. Each parse error names the field it came from.

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

#[cfg(test)]
mod tests {
    use super::*;

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
