//! Orders end to end over `cargo lambda watch`: login -> put cart -> checkout -> list -> get ->
//! cancel -> stock restored.

use serde_json::json;
use shop_tests::{TestApp, Watch};

#[tokio::test]
async fn shopper_checks_out_the_cart_and_cancels() {
    let t = TestApp::new().await;
    let secret = t.admin("admin@e2e.local").await;
    let watch = Watch::start(&t.env);
    let api = watch.api();
    let admin = api
        .token_with_code("admin@e2e.local", shop_tests::ADMIN_PASSWORD, &secret)
        .await;
    let (s, p) = api.json("POST", "/products", Some(&admin), Some(json!({"name": "Tasting Box", "price_cents": 4990, "category": "gifts", "stock": 3})))
    .await;
    assert_eq!(s, 201);
    let pid = p["id"].as_str().unwrap().to_string();

    let reg = json!({"email": "shopper@e2e.local", "password": "shopper-passphrase-42", "name": "Shopper"});
    assert_eq!(
        api.json("POST", "/users/register", None, Some(reg)).await.0,
        201
    );
    let (_, login) = api
        .json(
            "POST",
            "/users/login",
            None,
            Some(json!({"email": "shopper@e2e.local", "password": "shopper-passphrase-42"})),
        )
        .await;
    let token = login["token"].as_str().unwrap().to_string();

    let (s, cart) = api
        .json(
            "PUT",
            "/cart",
            Some(&token),
            Some(json!({"items": [{"product_id": pid, "quantity": 2}]})),
        )
        .await;
    assert_eq!((s, &cart["total_cents"]), (200, &json!(9980)));

    let (s, err) = api.json("POST", "/orders", Some(&token), None).await;
    assert_eq!(
        (s, err["error"]["code"].as_str()),
        (400, Some("invalid_idempotency_key"))
    );
    let resp = api
        .checkout(&token, "e2e-checkout-1", serde_json::Value::Null)
        .await;
    assert_eq!(resp.status(), 201);
    let order = resp.body;
    let oid = order["id"].as_str().unwrap().to_string();
    assert_eq!(order["total_cents"], 9980);

    let (_, cart) = api.json("GET", "/cart", Some(&token), None).await;
    assert_eq!(cart["items"], json!([]), "checkout emptied the cart");
    let (_, inv) = api
        .json("GET", &format!("/inventory?ids={pid}"), None, None)
        .await;
    assert_eq!(inv["items"][0]["stock"], 1);

    let (s, list) = api.json("GET", "/orders", Some(&token), None).await;
    assert_eq!((s, &list["items"][0]["id"]), (200, &json!(oid)));
    let (s, one) = api
        .json("GET", &format!("/orders/{oid}"), Some(&token), None)
        .await;
    assert_eq!((s, &one["status"]), (200, &json!("PENDING")));

    let (s, cancelled) = api
        .json(
            "PUT",
            &format!("/orders/{oid}/status"),
            Some(&token),
            Some(json!({"status": "CANCELLED"})),
        )
        .await;
    assert_eq!((s, &cancelled["status"]), (200, &json!("CANCELLED")));
    let (_, inv) = api
        .json("GET", &format!("/inventory?ids={pid}"), None, None)
        .await;
    assert_eq!(inv["items"][0]["stock"], 3, "stock restored");
}
