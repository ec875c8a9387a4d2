//! Probes beside the per-function figures: checkout throughput under concurrency, and what a
//! second item read costs on DynamoDB Local in each shape.

use super::*;

/// Orders per second through the checkout handler, `concurrency` at a time, against a product whose
/// stock is smaller than the attempts: every run must sell exactly the stock, never more.
pub(crate) async fn checkout_throughput(app: &'static App, fx: &Fixture) -> Vec<Value> {
    let mut out = Vec::new();
    for (run, concurrency) in [1usize, 8, 32].into_iter().enumerate() {
        let stock = 64i64;
        let attempts = 96usize;
        let product = shop_tests::seed_product(
            app,
            new_product(&format!("Throughput {concurrency}"), stock, SCRATCH),
        )
        .await
        .unwrap()
        .id
        .to_string();
        let started = Instant::now();
        let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut set = tokio::task::JoinSet::new();
        for i in 0..attempts {
            let (sem, token, product) = (
                sem.clone(),
                fx.throughput_buyers[run].clone(),
                product.clone(),
            );
            set.spawn(async move {
                let _permit = sem.acquire().await.unwrap();
                let req = lambda_http::http::Request::builder()
                    .method("POST")
                    .uri("https://api.bench/orders")
                    .header("authorization", format!("Bearer {token}"))
                    .header("idempotency-key", format!("tp-{concurrency}-{i}"))
                    .body(lambda_http::Body::Text(
                        shop_tests::shipped(
                            json!({"items": [{"product_id": product, "quantity": 1}]}),
                        )
                        .to_string(),
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
            "stock": stock,
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
pub(crate) async fn second_read(app: &App, f: &Fixture) -> Vec<Value> {
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
