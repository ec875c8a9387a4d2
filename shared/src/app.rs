//! Everything a function builds once at init and reuses for every request.

use std::{sync::OnceLock, time::Duration};

use aws_config::{BehaviorVersion, Region, retry::RetryConfig, timeout::TimeoutConfig};
use aws_sdk_dynamodb::config::Credentials;

use crate::{auth::JwtKeys, config::Config, pagination::CursorKey};

pub struct App {
    pub config: Config,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub jwt: JwtKeys,
    pub cursors: CursorKey,
    sdk: aws_config::SdkConfig,
    s3: OnceLock<aws_sdk_s3::Client>,
}

/// Root CAs of the Amazon Trust Services, which every AWS endpoint chains to (see certs/README.md).
const AMAZON_ROOTS: &[u8] = include_bytes!("../certs/amazon-roots.pem");

/// The SDK's HTTPS client, trusting only Amazon's roots: loading the system store instead opens
/// hundreds of files on every cold start. Plain-HTTP local endpoints are unaffected.
fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
    let trust = TrustStore::empty().with_pem_certificate(AMAZON_ROOTS);
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context without extra server names always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

impl App {
    /// Builds the SDK clients. No network I/O happens here: credentials resolve lazily on first use.
    pub async fn new(config: Config) -> Self {
        // Fail fast on a dead dependency instead of holding a Lambda for its whole timeout.
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(1500))
            .operation_attempt_timeout(Duration::from_secs(2))
            .operation_timeout(Duration::from_secs(5))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client())
            .region(Region::new(config.region.clone()))
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if config.local.dynamodb.is_some() || config.local.s3.is_some() {
            // The emulators ignore signatures; s3rver only accepts this fixed key pair, and
            // skipping the provider chain keeps a laptop from probing for instance metadata.
            loader = loader
                .credentials_provider(Credentials::new("S3RVER", "S3RVER", None, None, "local"));
        }
        let sdk = loader.load().await;

        let mut dynamo = aws_sdk_dynamodb::config::Builder::from(&sdk);
        if let Some(ep) = &config.local.dynamodb {
            dynamo = dynamo.endpoint_url(ep);
        }
        App {
            jwt: JwtKeys::new(&config),
            cursors: CursorKey::new(&config.jwt_secret),
            dynamo: aws_sdk_dynamodb::Client::from_conf(dynamo.build()),
            config,
            sdk,
            s3: OnceLock::new(),
        }
    }

    /// The S3 client, built on first use: only the image function needs it, so the other
    /// functions neither pay for it at init nor (after LTO) carry its code.
    pub fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3.get_or_init(|| {
            let mut s3 = aws_sdk_s3::config::Builder::from(&self.sdk);
            if let Some(ep) = &self.config.local.s3 {
                // Emulators serve buckets by path, not by virtual host.
                s3 = s3.endpoint_url(ep).force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(s3.build())
        })
    }

    /// Tests and the dev tools hold one `App` for the life of the process, like a Lambda does.
    pub async fn leaked(config: Config) -> &'static App {
        Box::leak(Box::new(App::new(config).await))
    }
}
