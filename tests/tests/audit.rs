//! The audit trail: every admin write records who, when, what and each changed field before and
//! after, in the same transaction as the change (a refused write records nothing); admins read it
//! newest first a page at a time, customers not at all, and no route changes it.

use serde_json::{Value, json};
use shop_tests::{TestApp, TestResponse, request, shipped};

async fn send(t: &TestApp, token: &str, method: &str, path: &str, body: Value) -> TestResponse {
    let req = request(method, path).bearer(token);
    let req = if body.is_null() { req } else { req.json(body) };
    t.api().send(req).await
}

/// Every entry, newest first, read `limit` at a time through the cursors.
async fn trail(t: &TestApp, admin: &str, limit: usize) -> Vec<Value> {
    t.every_page(admin, "/admin/audit", limit).await
}

/// The entries `admin_id` made, oldest first.
fn by(entries: &[Value], admin_id: &str) -> Vec<Value> {
    let mut mine: Vec<Value> = entries
        .iter()
        .filter(|e| e["actor"] == admin_id)
        .cloned()
        .collect();
    mine.reverse();
    mine
}

fn change<'a>(entry: &'a Value, field: &str) -> &'a Value {
    entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == field)
        .unwrap_or_else(|| panic!("{field} not in {entry}"))
}

fn fields(entry: &Value) -> Vec<&str> {
    entry["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn every_admin_write_is_on_the_trail_with_who_when_and_what_changed() {
    let t = TestApp::new().await;
    let (admin, customer) = t.admin_and_customer().await;
    let admin_id = t.api().me(&admin).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let customer_id = t.api().me(&customer).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = shop::types::Timestamp::now();

    // Products: created, repriced, given an image, and (another one) deleted.
    let created = send(
        &t,
        &admin,
        "POST",
        "/products",
        json!({"name": "Audit Tea", "price_cents": 1500, "category": "tea", "stock": 12}),
    )
    .await;
    assert_eq!(created.status(), 201, "{:?}", created.body);
    let tea = created.body["id"].as_str().unwrap().to_string();
    let r = send(
        &t,
        &admin,
        "PUT",
        &format!("/products/{tea}"),
        json!({"price_cents": 1200}),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    // The picture is recorded when resize-image makes it, as the admin who uploaded it.
    let key = t
        .upload_picture(
            &admin,
            &tea,
            "image/png",
            shop_tests::s3::sample_png(64, 48),
        )
        .await;
    assert_eq!(t.deliver_upload(&key).await["made"], "picture");
    let image_url = t
        .api()
        .send(request("GET", &format!("/products/{tea}")))
        .await
        .body["image_url"]
        .clone();
    assert!(
        image_url.as_str().unwrap().ends_with("/64.webp"),
        "{image_url}"
    );
    let doomed = t.product("Doomed", 100, 1).await;
    let r = send(
        &t,
        &admin,
        "DELETE",
        &format!("/products/{doomed}"),
        Value::Null,
    )
    .await;
    assert_eq!(r.status(), 204);

    // An order cancelled by the admin (the owner's own cancel would not be an admin write).
    let order = t
        .api()
        .checkout(
            &customer,
            "audit-1",
            shipped(json!({"items": [{"product_id": tea, "quantity": 2}]})),
        )
        .await;
    assert_eq!(order.status(), 201, "{:?}", order.body);
    let order_id = order.body["id"].as_str().unwrap().to_string();
    let r = send(
        &t,
        &admin,
        "PUT",
        &format!("/orders/{order_id}/status"),
        json!({"status": "CANCELLED"}),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);

    // Tax rates, a customer disabled, a discount code created and ended.
    let r = send(&t, &admin, "GET", "/tax", Value::Null).await;
    let etag = r.header("etag").unwrap().to_string();
    let mut tax = r.body.clone();
    tax["regions"][0]["rates"]["standard"] = 1000.into();
    let put = |etag: String, tax: Value| {
        t.api().send(
            request("PUT", "/tax")
                .bearer(&admin)
                .header("if-match", &etag)
                .json(tax),
        )
    };
    assert_eq!(put(etag.clone(), tax.clone()).await.status(), 200);
    let r = send(
        &t,
        &admin,
        "PUT",
        &format!("/admin/customers/{customer_id}"),
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);
    let promo = json!({"code": "audit-5", "kind": "fixed", "value": 500});
    let r = send(&t, &admin, "POST", "/admin/promotions", promo.clone()).await;
    assert_eq!(r.status(), 201, "{:?}", r.body);
    let r = send(
        &t,
        &admin,
        "PUT",
        "/admin/promotions/AUDIT-5",
        json!({"max_redemptions": 3}),
    )
    .await;
    assert_eq!(r.status(), 200, "{:?}", r.body);

    // Refused writes change nothing, so they record nothing.
    assert_eq!(put(etag, tax).await.status(), 412);
    let taken = send(&t, &admin, "POST", "/admin/promotions", promo).await;
    assert_eq!(taken.status(), 409);
    let r = send(
        &t,
        &customer,
        "PUT",
        &format!("/products/{tea}"),
        json!({"price_cents": 1}),
    )
    .await;
    assert_eq!(r.status(), 401, "the disabled customer's session ended");

    let all = trail(&t, &admin, 3).await;
    let ids: Vec<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first, "newest first, each entry once");
    newest_first.dedup();
    assert_eq!(newest_first.len(), ids.len());
    let mine = by(&all, &admin_id);
    let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "product_created",
            "product_updated",
            "product_image_set",
            "product_deleted",
            "order_status_changed",
            "tax_rates_changed",
            "customer_disabled",
            "promotion_created",
            "promotion_changed",
        ]
    );
    for e in &mine {
        assert_eq!(e["actor_email"], "admin@test.local");
        let at = shop::types::Timestamp::parse(e["at"].as_str().unwrap()).unwrap();
        assert!(at >= started, "{e}");
    }
    let [
        created,
        updated,
        image,
        deleted,
        cancelled,
        taxed,
        disabled,
        code,
        ended,
    ] = &mine[..]
    else {
        unreachable!()
    };
    assert_eq!(created["target"], tea.as_str());
    assert!(
        created["changes"].as_array().unwrap().len() >= 5,
        "{created}"
    );
    assert_eq!(change(created, "price_cents")["after"], 1500);
    assert!(change(created, "price_cents").get("before").is_none());
    assert_eq!(fields(updated), ["price_cents"], "only what changed");
    assert_eq!(change(updated, "price_cents")["before"], 1500);
    assert_eq!(change(updated, "price_cents")["after"], 1200);
    assert_eq!(fields(image), ["image_url"]);
    assert_eq!(change(image, "image_url")["after"], image_url);
    assert_eq!(deleted["target"], doomed.as_str());
    assert_eq!(change(deleted, "name")["before"], "Doomed");
    assert!(change(deleted, "name").get("after").is_none());
    assert_eq!(cancelled["target"], order_id.as_str());
    assert_eq!(change(cancelled, "status")["before"], "PENDING");
    assert_eq!(change(cancelled, "status")["after"], "CANCELLED");
    assert_eq!(taxed["target"], "tax");
    assert_eq!(fields(taxed), ["regions"]);
    assert_eq!(
        change(taxed, "regions")["after"][0]["rates"]["standard"],
        1000
    );
    assert_eq!(disabled["target"], customer_id.as_str());
    assert_eq!(change(disabled, "disabled")["before"], false);
    assert_eq!(change(disabled, "disabled")["after"], true);
    assert_eq!(code["target"], "AUDIT-5");
    assert_eq!(ended["target"], "AUDIT-5");
    assert_eq!(fields(ended), ["max_redemptions"]);
    assert_eq!(change(ended, "max_redemptions")["after"], 3);

    // Customers do not read it.
    let other = t.api().customer("reader@test.local").await;
    let r = send(&t, &other, "GET", "/admin/audit", Value::Null).await;
    assert_eq!(r.status(), 403);
}

#[test]
fn no_route_writes_the_trail() {
    let text = std::fs::read_to_string(shop_tests::repo_root().join("Cargo.toml")).unwrap();
    let manifest: toml::Table = toml::from_str(&text).unwrap();
    let routes = &manifest["workspace"]["metadata"]["lambda"]["watch"]["router"];
    let audit: Vec<&str> = routes
        .as_table()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.starts_with("/admin/audit"))
        .flat_map(|(_, methods)| methods.as_array().unwrap())
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert_eq!(audit, ["GET"]);
}
