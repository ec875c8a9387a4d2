//! EventBridge down (moto stopped, so calls hang as they would to an unreachable service): the
//! publisher's calls time out and are retried (its own retries of PutEvents, then the mapping's of
//! the batch), and once the bus answers again the change is published and mailed exactly once. A
//! test binary of its own: its moto is its alone.

use std::time::Duration;

use serde_json::json;
use shop_tests::{
    TestApp, Watch,
    events::{self, Triggers, wait_for_mail},
};

#[tokio::test]
async fn while_the_bus_does_not_answer_the_batch_is_retried_and_nothing_is_lost() {
    let t = TestApp::with_env(events::configure).await;
    events::provision(t.app).await;
    let watch = Watch::start(&t.env);
    let triggers = Triggers::start(&t.env, &watch.base_url);
    let api = watch.api();
    let shopper = "patient@e2e.local";
    let token = api.customer(shopper).await;
    let tea = t.product("Oolong", 1100, 10).await;
    // The triggers have made the rule's archive on the bus by now (the welcome email proves it).
    assert_eq!(
        wait_for_mail(shopper, "confirm your email", Duration::from_secs(60))
            .await
            .len(),
        1
    );

    let moto = events::pid() as i32;
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(moto, libc::SIGSTOP);
    }
    let r = api
        .checkout(
            &token,
            "outage",
            json!({"items": [{"product_id": tea, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    // Long enough for the publisher to be invoked and its PutEvents to time out at least once.
    tokio::time::sleep(Duration::from_secs(8)).await;
    unsafe {
        libc::kill(moto, libc::SIGCONT);
    }

    let mail = wait_for_mail(shopper, "received", Duration::from_secs(90)).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        wait_for_mail(shopper, "received", Duration::ZERO)
            .await
            .len(),
        1
    );
    assert!(
        triggers.dead("outbox.jsonl").is_empty(),
        "{:?}",
        triggers.dead("outbox.jsonl")
    );
}
