//! An account under a distributed guessing attack is never locked, and its owner hears of it once:
//! past the ceiling of failed sign-ins in an hour, one alert record (the outbox mails it).

use shop::users::ACCOUNT_ALERT_FAILURES;
use shop_tests::{CUSTOMER_PASSWORD, TestApp, events, request};

#[tokio::test]
async fn past_the_ceiling_the_owner_is_alerted_once_and_can_still_sign_in() {
    let t = TestApp::new().await;
    let email = "target@alert.test";
    let token = t.api().customer(email).await;
    let user = t.api().me(&token).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Three wrong passwords from each of many addresses: no address is held back yet.
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
            failed += statuses.iter().filter(|s| **s == 401).count() as u64;
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
    // Never a lock: the owner, from an address of their own, signs in.
    let r = t
        .api()
        .send(
            request("POST", "/users/login")
                .header("cloudfront-viewer-address", "203.0.113.77:443")
                .json(serde_json::json!({"email": email, "password": CUSTOMER_PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
}
