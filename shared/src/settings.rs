//! The shop's rules as the owner sets them, one typed struct per domain, read at init from the same
//! environment as the platform's config (through its [`Env`] reader). A leaf: it imports only the
//! platform and the shared types, so every domain and the composition root can use it.

use std::time::Duration;

use crate::platform::config::{ConfigError, Env, env};
use crate::types::Currency;

#[derive(Clone, Debug)]
pub struct Settings {
    pub catalog: CatalogSettings,
    pub orders: OrderSettings,
    pub mail: MailSettings,
    pub site: SiteSettings,
    pub sales: SalesSettings,
}

impl Settings {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let e = Env::new(&get);
        Ok(Settings {
            catalog: CatalogSettings::read(&e)?,
            orders: OrderSettings::read(&e)?,
            mail: MailSettings::read(&e),
            site: SiteSettings::read(&e),
            sales: SalesSettings::read(&e)?,
        })
    }
}

/// The catalog's: the currency prices are in, and the stock level at which a product is reported low.
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogSettings {
    pub currency: Currency,
    pub low_stock_threshold: i64,
}

impl CatalogSettings {
    pub fn read(e: &Env) -> Result<Self, ConfigError> {
        let raw = e.or(env::CURRENCY, "USD");
        let currency = Currency::parse(&raw).ok_or_else(|| ConfigError::Invalid {
            var: env::CURRENCY,
            reason: format!("must be an ISO 4217 code such as USD, got {raw:?}"),
        })?;
        Ok(CatalogSettings {
            currency,
            low_stock_threshold: e.number(env::LOW_STOCK_THRESHOLD, 5, 1..=1_000_000)?,
        })
    }
}

/// The orders': how long an unpaid order holds its stock, and how many unpaid orders one shopper
/// may hold.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderSettings {
    pub payment_window: Duration,
    pub max_unpaid_orders: u32,
}

impl OrderSettings {
    pub fn read(e: &Env) -> Result<Self, ConfigError> {
        Ok(OrderSettings {
            payment_window: Duration::from_secs(e.number(
                env::ORDER_PAYMENT_WINDOW_SECONDS,
                1800,
                1..=7 * 86_400,
            )?),
            max_unpaid_orders: e.number(env::MAX_UNPAID_ORDERS, 3, 1..=100)?,
        })
    }
}

/// The emails': where operator alerts go.
#[derive(Clone, Debug, PartialEq)]
pub struct MailSettings {
    /// Where operator alerts go; none: they are logged, not mailed.
    pub alert_email: Option<String>,
}

impl MailSettings {
    pub fn read(e: &Env) -> Self {
        MailSettings {
            alert_email: e.secret(env::ALERT_EMAIL),
        }
    }
}

/// The storefront's: what the shop is called and where it is published (its origin, no trailing
/// slash), for emails' links and the public pages' canonical addresses.
#[derive(Clone, Debug, PartialEq)]
pub struct SiteSettings {
    pub store_name: String,
    /// None: emails carry no links, and no public pages are written.
    pub url: Option<String>,
}

impl SiteSettings {
    pub fn read(e: &Env) -> Self {
        SiteSettings {
            store_name: e.or(env::STORE_NAME, "Serverless Shop"),
            url: e
                .secret(env::SITE_URL)
                .map(|u| u.trim_end_matches('/').to_string()),
        }
    }
}

/// The sales figures': the shop's offset from UTC, so a day is the owner's day.
#[derive(Clone, Debug, PartialEq)]
pub struct SalesSettings {
    pub utc_offset: time::UtcOffset,
}

impl SalesSettings {
    pub fn read(e: &Env) -> Result<Self, ConfigError> {
        let raw = e.or(env::SHOP_UTC_OFFSET, "UTC");
        let utc_offset = parse_offset(&raw).ok_or_else(|| ConfigError::Invalid {
            var: env::SHOP_UTC_OFFSET,
            reason: format!("must be UTC or an offset such as +01:00, got {raw:?}"),
        })?;
        Ok(SalesSettings { utc_offset })
    }
}

/// An offset from UTC as an owner writes it: `UTC`, `Z`, or `+HH:MM` / `-HH:MM` (at most 14 h).
pub fn parse_offset(raw: &str) -> Option<time::UtcOffset> {
    let raw = raw.trim();
    if matches!(raw, "UTC" | "utc" | "Z" | "z") {
        return Some(time::UtcOffset::UTC);
    }
    let (sign, rest) = match raw.as_bytes().first()? {
        b'+' => (1i8, &raw[1..]),
        b'-' => (-1i8, &raw[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i8, i8) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        Settings::from_lookup(|k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_fill_every_rule() {
        let s = read(&[]).unwrap();
        assert_eq!(
            (s.catalog.currency.as_str(), s.catalog.low_stock_threshold),
            ("USD", 5)
        );
        assert_eq!(s.orders.payment_window, Duration::from_secs(1800));
        assert_eq!(s.orders.max_unpaid_orders, 3);
        assert_eq!(s.site.store_name, "Serverless Shop");
        let s = read(&[
            (env::CURRENCY, "eur"),
            (env::SITE_URL, "https://shop.example/"),
        ])
        .unwrap();
        assert_eq!(s.catalog.currency.as_str(), "EUR");
        assert_eq!(s.site.url.as_deref(), Some("https://shop.example"));
    }

    #[test]
    fn a_rule_out_of_range_is_refused_by_name() {
        for (var, raw) in [
            (env::CURRENCY, "dollars"),
            (env::LOW_STOCK_THRESHOLD, "0"),
            (env::ORDER_PAYMENT_WINDOW_SECONDS, "0"),
            (env::MAX_UNPAID_ORDERS, "101"),
            (env::SHOP_UTC_OFFSET, "Europe/Berlin"),
        ] {
            assert!(
                matches!(read(&[(var, raw)]), Err(ConfigError::Invalid { var: v, .. }) if v == var),
                "{var}={raw}"
            );
        }
    }
}
