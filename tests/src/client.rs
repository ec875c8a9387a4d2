//! One typed client for every suite: the same requests, on the real route paths, either through
//! the in-process `dispatch` the Lambda runtime uses ([`TestApp::api`]) or over HTTP to `cargo
//! lambda watch` ([`Watch::api`]). In process, a request is routed to its function by the watch
//! router in Cargo.toml (path parameters taken from the path), then to that function's handler.

use std::{collections::HashMap, sync::OnceLock};

use lambda_http::{Body, RequestExt};
use serde_json::{Value, json};

use shop::App;

use crate::{TestRequest, TestResponse, handlers, repo_root};

/// Where requests go.
#[derive(Clone)]
enum Backend {
    Dispatch(&'static App),
    Http {
        base_url: String,
        client: reqwest::Client,
    },
}

/// Cheap to clone: a clone can move into a spawned task.
#[derive(Clone)]
pub struct Api {
    backend: Backend,
}

/// A code of `secret` that no earlier call gave (the shop accepts each code once, and codes of
/// the steps either side of now): waits for the next step when this one and its neighbours are
/// used up.
pub async fn unused_code(secret: &shop::auth::totp::TotpSecret) -> String {
    use shop::auth::totp::{DRIFT_STEPS, STEP_SECS, step_at};
    static USED: std::sync::Mutex<Vec<(String, u64)>> = std::sync::Mutex::new(Vec::new());
    loop {
        let now = shop::types::now_epoch_secs();
        let step = {
            let mut used = USED.lock().unwrap();
            let key = secret.base32();
            let last = used.iter().find(|(k, _)| *k == key).map(|(_, s)| *s);
            // The step behind now only while it has 10 s of its window left, so it cannot leave
            // the window before the request lands.
            let first = if now % STEP_SECS < STEP_SECS - 10 {
                step_at(now) - DRIFT_STEPS
            } else {
                step_at(now)
            };
            let step = last.map_or(first, |l| (l + 1).max(first));
            (step <= step_at(now) + DRIFT_STEPS).then(|| {
                used.retain(|(k, _)| *k != key);
                used.push((key, step));
                step
            })
        };
        match step {
            Some(step) => return secret.code_at(step),
            None => {
                tokio::time::sleep(std::time::Duration::from_secs(STEP_SECS - now % STEP_SECS))
                    .await
            }
        }
    }
}

/// The password every customer made by [`Api::customer`] has.
pub const CUSTOMER_PASSWORD: &str = "shopper-passphrase-42";
/// The tracking number the suites ship with.
pub const UPS_TRACKING: &str = "1Z999AA10123456784";

impl Api {
    /// Through the in-process dispatch, against `app`.
    pub fn dispatch(app: &'static App) -> Api {
        Api {
            backend: Backend::Dispatch(app),
        }
    }

    /// Over HTTP, against the API at `base_url`.
    pub fn http(base_url: &str) -> Api {
        Api {
            backend: Backend::Http {
                base_url: base_url.to_string(),
                client: reqwest::Client::new(),
            },
        }
    }
}

/// `(method, path template, function)` of every route in the watch router.
pub fn routes() -> &'static [(String, String, String)] {
    static ROUTES: OnceLock<Vec<(String, String, String)>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        let text = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
        let cargo: crate::spec::CargoToml = toml::from_str(&text).expect("the manifest");
        crate::spec::ordered::<Vec<crate::spec::Route>>(
            "route",
            &cargo.workspace.metadata.lambda.watch.router,
        )
        .expect("the watch router")
        .into_iter()
        .flat_map(|(path, entries)| {
            entries
                .into_iter()
                .map(move |r| (r.method, path.clone(), r.function))
        })
        .collect()
    })
}

/// The function serving `method path`, with the path parameters its route template names.
pub fn route(method: &str, path: &str) -> Option<(&'static str, HashMap<String, String>)> {
    let segments: Vec<&str> = path.split('/').collect();
    routes().iter().find_map(|(m, template, function)| {
        let parts: Vec<&str> = template.split('/').collect();
        if m != method || parts.len() != segments.len() {
            return None;
        }
        let mut params = HashMap::new();
        for (t, s) in parts.iter().zip(&segments) {
            match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                // API Gateway hands functions the decoded value.
                Some(name) if !s.is_empty() => {
                    let value = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
                    params.insert(name.to_string(), value.into_owned());
                }
                Some(_) => return None,
                None if t != s => return None,
                None => {}
            }
        }
        Some((function.as_str(), params))
    })
}

/// How long one function's first request may take to start it (a build is done; this is
/// `cargo run` waiting for the build lock and the process's init), and how often it is asked.
const START_DEADLINE: std::time::Duration = std::time::Duration::from_secs(180);
const START_TRIES: usize = 2;

impl Api {
    /// Sends `req` and returns the response (status, headers, JSON body).
    pub async fn send(&self, req: TestRequest) -> TestResponse {
        match &self.backend {
            Backend::Dispatch(app) => {
                let (function, params) = route(&req.method, &req.path)
                    .unwrap_or_else(|| panic!("no route serves {} {}", req.method, req.path));
                let request = req.build().with_path_parameters(params);
                // Boxed: the dispatch future is as large as the largest handler's, and a test that
                // awaits many of them would otherwise carry that on its thread's stack.
                let resp = Box::pin(handlers::dispatch(function, app, request))
                    .await
                    .unwrap_or_else(|| panic!("{function} has no handler"));
                TestResponse::from(resp)
            }
            Backend::Http { base_url, client } => {
                let method: reqwest::Method = req.method.parse().unwrap();
                let mut r = client
                    .request(method, format!("{base_url}{}", req.path))
                    .query(&req.query.iter().collect::<Vec<_>>());
                for (k, v) in &req.headers {
                    r = r.header(k, v);
                }
                if let Some(b) = req.body {
                    r = r.body(b);
                }
                let resp = r.send().await.expect("the API answers");
                let status = resp.status();
                let headers = resp.headers().clone();
                let bytes = resp.bytes().await.unwrap();
                let mut converted = lambda_http::http::Response::new(if bytes.is_empty() {
                    Body::Empty
                } else {
                    Body::Binary(bytes.to_vec())
                });
                *converted.status_mut() = status;
                *converted.headers_mut() = headers;
                TestResponse::from(converted)
            }
        }
    }

    /// Starts the function behind every route, one at a time; see [`Api::start_functions`].
    pub async fn start_every_function(&self) -> Result<usize, String> {
        self.start_functions(|_| true).await
    }

    /// Starts the functions named by `wanted`, one at a time, and returns how many routes were
    /// called. `cargo lambda watch` starts a function on its first request (`cargo run` first),
    /// so what comes next (a page's first load, a timed test step, an outage) meets running
    /// functions instead of several starting at once. The body is too large to read, so the edge
    /// refuses it (413) before any handler: nothing is read or written. A route answering
    /// otherwise is an error.
    pub async fn start_functions(&self, wanted: impl Fn(&str) -> bool) -> Result<usize, String> {
        let too_large = "x".repeat(shop::http::MAX_BODY_BYTES + 1);
        // Any well-formed id: the edge refuses the body before the path is read.
        let id = ulid::Ulid::nil().to_string();
        let mut called = 0;
        for (method, template, function) in routes().iter().filter(|r| wanted(&r.2)) {
            let path = template.replace("{id}", &id);
            let send = || self.send(crate::request(method, &path).raw(&too_large));
            // A start that has not answered in time is asked once more (a request lost while
            // its process came up), then named, rather than holding everything after it.
            let mut r = None;
            for _ in 0..START_TRIES {
                r = tokio::time::timeout(START_DEADLINE, send()).await.ok();
                if r.is_some() {
                    break;
                }
            }
            let Some(r) = r else {
                return Err(format!(
                    "{function} ({method} {path}) did not answer in {START_TRIES} tries of {} s",
                    START_DEADLINE.as_secs()
                ));
            };
            if r.status() != 413 {
                return Err(format!(
                    "{function} ({method} {path}) answered {}: {}",
                    r.status(),
                    r.body
                ));
            }
            called += 1;
        }
        Ok(called)
    }

    /// Sends a request built by hand (bytes no [`TestRequest`] carries), in process only: what
    /// API Gateway can deliver but `cargo lambda watch` cannot.
    pub async fn send_request(&self, req: lambda_http::Request) -> TestResponse {
        let Backend::Dispatch(app) = &self.backend else {
            panic!("hand-built requests go through the in-process dispatch only");
        };
        let (function, params) = route(req.method().as_str(), req.uri().path())
            .unwrap_or_else(|| panic!("no route serves {} {}", req.method(), req.uri().path()));
        let resp = Box::pin(handlers::dispatch(
            function,
            app,
            req.with_path_parameters(params),
        ))
        .await
        .unwrap_or_else(|| panic!("{function} has no handler"));
        TestResponse::from(resp)
    }

    /// `method path` with an optional bearer token and JSON body: `(status, body)`.
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = crate::request(method, path);
        if let Some(t) = token {
            req = req.bearer(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let r = self.send(req).await;
        (r.status(), r.body)
    }

    pub async fn register(&self, email: &str, password: &str, name: &str) -> TestResponse {
        self.send(
            crate::request("POST", "/users/register")
                .json(json!({"email": email, "password": password, "name": name})),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> TestResponse {
        self.send(
            crate::request("POST", "/users/login")
                .json(json!({"email": email, "password": password})),
        )
        .await
    }

    /// A bearer token for an existing account.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let r = self.login(email, password).await;
        assert_eq!(r.status(), 200, "login {email}: {:?}", r.body);
        r.body["token"].as_str().unwrap().to_string()
    }

    /// The code step of a sign-in: `POST /users/login/mfa`.
    pub async fn login_mfa(&self, mfa_token: &str, code: &str) -> TestResponse {
        self.send(
            crate::request("POST", "/users/login/mfa")
                .json(json!({"mfa_token": mfa_token, "code": code})),
        )
        .await
    }

    /// The completed sign-in of an account with two-factor sign-in on with `secret`: the
    /// password, then a code no earlier sign-in of this process used ([`unused_code`]).
    pub async fn sign_in_with_code(
        &self,
        email: &str,
        password: &str,
        secret: &shop::auth::totp::TotpSecret,
    ) -> TestResponse {
        let r = self.login(email, password).await;
        assert_eq!(r.status(), 200, "login {email}: {:?}", r.body);
        assert_eq!(r.body["mfa_required"], true, "{:?}", r.body);
        let code = unused_code(secret).await;
        let r = self
            .login_mfa(r.body["mfa_token"].as_str().unwrap(), &code)
            .await;
        assert_eq!(r.status(), 200, "code step {email}: {:?}", r.body);
        r
    }

    /// A bearer token for an account with two-factor sign-in on with `secret`.
    pub async fn token_with_code(
        &self,
        email: &str,
        password: &str,
        secret: &shop::auth::totp::TotpSecret,
    ) -> String {
        let r = self.sign_in_with_code(email, password, secret).await;
        r.body["token"].as_str().unwrap().to_string()
    }

    /// Registers a customer (password [`CUSTOMER_PASSWORD`]) and returns their token.
    pub async fn customer(&self, email: &str) -> String {
        let r = self.register(email, CUSTOMER_PASSWORD, "Customer").await;
        assert_eq!(r.status(), 201, "register {email}: {:?}", r.body);
        self.token(email, CUSTOMER_PASSWORD).await
    }

    pub async fn me(&self, token: &str) -> TestResponse {
        self.send(crate::request("GET", "/users/me").bearer(token))
            .await
    }

    pub async fn create_product(&self, admin: &str, body: Value) -> TestResponse {
        self.send(crate::request("POST", "/products").bearer(admin).json(body))
            .await
    }

    /// Creates a product and returns its id.
    pub async fn product(&self, admin: &str, name: &str, price_cents: i64, stock: i64) -> String {
        let r = self
            .create_product(
                admin,
                json!({"name": name, "price_cents": price_cents, "category": "test", "stock": stock}),
            )
            .await;
        assert_eq!(r.status(), 201, "create {name}: {:?}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }

    pub async fn get_product(&self, id: &str) -> TestResponse {
        self.send(crate::request("GET", &format!("/products/{id}")))
            .await
    }

    /// `GET /products` with these query parameters.
    pub async fn list_products(&self, query: &[(&str, &str)]) -> TestResponse {
        let mut req = crate::request("GET", "/products");
        for (k, v) in query {
            req = req.query(k, v);
        }
        self.send(req).await
    }

    /// `POST /orders` with this idempotency key; a `null` body sends none (checks out the cart).
    /// `POST /orders` with `body` (`null`: the cart), shipped to [`crate::address`] unless the
    /// body names a `shipping_address`.
    pub async fn checkout(&self, token: &str, key: &str, body: Value) -> TestResponse {
        self.send(
            crate::request("POST", "/orders")
                .bearer(token)
                .header("idempotency-key", key)
                .json(crate::shipped(body)),
        )
        .await
    }

    pub async fn set_status(&self, token: &str, order: &str, status: &str) -> TestResponse {
        self.send(
            crate::request("PUT", &format!("/orders/{order}/status"))
                .bearer(token)
                .json(json!({ "status": status })),
        )
        .await
    }

    /// `PUT /orders/{id}/status` to SHIPPED, sent by UPS as [`UPS_TRACKING`].
    pub async fn ship(&self, token: &str, order: &str) -> TestResponse {
        self.send(
            crate::request("PUT", &format!("/orders/{order}/status"))
                .bearer(token)
                .json(json!({ "status": "SHIPPED", "carrier": "ups", "tracking_number": UPS_TRACKING })),
        )
        .await
    }

    /// `POST /orders/{id}/payment` with what Stripe.js made of a card.
    pub async fn pay(&self, token: &str, order: &str, payment_method: &str) -> TestResponse {
        self.send(
            crate::request("POST", &format!("/orders/{order}/payment"))
                .bearer(token)
                .json(json!({ "payment_method": payment_method })),
        )
        .await
    }

    /// `POST /payments/webhook` with this body and `Stripe-Signature` (if any), as Stripe sends it.
    pub async fn webhook(&self, signature: Option<&str>, body: &str) -> TestResponse {
        let mut req = crate::request("POST", "/payments/webhook")
            .header("content-type", "application/json; charset=utf-8")
            .raw(body);
        if let Some(sig) = signature {
            req = req.header("stripe-signature", sig);
        }
        self.send(req).await
    }

    pub async fn order(&self, token: &str, order: &str) -> TestResponse {
        self.send(crate::request("GET", &format!("/orders/{order}")).bearer(token))
            .await
    }

    pub async fn cart(&self, token: &str) -> TestResponse {
        self.send(crate::request("GET", "/cart").bearer(token))
            .await
    }

    pub async fn put_cart(&self, token: &str, items: Value) -> TestResponse {
        self.send(
            crate::request("PUT", "/cart")
                .bearer(token)
                .json(json!({ "items": items })),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::route;

    #[test]
    fn requests_are_routed_by_the_watch_router() {
        let (f, p) = route("PUT", "/orders/01ABC/status").unwrap();
        assert_eq!((f, p["id"].as_str()), ("update-order-status", "01ABC"));
        assert_eq!(route("GET", "/orders/01ABC").unwrap().0, "get-order");
        assert_eq!(route("GET", "/products").unwrap().0, "list-products");
        assert!(route("PATCH", "/products").is_none());
        assert!(route("GET", "/products//image").is_none());
        assert!(route("GET", "/nowhere").is_none());
    }
}
