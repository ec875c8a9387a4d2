//! The Stripe API locally: `localstripe` (PyPI), started once per test process on a free port,
//! and a webhook relay that receives what localstripe signs and sends, so a test can hand a real
//! signed delivery to the webhook handler (once, twice, or out of order).

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    process::Command,
    sync::{Condvar, Mutex, OnceLock},
    time::{Duration, Instant},
};

use serde_json::Value;

use crate::{free_port, process_lifetime_service, repo_root, spawn_tied, wait_for_port};

pub const SECRET_KEY: &str = "sk_test_localstripe";
pub const PUBLISHABLE_KEY: &str = "pk_test_localstripe";
pub const WEBHOOK_SECRET: &str = "whsec_localstripe_test_secret";

/// Test cards (localstripe behaves as Stripe's test mode does for them).
pub const CARD_OK: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000341";
pub const CARD_3DS: &str = "4000002500003155";

/// localstripe's base URL.
pub fn endpoint() -> String {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            let port = process_lifetime_service(|| {
                let port = free_port();
                let python = repo_root().join(".cache/venv-stripe/bin/python");
                let child = spawn_tied(
                    Command::new(python)
                        .arg(repo_root().join("scripts/run_localstripe.py"))
                        .arg(port.to_string())
                        .stdout(std::process::Stdio::null())
                        .stderr(std::process::Stdio::null()),
                )
                .expect("localstripe is installed (run `make test`)");
                assert!(
                    wait_for_port(port, Duration::from_secs(30)),
                    "localstripe did not start"
                );
                (port, child)
            });
            format!("http://127.0.0.1:{port}")
        })
        .clone()
}

/// Settings that point an app at localstripe (starting it if needed).
pub fn configure(env: &mut std::collections::HashMap<String, String>) {
    env.insert("STRIPE_API_BASE".into(), endpoint());
    env.insert("STRIPE_SECRET_KEY".into(), SECRET_KEY.into());
    env.insert("STRIPE_WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into());
}

/// `Stripe-Signature` for `body` now under [`WEBHOOK_SECRET`], as Stripe signs a delivery: for
/// events a test makes up (localstripe signs the ones it sends).
pub fn sign(body: &str) -> String {
    shop::payments::model::signature_header(
        WEBHOOK_SECRET.as_bytes(),
        shop::types::now_epoch_secs(),
        body.as_bytes(),
    )
}

/// Points localstripe's webhook `name` at `url`, signed with [`WEBHOOK_SECRET`].
pub async fn register_webhook(name: &str, url: &str) {
    let res = reqwest::Client::new()
        .post(format!("{}/_config/webhooks/{name}", endpoint()))
        .form(&[("url", url), ("secret", WEBHOOK_SECRET)])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "webhook registration: {}",
        res.status()
    );
}

/// What Stripe.js makes of a card field: localstripe's Stripe.js creates a token and pays with
/// its card (`card_...`).
pub async fn card(number: &str) -> String {
    card_at(&endpoint(), number).await
}

/// [`card`] from the localstripe at `base` (a dev stack's own).
pub async fn card_at(base: &str, number: &str) -> String {
    let token: Value = reqwest::Client::new()
        .post(format!("{base}/v1/tokens"))
        // Stripe.js sends the publishable key as a form field.
        .form(&[
            ("key", PUBLISHABLE_KEY),
            ("card[number]", number),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2035"),
            ("card[cvc]", "123"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["card"]["id"].as_str().expect("a card id").to_string()
}

/// `GET /v1/<path>` of localstripe with the secret key, as JSON.
pub async fn get(path: &str, query: &[(&str, String)]) -> Value {
    reqwest::Client::new()
        .get(format!("{}/v1/{path}", endpoint()))
        .bearer_auth(SECRET_KEY)
        .query(query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every PaymentIntent localstripe holds whose metadata names `order_id`.
pub async fn intents_of(order_id: &str) -> Vec<Value> {
    let (mut found, mut after) = (Vec::new(), None::<String>);
    loop {
        let mut query = vec![("limit", "100".to_string())];
        if let Some(a) = &after {
            query.push(("starting_after", a.clone()));
        }
        let page = get("payment_intents", &query).await;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        after = data
            .last()
            .and_then(|i| i["id"].as_str())
            .map(str::to_string);
        found.extend(
            data.into_iter()
                .filter(|i| i["metadata"]["order_id"] == order_id),
        );
        if page["has_more"] != true || after.is_none() {
            return found;
        }
    }
}

/// One webhook delivery as localstripe sent it.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub signature: String,
    pub body: String,
}

impl Delivery {
    pub fn event(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

pub struct Relay {
    received: Mutex<Vec<Delivery>>,
    arrived: Condvar,
}

/// The process's webhook relay, registered with localstripe on first use.
pub async fn relay() -> &'static Relay {
    static RELAY: OnceLock<(&'static Relay, String)> = OnceLock::new();
    let (relay, url) = RELAY.get_or_init(|| {
        let relay: &'static Relay = Box::leak(Box::new(Relay {
            received: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
        }));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if let Some(d) = read_delivery(stream) {
                    relay.received.lock().unwrap().push(d);
                    relay.arrived.notify_all();
                }
            }
        });
        (relay, url)
    });
    static REGISTERED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    REGISTERED
        .get_or_init(|| register_webhook("relay", url))
        .await;
    relay
}

/// Reads one HTTP request (headers, then Content-Length bytes) and answers 200.
fn read_delivery(mut stream: std::net::TcpStream) -> Option<Delivery> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let (mut length, mut signature) = (0usize, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().ok()?,
                "stripe-signature" => signature = v.trim().to_string(),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    Some(Delivery {
        signature,
        body: String::from_utf8(body).ok()?,
    })
}

impl Relay {
    /// The first delivery of event type `kind` about a PaymentIntent of `order_id`.
    pub fn wait_for(&self, order_id: &str, kind: &str) -> Delivery {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut received = self.received.lock().unwrap();
        loop {
            if let Some(d) = received.iter().find(|d| {
                let e = d.event();
                e["type"] == kind && e["data"]["object"]["metadata"]["order_id"] == order_id
            }) {
                return d.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no {kind} webhook for order {order_id}");
            received = self.arrived.wait_timeout(received, left).unwrap().0;
        }
    }
}
