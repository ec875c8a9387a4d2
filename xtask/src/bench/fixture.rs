//! The data every run measures against (users, products, orders), and each function's request.

use super::*;

/// Everything the events need: users, tokens, products, a cart, orders.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
pub(crate) struct Fixture {
    pub(crate) admin: String,
    pub(crate) customer: String,
    pub(crate) customer_id: String,
    pub(crate) products: Vec<String>,
    pub(crate) stocked: String,
    pub(crate) order: String,
    pub(crate) pending_orders: Vec<String>,
    pub(crate) doomed_products: Vec<String>,
    pub(crate) logout_tokens: Vec<String>,
}

pub(crate) async fn fixture(app: &'static App, warm: usize) -> Fixture {
    use shop::{catalog as products, users};
    let admin = users::store::register(app, new_user("admin@bench.local"), Role::Admin)
        .await
        .unwrap();
    let customer = users::store::register(app, new_user("customer@bench.local"), Role::Customer)
        .await
        .unwrap();
    let mut created = Vec::new();
    for i in 0..30 {
        let p = products::create(
            app,
            new_product(&format!("Bench Product {i:02}"), 1_000_000),
        )
        .await
        .unwrap();
        created.push(p.id.to_string());
    }
    let mut doomed = Vec::new();
    for i in 0..warm + 2 {
        doomed.push(
            products::create(app, new_product(&format!("Doomed {i:04}"), 1))
                .await
                .unwrap()
                .id
                .to_string(),
        );
    }
    // Logout's tokens belong to users of their own, a few each: a thousand revocations on the
    // customer's item would slow every later endpoint that reads it, as no real account would.
    let mut leavers = Vec::new();
    for k in 0..50 {
        let email = format!("leaver-{k}@bench.local");
        let user = users::store::register(app, new_user(&email), Role::Customer)
            .await
            .unwrap();
        leavers.push(user.id);
    }
    let admin_token = signed_in(app, &admin.id, Role::Admin).await;
    let customer_token = signed_in(app, &customer.id, Role::Customer).await;
    // A cart of three products and some orders, through the same services the functions use.
    let cart = json!({"items": [{"product_id": created[0], "quantity": 1}, {"product_id": created[1], "quantity": 2}, {"product_id": created[2], "quantity": 1}]});
    call(
        app,
        shop::orders::put_cart,
        "PUT",
        &customer_token,
        Some(cart),
        &[],
    )
    .await;
    let mut orders = Vec::new();
    for i in 0..warm + 3 {
        let body = json!({"items": [{"product_id": created[3], "quantity": 1}]});
        let o = call(
            app,
            shop::orders::create_order,
            "POST",
            &customer_token,
            Some(body),
            &[("idempotency-key", &format!("fixture-{i}"))],
        )
        .await;
        orders.push(o["id"].as_str().unwrap().to_string());
    }
    Fixture {
        admin: admin_token,
        customer: customer_token,
        customer_id: customer.id.to_string(),
        stocked: created[4].clone(),
        products: created,
        order: orders[0].clone(),
        pending_orders: orders[1..].to_vec(),
        doomed_products: doomed,
        logout_tokens: {
            let mut tokens = Vec::new();
            for i in 0..warm + 2 {
                tokens.push(signed_in(app, &leavers[i % leavers.len()], Role::Customer).await);
            }
            tokens
        },
    }
}

pub(crate) fn new_user(email: &str) -> shop::users::NewUser {
    shop::users::NewUser::try_from(shop::users::RegisterRequest {
        email: email.into(),
        password: "bench-password".into(),
        name: "Bench".into(),
    })
    .unwrap()
}

pub(crate) fn new_product(name: &str, stock: i64) -> shop::catalog::NewProduct {
    let req: shop::catalog::CreateProductRequest =
        serde_json::from_value(json!({"name": name, "price_cents": 1234, "category": "bench", "stock": stock, "description": "A product for the benchmark."})).unwrap();
    shop::catalog::NewProduct::try_from(req).unwrap()
}

pub(crate) async fn call<F, Fut>(
    app: &'static App,
    handler: F,
    method: &str,
    token: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Value
where
    F: FnOnce(&'static App, shop::Request) -> Fut,
    Fut: Future<Output = shop::ApiResult<shop::Reply>>,
{
    let mut b = lambda_http::http::Request::builder()
        .method(method)
        .uri("https://api.bench/")
        .header("authorization", format!("Bearer {token}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let req = b
        .body(
            body.map(|v| lambda_http::Body::Text(v.to_string()))
                .unwrap_or(lambda_http::Body::Empty),
        )
        .unwrap();
    let resp = shop::dispatch(app, req, handler).await;
    assert!(
        resp.status().is_success(),
        "fixture call failed: {:?}",
        resp.body()
    );
    serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null)
}

/// The event for invocation `i` of `function`.
/// Functions the benchmark has no load for yet (each needs its own fixture: a Stripe double, or a
/// fresh session per request); the run lists them instead of measuring them.
pub(crate) const WITHOUT_FIXTURE: &[&str] =
    &["pay-order", "payment-webhook", "refresh", "logout-all"];

pub(crate) fn event_for(function: &str, route: &str, f: &Fixture, i: usize) -> Value {
    let p = |k: usize| f.products[k % f.products.len()].as_str();
    match function {
        "health" => event("GET", route, "/health", None, None, &[]),
        "register" => event(
            "POST",
            route,
            route,
            None,
            Some(
                json!({"email": format!("new{i}@bench.local"), "password": "bench-password", "name": "New"}),
            ),
            &[],
        ),
        "login" => event(
            "POST",
            route,
            route,
            None,
            Some(json!({"email": "customer@bench.local", "password": "bench-password"})),
            &[],
        ),
        "logout" => event("POST", route, route, Some(&f.logout_tokens[i]), None, &[]),
        "get-me" => event("GET", route, route, Some(&f.customer), None, &[]),
        "update-me" => event(
            "PUT",
            route,
            route,
            Some(&f.customer),
            Some(json!({"name": format!("Bench {i}")})),
            &[],
        ),
        "list-products" => event("GET", route, "/products?limit=20", None, None, &[]),
        "get-product" => event(
            "GET",
            route,
            &format!("/products/{}", p(i)),
            None,
            None,
            &[],
        ),
        "create-product" => event(
            "POST",
            route,
            route,
            Some(&f.admin),
            Some(
                json!({"name": format!("Created {i}"), "price_cents": 990, "category": "bench", "stock": 5}),
            ),
            &[],
        ),
        "update-product" => event(
            "PUT",
            route,
            &format!("/products/{}", p(i)),
            Some(&f.admin),
            Some(json!({"price_cents": 1234})),
            &[],
        ),
        "delete-product" => event(
            "DELETE",
            route,
            &format!("/products/{}", f.doomed_products[i]),
            Some(&f.admin),
            None,
            &[],
        ),
        "product-image" => event(
            "POST",
            route,
            &format!("/products/{}/image", p(i)),
            Some(&f.admin),
            Some(json!({"content_type": "image/png"})),
            &[],
        ),
        "get-inventory" => event(
            "GET",
            route,
            &format!(
                "/inventory?ids={},{},{},{},{}",
                p(0),
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            None,
            None,
            &[],
        ),
        "get-cart" => event("GET", route, route, Some(&f.customer), None, &[]),
        "put-cart" => event(
            "PUT",
            route,
            route,
            Some(&f.customer),
            Some(
                json!({"items": [{"product_id": p(0), "quantity": 1}, {"product_id": p(1), "quantity": 2}, {"product_id": p(2), "quantity": 1}]}),
            ),
            &[],
        ),
        "create-order" => event(
            "POST",
            route,
            route,
            Some(&f.customer),
            Some(json!({"items": [{"product_id": f.stocked, "quantity": 1}]})),
            &[("idempotency-key", &format!("bench-{}", ulid::Ulid::new()))],
        ),
        "list-orders" => event(
            "GET",
            route,
            "/orders?limit=20",
            Some(&f.customer),
            None,
            &[],
        ),
        "get-order" => event(
            "GET",
            route,
            &format!("/orders/{}", f.order),
            Some(&f.customer),
            None,
            &[],
        ),
        "update-order-status" => event(
            "PUT",
            route,
            &format!("/orders/{}/status", f.pending_orders[i]),
            Some(&f.admin),
            Some(json!({"status": "PAID"})),
            &[],
        ),
        other => panic!("no benchmark event for {other}"),
    }
}

/// An access token of a fresh session of `user`, as signing in opens one.
async fn signed_in(app: &'static shop::App, user: &shop::types::UserId, role: Role) -> String {
    let account = shop::db::get_item(
        &app.dynamo,
        &app.config.tables.users,
        shop::auth::account_key(user.as_str()),
        true,
    )
    .await
    .unwrap()
    .unwrap_or_default();
    shop::auth::session::open(app, user, role, &account)
        .await
        .unwrap()
        .token
}
