//! The platform's configuration (tables, endpoints, secrets, timeouts), read once at init. Every
//! environment variable the functions read is named here; each domain parses its own settings
//! (the shop's rules) from them through [`Env`].

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing required setting {0}")]
    Missing(&'static str),
    #[error("invalid setting {var}: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// Environment variable names, defined once. template.yaml, terraform/ and the dev scripts use these.
pub mod env {
    pub const USERS_TABLE: &str = "USERS_TABLE";
    pub const PRODUCTS_TABLE: &str = "PRODUCTS_TABLE";
    pub const ORDERS_TABLE: &str = "ORDERS_TABLE";
    pub const IMAGES_BUCKET: &str = "IMAGES_BUCKET";
    pub const IMAGES_BASE_URL: &str = "IMAGES_BASE_URL";
    /// The storefront's bucket, where render-pages writes the public pages.
    pub const SITE_BUCKET: &str = "SITE_BUCKET";
    pub const JWT_SECRET: &str = "JWT_SECRET";
    pub const JWT_ISSUER: &str = "JWT_ISSUER";
    pub const JWT_AUDIENCE: &str = "JWT_AUDIENCE";
    pub const TOKEN_TTL_SECONDS: &str = "TOKEN_TTL_SECONDS";
    pub const CORS_ALLOW_ORIGIN: &str = "CORS_ALLOW_ORIGIN";
    pub const CURRENCY: &str = "CURRENCY";
    pub const LOG_LEVEL: &str = "LOG_LEVEL";
    /// Stripe: the secret API key and the webhook endpoint's signing secret (deploy-time secrets),
    /// and the API's base URL (Stripe's by default; localstripe locally).
    pub const STRIPE_SECRET_KEY: &str = "STRIPE_SECRET_KEY";
    pub const STRIPE_WEBHOOK_SECRET: &str = "STRIPE_WEBHOOK_SECRET";
    pub const STRIPE_API_BASE: &str = "STRIPE_API_BASE";
    /// How long a PENDING order holds its stock before the expiry job cancels it.
    pub const ORDER_PAYMENT_WINDOW_SECONDS: &str = "ORDER_PAYMENT_WINDOW_SECONDS";
    /// How many unpaid (PENDING) orders one customer may hold at once.
    pub const MAX_UNPAID_ORDERS: &str = "MAX_UNPAID_ORDERS";
    /// Events and email: the custom bus the outbox publishes to, the stock level below which a
    /// product is reported low, the verified SES sender, the shop's name and storefront address in
    /// emails, and where operator alerts (low stock) go.
    pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
    pub const LOW_STOCK_THRESHOLD: &str = "LOW_STOCK_THRESHOLD";
    /// The shop's offset from UTC (`UTC`, `+01:00`): where its sales days begin and end.
    pub const SHOP_UTC_OFFSET: &str = "SHOP_UTC_OFFSET";
    pub const EMAIL_FROM: &str = "EMAIL_FROM";
    pub const STORE_NAME: &str = "STORE_NAME";
    pub const SITE_URL: &str = "SITE_URL";
    pub const ALERT_EMAIL: &str = "ALERT_EMAIL";
    /// Local development only: point the SDK clients at DynamoDB Local / an S3 emulator / moto
    /// (EventBridge, SES).
    pub const DYNAMODB_ENDPOINT: &str = "DYNAMODB_ENDPOINT";
    pub const S3_ENDPOINT: &str = "S3_ENDPOINT";
    pub const EVENTS_ENDPOINT: &str = "EVENTS_ENDPOINT";
    pub const SES_ENDPOINT: &str = "SES_ENDPOINT";
    /// The secret the CDN sends the API in `x-origin-verify` (deploy-time; required outside local
    /// mode): only requests carrying it may name their client by `CloudFront-Viewer-Address`.
    pub const ORIGIN_SECRET: &str = "ORIGIN_SECRET";
    pub const AWS_REGION: &str = "AWS_REGION";
    /// `true`: open the DynamoDB connection during init instead of on the first request. Off by
    /// default; see [`super::CONNECT_AT_INIT_DEFAULT`] for the measurement behind that.
    pub const CONNECT_AT_INIT: &str = "CONNECT_AT_INIT";

    /// Every variable a deployed function may be given (the IaC consistency test checks against this).
    pub const DEPLOYED: &[&str] = &[
        USERS_TABLE,
        PRODUCTS_TABLE,
        ORDERS_TABLE,
        IMAGES_BUCKET,
        IMAGES_BASE_URL,
        SITE_BUCKET,
        JWT_SECRET,
        JWT_ISSUER,
        JWT_AUDIENCE,
        TOKEN_TTL_SECONDS,
        CORS_ALLOW_ORIGIN,
        CURRENCY,
        LOG_LEVEL,
        STRIPE_SECRET_KEY,
        STRIPE_WEBHOOK_SECRET,
        STRIPE_API_BASE,
        ORDER_PAYMENT_WINDOW_SECONDS,
        MAX_UNPAID_ORDERS,
        EVENT_BUS_NAME,
        LOW_STOCK_THRESHOLD,
        SHOP_UTC_OFFSET,
        EMAIL_FROM,
        STORE_NAME,
        SITE_URL,
        ALERT_EMAIL,
        ORIGIN_SECRET,
    ];
}

pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// JWT secrets written in this repository (the dev stack's default, the tests'). Anyone can read
/// them, so outside local mode (no emulator endpoints) they are refused: a deploy that forgot its
/// secret must not start with a public one. tests/tests/users.rs checks that the repository's
/// copies are listed here.
pub const PUBLIC_JWT_SECRETS: &[&str] = &[
    "local-development-secret-not-for-production-use",
    "test-secret-that-is-at-least-32-bytes-long!",
];

#[derive(Clone, Debug)]
pub struct Tables {
    pub users: String,
    pub products: String,
    pub orders: String,
}

/// The shop's tables, one per domain that stores items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TableId {
    Users,
    Products,
    Orders,
}

impl Tables {
    /// The deployed name of table `id`.
    pub fn name(&self, id: TableId) -> &str {
        match id {
            TableId::Users => &self.users,
            TableId::Products => &self.products,
            TableId::Orders => &self.orders,
        }
    }
}

/// Endpoints of the local emulators; `None` on AWS.
#[derive(Clone, Debug, Default)]
pub struct LocalEndpoints {
    pub dynamodb: Option<String>,
    pub s3: Option<String>,
    pub events: Option<String>,
    pub ses: Option<String>,
}

/// The event bus and the SES sender. The sender is optional so that only the email function needs
/// one (it refuses to run without).
#[derive(Clone, Debug)]
pub struct EventsConfig {
    pub bus: String,
    pub email_from: Option<String>,
}

/// Stripe settings. The keys are optional so that functions that never pay or refund need none;
/// those that do answer 503 "payments are not configured" without them.
#[derive(Clone, Default)]
pub struct StripeConfig {
    pub secret_key: Option<String>,
    pub webhook_secret: Option<Vec<u8>>,
    pub api_base: String,
}

/// Whether a function opens its DynamoDB connection during init. Decided by `make bench`, which
/// measures both at every function's memory size (docs/benchmark.md, "Connecting at init").
pub const CONNECT_AT_INIT_DEFAULT: bool = false;

pub const STRIPE_API: &str = "https://api.stripe.com";

#[derive(Clone)]
pub struct Config {
    pub tables: Tables,
    pub images_bucket: String,
    pub site_bucket: String,
    /// Public base URL of the images bucket; a product's `image_url` is `<base>/<key>`.
    pub images_base_url: String,
    pub jwt_secret: Vec<u8>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub token_ttl: Duration,
    pub cors_allow_origin: String,
    pub region: String,
    pub local: LocalEndpoints,
    /// Below the Lambda timeout so a slow dependency becomes a 503, not a Lambda timeout.
    pub handler_timeout: Duration,
    pub stripe: StripeConfig,
    pub events: EventsConfig,
    /// See [`env::ORIGIN_SECRET`]; `None` only in local mode.
    pub origin_secret: Option<Vec<u8>>,
    /// See [`env::CONNECT_AT_INIT`].
    pub connect_at_init: bool,
}

impl std::fmt::Debug for Config {
    // Hand-written so the secret can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("tables", &self.tables)
            .field("images_bucket", &self.images_bucket)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("token_ttl", &self.token_ttl)
            .field("region", &self.region)
            .field("local", &self.local)
            .field("stripe_api_base", &self.stripe.api_base)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

/// The settings as given: each read trimmed of nothing but checked against its rule, and every
/// refusal naming its variable. Each domain reads its own settings through it.
pub struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Env(lookup)
    }

    /// A non-empty value, as given.
    pub fn get(&self, k: &str) -> Option<String> {
        (self.0)(k).filter(|v| !v.is_empty())
    }

    fn required(&self, k: &'static str) -> Result<String, ConfigError> {
        (self.0)(k)
            .filter(|v| !v.trim().is_empty())
            .ok_or(ConfigError::Missing(k))
    }

    pub fn or(&self, k: &str, default: &str) -> String {
        self.get(k).unwrap_or_else(|| default.into())
    }

    /// A secret or an address: trimmed, `None` when empty.
    pub fn secret(&self, k: &str) -> Option<String> {
        (self.0)(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A whole number within `range`, `default` when unset.
    pub fn number<T>(
        &self,
        k: &'static str,
        default: T,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.get(k) else {
            return Ok(default);
        };
        raw.parse()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| ConfigError::Invalid {
                var: k,
                reason: format!(
                    "must be a whole number in {}..={}, got {raw:?}",
                    range.start(),
                    range.end()
                ),
            })
    }

    /// Local mode: an emulator endpoint is configured (never on AWS).
    fn local_mode(&self) -> bool {
        [env::DYNAMODB_ENDPOINT, env::S3_ENDPOINT]
            .iter()
            .any(|k| self.get(k).is_some())
    }
}

/// The signing secret: long enough, and outside local mode not one published in this repository.
fn jwt_secret(e: &Env) -> Result<Vec<u8>, ConfigError> {
    let secret = e.required(env::JWT_SECRET)?.into_bytes();
    if secret.len() < MIN_JWT_SECRET_BYTES {
        return Err(ConfigError::Invalid {
            var: env::JWT_SECRET,
            reason: format!(
                "must be at least {MIN_JWT_SECRET_BYTES} bytes, got {}",
                secret.len()
            ),
        });
    }
    if !e.local_mode() && PUBLIC_JWT_SECRETS.iter().any(|p| p.as_bytes() == secret) {
        return Err(ConfigError::Invalid {
            var: env::JWT_SECRET,
            reason:
                "is a development secret published in the repository; pass a secret of your own"
                    .into(),
        });
    }
    Ok(secret)
}

/// The CDN's origin secret: required outside local mode, and long enough when given.
fn origin_secret(e: &Env) -> Result<Option<Vec<u8>>, ConfigError> {
    let secret = e.secret(env::ORIGIN_SECRET).map(String::into_bytes);
    match &secret {
        None if !e.local_mode() => Err(ConfigError::Missing(env::ORIGIN_SECRET)),
        Some(s) if s.len() < MIN_JWT_SECRET_BYTES => Err(ConfigError::Invalid {
            var: env::ORIGIN_SECRET,
            reason: format!(
                "must be at least {MIN_JWT_SECRET_BYTES} bytes, got {}",
                s.len()
            ),
        }),
        _ => Ok(secret),
    }
}

fn stripe(e: &Env) -> StripeConfig {
    StripeConfig {
        secret_key: e.secret(env::STRIPE_SECRET_KEY),
        webhook_secret: e.secret(env::STRIPE_WEBHOOK_SECRET).map(String::into_bytes),
        api_base: e
            .or(env::STRIPE_API_BASE, STRIPE_API)
            .trim_end_matches('/')
            .to_string(),
    }
}

fn events(e: &Env) -> EventsConfig {
    EventsConfig {
        bus: e.or(env::EVENT_BUS_NAME, "shop-events"),
        email_from: e.secret(env::EMAIL_FROM),
    }
}

fn local_endpoints(e: &Env) -> LocalEndpoints {
    LocalEndpoints {
        dynamodb: e.get(env::DYNAMODB_ENDPOINT),
        s3: e.get(env::S3_ENDPOINT),
        events: e.get(env::EVENTS_ENDPOINT),
        ses: e.get(env::SES_ENDPOINT),
    }
}

fn connect_at_init(e: &Env) -> Result<bool, ConfigError> {
    match (e.0)(env::CONNECT_AT_INIT).as_deref().map(str::trim) {
        None | Some("") => Ok(CONNECT_AT_INIT_DEFAULT),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            var: env::CONNECT_AT_INIT,
            reason: format!("must be true or false, got {other:?}"),
        }),
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `get`, so tests can supply a map instead of the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let e = Env(&get);
        let local = local_endpoints(&e);
        let images_bucket = e.or(env::IMAGES_BUCKET, "shop-images");
        let default_images_url = match &local.s3 {
            Some(s3) => format!("{}/{images_bucket}", s3.trim_end_matches('/')),
            None => format!("https://{images_bucket}.s3.amazonaws.com"),
        };
        Ok(Config {
            tables: Tables {
                users: e.required(env::USERS_TABLE)?,
                products: e.required(env::PRODUCTS_TABLE)?,
                orders: e.required(env::ORDERS_TABLE)?,
            },
            images_base_url: e
                .or(env::IMAGES_BASE_URL, &default_images_url)
                .trim_end_matches('/')
                .to_string(),
            images_bucket,
            site_bucket: e.or(env::SITE_BUCKET, "shop-site"),
            jwt_secret: jwt_secret(&e)?,
            jwt_issuer: e.or(env::JWT_ISSUER, "shop"),
            jwt_audience: e.or(env::JWT_AUDIENCE, "shop-api"),
            // Access tokens are short-lived (15 minutes); the refresh token keeps a shopper signed in.
            token_ttl: Duration::from_secs(e.number(env::TOKEN_TTL_SECONDS, 900, 60..=86_400)?),
            cors_allow_origin: e.or(env::CORS_ALLOW_ORIGIN, "*"),
            region: e.or(env::AWS_REGION, "us-east-1"),
            local,
            handler_timeout: Duration::from_secs(8),
            stripe: stripe(&e),
            events: events(&e),
            origin_secret: origin_secret(&e)?,
            connect_at_init: connect_at_init(&e)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            (env::USERS_TABLE, "u".to_string()),
            (env::PRODUCTS_TABLE, "p".to_string()),
            (env::ORDERS_TABLE, "o".to_string()),
            (env::JWT_SECRET, "x".repeat(32)),
            (env::ORIGIN_SECRET, "o".repeat(32)),
        ])
    }

    #[test]
    fn outside_local_mode_the_origin_secret_is_required() {
        let mut m = base();
        m.remove(env::ORIGIN_SECRET);
        assert!(matches!(
            load(&m),
            Err(ConfigError::Missing(env::ORIGIN_SECRET))
        ));
        m.insert(env::ORIGIN_SECRET, "short".into());
        assert!(load(&m).is_err());
        m.remove(env::ORIGIN_SECRET);
        m.insert(env::DYNAMODB_ENDPOINT, "http://127.0.0.1:8000".into());
        assert!(
            load(&m).unwrap().origin_secret.is_none(),
            "local mode needs none"
        );
    }

    fn load(m: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_fill_optional_settings() {
        let c = load(&base()).unwrap();
        assert_eq!(c.token_ttl, Duration::from_secs(900));
        assert_eq!(c.cors_allow_origin, "*");
        assert_eq!(c.stripe.api_base, STRIPE_API);
        assert!(c.stripe.secret_key.is_none() && c.stripe.webhook_secret.is_none());
    }

    #[test]
    fn a_public_development_secret_is_refused_outside_local_mode() {
        for public in PUBLIC_JWT_SECRETS {
            let mut m = base();
            m.insert(env::JWT_SECRET, public.to_string());
            let err = load(&m).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                err.contains("published in the repository"),
                "{public}: {err}"
            );
            m.insert(env::DYNAMODB_ENDPOINT, "http://127.0.0.1:8000".into());
            assert!(load(&m).is_ok(), "local mode may use it");
        }
    }

    #[test]
    fn stripe_secrets_never_reach_debug_output() {
        let mut m = base();
        m.insert(env::STRIPE_SECRET_KEY, "sk_test_supersecret".into());
        m.insert(env::STRIPE_WEBHOOK_SECRET, "whsec_supersecret".into());
        let shown = format!("{:?}", load(&m).unwrap());
        assert!(!shown.contains("supersecret"), "{shown}");
    }

    #[test]
    fn weak_secret_is_refused_with_its_name() {
        let mut m = base();
        m.insert(env::JWT_SECRET, "short".into());
        let err = load(&m).unwrap_err().to_string();
        assert!(err.contains("JWT_SECRET") && err.contains("32"), "{err}");
    }

    #[test]
    fn missing_table_is_named() {
        let mut m = base();
        m.remove(env::ORDERS_TABLE);
        assert!(load(&m).unwrap_err().to_string().contains("ORDERS_TABLE"));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let c = load(&base()).unwrap();
        assert!(!format!("{c:?}").contains(&"x".repeat(32)));
    }

    #[test]
    fn a_bad_ttl_is_refused() {
        let mut m = base();
        m.insert(env::TOKEN_TTL_SECONDS, "0".into());
        assert!(load(&m).is_err());
    }
}
