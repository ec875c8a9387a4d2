//! The outbox publisher and the email consumer, called in process (as their binaries would call
//! them) against DynamoDB Local's streams and moto's EventBridge and SES.

use serde_json::{Value, json};
use shop_tests::{
    TestApp,
    events::{self, archive_everything, archived, mailbox},
};

async fn app() -> TestApp {
    let t = TestApp::with_env(events::configure).await;
    events::provision(t.app).await;
    t
}

/// The order INSERT records of the app's orders stream so far.
async fn placed_records(t: &TestApp) -> Vec<Value> {
    events::inserted(
        &t.env["DYNAMODB_ENDPOINT"],
        &t.env["ORDERS_TABLE"],
        "ORDER#",
    )
    .await
}

#[tokio::test]
async fn a_batch_of_twelve_changes_reaches_the_bus_whole_in_calls_of_ten_and_keeps_its_ids() {
    let t = app().await;
    let archive = archive_everything(t.app).await;
    let token = t.api().customer("many@events.test").await;
    let tea = t.product("Tea", 500, 100).await;
    let mut orders = Vec::new();
    for i in 0..12 {
        let r = t
            .api()
            .checkout(
                &token,
                &format!("k{i}"),
                json!({"items": [{"product_id": tea, "quantity": 1}]}),
            )
            .await;
        assert_eq!(r.status(), 201, "{:?}", r.body);
        orders.push(r.body["id"].as_str().unwrap().to_string());
    }
    let records = placed_records(&t).await;
    assert_eq!(records.len(), 12);
    // moto refuses a PutEvents of more than ten entries, as EventBridge does.
    let answer = shop::events::publish_events(t.app, json!({"Records": records}))
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let first = archived(&archive).await;
    let ids = |evs: &[Value]| -> Vec<String> {
        evs.iter()
            .map(|e| e["detail"]["metadata"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    let placed: Vec<&str> = first
        .iter()
        .map(|e| e["detail"]["data"]["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        placed,
        orders.iter().map(String::as_str).collect::<Vec<_>>(),
        "in order"
    );
    assert!(
        first
            .iter()
            .all(|e| e["detail-type"] == "OrderPlaced" && e["source"] == "shop.orders")
    );

    // Redelivered: the same events again, with the same ids.
    shop::events::publish_events(t.app, json!({"Records": records}))
        .await
        .unwrap();
    let both = archived(&archive).await;
    assert_eq!(both.len(), 24);
    assert_eq!(ids(&both[12..]), ids(&first));
}

#[tokio::test]
async fn a_change_that_cannot_be_decoded_is_reported_and_nothing_after_it_is_published() {
    let t = app().await;
    let archive = archive_everything(t.app).await;
    let token = t.api().customer("poison@events.test").await;
    let tea = t.product("Tea", 500, 100).await;
    for i in 0..3 {
        t.api()
            .checkout(
                &token,
                &format!("p{i}"),
                json!({"items": [{"product_id": tea, "quantity": 1}]}),
            )
            .await;
    }
    let mut records = placed_records(&t).await;
    records[1]["dynamodb"]["NewImage"]["status"] = json!({"S": "MISLAID"});
    let answer = shop::events::publish_events(t.app, json!({"Records": records.clone()}))
        .await
        .unwrap();
    // The mapping retries from the bad record; the one before it is done.
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}])
    );
    assert_eq!(archived(&archive).await.len(), 1);
}

/// What EventBridge hands `send-email` for `kind` about `user`'s order.
fn envelope(kind: &str, id: &str, user: &str) -> Value {
    let mut ev: Value = serde_json::from_str(
        &std::fs::read_to_string(shop_tests::repo_root().join("events/send-email.json")).unwrap(),
    )
    .unwrap();
    ev["detail-type"] = json!(kind);
    ev["detail"]["metadata"]["type"] = json!(kind);
    ev["detail"]["metadata"]["id"] = json!(id);
    ev["detail"]["data"]["user_id"] = json!(user);
    ev
}

async fn user_id(t: &TestApp, token: &str) -> String {
    t.api().me(token).await.body["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn five_concurrent_deliveries_of_one_event_send_one_email() {
    let t = app().await;
    let shopper = "once@events.test";
    let token = t.api().customer(shopper).await;
    let ev = envelope(
        "OrderPlaced",
        &format!("{:032x}", ulid::Ulid::new().0),
        &user_id(&t, &token).await,
    );
    let runs = futures_join(t.app, &ev, 5).await;
    let sent = runs
        .iter()
        .filter(|r| matches!(r, Ok(v) if v["sent"] == true))
        .count();
    assert_eq!(sent, 1, "{runs:?}");
    // Later redeliveries (EventBridge's retries, a republished change) send nothing either.
    let again = shop::events::send_email(t.app, ev.clone()).await.unwrap();
    assert_eq!(again["duplicate"], true);
    let mail = mailbox(shopper).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    // The sample order: two mugs to San Francisco, with California's sales tax.
    for line in [
        "2 x Stoneware Mug",
        "$29.80",
        "Shipping (Standard (3-5 business days))",
        "$5.90",
        "California sales tax 7.25%",
        "$2.16",
        "$37.86",
        "San Francisco CA 94105",
    ] {
        assert!(mail[0].body.contains(line), "{line} in {}", mail[0].body);
    }
    assert!(mail[0].subject.starts_with("Test Shop: "));
}

async fn futures_join(app: &'static shop::App, ev: &Value, n: usize) -> Vec<Result<Value, String>> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let ev = ev.clone();
            tokio::spawn(async move {
                shop::events::send_email(app, ev)
                    .await
                    .map_err(|e| e.chain())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_failed_send_gives_its_claim_back_so_the_retry_sends() {
    // A sender SES has not verified: every send is refused.
    let t = TestApp::with_env(|env| {
        events::configure(env);
        env.insert(
            "EMAIL_FROM".into(),
            format!("unverified-{}@shop.test", ulid::Ulid::new()),
        );
    })
    .await;
    let shopper = "retry@events.test";
    let token = t.api().customer(shopper).await;
    let ev = envelope(
        "OrderShipped",
        &format!("{:032x}", ulid::Ulid::new().0),
        &user_id(&t, &token).await,
    );
    let err = shop::events::send_email(t.app, ev.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "service_unavailable", "{}", err.chain());
    assert!(mailbox(shopper).await.is_empty());

    shop::platform::mail::create_sender(
        t.app.ses(),
        t.app.config.events.email_from.as_deref().unwrap(),
    )
    .await
    .unwrap();
    let sent = shop::events::send_email(t.app, ev).await.unwrap();
    assert_eq!(sent["sent"], true);
    let mail = mailbox(shopper).await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].subject.contains("shipped"));
}

#[tokio::test]
async fn stock_alerts_go_to_the_operator_and_only_when_one_is_configured() {
    let alert = |env: &mut std::collections::HashMap<String, String>| {
        events::configure(env);
        env.insert("ALERT_EMAIL".into(), "ops@events.test".into());
    };
    let stock_event = || {
        json!({
            "detail-type": "ProductLowStock", "source": "shop.catalog",
            "detail": {
                "metadata": {"id": format!("{:032x}", ulid::Ulid::new().0), "type": "ProductLowStock", "version": 1, "occurred_at": "2026-12-01T00:00:00.000Z"},
                "data": {"product_id": "p", "name": "Rare Tea", "stock": 2, "threshold": 5}
            }
        })
    };
    let t = TestApp::with_env(alert).await;
    events::provision(t.app).await;
    let before = mailbox("ops@events.test").await.len();
    assert_eq!(
        shop::events::send_email(t.app, stock_event())
            .await
            .unwrap()["sent"],
        true
    );
    let mail = mailbox("ops@events.test").await;
    assert_eq!(mail.len(), before + 1);
    assert!(
        mail.last()
            .unwrap()
            .body
            .contains("Rare Tea is running low: 2 left")
    );

    let quiet = app().await;
    assert_eq!(
        shop::events::send_email(quiet.app, stock_event())
            .await
            .unwrap()["sent"],
        false
    );
}
