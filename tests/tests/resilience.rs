//! Dependency failures: a DynamoDB that hangs, and a DynamoDB that goes away mid-run and comes back.

use std::{net::TcpListener, time::Duration};

use serde_json::{Value, json};
use shop::App;
use shop_tests::{Api, TestApp, Watch, dynamodb, env_for, free_port, request, s3};

/// A TCP server that accepts connections and never answers: every call to it can only time out.
fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_hanging_dependency_is_a_503_not_a_lambda_timeout() {
    let mut env = env_for("hang", &black_hole());
    env.insert("S3_ENDPOINT".into(), s3::endpoint());
    let app = App::load(|k| env.get(k).cloned()).unwrap();
    let started = std::time::Instant::now();
    let api = Api::dispatch(app);
    let r = api.get_product("01ARZ3NDEKTSV4RRFFQ69G5FAV").await;
    assert_eq!((r.status(), r.error_code()), (503, "service_unavailable"));
    // The SDK gave up on its own operation timeout, well inside the handler's and Lambda's.
    assert!(
        started.elapsed() < app.config.handler_timeout,
        "{:?}",
        started.elapsed()
    );
    let r = api.send(request("GET", "/health")).await;
    assert_eq!(
        (r.status(), &r.body["checks"]["dynamodb"]),
        (503, &json!("unavailable"))
    );
}

/// A valid request for each function, so that only the outage can make it fail.
fn body_for(function: &str, product: &str, refresh: &str, mfa_token: &str) -> Option<Value> {
    match function {
        "register" => Some(
            json!({"email": "late@example.com", "password": "shopper-passphrase-42", "name": "Late"}),
        ),
        "login" => Some(json!({"email": "admin@outage.local", "password": "admin-password"})),
        // A genuine sign-in step: a made-up one is refused by its MAC before any read.
        "login-mfa" => Some(json!({"mfa_token": mfa_token, "code": "123456"})),
        "enrol-totp" => Some(json!({"current_password": "admin-password"})),
        "confirm-totp" => Some(json!({"code": "123456"})),
        "remove-totp" => Some(json!({"current_password": "admin-password", "code": "123456"})),
        "update-me" => Some(json!({"name": "Renamed"})),
        "create-product" => {
            Some(json!({"name": "New", "price_cents": 100, "category": "x", "stock": 1}))
        }
        "update-product" => Some(json!({"stock": 9})),
        "product-image" => Some(json!({"content_type": "image/png"})),
        "put-cart" => Some(json!({"items": [{"product_id": product, "quantity": 1}]})),
        "create-order" | "checkout-quote" => Some(shop_tests::shipped(
            json!({"items": [{"product_id": product, "quantity": 1}]}),
        )),
        "put-shipping" => {
            serde_json::from_str(include_str!("../../scripts/seed-shipping.json")).ok()
        }
        "put-tax" => serde_json::from_str(include_str!("../../scripts/seed-tax.json")).ok(),
        "update-order-status" => Some(json!({"status": "PAID"})),
        "update-customer" => Some(json!({"disabled": false})),
        "create-promotion" => Some(json!({"code": "OUTAGE", "kind": "percent", "value": 10})),
        "update-promotion" => Some(json!({"max_redemptions": 5})),
        // A genuine token: a made-up one is refused by its MAC before any read.
        "refresh" => Some(json!({ "refresh_token": refresh })),
        "password-reset" => Some(json!({"email": "late@example.com"})),
        "confirm-password-reset" => Some(json!({
            "token": format!("01JD0000000000000000000000.{}", "a".repeat(43)),
            "password": "a-new-passphrase-77"
        })),
        "verify-email" => Some(json!({
            "token": format!("01JD0000000000000000000000.{}", "a".repeat(43))
        })),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_endpoint_answers_503_during_an_outage_and_recovers_without_a_restart() {
    // A DynamoDB Local of our own, on disk so its data survives the restart.
    let port = free_port();
    let data = std::env::temp_dir().join(format!("shop-outage-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let mut db = dynamodb::spawn(port, Some(&data));
    let mut env = env_for("outage", &format!("http://127.0.0.1:{port}"));
    env.insert("S3_ENDPOINT".into(), s3::endpoint());
    let t = TestApp::from_env(env).await;
    let secret = t.admin("admin@outage.local").await;
    let signed_in = t
        .api()
        .sign_in_with_code("admin@outage.local", "admin-password", &secret)
        .await;
    let mfa_token = t
        .api()
        .login("admin@outage.local", "admin-password")
        .await
        .body["mfa_token"]
        .as_str()
        .unwrap()
        .to_string();
    let admin = signed_in.body["token"].as_str().unwrap().to_string();
    let refresh = signed_in.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let p = t
        .api()
        .send(
            request("POST", "/products")
                .bearer(&admin)
                .json(json!({"name": "Steady", "price_cents": 500, "category": "x", "stock": 5})),
        )
        .await;
    let product = p.body["id"].as_str().unwrap().to_string();
    let o = t
        .api()
        .send(
            request("POST", "/orders")
                .bearer(&admin)
                .header("idempotency-key", "before")
                .json(shop_tests::shipped(
                    json!({"items": [{"product_id": product, "quantity": 1}]}),
                )),
        )
        .await;
    let order = o.body["id"].as_str().unwrap().to_string();

    let watch = Watch::start(&t.env);
    let api = watch.api();
    assert_eq!(api.json("GET", "/health", None, None).await.0, 200);

    // Every route of the router once: its function, method and URL with real ids.
    let routes: Vec<(String, String, String)> = shop_tests::client::routes()
        .iter()
        .map(|(method, path, function)| {
            let id = if path.starts_with("/orders") {
                &order
            } else {
                &product
            };
            let mut url = path.replace("{id}", id).replace("{code}", "OUTAGE");
            if function == "get-inventory" {
                url.push_str(&format!("?ids={product}"));
            }
            (function.clone(), method.clone(), url)
        })
        .collect();
    // Every function running before the outage, so the outage meets running functions.
    api.start_every_function().await.unwrap();

    db.kill().unwrap();
    db.wait().unwrap();

    let mut calls = tokio::task::JoinSet::new();
    for (function, method, url) in routes {
        let mut req = request(&method, &url)
            .bearer(&admin)
            .header("idempotency-key", "during")
            // The settings' version as seeded: a replacement that only the outage can refuse.
            .header("if-match", "\"1\"");
        if let Some(b) = body_for(&function, &product, &refresh, &mfa_token) {
            req = req.json(b);
        }
        let api = api.clone();
        calls.spawn(async move {
            let resp = api.send(req).await;
            (function, resp.status(), resp.body)
        });
    }
    let results = calls.join_all().await;
    assert_eq!(
        results.len(),
        shop_tests::client::routes().len(),
        "every route of the router was called"
    );
    for (function, status, body) in &results {
        assert_eq!(*status, 503, "{function}: {body}");
        assert_eq!(
            body["error"]["code"], "service_unavailable",
            "{function}: {body}"
        );
        if function == "health" {
            assert_eq!(body["checks"]["dynamodb"], "unavailable");
        }
    }

    // DynamoDB comes back on the same port with the same data; the running functions recover.
    let mut db = dynamodb::spawn(port, Some(&data));
    let mut healthy = false;
    for _ in 0..20 {
        if api.json("GET", "/health", None, None).await.0 == 200 {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(healthy, "health did not recover");
    // Nothing the failed requests tried was half-written.
    let (_, inv) = api
        .json("GET", &format!("/inventory?ids={product}"), None, None)
        .await;
    assert_eq!(
        inv["items"][0]["stock"], 4,
        "only the order placed before the outage holds stock"
    );
    let (_, mine) = api.json("GET", "/orders", Some(&admin), None).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (_, me) = api.json("GET", "/users/me", Some(&admin), None).await;
    assert_eq!(me["name"], "Admin");
    let (s, _) = api
        .json(
            "POST",
            "/users/login",
            None,
            Some(json!({"email": "admin@outage.local", "password": "admin-password"})),
        )
        .await;
    assert_eq!(s, 200);

    drop(watch);
    db.kill().ok();
    db.wait().ok();
    std::fs::remove_dir_all(&data).ok();
}
