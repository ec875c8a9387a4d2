//! The HTTP edge shared by every function: replies, CORS, the per-request span and log line, the
//! body limit, the handler timeout, and (in `error`) the one place an `ApiError` becomes a status.
//! Request parsing lives in `extract`.

use std::{future::Future, time::Instant};

use lambda_http::{
    Body, Request, RequestExt, Response,
    http::{HeaderName, HeaderValue, StatusCode, header},
    request::RequestContext,
};
use serde::Serialize;
use tracing::{Instrument, field::Empty};

use super::config::Config;
use crate::error::{ApiError, ApiResult};

mod error;
mod extract;

pub use extract::{
    bearer_token, client_address, header_str, json_body, page_request, path_param, query_param,
};

/// Largest request body accepted; bigger ones get 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key, if-match";
const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS";

/// A successful answer: status, optional JSON body, extra headers, and how it may be cached.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<String>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub caching: Caching,
}

/// How a response may be cached (`Cache-Control`). Everything is `Private` (never stored) unless a
/// handler says otherwise, so nothing authenticated or personal can reach a shared cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Caching {
    /// `private, no-store`: authenticated or personal answers, and every error.
    #[default]
    Private,
    /// `no-store`: public, but changing with every order (stock levels).
    NoStore,
    /// `public, max-age, stale-while-revalidate`, with an `ETag`; a matching `If-None-Match` gets
    /// a bodiless 304.
    Public {
        max_age: u32,
        stale_while_revalidate: u32,
    },
}

/// Catalog reads: a CDN and browsers may keep them 30 s, and serve a stale copy for 5 minutes
/// while they revalidate (an ETag makes that a 304 when nothing changed).
pub const CATALOG_CACHING: Caching = Caching::Public {
    max_age: 30,
    stale_while_revalidate: 300,
};

impl Caching {
    fn header(self) -> String {
        match self {
            Caching::Private => "private, no-store".into(),
            Caching::NoStore => "no-store".into(),
            Caching::Public {
                max_age,
                stale_while_revalidate,
            } => format!(
                "public, max-age={max_age}, stale-while-revalidate={stale_while_revalidate}"
            ),
        }
    }
}

/// A strong entity tag of a body: the first 128 bits of its SHA-256.
fn etag(body: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    use sha2::{Digest, Sha256};
    format!("\"{}\"", B64.encode(&Sha256::digest(body.as_bytes())[..16]))
}

/// `If-None-Match` (a list, weak tags compared weakly, or `*`) names `tag`.
fn none_match(header: &str, tag: &str) -> bool {
    header
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

impl Reply {
    pub fn json(status: StatusCode, value: &impl Serialize) -> ApiResult<Self> {
        Ok(Reply {
            status,
            body: Some(serde_json::to_string(value).map_err(ApiError::internal)?),
            headers: Vec::new(),
            caching: Caching::default(),
        })
    }

    pub fn ok(value: &impl Serialize) -> ApiResult<Self> {
        Self::json(StatusCode::OK, value)
    }

    pub fn created(value: &impl Serialize) -> ApiResult<Self> {
        Self::json(StatusCode::CREATED, value)
    }

    /// A body that is not JSON (a CSV export), of `content_type`.
    pub fn text(content_type: &'static str, body: String) -> Self {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
            headers: vec![(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            caching: Caching::default(),
        }
    }

    pub fn no_content() -> ApiResult<Self> {
        Ok(Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
            caching: Caching::default(),
        })
    }

    pub fn cached(mut self, caching: Caching) -> Self {
        self.caching = caching;
        self
    }

    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        if let Ok(v) = HeaderValue::try_from(value.into()) {
            self.headers.push((name, v));
        }
        self
    }
}

/// Route key as API Gateway names it (`GET /products/{id}`), for logs and metrics.
fn route_of(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.clone(),
        _ => None,
    }
    .filter(|r| !r.is_empty() && r != "$default")
    .unwrap_or_else(|| format!("{} {}", req.method(), req.raw_http_path()))
}

fn request_id_of(req: &Request) -> String {
    if let Some(ctx) = req.lambda_context_ref() {
        return ctx.request_id.clone();
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn cors_origin(config: &Config, req: &Request) -> String {
    let allowed = config.cors_allow_origin.as_str();
    if allowed == "*" || !allowed.contains(',') {
        return allowed.to_string();
    }
    // A list of origins: echo the caller's when it is on the list (browsers accept one origin only).
    let origin = header_str(req, "origin").unwrap_or_default();
    allowed
        .split(',')
        .map(str::trim)
        .find(|o| *o == origin)
        .unwrap_or_else(|| allowed.split(',').next().unwrap_or_default().trim())
        .to_string()
}

/// A cacheable 200 gets its `ETag`, and becomes a bodiless 304 when the client already has it.
fn revalidate(mut reply: Reply, if_none_match: Option<&str>) -> Reply {
    let Some(body) = reply.body.as_deref() else {
        return reply;
    };
    if !matches!(reply.caching, Caching::Public { .. }) || reply.status != StatusCode::OK {
        return reply;
    }
    let tag = etag(body);
    if if_none_match.is_some_and(|h| none_match(h, &tag)) {
        reply.status = StatusCode::NOT_MODIFIED;
        reply.body = None;
    }
    reply.with_header(header::ETAG, tag)
}

fn into_response(reply: Reply, cors_origin: &str) -> Response<Body> {
    let mut builder = Response::builder()
        .status(reply.status)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, cors_origin)
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS)
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS)
        .header(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            "retry-after, etag, link, content-disposition",
        )
        .header(header::VARY, "origin")
        .header(header::CACHE_CONTROL, reply.caching.header());
    if reply.body.is_some() && !reply.headers.iter().any(|(k, _)| k == header::CONTENT_TYPE) {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    for (k, v) in reply.headers {
        builder = builder.header(k, v);
    }
    let body = reply.body.map(Body::Text).unwrap_or(Body::Empty);
    builder.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Body::Empty);
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

/// Runs one request through a handler: origin check (outside local mode only requests through the
/// distribution are served), size check, timeout, error mapping, CORS, one log line.
pub async fn dispatch<F, Fut>(config: &Config, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = ApiResult<Reply>>,
{
    let started = Instant::now();
    let method = req.method().to_string();
    let route = route_of(&req);
    let origin = cors_origin(config, &req);
    let if_none_match = header_str(&req, "if-none-match").map(str::to_string);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id_of(&req),
        user_id = Empty,
        order_id = Empty,
    );
    async move {
        let result = if !extract::came_through_edge(&req, config.origin_secret.as_deref()) {
            // Only the distribution knows the secret: a request without it went around the WAF,
            // the CDN's headers and its cache (the execute-api URL), so it gets nothing.
            tracing::warn!(
                security_event = "edge_bypassed",
                client = %client_address(&req, config.origin_secret.as_deref()),
                "request without the origin secret refused"
            );
            Err(ApiError::NotAllowed(
                "call the shop's address: the API does not answer directly",
            ))
        } else if req.method() == lambda_http::http::Method::OPTIONS {
            // Preflight: API Gateway answers these itself; this keeps direct invocations honest.
            Reply::no_content()
        } else if req.body().as_ref().len() > MAX_BODY_BYTES {
            Err(ApiError::TooLarge {
                limit: MAX_BODY_BYTES,
            })
        } else {
            match tokio::time::timeout(config.handler_timeout, handler(req)).await {
                Ok(r) => r,
                Err(elapsed) => Err(ApiError::Unavailable {
                    dependency: "upstream",
                    source: Some(Box::new(elapsed)),
                }),
            }
        };
        let reply = match result {
            Ok(reply) => revalidate(reply, if_none_match.as_deref()),
            Err(err) => {
                if err.status().is_server_error() {
                    tracing::error!(code = err.code(), error = %err.chain(), "request failed");
                }
                error::reply(&err)
            }
        };
        tracing::info!(
            method,
            route,
            status = reply.status.as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        );
        into_response(reply, &origin)
    }
    .instrument(span)
    .await
}

/// Records the authenticated user on the current request span.
pub fn record_user(user_id: &str) {
    tracing::Span::current().record("user_id", user_id);
}

pub fn record_order(order_id: &str) {
    tracing::Span::current().record("order_id", order_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(caching: Caching) -> Reply {
        Reply::ok(&serde_json::json!({"id": 1}))
            .unwrap()
            .cached(caching)
    }

    #[test]
    fn public_replies_carry_an_etag_and_a_match_is_a_bodiless_304() {
        let fresh = revalidate(reply(CATALOG_CACHING), None);
        assert_eq!(fresh.status, StatusCode::OK);
        let tag = fresh
            .headers
            .iter()
            .find(|(k, _)| *k == header::ETAG)
            .map(|(_, v)| v.to_str().unwrap().to_string())
            .unwrap();
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        for header in [
            tag.clone(),
            format!("W/{tag}"),
            format!("\"x\", {tag}"),
            "*".into(),
        ] {
            let r = revalidate(reply(CATALOG_CACHING), Some(&header));
            assert_eq!(
                (r.status, r.body.is_none()),
                (StatusCode::NOT_MODIFIED, true),
                "{header}"
            );
        }
        let other = revalidate(reply(CATALOG_CACHING), Some("\"something-else\""));
        assert_eq!(other.status, StatusCode::OK);
        assert!(other.body.is_some());
    }

    async fn through(secret: Option<&str>, header: Option<&str>) -> (StatusCode, bool) {
        use crate::platform::config::env;
        let mut vars = std::collections::HashMap::from([
            (env::USERS_TABLE, "t".to_string()),
            (env::PRODUCTS_TABLE, "t".into()),
            (env::ORDERS_TABLE, "t".into()),
            (env::JWT_SECRET, "j".repeat(32)),
        ]);
        match secret {
            Some(secret) => vars.insert(env::ORIGIN_SECRET, secret.into()),
            // Local mode (an emulator's endpoint) is the only one where a secret may be missing.
            None => vars.insert(env::DYNAMODB_ENDPOINT, "http://127.0.0.1:8000".into()),
        };
        let config = Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
        let mut req = lambda_http::http::Request::builder().uri("/health");
        if let Some(h) = header {
            req = req.header(extract::ORIGIN_VERIFY, h);
        }
        let ran = std::cell::Cell::new(false);
        let res = dispatch(&config, req.body(Body::Empty).unwrap(), |_| async {
            ran.set(true);
            Reply::no_content()
        })
        .await;
        (res.status(), ran.get())
    }

    #[tokio::test]
    async fn outside_local_mode_only_requests_through_the_distribution_reach_a_handler() {
        let secret = "s".repeat(40);
        let refused = (StatusCode::FORBIDDEN, false);
        assert_eq!(through(Some(&secret), None).await, refused);
        assert_eq!(through(Some(&secret), Some("guess")).await, refused);
        assert_eq!(through(Some(&secret), Some(&"s".repeat(39))).await, refused);
        let served = (StatusCode::NO_CONTENT, true);
        assert_eq!(through(Some(&secret), Some(&secret)).await, served);
        assert_eq!(
            through(None, None).await,
            served,
            "local mode has no distribution"
        );
    }

    #[test]
    fn private_replies_are_never_tagged_or_revalidated() {
        for caching in [Caching::Private, Caching::NoStore] {
            let r = revalidate(reply(caching), Some("*"));
            assert_eq!(r.status, StatusCode::OK);
            assert!(r.headers.iter().all(|(k, _)| *k != header::ETAG));
        }
        assert_eq!(Caching::default().header(), "private, no-store");
        assert_eq!(
            CATALOG_CACHING.header(),
            "public, max-age=30, stale-while-revalidate=300"
        );
    }
}
