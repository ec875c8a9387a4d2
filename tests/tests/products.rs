//! Catalog and inventory handlers against DynamoDB Local and the S3 emulator.

use serde_json::{Value, json};
use shop_tests::{TestApp, TestResponse, request};

fn product(name: &str, category: &str, price: i64, stock: i64) -> Value {
    json!({"name": name, "description": format!("{name}, described."), "price_cents": price, "category": category, "stock": stock})
}

fn names(r: &TestResponse) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn admin_creates_products_customers_and_anonymous_cannot() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let r = t
        .api()
        .create_product(&admin, product("Moka Pot 6 Cup", "Equipment", 3490, 12))
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    assert_eq!(r.body["slug"], "moka-pot-6-cup");
    assert_eq!(r.body["category"], "equipment");
    assert_eq!(r.body["currency"], "USD");
    assert_eq!(r.body["price_cents"], 3490);
    assert_eq!(r.body["stock"], 12);
    let id = r.body["id"].as_str().unwrap().to_string();

    let got = t
        .api()
        .send(request("GET", &format!("/products/{id}")))
        .await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.body, r.body);

    let r = t
        .api()
        .create_product(&customer, product("Nope", "x", 1, 1))
        .await;
    assert_eq!((r.status(), r.error_code()), (403, "forbidden"));
    let r = t
        .api()
        .send(request("POST", "/products").json(product("Nope", "x", 1, 1)))
        .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn unknown_or_malformed_product_ids_are_404() {
    let t = TestApp::new().await;
    for id in ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-an-id", "'; DROP TABLE"] {
        let r = t
            .api()
            .send(request(
                "GET",
                &format!("/products/{}", shop_tests::segment(id)),
            ))
            .await;
        assert_eq!((r.status(), r.error_code()), (404, "not_found"), "{id}");
    }
}

#[tokio::test]
async fn slugs_are_unique_even_under_concurrency() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..6 {
        let (api, admin) = (t.api().clone(), admin.clone());
        set.spawn(async move {
            let mut body = product(&format!("Mug {i}"), "mugs", 900, 3);
            body["slug"] = "the-mug".into();
            api.create_product(&admin, body).await
        });
    }
    let results = set.join_all().await;
    assert_eq!(results.iter().filter(|r| r.status() == 201).count(), 1);
    for r in results.iter().filter(|r| r.status() != 201) {
        assert_eq!((r.status(), r.error_code()), (409, "slug_taken"));
    }
}

#[tokio::test]
async fn bad_product_input_is_a_400_naming_the_field() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let cases = [
        (
            "price_cents",
            json!({"name": "A", "price_cents": 0, "category": "c", "stock": 1}),
        ),
        (
            "price_cents",
            json!({"name": "A", "price_cents": 12.5, "category": "c", "stock": 1}),
        ),
        (
            "price_cents",
            json!({"name": "A", "price_cents": "12", "category": "c", "stock": 1}),
        ),
        (
            "stock",
            json!({"name": "A", "price_cents": 1, "category": "c", "stock": -3}),
        ),
        (
            "name",
            json!({"name": "", "price_cents": 1, "category": "c", "stock": 1}),
        ),
        (
            "name",
            json!({"name": "x".repeat(201), "price_cents": 1, "category": "c", "stock": 1}),
        ),
        (
            "description",
            json!({"name": "A", "description": "x".repeat(5001), "price_cents": 1, "category": "c", "stock": 1}),
        ),
        (
            "category",
            json!({"name": "A", "price_cents": 1, "category": "Hot Drinks!", "stock": 1}),
        ),
        (
            "slug",
            json!({"name": "A", "price_cents": 1, "category": "c", "stock": 1, "slug": "Not A Slug"}),
        ),
        (
            "color",
            json!({"name": "A", "price_cents": 1, "category": "c", "stock": 1, "color": "red"}),
        ),
        (
            "stock",
            json!({"name": "A", "price_cents": 1, "category": "c"}),
        ),
    ];
    for (field, body) in cases {
        let r = t.api().create_product(&admin, body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        let msg = r.body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(field), "{field}: {msg}");
    }
}

#[tokio::test]
async fn listing_pages_in_name_order_filters_and_searches() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    for i in 0..23 {
        let category = if i % 2 == 0 { "tea" } else { "coffee" };
        let name = format!("{} {i:02}", if i % 3 == 0 { "Bright" } else { "deep" });
        assert_eq!(
            t.api()
                .create_product(&admin, product(&name, category, 100 + i, i))
                .await
                .status(),
            201
        );
    }
    // Page through everything, 10 at a time.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = vec![("limit", "10")];
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let r = t.api().list_products(&q).await;
        assert_eq!(r.status(), 200, "{:?}", r.body);
        seen.extend(names(&r));
        pages += 1;
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(seen.len(), 23);
    let mut sorted = seen.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(seen, sorted, "case-insensitive name order");
    sorted.dedup();
    assert_eq!(sorted.len(), 23, "no duplicates across pages");

    let r = t.api().list_products(&[]).await;
    assert_eq!(names(&r).len(), 20, "default page size");

    let r = t
        .api()
        .list_products(&[("category", "tea"), ("limit", "100")])
        .await;
    assert_eq!(names(&r).len(), 12);
    assert!(
        r.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["category"] == "tea")
    );
    assert!(r.body["next_cursor"].is_null());

    let r = t.api().list_products(&[("q", "BRIGHT")]).await;
    assert_eq!(names(&r).len(), 8);
    assert!(names(&r).iter().all(|n| n.starts_with("Bright")));
    let r = t
        .api()
        .list_products(&[("q", "bright 0"), ("category", "coffee")])
        .await;
    assert_eq!(names(&r), vec!["Bright 03", "Bright 09"]);
    let r = t.api().list_products(&[("q", "zzz")]).await;
    assert_eq!(r.body, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn bad_list_parameters_are_400_not_500() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    for i in 0..3 {
        t.api()
            .create_product(&admin, product(&format!("P{i}"), "c", 100, 1))
            .await;
    }
    let first = t.api().list_products(&[("limit", "1")]).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_string();
    let tampered = format!("x{cursor}");
    for q in [
        vec![("limit", "0")],
        vec![("limit", "101")],
        vec![("limit", "ten")],
        vec![("cursor", "garbage")],
        vec![("cursor", tampered.as_str())],
        vec![("cursor", cursor.as_str()), ("category", "c")],
        vec![("category", "NOT valid")],
    ] {
        let r = t.api().list_products(&q).await;
        assert_eq!(r.status(), 400, "{q:?}: {:?}", r.body);
    }
    let r = t
        .api()
        .list_products(&[("limit", "1"), ("cursor", &cursor)])
        .await;
    assert_eq!(r.status(), 200);
    assert_ne!(names(&r), names(&first));
}

#[tokio::test]
async fn partial_update_renames_reprices_and_moves_the_slug() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let a = t
        .api()
        .create_product(&admin, product("Green Tea", "tea", 500, 10))
        .await
        .body;
    let b = t
        .api()
        .create_product(&admin, product("Black Tea", "tea", 600, 10))
        .await
        .body;
    let id = a["id"].as_str().unwrap();
    let put = |body: Value, token: &str| {
        t.api().send(
            request("PUT", &format!("/products/{id}"))
                .bearer(token)
                .json(body),
        )
    };
    let r = put(
        json!({"name": "Sencha", "price_cents": 750, "category": "green-tea"}),
        &admin,
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(
        (r.body["name"].as_str(), r.body["price_cents"].as_i64()),
        (Some("Sencha"), Some(750))
    );
    assert_eq!(r.body["stock"], 10, "untouched fields stay");
    assert_eq!(r.body["slug"], "green-tea");
    assert_eq!(
        names(&t.api().list_products(&[("q", "sen")]).await),
        vec!["Sencha"]
    );
    assert_eq!(
        names(&t.api().list_products(&[("category", "green-tea")]).await),
        vec!["Sencha"]
    );
    assert!(names(&t.api().list_products(&[("category", "tea")]).await) == vec!["Black Tea"]);

    let r = put(json!({"slug": "black-tea"}), &admin).await;
    assert_eq!((r.status(), r.error_code()), (409, "slug_taken"));
    let r = put(json!({"slug": "sencha"}), &admin).await;
    assert_eq!(r.body["slug"], "sencha");
    // The old slug is free again, the new one is taken.
    let r = t.api().create_product(&admin, json!({"name": "Other", "slug": "green-tea", "price_cents": 1, "category": "tea", "stock": 1})).await;
    assert_eq!(r.status(), 201);
    let r = t.api().create_product(&admin,
        json!({"name": "Other", "slug": "sencha", "price_cents": 1, "category": "tea", "stock": 1}),
    )
    .await;
    assert_eq!(r.status(), 409);

    assert_eq!(put(json!({}), &admin).await.status(), 400);
    assert_eq!(put(json!({"stock": -1}), &admin).await.status(), 400);
    assert_eq!(put(json!({"stock": 0}), &customer).await.status(), 403);
    let r = put(
        json!({"image_url": "https://cdn.example.com/s.png"}),
        &admin,
    )
    .await;
    assert_eq!(r.body["image_url"], "https://cdn.example.com/s.png");
    let r = put(json!({"image_url": null}), &admin).await;
    assert!(r.body.get("image_url").is_none());
    let r = t
        .api()
        .send(
            request("PUT", "/products/01ARZ3NDEKTSV4RRFFQ69G5FAV")
                .bearer(&admin)
                .json(json!({"stock": 1})),
        )
        .await;
    assert_eq!(r.status(), 404);
    let _ = b;
}

#[tokio::test]
async fn delete_removes_the_product_and_frees_its_slug() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let p = t
        .api()
        .create_product(&admin, product("Chemex", "equipment", 4500, 2))
        .await
        .body;
    let id = p["id"].as_str().unwrap();
    let del = |token: &str| {
        t.api()
            .send(request("DELETE", &format!("/products/{id}")).bearer(token))
    };
    assert_eq!(del(&customer).await.status(), 403);
    let r = del(&admin).await;
    assert_eq!((r.status(), &r.body), (204, &Value::Null));
    assert_eq!(del(&admin).await.status(), 404);
    let r = t
        .api()
        .send(request("GET", &format!("/products/{id}")))
        .await;
    assert_eq!(r.status(), 404);
    assert!(names(&t.api().list_products(&[]).await).is_empty());
    assert_eq!(
        t.api()
            .create_product(&admin, product("Chemex", "equipment", 4500, 2))
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn inventory_reports_stock_for_up_to_100_ids() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let a = t
        .api()
        .create_product(&admin, product("In Stock", "c", 100, 7))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = t
        .api()
        .create_product(&admin, product("Sold Out", "c", 100, 0))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ghost = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let ids = format!("{a}, {b},{ghost},{a}");
    let r = t
        .api()
        .send(request("GET", "/inventory").query("ids", &ids))
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(
        r.body["items"],
        json!([
            {"product_id": a, "stock": 7, "available": true},
            {"product_id": b, "stock": 0, "available": false},
            {"product_id": ghost, "stock": 0, "available": false},
        ])
    );
    let many: Vec<String> = (0..101).map(|_| ulid_like()).collect();
    for bad in [String::new(), "nope".into(), many.join(",")] {
        let r = t
            .api()
            .send(request("GET", "/inventory").query("ids", &bad))
            .await;
        assert_eq!(
            (r.status(), r.body["error"]["field"].as_str()),
            (400, Some("ids"))
        );
    }
    let hundred: Vec<String> = (0..100).map(|_| ulid_like()).collect();
    let r = t
        .api()
        .send(request("GET", "/inventory").query("ids", &hundred.join(",")))
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 100);
}

fn ulid_like() -> String {
    shop::types::ProductId::new().to_string()
}

#[tokio::test]
async fn image_upload_through_the_presigned_url_is_served_at_image_url() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let id = t
        .api()
        .create_product(&admin, product("Pour Over", "equipment", 2500, 3))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ask = |token: &str, ct: &str| {
        t.api().send(
            request("POST", &format!("/products/{id}/image"))
                .bearer(token)
                .json(json!({"content_type": ct})),
        )
    };
    assert_eq!(ask(&customer, "image/png").await.status(), 403);
    let r = ask(&admin, "image/gif").await;
    assert_eq!(
        (r.status(), r.body["error"]["field"].as_str()),
        (400, Some("content_type"))
    );

    let r = ask(&admin, "image/png").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["expires_in"], 300);
    let upload_url = r.body["upload_url"].as_str().unwrap();
    let image_url = r.body["image_url"].as_str().unwrap();
    let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[7u8; 64]].concat();
    let http = reqwest::Client::new();
    // s3rver does not check signatures; the signing itself is tested against AWS's published
    // example in shop::products.
    let put = http
        .put(upload_url)
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "upload: {}", put.status());
    let got = http.get(image_url).send().await.unwrap();
    assert!(got.status().is_success());
    assert_eq!(got.bytes().await.unwrap().to_vec(), png);

    let p = t
        .api()
        .send(request("GET", &format!("/products/{id}")))
        .await;
    assert_eq!(p.body["image_url"], image_url);
    let r = t
        .api()
        .send(
            request("POST", "/products/01ARZ3NDEKTSV4RRFFQ69G5FAV/image")
                .bearer(&admin)
                .json(json!({"content_type": "image/png"})),
        )
        .await;
    assert_eq!(r.status(), 404);
}
