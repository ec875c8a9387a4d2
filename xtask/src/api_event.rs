//! One builder of API Gateway HTTP API (payload 2.0) events, for the sample events the generator
//! writes (`events/`) and the requests the benchmark sends.

use serde_json::{Value, json};

/// Where a request comes from and arrives, as API Gateway's request context names them.
pub struct Origin<'a> {
    /// The API's domain name (its first label is the domain prefix).
    pub host: &'a str,
    pub api_id: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    /// API Gateway's `time` and `timeEpoch` (milliseconds) of the request.
    pub time: (&'a str, u64),
}

/// One request to a route.
pub struct Call<'a> {
    pub method: &'a str,
    /// The route as the API declares it (`/orders/{id}`).
    pub route: &'a str,
    /// The path as called, with its query string (`/orders/01J...?limit=5`).
    pub path: &'a str,
    /// Headers besides `content-type` and `host`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: Option<&'a Value>,
    pub request_id: &'a str,
}

/// The event API Gateway hands the route's function for `call`: path parameters from the route's
/// `{name}` segments, query parameters from the query string.
pub fn api_event(origin: &Origin, call: &Call) -> Value {
    let mut headers = json!({"content-type": "application/json", "host": origin.host});
    for (k, v) in call.headers {
        headers[*k] = json!(v);
    }
    let (raw_path, query) = call.path.split_once('?').unwrap_or((call.path, ""));
    let route_key = format!("{} {}", call.method, call.route);
    let prefix = origin.host.split('.').next().unwrap_or(origin.host);
    let mut ev = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": origin.api_id, "domainName": origin.host, "domainPrefix": prefix,
            "http": {"method": call.method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": origin.source_ip, "userAgent": origin.user_agent},
            "requestId": call.request_id, "routeKey": route_key, "stage": "$default",
            "time": origin.time.0, "timeEpoch": origin.time.1
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        let q: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        ev["queryStringParameters"] = Value::Object(q);
    }
    let params: serde_json::Map<String, Value> = call
        .route
        .split('/')
        .zip(raw_path.split('/'))
        .filter_map(|(r, v)| {
            let name = r.strip_prefix('{')?.strip_suffix('}')?;
            Some((name.to_string(), json!(v)))
        })
        .collect();
    if !params.is_empty() {
        ev["pathParameters"] = Value::Object(params);
    }
    if let Some(b) = call.body {
        ev["body"] = json!(b.to_string());
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_query_parameters_come_from_the_route_and_the_query_string() {
        let origin = Origin {
            host: "api.example.com",
            api_id: "a",
            source_ip: "203.0.113.10",
            user_agent: "t",
            time: ("01/Dec/2026:00:00:00 +0000", 1),
        };
        let body = json!({"status": "PAID"});
        let ev = api_event(
            &origin,
            &Call {
                method: "PUT",
                route: "/orders/{id}/status",
                path: "/orders/01J/status?x=1&y=2",
                headers: &[("authorization", "Bearer t")],
                body: Some(&body),
                request_id: "r",
            },
        );
        assert_eq!(ev["routeKey"], "PUT /orders/{id}/status");
        assert_eq!(ev["rawPath"], "/orders/01J/status");
        assert_eq!(ev["pathParameters"], json!({"id": "01J"}));
        assert_eq!(ev["queryStringParameters"], json!({"x": "1", "y": "2"}));
        assert_eq!(ev["requestContext"]["domainPrefix"], "api");
        assert_eq!(ev["headers"]["authorization"], "Bearer t");
        assert_eq!(ev["body"], body.to_string());
    }
}
