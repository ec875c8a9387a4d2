//! An account under a distributed guessing attack: guesses from many addresses run into the
//! account-wide throttle, the owner's own browser (its device token) signs in straight away
//! throughout, and the owner hears of it once: past the ceiling of wrong or held-back sign-ins in
//! an hour, one alert record (the outbox mails it).

use serde_json::json;
use shop::users::{ACCOUNT_ALERT_FAILURES, ACCOUNT_WIDE, ACCOUNT_WIDE_GUESSES_PER_HOUR};
use shop_tests::{Api, CUSTOMER_PASSWORD, TestApp, events, request};

/// Addresses in the botnet; each makes three guesses.
const ATTACKERS: u32 = 200;

/// The owner's earlier sign-in from their own browser: its device token.
async fn owners_device(api: &Api, email: &str) -> String {
    let r = api.login(email, CUSTOMER_PASSWORD).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    r.body["device_token"].as_str().unwrap().to_string()
}

/// A sign-in from `addr`, with `device` when given.
async fn sign_in(api: &Api, email: &str, password: &str, addr: &str, device: Option<&str>) -> u16 {
    let mut body = json!({"email": email, "password": password});
    if let Some(d) = device {
        body["device_token"] = json!(d);
    }
    let req = request("POST", "/users/login")
        .header("cloudfront-viewer-address", addr)
        .json(body);
    api.send(req).await.status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_botnet_gets_a_few_dozen_guesses_while_the_owners_browser_signs_in_at_once() {
    let t = TestApp::new().await;
    let email = "botnet@target.test";
    t.api().customer(email).await;
    let device = owners_device(t.api(), email).await;
    // Another account and its browser, ready before the attack so that the checks after it are
    // two quick requests.
    let other = "other@target.test";
    t.api().customer(other).await;
    let others_device = owners_device(t.api(), other).await;
    // 200 addresses, three guesses each, 16 in flight at a time: a burst DynamoDB Local (which
    // answers one request at a time) keeps up with while other suites share it.
    let attack = {
        let api = t.api().clone();
        tokio::spawn(async move {
            let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
            let mut calls = tokio::task::JoinSet::new();
            for i in (0..ATTACKERS).flat_map(|i| [i; 3]) {
                let (api, gate) = (api.clone(), gate.clone());
                calls.spawn(async move {
                    let _turn = gate.acquire().await.unwrap();
                    let addr = format!("10.{}.{}.1:443", i / 250, i % 250);
                    sign_in(&api, email, "guess-guess-guess", &addr, None).await
                });
            }
            calls.join_all().await
        })
    };
    // Meanwhile the owner signs in from their browser, again and again: never held back.
    let mut owner = Vec::new();
    while !attack.is_finished() {
        owner.push(
            sign_in(
                t.api(),
                email,
                CUSTOMER_PASSWORD,
                "203.0.113.9:443",
                Some(&device),
            )
            .await,
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let statuses = attack.await.unwrap();
    let guesses = statuses.iter().filter(|s| **s == 401).count() as u64;
    let held = statuses.iter().filter(|s| **s == 429).count() as u64;
    eprintln!(
        "botnet: {guesses} guesses tried, {held} held back; owner signed in {} times",
        owner.len()
    );
    let others: Vec<&u16> = statuses
        .iter()
        .filter(|s| ![401, 429].contains(*s))
        .collect();
    assert_eq!(
        guesses + held,
        u64::from(ATTACKERS) * 3,
        "every attempt is a wrong guess or held back, not {others:?}"
    );
    assert!(
        (ACCOUNT_WIDE.free..=ACCOUNT_WIDE_GUESSES_PER_HOUR).contains(&guesses),
        "{guesses} passwords were tried"
    );
    assert!(
        owner.len() >= 2 && owner.iter().all(|s| *s == 200),
        "{owner:?}"
    );
    // The account's next place opens some seconds after the attack's last one, at a time the
    // attack's length decides: wait until it is closed for a while yet (a guess takes a place that
    // has opened), so that the checks below do not race it.
    let mut guesser = 0;
    loop {
        guesser += 1;
        let addr = format!("192.0.2.{guesser}:443");
        let req = request("POST", "/users/login")
            .header("cloudfront-viewer-address", &addr)
            .json(json!({"email": email, "password": "guess-guess-guess"}));
        let r = t.api().send(req).await;
        let closed_for: u64 = match r.status() {
            429 => r.header("retry-after").unwrap().parse().unwrap(),
            status => {
                assert_eq!(status, 401, "{:?}", r.body);
                0
            }
        };
        if closed_for >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(closed_for)).await;
    }
    // A browser without the device token, even the owner's password, waits its turn.
    let fresh = sign_in(t.api(), email, CUSTOMER_PASSWORD, "203.0.113.10:443", None).await;
    assert_eq!(fresh, 429);
    // A device token is the account's own: another account's does not open this one.
    let borrowed = sign_in(
        t.api(),
        email,
        CUSTOMER_PASSWORD,
        "203.0.113.11:443",
        Some(&others_device),
    );
    assert_eq!(borrowed.await, 429);
}

#[tokio::test]
async fn past_the_ceiling_the_owner_is_alerted_once_and_can_still_sign_in() {
    let t = TestApp::new().await;
    let email = "target@alert.test";
    let token = t.api().customer(email).await;
    let device = owners_device(t.api(), email).await;
    let user = t.api().me(&token).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Three wrong passwords from each of many addresses: no address is held back, but the
    // account-wide throttle holds most of them back, and those count towards the alert too.
    let addresses = ACCOUNT_ALERT_FAILURES.div_ceil(3) + 2;
    let mut failed = 0;
    for batch in (0..addresses).collect::<Vec<_>>().chunks(8) {
        let mut calls = tokio::task::JoinSet::new();
        for i in batch {
            let api = t.api().clone();
            let addr = format!("198.51.{}.{}:443", i / 200, i % 200 + 1);
            calls.spawn(async move {
                let mut statuses = Vec::new();
                for _ in 0..3 {
                    let r = api
                        .send(
                            request("POST", "/users/login")
                                .header("cloudfront-viewer-address", &addr)
                                .json(serde_json::json!({"email": email, "password": "wrong-guess-123"})),
                        )
                        .await;
                    statuses.push(r.status());
                }
                statuses
            });
        }
        for statuses in calls.join_all().await {
            failed += statuses.iter().filter(|s| [401, 429].contains(*s)).count() as u64;
        }
    }
    assert!(failed > ACCOUNT_ALERT_FAILURES, "{failed} failures");

    let alerts =
        events::inserted(&t.env["DYNAMODB_ENDPOINT"], &t.env["USERS_TABLE"], "ALERT#").await;
    assert_eq!(alerts.len(), 1, "one alert however many failures follow");
    let ev = shop::events::stream::events_of(&alerts[0], 5).unwrap();
    assert_eq!(
        ev[0].metadata.kind,
        shop::events::EventType::AccountUnderAttack
    );
    assert_eq!(
        ev[0].data.customer().map(|u| u.as_str()),
        Some(user.as_str())
    );
    // Never a lock: the owner, from their own browser at an address of their own, signs in.
    let owner = sign_in(
        t.api(),
        email,
        CUSTOMER_PASSWORD,
        "203.0.113.77:443",
        Some(&device),
    );
    assert_eq!(owner.await, 200);
}
