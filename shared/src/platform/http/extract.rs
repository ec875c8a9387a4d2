//! Turning a request into typed input: the JSON body, path and query parameters, headers, the
//! page a listing asks for and the bearer token. Every failure is a 400 that names the field.

use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;

use crate::{
    error::{ApiError, ApiResult},
    platform::db::{DEFAULT_LIMIT, MAX_LIMIT, PageRequest},
};

/// Decodes a JSON body into a request DTO. Syntax errors, wrong types, missing and unknown fields
/// all become a 400 whose message says what was wrong.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    let bytes = req.body().as_ref();
    // Every request body is an object: serde would also fill a struct from an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(
            "invalid_json",
            "request body must be a JSON object",
        ));
    }
    let not_json = |e: serde_json::Error| {
        ApiError::bad_request(
            "invalid_json",
            format!("request body is not valid JSON: {e}"),
        )
    };
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => {
                ApiError::invalid_field(path, inner)
            }
            serde_json::error::Category::Data => {
                ApiError::bad_request("invalid_field", format!("invalid request body: {inner}"))
            }
            _ => not_json(inner),
        }
    })?;
    de.end().map_err(not_json)?;
    Ok(value)
}

/// A path parameter of the matched route (`{id}`).
pub fn path_param(req: &Request, name: &'static str) -> ApiResult<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApiError::invalid_field(name, "is required in the path"))
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_string)
}

pub fn header_str<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// `?limit=` (default 20, 1..=100) and `?cursor=` (verified later, against the listing it names).
pub fn page_request(req: &Request) -> ApiResult<PageRequest> {
    let limit = match query_param(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    Ok(PageRequest {
        limit,
        cursor: query_param(req, "cursor").filter(|c| !c.is_empty()),
    })
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
pub fn bearer_token(req: &Request) -> Option<&str> {
    let value = header_str(req, "authorization")?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The header the distribution adds to every request it forwards to the API, carrying the
/// deploy-time origin secret: only such a request may name its client by CloudFront's header.
pub const ORIGIN_VERIFY: &str = "x-origin-verify";

/// Whether `req` carries `origin_secret` in [`ORIGIN_VERIFY`] (compared in constant time), which
/// only the distribution sends; without a secret (local mode only) every request counts as such.
pub fn came_through_edge(req: &Request, origin_secret: Option<&[u8]>) -> bool {
    match origin_secret {
        None => true,
        Some(secret) => header_str(req, ORIGIN_VERIFY).is_some_and(|v| {
            use subtle::ConstantTimeEq;
            v.as_bytes().ct_eq(secret).into()
        }),
    }
}

/// The client's address, for throttling: `CloudFront-Viewer-Address` (`ip:port`, set by the
/// distribution, which is how the API is reached) when the request came through it, else API
/// Gateway's source IP; `unknown` when neither says. "Came through it" means it carries
/// `origin_secret` in [`ORIGIN_VERIFY`] (compared in constant time): anyone may set the viewer
/// header on a request sent straight to the execute-api URL, and would otherwise pick a fresh
/// address for every guess. Without a secret (local mode only) the header is taken as it is. Only
/// address characters are kept, at most 45, so it is safe in a key.
pub fn client_address(req: &Request, origin_secret: Option<&[u8]>) -> String {
    let via_cdn = came_through_edge(req, origin_secret);
    let viewer = header_str(req, "cloudfront-viewer-address")
        .filter(|_| via_cdn)
        .and_then(|v| v.rsplit_once(':').map(|(ip, _port)| ip.to_string()));
    let source = || match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    viewer
        .or_else(source)
        .map(|ip| ip.trim_matches(['[', ']']).to_string())
        .filter(|ip| {
            !ip.is_empty()
                && ip.len() <= 45
                && ip
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':')
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_parsed_case_insensitively() {
        let req = lambda_http::http::Request::builder()
            .header("authorization", "bearer abc.def.ghi")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&req), Some("abc.def.ghi"));
        let req = lambda_http::http::Request::builder()
            .header("authorization", "Basic abc")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(bearer_token(&req), None);
    }

    #[test]
    fn only_a_json_object_fills_a_request() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Login {
            email: String,
            password: String,
        }
        let body = |b: &str| {
            lambda_http::http::Request::builder()
                .body(lambda_http::Body::Text(b.into()))
                .unwrap()
        };
        assert!(json_body::<Login>(&body(r#" {"email": "a", "password": "b"}"#)).is_ok());
        for bad in [
            r#"["admin@shop.local", "admin-password"]"#,
            "",
            "  ",
            "\"x\"",
            "7",
        ] {
            let e = json_body::<Login>(&body(bad)).unwrap_err();
            assert_eq!(e.code(), "invalid_json", "{bad:?}");
        }
    }

    #[test]
    fn limit_defaults_and_is_bounded() {
        let req = |q: &[(&str, &str)]| {
            lambda_http::http::Request::builder()
                .body(lambda_http::Body::Empty)
                .unwrap()
                .with_query_string_parameters(
                    q.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<std::collections::HashMap<_, _>>(),
                )
        };
        assert_eq!(page_request(&req(&[])).unwrap().limit, DEFAULT_LIMIT);
        let p = page_request(&req(&[("limit", "100"), ("cursor", "abc")])).unwrap();
        assert_eq!((p.limit, p.cursor.as_deref()), (100, Some("abc")));
        for bad in ["0", "101", "-1", "x", "1.5"] {
            let e = page_request(&req(&[("limit", bad)])).unwrap_err();
            assert!(e.to_string().starts_with("limit"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_client_address_comes_from_cloudfront_and_is_safe_in_a_key() {
        let with = |v: &str| {
            lambda_http::http::Request::builder()
                .header("cloudfront-viewer-address", v)
                .body(lambda_http::Body::Empty)
                .unwrap()
        };
        assert_eq!(
            client_address(&with("198.51.100.7:46532"), None),
            "198.51.100.7"
        );
        assert_eq!(
            client_address(&with("2001:db8::1:443"), None),
            "2001:db8::1"
        );
        assert_eq!(client_address(&with("evil#key:1"), None), "unknown");
        let none = lambda_http::http::Request::builder()
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(client_address(&none, None), "unknown");
    }

    #[test]
    fn the_viewer_header_counts_only_on_requests_the_distribution_forwarded() {
        let secret = b"origin-secret-origin-secret-0123".as_slice();
        let req = |verify: Option<&str>| {
            let mut b = lambda_http::http::Request::builder()
                .header("cloudfront-viewer-address", "198.51.100.7:46532");
            if let Some(v) = verify {
                b = b.header(ORIGIN_VERIFY, v);
            }
            b.body(lambda_http::Body::Empty).unwrap()
        };
        let forwarded = req(Some("origin-secret-origin-secret-0123"));
        assert_eq!(client_address(&forwarded, Some(secret)), "198.51.100.7");
        // Straight to execute-api with a made-up viewer header: the header is ignored.
        for forged in [
            None,
            Some("guess"),
            Some("origin-secret-origin-secret-0124"),
        ] {
            assert_eq!(
                client_address(&req(forged), Some(secret)),
                "unknown",
                "{forged:?}"
            );
        }
    }
}
