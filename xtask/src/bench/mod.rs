//! `make bench`: measures what Lambda bills for every function and checks the budgets.
//!
//! For each function binary (release build): init time (process start until its first poll of the
//! runtime API, SDK clients built; median of 20 starts), first-request latency, warm p50/p99 against
//! DynamoDB Local next to the bare SDK call(s) the endpoint needs (made by a minimal Lambda through
//! the same Runtime API, and from this process), peak RSS, and a cost line. Plus the
//! release zip sizes, checkout throughput at concurrency 1/8/32 with no oversell, and what reading a
//! second item costs on DynamoDB Local in each shape (the floor under the account lookup). Writes
//! docs/benchmark.md, docs/benchmark.json and docs/benchmark-latency.svg; exits 1 when a budget is missed.

mod runtime;

/// The keys the twins read: the same functions the endpoints use.
mod keys {
    use shop::{
        db::Item,
        types::{ProductId, UserId},
    };

    pub use shop::{auth::principal::account_pk as user_pk, catalog::store::CATALOG, db::key};

    pub fn user(id: &str) -> Item {
        shop::auth::account_key(id)
    }
    pub fn product(id: &str) -> Item {
        shop::catalog::store::product_key(&ProductId::from_trusted(id))
    }
    pub fn order(id: &str) -> Item {
        shop::orders::store::order_key(id)
    }
    pub fn cart(user: &str) -> Item {
        shop::orders::store::cart_key(&UserId::from_trusted(user))
    }
    pub fn idempotency(user: &str, key: &str) -> Item {
        shop::orders::store::idempotency_record_key(&UserId::from_trusted(user), key)
    }
}

use std::{
    collections::BTreeMap,
    future::Future,
    pin::Pin,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use aws_sdk_dynamodb::types::{
    KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use runtime::RuntimeApi;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shop::{App, config::Config, types::Role};
use shop_tests::{dynamodb, env_for, free_port, repo_root, s3};

const INIT_BUDGET_MS: f64 = 5.0;
const ZIP_BUDGET_BYTES: u64 = 2_500_000;
const OVERHEAD_BUDGET: f64 = 0.10;
const INIT_STARTS: usize = 20;
/// us-east-1 list prices: Lambda arm64 per GB-second and per request, HTTP API per request.
const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
const LAMBDA_PER_MILLION: f64 = 0.20;
const HTTP_API_PER_MILLION: f64 = 1.00;
/// Lambda gives a function one full vCPU at 1769 MB and a proportional share below.
const FULL_VCPU_MB: f64 = 1769.0;

type BoxFut<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

#[derive(Serialize, Default, Clone)]
struct FunctionReport {
    function: String,
    route: String,
    memory_mb: u64,
    init_ms_median: f64,
    first_request_ms: f64,
    warm_p50_ms: f64,
    warm_p99_ms: f64,
    invocations: usize,
    /// The bare SDK call(s) made by a minimal Lambda (`bare_lambda`), invoked like the function.
    bare_first_request_ms: Option<f64>,
    bare_p50_ms: Option<f64>,
    bare_p99_ms: Option<f64>,
    /// Our overhead: warm p50 over the bare Lambda's p50, minus one. The budget applies to this.
    overhead_p50: Option<f64>,
    /// The same SDK call(s) made directly from the benchmark process: no Runtime API round trip.
    sdk_p50_ms: Option<f64>,
    sdk_p99_ms: Option<f64>,
    /// Warm p50 over the in-process SDK p50, minus one (includes the Runtime API round trip).
    overhead_vs_sdk_p50: Option<f64>,
    /// The bare Lambda plus the account lookup, made the way the endpoint makes it (`with_account`),
    /// for endpoints whose own data is not the account: what is left over it is our code alone.
    account_twin_p50_ms: Option<f64>,
    overhead_over_account_twin_p50: Option<f64>,
    peak_rss_mb: f64,
    zip_bytes: Option<u64>,
    /// CPU time per warm request (all threads), from the kernel's scheduler statistics.
    cpu_ms_per_request: f64,
    /// Warm p50 at the configured memory: the CPU part stretched by Lambda's CPU share.
    p50_at_memory_ms: f64,
    /// The size `recommend_memory` picks from these measurements.
    recommended_memory_mb: u64,
    cost_per_million_usd: f64,
}

/// Memory sizes considered, up to one full vCPU (the functions are single-threaded, more buys nothing).
const MEMORY_SIZES: [u64; 5] = [128, 256, 512, 1024, 1769];

/// Lambda's CPU share at `memory_mb` is proportional, one vCPU at 1769 MB. Stretching all CPU time
/// by it is the worst case (short bursts may run at full speed); the waiting part is unaffected.
fn p50_at(memory_mb: u64, wall_p50: f64, cpu: f64) -> f64 {
    let cpu = cpu.min(wall_p50);
    wall_p50 - cpu + cpu * (FULL_VCPU_MB / memory_mb as f64).max(1.0)
}

/// The smallest size at which the CPU share adds at most 10% (or 1 ms, if more) to the p50 measured
/// on a full core, with room for twice the peak RSS. Compute is billed at ~$0.017 per GB-hour
/// while every request also pays $1.20 per million to Lambda and the HTTP API, so buying latency
/// is cheap; beyond what the CPU needs it buys nothing.
///
/// The size already `configured` stays unless the measurement clears that line by a quarter of the
/// slack: functions whose stretch sits near it (get-me, get-product, logout) flipped between 512
/// and 1024 MB from one run to the next on this noisy machine, which churned the deploy config.
fn recommend_memory(wall_p50: f64, cpu: f64, peak_rss_mb: f64, configured: u64) -> u64 {
    let slack = (wall_p50 * 0.10).max(1.0);
    let fits = |m: u64, slack: f64| {
        p50_at(m, wall_p50, cpu) - wall_p50 <= slack && peak_rss_mb * 2.0 <= m as f64
    };
    let smallest = |slack: f64| MEMORY_SIZES.into_iter().find(|m| fits(*m, slack));
    if MEMORY_SIZES.contains(&configured) && fits(configured, slack * 1.25) {
        // Still good enough: move down only to a size that is clearly good enough too.
        smallest(slack * 0.75).map_or(configured, |m| m.min(configured))
    } else {
        smallest(slack).unwrap_or(FULL_VCPU_MB as u64)
    }
}

/// Nanoseconds a process's threads have run on a CPU (/proc/<pid>/task/*/schedstat, first field).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[derive(Serialize)]
struct Report {
    generated_at: String,
    machine: String,
    zip_target: String,
    functions: Vec<FunctionReport>,
    checkout_throughput: Vec<Value>,
    login_p50_at_configured_memory_ms: f64,
    /// The order alone and the order with the caller's account, in every shape DynamoDB offers.
    second_read: Vec<Value>,
    budgets: Vec<Value>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v
}

/// An API Gateway HTTP API (v2) event, as `events/` has them.
fn event(
    method: &str,
    route: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    extra: &[(&str, &str)],
) -> Value {
    let mut headers = json!({"content-type": "application/json", "host": "api.bench"});
    if let Some(t) = token {
        headers["authorization"] = json!(format!("Bearer {t}"));
    }
    for (k, v) in extra {
        headers[*k] = json!(v);
    }
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut ev = json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "bench", "domainName": "api.bench", "domainPrefix": "api",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": ulid::Ulid::new().to_string(), "routeKey": format!("{method} {route}"), "stage": "$default",
            "time": "22/Nov/2026:10:00:00 +0000", "timeEpoch": 1795341600000u64
        },
        "isBase64Encoded": false,
    });
    if !query.is_empty() {
        let q: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        ev["queryStringParameters"] = Value::Object(q);
    }
    let params: Vec<(&str, &str)> = route
        .split('/')
        .zip(raw_path.split('/'))
        .filter(|(r, _)| r.starts_with('{'))
        .collect();
    if !params.is_empty() {
        ev["pathParameters"] = Value::Object(
            params
                .iter()
                .map(|(r, v)| {
                    (
                        r.trim_matches(|c| c == '{' || c == '}').to_string(),
                        json!(v),
                    )
                })
                .collect(),
        );
    }
    if let Some(b) = body {
        ev["body"] = json!(b.to_string());
    }
    ev
}

/// Everything the events need: users, tokens, products, a cart, orders.
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Fixture {
    admin: String,
    customer: String,
    customer_id: String,
    products: Vec<String>,
    stocked: String,
    order: String,
    pending_orders: Vec<String>,
    doomed_products: Vec<String>,
    logout_tokens: Vec<String>,
}

async fn fixture(app: &'static App, warm: usize) -> Fixture {
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
    let admin_token = app.jwt.issue(&admin.id, Role::Admin).unwrap();
    let customer_token = app.jwt.issue(&customer.id, Role::Customer).unwrap();
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
        logout_tokens: (0..warm + 2)
            .map(|i| {
                app.jwt
                    .issue(&leavers[i % leavers.len()], Role::Customer)
                    .unwrap()
            })
            .collect(),
    }
}

fn new_user(email: &str) -> shop::users::NewUser {
    shop::users::NewUser::try_from(shop::users::RegisterRequest {
        email: email.into(),
        password: "bench-password".into(),
        name: "Bench".into(),
    })
    .unwrap()
}

fn new_product(name: &str, stock: i64) -> shop::catalog::NewProduct {
    let req: shop::catalog::CreateProductRequest =
        serde_json::from_value(json!({"name": name, "price_cents": 1234, "category": "bench", "stock": stock, "description": "A product for the benchmark."})).unwrap();
    shop::catalog::NewProduct::try_from(req).unwrap()
}

async fn call<F, Fut>(
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
fn event_for(function: &str, route: &str, f: &Fixture, i: usize) -> Value {
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

/// The bare SDK work an endpoint cannot avoid, to compare with: `None` where there is no fair twin.
fn baseline<'a>(function: &str, app: &'a App, f: &'a Fixture, i: usize) -> Option<BoxFut<'a>> {
    let t = &app.config.tables;
    let d = &app.dynamo;
    let get = move |table: &'a str, key, consistent: bool| -> BoxFut<'a> {
        Box::pin(async move {
            d.get_item()
                .table_name(table)
                .set_key(Some(key))
                .consistent_read(consistent)
                .send()
                .await
                .unwrap();
        })
    };
    let batch = move |ids: Vec<String>| async move {
        let mut ka = KeysAndAttributes::builder();
        for id in &ids {
            ka = ka.keys(keys::product(id));
        }
        d.batch_get_item()
            .request_items(&t.products, ka.build().unwrap())
            .send()
            .await
            .unwrap();
    };
    let p = |k: usize| f.products[k % f.products.len()].clone();
    Some(match function {
        "health" => get(&t.users, keys::key("HEALTH".into(), "HEALTH"), false),
        // The profile is read consistently: the same read proves the token was not revoked.
        "get-me" => get(&t.users, keys::user(&f.customer_id), true),
        "get-product" => get(&t.products, keys::product(&p(i)), false),
        "get-order" => get(&t.orders, keys::order(&f.order), true),
        "get-inventory" => Box::pin(batch((0..5).map(p).collect())),
        "list-products" => Box::pin(async move {
            d.query()
                .table_name(&t.products)
                .index_name("by_name")
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", shop::db::s(keys::CATALOG))
                .limit(20)
                .send()
                .await
                .unwrap();
        }),
        "list-orders" => Box::pin(async move {
            d.query()
                .table_name(&t.orders)
                .index_name("by_user")
                .key_condition_expression("gsi1pk = :p")
                .expression_attribute_values(":p", shop::db::s(keys::user_pk(&f.customer_id)))
                .scan_index_forward(false)
                .limit(20)
                .send()
                .await
                .unwrap();
        }),
        "get-cart" => Box::pin(async move {
            d.get_item()
                .table_name(&t.orders)
                .set_key(Some(keys::cart(&f.customer_id)))
                .consistent_read(true)
                .send()
                .await
                .unwrap();
            batch((0..3).map(p).collect()).await;
        }),
        "create-order" => Box::pin(async move {
            batch(vec![f.stocked.clone()]).await;
            checkout_transaction(app, f).await;
        }),
        _ => return None,
    })
}

/// The minimal Lambdas an endpoint is compared with, each answering every event with an empty 200.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Debug)]
enum Twin {
    /// The endpoint's bare SDK call(s): the yardstick of the overhead budget.
    Bare,
    /// Those calls plus the caller's account lookup (revocation, role), made as the endpoint makes it.
    WithAccount,
}

impl Twin {
    fn calls<'a>(
        self,
        function: &str,
        app: &'a App,
        f: &'a Fixture,
        i: usize,
    ) -> Option<BoxFut<'a>> {
        match self {
            Twin::Bare => baseline(function, app, f, i),
            Twin::WithAccount => with_account(function, app, f, i),
        }
    }
}

/// `baseline` plus the account lookup, batched or concurrent exactly as in the endpoint. `None` for
/// endpoints without a separate lookup (get-me's lookup is its data read) or without auth.
fn with_account<'a>(function: &str, app: &'a App, f: &'a Fixture, i: usize) -> Option<BoxFut<'a>> {
    use shop::db::BatchGet;
    let (t, d) = (&app.config.tables, &app.dynamo);
    let account = || BatchGet::default().get(&t.users, keys::user(&f.customer_id), true);
    Some(match function {
        // The lookup runs beside the endpoint's own read(s), as `auth::authenticate_with` does.
        "get-order" | "get-cart" | "list-orders" => {
            let reads = baseline(function, app, f, i)?;
            Box::pin(async move {
                let lookup = d
                    .get_item()
                    .table_name(&t.users)
                    .set_key(Some(keys::user(&f.customer_id)))
                    .consistent_read(true)
                    .send();
                let (found, ()) = tokio::join!(lookup, reads);
                found.unwrap();
            })
        }
        "create-order" => Box::pin(async move {
            let batch = account().get(&t.products, keys::product(&f.stocked), false);
            batch.send(d).await.unwrap();
            checkout_transaction(app, f).await;
        }),
        _ => return None,
    })
}

/// The checkout's one transaction as the endpoint writes it: a real order item (copied from a
/// fixture order, so the same size and the same index keys), its idempotency record and the
/// conditional stock decrement, with the endpoint's conditions. Only the account check is left out.
async fn checkout_transaction(app: &App, f: &Fixture) {
    static TEMPLATE: tokio::sync::OnceCell<shop::db::Item> = tokio::sync::OnceCell::const_new();
    let (t, d) = (&app.config.tables, &app.dynamo);
    let template = TEMPLATE
        .get_or_init(|| async {
            d.get_item()
                .table_name(&t.orders)
                .set_key(Some(keys::order(&f.order)))
                .send()
                .await
                .unwrap()
                .item
                .expect("the fixture order")
        })
        .await;
    let id = ulid::Ulid::new().to_string();
    let order: shop::db::Item = template
        .iter()
        .map(|(k, v)| match v.as_s() {
            Ok(text) => (k.clone(), shop::db::s(text.replace(&f.order, &id))),
            Err(_) => (k.clone(), v.clone()),
        })
        .collect();
    let now = shop::types::now_epoch_secs();
    let mut idem = keys::idempotency(&f.customer_id, &format!("bench-{id}"));
    idem.insert("order_id".into(), shop::db::s(&id));
    idem.insert("fingerprint".into(), shop::db::s("x".repeat(44)));
    idem.insert("expires_at".into(), shop::db::n(now + 86_400));
    let idem = Put::builder()
        .table_name(&t.orders)
        .set_item(Some(idem))
        .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
        .expression_attribute_values(":now", shop::db::n(now))
        .build()
        .unwrap();
    let upd = Update::builder()
        .table_name(&t.products)
        .set_key(Some(keys::product(&f.stocked)))
        .update_expression("SET stock = stock - :q")
        .condition_expression("attribute_exists(pk) AND stock >= :q AND price_cents = :p")
        .expression_attribute_values(":q", shop::db::n(1))
        .expression_attribute_values(":p", shop::db::n(1234))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .unwrap();
    d.transact_write_items()
        .transact_items(
            TransactWriteItem::builder()
                .put(shop::db::put_new(&t.orders, order).unwrap())
                .build(),
        )
        .transact_items(TransactWriteItem::builder().put(idem).build())
        .transact_items(TransactWriteItem::builder().update(upd).build())
        .send()
        .await
        .unwrap();
}

fn spawn_function(
    bin: &std::path::Path,
    env: &BTreeMap<String, String>,
    runtime: &RuntimeApi,
    memory: u64,
) -> Child {
    Command::new(bin)
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", runtime.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", bin.file_name().unwrap())
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory.to_string())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the release binary exists (run `make bench`)")
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn status_of(body: &[u8]) -> u64 {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["statusCode"].as_u64())
        .unwrap_or(0)
}

/// Set on the benchmark's own child process when it plays an endpoint's bare Lambda: the path of a
/// file holding its spec (a file, as the fixture outgrows what one environment variable may hold).
const BARE_ENV: &str = "BENCH_BARE_LAMBDA";

/// A process the benchmark started as a bare twin Lambda runs that and nothing else.
pub fn bare_lambda_requested() -> Option<String> {
    std::env::var(BARE_ENV).ok()
}

pub fn run_bare_lambda(spec_file: &str) {
    bare_lambda(&std::fs::read_to_string(spec_file).expect("the bare Lambda's spec"));
}

/// `cargo xtask bench`
pub fn run() {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}

/// A twin (`Twin::calls`) as a Lambda: built and run exactly like a function (`shop::run`: same
/// telemetry, config, clients, lambda_http runtime on one thread), answering every event with an
/// empty 200. Its latency is what the endpoint would cost with none of our code around those calls,
/// so function / bare twin is our overhead: routing, auth, validation, mapping, serialization.
/// `spec` is `[function, fixture, twin]` as JSON.
fn bare_lambda(spec: &str) {
    let (function, fx, twin): (String, Fixture, Twin) = serde_json::from_str(spec).unwrap();
    let function: &'static str = Box::leak(function.into_boxed_str());
    let fx: &'static Fixture = Box::leak(Box::new(fx));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            shop::telemetry::init();
            let app = App::leaked(Config::from_env().unwrap());
            // Invocation i makes call i: the benchmark alternates function and twins in lockstep.
            let calls = std::sync::atomic::AtomicUsize::new(0);
            let calls: &'static _ = Box::leak(Box::new(calls));
            lambda_http::run(lambda_http::service_fn(move |_req| async move {
                let i = calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                twin.calls(function, app, fx, i).expect("a twin").await;
                Ok::<_, std::convert::Infallible>(lambda_http::Response::new(
                    lambda_http::Body::Empty,
                ))
            }))
            .await
            .unwrap();
        });
}

async fn bench() {
    let warm: usize = std::env::var("BENCH_WARM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let argon_warm = 20usize;
    let root = repo_root();
    // BENCH_BIN_DIR: profile other builds of the functions (e.g. with symbols) under the same load.
    let bin_dir = std::env::var_os("BENCH_BIN_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target/release"));
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root.join("Cargo.toml")).unwrap()).unwrap();
    let meta = &manifest["workspace"]["metadata"];
    let mut routes: Vec<(String, String, String, u64)> = Vec::new();
    for (path, rs) in meta["lambda"]["watch"]["router"].as_table().unwrap() {
        for r in rs.as_array().unwrap() {
            let f = r["function"].as_str().unwrap().to_string();
            let mem = meta["shop"]["functions"][&f]["memory"]
                .as_integer()
                .unwrap() as u64;
            routes.push((
                f,
                r["method"].as_str().unwrap().to_string(),
                path.clone(),
                mem,
            ));
        }
    }
    routes.sort();
    // BENCH_ONLY=get-me,login: a quick look at a few functions (the report then covers only those).
    if let Ok(only) = std::env::var("BENCH_ONLY") {
        routes.retain(|r| only.split(',').any(|f| f == r.0));
    }

    let db_port = free_port();
    let mut db = dynamodb::spawn(db_port, None);
    let mut env: BTreeMap<String, String> =
        env_for("bench", &format!("http://127.0.0.1:{db_port}"))
            .into_iter()
            .collect();
    env.insert("S3_ENDPOINT".into(), s3::endpoint());
    env.insert("IMAGES_BUCKET".into(), s3::IMAGES_BUCKET.into());
    let app = App::leaked(Config::from_lookup(|k| env.get(k).cloned()).unwrap());
    shop::create_tables(&app.dynamo, &app.config.tables)
        .await
        .unwrap();
    let fx = fixture(app, warm).await;

    let zips = zip_sizes(&root);
    let self_exe = std::env::current_exe().unwrap();
    let mut reports = Vec::new();
    for (function, method, path, memory) in &routes {
        let bin = bin_dir.join(function);
        let runtime = RuntimeApi::start().await;
        let mut inits = Vec::new();
        for _ in 0..INIT_STARTS {
            runtime.reset();
            let started = Instant::now();
            let mut child = spawn_function(&bin, &env, &runtime, *memory);
            let polled = runtime.first_poll().await;
            inits.push(ms(polled - started));
            child.kill().ok();
            child.wait().ok();
        }
        runtime.reset();
        let mut child = spawn_function(&bin, &env, &runtime, *memory);
        let n = if matches!(function.as_str(), "login" | "register") {
            argon_warm
        } else {
            warm
        };
        let first = runtime
            .invoke(serde_json::to_vec(&event_for(function, path, &fx, 0)).unwrap())
            .await;
        assert!(
            !first.error && status_of(&first.body) < 400,
            "{function}: {}",
            String::from_utf8_lossy(&first.body)
        );
        // The twins: the same SDK calls (with and without the account lookup) as minimal Lambdas,
        // each on its own Runtime API.
        let mut twins = Vec::new();
        for twin in [Twin::Bare, Twin::WithAccount] {
            if twin.calls(function, app, &fx, 0).is_none() {
                continue;
            }
            let twin_runtime = RuntimeApi::start().await;
            let spec = root.join(format!("target/bench/twin-{twin:?}.json"));
            std::fs::create_dir_all(spec.parent().unwrap()).unwrap();
            std::fs::write(&spec, serde_json::to_vec(&(function, &fx, twin)).unwrap()).unwrap();
            let mut twin_env = env.clone();
            twin_env.insert(BARE_ENV.into(), spec.display().to_string());
            let process = spawn_function(&self_exe, &twin_env, &twin_runtime, *memory);
            twin_runtime.first_poll().await;
            // Connection set-up, like the function's first request (call 0).
            let first = twin_runtime
                .invoke(serde_json::to_vec(&event_for(function, path, &fx, 0)).unwrap())
                .await;
            assert!(
                !first.error,
                "{function} {twin:?}: {}",
                String::from_utf8_lossy(&first.body)
            );
            twins.push((twin, twin_runtime, process, ms(first.duration), Vec::new()));
        }
        let bare = twins.iter().any(|t| t.0 == Twin::Bare);
        if bare {
            // And the bare call(s) from this process, for the Runtime API's share.
            baseline(function, app, &fx, 0).unwrap().await;
        }
        // The function's requests and the twins' alternate, so all meet DynamoDB Local in the
        // same state (its JIT keeps warming up during a run).
        let (mut durations, mut sdk) = (Vec::new(), Vec::new());
        let cpu_before = cpu_ns(child.id());
        for i in 1..=n {
            let out = runtime
                .invoke(serde_json::to_vec(&event_for(function, path, &fx, i)).unwrap())
                .await;
            assert!(
                !out.error && status_of(&out.body) < 400,
                "{function} #{i}: {}",
                String::from_utf8_lossy(&out.body)
            );
            durations.push(ms(out.duration));
            for (twin, twin_runtime, _, _, took) in &mut twins {
                // Same event size as the function's, so both pay the same to receive it.
                let b = twin_runtime
                    .invoke(serde_json::to_vec(&event_for(function, path, &fx, i)).unwrap())
                    .await;
                assert!(!b.error, "{function} {twin:?} #{i}");
                took.push(ms(b.duration));
            }
            if bare {
                let started = Instant::now();
                baseline(function, app, &fx, i).unwrap().await;
                sdk.push(ms(started.elapsed()));
            }
        }
        let cpu_ms = (cpu_ns(child.id()) - cpu_before) as f64 / 1e6 / n as f64;
        let rss = peak_rss_mb(child.id());
        child.kill().ok();
        child.wait().ok();
        let mut twin_stats = BTreeMap::new();
        for (twin, _, mut process, first, took) in twins {
            process.kill().ok();
            process.wait().ok();
            let took = sorted(took);
            twin_stats.insert(
                format!("{twin:?}"),
                (first, percentile(&took, 0.5), percentile(&took, 0.99)),
            );
        }
        let bare = twin_stats.get("Bare").copied();
        let account_twin_p50 = twin_stats.get("WithAccount").map(|t| t.1);

        let (warm_sorted, sdk_sorted, init_sorted) =
            (sorted(durations), sorted(sdk), sorted(inits));
        let p50 = percentile(&warm_sorted, 0.5);
        let bare_p50 = bare.map(|t| t.1);
        let sdk_p50 = (!sdk_sorted.is_empty()).then(|| percentile(&sdk_sorted, 0.5));
        let at_memory = p50_at(*memory, p50, cpu_ms);
        let billed_ms = at_memory.ceil().max(1.0);
        let r = FunctionReport {
            function: function.clone(),
            route: format!("{method} {path}"),
            memory_mb: *memory,
            init_ms_median: percentile(&init_sorted, 0.5),
            first_request_ms: ms(first.duration),
            warm_p50_ms: p50,
            warm_p99_ms: percentile(&warm_sorted, 0.99),
            invocations: n,
            bare_first_request_ms: bare.map(|t| t.0),
            bare_p50_ms: bare_p50,
            bare_p99_ms: bare.map(|t| t.2),
            overhead_p50: bare_p50.map(|b| p50 / b - 1.0),
            sdk_p50_ms: sdk_p50,
            sdk_p99_ms: (!sdk_sorted.is_empty()).then(|| percentile(&sdk_sorted, 0.99)),
            overhead_vs_sdk_p50: sdk_p50.map(|b| p50 / b - 1.0),
            account_twin_p50_ms: account_twin_p50,
            overhead_over_account_twin_p50: account_twin_p50.map(|b| p50 / b - 1.0),
            peak_rss_mb: rss,
            zip_bytes: zips.1.get(function).copied(),
            cpu_ms_per_request: cpu_ms,
            p50_at_memory_ms: at_memory,
            recommended_memory_mb: recommend_memory(p50, cpu_ms, rss, *memory),
            cost_per_million_usd: 1e6
                * (billed_ms / 1000.0)
                * (*memory as f64 / 1024.0)
                * LAMBDA_GB_SECOND
                + LAMBDA_PER_MILLION
                + HTTP_API_PER_MILLION,
        };
        eprintln!(
            "{:<20} init {:>6.2} ms  first {:>7.2} ms  p50 {:>6.2} ms  p99 {:>6.2} ms  bare p50 {:>6}  sdk p50 {:>6}  rss {:>5.1} MB  cpu {:.3} ms  memory {} MB (measured: {} MB)",
            r.function,
            r.init_ms_median,
            r.first_request_ms,
            r.warm_p50_ms,
            r.warm_p99_ms,
            r.bare_p50_ms
                .map(|v| format!("{v:.2}"))
                .unwrap_or("-".into()),
            r.sdk_p50_ms
                .map(|v| format!("{v:.2}"))
                .unwrap_or("-".into()),
            r.peak_rss_mb,
            r.cpu_ms_per_request,
            r.memory_mb,
            r.recommended_memory_mb
        );
        reports.push(r);
    }

    let throughput = checkout_throughput(app, &fx).await;
    let second_read = second_read(app, &fx).await;
    let login_p50 = reports
        .iter()
        .find(|r| r.function == "login")
        .map(|r| r.p50_at_memory_ms)
        .unwrap_or(0.0);

    let mut budgets = Vec::new();
    for r in &reports {
        budgets.push(json!({"budget": format!("{} init <= {INIT_BUDGET_MS} ms", r.function), "value": r.init_ms_median, "ok": r.init_ms_median <= INIT_BUDGET_MS}));
        if let Some(z) = r.zip_bytes {
            budgets.push(json!({"budget": format!("{} zip <= 2.5 MB", r.function), "value": z, "ok": z <= ZIP_BUDGET_BYTES}));
        }
        if let Some(o) = r.overhead_p50 {
            budgets.push(json!({"budget": format!("{} warm overhead <= 10% at p50", r.function), "value": o, "ok": o <= OVERHEAD_BUDGET}));
        }
    }
    for t in &throughput {
        budgets.push(json!({"budget": format!("no oversell at concurrency {}", t["concurrency"]), "value": t["oversold"], "ok": t["oversold"] == 0}));
    }
    let report = Report {
        generated_at: shop::types::now_rfc3339(),
        machine: machine(),
        zip_target: zips.0,
        functions: reports,
        checkout_throughput: throughput,
        login_p50_at_configured_memory_ms: login_p50,
        second_read,
        budgets,
    };
    // A partial run (BENCH_ONLY) must not replace the committed report.
    let docs = if std::env::var("BENCH_ONLY").is_ok() {
        root.join("target/bench")
    } else {
        root.join("docs")
    };
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("benchmark.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    std::fs::write(docs.join("benchmark.md"), markdown(&report)).unwrap();
    std::fs::write(docs.join("benchmark-latency.svg"), svg(&report.functions)).unwrap();
    db.kill().ok();
    db.wait().ok();
    let missed: Vec<&Value> = report.budgets.iter().filter(|b| b["ok"] != true).collect();
    eprintln!(
        "report written to {} ({} budgets, {} missed)",
        docs.join("benchmark.md").display(),
        report.budgets.len(),
        missed.len()
    );
    for m in &missed {
        eprintln!("MISSED: {} (measured {})", m["budget"], m["value"]);
    }
    if !missed.is_empty() {
        std::process::exit(1);
    }
}

/// Sizes of `target/lambda/<function>/bootstrap.zip`, built by `make bench` before this runs.
fn zip_sizes(root: &std::path::Path) -> (String, BTreeMap<String, u64>) {
    let target = std::env::var("BENCH_ZIP_TARGET").unwrap_or_else(|_| "unknown".into());
    let mut sizes = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(root.join("target/lambda")) {
        for e in entries.flatten() {
            if let Ok(m) = std::fs::metadata(e.path().join("bootstrap.zip")) {
                sizes.insert(e.file_name().to_string_lossy().to_string(), m.len());
            }
        }
    }
    (target, sizes)
}

/// Orders per second through the checkout handler, `concurrency` at a time, against a product whose
/// stock is smaller than the attempts: every run must sell exactly the stock, never more.
async fn checkout_throughput(app: &'static App, fx: &Fixture) -> Vec<Value> {
    let mut out = Vec::new();
    for concurrency in [1usize, 8, 32] {
        let stock = 64i64;
        let attempts = 96usize;
        let product = shop::catalog::create(
            app,
            new_product(&format!("Throughput {concurrency}"), stock),
        )
        .await
        .unwrap()
        .id
        .to_string();
        let started = Instant::now();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..attempts {
            let (sem, token, product) = (sem.clone(), fx.customer.clone(), product.clone());
            set.spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let req = lambda_http::http::Request::builder()
                    .method("POST")
                    .uri("https://api.bench/orders")
                    .header("authorization", format!("Bearer {token}"))
                    .header("idempotency-key", format!("tp-{concurrency}-{i}"))
                    .body(lambda_http::Body::Text(
                        json!({"items": [{"product_id": product, "quantity": 1}]}).to_string(),
                    ))
                    .unwrap();
                shop::dispatch(app, req, shop::orders::create_order)
                    .await
                    .status()
                    .as_u16()
            });
        }
        let statuses = set.join_all().await;
        let elapsed = started.elapsed();
        let sold = statuses.iter().filter(|s| **s == 201).count() as i64;
        let left =
            shop::catalog::load_product(app, &shop::types::ProductId::from_trusted(product), true)
                .await
                .unwrap()
                .unwrap()
                .stock;
        let oversold = (sold - stock).max(0) + (stock - sold - left).abs();
        out.push(json!({
            "concurrency": concurrency,
            "attempts": attempts,
            "orders": sold,
            "refused_409": statuses.iter().filter(|s| **s == 409).count(),
            "other": statuses.iter().filter(|s| **s != 201 && **s != 409).count(),
            "stock_left": left,
            "oversold": oversold,
            "orders_per_second": sold as f64 / elapsed.as_secs_f64(),
        }));
    }
    out
}

/// What reading one more item costs on DynamoDB Local, from this process with no Lambda around it:
/// get-order's own read (one GetItem of the order), then the order and the caller's account in each
/// shape DynamoDB offers. The cheapest shape is the floor under the overhead of any endpoint whose
/// own data is one item but that must also check the caller's account.
async fn second_read(app: &App, f: &Fixture) -> Vec<Value> {
    use aws_sdk_dynamodb::types::{Get, TransactGetItem};
    let (t, d) = (&app.config.tables, &app.dynamo);
    let transactional = |table: &str, key| {
        TransactGetItem::builder()
            .get(
                Get::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let shapes = [
        "one GetItem (the order)",
        "two concurrent GetItems (order, account)",
        "one BatchGetItem (order, account)",
        "one TransactGetItems (order, account)",
    ];
    let mut took: Vec<Vec<f64>> = vec![Vec::new(); shapes.len()];
    // Interleaved, so all shapes meet DynamoDB Local in the same state; the first rounds warm it.
    for round in 0..2200 {
        for (shape, times) in took.iter_mut().enumerate() {
            let started = Instant::now();
            match shape {
                // The get-order twins' own calls: its bare read, then that read beside the lookup.
                0 => baseline("get-order", app, f, 0).unwrap().await,
                1 => with_account("get-order", app, f, 0).unwrap().await,
                2 => drop(
                    shop::db::BatchGet::default()
                        .get(&t.orders, keys::order(&f.order), true)
                        .get(&t.users, keys::user(&f.customer_id), true)
                        .send(d)
                        .await
                        .unwrap(),
                ),
                _ => drop(
                    d.transact_get_items()
                        .transact_items(transactional(&t.orders, keys::order(&f.order)))
                        .transact_items(transactional(&t.users, keys::user(&f.customer_id)))
                        .send()
                        .await
                        .unwrap(),
                ),
            }
            if round >= 200 {
                times.push(ms(started.elapsed()));
            }
        }
    }
    let p50s: Vec<f64> = took
        .into_iter()
        .map(|v| percentile(&sorted(v), 0.5))
        .collect();
    shapes
        .iter()
        .zip(&p50s)
        .map(|(shape, p50)| json!({"reads": shape, "p50_ms": p50, "over_one_get_item": p50 / p50s[0] - 1.0}))
        .collect()
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!(
        "{} x {} ({})",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        cpu,
        std::env::consts::ARCH
    )
}

fn markdown(r: &Report) -> String {
    let mut s = String::new();
    s.push_str("# Benchmark\n\nGenerated by `make bench` on ");
    s.push_str(&format!("{} ({}). Functions are release builds running against a local Lambda Runtime API and DynamoDB Local; durations are what Lambda bills (event handed out to response received).\n\n\"bare Lambda\" is a minimal function built the same way whose handler makes only the SDK call(s) the endpoint needs and returns an empty 200, invoked through the same Runtime API alternately with the function; \"overhead\" is warm p50 over its p50 (the budget). Where the endpoint reads the caller's account apart from its own data (the revocation and role check), a third twin makes the bare call(s) plus that lookup, batched or concurrent as the endpoint does: the function's p50 over it, in brackets, is our code alone. \"SDK alone\" is the same call(s) made directly from the benchmark process, with the function's p50 over it in brackets: that gap includes the Runtime API round trip every Lambda pays.\n\n", r.generated_at, r.machine));
    s.push_str("| function | init p50 | first request | warm p50 | warm p99 | bare Lambda first / p50 | overhead | bare + account lookup p50 | SDK alone p50 | CPU / request | peak RSS | zip | memory (measured) | p50 at memory | $ / 1M requests |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for f in &r.functions {
        s.push_str(&format!(
            "| `{}` | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms | {} | {} | {} | {} | {:.3} ms | {:.1} MB | {} | {} MB ({} MB) | {:.2} ms | {:.4} |\n",
            f.function, f.init_ms_median, f.first_request_ms, f.warm_p50_ms, f.warm_p99_ms,
            match (f.bare_first_request_ms, f.bare_p50_ms) {
                (Some(first), Some(p50)) => format!("{first:.2} / {p50:.2} ms"),
                _ => "—".into(),
            },
            f.overhead_p50.map(|v| format!("{:+.1}%", v * 100.0)).unwrap_or("—".into()),
            match (f.account_twin_p50_ms, f.overhead_over_account_twin_p50) {
                (Some(v), Some(o)) => format!("{v:.2} ms ({:+.1}%)", o * 100.0),
                _ => "—".into(),
            },
            match (f.sdk_p50_ms, f.overhead_vs_sdk_p50) {
                (Some(v), Some(o)) => format!("{v:.2} ms ({:+.0}%)", o * 100.0),
                _ => "—".into(),
            },
            f.cpu_ms_per_request,
            f.peak_rss_mb,
            f.zip_bytes.map(|z| format!("{:.2} MB", z as f64 / 1e6)).unwrap_or("—".into()),
            f.memory_mb, f.recommended_memory_mb,
            f.p50_at_memory_ms,
            f.cost_per_million_usd
        ));
    }
    s.push_str(&format!(
        "\nZips: `cargo lambda build --release --output-format zip` for {}.\n\n",
        r.zip_target
    ));
    s.push_str("## Checkout throughput (no oversell)\n\n| concurrency | attempts | orders | 409 | stock left | oversold | orders/s |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for t in &r.checkout_throughput {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {:.1} |\n",
            t["concurrency"],
            t["attempts"],
            t["orders"],
            t["refused_409"],
            t["stock_left"],
            t["oversold"],
            t["orders_per_second"].as_f64().unwrap_or(0.0)
        ));
    }
    s.push_str(&format!(
        "\nLogin (argon2id, m = 19 MiB, t = 2) p50 at its configured memory: {:.0} ms.\n\nMemory: measured on one full core; Lambda gives 1769 MB one vCPU and smaller sizes a proportional share, so \"p50 at memory\" stretches the CPU part of each request by that share (a worst case: short bursts may run at full speed). \"measured\" is the smallest size at which that adds at most 10% (or 1 ms) to the p50, with room for twice the peak RSS; the configured size stays unless the run clears that line by a quarter of the slack either way, so noise near it does not churn the configuration. template.yaml and terraform/ use it (`scripts/sync-memory.py`).\n\n",
        r.login_p50_at_configured_memory_ms
    ));
    s.push_str("## What a second item read costs on DynamoDB Local\n\nThe same reads made directly from the benchmark process, interleaved (p50 of 2,000 rounds after 200 to warm up): get-order's own read, then that read plus the caller's account in each shape DynamoDB offers. The cheapest shape is the floor under the overhead of an endpoint whose own data is one item but that must also check that the token was not revoked.\n\n| reads | p50 | over one GetItem |\n|---|---:|---:|\n");
    for r in &r.second_read {
        s.push_str(&format!(
            "| {} | {:.3} ms | {:+.1}% |\n",
            r["reads"].as_str().unwrap_or(""),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["over_one_get_item"].as_f64().unwrap_or(0.0) * 100.0
        ));
    }
    s.push('\n');
    s.push_str("Cost: Lambda arm64 $0.0000133334 per GB-second (1 ms granularity, p50 at memory rounded up) + $0.20 per million requests, plus the HTTP API's $1.00 per million. DynamoDB request units are extra and the same whatever the function costs.\n\n## Budgets\n\n");
    for b in &r.budgets {
        s.push_str(&format!(
            "- {} {}: {}\n",
            if b["ok"] == true { "✅" } else { "❌" },
            b["budget"].as_str().unwrap_or(""),
            b["value"]
        ));
    }
    s.push_str("\n![warm latency](benchmark-latency.svg)\n");
    s
}

fn svg(fns: &[FunctionReport]) -> String {
    let max = fns.iter().map(|f| f.warm_p99_ms).fold(1.0, f64::max);
    let (row, left, width) = (22.0, 170.0, 560.0);
    let height = 40.0 + row * fns.len() as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n",
        left + width + 90.0
    );
    s.push_str("<text x=\"10\" y=\"18\" font-weight=\"bold\">Warm latency per function: p50 (dark) and p99 (light), ms</text>\n");
    for (i, f) in fns.iter().enumerate() {
        let y = 30.0 + row * i as f64;
        let w99 = width * f.warm_p99_ms / max;
        let w50 = width * f.warm_p50_ms / max;
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n",
            left - 8.0,
            y + 14.0,
            f.function
        ));
        s.push_str(&format!(
            "<rect x=\"{left}\" y=\"{}\" width=\"{w99:.1}\" height=\"16\" fill=\"#e0a96d\"/>\n",
            y + 2.0
        ));
        s.push_str(&format!(
            "<rect x=\"{left}\" y=\"{}\" width=\"{w50:.1}\" height=\"16\" fill=\"#8a4b22\"/>\n",
            y + 2.0
        ));
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\">{:.1} / {:.1}</text>\n",
            left + w99 + 6.0,
            y + 14.0,
            f.warm_p50_ms,
            f.warm_p99_ms
        ));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::recommend_memory;

    #[test]
    fn memory_is_the_smallest_size_whose_cpu_share_stays_within_the_slack() {
        // 0.5 ms of CPU in a 1 ms request: 512 MB adds 1.23 ms (over the 1 ms slack), 1024 MB 0.36 ms.
        assert_eq!(recommend_memory(1.0, 0.5, 6.0, 128), 1024);
        // Waiting-bound: 0.05 ms of CPU is fine even at 128 MB's share (0.64 ms more).
        assert_eq!(recommend_memory(5.0, 0.05, 6.0, 1024), 128);
        // Argon2: CPU is the whole request; even 1024 MB adds 22 ms, far over 10% of 30 ms.
        assert_eq!(recommend_memory(30.0, 30.0, 25.0, 512), 1769);
        // Peak RSS needs twice its size.
        assert_eq!(recommend_memory(5.0, 0.05, 100.0, 128), 256);
    }

    #[test]
    fn a_measurement_near_the_line_keeps_the_configured_size() {
        // 0.45 ms of CPU at 0.87 ms p50: 512 MB adds 1.10 ms, just over the 1 ms slack.
        assert_eq!(recommend_memory(0.87, 0.45, 6.0, 512), 512);
        assert_eq!(recommend_memory(0.87, 0.45, 6.0, 1024), 1024);
        // 0.40 ms: 512 MB adds 0.98 ms, just within it; neither configuration moves.
        assert_eq!(recommend_memory(0.87, 0.40, 6.0, 512), 512);
        assert_eq!(recommend_memory(0.87, 0.40, 6.0, 1024), 1024);
    }

    #[test]
    fn a_clear_measurement_moves_the_configured_size() {
        // 0.7 ms of CPU: 512 MB adds 1.72 ms, far over; move up.
        assert_eq!(recommend_memory(1.0, 0.7, 6.0, 512), 1024);
        // 0.2 ms of CPU: 512 MB adds 0.49 ms, well within; move down.
        assert_eq!(recommend_memory(1.0, 0.2, 6.0, 1024), 512);
        // A size outside the list is replaced by the rule's own pick.
        assert_eq!(recommend_memory(1.0, 0.2, 6.0, 700), 512);
    }
}
