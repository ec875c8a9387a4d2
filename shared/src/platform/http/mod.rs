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

pub use extract::{bearer_token, header_str, json_body, page_request, path_param, query_param};

/// Largest request body accepted; bigger ones get 413 before any parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
const ALLOW_HEADERS: &str = "authorization, content-type, idempotency-key";
const ALLOW_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS";

/// A successful answer: status, optional JSON body, extra headers.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Option<String>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    pub fn json(status: StatusCode, value: &impl Serialize) -> ApiResult<Self> {
        Ok(Reply {
            status,
            body: Some(serde_json::to_string(value).map_err(ApiError::internal)?),
            headers: Vec::new(),
        })
    }

    pub fn ok(value: &impl Serialize) -> ApiResult<Self> {
        Self::json(StatusCode::OK, value)
    }

    pub fn created(value: &impl Serialize) -> ApiResult<Self> {
        Self::json(StatusCode::CREATED, value)
    }

    pub fn no_content() -> ApiResult<Self> {
        Ok(Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            headers: Vec::new(),
        })
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

fn into_response(reply: Reply, cors_origin: &str) -> Response<Body> {
    let mut builder = Response::builder()
        .status(reply.status)
        .header(header::ACCESS_CONTROL_ALLOW_ORIGIN, cors_origin)
        .header(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS)
        .header(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS)
        .header(header::ACCESS_CONTROL_EXPOSE_HEADERS, "retry-after")
        .header(header::VARY, "origin")
        .header(header::CACHE_CONTROL, "no-store");
    if reply.body.is_some() {
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

/// Runs one request through a handler: size check, timeout, error mapping, CORS, one log line.
pub async fn dispatch<F, Fut>(config: &Config, req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = ApiResult<Reply>>,
{
    let started = Instant::now();
    let method = req.method().to_string();
    let route = route_of(&req);
    let origin = cors_origin(config, &req);
    let span = tracing::info_span!(
        "request",
        request_id = %request_id_of(&req),
        user_id = Empty,
        order_id = Empty,
    );
    async move {
        let result = if req.method() == lambda_http::http::Method::OPTIONS {
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
            Ok(reply) => reply,
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
