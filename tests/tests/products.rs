//! Catalog and inventory handlers against DynamoDB Local and the S3 emulator.

use serde_json::{Value, json};
use shop_tests::{TestApp, TestResponse, request, s3};

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
    // A ULID holds 128 bits: one whose first character is above 7 is no id, and must not wrap
    // onto the product whose id differs only there.
    let id = t.product("Aliased", 100, 1).await;
    assert_eq!(t.api().get_product(&id).await.status(), 200);
    let first = id.chars().next().unwrap().to_digit(32).unwrap();
    let alias = format!(
        "{}{}",
        char::from_digit(first + 8, 32)
            .unwrap()
            .to_ascii_uppercase(),
        &id[1..]
    );
    let r = t.api().get_product(&alias).await;
    assert_eq!((r.status(), r.error_code()), (404, "not_found"), "{alias}");
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
        .list_products(&[("q", "bright"), ("category", "coffee")])
        .await;
    assert_eq!(
        names(&r),
        vec!["Bright 03", "Bright 09", "Bright 15", "Bright 21"]
    );
    let r = t.api().list_products(&[("q", "03 bright")]).await;
    assert_eq!(names(&r), vec!["Bright 03"]);
    let r = t.api().list_products(&[("q", "zzz")]).await;
    assert_eq!(r.body, json!({"items": [], "next_cursor": null}));
}

async fn search(t: &TestApp, q: &str) -> Vec<String> {
    let r = t.api().list_products(&[("q", q)]).await;
    assert_eq!(r.status(), 200, "{q}: {:?}", r.body);
    names(&r)
}

#[tokio::test]
async fn word_search_finds_any_word_of_the_name_ignoring_case_and_accents() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let mut ids = std::collections::HashMap::new();
    for (name, category) in [
        ("Earl Grey Supreme", "tea"),
        ("Ethiopia Yirgacheffe", "coffee"),
        ("Café Crème Blend", "coffee"),
        ("Grey Stoneware Mug", "equipment"),
        ("Lady Grey", "tea"),
    ] {
        let r = t
            .api()
            .create_product(&admin, product(name, category, 1000, 5))
            .await;
        assert_eq!(r.status(), 201, "{:?}", r.body);
        ids.insert(name, r.body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        search(&t, "grey").await,
        ["Earl Grey Supreme", "Grey Stoneware Mug", "Lady Grey"]
    );
    assert_eq!(search(&t, "yirga").await, ["Ethiopia Yirgacheffe"]);
    assert_eq!(search(&t, "earl grey").await, ["Earl Grey Supreme"]);
    assert_eq!(search(&t, "GREY EARL").await, ["Earl Grey Supreme"]);
    assert_eq!(search(&t, "cafe").await, ["Café Crème Blend"]);
    assert_eq!(search(&t, "crème").await, ["Café Crème Blend"]);
    // The category's words count too.
    assert_eq!(
        search(&t, "grey tea").await,
        ["Earl Grey Supreme", "Lady Grey"]
    );
    assert!(
        search(&t, "rey").await.is_empty(),
        "words match from their start"
    );
    let r = t
        .api()
        .list_products(&[("q", "grey"), ("category", "equipment")])
        .await;
    assert_eq!(names(&r), ["Grey Stoneware Mug"]);

    // Paged one at a time behind the signed cursor, in name order, each once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("q", "grey"), ("limit", "1")];
        if let Some(c) = &cursor {
            q.push(("cursor", c));
        }
        let r = t.api().list_products(&q).await;
        assert_eq!(r.status(), 200, "{:?}", r.body);
        seen.extend(names(&r));
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(seen.len() <= 3, "paging does not end: {seen:?}");
    }
    assert_eq!(
        seen,
        ["Earl Grey Supreme", "Grey Stoneware Mug", "Lady Grey"]
    );
    // A cursor of one search is refused by another.
    let r = t
        .api()
        .list_products(&[("q", "grey"), ("limit", "1")])
        .await;
    let c = r.body["next_cursor"].as_str().unwrap().to_string();
    let r = t.api().list_products(&[("q", "tea"), ("cursor", &c)]).await;
    assert_eq!(r.status(), 400);

    // The index follows renames, recategorisations and deletes (same transaction as the product).
    let earl = &ids["Earl Grey Supreme"];
    let r = t
        .api()
        .send(
            request("PUT", &format!("/products/{earl}"))
                .bearer(&admin)
                .json(json!({"name": "Earl Green Supreme"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(
        search(&t, "grey").await,
        ["Grey Stoneware Mug", "Lady Grey"]
    );
    assert_eq!(search(&t, "green").await, ["Earl Green Supreme"]);
    let lady = &ids["Lady Grey"];
    let r = t
        .api()
        .send(
            request("PUT", &format!("/products/{lady}"))
                .bearer(&admin)
                .json(json!({"category": "tisane"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert!(search(&t, "grey tea").await.is_empty());
    assert_eq!(search(&t, "grey tisane").await, ["Lady Grey"]);
    let mug = &ids["Grey Stoneware Mug"];
    let r = t
        .api()
        .send(request("DELETE", &format!("/products/{mug}")).bearer(&admin))
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(search(&t, "grey").await, ["Lady Grey"]);

    // Bounds: at most 5 words, each at least 2 characters; the message names the limit.
    for (q, limit) in [
        ("one two three four five six", "5 words"),
        ("earl g", "2 characters"),
    ] {
        let r = t.api().list_products(&[("q", q)]).await;
        assert_eq!((r.status(), r.error_code()), (400, "invalid_field"), "{q}");
        let message = r.body["error"]["message"].as_str().unwrap();
        assert!(message.contains(limit), "{q}: {message}");
    }
}

#[tokio::test]
async fn products_that_predate_the_index_are_found_after_the_backfill() {
    let t = TestApp::new().await;
    t.product("Kenya Nyeri AA", 1890, 4).await;
    // As a product written before the index existed: its entries are gone.
    let entries = t
        .app
        .dynamo
        .scan()
        .table_name(&t.app.config.tables.products)
        .filter_expression("begins_with(pk, :w)")
        .expression_attribute_values(":w", shop::db::s("WORD#"))
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert!(!entries.is_empty(), "creating a product indexes it");
    for e in entries {
        let key: shop::db::Item = [shop::db::PK, shop::db::SK]
            .iter()
            .map(|k| (k.to_string(), e[*k].clone()))
            .collect();
        t.app
            .dynamo
            .delete_item()
            .table_name(&t.app.config.tables.products)
            .set_key(Some(key))
            .send()
            .await
            .unwrap();
    }
    assert!(search(&t, "nyeri").await.is_empty());
    assert_eq!(shop::catalog::backfill_index(t.app).await.unwrap(), 1);
    assert_eq!(search(&t, "nyeri").await, ["Kenya Nyeri AA"]);
    // Idempotent: a second run changes nothing.
    assert_eq!(shop::catalog::backfill_index(t.app).await.unwrap(), 1);
    assert_eq!(search(&t, "kenya aa").await, ["Kenya Nyeri AA"]);
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
async fn an_image_upload_goes_to_a_private_key_and_becomes_the_picture_once_resized() {
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
    assert_eq!(r.body["max_bytes"], 5 * 1024 * 1024);
    assert!(
        r.body.get("image_url").is_none(),
        "nothing is served before it is checked"
    );
    let fields = r.body["upload_fields"].as_object().unwrap();
    // The form carries the policy S3 enforces: this key, this type, at most 5 MiB.
    let policy: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            fields["policy"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let conditions = policy["conditions"].as_array().unwrap();
    let key = fields["key"].as_str().unwrap();
    let admin_id = t.api().me(&admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let upload = r.body["upload"].as_str().unwrap();
    assert_eq!(key, format!("uploads/{id}/{admin_id}/{upload}.png"));
    assert!(conditions.contains(&json!(["eq", "$key", key])));
    assert!(conditions.contains(&json!(["eq", "$Content-Type", "image/png"])));
    assert!(conditions.contains(&json!(["content-length-range", 1, 5 * 1024 * 1024])));

    // s3rver takes the form as S3 does but enforces no policy (nor signature): the policy and its
    // signature are unit-tested in shop::catalog::images.
    let png = shop_tests::s3::sample_png(1600, 1200);
    let key = t
        .upload_picture(&admin, &id, "image/png", png.clone())
        .await;
    let get_product = || t.api().send(request("GET", &format!("/products/{id}")));
    let p = get_product().await;
    assert!(p.body.get("picture").is_none() && p.body.get("image_url").is_none());

    assert_eq!(t.deliver_upload(&key).await["made"], "picture");
    let p = get_product().await.body;
    let picture = &p["picture"];
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(1600), Some(1200))
    );
    let widths: Vec<u64> = picture["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["width"].as_u64().unwrap())
        .collect();
    assert_eq!(widths, [320, 640, 1280]);
    assert_eq!(
        p["image_url"], picture["sources"][1]["url"],
        "640 wide for one-URL clients"
    );
    let http = reqwest::Client::new();
    for source in picture["sources"].as_array().unwrap() {
        let got = http
            .get(source["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200, "{source}");
        assert_eq!(got.headers()["content-type"], "image/webp");
        assert!(
            got.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let bytes = got.bytes().await.unwrap();
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!(u64::from(img.width()), source["width"].as_u64().unwrap());
    }
    let original = http
        .get(picture["original"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(original.bytes().await.unwrap().to_vec(), png);
    // The upload itself is gone once it is a picture.
    let bucket_url = format!("{}/{}", s3::endpoint(), s3::IMAGES_BUCKET);
    let gone = http
        .get(format!("{bucket_url}/{key}"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);

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

#[tokio::test]
async fn catalog_reads_are_cacheable_with_an_etag_and_personal_answers_are_not() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let id = t.product("Moka Pot", 3490, 5).await;
    for path in [format!("/products/{id}"), "/products?limit=5".to_string()] {
        let r = t.api().send(request("GET", &path)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.header("cache-control"),
            Some("public, max-age=30, stale-while-revalidate=300"),
            "{path}"
        );
        let tag = r.header("etag").expect("an ETag").to_string();
        let again = t
            .api()
            .send(request("GET", &path).header("if-none-match", &tag))
            .await;
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.body, Value::Null, "a 304 has no body");
        assert_eq!(again.header("etag"), Some(tag.as_str()));
        // A change makes a new representation: the old tag no longer matches.
        let r = t
            .api()
            .send(
                request("PUT", &format!("/products/{id}"))
                    .bearer(&admin)
                    .json(json!({"stock": 4})),
            )
            .await;
        assert_eq!(r.status(), 200);
        let changed = t
            .api()
            .send(request("GET", &path).header("if-none-match", &tag))
            .await;
        assert_eq!(changed.status(), 200, "{path}");
        assert_ne!(changed.header("etag"), Some(tag.as_str()));
        // Put the stock back for the next path.
        t.api()
            .send(
                request("PUT", &format!("/products/{id}"))
                    .bearer(&admin)
                    .json(json!({"stock": 5})),
            )
            .await;
    }
    let inventory = t
        .api()
        .send(request("GET", &format!("/inventory?ids={id}")))
        .await;
    assert_eq!(inventory.header("cache-control"), Some("no-store"));
    assert_eq!(inventory.header("etag"), None);
    for (r, what) in [
        (t.api().me(&customer).await, "me"),
        (t.api().cart(&customer).await, "cart"),
        (
            t.api()
                .login("shopper@test.local", shop_tests::CUSTOMER_PASSWORD)
                .await,
            "login",
        ),
        (
            t.api().get_product("01ARZ3NDEKTSV4RRFFQ69G5FAV").await,
            "a 404",
        ),
    ] {
        assert_eq!(
            r.header("cache-control"),
            Some("private, no-store"),
            "{what}"
        );
        assert_eq!(r.header("etag"), None, "{what}");
    }
}

/// `GET /admin/low-stock`: the names and stock levels listed.
async fn low_stock(t: &TestApp, token: &str) -> Vec<(String, i64)> {
    let r = t
        .api()
        .send(request("GET", "/admin/low-stock").bearer(token))
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["threshold"], 5);
    assert_eq!(r.body["more"], false);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["stock"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_low_stock_list_follows_every_stock_write_and_only_admins_read_it() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let mut ids = Vec::new();
    for (name, stock) in [
        ("Gone", 0),
        ("Three", 3),
        ("Five", 5),
        ("Six", 6),
        ("Plenty", 100),
    ] {
        ids.push(t.product(name, 500, stock).await);
    }
    let owned = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(n, s)| (n.to_string(), *s)).collect()
    };
    assert_eq!(
        low_stock(&t, &admin).await,
        owned(&[("Gone", 0), ("Three", 3), ("Five", 5)])
    );

    // A checkout takes Six to 4; the admin restocks Three to 50.
    let order = t
        .api()
        .checkout(
            &customer,
            "low-1",
            json!({"items": [{"product_id": ids[3], "quantity": 2}]}),
        )
        .await;
    assert_eq!(order.status(), 201, "{:?}", order.body);
    let r = t
        .api()
        .send(
            request("PUT", &format!("/products/{}", ids[1]))
                .bearer(&admin)
                .json(json!({"stock": 50})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(
        low_stock(&t, &admin).await,
        owned(&[("Gone", 0), ("Six", 4), ("Five", 5)])
    );

    // Cancelling the order puts Six's units back.
    let id = order.body["id"].as_str().unwrap();
    assert_eq!(
        t.api()
            .set_status(&customer, id, "CANCELLED")
            .await
            .status(),
        200
    );
    assert_eq!(
        low_stock(&t, &admin).await,
        owned(&[("Gone", 0), ("Five", 5)])
    );
    // A limit keeps the fewest, and says others are low too.
    let first = t
        .api()
        .send(
            request("GET", "/admin/low-stock")
                .bearer(&admin)
                .query("limit", "1"),
        )
        .await;
    assert_eq!(first.body["items"][0]["name"], "Gone");
    assert_eq!(first.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(first.body["more"], true);

    let r = t
        .api()
        .send(request("GET", "/admin/low-stock").bearer(&customer))
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn a_catalog_made_before_the_stock_index_is_indexed_by_the_backfill() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let id = t.product("Old Stock", 500, 2).await;
    // As an item written before the index existed: without its partition.
    t.app
        .dynamo
        .update_item()
        .table_name(&t.env["PRODUCTS_TABLE"])
        .key("pk", shop::db::s(format!("PRODUCT#{id}")))
        .key("sk", shop::db::s("PRODUCT"))
        .update_expression("REMOVE gsi3pk")
        .send()
        .await
        .unwrap();
    assert_eq!(low_stock(&t, &admin).await, vec![]);
    shop::catalog::backfill_index(t.app).await.unwrap();
    assert_eq!(
        low_stock(&t, &admin).await,
        vec![("Old Stock".to_string(), 2)]
    );
}

#[tokio::test]
async fn a_table_made_before_an_index_was_defined_gets_it_at_the_next_start() {
    use shop::catalog::store::{BY_CATEGORY, BY_NAME, TABLE};
    let t = TestApp::new().await;
    let older = shop::db::TableDef {
        gsis: &[BY_NAME, BY_CATEGORY],
        ..TABLE
    };
    let name = format!("{}-older", t.env["PRODUCTS_TABLE"]);
    shop::db::create_table(&t.app.dynamo, &name, &older)
        .await
        .unwrap();
    shop::db::create_table(&t.app.dynamo, &name, &TABLE)
        .await
        .unwrap();
    let described = t
        .app
        .dynamo
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let mut indexes: Vec<&str> = described
        .table()
        .unwrap()
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name())
        .collect();
    indexes.sort();
    assert_eq!(indexes, ["by_category", "by_name", "by_stock"]);
}

#[tokio::test]
async fn the_whole_catalog_is_read_up_to_a_cap_which_says_whether_there_was_more() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    for k in 0..7 {
        let name = format!("Catalog Tea {k}");
        let r = t
            .api()
            .create_product(&admin, product(&name, "tea", 500, 1))
            .await;
        assert_eq!(r.status(), 201, "{:?}", r.body);
    }
    let read = |cap| shop::catalog::store::every_product(t.app, cap);
    let (some, more) = read(5).await.unwrap();
    assert_eq!((some.len(), more), (5, true));
    assert_eq!(some[0].name, "Catalog Tea 0", "in name order");
    let (all, more) = read(7).await.unwrap();
    assert_eq!((all.len(), more), (7, false), "exactly the cap is not more");
    let (all, more) = read(5_000).await.unwrap();
    assert_eq!((all.len(), more), (7, false));
}
