//! Catalog end to end over `cargo lambda watch`: admin create -> public list/search -> update -> delete.

use serde_json::json;
use shop_tests::{TestApp, Watch};

#[tokio::test]
async fn admin_create_public_search_update_delete_over_http() {
    let t = TestApp::new().await;
    let secret = t.admin("admin@e2e.local").await;
    let watch = Watch::start(&t.env);
    let api = watch.api();
    let admin = api
        .token_with_code("admin@e2e.local", shop_tests::ADMIN_PASSWORD, &secret)
        .await;

    let body = json!({"name": "Cold Brew Kit", "description": "Jar and filter.", "price_cents": 2990, "category": "equipment", "stock": 20});
    let (s, created) = api
        .json("POST", "/products", Some(&admin), Some(body.clone()))
        .await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let (s, _) = api.json("POST", "/products", None, Some(body)).await;
    assert_eq!(s, 401);

    let (s, page) = api
        .json("GET", "/products?q=cold&category=equipment", None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(page["items"][0]["id"], id);
    let (s, one) = api
        .json("GET", &format!("/products/{id}"), None, None)
        .await;
    assert_eq!((s, &one["slug"]), (200, &json!("cold-brew-kit")));

    let (s, updated) = api
        .json(
            "PUT",
            &format!("/products/{id}"),
            Some(&admin),
            Some(json!({"price_cents": 2790})),
        )
        .await;
    assert_eq!((s, &updated["price_cents"]), (200, &json!(2790)));
    let (s, inv) = api
        .json("GET", &format!("/inventory?ids={id}"), None, None)
        .await;
    assert_eq!((s, &inv["items"][0]["stock"]), (200, &json!(20)));

    let (s, upload) = api
        .json(
            "POST",
            &format!("/products/{id}/image"),
            Some(&admin),
            Some(json!({"content_type": "image/webp"})),
        )
        .await;
    assert_eq!(s, 200, "{upload}");
    assert!(
        upload["upload_fields"]["x-amz-signature"].is_string(),
        "{upload}"
    );
    assert_eq!(upload["upload_fields"]["Content-Type"], "image/webp");

    let (s, _) = api
        .json("DELETE", &format!("/products/{id}"), Some(&admin), None)
        .await;
    assert_eq!(s, 204);
    let (s, err) = api
        .json("GET", &format!("/products/{id}"), None, None)
        .await;
    assert_eq!((s, err["error"]["code"].as_str()), (404, Some("not_found")));
    let (s, err) = api.json("GET", "/products?limit=500", None, None).await;
    assert_eq!((s, err["error"]["field"].as_str()), (400, Some("limit")));
}
