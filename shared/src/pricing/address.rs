//! A shipping address, parsed: a known country, and for the United States, Canada and the United
//! Kingdom a region and postal code in the form their post offices use. An order keeps its own
//! copy. Pure: no HTTP, no AWS.

use serde::{Deserialize, Serialize};

use super::countries::{CA_PROVINCES, US_STATES, country_name};
use crate::{
    error::{ApiError, ApiResult},
    types::bounded_text,
};

const MAX_LINE: usize = 200;
const MAX_POSTAL: usize = 16;

/// An ISO 3166-1 alpha-2 code that ISO assigns, upper case.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(String);

impl Country {
    pub fn parse(raw: &str) -> Option<Self> {
        let code = raw.trim().to_ascii_uppercase();
        country_name(&code).map(|_| Country(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn name(&self) -> &'static str {
        country_name(&self.0).unwrap_or("")
    }
}

impl TryFrom<String> for Country {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        Country::parse(&raw).ok_or_else(|| format!("{raw:?} is not an ISO 3166-1 alpha-2 code"))
    }
}

impl From<Country> for String {
    fn from(c: Country) -> String {
        c.0
    }
}

impl std::fmt::Display for Country {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `{name, line1, line2?, city, region?, postal_code, country, phone?}` as a client sends it.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A deliverable address. Only [`ShippingAddress::parse`] makes one from outside text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    pub country: Country,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl ShippingAddress {
    /// Parses `r`; an error names the field as `<prefix>.<field>` (e.g. `shipping_address.city`).
    pub fn parse(prefix: &str, r: AddressRequest) -> ApiResult<Self> {
        let field = |f: &str| format!("{prefix}.{f}");
        let line = |f: &str, raw: &str, min: usize| single_line(&field(f), raw, min, MAX_LINE);
        let country = Country::parse(&r.country).ok_or_else(|| {
            ApiError::invalid_field(
                field("country"),
                "must be an ISO 3166-1 alpha-2 code such as US",
            )
        })?;
        let optional = |f: &str, raw: Option<String>| {
            raw.filter(|v| !v.trim().is_empty())
                .map(|v| line(f, &v, 1))
                .transpose()
        };
        let (region, postal_code) = regional(&field, &country, r.region, &r.postal_code)?;
        Ok(ShippingAddress {
            name: line("name", &r.name, 1)?,
            line1: line("line1", &r.line1, 1)?,
            line2: optional("line2", r.line2)?,
            city: line("city", &r.city, 1)?,
            region,
            postal_code,
            phone: r
                .phone
                .filter(|v| !v.trim().is_empty())
                .map(|v| phone(&field("phone"), &v))
                .transpose()?,
            country,
        })
    }
}

/// The region and postal code, in the form the country's post uses.
fn regional(
    field: &dyn Fn(&str) -> String,
    country: &Country,
    region: Option<String>,
    postal: &str,
) -> ApiResult<(Option<String>, String)> {
    let region = region
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let postal = postal.trim().to_ascii_uppercase();
    let coded = |codes: &[&str], what: &str| {
        let code = region.as_deref().unwrap_or_default().to_ascii_uppercase();
        if codes.contains(&code.as_str()) {
            Ok(Some(code))
        } else {
            Err(ApiError::invalid_field(
                field("region"),
                format!("must be a {what}"),
            ))
        }
    };
    match country.as_str() {
        "US" => {
            let region = coded(US_STATES, "USPS state code such as CA")?;
            if !is_zip(&postal) {
                return Err(ApiError::invalid_field(
                    field("postal_code"),
                    "must be a ZIP code: 12345 or 12345-6789",
                ));
            }
            Ok((region, postal))
        }
        "CA" => {
            let region = coded(CA_PROVINCES, "province or territory code such as ON")?;
            let postal = canadian_postal(&postal).ok_or_else(|| {
                ApiError::invalid_field(
                    field("postal_code"),
                    "must be a postal code such as K1A 0B1",
                )
            })?;
            Ok((region, postal))
        }
        "GB" => {
            let postal = uk_postcode(&postal).ok_or_else(|| {
                ApiError::invalid_field(field("postal_code"), "must be a postcode such as SW1A 1AA")
            })?;
            Ok((
                region
                    .map(|r| single_line(&field("region"), &r, 1, MAX_LINE))
                    .transpose()?,
                postal,
            ))
        }
        _ => {
            let postal = single_line(&field("postal_code"), &postal, 1, MAX_POSTAL)?;
            Ok((
                region
                    .map(|r| single_line(&field("region"), &r, 1, MAX_LINE))
                    .transpose()?,
                postal,
            ))
        }
    }
}

/// Bounded text on one line (a label printer's line, no control characters at all).
fn single_line(field: &str, raw: &str, min: usize, max: usize) -> ApiResult<String> {
    let s = bounded_text(field, raw, min, max)?;
    if s.contains('\n') {
        return Err(ApiError::invalid_field(field, "must be one line"));
    }
    Ok(s)
}

fn is_zip(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => digits(b),
        10 => digits(&b[..5]) && b[5] == b'-' && digits(&b[6..]),
        _ => false,
    }
}

/// `A1A 1A1` (the space optional on input).
fn canadian_postal(s: &str) -> Option<String> {
    let compact: Vec<u8> = s.bytes().filter(|b| *b != b' ').collect();
    let shape = compact.len() == 6
        && compact.iter().enumerate().all(|(i, b)| {
            if i % 2 == 0 {
                b.is_ascii_uppercase()
            } else {
                b.is_ascii_digit()
            }
        });
    shape.then(|| {
        let s = String::from_utf8(compact).expect("ASCII");
        format!("{} {}", &s[..3], &s[3..])
    })
}

/// An outward code (`A9`, `A99`, `AA9`, `AA99`, `A9A`, `AA9A`) and an inward code (`9AA`), written
/// with one space between them.
fn uk_postcode(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| *c != ' ').collect();
    if !(5..=7).contains(&compact.len()) || !compact.is_ascii() {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let i = inward.as_bytes();
    let inward_ok = i[0].is_ascii_digit() && i[1].is_ascii_uppercase() && i[2].is_ascii_uppercase();
    let o = outward.as_bytes();
    let letters = o.iter().take_while(|b| b.is_ascii_uppercase()).count();
    let rest = &o[letters..];
    let outward_ok = (1..=2).contains(&letters)
        && !rest.is_empty()
        && rest[0].is_ascii_digit()
        && match rest.len() {
            1 => true,
            2 => rest[1].is_ascii_digit() || rest[1].is_ascii_uppercase(),
            _ => false,
        };
    (inward_ok && outward_ok).then(|| format!("{outward} {inward}"))
}

/// Digits, spaces and `+ - ( ) .`, with 5 to 20 digits.
fn phone(field: &str, raw: &str) -> ApiResult<String> {
    let s = raw.trim();
    let allowed = s
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits = s.chars().filter(char::is_ascii_digit).count();
    if allowed && (5..=20).contains(&digits) && s.len() <= 32 {
        Ok(s.to_string())
    } else {
        Err(ApiError::invalid_field(
            field,
            "must be a phone number of 5 to 20 digits (spaces, +, -, parentheses allowed)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> AddressRequest {
        AddressRequest {
            name: "Ada Lovelace".into(),
            line1: "1 Market St".into(),
            city: "San Francisco".into(),
            region: Some("ca".into()),
            postal_code: "94105".into(),
            country: "us".into(),
            ..Default::default()
        }
    }

    fn refused_field(r: AddressRequest) -> String {
        match ShippingAddress::parse("shipping_address", r) {
            Err(ApiError::Invalid { field, .. }) => field.unwrap(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_us_address_is_normalised() {
        let a = ShippingAddress::parse("shipping_address", us()).unwrap();
        assert_eq!(a.country.as_str(), "US");
        assert_eq!(a.region.as_deref(), Some("CA"));
        let plus4 = AddressRequest {
            postal_code: "94105-1234".into(),
            ..us()
        };
        assert!(ShippingAddress::parse("a", plus4).is_ok());
    }

    #[test]
    fn each_invalid_field_is_named() {
        let cases = [
            (
                AddressRequest {
                    name: " ".into(),
                    ..us()
                },
                "name",
            ),
            (
                AddressRequest {
                    line1: String::new(),
                    ..us()
                },
                "line1",
            ),
            (
                AddressRequest {
                    line1: "x".repeat(201),
                    ..us()
                },
                "line1",
            ),
            (
                AddressRequest {
                    line2: Some("a\u{7}b".into()),
                    ..us()
                },
                "line2",
            ),
            (
                AddressRequest {
                    city: String::new(),
                    ..us()
                },
                "city",
            ),
            (
                AddressRequest {
                    city: "San\nFrancisco".into(),
                    ..us()
                },
                "city",
            ),
            (
                AddressRequest {
                    country: "XX".into(),
                    ..us()
                },
                "country",
            ),
            (
                AddressRequest {
                    country: "UK".into(),
                    ..us()
                },
                "country",
            ),
            (
                AddressRequest {
                    region: Some("Cali".into()),
                    ..us()
                },
                "region",
            ),
            (
                AddressRequest {
                    region: None,
                    ..us()
                },
                "region",
            ),
            (
                AddressRequest {
                    postal_code: "9410".into(),
                    ..us()
                },
                "postal_code",
            ),
            (
                AddressRequest {
                    postal_code: "94105-12".into(),
                    ..us()
                },
                "postal_code",
            ),
            (
                AddressRequest {
                    phone: Some("call me".into()),
                    ..us()
                },
                "phone",
            ),
        ];
        for (r, f) in cases {
            assert_eq!(refused_field(r), format!("shipping_address.{f}"));
        }
    }

    #[test]
    fn canada_and_the_uk_use_their_posts_forms() {
        let ca = AddressRequest {
            country: "CA".into(),
            region: Some("on".into()),
            postal_code: "k1a0b1".into(),
            ..us()
        };
        let a = ShippingAddress::parse("a", ca.clone()).unwrap();
        assert_eq!(
            (a.region.as_deref(), a.postal_code.as_str()),
            (Some("ON"), "K1A 0B1")
        );
        assert_eq!(
            refused_field(AddressRequest {
                region: Some("CA".into()),
                ..ca.clone()
            }),
            "shipping_address.region"
        );
        assert_eq!(
            refused_field(AddressRequest {
                postal_code: "12345".into(),
                ..ca
            }),
            "shipping_address.postal_code"
        );
        let gb = AddressRequest {
            country: "GB".into(),
            region: None,
            postal_code: "sw1a1aa".into(),
            ..us()
        };
        assert_eq!(
            ShippingAddress::parse("a", gb.clone()).unwrap().postal_code,
            "SW1A 1AA"
        );
        for ok in [
            "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "W1A 0AX", "EC1A 1BB",
        ] {
            assert!(uk_postcode(ok).is_some(), "{ok}");
        }
        assert_eq!(
            refused_field(AddressRequest {
                postal_code: "12345".into(),
                ..gb
            }),
            "shipping_address.postal_code"
        );
    }

    #[test]
    fn elsewhere_a_postal_code_is_any_short_text() {
        let jp = AddressRequest {
            country: "JP".into(),
            region: None,
            postal_code: "100-0001".into(),
            ..us()
        };
        assert_eq!(
            ShippingAddress::parse("a", jp.clone())
                .unwrap()
                .country
                .name(),
            "Japan"
        );
        assert_eq!(
            refused_field(AddressRequest {
                postal_code: "1".repeat(17),
                ..jp.clone()
            }),
            "shipping_address.postal_code"
        );
        assert_eq!(
            refused_field(AddressRequest {
                postal_code: " ".into(),
                ..jp
            }),
            "shipping_address.postal_code"
        );
    }
}
