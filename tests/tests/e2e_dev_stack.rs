//! `make dev` itself (scripts/dev.sh on free ports and a data directory of its own) under the load
//! that once wedged it: shoppers checking out and paying for a minute while the API keeps
//! answering, every order mailed exactly once, then Ctrl-C (nothing left listening) and a second
//! start on the same data that answers throughout and publishes no old event again.

use std::{
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::json;
use shop::auth::totp::TotpSecret;
use shop_tests::{
    Api,
    events::{mails, moto_data_at},
    repo_root, request,
    stripe::{CARD_OK, card_at},
};

/// How long the shoppers shop, and how long the restarted stack is watched (seconds): 20 s of
/// eight shoppers places over a hundred orders here; `E2E_LOAD_SECONDS` sets it.
fn load_seconds() -> u64 {
    std::env::var("E2E_LOAD_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

const SHOPPERS: usize = 8;

/// How long `make dev` may take to stop after Ctrl-C before the test calls it hung.
const CTRL_C_GRACE: Duration = Duration::from_secs(60);

struct Ports {
    api: u16,
    dynamodb: u16,
    s3: u16,
    site: u16,
    stripe: u16,
    moto: u16,
}

impl Ports {
    /// Free ones, chosen by the script after its build (one chosen before could be taken by
    /// another program meanwhile).
    const ANY: Ports = Ports {
        api: 0,
        dynamodb: 0,
        s3: 0,
        site: 0,
        stripe: 0,
        moto: 0,
    };

    /// The ports the script listens on (its `ports.env`).
    fn chosen(data: &std::path::Path) -> Ports {
        let env = std::fs::read_to_string(data.join("ports.env")).unwrap();
        let port = |name: &str| -> u16 {
            env.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("no {name} in {env}"))
                .parse()
                .unwrap()
        };
        Ports {
            api: port("API_PORT"),
            dynamodb: port("DYNAMODB_PORT"),
            s3: port("S3_PORT"),
            site: port("SITE_PORT"),
            stripe: port("STRIPE_PORT"),
            moto: port("MOTO_PORT"),
        }
    }

    fn all(&self) -> [u16; 6] {
        [
            self.api,
            self.dynamodb,
            self.s3,
            self.site,
            self.stripe,
            self.moto,
        ]
    }
}

struct Dev {
    child: Child,
}

impl Dev {
    /// `make dev`'s script, in a process group of its own (as a terminal runs it), until it says
    /// the shop is running.
    fn start(ports: &Ports, data: &std::path::Path, admin_totp: &TotpSecret) -> Dev {
        let mut cmd = Command::new("bash");
        // What cargo set for this test process would make the script's builds rebuild (Watch).
        for (name, _) in std::env::vars_os() {
            if name
                .to_str()
                .is_some_and(shop_tests::set_by_cargo_for_this_crate)
            {
                cmd.env_remove(&name);
            }
        }
        // A terminal starts its job with Ctrl-C's default action. A test run started in the
        // background inherits SIGINT ignored, which bash cannot trap: the script would never stop.
        // SAFETY: signal(2) is async-signal-safe; the closure touches nothing else.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_DFL);
                Ok(())
            });
        }
        let mut child = cmd
            .arg(repo_root().join("scripts/dev.sh"))
            .current_dir(repo_root())
            .env("API_PORT", ports.api.to_string())
            .env("DYNAMODB_PORT", ports.dynamodb.to_string())
            .env("S3_PORT", ports.s3.to_string())
            .env("SITE_PORT", ports.site.to_string())
            .env("STRIPE_PORT", ports.stripe.to_string())
            .env("MOTO_PORT", ports.moto.to_string())
            .env("LOCAL_DIR", data)
            .env("ADMIN_TOTP_SECRET", admin_totp.base32())
            .env("LOG_LEVEL", "warn")
            .env("WATCH_ARGS", "--ignore-changes")
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("bash");
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if line.contains("The shop is running") {
                    let _ = tx.send(());
                }
            }
        });
        let mut dev = Dev { child };
        if rx.recv_timeout(Duration::from_secs(900)).is_err() {
            dev.interrupt();
            panic!("make dev did not say the shop is running");
        }
        dev
    }

    /// Ctrl-C: SIGINT to the script's process group, as a terminal sends it; waits for the script
    /// (its cleanup gives every service 10 s, then kills it).
    fn interrupt(&mut self) -> Duration {
        let started = Instant::now();
        if !self.signal(libc::SIGINT, CTRL_C_GRACE) {
            self.end();
            panic!("make dev did not stop within {CTRL_C_GRACE:?} of Ctrl-C");
        }
        started.elapsed()
    }

    /// Sends `signal` to the script's process group; whether the script ended within `grace`.
    fn signal(&mut self, signal: libc::c_int, grace: Duration) -> bool {
        // SAFETY: a plain kill(2) of our own child's process group.
        unsafe { libc::kill(-(self.child.id() as i32), signal) };
        let until = Instant::now() + grace;
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        true
    }

    /// Whatever it takes: SIGTERM (the script's cleanup runs on it too), then SIGKILL.
    fn end(&mut self) {
        if !self.signal(libc::SIGTERM, Duration::from_secs(20)) {
            self.signal(libc::SIGKILL, Duration::from_secs(5));
        }
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) && !self.signal(libc::SIGINT, CTRL_C_GRACE) {
            self.end();
        }
    }
}

/// GETs /health every 250 ms until stopped; the slowest answer and every failure.
struct Probe {
    stop: Arc<AtomicBool>,
    slowest_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<Vec<String>>,
}

impl Probe {
    fn start(api: String) -> Probe {
        let (stop, slowest_ms) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let (s, ms) = (stop.clone(), slowest_ms.clone());
        let task = tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap();
            let mut failures = Vec::new();
            while !s.load(Ordering::SeqCst) {
                let t = Instant::now();
                match http.get(format!("{api}/health")).send().await {
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => failures.push(format!("{}", r.status())),
                    Err(e) => failures.push(e.to_string()),
                }
                ms.fetch_max(t.elapsed().as_millis() as u64, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            failures
        });
        Probe {
            stop,
            slowest_ms,
            task,
        }
    }

    async fn finish(self) -> (Vec<String>, u64) {
        self.stop.store(true, Ordering::SeqCst);
        let failures = self.task.await.unwrap();
        (failures, self.slowest_ms.load(Ordering::SeqCst))
    }
}

/// A shopper with a verified address (the welcome email's link opened), ready to pay by card.
async fn shopper(api: &Api, moto: &str, i: usize) -> String {
    let email = format!("load-{i}@dev.test");
    let token = api.customer(&email).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mail = loop {
        let found = mails(&moto_data_at(moto).await)
            .into_iter()
            .find(|m| m.to.contains(&email) && m.body.contains("verify?token="));
        match found {
            Some(m) => break m,
            None if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await
            }
            None => panic!("no welcome email for {email}"),
        }
    };
    let verify = mail.token_after("verify?token=");
    let r = api
        .send(request("POST", "/users/verify-email").json(json!({ "token": verify })))
        .await;
    assert_eq!(r.status(), 204, "{:?}", r.body);
    token
}

/// Checks out and pays until `until`; the ids of the orders it paid.
async fn shop_until(
    api: Api,
    stripe: String,
    token: String,
    product: String,
    until: Instant,
) -> Vec<String> {
    let mut paid = Vec::new();
    while Instant::now() < until {
        let r = api
            .checkout(
                &token,
                &ulid::Ulid::new().to_string(),
                json!({"items": [{"product_id": product, "quantity": 1}]}),
            )
            .await;
        assert_eq!(r.status(), 201, "{:?}", r.body);
        let order = r.body["id"].as_str().unwrap().to_string();
        let r = api
            .pay(&token, &order, &card_at(&stripe, CARD_OK).await)
            .await;
        assert_eq!(r.status(), 200, "{:?}", r.body);
        // The signed webhook makes it PAID (and frees the customer's unpaid-order slot).
        let deadline = Instant::now() + Duration::from_secs(30);
        while api.order(&token, &order).await.body["status"] != "PAID" {
            assert!(Instant::now() < deadline, "order {order} never became PAID");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        paid.push(order);
    }
    paid
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Events the dev stack's bus has seen (its rules' archives in moto).
async fn bus_events(moto: &str) -> usize {
    moto_data_at(moto).await["events"]["Archive"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["events"].as_array().map_or(0, Vec::len))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn make_dev_keeps_answering_under_shoppers_and_across_a_restart_on_the_same_data() {
    let data = std::env::temp_dir().join(format!("shop-dev-{}", ulid::Ulid::new()));
    // The admin the script seeds is enrolled with this secret (as scripts/local-env.sh's is).
    let admin_totp = TotpSecret::generate();
    let mut dev = Dev::start(&Ports::ANY, &data, &admin_totp);
    let ports = Ports::chosen(&data);
    let (base, moto, stripe) = (
        format!("http://127.0.0.1:{}", ports.api),
        format!("http://127.0.0.1:{}", ports.moto),
        format!("http://127.0.0.1:{}", ports.stripe),
    );
    // One CORS policy: credentials (cargo lambda watch's layer adds them) with a named origin.
    let r = reqwest::get(format!("{base}/health")).await.unwrap();
    let header = |n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_string());
    if header("access-control-allow-credentials").as_deref() == Some("true") {
        assert_ne!(header("access-control-allow-origin").as_deref(), Some("*"));
    }
    let api = Api::http(&base);
    let admin = api
        .token_with_code("admin@shop.local", "admin-password", &admin_totp)
        .await;
    let product = api.product(&admin, "Load Test Mug", 900, 99_999).await;
    let mut tokens = Vec::new();
    for i in 0..SHOPPERS {
        tokens.push(shopper(&api, &moto, i).await);
    }

    // Shoppers for `load_seconds`, /health asked throughout.
    let probe = Probe::start(base.clone());
    let until = Instant::now() + Duration::from_secs(load_seconds());
    let mut shoppers = tokio::task::JoinSet::new();
    for token in tokens {
        shoppers.spawn(shop_until(
            api.clone(),
            stripe.clone(),
            token,
            product.clone(),
            until,
        ));
    }
    let orders: Vec<String> = shoppers.join_all().await.into_iter().flatten().collect();
    let (failures, slowest) = probe.finish().await;
    assert!(
        failures.is_empty(),
        "the API stopped answering: {failures:?}"
    );
    assert!(!orders.is_empty());
    eprintln!(
        "{} orders placed and paid; slowest /health {slowest} ms",
        orders.len()
    );

    // Every order: its confirmation and its payment receipt, each exactly once.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let all = mails(&moto_data_at(&moto).await);
        let count = |order: &str, subject: &str| {
            let subject = subject.replace("{order}", order);
            all.iter().filter(|m| m.subject.ends_with(&subject)).count()
        };
        let (placed, paid) = (
            "order {order} received",
            "payment received for order {order}",
        );
        let missing: Vec<&String> = orders
            .iter()
            .filter(|o| count(o, placed) == 0 || count(o, paid) == 0)
            .collect();
        for o in &orders {
            assert!(
                count(o, placed) <= 1 && count(o, paid) <= 1,
                "order {o} mailed twice"
            );
        }
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} orders never mailed: {missing:?}",
            missing.len()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Ctrl-C ends everything it started.
    let took = dev.interrupt();
    std::thread::sleep(Duration::from_millis(500));
    for port in ports.all() {
        assert!(
            !listening(port),
            "port {port} still listening after Ctrl-C ({took:?})"
        );
    }

    // A second start on the same data: answering throughout, and the stream pollers resume after
    // their checkpoints (no old event reaches the new bus again).
    let dev = Dev::start(&ports, &data, &admin_totp);
    let probe = Probe::start(base.clone());
    tokio::time::sleep(Duration::from_secs(load_seconds())).await;
    let (failures, slowest) = probe.finish().await;
    assert!(
        failures.is_empty(),
        "the restarted API stopped answering: {failures:?}"
    );
    eprintln!("restart: slowest /health {slowest} ms");
    assert_eq!(bus_events(&moto).await, 0, "old events published again");
    let r = api
        .order(
            &api.token_with_code("admin@shop.local", "admin-password", &admin_totp)
                .await,
            &orders[0],
        )
        .await;
    assert_eq!(r.body["status"], "PAID");
    drop(dev);
    let _ = std::fs::remove_dir_all(&data);
}
