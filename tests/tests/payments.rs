//! Card payments against localstripe (the Stripe API locally) and DynamoDB Local, through the
//! handlers: paying, the signed webhook that alone marks an order PAID, declines, forgeries,
//! redeliveries, refunds and the expiry of unpaid orders.

use std::time::Duration;

use serde_json::json;
use shop_tests::{
    TestApp,
    stripe::{self, CARD_3DS, CARD_DECLINED, CARD_OK},
};

async fn app() -> TestApp {
    TestApp::with_env(stripe::configure).await
}

/// A customer's PENDING order for `quantity` of a fresh product (price 1490); (token, admin,
/// order id, product id).
async fn pending_order(t: &TestApp, quantity: i64) -> (String, String, String, String) {
    let (admin, token) = t.admin_and_customer().await;
    let mug = t.product("Mug", 1490, 10).await;
    let r = t
        .api()
        .checkout(
            &token,
            &ulid::Ulid::new().to_string(),
            json!({"items": [{"product_id": mug, "quantity": quantity}]}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    (token, admin, id, mug)
}

/// An app whose orders must be paid within 2 seconds.
async fn two_second_window() -> TestApp {
    TestApp::with_env(|env| {
        stripe::configure(env);
        env.insert("ORDER_PAYMENT_WINDOW_SECONDS".into(), "2".into());
    })
    .await
}

async fn deliver(t: &TestApp, d: &stripe::Delivery) -> shop_tests::TestResponse {
    t.api().webhook(Some(&d.signature), &d.body).await
}

#[tokio::test]
async fn a_card_payment_marks_the_order_paid_only_through_the_signed_webhook() {
    let t = app().await;
    let relay = stripe::relay().await;
    let (token, _, order, mug) = pending_order(&t, 2).await;
    let r = t.api().order(&token, &order).await;
    assert_eq!(r.body["payment_status"], "unpaid");
    assert!(r.body["expires_at"].is_string(), "{:?}", r.body);

    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "succeeded");
    let intent = r.body["payment_intent_id"].as_str().unwrap().to_string();
    assert!(r.body["client_secret"].is_string());
    // The answer does not make it PAID.
    assert_eq!(
        t.api().order(&token, &order).await.body["status"],
        "PENDING"
    );

    let delivery = relay.wait_for(&order, "payment_intent.succeeded");
    let r = deliver(&t, &delivery).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let o = t.api().order(&token, &order).await.body;
    assert_eq!(
        (o["status"].as_str(), o["payment_status"].as_str()),
        (Some("PAID"), Some("paid"))
    );
    assert_eq!(o["payment_intent_id"], intent.as_str());
    assert!(
        o.get("expires_at").is_none(),
        "a paid order does not lapse: {o}"
    );
    assert_eq!(t.stock_of(&mug).await, 8);

    // Redelivered: acknowledged, nothing changes.
    let r = deliver(&t, &delivery).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.body["duplicate"], true);
    let again = t.api().order(&token, &order).await.body;
    assert_eq!(again["updated_at"], o["updated_at"]);

    // Paying a PAID order is a conflict.
    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.error_code(), "order_not_payable");
}

#[tokio::test]
async fn a_declined_card_is_a_402_and_another_card_can_pay() {
    let t = app().await;
    let relay = stripe::relay().await;
    let (token, _, order, _) = pending_order(&t, 1).await;
    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_DECLINED).await)
        .await;
    assert_eq!(r.status(), 402, "{:?}", r.body);
    assert_eq!(r.error_code(), "card_declined");
    let o = t.api().order(&token, &order).await.body;
    assert_eq!(o["status"], "PENDING");
    assert_eq!(o["payment_error"], "Your card was declined.");
    let failed = relay.wait_for(&order, "payment_intent.payment_failed");

    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    assert_eq!(
        r.status(),
        200,
        "a new attempt after a decline: {:?}",
        r.body
    );
    let succeeded = relay.wait_for(&order, "payment_intent.succeeded");
    assert_eq!(deliver(&t, &succeeded).await.status(), 200);
    // The failure of the first attempt arrives late: the order stays PAID, without an error.
    assert_eq!(deliver(&t, &failed).await.status(), 200);
    let o = t.api().order(&token, &order).await.body;
    assert_eq!(o["status"], "PAID");
    assert!(o.get("payment_error").is_none(), "{o}");
}

#[tokio::test]
async fn a_card_that_needs_3d_secure_hands_the_client_secret_back() {
    let t = app().await;
    let (token, _, order, _) = pending_order(&t, 1).await;
    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_3DS).await)
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "requires_action");
    assert!(
        r.body["client_secret"]
            .as_str()
            .is_some_and(|s| s.contains("_secret_"))
    );
    assert_eq!(
        t.api().order(&token, &order).await.body["status"],
        "PENDING"
    );
}

#[tokio::test]
async fn forged_stale_or_unsigned_webhooks_are_refused_and_change_nothing() {
    let t = app().await;
    let relay = stripe::relay().await;
    let (token, _, order, _) = pending_order(&t, 1).await;
    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    assert_eq!(r.status(), 200);
    let real = relay.wait_for(&order, "payment_intent.succeeded");

    let tampered = real.body.replace("\"succeeded\"", "\"succeeded\" ");
    let t_only = real.signature.split(',').next().unwrap().to_string();
    for (signature, body) in [
        (None, real.body.as_str()),
        (Some("garbage"), real.body.as_str()),
        (Some(t_only.as_str()), real.body.as_str()),
        (Some(real.signature.as_str()), tampered.as_str()),
        (
            Some(
                "t=1000000000,v1=0000000000000000000000000000000000000000000000000000000000000000",
            ),
            real.body.as_str(),
        ),
    ] {
        let r = t.api().webhook(signature, body).await;
        assert_eq!(r.status(), 400, "{signature:?}: {:?}", r.body);
        assert_eq!(r.error_code(), "invalid_signature");
    }
    assert_eq!(
        t.api().order(&token, &order).await.body["status"],
        "PENDING"
    );
    // The real one still works afterwards.
    assert_eq!(deliver(&t, &real).await.status(), 200);
    assert_eq!(t.api().order(&token, &order).await.body["status"], "PAID");
}

#[tokio::test]
async fn admin_cancel_of_a_paid_order_refunds_it() {
    let t = app().await;
    let relay = stripe::relay().await;
    let (token, admin, order, mug) = pending_order(&t, 3).await;
    t.api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    deliver(&t, &relay.wait_for(&order, "payment_intent.succeeded")).await;
    let r = t.api().set_status(&admin, &order, "CANCELLED").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["payment_status"], "refunded");
    assert_eq!(t.stock_of(&mug).await, 10, "stock restored");
    // The refund reached Stripe (the charge is refunded there).
    let intent = r.body["payment_intent_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{:?}", r.body));
    let pi = stripe::get(&format!("payment_intents/{intent}"), &[]).await;
    // localstripe expands the charge in place; Stripe gives its id.
    let ch = match &pi["latest_charge"] {
        serde_json::Value::String(id) => stripe::get(&format!("charges/{id}"), &[]).await,
        expanded => expanded.clone(),
    };
    assert_eq!(ch["refunded"], true, "{ch}");
    // Cancelling again is refused by the state machine; nothing is refunded twice.
    assert_eq!(
        t.api()
            .set_status(&admin, &order, "CANCELLED")
            .await
            .status(),
        409
    );
}

#[tokio::test]
async fn a_payment_for_a_cancelled_order_is_refunded() {
    let t = app().await;
    let relay = stripe::relay().await;
    let (token, _, order, mug) = pending_order(&t, 1).await;
    t.api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    let late = relay.wait_for(&order, "payment_intent.succeeded");
    // The shopper cancels before the webhook lands.
    assert_eq!(
        t.api()
            .set_status(&token, &order, "CANCELLED")
            .await
            .status(),
        200
    );
    assert_eq!(deliver(&t, &late).await.status(), 200);
    let o = t.api().order(&token, &order).await.body;
    assert_eq!(
        (o["status"].as_str(), o["payment_status"].as_str()),
        (Some("CANCELLED"), Some("refunded"))
    );
    assert_eq!(t.stock_of(&mug).await, 10, "restocked once, by the cancel");
}

#[tokio::test]
async fn stripe_unreachable_is_a_503_and_the_order_is_untouched() {
    let t = TestApp::with_env(|env| {
        stripe::configure(env);
        env.insert(
            "STRIPE_API_BASE".into(),
            format!("http://127.0.0.1:{}", shop_tests::free_port()),
        );
    })
    .await;
    let (token, _, order, _) = pending_order(&t, 1).await;
    let before = t.api().order(&token, &order).await.body;
    let r = t.api().pay(&token, &order, "card_anything").await;
    assert_eq!(r.status(), 503, "{:?}", r.body);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("payment service")
    );
    assert_eq!(t.api().order(&token, &order).await.body, before);
}

#[tokio::test]
async fn only_the_owner_pays_and_only_with_a_stripe_payment_method() {
    let t = app().await;
    let (_, admin, order, _) = pending_order(&t, 1).await;
    let other = t.api().customer("someone-else@test.local").await;
    assert_eq!(t.api().pay(&other, &order, "card_x").await.status(), 404);
    assert_eq!(t.api().pay(&admin, &order, "card_x").await.status(), 403);
    let owner = t
        .api()
        .token("shopper@test.local", shop_tests::CUSTOMER_PASSWORD)
        .await;
    let r = t.api().pay(&owner, &order, "tok_visa; DROP").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.body["error"]["field"], "payment_method");
}

#[tokio::test]
async fn unpaid_orders_lapse_and_their_stock_returns_exactly_once() {
    let t = two_second_window().await;
    let (token, _, order, mug) = pending_order(&t, 4).await;
    // An attempt that waits for 3-D Secure: expiry cancels its PaymentIntent too.
    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_3DS).await)
        .await;
    assert_eq!(r.body["status"], "requires_action");
    assert_eq!(t.stock_of(&mug).await, 6);
    // Not due yet: nothing happens.
    let first = shop::payments::expire_orders(t.app).await.unwrap();
    assert_eq!(first["expired"], 0);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // Two runs at once (the schedule may overlap): one cancels, the other finds nothing to do.
    let (a, b) = tokio::join!(
        shop::payments::expire_orders(t.app),
        shop::payments::expire_orders(t.app)
    );
    let total = a.unwrap()["expired"].as_u64().unwrap() + b.unwrap()["expired"].as_u64().unwrap();
    assert_eq!(total, 1);
    let o = t.api().order(&token, &order).await.body;
    assert_eq!(o["status"], "CANCELLED");
    assert_eq!(t.stock_of(&mug).await, 10, "restored exactly once");
    // Paying after the window is refused.
    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    assert_eq!(r.status(), 409);
}

#[tokio::test]
async fn expiry_keeps_an_order_whose_payment_already_succeeded() {
    let t = two_second_window().await;
    let relay = stripe::relay().await;
    let (token, _, order, mug) = pending_order(&t, 1).await;
    assert_eq!(
        t.api()
            .pay(&token, &order, &stripe::card(CARD_OK).await)
            .await
            .status(),
        200
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // The payment landed at Stripe, its webhook not yet here: expiry leaves the order alone.
    let run = shop::payments::expire_orders(t.app).await.unwrap();
    assert_eq!(run["expired"], 0, "{run}");
    deliver(&t, &relay.wait_for(&order, "payment_intent.succeeded")).await;
    assert_eq!(t.api().order(&token, &order).await.body["status"], "PAID");
    assert_eq!(t.stock_of(&mug).await, 9);
}

#[tokio::test]
async fn a_customer_holds_at_most_three_unpaid_orders_even_under_concurrent_checkouts() {
    let t = TestApp::with_env(|env| {
        stripe::configure(env);
        env.remove("MAX_UNPAID_ORDERS");
    })
    .await;
    let relay = stripe::relay().await;
    let (admin, token) = t.admin_and_customer().await;
    let mug = t.product("Mug", 1490, 100).await;
    let body = json!({"items": [{"product_id": mug, "quantity": 1}]});
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..10 {
        let (api, token, body) = (t.api().clone(), token.clone(), body.clone());
        calls.spawn(async move { api.checkout(&token, &format!("cap-{i}"), body).await });
    }
    let results = calls.join_all().await;
    let placed: Vec<String> = results
        .iter()
        .filter(|r| r.status() == 201)
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        placed.len(),
        3,
        "{:?}",
        results.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status() != 201) {
        assert_eq!(r.status(), 409);
        assert_eq!(r.error_code(), "too_many_unpaid_orders");
    }
    assert_eq!(
        t.stock_of(&mug).await,
        97,
        "refused checkouts reserve nothing"
    );

    // Paying one frees a place; so does cancelling one.
    t.api()
        .pay(&token, &placed[0], &stripe::card(CARD_OK).await)
        .await;
    deliver(&t, &relay.wait_for(&placed[0], "payment_intent.succeeded")).await;
    assert_eq!(
        t.api()
            .checkout(&token, "cap-after-pay", body.clone())
            .await
            .status(),
        201
    );
    assert_eq!(
        t.api()
            .checkout(&token, "cap-full", body.clone())
            .await
            .status(),
        409
    );
    assert_eq!(
        t.api()
            .set_status(&admin, &placed[1], "CANCELLED")
            .await
            .status(),
        200
    );
    assert_eq!(
        t.api()
            .checkout(&token, "cap-after-cancel", body.clone())
            .await
            .status(),
        201
    );
    // The cap is per customer.
    let other = t.api().customer("other@test.local").await;
    assert_eq!(
        t.api().checkout(&other, "cap-other", body).await.status(),
        201
    );
}

#[tokio::test]
async fn a_stripe_that_accepts_but_never_answers_is_a_503_within_the_handler_limit() {
    // Accepts connections and reads, never writes: a hung payment processor.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(8).collect();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let t = TestApp::with_env(|env| {
        stripe::configure(env);
        env.insert("STRIPE_API_BASE".into(), format!("http://127.0.0.1:{port}"));
    })
    .await;
    let (token, _, order, _) = pending_order(&t, 1).await;
    let before = t.api().order(&token, &order).await.body;
    let started = std::time::Instant::now();
    let r = t.api().pay(&token, &order, "card_anything").await;
    assert_eq!(r.status(), 503, "{:?}", r.body);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "answered before the handler's own 8 s limit"
    );
    assert_eq!(t.api().order(&token, &order).await.body, before);
}

#[test]
fn the_sample_webhook_event_is_signed_as_stripe_signs_with_the_local_secret() {
    let root = shop_tests::repo_root();
    let ev: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("events/payment-webhook.json")).unwrap(),
    )
    .unwrap();
    let env = std::fs::read_to_string(root.join("scripts/local-env.sh")).unwrap();
    let secret = env
        .split("STRIPE_WEBHOOK_SECRET:-")
        .nth(1)
        .and_then(|s| s.split('}').next())
        .unwrap();
    let header = ev["headers"]["stripe-signature"].as_str().unwrap();
    let body = ev["body"].as_str().unwrap();
    let t: u64 = header[2..header.find(',').unwrap()].parse().unwrap();
    use shop::payments::model::{SignatureError, verify_signature};
    assert_eq!(
        verify_signature(Some(header), body.as_bytes(), secret.as_bytes(), t),
        Ok(())
    );
    // Invoked later it is refused as stale, as a replayed capture would be.
    assert_eq!(
        verify_signature(
            Some(header),
            body.as_bytes(),
            secret.as_bytes(),
            shop::types::now_epoch_secs()
        ),
        Err(SignatureError::Stale)
    );
}

/// Sets attributes of an order item directly, as data from elsewhere (another Stripe account, a
/// restarted test Stripe) would have left it.
async fn set_order(
    t: &TestApp,
    order: &str,
    attrs: &[(&str, aws_sdk_dynamodb::types::AttributeValue)],
) {
    let mut u = t
        .app
        .dynamo
        .update_item()
        .table_name(&t.app.config.tables.orders)
        .set_key(Some(shop::orders::store::order_key(
            &shop::types::OrderId::from_trusted(order),
        )));
    let mut sets = Vec::new();
    for (i, (attr, v)) in attrs.iter().enumerate() {
        sets.push(format!("#a{i} = :v{i}"));
        u = u
            .expression_attribute_names(format!("#a{i}"), *attr)
            .expression_attribute_values(format!(":v{i}"), v.clone());
    }
    u.update_expression(format!("SET {}", sets.join(", ")))
        .send()
        .await
        .unwrap();
}

fn av(s: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(s.into())
}

/// A made-up `payment_intent.succeeded` for `intent` naming `order`, signed as Stripe signs.
fn succeeded_event(event_id: &str, intent: &str, order: &str, amount: i64) -> stripe::Delivery {
    let body = json!({
        "id": event_id, "object": "event", "type": "payment_intent.succeeded",
        "data": {"object": {
            "id": intent, "object": "payment_intent", "status": "succeeded",
            "amount": amount, "currency": "usd", "metadata": {"order_id": order}
        }}
    })
    .to_string();
    stripe::Delivery {
        signature: stripe::sign(&body),
        body,
    }
}

#[tokio::test]
async fn a_card_stripe_does_not_know_is_a_400_naming_payment_method_never_a_500() {
    let t = app().await;
    let (token, _, order, _) = pending_order(&t, 1).await;
    let before = t.api().order(&token, &order).await.body;
    let r = t.api().pay(&token, &order, "card_doesnotexist123").await;
    assert_eq!(r.status(), 400, "{:?}", r.body);
    assert_eq!(r.body["error"]["field"], "payment_method");
    assert_eq!(t.api().order(&token, &order).await.body, before);
    // The order is free for a real card at once (the failed attempt gave its claim back).
    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
}

/// The interleaving behind two intents for one order: a request reads the order, another pays
/// (its intent opens, no attempt is spent, its claim is given back), then the first claims. It
/// must not get the claim: what it planned from (no intent yet) is no longer the order.
#[tokio::test]
async fn a_payment_planned_before_another_opened_its_intent_cannot_claim_the_order() {
    use shop::{orders::store as orders, types::OrderId};
    let t = app().await;
    let (token, _, order, _) = pending_order(&t, 1).await;
    let id = OrderId::parse(&order).unwrap();
    let stale = orders::load_order(t.app, &id).await.unwrap().unwrap();
    let r = t
        .api()
        .pay(&token, &order, &stripe::card(CARD_OK).await)
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let now = shop::types::now_epoch_secs();
    assert!(
        !orders::claim_payment(t.app, &stale, now, now + 60)
            .await
            .unwrap(),
        "a claim planned from the order before the intent opened"
    );
    let fresh = orders::load_order(t.app, &id).await.unwrap().unwrap();
    assert!(
        orders::claim_payment(t.app, &fresh, now, now + 60)
            .await
            .unwrap(),
        "the order as it is now can be claimed (and resumes the open intent)"
    );
}

#[tokio::test]
async fn ten_payments_of_one_order_at_once_create_one_payment_intent() {
    let t = app().await;
    let (token, _, order, _) = pending_order(&t, 1).await;
    let mut cards = Vec::new();
    for _ in 0..10 {
        cards.push(stripe::card(CARD_OK).await);
    }
    let api = t.api();
    let mut calls = tokio::task::JoinSet::new();
    for card in cards.clone() {
        let (api, token, order) = (api.clone(), token.clone(), order.clone());
        calls.spawn(async move { api.pay(&token, &order, &card).await });
    }
    let answers = calls.join_all().await;
    let mut intents = std::collections::BTreeSet::new();
    for r in &answers {
        match r.status() {
            200 => {
                intents.insert(r.body["payment_intent_id"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(r.error_code(), "payment_in_progress", "{:?}", r.body),
            s => panic!("{s}: {:?}", r.body),
        }
    }
    assert_eq!(intents.len(), 1, "{answers:?}");
    assert_eq!(
        stripe::intents_of(&order).await.len(),
        1,
        "one intent at localstripe"
    );
    // Asked again later, the open attempt is answered, not repeated.
    let r = api.pay(&token, &order, &cards[0]).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert!(intents.contains(r.body["payment_intent_id"].as_str().unwrap()));
    assert_eq!(stripe::intents_of(&order).await.len(), 1);
}

#[tokio::test]
async fn an_intent_pays_only_the_order_it_was_created_for() {
    let t = app().await;
    let relay = stripe::relay().await;
    let (token, _, a, _) = pending_order(&t, 1).await;
    let mug = t.product("Cup", 1490, 10).await;
    let r = t
        .api()
        .checkout(
            &token,
            "order-b",
            json!({"items": [{"product_id": mug, "quantity": 1}]}),
        )
        .await;
    let b = r.body["id"].as_str().unwrap().to_string();
    let paid = t.api().pay(&token, &a, &stripe::card(CARD_OK).await).await;
    let intent = paid.body["payment_intent_id"].as_str().unwrap().to_string();
    // A's own intent (same amount), with metadata naming B: B stays unpaid, nothing is refunded.
    let forged = succeeded_event(&format!("evt_{}", ulid::Ulid::new()), &intent, &b, 1490);
    let r = deliver(&t, &forged).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let ob = t.api().order(&token, &b).await.body;
    assert_eq!(
        (ob["status"].as_str(), ob["payment_status"].as_str()),
        (Some("PENDING"), Some("unpaid"))
    );
    // A's real event still pays A.
    assert_eq!(
        deliver(&t, &relay.wait_for(&a, "payment_intent.succeeded"))
            .await
            .status(),
        200
    );
    assert_eq!(t.api().order(&token, &a).await.body["status"], "PAID");
}

#[tokio::test]
async fn signed_webhooks_that_cannot_be_acted_on_are_never_a_500() {
    let t = app().await;
    let (token, _, order, mug) = pending_order(&t, 1).await;
    // An event id of 5,000 characters.
    let long = succeeded_event(&format!("evt_{}", "x".repeat(5000)), "pi_x", &order, 1490);
    let r = deliver(&t, &long).await;
    assert_eq!(
        (r.status(), r.error_code()),
        (400, "invalid_event"),
        "{:?}",
        r.body
    );
    // A payment for a cancelled order, by an intent Stripe no longer knows: the refund cannot
    // happen, so the event is acknowledged (logged and counted for the alarm), once.
    set_order(&t, &order, &[("payment_intent_id", av("pi_gone"))]).await;
    set_order(
        &t,
        &order,
        &[(
            "payment_intents",
            aws_sdk_dynamodb::types::AttributeValue::L(vec![av("pi_gone")]),
        )],
    )
    .await;
    assert_eq!(
        t.api()
            .set_status(&token, &order, "CANCELLED")
            .await
            .status(),
        200
    );
    let late = succeeded_event(
        &format!("evt_{}", ulid::Ulid::new()),
        "pi_gone",
        &order,
        1490,
    );
    let r = deliver(&t, &late).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(deliver(&t, &late).await.body["duplicate"], true);
    assert_eq!(
        t.api().order(&token, &order).await.body["status"],
        "CANCELLED"
    );
    assert_eq!(t.stock_of(&mug).await, 10);
}

#[tokio::test]
async fn an_order_whose_intent_stripe_no_longer_knows_still_lapses_once() {
    let t = two_second_window().await;
    let (token, _, order, mug) = pending_order(&t, 2).await;
    set_order(
        &t,
        &order,
        &[("payment_intent_id", av("pi_forgotten_by_stripe"))],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let run = shop::payments::expire_orders(t.app).await.unwrap();
    assert_eq!(run["expired"], 1, "{run}");
    assert_eq!(
        t.api().order(&token, &order).await.body["status"],
        "CANCELLED"
    );
    assert_eq!(t.stock_of(&mug).await, 10);
    let again = shop::payments::expire_orders(t.app).await.unwrap();
    assert_eq!(again["expired"], 0, "{again}");
    assert_eq!(t.stock_of(&mug).await, 10, "restocked once");
}
