//! Shipping, tax and the quote against DynamoDB Local at the README's sample rates: the quote and
//! the order agree, a placed order keeps its figures when rates change, two admins cannot both
//! replace the rates, and each refusal a shopper can meet.

use serde_json::{Value, json};
use shop_tests::{TestApp, TestResponse, request};

/// A product of the sample catalog's kind: weight and tax class as the seed has them.
async fn product(
    t: &TestApp,
    admin: &str,
    name: &str,
    price: i64,
    grams: i64,
    class: &str,
) -> String {
    let r = t
        .api()
        .create_product(
            admin,
            json!({"name": name, "price_cents": price, "category": "test", "stock": 50,
                   "weight_grams": grams, "tax_class": class}),
        )
        .await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    assert_eq!(
        (
            r.body["weight_grams"].as_i64(),
            r.body["tax_class"].as_str()
        ),
        (Some(grams), Some(class))
    );
    r.body["id"].as_str().unwrap().to_string()
}

fn to(country: &str, region: Option<&str>, postal: &str) -> Value {
    json!({"name": "Ada Lovelace", "line1": "1 Main St", "city": "Somewhere", "region": region,
           "postal_code": postal, "country": country})
}

fn california() -> Value {
    to("US", Some("CA"), "94105")
}

async fn quote(t: &TestApp, token: &str, body: Value) -> TestResponse {
    t.api()
        .send(request("POST", "/checkout/quote").bearer(token).json(body))
        .await
}

const FIGURES: [&str; 7] = [
    "subtotal_cents",
    "shipping_method",
    "shipping_cents",
    "tax_lines",
    "tax_cents",
    "total_cents",
    "currency",
];

#[tokio::test]
async fn a_californian_pays_tax_on_the_mug_only_and_the_order_matches_its_quote() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let mug = product(&t, &admin, "Mug", 1490, 400, "standard").await;
    let coffee = product(&t, &admin, "Coffee", 1650, 280, "reduced").await;
    let body = json!({"items": [{"product_id": mug, "quantity": 1}, {"product_id": coffee, "quantity": 1}],
                      "shipping_address": california()});
    let q = quote(&t, &token, body.clone()).await;
    assert_eq!(q.status(), 200, "{:?}", q.body);
    assert_eq!(q.body["subtotal_cents"], 3140);
    assert_eq!(
        q.body["shipping_method"],
        json!({"id": "standard", "name": "Standard (3-5 business days)"})
    );
    assert_eq!(q.body["shipping_cents"], 590);
    // 7.25% of 14.90 = 1.08025 -> 1.08; coffee is reduced (0%) in California.
    assert_eq!(
        q.body["tax_lines"],
        json!([{"name": "California sales tax", "rate_bp": 725, "amount_cents": 108}])
    );
    assert_eq!(q.body["total_cents"], 3140 + 590 + 108);
    assert_eq!(q.body["prices_include_tax"], false);
    let options: Vec<&str> = q.body["shipping_options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(options, ["standard", "express"]);

    let o = t.api().checkout(&token, "ca-1", body).await;
    assert_eq!(o.status(), 201, "{:?}", o.body);
    for f in FIGURES {
        assert_eq!(o.body[f], q.body[f], "{f}");
    }
    assert_eq!(o.body["shipping_address"]["region"], "CA");

    // Express costs what the quote offered, and the order charges it.
    let express = json!({"items": [{"product_id": mug, "quantity": 1}], "shipping_address": california(),
                         "shipping_method": "express"});
    let q = quote(&t, &token, express.clone()).await;
    assert_eq!(q.body["shipping_cents"], 1490);
    let o = t.api().checkout(&token, "ca-2", express).await;
    assert_eq!(o.body["total_cents"], q.body["total_cents"]);
}

#[tokio::test]
async fn sixty_dollars_ships_free_and_a_heavy_basket_pays_the_upper_band() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let grinder = product(&t, &admin, "Grinder", 6500, 2600, "standard").await;
    let filters = product(&t, &admin, "Filters", 600, 200, "standard").await;
    let oregon = to("US", Some("OR"), "97201");
    let q = quote(
        &t,
        &token,
        json!({"items": [{"product_id": grinder, "quantity": 1}], "shipping_address": oregon}),
    )
    .await;
    assert_eq!(
        (
            q.body["shipping_cents"].as_i64(),
            q.body["total_cents"].as_i64()
        ),
        (Some(0), Some(6500))
    );
    let q = quote(
        &t,
        &token,
        json!({"items": [{"product_id": filters, "quantity": 11}], "shipping_address": oregon}),
    )
    .await;
    // 11 x 200 g = 2.2 kg: above the 2 kg band; 66.00 is free all the same.
    assert_eq!(q.body["shipping_cents"], 0);
    let q = quote(&t, &token, json!({"items": [{"product_id": filters, "quantity": 9}], "shipping_address": to("GB", None, "SW1A 1AA")})).await;
    assert_eq!(
        (
            q.body["shipping_method"]["id"].as_str(),
            q.body["shipping_cents"].as_i64()
        ),
        (Some("international"), Some(1990))
    );
    let q = quote(&t, &token, json!({"items": [{"product_id": filters, "quantity": 11}], "shipping_address": to("GB", None, "SW1A 1AA")})).await;
    assert_eq!(q.body["shipping_cents"], 3490);
}

#[tokio::test]
async fn a_shopper_meets_each_refusal_by_name() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let mug = product(&t, &admin, "Mug", 1490, 400, "standard").await;
    let items = json!([{"product_id": mug, "quantity": 1}]);
    let cases = [
        (
            json!({"items": items}),
            400,
            "invalid_field",
            Some("shipping_address"),
        ),
        (
            json!({"items": items, "shipping_address": to("US", Some("CA"), "9410")}),
            400,
            "invalid_field",
            Some("shipping_address.postal_code"),
        ),
        (
            json!({"items": items, "shipping_address": to("US", Some("XX"), "94105")}),
            400,
            "invalid_field",
            Some("shipping_address.region"),
        ),
        (
            json!({"items": items, "shipping_address": to("ZZ", None, "1")}),
            400,
            "invalid_field",
            Some("shipping_address.country"),
        ),
        (
            json!({"items": items, "shipping_address": to("JP", None, "100-0001")}),
            422,
            "cannot_ship_to",
            None,
        ),
        (
            json!({"items": items, "shipping_address": to("DE", None, "10115"), "shipping_method": "express"}),
            422,
            "shipping_method_unavailable",
            None,
        ),
    ];
    for (body, status, code, field) in cases {
        for r in [
            quote(&t, &token, body.clone()).await,
            t.api()
                .send(
                    request("POST", "/orders")
                        .bearer(&token)
                        .header("idempotency-key", "refused")
                        .json(body.clone()),
                )
                .await,
        ] {
            assert_eq!(
                (r.status(), r.error_code()),
                (status, code),
                "{body}: {:?}",
                r.body
            );
            assert_eq!(r.body["error"]["field"].as_str(), field, "{body}");
        }
    }
    assert_eq!(
        t.stock_of(&mug).await,
        50,
        "no refused checkout reserved anything"
    );
    let anonymous = t
        .api()
        .send(
            request("POST", "/checkout/quote")
                .json(json!({"items": items, "shipping_address": california()})),
        )
        .await;
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn a_rate_change_after_checkout_leaves_the_order_and_its_replay_alone() {
    let t = TestApp::new().await;
    let (admin, token) = t.admin_and_customer().await;
    let mug = product(&t, &admin, "Mug", 1490, 400, "standard").await;
    let body =
        json!({"items": [{"product_id": mug, "quantity": 1}], "shipping_address": california()});
    let placed = t.api().checkout(&token, "before", body.clone()).await;
    assert_eq!(placed.status(), 201);

    let r = t.api().send(request("GET", "/tax").bearer(&admin)).await;
    let etag = r.header("etag").unwrap().to_string();
    let mut tax = r.body.clone();
    tax["regions"][0]["rates"]["standard"] = 1000.into();
    let r = t
        .api()
        .send(
            request("PUT", "/tax")
                .bearer(&admin)
                .header("if-match", &etag)
                .json(tax),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let r = t
        .api()
        .send(request("GET", "/shipping").bearer(&admin))
        .await;
    let etag = r.header("etag").unwrap().to_string();
    let mut shipping = r.body.clone();
    shipping["zones"][0]["methods"][0]["bands"][0]["price_cents"] = 790.into();
    let r = t
        .api()
        .send(
            request("PUT", "/shipping")
                .bearer(&admin)
                .header("if-match", &etag)
                .json(shipping),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);

    let id = placed.body["id"].as_str().unwrap();
    let now = t.api().order(&token, id).await;
    for f in FIGURES {
        assert_eq!(now.body[f], placed.body[f], "{f} moved");
    }
    let replay = t.api().checkout(&token, "before", body.clone()).await;
    assert_eq!(replay.body["id"], placed.body["id"]);
    assert_eq!(replay.body["total_cents"], placed.body["total_cents"]);
    // A new order pays the new rates: 10% of 14.90 and 7.90 shipping.
    let fresh = t.api().checkout(&token, "after", body).await;
    assert_eq!(fresh.body["tax_cents"], 149);
    assert_eq!(fresh.body["total_cents"], 1490 + 790 + 149);
}

#[tokio::test]
async fn two_admins_cannot_both_replace_the_rates() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let r = t
        .api()
        .send(request("GET", "/shipping").bearer(&admin))
        .await;
    assert_eq!(r.status(), 200);
    let (etag, doc) = (r.header("etag").unwrap().to_string(), r.body.clone());
    let put = |doc: Value, tag: Option<String>| {
        let api = t.api().clone();
        let admin = admin.clone();
        async move {
            let mut req = request("PUT", "/shipping").bearer(&admin).json(doc);
            if let Some(tag) = tag {
                req = req.header("if-match", &tag);
            }
            api.send(req).await
        }
    };
    let mut a = doc.clone();
    a["zones"][0]["name"] = "Domestic".into();
    let mut b = doc.clone();
    b["zones"][1]["name"] = "Abroad".into();
    let (ra, rb) = tokio::join!(put(a, Some(etag.clone())), put(b, Some(etag.clone())));
    let mut statuses = [ra.status(), rb.status()];
    statuses.sort();
    assert_eq!(statuses, [200, 412], "{:?} {:?}", ra.body, rb.body);
    let loser = if ra.status() == 412 { &ra } else { &rb };
    assert_eq!(loser.error_code(), "precondition_failed");
    let now = t
        .api()
        .send(request("GET", "/shipping").bearer(&admin))
        .await;
    assert_ne!(now.header("etag").unwrap(), etag);
    assert!(now.body["zones"][0]["name"] == "Domestic" || now.body["zones"][1]["name"] == "Abroad");
    assert!(
        !(now.body["zones"][0]["name"] == "Domestic" && now.body["zones"][1]["name"] == "Abroad")
    );

    let r = put(doc.clone(), None).await;
    assert_eq!((r.status(), r.error_code()), (428, "precondition_required"));
    let mut bad = doc.clone();
    bad["zones"][0]["countries"] = json!(["US", "XX"]);
    let r = put(bad, now.header("etag").map(str::to_string)).await;
    assert_eq!(
        (r.status(), r.body["error"]["field"].as_str()),
        (400, Some("zones[0].countries[1]"))
    );
    let r = t.api().send(request("GET", "/tax").bearer(&customer)).await;
    assert_eq!(r.status(), 403);
    let r = t
        .api()
        .send(
            request("PUT", "/tax")
                .bearer(&customer)
                .header("if-match", "\"1\"")
                .json(json!({"prices_include_tax": false, "regions": []})),
        )
        .await;
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn anyone_can_see_where_the_shop_ships() {
    let t = TestApp::new().await;
    let r = t.api().send(request("GET", "/shipping/countries")).await;
    assert_eq!(r.status(), 200);
    let codes: Vec<&str> = r.body["countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "AT", "BE", "CA", "DE", "DK", "FR", "GB", "IE", "NL", "SE", "US"
        ]
    );
    assert_eq!(
        r.body["countries"][6],
        json!({"code": "GB", "name": "United Kingdom"})
    );
}
