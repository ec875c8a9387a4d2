//! Everything a function builds once at init and reuses for every request: the composition root
//! that holds the platform's clients and auth's keys, handed to every handler.

use std::{sync::OnceLock, time::Duration};

use aws_config::{
    BehaviorVersion, Region, SdkConfig, environment::EnvironmentVariableCredentialsProvider,
    retry::RetryConfig, timeout::TimeoutConfig,
};
use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};

use crate::{
    auth::{Accounts, JwtKeys},
    platform::{
        config::{Config, ConfigError},
        db::CursorKey,
        objects::{self, Objects},
        stripe::Stripe,
    },
    settings::Settings,
};

/// A client built on first use, like a `OnceLock` that knows how to build it.
pub type Lazy<T> = std::sync::LazyLock<T, Box<dyn FnOnce() -> T + Send>>;

pub struct App {
    pub config: Config,
    pub settings: Settings,
    /// Built on first use (derefs to the client): constructing it costs ~0.4 ms on a cold process,
    /// most of it the SDK compiling its partition table's region patterns, and init is where a
    /// cold start waits for nothing else. The first request pays it instead, which is where the
    /// connection it needs is opened anyway, so the cold total (init + first request) is the same
    /// and init stays at the floor (docs/benchmark.md). `CONNECT_AT_INIT` builds and connects it
    /// during init instead.
    pub dynamo: Lazy<aws_sdk_dynamodb::Client>,
    pub jwt: JwtKeys,
    pub cursors: CursorKey,
    /// Connects on first use: only the payment paths ever call it.
    pub stripe: Stripe,
    /// The images bucket; connects on first use (only resize-image calls it).
    pub images: Objects,
    /// The storefront's bucket; connects on first use (only render-pages writes to it).
    pub site: Objects,
    sdk: aws_config::SdkConfig,
    events: OnceLock<aws_sdk_eventbridge::Client>,
    ses: OnceLock<aws_sdk_sesv2::Client>,
}

/// The PEM file of the benchmark's certificate authority (a `bench-tls` build only).
pub const BENCH_CA_FILE: &str = "BENCH_CA_FILE";

/// The SDK's HTTPS client, trusting only Amazon's roots: loading the system store instead opens
/// hundreds of files on every cold start. Plain-HTTP local endpoints are unaffected.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let trust = TrustStore::empty().with_pem_certificate(crate::platform::AMAZON_ROOTS);
    // The benchmark's throwaway CA (its TLS terminator in front of DynamoDB Local), so first
    // requests pay a real handshake. Compiled into benchmark builds only: a deployed function can
    // be told to trust nothing but Amazon's roots, whatever its environment says.
    #[cfg(feature = "bench-tls")]
    let trust = match std::env::var(BENCH_CA_FILE) {
        Ok(path) => trust.with_pem_certificate(std::fs::read(&path).expect("the benchmark's CA")),
        Err(_) => trust,
    };
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context without extra server names always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

impl App {
    /// Builds the SDK clients. No I/O happens here: no profile files are read and credentials
    /// resolve on first use. On Lambda they are always in the environment (the execution role), so
    /// the environment provider replaces the default chain, whose STS, SSO and instance-metadata
    /// clients would otherwise be linked into every function.
    pub fn new(config: Config, settings: Settings) -> Self {
        // Fail fast on a dead dependency instead of holding a Lambda for its whole timeout.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(1500))
            .operation_attempt_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(5))
            .build();
        let local = &config.local;
        let credentials = if [&local.dynamodb, &local.s3, &local.events, &local.ses]
            .iter()
            .any(|e| e.is_some())
        {
            // The emulators ignore signatures; s3rver only accepts this fixed key pair.
            SharedCredentialsProvider::new(Credentials::new(
                "S3RVER", "S3RVER", None, None, "local",
            ))
        } else {
            SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new())
        };
        let sdk = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(https_client())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .build();

        let (dynamo_sdk, dynamo_endpoint) = (sdk.clone(), config.local.dynamodb.clone());
        let dynamo: Lazy<aws_sdk_dynamodb::Client> = Lazy::new(Box::new(move || {
            let mut c = aws_sdk_dynamodb::config::Builder::from(&dynamo_sdk);
            if let Some(ep) = &dynamo_endpoint {
                c = c.endpoint_url(ep);
            }
            aws_sdk_dynamodb::Client::from_conf(c.build())
        }));
        App {
            jwt: JwtKeys::new(&config),
            cursors: CursorKey::new(&config.jwt_secret),
            stripe: Stripe::new(&config.stripe),
            images: Objects::new(&config, &config.images_bucket),
            site: Objects::new(&config, &config.site_bucket),
            dynamo,
            config,
            settings,
            sdk,
            events: OnceLock::new(),
            ses: OnceLock::new(),
        }
    }

    /// Opens the DynamoDB connection (TCP and TLS) with one cheap read, the health probe's key
    /// that never exists. Any answer, a refusal too, leaves the connection in the pool.
    pub async fn connect(&self) {
        let probe = self
            .dynamo
            .get_item()
            .table_name(&self.config.tables.users)
            .set_key(Some(crate::platform::db::key("HEALTH".into(), "HEALTH")))
            .send()
            .await;
        if let Err(e) = probe {
            tracing::debug!(error = %aws_sdk_dynamodb::error::DisplayErrorContext(e), "connecting at init");
        }
    }

    /// EventBridge, built on first use: only the outbox publisher calls it.
    pub fn events(&self) -> &aws_sdk_eventbridge::Client {
        self.events.get_or_init(|| {
            let mut c = aws_sdk_eventbridge::config::Builder::from(&self.sdk);
            if let Some(ep) = &self.config.local.events {
                c = c.endpoint_url(ep);
            }
            aws_sdk_eventbridge::Client::from_conf(c.build())
        })
    }

    /// SES, built on first use: only the email function calls it.
    pub fn ses(&self) -> &aws_sdk_sesv2::Client {
        self.ses.get_or_init(|| {
            let mut c = aws_sdk_sesv2::config::Builder::from(&self.sdk);
            if let Some(ep) = &self.config.local.ses {
                c = c.endpoint_url(ep);
            }
            aws_sdk_sesv2::Client::from_conf(c.build())
        })
    }

    /// The function's AWS credentials (the execution role's, from the environment on Lambda).
    pub async fn credentials(&self) -> crate::error::ApiResult<aws_credential_types::Credentials> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| crate::error::ApiError::internal("no credentials provider"))?;
        provider
            .provide_credentials()
            .await
            .map_err(crate::error::ApiError::internal)
    }

    /// Where form uploads (presigned POSTs) to the images bucket go: by path on an emulator, the
    /// bucket's own host on AWS.
    pub fn image_bucket_url(&self) -> String {
        objects::bucket_url(&self.config, &self.config.images_bucket)
    }

    /// Reads the platform's config and the shop's settings through `get` (the process environment
    /// in a function; a map in tests) and builds the one `App` a process holds for its life, as a
    /// Lambda does.
    pub fn load(get: impl Fn(&str) -> Option<String>) -> Result<&'static App, ConfigError> {
        let app = App::new(Config::from_lookup(&get)?, Settings::from_lookup(&get)?);
        Ok(Box::leak(Box::new(app)))
    }
}

impl Accounts for App {
    fn jwt(&self) -> &JwtKeys {
        &self.jwt
    }
    fn dynamo(&self) -> &aws_sdk_dynamodb::Client {
        &self.dynamo
    }
    fn users_table(&self) -> &str {
        &self.config.tables.users
    }
}
