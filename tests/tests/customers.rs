//! The admin's customers: the email search, an account with its sessions and orders, and
//! disabling one (its sessions end at once; only the right password learns it is disabled).

use serde_json::json;
use shop_tests::{TestApp, client::CUSTOMER_PASSWORD, request};

async fn get(t: &TestApp, token: &str, path: &str) -> shop_tests::TestResponse {
    t.api().send(request("GET", path).bearer(token)).await
}

fn emails(r: &shop_tests::TestResponse) -> Vec<String> {
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["email"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn customers_are_found_by_email_prefix_in_email_order_a_page_at_a_time() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    for e in ["carol@one.test", "Carl@two.test", "dave@one.test"] {
        t.api().customer(e).await;
    }
    let r = get(&t, &admin, "/admin/customers?q=CAR").await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(emails(&r), ["carl@two.test", "carol@one.test"]);
    assert_eq!(r.body["items"][0]["disabled"], false);
    assert_eq!(r.body["items"][0]["role"], "customer");
    let first = get(&t, &admin, "/admin/customers?limit=2").await;
    assert_eq!(emails(&first), ["admin@test.local", "carl@two.test"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let next = t
        .api()
        .send(
            request("GET", "/admin/customers")
                .bearer(&admin)
                .query("limit", "2")
                .query("cursor", cursor),
        )
        .await;
    assert_eq!(emails(&next), ["carol@one.test", "dave@one.test"]);
    assert!(
        get(&t, &admin, "/admin/customers?q=zed").await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(get(&t, &customer, "/admin/customers").await.status(), 403);
}

#[tokio::test]
async fn a_disabled_customer_is_signed_out_everywhere_and_told_only_after_the_right_password() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    let email = "eve@shop.test";
    let token = t.api().customer(email).await;
    let second = t.api().token(email, CUSTOMER_PASSWORD).await;
    let tea = t.product("Tea", 500, 10).await;
    let order = t
        .api()
        .checkout(
            &token,
            "c-1",
            json!({"items": [{"product_id": tea, "quantity": 1}]}),
        )
        .await;
    assert_eq!(order.status(), 201);
    let id = t.api().me(&token).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();

    let r = get(&t, &admin, &format!("/admin/customers/{id}")).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(r.body["email"], email);
    assert_eq!(r.body["sessions"], 2);
    assert_eq!(r.body["email_verified"], false);
    assert_eq!(r.body["orders"]["items"][0]["id"], order.body["id"]);

    let disable = |on: bool| {
        t.api().send(
            request("PUT", &format!("/admin/customers/{id}"))
                .bearer(&admin)
                .json(json!({"disabled": on})),
        )
    };
    let r = disable(true).await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    assert_eq!(
        (r.body["disabled"].clone(), r.body["sessions"].clone()),
        (json!(true), json!(0))
    );
    // Both sessions ended at once.
    assert_eq!(t.api().me(&token).await.status(), 401);
    assert_eq!(t.api().me(&second).await.status(), 401);
    // A wrong password learns nothing new; the right one is told.
    let wrong = t.api().login(email, "not-the-password-1").await;
    assert_eq!((wrong.status(), wrong.error_code()), (401, "unauthorized"));
    let right = t.api().login(email, CUSTOMER_PASSWORD).await;
    assert_eq!(
        (right.status(), right.error_code()),
        (403, "account_disabled")
    );

    let r = disable(false).await;
    assert_eq!(r.body["disabled"], false);
    assert_eq!(t.api().login(email, CUSTOMER_PASSWORD).await.status(), 200);

    // Admins are not disabled here (the caller included); unknown ids are 404.
    let me = t.api().me(&admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .api()
        .send(
            request("PUT", &format!("/admin/customers/{me}"))
                .bearer(&admin)
                .json(json!({"disabled": true})),
        )
        .await;
    assert_eq!((r.status(), r.error_code()), (422, "not_a_customer"));
    assert_eq!(t.api().me(&admin).await.status(), 200);
    let r = get(&t, &admin, "/admin/customers/01JD0000000000000000000000").await;
    assert_eq!(r.status(), 404);
    let r = t
        .api()
        .send(
            request("PUT", &format!("/admin/customers/{id}"))
                .bearer(&admin)
                .json(json!({"disabled": "yes"})),
        )
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn accounts_made_before_the_search_are_found_after_the_backfill() {
    let t = TestApp::new().await;
    let (admin, _) = t.admin_and_customer().await;
    t.api().customer("old@shop.test").await;
    t.app
        .dynamo
        .update_item()
        .table_name(&t.env["USERS_TABLE"])
        .key("pk", shop::db::s("EMAIL#old@shop.test"))
        .key("sk", shop::db::s("EMAIL"))
        .update_expression("REMOVE gsi1pk, gsi1sk")
        .send()
        .await
        .unwrap();
    assert!(emails(&get(&t, &admin, "/admin/customers?q=old").await).is_empty());
    assert_eq!(
        shop::users::store::backfill_email_index(t.app)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        emails(&get(&t, &admin, "/admin/customers?q=old").await),
        ["old@shop.test"]
    );
}
