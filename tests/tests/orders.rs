//! Cart, checkout and order status against DynamoDB Local, through the handlers.

use serde_json::{Value, json};
use shop::{
    catalog::{self as products, NewProduct},
    orders::{create_order, get_cart, get_order, list_orders, put_cart, update_order_status},
};
use shop_tests::{TestApp, TestResponse, admin_and_customer, login_token, request};

async fn product(t: &TestApp, name: &str, price: i64, stock: i64) -> String {
    let req: products::CreateProductRequest = serde_json::from_value(
        json!({"name": name, "price_cents": price, "category": "test", "stock": stock}),
    )
    .unwrap();
    products::create(t.app, NewProduct::try_from(req).unwrap())
        .await
        .unwrap()
        .id
        .to_string()
}

async fn stock_of(t: &TestApp, id: &str) -> i64 {
    let id = shop::types::ProductId::parse("id", id).unwrap();
    products::load_product(t.app, &id, true)
        .await
        .unwrap()
        .unwrap()
        .stock
}

async fn customer(t: &TestApp, email: &str) -> String {
    let r = t
        .call(
            shop::users::register,
            request("POST", "/users/register")
                .json(json!({"email": email, "password": "password123", "name": "C"})),
        )
        .await;
    assert_eq!(r.status(), 201);
    login_token(t, email, "password123").await
}

async fn checkout(t: &TestApp, token: &str, key: &str, body: Value) -> TestResponse {
    let mut req = request("POST", "/orders")
        .bearer(token)
        .header("idempotency-key", key);
    if !body.is_null() {
        req = req.json(body);
    }
    t.call(create_order, req).await
}

fn items(lines: &[(&str, i64)]) -> Value {
    json!({"items": lines.iter().map(|(id, q)| json!({"product_id": id, "quantity": q})).collect::<Vec<_>>()})
}

async fn set_status(t: &TestApp, token: &str, id: &str, status: &str) -> TestResponse {
    t.call(
        update_order_status,
        request("PUT", "/orders/x/status")
            .path_param("id", id)
            .bearer(token)
            .json(json!({"status": status})),
    )
    .await
}

#[tokio::test]
async fn cart_is_priced_from_the_catalog_and_replaced_by_put() {
    let t = TestApp::new().await;
    let (admin, token) = admin_and_customer(&t).await;
    let mug = product(&t, "Mug", 1490, 5).await;
    let tea = product(&t, "Tea", 890, 0).await;
    let r = t
        .call(get_cart, request("GET", "/cart").bearer(&token))
        .await;
    assert_eq!(
        r.body,
        json!({"items": [], "total_cents": 0, "currency": "USD", "unavailable": []})
    );

    let r = t
        .call(
            put_cart,
            request("PUT", "/cart")
                .bearer(&token)
                .json(items(&[(&mug, 2), (&tea, 1)])),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["total_cents"], 2 * 1490 + 890);
    assert_eq!(
        r.body["items"][0],
        json!({"product_id": mug, "name": "Mug", "unit_price_cents": 1490, "quantity": 2, "line_total_cents": 2980, "stock": 5})
    );
    assert_eq!(r.body["items"][1]["stock"], 0);

    let r = t
        .call(
            put_cart,
            request("PUT", "/cart")
                .bearer(&token)
                .json(items(&[(&mug, 3), (&tea, 0)])),
        )
        .await;
    assert_eq!(
        r.body["items"].as_array().unwrap().len(),
        1,
        "quantity 0 removes the line"
    );
    // Prices come from the catalog whenever the cart is read.
    let r = t
        .call(
            products::update_product,
            request("PUT", "/products/x")
                .path_param("id", &mug)
                .bearer(&admin)
                .json(json!({"price_cents": 1290})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = t
        .call(get_cart, request("GET", "/cart").bearer(&token))
        .await;
    assert_eq!(r.body["total_cents"], 3 * 1290);

    let ghost = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let r = t
        .call(
            put_cart,
            request("PUT", "/cart")
                .bearer(&token)
                .json(items(&[(ghost, 1)])),
        )
        .await;
    assert_eq!((r.status(), r.error_code()), (422, "unknown_products"));
    assert_eq!(r.body["error"]["details"]["product_ids"], json!([ghost]));
    for bad in [
        items(&[(&mug, 100)]),
        items(&[(&mug, -1)]),
        items(&[(&mug, 1), (&mug, 2)]),
        json!({"items": "x"}),
        json!({}),
    ] {
        let r = t
            .call(
                put_cart,
                request("PUT", "/cart").bearer(&token).json(bad.clone()),
            )
            .await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = t
        .call(
            put_cart,
            request("PUT", "/cart")
                .bearer(&token)
                .json(json!({"items": []})),
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(
        t.call(get_cart, request("GET", "/cart")).await.status(),
        401
    );
}

#[tokio::test]
async fn deleted_products_are_reported_in_the_cart() {
    let t = TestApp::new().await;
    let (admin, token) = admin_and_customer(&t).await;
    let a = product(&t, "Stays", 100, 5).await;
    let b = product(&t, "Goes", 200, 5).await;
    t.call(
        put_cart,
        request("PUT", "/cart")
            .bearer(&token)
            .json(items(&[(&a, 1), (&b, 1)])),
    )
    .await;
    let r = t
        .call(
            products::delete_product,
            request("DELETE", "/products/x")
                .path_param("id", &b)
                .bearer(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    let r = t
        .call(get_cart, request("GET", "/cart").bearer(&token))
        .await;
    assert_eq!(r.body["unavailable"], json!([b]));
    assert_eq!(r.body["total_cents"], 100);
    let r = checkout(&t, &token, "k1", Value::Null).await;
    assert_eq!((r.status(), r.error_code()), (422, "unknown_products"));
}

#[tokio::test]
async fn checkout_of_items_reserves_stock_at_catalog_prices() {
    let t = TestApp::new().await;
    let token = customer(&t, "buyer@example.com").await;
    let a = product(&t, "Kettle", 5490, 3).await;
    let b = product(&t, "Filters", 590, 10).await;
    let r = checkout(&t, &token, "order-1", items(&[(&a, 2), (&b, 4)])).await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    let o = &r.body;
    assert_eq!(o["status"], "PENDING");
    assert_eq!(o["total_cents"], 2 * 5490 + 4 * 590);
    assert_eq!(o["currency"], "USD");
    assert_eq!(
        o["items"][0],
        json!({"product_id": a, "name": "Kettle", "unit_price_cents": 5490, "quantity": 2})
    );
    assert_eq!((stock_of(&t, &a).await, stock_of(&t, &b).await), (1, 6));

    // Clients cannot set prices.
    let mut forged = items(&[(&b, 1)]);
    forged["items"][0]["unit_price_cents"] = 1.into();
    assert_eq!(checkout(&t, &token, "order-2", forged).await.status(), 400);
}

#[tokio::test]
async fn insufficient_stock_is_409_naming_what_is_short_and_reserves_nothing() {
    let t = TestApp::new().await;
    let token = customer(&t, "short@example.com").await;
    let a = product(&t, "Plenty", 100, 50).await;
    let b = product(&t, "Scarce", 100, 2).await;
    let r = checkout(&t, &token, "k", items(&[(&a, 5), (&b, 3)])).await;
    assert_eq!((r.status(), r.error_code()), (409, "insufficient_stock"));
    assert_eq!(r.body["error"]["details"]["product_ids"], json!([b]));
    assert_eq!(r.body["error"]["details"]["available"][&b], 2);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only 2 left")
    );
    assert_eq!(
        (stock_of(&t, &a).await, stock_of(&t, &b).await),
        (50, 2),
        "nothing half-written"
    );
    let r = t
        .call(list_orders, request("GET", "/orders").bearer(&token))
        .await;
    assert_eq!(r.body["items"], json!([]));
}

#[tokio::test]
async fn idempotency_key_is_required_and_replays_without_a_second_reservation() {
    let t = TestApp::new().await;
    let token = customer(&t, "idem@example.com").await;
    let a = product(&t, "Beans", 1650, 10).await;
    let r = t
        .call(
            create_order,
            request("POST", "/orders")
                .bearer(&token)
                .json(items(&[(&a, 1)])),
        )
        .await;
    assert_eq!(
        (r.status(), r.error_code()),
        (400, "invalid_idempotency_key")
    );
    let long = "k".repeat(101);
    assert_eq!(
        checkout(&t, &token, &long, items(&[(&a, 1)]))
            .await
            .status(),
        400
    );

    let first = checkout(&t, &token, "same-key", items(&[(&a, 2)])).await;
    assert_eq!(first.status(), 201);
    let again = checkout(&t, &token, "same-key", items(&[(&a, 2)])).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(stock_of(&t, &a).await, 8, "reserved once");

    let other = checkout(&t, &token, "same-key", items(&[(&a, 3)])).await;
    assert_eq!(
        (other.status(), other.error_code()),
        (409, "idempotency_key_reused")
    );
    // Keys belong to their user: another customer may use the same string.
    let token2 = customer(&t, "idem2@example.com").await;
    assert_eq!(
        checkout(&t, &token2, "same-key", items(&[(&a, 1)]))
            .await
            .status(),
        201
    );
    assert_eq!(stock_of(&t, &a).await, 7);
}

/// The idempotency record is found by the checkout's own transaction, not read first: a retry must
/// still get its order when what it asks for could no longer be placed.
#[tokio::test]
async fn a_retry_gets_its_order_after_the_product_sold_out_or_was_deleted() {
    let t = TestApp::new().await;
    let (admin, token) = admin_and_customer(&t).await;
    let a = product(&t, "Last one", 500, 1).await;
    let first = checkout(&t, &token, "once", items(&[(&a, 1)])).await;
    assert_eq!(first.status(), 201, "{:?}", first.body);
    let sold_out = checkout(&t, &token, "once", items(&[(&a, 1)])).await;
    assert_eq!(
        (sold_out.status(), &sold_out.body),
        (201, &first.body),
        "sold out since"
    );
    assert_eq!(sold_out.header("idempotent-replayed"), Some("true"));
    let other = checkout(&t, &token, "once", items(&[(&a, 2)])).await;
    assert_eq!(
        (other.status(), other.error_code()),
        (409, "idempotency_key_reused")
    );
    let r = t
        .call(
            products::delete_product,
            request("DELETE", "/products/x")
                .path_param("id", &a)
                .bearer(&admin),
        )
        .await;
    assert_eq!(r.status(), 204);
    let gone = checkout(&t, &token, "once", items(&[(&a, 1)])).await;
    assert_eq!(
        (gone.status(), &gone.body),
        (201, &first.body),
        "deleted since"
    );
    let fresh = checkout(&t, &token, "new-key", items(&[(&a, 1)])).await;
    assert_eq!(
        (fresh.status(), fresh.error_code()),
        (422, "unknown_products")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_create_one_order() {
    let t = TestApp::new().await;
    let token = customer(&t, "dupes@example.com").await;
    let a = product(&t, "Beans", 1650, 100).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (app, token, body) = (t.app, token.clone(), items(&[(&a, 1)]));
        set.spawn(async move {
            let req = request("POST", "/orders")
                .bearer(&token)
                .header("idempotency-key", "retry-storm")
                .json(body);
            TestResponse::from(shop::dispatch(app, req.build(), create_order).await)
        });
    }
    let results = set.join_all().await;
    let ids: std::collections::HashSet<String> = results
        .iter()
        .filter(|r| r.status() == 201)
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "{:?}",
        results
            .iter()
            .map(|r| (r.status(), r.body.clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(stock_of(&t, &a).await, 99);
}

#[tokio::test]
async fn checkout_of_the_cart_empties_it() {
    let t = TestApp::new().await;
    let token = customer(&t, "cartco@example.com").await;
    let a = product(&t, "Mug", 1490, 4).await;
    let r = checkout(&t, &token, "empty", Value::Null).await;
    assert_eq!((r.status(), r.error_code()), (422, "empty_cart"));
    t.call(
        put_cart,
        request("PUT", "/cart")
            .bearer(&token)
            .json(items(&[(&a, 3)])),
    )
    .await;
    let r = checkout(&t, &token, "from-cart", json!({})).await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    assert_eq!(r.body["total_cents"], 3 * 1490);
    let cart = t
        .call(get_cart, request("GET", "/cart").bearer(&token))
        .await;
    assert_eq!(cart.body["items"], json!([]));
    assert_eq!(stock_of(&t, &a).await, 1);
    // The retry of that checkout returns the same order even though the cart is now empty.
    let again = checkout(&t, &token, "from-cart", Value::Null).await;
    assert_eq!((again.status(), &again.body["id"]), (201, &r.body["id"]));
}

#[tokio::test]
async fn orders_are_listed_newest_first_with_paging_and_hidden_from_others() {
    let t = TestApp::new().await;
    let (admin, token) = admin_and_customer(&t).await;
    let other = customer(&t, "other@example.com").await;
    let a = product(&t, "Beans", 100, 100).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = checkout(&t, &token, &format!("k{i}"), items(&[(&a, 1)])).await;
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    checkout(&t, &other, "o1", items(&[(&a, 1)])).await;
    let r = t
        .call(
            list_orders,
            request("GET", "/orders").bearer(&token).query("limit", "3"),
        )
        .await;
    let page1: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        page1,
        ids.iter()
            .rev()
            .take(3)
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    let cursor = r.body["next_cursor"].as_str().unwrap();
    let r = t
        .call(
            list_orders,
            request("GET", "/orders")
                .bearer(&token)
                .query("limit", "3")
                .query("cursor", cursor),
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    assert!(r.body["next_cursor"].is_null());
    // Another customer's cursor scope does not fit mine.
    let r = t
        .call(
            list_orders,
            request("GET", "/orders")
                .bearer(&other)
                .query("cursor", cursor),
        )
        .await;
    assert_eq!(r.status(), 400);

    let get = |tok: &str, id: &str| {
        t.call(
            get_order,
            request("GET", "/orders/x").path_param("id", id).bearer(tok),
        )
    };
    assert_eq!(get(&token, &ids[0]).await.status(), 200);
    assert_eq!(get(&admin, &ids[0]).await.status(), 200);
    let r = get(&other, &ids[0]).await;
    assert_eq!((r.status(), r.error_code()), (404, "not_found"));
    assert_eq!(
        get(&token, "01ARZ3NDEKTSV4RRFFQ69G5FAV").await.status(),
        404
    );
    assert_eq!(get(&token, "nope").await.status(), 404);

    // Admins list every customer's orders by status; customers may not.
    let r = t
        .call(
            list_orders,
            request("GET", "/orders")
                .bearer(&admin)
                .query("status", "pending"),
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 6);
    let r = t
        .call(
            list_orders,
            request("GET", "/orders")
                .bearer(&token)
                .query("status", "PENDING"),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = t
        .call(
            list_orders,
            request("GET", "/orders")
                .bearer(&admin)
                .query("status", "LOST"),
        )
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn status_machine_for_admins_and_owners() {
    let t = TestApp::new().await;
    let (admin, token) = admin_and_customer(&t).await;
    let other = customer(&t, "intruder@example.com").await;
    let a = product(&t, "Beans", 100, 10).await;
    let id = checkout(&t, &token, "k", items(&[(&a, 2)])).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();

    assert_eq!(
        set_status(&t, &token, &id, "PAID").await.status(),
        403,
        "customers cannot mark paid"
    );
    assert_eq!(
        set_status(&t, &other, &id, "CANCELLED").await.status(),
        404,
        "others cannot see it"
    );
    let r = set_status(&t, &admin, &id, "SHIPPED").await;
    assert_eq!(
        (r.status(), r.error_code()),
        (409, "invalid_status_transition")
    );
    for st in ["PAID", "SHIPPED"] {
        let r = set_status(&t, &admin, &id, st).await;
        assert_eq!((r.status(), r.body["status"].as_str()), (200, Some(st)));
    }
    assert_eq!(
        set_status(&t, &admin, &id, "CANCELLED").await.status(),
        409,
        "no cancel after shipping"
    );
    assert_eq!(
        set_status(&t, &admin, &id, "DELIVERED").await.body["status"],
        "DELIVERED"
    );
    assert_eq!(set_status(&t, &admin, &id, "DELIVERED").await.status(), 409);
    assert_eq!(set_status(&t, &admin, &id, "BOGUS").await.status(), 400);
    assert_eq!(stock_of(&t, &a).await, 8);

    // The owner cancels a PENDING order; stock comes back.
    let id2 = checkout(&t, &token, "k2", items(&[(&a, 3)])).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stock_of(&t, &a).await, 5);
    let r = set_status(&t, &token, &id2, "cancelled").await;
    assert_eq!(
        (r.status(), r.body["status"].as_str()),
        (200, Some("CANCELLED"))
    );
    assert_eq!(stock_of(&t, &a).await, 8);
    assert_eq!(set_status(&t, &admin, &id2, "PAID").await.status(), 409);

    // An owner cannot cancel once it is PAID; an admin can, and stock comes back.
    let id3 = checkout(&t, &token, "k3", items(&[(&a, 1)])).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    set_status(&t, &admin, &id3, "PAID").await;
    assert_eq!(
        set_status(&t, &token, &id3, "CANCELLED").await.status(),
        409
    );
    assert_eq!(
        set_status(&t, &admin, &id3, "CANCELLED").await.status(),
        200
    );
    assert_eq!(stock_of(&t, &a).await, 8);
}

#[tokio::test]
async fn cancelling_an_order_whose_product_was_deleted_still_works() {
    let t = TestApp::new().await;
    let (admin, token) = admin_and_customer(&t).await;
    let a = product(&t, "Keeps", 100, 5).await;
    let b = product(&t, "Deleted", 100, 5).await;
    let id = checkout(&t, &token, "k", items(&[(&a, 1), (&b, 1)]))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.call(
        products::delete_product,
        request("DELETE", "/p").path_param("id", &b).bearer(&admin),
    )
    .await;
    let r = set_status(&t, &token, &id, "CANCELLED").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(stock_of(&t, &a).await, 5);
    let r = t
        .call(
            products::get_product,
            request("GET", "/p").path_param("id", &b),
        )
        .await;
    assert_eq!(
        r.status(),
        404,
        "a deleted product is not resurrected by a restock"
    );
}

/// 50 really concurrent checkouts of one unit against stock 10: exactly 10 orders, stock 0,
/// 40 clean 409s, nothing half-written. Then concurrent double cancels restore stock exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn fifty_concurrent_checkouts_never_oversell() {
    let t = TestApp::new().await;
    let (admin, _) = admin_and_customer(&t).await;
    let p = product(&t, "Limited Edition", 9900, 10).await;
    let mut buyers = Vec::new();
    for i in 0..5 {
        buyers.push(customer(&t, &format!("buyer{i}@example.com")).await);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (app, token, body, barrier) = (
            t.app,
            buyers[i % 5].clone(),
            items(&[(&p, 1)]),
            barrier.clone(),
        );
        set.spawn(async move {
            let req = request("POST", "/orders")
                .bearer(&token)
                .header("idempotency-key", &format!("c{i}"))
                .json(body);
            barrier.wait().await;
            TestResponse::from(shop::dispatch(app, req.build(), create_order).await)
        });
    }
    let results = set.join_all().await;
    let created: Vec<&TestResponse> = results.iter().filter(|r| r.status() == 201).collect();
    let refused: Vec<&TestResponse> = results.iter().filter(|r| r.status() == 409).collect();
    assert_eq!(
        created.len(),
        10,
        "{:?}",
        results.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    assert_eq!(refused.len(), 40);
    assert!(
        refused
            .iter()
            .all(|r| r.error_code() == "insufficient_stock")
    );
    assert_eq!(stock_of(&t, &p).await, 0);
    let all = t
        .call(
            list_orders,
            request("GET", "/orders")
                .bearer(&admin)
                .query("status", "PENDING")
                .query("limit", "100"),
        )
        .await;
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        10,
        "exactly the accepted orders exist"
    );

    // Every order cancelled twice at once, by owner and admin: stock comes back exactly once each.
    let mut set = tokio::task::JoinSet::new();
    for r in &created {
        let id = r.body["id"].as_str().unwrap().to_string();
        let owner = r.body["user_id"].as_str().unwrap().to_string();
        let owner_token = buyers
            .iter()
            .find(|b| owner_of(b) == owner)
            .unwrap()
            .clone();
        for token in [owner_token, admin.clone()] {
            let (app, id) = (t.app, id.clone());
            set.spawn(async move {
                let req = request("PUT", "/orders/x/status")
                    .path_param("id", &id)
                    .bearer(&token)
                    .json(json!({"status": "CANCELLED"}));
                TestResponse::from(shop::dispatch(app, req.build(), update_order_status).await)
                    .status()
            });
        }
    }
    let statuses = set.join_all().await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(stock_of(&t, &p).await, 10);
}

/// The `sub` claim of a token (test helper; the signature was checked by the API already).
fn owner_of(token: &str) -> String {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["sub"].as_str().unwrap().to_string()
}
