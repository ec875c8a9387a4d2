//! Discount codes: the admin's codes, a code applied in the quote and the order alike (tax after
//! the discount), every reason a code is refused, the limits held by the checkout's transaction
//! under a 50-way race, and a cancelled order giving its use back exactly once.

use serde_json::{Value, json};
use shop_tests::{TestApp, TestResponse, request};

async fn promotion(t: &TestApp, admin: &str, body: Value) -> TestResponse {
    t.api()
        .send(
            request("POST", "/admin/promotions")
                .bearer(admin)
                .json(body),
        )
        .await
}

async fn listed(t: &TestApp, admin: &str, code: &str) -> Value {
    t.every_page(admin, "/admin/promotions", 100)
        .await
        .into_iter()
        .find(|p| p["code"] == code)
        .unwrap_or(Value::Null)
}

fn items(product: &str, quantity: i64) -> Value {
    json!([{"product_id": product, "quantity": quantity}])
}

#[tokio::test]
async fn the_admin_creates_lists_and_ends_codes_and_shoppers_cannot() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let body = json!({"code": "Spring-10", "kind": "percent", "value": 10, "max_redemptions": 100});
    let r = promotion(&t, &admin, body.clone()).await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    assert_eq!(r.body["code"], "SPRING-10");
    assert_eq!(
        (r.body["kind"].as_str(), r.body["redeemed"].as_i64()),
        (Some("percent"), Some(0))
    );
    let again = promotion(
        &t,
        &admin,
        json!({"code": "spring-10", "kind": "fixed", "value": 5}),
    )
    .await;
    assert_eq!(
        (again.status(), again.error_code()),
        (409, "promotion_exists")
    );
    assert_eq!(promotion(&t, &customer, body).await.status(), 403);
    let bad = promotion(
        &t,
        &admin,
        json!({"code": "x y", "kind": "percent", "value": 10}),
    )
    .await;
    assert_eq!(bad.status(), 400, "{:?}", bad.body);
    assert_eq!(
        listed(&t, &admin, "SPRING-10").await["max_redemptions"],
        100
    );

    let end = t
        .api()
        .send(
            request("PUT", "/admin/promotions/spring-10")
                .bearer(&admin)
                .json(json!({"ends_at": "2020-01-01T00:00:00Z", "max_redemptions": null})),
        )
        .await;
    assert_eq!(end.status(), 200, "{:?}", end.body);
    let now = listed(&t, &admin, "SPRING-10").await;
    assert_eq!(now["ends_at"], "2020-01-01T00:00:00.000Z");
    assert!(now.get("max_redemptions").is_none(), "{now}");
    assert_eq!(
        (now["kind"].as_str(), now["value"].as_i64()),
        (Some("percent"), Some(10))
    );
    let missing = t
        .api()
        .send(
            request("PUT", "/admin/promotions/NOPE")
                .bearer(&admin)
                .json(json!({})),
        )
        .await;
    assert_eq!(missing.status(), 404);

    // The list reads a page at a time, A to Z, each code once.
    for code in ["delta-5", "alpha-5", "echo-5", "charlie-5"] {
        let r = promotion(
            &t,
            &admin,
            json!({"code": code, "kind": "fixed", "value": 500}),
        )
        .await;
        assert_eq!(r.status(), 201, "{:?}", r.body);
    }
    let codes: Vec<Value> = t
        .every_page(&admin, "/admin/promotions", 2)
        .await
        .iter()
        .map(|p| p["code"].clone())
        .collect();
    assert_eq!(
        codes,
        ["ALPHA-5", "CHARLIE-5", "DELTA-5", "ECHO-5", "SPRING-10"]
    );
    let shopper = t
        .api()
        .send(request("GET", "/admin/promotions").bearer(&customer))
        .await;
    assert_eq!(shopper.status(), 403);
}

#[tokio::test]
async fn a_code_takes_the_same_amount_off_the_quote_and_the_order_and_tax_follows() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let tea = t.product("Tea", 2_000, 10).await;
    promotion(
        &t,
        &admin,
        json!({"code": "quarter", "kind": "percent", "value": 25}),
    )
    .await;
    // California taxes the tea at 7.25 %: of the 30.00 left after the code, not of 40.00.
    let ca = json!({
        "name": "A Shopper", "line1": "1 Market St", "city": "San Francisco",
        "region": "CA", "postal_code": "94105", "country": "US"
    });
    let body = json!({"items": items(&tea, 2), "promo_code": "Quarter", "shipping_address": ca});
    let quote = t
        .api()
        .send(
            request("POST", "/checkout/quote")
                .bearer(&customer)
                .json(body.clone()),
        )
        .await;
    assert_eq!(quote.status(), 200, "{:?}", quote.body);
    let order = t.api().checkout(&customer, "q-1", body.clone()).await;
    assert_eq!(order.status(), 201, "{:?}", order.body);
    for field in [
        "subtotal_cents",
        "discount_cents",
        "shipping_cents",
        "tax_cents",
        "total_cents",
    ] {
        assert_eq!(quote.body[field], order.body[field], "{field}");
    }
    let o = &order.body;
    assert_eq!(o["promo_code"], "QUARTER");
    let amounts: Vec<i64> = [
        "subtotal_cents",
        "discount_cents",
        "shipping_cents",
        "tax_cents",
        "total_cents",
    ]
    .iter()
    .map(|f| o[f].as_i64().unwrap())
    .collect();
    assert_eq!(amounts, [4_000, 1_000, 590, 218, 4_000 - 1_000 + 590 + 218]);
    // A repeat of the request is the same order, and takes no second use.
    let replay = t.api().checkout(&customer, "q-1", body).await;
    assert_eq!(replay.body["id"], o["id"]);
    assert_eq!(listed(&t, &admin, "QUARTER").await["redeemed"], 1);
}

#[tokio::test]
async fn a_code_that_does_not_apply_is_refused_with_its_reason_and_nothing_is_reserved() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let tea = t.product("Tea", 1_000, 10).await;
    for body in [
        json!({"code": "ended", "kind": "percent", "value": 10, "ends_at": "2020-01-01T00:00:00Z"}),
        json!({"code": "later", "kind": "percent", "value": 10, "starts_at": "2099-01-01T00:00:00Z"}),
        json!({"code": "big-spender", "kind": "fixed", "value": 500, "min_subtotal_cents": 5_000}),
        json!({"code": "mugs-only", "kind": "percent", "value": 10, "categories": ["mugs"]}),
    ] {
        assert_eq!(promotion(&t, &admin, body).await.status(), 201);
    }
    for (i, (code, reason)) in [
        ("nothing-like-it", "unknown"),
        ("ended", "ended"),
        ("later", "not_started"),
        ("big-spender", "under_minimum"),
        ("mugs-only", "out_of_scope"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = t
            .api()
            .checkout(
                &customer,
                &format!("r-{i}"),
                json!({"items": items(&tea, 1), "promo_code": code}),
            )
            .await;
        assert_eq!(
            (r.status(), r.error_code()),
            (422, "promotion_invalid"),
            "{code}"
        );
        assert_eq!(r.body["error"]["details"]["reason"], reason, "{code}");
    }
    assert_eq!(t.stock_of(&tea).await, 10);
}

/// 50 really concurrent checkouts with a 10-use code: exactly 10 discounted orders, 40 clean 409
/// `promotion_exhausted` with no stock taken; a cancelled order gives its use back once, even when
/// cancelled twice at once, and the use can then be taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_concurrent_checkouts_redeem_a_ten_use_code_exactly_ten_times() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let p = t.product("Popular", 1_500, 100).await;
    promotion(
        &t,
        &admin,
        json!({"code": "TEN", "kind": "fixed", "value": 300, "max_redemptions": 10}),
    )
    .await;
    let mut buyers = Vec::new();
    for i in 0..10 {
        buyers.push(t.api().customer(&format!("buyer{i}@example.com")).await);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (api, token, barrier) = (t.api().clone(), buyers[i % 10].clone(), barrier.clone());
        let body = shop_tests::shipped(json!({"items": items(&p, 1), "promo_code": "ten"}));
        set.spawn(async move {
            let req = || {
                request("POST", "/orders")
                    .bearer(&token)
                    .header("idempotency-key", &format!("c{i}"))
                    .json(body.clone())
            };
            barrier.wait().await;
            // As a client does: a 503 (DynamoDB Local's queue outlasting the SDK's timeout while
            // other suites share it) is retried with the same key, which must neither place a
            // second order nor take a second use.
            let mut r = api.send(req()).await;
            for _ in 0..5 {
                if r.status() != 503 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                r = api.send(req()).await;
            }
            (token, r)
        });
    }
    let results = set.join_all().await;
    let placed: Vec<&(String, TestResponse)> =
        results.iter().filter(|(_, r)| r.status() == 201).collect();
    let refused: Vec<(u16, &str)> = results
        .iter()
        .filter(|(_, r)| r.status() != 201)
        .map(|(_, r)| (r.status(), r.error_code()))
        .collect();
    assert_eq!(placed.len(), 10, "{refused:?}");
    assert!(
        refused.iter().all(|r| *r == (409, "promotion_exhausted")),
        "{refused:?}"
    );
    assert!(placed.iter().all(|(_, r)| r.body["discount_cents"] == 300));
    assert_eq!(
        t.stock_of(&p).await,
        90,
        "only the placed orders hold stock"
    );
    assert_eq!(listed(&t, &admin, "TEN").await["redeemed"], 10);

    let (owner, first) = placed[0];
    let id = first.body["id"].as_str().unwrap().to_string();
    let mut set = tokio::task::JoinSet::new();
    for token in [owner.clone(), admin.clone()] {
        let (api, id) = (t.api().clone(), id.clone());
        set.spawn(async move {
            let req = request("PUT", &format!("/orders/{id}/status"))
                .bearer(&token)
                .json(json!({"status": "CANCELLED"}));
            api.send(req).await.status()
        });
    }
    let mut statuses = set.join_all().await;
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    assert_eq!(
        listed(&t, &admin, "TEN").await["redeemed"],
        9,
        "given back once"
    );
    let again = t
        .api()
        .checkout(
            &buyers[3],
            "after-cancel",
            json!({"items": items(&p, 1), "promo_code": "TEN"}),
        )
        .await;
    assert_eq!(again.status(), 201, "{:?}", again.body);
    let last = t
        .api()
        .checkout(
            &buyers[4],
            "one-too-many",
            json!({"items": items(&p, 1), "promo_code": "TEN"}),
        )
        .await;
    assert_eq!(
        (last.status(), last.error_code()),
        (409, "promotion_exhausted")
    );
}

#[tokio::test]
async fn a_once_per_customer_code_is_used_once_until_that_order_is_cancelled() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let tea = t.product("Tea", 1_000, 10).await;
    promotion(
        &t,
        &admin,
        json!({"code": "welcome", "kind": "percent", "value": 10, "max_per_customer": 1}),
    )
    .await;
    let body = || json!({"items": items(&tea, 1), "promo_code": "WELCOME"});
    let first = t.api().checkout(&customer, "w-1", body()).await;
    assert_eq!(first.status(), 201, "{:?}", first.body);
    let second = t.api().checkout(&customer, "w-2", body()).await;
    assert_eq!(
        (second.status(), second.error_code()),
        (409, "promotion_exhausted")
    );
    assert!(
        second.body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("you have used")
    );
    let other = t.api().customer("someone@else.test").await;
    assert_eq!(t.api().checkout(&other, "w-3", body()).await.status(), 201);
    let id = first.body["id"].as_str().unwrap();
    assert_eq!(
        t.api()
            .set_status(&customer, id, "CANCELLED")
            .await
            .status(),
        200
    );
    assert_eq!(
        t.api().checkout(&customer, "w-4", body()).await.status(),
        201
    );
    assert_eq!(t.stock_of(&tea).await, 8);
}
