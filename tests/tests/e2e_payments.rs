//! Payments end to end over `cargo lambda watch`: localstripe sends its signed webhook to the
//! watch server's real route, and the expiry job runs through the invoke endpoint a schedule uses.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shop_tests::{
    TestApp, Watch,
    stripe::{self, CARD_OK},
};

#[tokio::test]
async fn a_shopper_pays_by_card_and_an_unpaid_order_lapses_with_its_stock_returned() {
    let t = TestApp::with_env(|env| {
        stripe::configure(env);
        env.insert("ORDER_PAYMENT_WINDOW_SECONDS".into(), "3".into());
    })
    .await;
    let watch = Watch::start(&t.env);
    stripe::register_webhook(
        &format!("watch-{}", ulid::Ulid::new()),
        &format!("{}/payments/webhook", watch.base_url),
    )
    .await;
    let api = watch.api();
    // Running before the clock starts: a function's first start under watch can take a good part
    // of the 3 s window between checkout and payment on a busy machine.
    let timed = ["create-order", "pay-order", "get-order", "payment-webhook"];
    assert_eq!(
        api.start_functions(|f| timed.contains(&f)).await,
        Ok(timed.len())
    );
    let token = t.verified_customer("payer@e2e.local").await;
    let tea = t.product("Earl Grey", 1250, 5).await;
    let checkout = |key: &'static str| {
        let token = token.clone();
        let tea = tea.clone();
        async move {
            let r = api
                .checkout(
                    &token,
                    key,
                    json!({"items": [{"product_id": tea, "quantity": 2}]}),
                )
                .await;
            assert_eq!(r.status(), 201, "{:?}", r.body);
            r.body["id"].as_str().unwrap().to_string()
        }
    };

    // Paid: the order turns PAID when localstripe's webhook reaches the watch server.
    let paid = checkout("e2e-pay").await;
    let r = api.pay(&token, &paid, &stripe::card(CARD_OK).await).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = api.order(&token, &paid).await.body;
        if o["status"] == "PAID" {
            assert_eq!(o["payment_status"], "paid");
            break;
        }
        assert!(Instant::now() < deadline, "never paid: {o}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Unpaid: after the window, the scheduled job cancels it and the stock comes back.
    let unpaid = checkout("e2e-lapse").await;
    assert_eq!(t.stock_of(&tea).await, 1);
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let event: Value = serde_json::from_str(
        &std::fs::read_to_string(shop_tests::repo_root().join("events/expire-orders.json"))
            .unwrap(),
    )
    .unwrap();
    let run: Value = reqwest::Client::new()
        .post(format!(
            "{}/2015-03-31/functions/expire-orders/invocations",
            watch.base_url
        ))
        .json(&event)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(run["expired"], 1, "{run}");
    let o = api.order(&token, &unpaid).await.body;
    assert_eq!(o["status"], "CANCELLED");
    assert_eq!(
        t.stock_of(&tea).await,
        3,
        "the lapsed order's 2 are back, the paid order's 2 are not"
    );
}
