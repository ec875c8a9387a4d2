//! Cart, checkout and order status against DynamoDB Local, through the handlers.

use serde_json::{Value, json};
use shop_tests::{TestApp, TestResponse, UPS_TRACKING, request};

fn items(lines: &[(&str, i64)]) -> Value {
    json!({"items": lines.iter().map(|(id, q)| json!({"product_id": id, "quantity": q})).collect::<Vec<_>>()})
}

#[tokio::test]
async fn cart_is_priced_from_the_catalog_and_replaced_by_put() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let mug = t.product("Mug", 1490, 5).await;
    let tea = t.product("Tea", 890, 0).await;
    let r = t.api().send(request("GET", "/cart").bearer(&token)).await;
    assert_eq!(
        r.body,
        json!({"items": [], "total_cents": 0, "currency": "USD", "unavailable": []})
    );

    let r = t
        .api()
        .send(
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
        .api()
        .send(
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
        .api()
        .send(
            request("PUT", &format!("/products/{mug}"))
                .bearer(&admin)
                .json(json!({"price_cents": 1290})),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = t.api().send(request("GET", "/cart").bearer(&token)).await;
    assert_eq!(r.body["total_cents"], 3 * 1290);

    let ghost = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let r = t
        .api()
        .send(
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
            .api()
            .send(request("PUT", "/cart").bearer(&token).json(bad.clone()))
            .await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = t
        .api()
        .send(
            request("PUT", "/cart")
                .bearer(&token)
                .json(json!({"items": []})),
        )
        .await;
    assert_eq!(r.body["items"], json!([]));
    assert_eq!(t.api().send(request("GET", "/cart")).await.status(), 401);
}

#[tokio::test]
async fn deleted_products_are_reported_in_the_cart() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let a = t.product("Stays", 100, 5).await;
    let b = t.product("Goes", 200, 5).await;
    t.api()
        .send(
            request("PUT", "/cart")
                .bearer(&token)
                .json(items(&[(&a, 1), (&b, 1)])),
        )
        .await;
    let r = t
        .api()
        .send(request("DELETE", &format!("/products/{b}")).bearer(&admin))
        .await;
    assert_eq!(r.status(), 204);
    let r = t.api().send(request("GET", "/cart").bearer(&token)).await;
    assert_eq!(r.body["unavailable"], json!([b]));
    assert_eq!(r.body["total_cents"], 100);
    // Checking out the cart drops the line it shows as unavailable, as the cart says.
    let r = t.api().checkout(&token, "k1", Value::Null).await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    assert_eq!(r.body["subtotal_cents"], 100);
    // Oregon by standard shipping, no sales tax.
    assert_eq!(r.body["total_cents"], 100 + 590);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["items"][0]["product_id"], json!(a));
    // A cart holding nothing that is still sold cannot be checked out.
    t.api()
        .put_cart(&token, json!([{"product_id": a, "quantity": 1}]))
        .await;
    let r = t
        .api()
        .send(request("DELETE", &format!("/products/{a}")).bearer(&admin))
        .await;
    assert_eq!(r.status(), 204);
    let r = t.api().checkout(&token, "k2", Value::Null).await;
    assert_eq!((r.status(), r.error_code()), (422, "unknown_products"));
}

#[tokio::test]
async fn checkout_of_items_reserves_stock_at_catalog_prices() {
    let t = TestApp::new().await;
    let token = t.api().customer("buyer@example.com").await;
    let a = t.product("Kettle", 5490, 3).await;
    let b = t.product("Filters", 590, 10).await;
    let r = t
        .api()
        .checkout(&token, "order-1", items(&[(&a, 2), (&b, 4)]))
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    let o = &r.body;
    assert_eq!(o["status"], "PENDING");
    assert_eq!(o["total_cents"], 2 * 5490 + 4 * 590);
    assert_eq!(o["currency"], "USD");
    assert_eq!(
        o["items"][0],
        json!({"product_id": a, "name": "Kettle", "unit_price_cents": 5490, "quantity": 2})
    );
    assert_eq!((t.stock_of(&a).await, t.stock_of(&b).await), (1, 6));

    // Clients cannot set prices.
    let mut forged = items(&[(&b, 1)]);
    forged["items"][0]["unit_price_cents"] = 1.into();
    assert_eq!(
        t.api().checkout(&token, "order-2", forged).await.status(),
        400
    );
}

#[tokio::test]
async fn insufficient_stock_is_409_naming_what_is_short_and_reserves_nothing() {
    let t = TestApp::new().await;
    let token = t.api().customer("short@example.com").await;
    let a = t.product("Plenty", 100, 50).await;
    let b = t.product("Scarce", 100, 2).await;
    let r = t
        .api()
        .checkout(&token, "k", items(&[(&a, 5), (&b, 3)]))
        .await;
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
        (t.stock_of(&a).await, t.stock_of(&b).await),
        (50, 2),
        "nothing half-written"
    );
    let r = t.api().send(request("GET", "/orders").bearer(&token)).await;
    assert_eq!(r.body["items"], json!([]));
}

#[tokio::test]
async fn idempotency_key_is_required_and_replays_without_a_second_reservation() {
    let t = TestApp::new().await;
    let token = t.api().customer("idem@example.com").await;
    let a = t.product("Beans", 1650, 10).await;
    let r = t
        .api()
        .send(
            request("POST", "/orders")
                .bearer(&token)
                .json(shop_tests::shipped(items(&[(&a, 1)]))),
        )
        .await;
    assert_eq!(
        (r.status(), r.error_code()),
        (400, "invalid_idempotency_key")
    );
    let long = "k".repeat(101);
    assert_eq!(
        t.api()
            .checkout(&token, &long, items(&[(&a, 1)]))
            .await
            .status(),
        400
    );

    let first = t
        .api()
        .checkout(&token, "same-key", items(&[(&a, 2)]))
        .await;
    assert_eq!(first.status(), 201);
    let again = t
        .api()
        .checkout(&token, "same-key", items(&[(&a, 2)]))
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(t.stock_of(&a).await, 8, "reserved once");

    let other = t
        .api()
        .checkout(&token, "same-key", items(&[(&a, 3)]))
        .await;
    assert_eq!(
        (other.status(), other.error_code()),
        (409, "idempotency_key_reused")
    );
    // Keys belong to their user: another customer may use the same string.
    let token2 = t.api().customer("idem2@example.com").await;
    assert_eq!(
        t.api()
            .checkout(&token2, "same-key", items(&[(&a, 1)]))
            .await
            .status(),
        201
    );
    assert_eq!(t.stock_of(&a).await, 7);
}

/// The idempotency record is found by the checkout's own transaction, not read first: a retry must
/// still get its order when what it asks for could no longer be placed.
#[tokio::test]
async fn a_retry_gets_its_order_after_the_product_sold_out_or_was_deleted() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let a = t.product("Last one", 500, 1).await;
    let first = t.api().checkout(&token, "once", items(&[(&a, 1)])).await;
    assert_eq!(first.status(), 201, "{:?}", first.body);
    let sold_out = t.api().checkout(&token, "once", items(&[(&a, 1)])).await;
    assert_eq!(
        (sold_out.status(), &sold_out.body),
        (201, &first.body),
        "sold out since"
    );
    assert_eq!(sold_out.header("idempotent-replayed"), Some("true"));
    let other = t.api().checkout(&token, "once", items(&[(&a, 2)])).await;
    assert_eq!(
        (other.status(), other.error_code()),
        (409, "idempotency_key_reused")
    );
    let r = t
        .api()
        .send(request("DELETE", &format!("/products/{a}")).bearer(&admin))
        .await;
    assert_eq!(r.status(), 204);
    let gone = t.api().checkout(&token, "once", items(&[(&a, 1)])).await;
    assert_eq!(
        (gone.status(), &gone.body),
        (201, &first.body),
        "deleted since"
    );
    let fresh = t.api().checkout(&token, "new-key", items(&[(&a, 1)])).await;
    assert_eq!(
        (fresh.status(), fresh.error_code()),
        (422, "unknown_products")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_key_create_one_order() {
    let t = TestApp::new().await;
    let token = t.api().customer("dupes@example.com").await;
    let a = t.product("Beans", 1650, 100).await;
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (api, token, body) = (
            t.api().clone(),
            token.clone(),
            shop_tests::shipped(items(&[(&a, 1)])),
        );
        set.spawn(async move {
            let req = request("POST", "/orders")
                .bearer(&token)
                .header("idempotency-key", "retry-storm")
                .json(body);
            api.send(req).await
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
    assert_eq!(t.stock_of(&a).await, 99);
}

#[tokio::test]
async fn checkout_of_the_cart_empties_it() {
    let t = TestApp::new().await;
    let token = t.api().customer("cartco@example.com").await;
    let a = t.product("Mug", 1490, 4).await;
    let r = t.api().checkout(&token, "empty", Value::Null).await;
    assert_eq!((r.status(), r.error_code()), (422, "empty_cart"));
    t.api()
        .send(
            request("PUT", "/cart")
                .bearer(&token)
                .json(items(&[(&a, 3)])),
        )
        .await;
    let r = t.api().checkout(&token, "from-cart", json!({})).await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    assert_eq!(r.body["subtotal_cents"], 3 * 1490);
    assert_eq!(r.body["total_cents"], 3 * 1490 + 590);
    let cart = t.api().send(request("GET", "/cart").bearer(&token)).await;
    assert_eq!(cart.body["items"], json!([]));
    assert_eq!(t.stock_of(&a).await, 1);
    // The retry of that checkout returns the same order even though the cart is now empty.
    let again = t.api().checkout(&token, "from-cart", Value::Null).await;
    assert_eq!((again.status(), &again.body["id"]), (201, &r.body["id"]));
}

#[tokio::test]
async fn orders_are_listed_newest_first_with_paging_and_hidden_from_others() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let other = t.api().customer("other@example.com").await;
    let a = t.product("Beans", 100, 100).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = t
            .api()
            .checkout(&token, &format!("k{i}"), items(&[(&a, 1)]))
            .await;
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    t.api().checkout(&other, "o1", items(&[(&a, 1)])).await;
    let r = t
        .api()
        .send(request("GET", "/orders").bearer(&token).query("limit", "3"))
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
        .api()
        .send(
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
        .api()
        .send(
            request("GET", "/orders")
                .bearer(&other)
                .query("cursor", cursor),
        )
        .await;
    assert_eq!(r.status(), 400);

    let get = |tok: &str, id: &str| {
        t.api()
            .send(request("GET", &format!("/orders/{id}")).bearer(tok))
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
        .api()
        .send(
            request("GET", "/orders")
                .bearer(&admin)
                .query("status", "pending"),
        )
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 6);
    let r = t
        .api()
        .send(
            request("GET", "/orders")
                .bearer(&token)
                .query("status", "PENDING"),
        )
        .await;
    assert_eq!(r.status(), 403);
    let r = t
        .api()
        .send(
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
    let (admin, token) = t.admin_and_customer().await;
    let other = t.api().customer("intruder@example.com").await;
    let a = t.product("Beans", 100, 10).await;
    let id = t.api().checkout(&token, "k", items(&[(&a, 2)])).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();

    assert_eq!(
        t.api().set_status(&token, &id, "PAID").await.status(),
        403,
        "customers cannot mark paid"
    );
    assert_eq!(
        t.api().set_status(&other, &id, "CANCELLED").await.status(),
        404,
        "others cannot see it"
    );
    let r = t.api().ship(&admin, &id).await;
    assert_eq!(
        (r.status(), r.error_code()),
        (409, "invalid_status_transition")
    );
    let r = t.api().set_status(&admin, &id, "PAID").await;
    assert_eq!((r.status(), r.body["status"].as_str()), (200, Some("PAID")));
    // Shipping says how: without a carrier and tracking number it is refused, naming the field.
    let r = t.api().set_status(&admin, &id, "SHIPPED").await;
    assert_eq!(
        (r.status(), r.body["error"]["field"].as_str()),
        (400, Some("carrier"))
    );
    let r = t.api().ship(&admin, &id).await;
    assert_eq!(
        (r.status(), r.body["status"].as_str()),
        (200, Some("SHIPPED"))
    );
    assert_eq!(r.body["shipment"]["carrier"], "ups");
    assert_eq!(
        r.body["shipment"]["tracking_url"],
        format!("https://www.ups.com/track?tracknum={UPS_TRACKING}")
    );
    assert_eq!(
        t.api().order(&token, &id).await.body["shipment"]["tracking_number"],
        UPS_TRACKING,
        "the shopper sees how it travels"
    );
    assert_eq!(
        t.api().set_status(&admin, &id, "CANCELLED").await.status(),
        409,
        "no cancel after shipping"
    );
    assert_eq!(
        t.api().set_status(&admin, &id, "DELIVERED").await.body["status"],
        "DELIVERED"
    );
    assert_eq!(
        t.api().set_status(&admin, &id, "DELIVERED").await.status(),
        409
    );
    assert_eq!(t.api().set_status(&admin, &id, "BOGUS").await.status(), 400);
    assert_eq!(t.stock_of(&a).await, 8);

    // The owner cancels a PENDING order; stock comes back.
    let id2 = t.api().checkout(&token, "k2", items(&[(&a, 3)])).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(t.stock_of(&a).await, 5);
    let r = t.api().set_status(&token, &id2, "cancelled").await;
    assert_eq!(
        (r.status(), r.body["status"].as_str()),
        (200, Some("CANCELLED"))
    );
    assert_eq!(t.stock_of(&a).await, 8);
    assert_eq!(t.api().set_status(&admin, &id2, "PAID").await.status(), 409);

    // An owner cannot cancel once it is PAID; an admin can, and stock comes back.
    let id3 = t.api().checkout(&token, "k3", items(&[(&a, 1)])).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.api().set_status(&admin, &id3, "PAID").await;
    assert_eq!(
        t.api().set_status(&token, &id3, "CANCELLED").await.status(),
        409
    );
    assert_eq!(
        t.api().set_status(&admin, &id3, "CANCELLED").await.status(),
        200
    );
    assert_eq!(t.stock_of(&a).await, 8);
}

#[tokio::test]
async fn cancelling_an_order_whose_product_was_deleted_still_works() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let a = t.product("Keeps", 100, 5).await;
    let b = t.product("Deleted", 100, 5).await;
    let id = t
        .api()
        .checkout(&token, "k", items(&[(&a, 1), (&b, 1)]))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.api()
        .send(request("DELETE", &format!("/products/{b}")).bearer(&admin))
        .await;
    let r = t.api().set_status(&token, &id, "CANCELLED").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(t.stock_of(&a).await, 5);
    let r = t
        .api()
        .send(request("GET", &format!("/products/{b}")))
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
    let (admin, _) = t.admin_and_customer().await;
    let p = t.product("Limited Edition", 9900, 10).await;
    let mut buyers = Vec::new();
    for i in 0..5 {
        buyers.push(t.api().customer(&format!("buyer{i}@example.com")).await);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (api, token, body, barrier) = (
            t.api().clone(),
            buyers[i % 5].clone(),
            shop_tests::shipped(items(&[(&p, 1)])),
            barrier.clone(),
        );
        set.spawn(async move {
            let req = request("POST", "/orders")
                .bearer(&token)
                .header("idempotency-key", &format!("c{i}"))
                .json(body);
            barrier.wait().await;
            api.send(req).await
        });
    }
    let results = set.join_all().await;
    let created: Vec<&TestResponse> = results.iter().filter(|r| r.status() == 201).collect();
    assert_eq!(
        created.len(),
        10,
        "{:?}",
        results.iter().map(|r| r.status()).collect::<Vec<_>>()
    );
    let others: Vec<(u16, String)> = results
        .iter()
        .filter(|r| r.status() != 201)
        .map(|r| (r.status(), r.error_code().to_string()))
        .collect();
    assert!(
        others.len() == 40
            && others
                .iter()
                .all(|(s, code)| *s == 409 && code == "insufficient_stock"),
        "{others:?}"
    );
    assert_eq!(t.stock_of(&p).await, 0);
    let all = t
        .api()
        .send(
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
            let (api, id) = (t.api().clone(), id.clone());
            set.spawn(async move {
                let req = request("PUT", &format!("/orders/{id}/status"))
                    .bearer(&token)
                    .json(json!({"status": "CANCELLED"}));
                api.send(req).await.status()
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
    assert_eq!(t.stock_of(&p).await, 10);
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

#[tokio::test]
async fn cancelling_never_restocks_past_the_most_a_product_may_hold() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let p = t.product("Popular Beans", 1200, 10).await;
    let r = t.api().checkout(&token, "big", items(&[(&p, 5)])).await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    let order = r.body["id"].as_str().unwrap().to_string();
    // The admin tops the shelf up to the maximum while the order is pending.
    let r = t
        .api()
        .send(
            request("PUT", &format!("/products/{p}"))
                .bearer(&admin)
                .json(json!({"stock": 1_000_000})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let r = t.api().set_status(&token, &order, "CANCELLED").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(t.stock_of(&p).await, 1_000_000, "capped, not 1,000,005");
    // Below the maximum a cancel restores exactly what the order held.
    let r = t.api().checkout(&token, "small", items(&[(&p, 3)])).await;
    let order = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(t.stock_of(&p).await, 999_997);
    assert_eq!(
        t.api()
            .set_status(&token, &order, "CANCELLED")
            .await
            .status(),
        200
    );
    assert_eq!(t.stock_of(&p).await, 1_000_000);
}
