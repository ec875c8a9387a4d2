//! Events and email end to end: changes committed to DynamoDB Local reach `publish-events`
//! through the stream poller (as an event source mapping would deliver them), the events land on
//! the bus in moto, the rule's delivery invokes `send-email`, and the mail is in moto's SES.
//! Every function runs under `cargo lambda watch`.

use std::time::Duration;

use serde_json::{Value, json};
use shop_tests::{
    TestApp, Watch,
    events::{self, Triggers, wait_for_mail},
};

async fn stack(provision: bool) -> (TestApp, Watch, Triggers) {
    let t = TestApp::with_env(events::configure).await;
    if provision {
        events::provision(t.app).await;
    }
    let watch = Watch::start(&t.env);
    let triggers = Triggers::start(&t.env, &watch.base_url);
    (t, watch, triggers)
}

async fn invoke(watch: &Watch, function: &str, payload: &Value) -> Value {
    reqwest::Client::new()
        .post(format!(
            "{}/2015-03-31/functions/{function}/invocations",
            watch.base_url
        ))
        .json(payload)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_checkout_mails_one_confirmation_a_redelivery_none_and_shipping_its_own() {
    let (t, watch, _triggers) = stack(true).await;
    let (admin, _) = t.admin_and_customer().await;
    let api = watch.api();
    let shopper = "mailme@e2e.local";
    let token = api.customer(shopper).await;
    let tea = t.product("Earl Grey", 1250, 50).await;
    let r = api
        .checkout(
            &token,
            "e2e-mail",
            json!({"items": [{"product_id": tea, "quantity": 2}]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    let order = r.body["id"].as_str().unwrap().to_string();

    let placed = wait_for_mail(shopper, "received", Duration::from_secs(30)).await;
    assert_eq!(placed.len(), 1, "{placed:?}");
    let m = &placed[0];
    assert!(m.subject.contains(&order), "{}", m.subject);
    assert!(m.body.contains("2 x Earl Grey"), "{}", m.body);
    // 2 x 12.50 in the shop's currency (USD by default), and a link to the order.
    assert!(m.body.contains("$25.00"), "{}", m.body);
    assert!(
        m.body
            .contains(&format!("{}/#/orders/{order}", events::SITE))
    );
    // The account's welcome is the verification link; opening it verifies the address.
    let welcome = wait_for_mail(
        shopper,
        "confirm your email address",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(welcome.len(), 1, "{welcome:?}");
    let verify = welcome[0].link_token("verify");
    let r = api
        .send(shop_tests::request("POST", "/users/verify-email").json(json!({"token": verify})))
        .await;
    assert_eq!(r.status(), 204, "{:?}", r.body);
    assert_eq!(api.me(&token).await.body["email_verified"], true);

    // The same stream batch delivered again: the publisher republishes the same event id, and
    // the consumer sends nothing more.
    let records = events::inserted(
        &t.env["DYNAMODB_ENDPOINT"],
        &t.env["ORDERS_TABLE"],
        &format!("ORDER#{order}"),
    )
    .await;
    assert_eq!(records.len(), 1);
    for _ in 0..2 {
        let answer = invoke(&watch, "publish-events", &json!({"Records": records})).await;
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        wait_for_mail(shopper, "received", Duration::ZERO)
            .await
            .len(),
        1
    );

    // Shipping (after the admin records the payment) mails the shopper again.
    let r = api.set_status(&admin, &order, "PAID").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let r = api.ship(&admin, &order).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let shipped = wait_for_mail(shopper, "shipped", Duration::from_secs(30)).await;
    assert_eq!(shipped.len(), 1, "{shipped:?}");
    assert!(
        shipped[0].body.contains(&format!(
            "https://www.ups.com/track?tracknum={}",
            shop_tests::UPS_TRACKING
        )),
        "the shipped email links the tracking: {shipped:?}"
    );
    assert_eq!(
        wait_for_mail(shopper, "payment received", Duration::from_secs(5))
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn a_record_the_publisher_cannot_read_goes_to_the_dlq_and_the_next_one_still_mails() {
    let (t, watch, triggers) = stack(true).await;
    let api = watch.api();
    // An order item no code wrote: its status is no status, so it never decodes.
    t.app
        .dynamo
        .put_item()
        .table_name(&t.env["ORDERS_TABLE"])
        .item("pk", shop::db::s("ORDER#01JBROKEN0000000000000000"))
        .item("sk", shop::db::s("ORDER"))
        .item("status", shop::db::s("MISLAID"))
        .send()
        .await
        .unwrap();
    let shopper = "after-poison@e2e.local";
    let token = api.customer(shopper).await;
    let tea = t.product("Assam", 900, 10).await;
    let r = api
        .checkout(
            &token,
            "e2e-poison",
            json!({"items": [{"product_id": tea, "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.body);

    // Retries (about 8 s of backoff) then the dead letter, then the order behind it.
    let mail = wait_for_mail(shopper, "received", Duration::from_secs(60)).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let dead = triggers.dead("outbox.jsonl");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(
        dead[0]["record"]["dynamodb"]["Keys"]["pk"]["S"],
        "ORDER#01JBROKEN0000000000000000"
    );
    assert_eq!(
        dead[0]["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_the_emailed_link() {
    let (_t, watch, _triggers) = stack(true).await;
    let api = watch.api();
    let shopper = "forgetful@e2e.local";
    let old = api.customer(shopper).await;
    let r = api
        .send(shop_tests::request("POST", "/users/password-reset").json(json!({"email": shopper})))
        .await;
    assert_eq!(r.status(), 202, "{:?}", r.body);

    let mail = wait_for_mail(shopper, "choose a new password", Duration::from_secs(30)).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    let token = mail[0].link_token("reset");
    let r = api
        .send(
            shop_tests::request("POST", "/users/password-reset/confirm")
                .json(json!({"token": token, "password": "remembered-at-last-9"})),
        )
        .await;
    assert_eq!(r.status(), 204, "{:?}", r.body);
    assert_eq!(api.me(&old).await.status(), 401);
    assert_eq!(
        api.login(shopper, "remembered-at-last-9").await.status(),
        200
    );
}
