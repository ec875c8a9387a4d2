//! Test harness shared by the suites in `tests/tests/`.
//!
//! - [`dynamodb`]: one official DynamoDB Local per test process, on a free port, killed with the process.
//! - [`TestApp`]: an `App` on fresh, uniquely named tables, plus request builders that go through the
//!   same `dispatch` the Lambda runtime uses.
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
use shop::{ApiResult, App, Reply, config::Config};

pub mod dynamodb;
pub mod s3;

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

/// Logs in through the handler and returns a bearer token.
pub async fn login_token(t: &TestApp, email: &str, password: &str) -> String {
    let r = t
        .call(
            shop::users::login,
            request("POST", "/users/login")
                .json(serde_json::json!({"email": email, "password": password})),
        )
        .await;
    assert_eq!(r.status(), 200, "login {email}: {:?}", r.body);
    r.body["token"].as_str().unwrap().to_string()
}

/// Tokens for a fresh admin and a fresh customer.
pub async fn admin_and_customer(t: &TestApp) -> (String, String) {
    shop::users::ensure_admin(t.app, "admin@test.local", "admin-password", "Admin")
        .await
        .unwrap();
    let r = t
        .call(
            shop::users::register,
            request("POST", "/users/register").json(
                serde_json::json!({"email": "shopper@test.local", "password": "shopper-pass", "name": "Shopper"}),
            ),
        )
        .await;
    assert_eq!(r.status(), 201);
    (
        login_token(t, "admin@test.local", "admin-password").await,
        login_token(t, "shopper@test.local", "shopper-pass").await,
    )
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
    ])
}

pub struct TestApp {
    pub app: &'static App,
    pub env: HashMap<String, String>,
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
        tweak(&mut env);
        Self::from_env(env).await
    }

    /// An `App` (and its tables) for exactly these settings.
    pub async fn from_env(env: HashMap<String, String>) -> TestApp {
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("test config");
        let app = App::leaked(config);
        shop::create_tables(&app.dynamo, &app.config.tables)
            .await
            .expect("create tables");
        TestApp { app, env }
    }

    pub async fn call<F, Fut>(&self, handler: F, req: TestRequest) -> TestResponse
    where
        F: FnOnce(&'static App, Request) -> Fut,
        Fut: std::future::Future<Output = ApiResult<Reply>>,
    {
        let resp = shop::dispatch(self.app, req.build(), handler).await;
        TestResponse::from(resp)
    }
}

/// Builder for the `Request` API Gateway would hand a function.
pub struct TestRequest {
    method: &'static str,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    path_params: HashMap<String, String>,
    query: HashMap<String, String>,
}

pub fn request(method: &'static str, path: &str) -> TestRequest {
    TestRequest {
        method,
        path: path.into(),
        headers: Vec::new(),
        body: None,
        path_params: HashMap::new(),
        query: HashMap::new(),
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
    pub fn path_param(mut self, k: &str, v: &str) -> Self {
        self.path_params.insert(k.into(), v.into());
        self
    }
    pub fn query(mut self, k: &str, v: &str) -> Self {
        self.query.insert(k.into(), v.into());
        self
    }
    pub fn build(self) -> Request {
        let mut b = lambda_http::http::Request::builder()
            .method(self.method)
            .uri(format!("https://api.test{}", self.path));
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        let body = self.body.map(Body::Text).unwrap_or(Body::Empty);
        b.body(body)
            .unwrap()
            .with_path_parameters(self.path_params)
            .with_query_string_parameters(self.query)
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: lambda_http::http::HeaderMap,
    pub body: Value,
}

impl From<lambda_http::Response<Body>> for TestResponse {
    fn from(r: lambda_http::Response<Body>) -> Self {
        let (parts, body) = r.into_parts();
        let body = if body.as_ref().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(body.as_ref()).expect("every response body is JSON")
        };
        TestResponse {
            status: parts.status,
            headers: parts.headers,
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

/// One HTTP call as a browser or API client makes it; returns the status and the JSON body
/// (`null` when empty).
pub async fn http(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the API answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("non-JSON body from {url}: {text}"))
    };
    (status, body)
}

/// `cargo lambda watch` on a free port with the workspace router, stopped (whole process group)
/// on drop.
pub struct Watch {
    child: Child,
    pub base_url: String,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Watch {
    pub fn start(env: &HashMap<String, String>) -> Watch {
        let port = free_port();
        let mut cmd = Command::new("cargo");
        cmd.args([
            "lambda",
            "watch",
            "--ignore-changes",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
        ])
        .arg(port.to_string())
        .current_dir(repo_root())
        // Quiet by default; a test that inspects the logs sets LOG_LEVEL in `env`.
        .env("LOG_LEVEL", "warn")
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
        let mut child = cmd
            .spawn()
            .expect("cargo lambda is installed (run `make test`)");
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
        Watch {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            logs,
        }
    }
}

impl Watch {
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
