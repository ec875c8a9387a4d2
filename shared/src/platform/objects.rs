//! The images and site buckets: GET, PUT and DELETE of one object, SigV4-signed by hand over the hyper +
//! rustls stack the SDK's client already links. The S3 SDK would add about 0.8 MB to a zip the
//! picture codecs already fill; three calls do not need it.
//!
//! Like the SDK's client, it trusts Amazon's roots alone, and connects on first use.

use std::{sync::OnceLock, time::Duration};

use aws_credential_types::Credentials;
use aws_sigv4::{
    http_request::{
        PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign as sigv4,
    },
    sign::v4,
};
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, header};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde::Deserialize;

use super::config::Config;
use crate::error::{ApiError, ApiResult};

type Https = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One object call answers within this or fails (the function retries the whole event).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Tries of a call S3 answers with a 500 or 503, or whose connection fails before an answer.
const ATTEMPTS: u32 = 3;

/// `Cache-Control` of an object that changes under its name (pages, the site's config): browsers
/// and CloudFront revalidate it on every load.
pub const REVALIDATE: &str = "no-cache";
/// `Cache-Control` of an object whose name changes with its content (hashed assets, uploaded
/// pictures): kept for a year, never revalidated.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// How a written object is served.
#[derive(Debug, Clone, Copy)]
pub struct Stored<'a> {
    pub content_type: &'a str,
    pub cache_control: &'a str,
}

pub struct Objects {
    /// `http://127.0.0.1:4569/<bucket>` on the emulator, `https://<bucket>.s3.<region>.amazonaws.com`
    /// on AWS.
    base: String,
    region: String,
    client: OnceLock<Result<Https, String>>,
}

impl Objects {
    pub fn new(config: &Config, bucket: &str) -> Self {
        Objects {
            base: bucket_url(config, bucket),
            region: config.region.clone(),
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> ApiResult<&Https> {
        self.client
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore::empty();
                use rustls::pki_types::{CertificateDer, pem::PemObject};
                for cert in CertificateDer::pem_slice_iter(super::AMAZON_ROOTS) {
                    let cert = cert.map_err(|e| format!("Amazon roots: {e}"))?;
                    roots.add(cert).map_err(|e| format!("Amazon roots: {e}"))?;
                }
                let tls = rustls::ClientConfig::builder_with_provider(
                    rustls::crypto::ring::default_provider().into(),
                )
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls)
                    // Plain HTTP only ever reaches the local emulator (S3_ENDPOINT).
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Client::builder(TokioExecutor::new()).build(https))
            })
            .as_ref()
            .map_err(|e| ApiError::internal(e.clone()))
    }

    /// Sends a signed request for `key`, again (after 50 then 100 ms) when S3 answers 500 or 503
    /// or the connection fails before an answer (a pooled connection the other side had closed
    /// while the function was busy or frozen), as the SDKs do: every request here (GET, PUT,
    /// DELETE of one key) may be sent twice. The status and body of the last answer.
    async fn call(
        &self,
        credentials: &Credentials,
        method: Method,
        key: &str,
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> ApiResult<(StatusCode, Bytes)> {
        let mut delay = Duration::from_millis(50);
        for _ in 1..ATTEMPTS {
            let answer = self
                .call_once(credentials, method.clone(), key, body.clone(), headers)
                .await;
            match answer {
                Ok((StatusCode::INTERNAL_SERVER_ERROR | StatusCode::SERVICE_UNAVAILABLE, _)) => {}
                Ok(answer) => return Ok(answer),
                Err(e) => tracing::warn!(error = %e.chain(), "S3 {method} {key}: trying again"),
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
        self.call_once(credentials, method, key, body, headers)
            .await
    }

    /// Sends one signed request for `key`; the status and body of the answer.
    async fn call_once(
        &self,
        credentials: &Credentials,
        method: Method,
        key: &str,
        body: Bytes,
        headers: &[(&str, &str)],
    ) -> ApiResult<(StatusCode, Bytes)> {
        let url = format!("{}/{}", self.base, encode_key(key));
        let mut req = Request::builder().method(method.clone()).uri(&url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let mut req = req
            .body(Full::new(body.clone()))
            .map_err(ApiError::internal)?;
        let identity: Identity = credentials.clone().into();
        let mut settings = SigningSettings::default();
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(std::time::SystemTime::now())
            .settings(settings)
            .build()
            .map_err(ApiError::internal)?
            .into();
        let signable = SignableRequest::new(
            method.as_str(),
            url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .map_err(ApiError::internal)?;
        let (instructions, _) = sigv4(signable, &params)
            .map_err(ApiError::internal)?
            .into_parts();
        instructions.apply_to_request_http1x(&mut req);
        let answer = tokio::time::timeout(CALL_TIMEOUT, async {
            let res = self
                .client()?
                .request(req)
                .await
                .map_err(ApiError::internal)?;
            let status = res.status();
            let bytes = res
                .into_body()
                .collect()
                .await
                .map_err(ApiError::internal)?
                .to_bytes();
            Ok::<_, ApiError>((status, bytes))
        })
        .await
        .map_err(|_| ApiError::internal(format!("S3 {method} {key}: no answer in time")))??;
        Ok(answer)
    }

    /// The object's bytes, or `None` when there is none.
    pub async fn get(&self, credentials: &Credentials, key: &str) -> ApiResult<Option<Bytes>> {
        match self
            .call(credentials, Method::GET, key, Bytes::new(), &[])
            .await?
        {
            (StatusCode::OK, body) => Ok(Some(body)),
            (StatusCode::NOT_FOUND, _) => Ok(None),
            (status, _) => Err(ApiError::internal(format!("S3 GET {key}: {status}"))),
        }
    }

    pub async fn put(
        &self,
        credentials: &Credentials,
        key: &str,
        bytes: Vec<u8>,
        stored: Stored<'_>,
    ) -> ApiResult<()> {
        let headers = [
            (header::CONTENT_TYPE.as_str(), stored.content_type),
            (header::CACHE_CONTROL.as_str(), stored.cache_control),
        ];
        match self
            .call(credentials, Method::PUT, key, bytes.into(), &headers)
            .await?
        {
            (status, _) if status.is_success() => Ok(()),
            (status, _) => Err(ApiError::internal(format!("S3 PUT {key}: {status}"))),
        }
    }

    /// Deletes the object; deleting one that is gone succeeds, as S3's DELETE does.
    pub async fn delete(&self, credentials: &Credentials, key: &str) -> ApiResult<()> {
        match self
            .call(credentials, Method::DELETE, key, Bytes::new(), &[])
            .await?
        {
            (status, _) if status.is_success() || status == StatusCode::NOT_FOUND => Ok(()),
            (status, _) => Err(ApiError::internal(format!("S3 DELETE {key}: {status}"))),
        }
    }
}

/// Where a bucket is reached: by path on an emulator, the bucket's own host on AWS.
pub fn bucket_url(config: &Config, bucket: &str) -> String {
    match &config.local.s3 {
        Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
        None => format!("https://{bucket}.s3.{}.amazonaws.com", config.region),
    }
}

/// A key as a URL path: every byte but S3's unreserved ones and `/` percent-encoded.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// EventBridge's `Object Created` event from S3, the fields the shop reads.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectCreated {
    #[serde(rename = "detail-type")]
    pub detail_type: String,
    pub detail: ObjectCreatedDetail,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ObjectCreatedDetail {
    pub bucket: BucketName,
    pub object: ObjectRef,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BucketName {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ObjectRef {
    pub key: String,
    #[serde(default)]
    pub size: u64,
}

impl ObjectCreated {
    pub const DETAIL_TYPE: &str = "Object Created";

    /// The key created, when this is an `Object Created` event of `bucket` (a rule can be
    /// widened by mistake; the function still touches its own bucket only).
    pub fn key_in(&self, bucket: &str) -> Option<&str> {
        (self.detail_type == Self::DETAIL_TYPE && self.detail.bucket.name == bucket)
            .then_some(self.detail.object.key.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_percent_encoded_except_unreserved_and_slashes() {
        assert_eq!(encode_key("products/01H/320.webp"), "products/01H/320.webp");
        assert_eq!(encode_key("a b/é+?"), "a%20b/%C3%A9%2B%3F");
    }

    #[test]
    fn an_object_created_event_names_its_key_only_for_its_bucket() {
        let event: ObjectCreated = serde_json::from_value(serde_json::json!({
            "version": "0", "id": "1", "source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": "shop-images"}, "object": {"key": "uploads/a", "size": 3}}
        }))
        .unwrap();
        assert_eq!(event.key_in("shop-images"), Some("uploads/a"));
        assert_eq!(event.key_in("another"), None);
    }

    /// An S3 stand-in answering each connection with the next of `statuses` (0: closing it
    /// without an answer); the requests it got.
    fn answering(statuses: Vec<u16>) -> (String, std::sync::mpsc::Receiver<String>) {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for (status, conn) in statuses.into_iter().zip(listener.incoming()) {
                let mut conn = conn.unwrap();
                let mut buf = [0u8; 8192];
                let n = conn.read(&mut buf).unwrap();
                let head = String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                tx.send(head).unwrap();
                if status == 0 {
                    continue;
                }
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                conn.write_all(reply.as_bytes()).unwrap();
            }
        });
        (url, rx)
    }

    fn local(url: &str) -> Objects {
        let env = std::collections::HashMap::from([
            ("USERS_TABLE", "u".to_string()),
            ("PRODUCTS_TABLE", "p".to_string()),
            ("ORDERS_TABLE", "o".to_string()),
            ("JWT_SECRET", "x".repeat(40)),
            ("S3_ENDPOINT", url.to_string()),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:1".to_string()),
        ]);
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        Objects::new(&config, "site")
    }

    const STORED: Stored = Stored {
        content_type: "text/plain",
        cache_control: REVALIDATE,
    };

    #[tokio::test]
    async fn a_500_or_503_or_a_lost_connection_is_tried_again_and_other_failures_are_not() {
        let creds = Credentials::new("k", "s", None, None, "test");
        let (url, seen) = answering(vec![500, 503, 204]);
        local(&url).delete(&creds, "pages/a.html").await.unwrap();
        assert_eq!(seen.try_iter().count(), 3, "two retries, then the answer");
        let (url, seen) = answering(vec![500, 500, 500]);
        assert!(local(&url).delete(&creds, "pages/a.html").await.is_err());
        assert_eq!(seen.try_iter().count(), 3, "three tries at most");
        let (url, seen) = answering(vec![0, 0, 200]);
        local(&url).get(&creds, "pages/a.html").await.unwrap();
        assert_eq!(
            seen.try_iter().count(),
            3,
            "a connection lost before the answer"
        );
        let (url, seen) = answering(vec![0, 0, 0]);
        assert!(local(&url).put(&creds, "a", vec![1], STORED).await.is_err());
        assert_eq!(seen.try_iter().count(), 3);
        let (url, seen) = answering(vec![403, 200]);
        assert!(local(&url).get(&creds, "pages/a.html").await.is_err());
        assert_eq!(seen.try_iter().count(), 1, "a refusal is final");
    }
}
