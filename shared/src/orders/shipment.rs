//! How a shipped order travels: the carrier, its tracking number and where the shopper follows it.
//! Pure: no HTTP, no AWS.

use serde::{Deserialize, Serialize};

use crate::{
    error::{ApiError, ApiResult},
    types::Timestamp,
};

/// The carriers the shop knows the tracking page of; `Other` brings its own (https) page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Carrier {
    Ups,
    Usps,
    Fedex,
    Dhl,
    RoyalMail,
    Postnl,
    Other,
}

impl Carrier {
    pub const ALL: [Carrier; 7] = [
        Carrier::Ups,
        Carrier::Usps,
        Carrier::Fedex,
        Carrier::Dhl,
        Carrier::RoyalMail,
        Carrier::Postnl,
        Carrier::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Carrier::Ups => "ups",
            Carrier::Usps => "usps",
            Carrier::Fedex => "fedex",
            Carrier::Dhl => "dhl",
            Carrier::RoyalMail => "royal-mail",
            Carrier::Postnl => "postnl",
            Carrier::Other => "other",
        }
    }

    /// The name a shopper knows the carrier by.
    pub fn label(self) -> &'static str {
        match self {
            Carrier::Ups => "UPS",
            Carrier::Usps => "USPS",
            Carrier::Fedex => "FedEx",
            Carrier::Dhl => "DHL",
            Carrier::RoyalMail => "Royal Mail",
            Carrier::Postnl => "PostNL",
            Carrier::Other => "the carrier",
        }
    }

    fn parse(raw: &str) -> ApiResult<Self> {
        let wanted = raw.trim().to_ascii_lowercase();
        Carrier::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Carrier::ALL.iter().map(|c| c.as_str()).collect();
                ApiError::invalid_field("carrier", format!("must be one of {}", names.join(", ")))
            })
    }

    /// The carrier's own tracking page for `number` (`None` for `Other`, which names its page).
    fn tracking_url(self, number: &str) -> Option<String> {
        let prefix = match self {
            Carrier::Ups => "https://www.ups.com/track?tracknum=",
            Carrier::Usps => "https://tools.usps.com/go/TrackConfirmAction?tLabels=",
            Carrier::Fedex => "https://www.fedex.com/fedextrack/?trknbr=",
            Carrier::Dhl => "https://www.dhl.com/global-en/home/tracking.html?tracking-id=",
            Carrier::RoyalMail => "https://www.royalmail.com/track-your-item#/tracking-results/",
            Carrier::Postnl => "https://postnl.nl/tracktrace/?B=",
            Carrier::Other => return None,
        };
        // Tracking numbers are letters and digits only, so they need no escaping in a URL.
        Some(format!("{prefix}{number}"))
    }
}

/// The parcel of a SHIPPED order, as the shopper sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipment {
    pub carrier: Carrier,
    pub tracking_number: String,
    pub tracking_url: String,
    pub shipped_at: Timestamp,
}

/// What an admin says when marking an order shipped (`PUT /orders/{id}/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    pub carrier: Carrier,
    pub tracking_number: String,
    pub tracking_url: String,
}

pub const MAX_TRACKING_NUMBER: usize = 40;
pub const MAX_TRACKING_URL: usize = 500;

impl Dispatch {
    /// `carrier` and `tracking_number` are required; `tracking_url` goes with `other` only (an https
    /// page), the known carriers' pages are built from the number.
    pub fn parse(
        carrier: Option<&str>,
        tracking_number: Option<&str>,
        tracking_url: Option<&str>,
    ) -> ApiResult<Self> {
        let carrier = Carrier::parse(carrier.ok_or_else(|| {
            ApiError::invalid_field("carrier", "is required to mark an order shipped")
        })?)?;
        let number: String = tracking_number
            .ok_or_else(|| {
                ApiError::invalid_field("tracking_number", "is required to mark an order shipped")
            })?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if number.is_empty()
            || number.len() > MAX_TRACKING_NUMBER
            || !number.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(ApiError::invalid_field(
                "tracking_number",
                format!("must be 1 to {MAX_TRACKING_NUMBER} letters and digits"),
            ));
        }
        let tracking_url = match (carrier.tracking_url(&number), tracking_url) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid_field(
                    "tracking_url",
                    format!(
                        "is only for carrier \"other\": the {} page is known",
                        carrier.label()
                    ),
                ));
            }
            (Some(url), None) => url,
            (None, Some(raw)) => https_url(raw)?,
            (None, None) => {
                return Err(ApiError::invalid_field(
                    "tracking_url",
                    "is required for carrier \"other\": the https page where the parcel is followed",
                ));
            }
        };
        Ok(Dispatch {
            carrier,
            tracking_number: number,
            tracking_url,
        })
    }

    pub fn shipped(self, at: Timestamp) -> Shipment {
        Shipment {
            carrier: self.carrier,
            tracking_number: self.tracking_number,
            tracking_url: self.tracking_url,
            shipped_at: at,
        }
    }
}

/// An absolute https URL with a host, on one line: what the shop may put behind a link in an email.
fn https_url(raw: &str) -> ApiResult<String> {
    let url = raw.trim();
    let refuse = || {
        ApiError::invalid_field(
            "tracking_url",
            format!("must be an https:// address of at most {MAX_TRACKING_URL} characters"),
        )
    };
    let rest = url.strip_prefix("https://").ok_or_else(refuse)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_ok = !host.is_empty()
        && !host.contains('@')
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    let clean = url
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'<' | b'>' | b'\\' | b'`'));
    if !host_ok || !clean || url.len() > MAX_TRACKING_URL {
        return Err(refuse());
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: ApiResult<Dispatch>) -> String {
        match r {
            Err(ApiError::Invalid { field, .. }) => field.unwrap_or_default(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn known_carriers_link_their_own_tracking_page() {
        let ups = Dispatch::parse(Some("UPS"), Some(" 1z999aa1 0123456784 "), None).unwrap();
        assert_eq!(ups.carrier, Carrier::Ups);
        assert_eq!(ups.tracking_number, "1Z999AA10123456784");
        assert_eq!(
            ups.tracking_url,
            "https://www.ups.com/track?tracknum=1Z999AA10123456784"
        );
        for c in Carrier::ALL.into_iter().filter(|c| *c != Carrier::Other) {
            let d = Dispatch::parse(Some(c.as_str()), Some("AB123"), None).unwrap();
            assert!(d.tracking_url.starts_with("https://"), "{c:?}");
            assert!(d.tracking_url.ends_with("AB123"), "{c:?}");
        }
    }

    #[test]
    fn other_carriers_bring_an_https_page() {
        let d = Dispatch::parse(
            Some("other"),
            Some("X1"),
            Some("https://track.example.com/p?id=X1"),
        )
        .unwrap();
        assert_eq!(d.tracking_url, "https://track.example.com/p?id=X1");
        assert_eq!(
            field(Dispatch::parse(Some("other"), Some("X1"), None)),
            "tracking_url"
        );
        for bad in [
            "http://track.example.com/X1",
            "javascript:alert(1)",
            "https://",
            "https://user@evil.example/",
            "https://track.example.com/\"><script>",
            "https://track.example.com/a b",
        ] {
            assert_eq!(
                field(Dispatch::parse(Some("other"), Some("X1"), Some(bad))),
                "tracking_url",
                "{bad}"
            );
        }
        // A known carrier's page is never replaced by one the request names.
        assert_eq!(
            field(Dispatch::parse(
                Some("ups"),
                Some("X1"),
                Some("https://evil.example/")
            )),
            "tracking_url"
        );
    }

    #[test]
    fn carrier_and_number_are_required_and_checked() {
        assert_eq!(field(Dispatch::parse(None, Some("X1"), None)), "carrier");
        assert_eq!(
            field(Dispatch::parse(Some("pigeon"), Some("X1"), None)),
            "carrier"
        );
        assert_eq!(
            field(Dispatch::parse(Some("ups"), None, None)),
            "tracking_number"
        );
        for bad in [
            "",
            "   ",
            "AB-12",
            "<b>1</b>",
            &"9".repeat(MAX_TRACKING_NUMBER + 1),
        ] {
            assert_eq!(
                field(Dispatch::parse(Some("ups"), Some(bad), None)),
                "tracking_number",
                "{bad}"
            );
        }
    }
}
