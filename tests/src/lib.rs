//! Test harness shared by the suites in `tests/tests/`.
//!
//! - [`dynamodb`]: one official DynamoDB Local per test process, on a free port, killed with the process.
//! - [`TestApp`]: an `App` on fresh, uniquely named tables.
//! - [`Api`]: the one typed client every suite uses, on the real route paths, over the same
//!   in-process `dispatch` the Lambda runtime uses (`TestApp::api`) or over HTTP (`Watch::api`).
//! - [`Watch`]: `cargo lambda watch` serving the real route table, for end-to-end tests over HTTP.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader},
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use lambda_http::{Body, Request, RequestExt, http::StatusCode};
use serde_json::Value;
use shop::App;

pub mod client;
pub mod dynamodb;
pub mod events;
mod handlers;
pub mod s3;
pub mod spec;
pub mod stripe;

pub use client::{Api, CUSTOMER_PASSWORD, UPS_TRACKING, unused_code};

/// The password of the admins the suites seed.
pub const ADMIN_PASSWORD: &str = "admin-password";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Runs `cmd` so that it dies with this test process, even if the process is killed.
pub fn spawn_tied(cmd: &mut Command) -> std::io::Result<Child> {
    // SAFETY: prctl is async-signal-safe; the closure touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn()
}

/// Starts a service once for this test process and returns its port. The child is held by a thread
/// that parks forever, so its death signal (set by [`spawn_tied`]) fires only when the process exits.
pub fn process_lifetime_service(start: impl FnOnce() -> (u16, Child) + Send + 'static) -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (port, child) = start();
        tx.send(port).unwrap();
        let _held = child;
        loop {
            std::thread::park();
        }
    });
    rx.recv().expect("service started")
}

pub const TEST_SECRET: &str = "test-secret-that-is-at-least-32-bytes-long!";

/// The settings a function would get from its environment, pointed at the local stack.
pub fn env_for(prefix: &str, dynamodb: &str) -> HashMap<String, String> {
    HashMap::from([
        ("USERS_TABLE".into(), format!("{prefix}-users")),
        ("PRODUCTS_TABLE".into(), format!("{prefix}-products")),
        ("ORDERS_TABLE".into(), format!("{prefix}-orders")),
        ("JWT_SECRET".into(), TEST_SECRET.into()),
        ("DYNAMODB_ENDPOINT".into(), dynamodb.into()),
        ("AWS_REGION".into(), "us-east-1".into()),
        ("CORS_ALLOW_ORIGIN".into(), "http://shop.test".into()),
        // Suites place many orders per customer; the cap's own tests remove this (default 3).
        ("MAX_UNPAID_ORDERS".into(), "100".into()),
    ])
}

pub struct TestApp {
    pub app: &'static App,
    pub env: HashMap<String, String>,
    api: Api,
}

/// Every table of the shop under `app`'s names (idempotent). A DynamoDB Local just started (on its
/// data folder, or with a JIT still cold) can take longer than the SDK's 5 s to answer its first
/// requests on a busy machine, so a timeout is asked again for up to a minute.
pub async fn create_tables(app: &App) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match shop::create_tables(&app.dynamo, &app.config.tables).await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() < deadline => {
                eprintln!("tables not ready yet ({e}); asking again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Puts `new` into the catalog as the dev tooling (the audit trail names it as the actor).
pub async fn seed_product(
    app: &App,
    new: shop::catalog::NewProduct,
) -> shop::ApiResult<shop::catalog::ProductView> {
    put_product(app, new.product(app.settings.catalog.currency.clone())).await
}

/// Creates `product` as the dev tooling, its audit entry naming the tooling as the actor.
pub async fn put_product(
    app: &App,
    product: shop::catalog::ProductView,
) -> shop::ApiResult<shop::catalog::ProductView> {
    use shop::audit::{Action, Entry, model::tooling};
    let entry = Entry::new(
        &tooling(),
        Action::ProductCreated,
        &product.id,
        None,
        Some(&product),
    )?;
    shop::catalog::create(app, product, &entry).await
}

/// The README's sample shipping and tax rates (`scripts/seed-*.json`), unless the shop has its
/// own already (idempotent: `make dev` seeds on every start).
pub async fn seed_rates(app: &App) -> Result<(), String> {
    use shop::pricing::{rates, store};
    let shipping: rates::ShippingRatesRequest =
        serde_json::from_str(include_str!("../../scripts/seed-shipping.json"))
            .map_err(|e| e.to_string())?;
    let tax: rates::TaxRatesRequest =
        serde_json::from_str(include_str!("../../scripts/seed-tax.json"))
            .map_err(|e| e.to_string())?;
    let shipping = rates::ShippingRates::try_from(shipping).map_err(|e| e.to_string())?;
    let tax = rates::TaxRates::try_from(tax).map_err(|e| e.to_string())?;
    use shop::audit::{Action, Entry, model::tooling};
    let chain = |e: shop::ApiError| e.chain();
    let by = tooling();
    let shipping_entry = Entry::new(
        &by,
        Action::ShippingRatesChanged,
        "shipping",
        None,
        Some(&shipping),
    )
    .map_err(chain)?;
    let tax_entry =
        Entry::new(&by, Action::TaxRatesChanged, "tax", None, Some(&tax)).map_err(chain)?;
    for saved in [
        store::save(app, shipping, 0, &shipping_entry)
            .await
            .map(|_| ()),
        store::save(app, tax, 0, &tax_entry).await.map(|_| ()),
    ] {
        match saved {
            Ok(()) | Err(shop::ApiError::Stale(_)) => {}
            Err(e) => return Err(e.chain()),
        }
    }
    Ok(())
}

/// A shipping address the sample rates serve with no sales tax (Oregon) by standard shipping:
/// what the suites send when an order's destination is not what they test.
pub fn address() -> Value {
    serde_json::json!({
        "name": "Test Shopper", "line1": "1 SW Main St", "city": "Portland",
        "region": "OR", "postal_code": "97201", "country": "US"
    })
}

/// A checkout body (`null`: the cart) with [`address`] unless it names its own.
pub fn shipped(body: Value) -> Value {
    let mut body = if body.is_null() {
        serde_json::json!({})
    } else {
        body
    };
    if body.get("shipping_address").is_none() {
        body["shipping_address"] = address();
    }
    body
}

impl TestApp {
    /// A fresh set of tables in the shared DynamoDB Local, so tests never see each other's data.
    pub async fn new() -> TestApp {
        Self::with_env(|_| {}).await
    }

    pub async fn with_env(tweak: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
        let endpoint = dynamodb::endpoint();
        let prefix = format!("t{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut env = env_for(&prefix, &endpoint);
        env.insert("S3_ENDPOINT".into(), s3::endpoint());
        env.insert("IMAGES_BUCKET".into(), s3::IMAGES_BUCKET.into());
        env.insert("SITE_BUCKET".into(), s3::SITE_BUCKET.into());
        tweak(&mut env);
        Self::from_env(env).await
    }

    /// An `App` (and its tables) for exactly these settings.
    pub async fn from_env(env: HashMap<String, String>) -> TestApp {
        let app = App::load(|k| env.get(k).cloned()).expect("test config");
        create_tables(app).await.expect("create tables");
        seed_rates(app).await.expect("seed the sample rates");
        TestApp {
            app,
            env,
            api: Api::dispatch(app),
        }
    }

    /// The typed client, through the in-process dispatch.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Seeds an admin as `make dev` does (two-factor sign-in on with a fresh secret, returned).
    pub async fn admin(&self, email: &str) -> shop::auth::totp::TotpSecret {
        let secret = shop::auth::totp::TotpSecret::generate();
        shop::users::ensure_admin(self.app, email, ADMIN_PASSWORD, "Admin", &secret)
            .await
            .unwrap();
        secret
    }

    /// Tokens for a fresh admin (seeded as `make dev` seeds one, signed in with a code) and a
    /// fresh customer.
    pub async fn admin_and_customer(&self) -> (String, String) {
        let email = "admin@test.local";
        let secret = self.admin(email).await;
        (
            self.api
                .token_with_code(email, ADMIN_PASSWORD, &secret)
                .await,
            // Boxed: the sign-up, stream read and verification futures are large.
            Box::pin(self.verified_customer("shopper@test.local")).await,
        )
    }

    /// A registered customer who opened the verification link mailed to them (as `send-email`
    /// writes it: from the record in the users table's stream); their token.
    pub async fn verified_customer(&self, email: &str) -> String {
        let token = Box::pin(self.api.customer(email)).await;
        let link = Box::pin(self.verification_token(&token)).await;
        let r = self
            .api
            .send(request("POST", "/users/verify-email").json(serde_json::json!({"token": link})))
            .await;
        assert_eq!(r.status(), 204, "verify {email}: {:?}", r.body);
        token
    }

    /// The token of the newest verification link of the account signed in with `token`.
    pub async fn verification_token(&self, token: &str) -> String {
        use shop::users::links::{Purpose, link_key, link_token};
        let user = self.api.me(token).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let record = events::inserted(
            &self.env["DYNAMODB_ENDPOINT"],
            &self.env["USERS_TABLE"],
            "VERIFY#",
        )
        .await
        .into_iter()
        .rev()
        .map(|r| r["dynamodb"]["NewImage"].clone())
        .find(|i| i["user_id"]["S"] == user.as_str())
        .expect("registration wrote a verification record");
        let secret = self.env["JWT_SECRET"].as_bytes();
        link_token(
            &link_key(secret, Purpose::Verify),
            record["id"]["S"].as_str().unwrap(),
            &shop::types::UserId::from_trusted(user),
        )
    }

    /// A product put straight into the catalog (no admin needed); its id.
    pub async fn product(&self, name: &str, price_cents: i64, stock: i64) -> String {
        let req: shop::catalog::CreateProductRequest = serde_json::from_value(
            serde_json::json!({"name": name, "price_cents": price_cents, "category": "test", "stock": stock}),
        )
        .unwrap();
        seed_product(self.app, shop::catalog::NewProduct::try_from(req).unwrap())
            .await
            .unwrap()
            .id
            .to_string()
    }

    /// Every item of a paged listing at `path`, in its order, read `limit` at a time through the
    /// cursors (each page checked to be 200 and at most `limit` long).
    pub async fn every_page(&self, token: &str, path: &str, limit: usize) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut req = request("GET", path)
                .bearer(token)
                .query("limit", &limit.to_string());
            if let Some(c) = &cursor {
                req = req.query("cursor", c);
            }
            let r = self.api().send(req).await;
            assert_eq!(r.status(), 200, "{path}: {:?}", r.body);
            let page = r.body["items"].as_array().unwrap();
            assert!(page.len() <= limit, "{path}: {} items", page.len());
            items.extend(page.iter().cloned());
            match r.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }

    /// Uploads `bytes` as `admin`'s picture of `product` through the presigned form, as the
    /// storefront does; the upload's object key.
    pub async fn upload_picture(
        &self,
        admin: &str,
        product: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> String {
        let r = self
            .api()
            .send(
                request("POST", &format!("/products/{product}/image"))
                    .bearer(admin)
                    .json(serde_json::json!({ "content_type": content_type })),
            )
            .await;
        assert_eq!(r.status(), 200, "{:?}", r.body);
        let fields = r.body["upload_fields"].as_object().unwrap();
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.clone(), value.as_str().unwrap().to_string());
        }
        let file = reqwest::multipart::Part::bytes(bytes)
            .file_name("picture")
            .mime_str(content_type)
            .unwrap();
        let post = reqwest::Client::new()
            .post(r.body["upload_url"].as_str().unwrap())
            .multipart(form.part("file", file))
            .send()
            .await
            .unwrap();
        assert!(post.status().is_success(), "upload: {}", post.status());
        fields["key"].as_str().unwrap().to_string()
    }

    /// Hands the images bucket's `Object Created` event for `key` to resize-image, as the rule on
    /// the default bus does; what it answers.
    pub async fn deliver_upload(&self, key: &str) -> Value {
        let event = s3::object_created(
            &self.app.config.images_bucket,
            key,
            1,
            "2026-12-01T00:00:00Z",
        );
        shop::catalog::resize_image(self.app, event)
            .await
            .map_err(|e| e.chain())
            .unwrap()
    }

    /// A product's stock now (strongly consistent).
    pub async fn stock_of(&self, id: &str) -> i64 {
        let id = shop::types::ProductId::parse("id", id).unwrap();
        shop::catalog::load_product(self.app, &id, true)
            .await
            .unwrap()
            .unwrap()
            .stock
    }
}

/// Builder for the `Request` API Gateway would hand a function: sent by an [`Api`].
pub struct TestRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    query: HashMap<String, String>,
}

/// `s` as one path segment, percent-encoded as a client sends it.
pub fn segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A request for `method path`; a query string in `path` becomes its query parameters.
pub fn request(method: &str, path: &str) -> TestRequest {
    let (path, query) = match path.split_once('?') {
        None => (path, HashMap::new()),
        Some((path, q)) => (
            path,
            reqwest::Url::parse(&format!("http://query.test/?{q}"))
                .unwrap()
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ),
    };
    TestRequest {
        method: method.to_string(),
        path: path.into(),
        headers: Vec::new(),
        body: None,
        query,
    }
}

impl TestRequest {
    pub fn json(mut self, v: Value) -> Self {
        self.body = Some(v.to_string());
        self.header("content-type", "application/json")
    }
    pub fn raw(mut self, body: &str) -> Self {
        self.body = Some(body.into());
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }
    pub fn query(mut self, k: &str, v: &str) -> Self {
        self.query.insert(k.into(), v.into());
        self
    }
    pub fn build(self) -> Request {
        let mut b = lambda_http::http::Request::builder()
            .method(self.method.as_str())
            .uri(format!("https://api.test{}", self.path));
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        let body = self.body.map(Body::Text).unwrap_or(Body::Empty);
        b.body(body)
            .unwrap()
            .with_query_string_parameters(self.query)
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: lambda_http::http::HeaderMap,
    /// The body read as JSON (`null` when empty or not JSON, such as a CSV export).
    pub body: Value,
    /// The body as text.
    pub text: String,
}

impl From<lambda_http::Response<Body>> for TestResponse {
    fn from(r: lambda_http::Response<Body>) -> Self {
        let (parts, body) = r.into_parts();
        let body_bytes = body.as_ref().to_vec();
        let json = parts
            .headers
            .get("content-type")
            .is_none_or(|t| t.as_bytes().starts_with(b"application/json"));
        let body = if body.as_ref().is_empty() || !json {
            Value::Null
        } else {
            serde_json::from_slice(body.as_ref()).expect("every JSON response body parses")
        };
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            text: String::from_utf8_lossy(body_bytes.as_ref()).into_owned(),
            body,
        }
    }
}

impl TestResponse {
    pub fn status(&self) -> u16 {
        self.status.as_u16()
    }
    /// Asserts the error contract and returns the error code.
    pub fn error_code(&self) -> &str {
        let e = &self.body["error"];
        assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no error message in {}",
            self.body
        );
        e["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An environment variable cargo sets for the crate it builds or runs (its manifest, package,
/// crate and output directories), as opposed to the user's cargo settings (`CARGO_HOME`,
/// `CARGO_TARGET_DIR`, `CARGO_BUILD_*`, ...).
pub fn set_by_cargo_for_this_crate(name: &str) -> bool {
    ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_"]
        .iter()
        .any(|p| name.starts_with(p))
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// What cargo set for this test process is not for the cargo a test runs: ring's build script
/// reruns when CARGO_PKG_NAME or CARGO_MANIFEST_DIR differ, and the functions were rebuilt (~25 s)
/// and relinked, then rebuilt again by the next plain `cargo build`.
fn without_this_crates_cargo_env(cmd: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_this_crate) {
            cmd.env_remove(&name);
        }
    }
}

/// The functions' binaries, current (once per test process): watch runs them as they are. Built
/// as `make test` and `make dev` build them, the whole workspace: `--package functions` alone
/// resolves its dependencies' features without the other members' and so compiles them, `shop` and
/// every function again (~200 s of CPU on a clean clone).
fn build_functions() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let mut cmd = Command::new("cargo");
        cmd.args(["build", "--quiet", "--workspace"])
            .arg("--manifest-path")
            .arg(repo_root().join("Cargo.toml"));
        without_this_crates_cargo_env(&mut cmd);
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "the functions build");
    });
}

/// `cargo lambda watch` on a free port with the workspace router, stopped (whole process group)
/// on drop.
pub struct Watch {
    child: Child,
    pub base_url: String,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    api: Api,
}

impl Watch {
    pub fn start(env: &HashMap<String, String>) -> Watch {
        build_functions();
        let port = free_port();
        // cargo-lambda itself rather than `cargo lambda`, which would set CARGO to cargo: watch
        // starts each function through scripts/cargo-run-built.sh, which runs the binary built
        // above instead of a `cargo run` (a build check and a turn at cargo's locks) per start.
        let mut cmd = Command::new("cargo-lambda");
        cmd.args(["lambda", "watch", "--ignore-changes", "--manifest-path"])
            .arg(repo_root().join("Cargo.toml"))
            .env("CARGO", repo_root().join("scripts/cargo-run-built.sh"))
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            // Watch puts a recursive file watcher on the directory it runs in, one per function it
            // starts, even with --ignore-changes: functions/, not the root's ~15,000 directories
            // (.cache/, target/), which cost it 41 s of CPU to start the 47 functions.
            .current_dir(repo_root().join("functions"))
            // Quiet by default; a test that inspects the logs sets LOG_LEVEL in `env`.
            .env("LOG_LEVEL", "warn")
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        without_this_crates_cargo_env(&mut cmd);
        let mut child = cmd
            .spawn()
            .expect("cargo-lambda is on PATH (`make test` installs it into .cache/venv/bin)");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        // Keep and forward output: tests inspect the logs, and a failing test shows them.
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    eprintln!("[watch] {line}");
                    logs.lock().unwrap().push(line);
                }
            });
        }
        assert!(
            wait_for_port(port, Duration::from_secs(60)),
            "cargo lambda watch did not start"
        );
        let base_url = format!("http://127.0.0.1:{port}");
        Watch {
            child,
            api: Api::http(&base_url),
            base_url,
            logs,
        }
    }
}

impl Watch {
    /// The typed client, over HTTP to this server.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// Every line the functions and the watch server printed so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    fn port(&self) -> String {
        self.base_url
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// `cargo lambda invoke FUNCTION --data-file events/FILE`, as the README shows; returns the
    /// function's API Gateway response (`statusCode`, `body`, ...).
    pub fn invoke(&self, function: &str, event_file: &str) -> Value {
        let out = Command::new("cargo")
            .args(["lambda", "invoke", function, "--data-file", event_file])
            .args([
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &self.port(),
            ])
            .current_dir(repo_root())
            .output()
            .expect("cargo lambda invoke runs");
        assert!(
            out.status.success(),
            "invoke {function}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("invoke prints the JSON response")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let pgid = self.child.id() as i32;
        // SAFETY: signalling our own child's process group.
        unsafe {
            libc::kill(-pgid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// Shared across tests of one process: the watch server compiles nothing when `cargo build` ran first.
pub fn shared<T: Send + Sync>(cell: &'static OnceLock<T>, init: impl FnOnce() -> T) -> &'static T {
    cell.get_or_init(init)
}
