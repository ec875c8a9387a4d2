//! Events and email locally: `moto[server]` (PyPI) as EventBridge and SES, started once per test
//! process on a free port; the dev tools' triggers (`xtask streams`: the stream pollers and the
//! bus delivery) per test; and the local mailbox.

use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{free_port, process_lifetime_service, repo_root, spawn_tied, wait_for_port};

pub const SENDER: &str = "orders@shop.test";
pub const SITE: &str = "http://shop.test";

static MOTO_PID: OnceLock<u32> = OnceLock::new();

/// moto's process (a test that stops it for a while, as an outage, lives in a test binary of its
/// own: every test of a binary shares one moto).
pub fn pid() -> u32 {
    endpoint();
    *MOTO_PID.get().expect("moto started")
}

/// moto's base URL.
pub fn endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            let port = process_lifetime_service(|| {
                let port = free_port();
                let child = spawn_tied(
                    Command::new(repo_root().join(".cache/venv-moto/bin/moto_server"))
                        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                        .stdout(Stdio::null())
                        .stderr(Stdio::null()),
                )
                .expect("moto is installed (run `make test`)");
                assert!(
                    wait_for_port(port, Duration::from_secs(60)),
                    "moto did not start"
                );
                let _ = MOTO_PID.set(child.id());
                (port, child)
            });
            format!("http://127.0.0.1:{port}")
        })
        .clone()
}

/// Settings that point an app at moto, with a bus of its own (named after its tables).
pub fn configure(env: &mut HashMap<String, String>) {
    let bus = format!("{}-events", env["ORDERS_TABLE"].trim_end_matches("-orders"));
    env.insert("EVENTS_ENDPOINT".into(), endpoint());
    env.insert("SES_ENDPOINT".into(), endpoint());
    env.insert("EVENT_BUS_NAME".into(), bus);
    env.insert("EMAIL_FROM".into(), SENDER.into());
    env.insert("SITE_URL".into(), SITE.into());
    env.insert("STORE_NAME".into(), "Test Shop".into());
}

/// Creates the app's bus and sender, as `xtask setup` does for `make dev`.
pub async fn provision(app: &shop::App) {
    shop::platform::bus::create_bus(app.events(), &app.config.events.bus)
        .await
        .unwrap();
    shop::platform::mail::create_sender(app.ses(), SENDER)
        .await
        .unwrap();
}

/// `xtask streams` for one test: polls its tables' streams and delivers its bus's events, through
/// the watch server at `api`. Stopped on drop.
pub struct Triggers {
    child: Child,
    pub dead_letters: PathBuf,
}

impl Triggers {
    pub fn start(env: &HashMap<String, String>, api: &str) -> Triggers {
        let dead_letters =
            std::env::temp_dir().join(format!("shop-dlq-{}", ulid::Ulid::new().to_string()));
        let child = spawn_tied(
            Command::new(repo_root().join("target/debug/xtask"))
                .args(["streams", api])
                .envs(env)
                .env("LOCAL_DLQ_DIR", &dead_letters)
                .env("LOCAL_CHECKPOINT_DIR", dead_letters.join("checkpoints"))
                // Lambda's spacing (a minute, then two) scaled down, unless a test sets its own.
                .env(
                    "LOCAL_ASYNC_RETRY_SECONDS",
                    env.get("LOCAL_ASYNC_RETRY_SECONDS")
                        .map_or("1,2", String::as_str),
                )
                .stdin(Stdio::null()),
        )
        .expect("xtask is built (`cargo build --workspace`)");
        Triggers {
            child,
            dead_letters,
        }
    }

    /// The entries of a dead-letter file (`outbox.jsonl`, `events.jsonl`).
    pub fn dead(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dead_letters.join(file))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Triggers {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dead_letters);
    }
}

/// One email the local SES accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

/// Everything moto holds (its `/moto-api/data.json`): sent mail, archived events.
async fn moto_data() -> Value {
    moto_data_at(&endpoint()).await
}

/// [`moto_data`] of the moto at `base` (a dev stack's own).
pub async fn moto_data_at(base: &str) -> Value {
    reqwest::get(format!("{base}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

impl Mail {
    /// The token of the link to the storefront's `#/<page>` this email carries.
    pub fn link_token(&self, page: &str) -> String {
        self.token_after(&format!("{SITE}/#/{page}?token="))
    }

    /// The token that follows `link` in the body.
    pub fn token_after(&self, link: &str) -> String {
        let at = self
            .body
            .find(link)
            .unwrap_or_else(|| panic!("no {link} in {}", self.body))
            + link.len();
        self.body[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
            .collect()
    }
}

/// Every email the local SES accepted for `to`.
pub async fn mailbox(to: &str) -> Vec<Mail> {
    mails(&moto_data().await)
        .into_iter()
        .filter(|m| m.to.iter().any(|a| a == to))
        .collect()
}

/// Every email in moto's `data`.
pub fn mails(data: &Value) -> Vec<Mail> {
    data["ses"]["Message"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| Mail {
            to: m["destinations"]["ToAddresses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect(),
            subject: m["subject"].as_str().unwrap_or_default().to_string(),
            body: m["body"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// Waits (up to `within`) until `to` has an email whose subject contains `subject`; all of them.
pub async fn wait_for_mail(to: &str, subject: &str, within: Duration) -> Vec<Mail> {
    let deadline = Instant::now() + within;
    loop {
        let found: Vec<Mail> = mailbox(to)
            .await
            .into_iter()
            .filter(|m| m.subject.contains(subject))
            .collect();
        if !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One call to DynamoDB Local's JSON API (tables and streams share its endpoint): the answer, or
/// why not. Stream records come back in the shape Lambda hands a function. The dev tools' stream
/// poller calls DynamoDB Local through this too.
pub async fn dynamodb_api(
    http: &reqwest::Client,
    endpoint: &str,
    target: &str,
    body: Value,
) -> Result<Value, String> {
    let r = http
        .post(endpoint)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", target)
        // DynamoDB Local reads the key id from the signature and checks nothing else.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local/20261201/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    let ok = r.status().is_success();
    let v: Value = r.json().await.map_err(|e| format!("{target}: {e}"))?;
    if ok {
        Ok(v)
    } else {
        Err(format!("{target}: {v}"))
    }
}

/// The records of `table`'s stream so far (DynamoDB Local's Streams API), as Lambda gets them.
pub async fn stream_records(dynamodb: &str, table: &str) -> Vec<Value> {
    let http = reqwest::Client::new();
    let call = |target: &'static str, body: Value| {
        let http = http.clone();
        async move { dynamodb_api(&http, dynamodb, target, body).await.unwrap() }
    };
    let arn = call(
        "DynamoDB_20120810.DescribeTable",
        serde_json::json!({"TableName": table}),
    )
    .await["Table"]["LatestStreamArn"]
        .as_str()
        .unwrap()
        .to_string();
    let shards = call(
        "DynamoDBStreams_20120810.DescribeStream",
        serde_json::json!({"StreamArn": arn}),
    )
    .await;
    let mut out = Vec::new();
    for shard in shards["StreamDescription"]["Shards"].as_array().unwrap() {
        let mut it = call(
            "DynamoDBStreams_20120810.GetShardIterator",
            serde_json::json!({"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .await["ShardIterator"]
            .clone();
        // An open shard always hands back a next iterator: stop at the first empty page.
        while let Some(i) = it.as_str() {
            let page = call(
                "DynamoDBStreams_20120810.GetRecords",
                serde_json::json!({"ShardIterator": i}),
            )
            .await;
            let records = page["Records"].as_array().cloned().unwrap_or_default();
            if records.is_empty() {
                break;
            }
            out.extend(records);
            it = page["NextShardIterator"].clone();
        }
    }
    out
}

/// The stream records of the items inserted into `table` so far whose key starts with `prefix`.
pub async fn inserted(dynamodb: &str, table: &str, prefix: &str) -> Vec<Value> {
    stream_records(dynamodb, table)
        .await
        .into_iter()
        .filter(|r| {
            r["eventName"] == "INSERT"
                && r["dynamodb"]["Keys"]["pk"]["S"]
                    .as_str()
                    .is_some_and(|pk| pk.starts_with(prefix))
        })
        .collect()
}

/// An archive on the app's bus keeping every event whose source starts with `shop.` (moto
/// matches the pattern), so a test can read what reached the bus; its name.
pub async fn archive_everything(app: &shop::App) -> String {
    let bus = app
        .events()
        .describe_event_bus()
        .name(&app.config.events.bus)
        .send()
        .await
        .unwrap();
    let name = format!("all-{}", &ulid::Ulid::new().to_string()[..20]);
    app.events()
        .create_archive()
        .archive_name(&name)
        .event_source_arn(bus.arn().unwrap())
        .event_pattern(r#"{"source": [{"prefix": "shop."}]}"#)
        .send()
        .await
        .unwrap();
    name
}

/// The events archive `name` holds, oldest first (each as EventBridge delivers it).
pub async fn archived(name: &str) -> Vec<Value> {
    moto_data().await["events"]["Archive"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["name"] == name)
        .and_then(|a| a["events"].as_array().cloned())
        .unwrap_or_default()
}
