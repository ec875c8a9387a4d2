//! The bare twins: each endpoint's required DynamoDB calls and nothing else, run as a Lambda of
//! their own, so function / twin is the overhead of our code.

use super::*;

/// The keys the twins read: the same functions the endpoints use.
pub(crate) mod keys {
    use shop::{
        db::Item,
        types::{ProductId, UserId},
    };

    pub use shop::{auth::account::account_pk as user_pk, catalog::store::CATALOG, db::key};

    pub fn user(id: &str) -> Item {
        shop::auth::account_key(id)
    }
    pub fn product(id: &str) -> Item {
        shop::catalog::store::product_key(&ProductId::from_trusted(id))
    }
    pub fn order(id: &str) -> Item {
        shop::orders::store::order_key(&shop::types::OrderId::from_trusted(id))
    }
    pub fn cart(user: &str) -> Item {
        shop::orders::store::cart_key(&UserId::from_trusted(user))
    }
    pub fn idempotency(user: &str, key: &str) -> Item {
        shop::orders::store::idempotency_record_key(&UserId::from_trusted(user), key)
    }
    pub fn shipping() -> Item {
        shop::pricing::store::key::<shop::pricing::rates::ShippingRates>()
    }
    pub fn tax() -> Item {
        shop::pricing::store::key::<shop::pricing::rates::TaxRates>()
    }
    /// The discount code the quote's event names (`fixture::PROMO`).
    pub fn promotion() -> Item {
        let code = shop::promotions::model::PromoCode::parse("promo_code", super::PROMO).unwrap();
        shop::promotions::store::key(&code)
    }
}

pub(crate) type BoxFut<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// The bare SDK work an endpoint cannot avoid, to compare with: `None` where there is no fair twin.
pub(crate) fn baseline<'a>(
    function: &str,
    app: &'a App,
    f: &'a Fixture,
    i: usize,
) -> Option<BoxFut<'a>> {
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
    // A checkout's or a quote's products and the two rate documents (and the discount code it
    // names), in one BatchGetItem.
    let priced = move |id: String, promo: bool| async move {
        let mut rates = KeysAndAttributes::builder()
            .keys(keys::shipping())
            .keys(keys::tax());
        if promo {
            rates = rates.keys(keys::promotion());
        }
        let rates = rates.build().unwrap();
        let product = KeysAndAttributes::builder()
            .keys(keys::product(&id))
            .build()
            .unwrap();
        d.batch_get_item()
            .request_items(&t.products, product)
            .request_items(&t.orders, rates)
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
        "list-products" => first_page(d, &t.products, "by_name", keys::CATALOG.into(), true, 20),
        "list-orders" => {
            let own = keys::user_pk(&f.customer_id);
            first_page(d, &t.orders, "by_user", own, false, 10)
        }
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
            priced(f.stocked.clone(), false).await;
            checkout_transaction(app, f).await;
        }),
        // The quote's event names a discount code, which it reads with the rest.
        "checkout-quote" => Box::pin(priced(f.stocked.clone(), true)),
        "get-shipping" => get(&t.orders, keys::shipping(), true),
        "get-tax" => get(&t.orders, keys::tax(), true),
        "shipping-countries" => get(&t.orders, keys::shipping(), false),
        _ => return None,
    })
}

/// The first page of an index partition (`gsi1pk`), as a listing reads it.
fn first_page<'a>(
    d: &'a aws_sdk_dynamodb::Client,
    table: &'a str,
    index: &'static str,
    partition: String,
    ascending: bool,
    limit: i32,
) -> BoxFut<'a> {
    Box::pin(async move {
        d.query()
            .table_name(table)
            .index_name(index)
            .key_condition_expression("gsi1pk = :p")
            .expression_attribute_values(":p", shop::db::s(partition))
            .scan_index_forward(ascending)
            .limit(limit)
            .send()
            .await
            .unwrap();
    })
}

/// The minimal Lambdas an endpoint is compared with, each answering every event with an empty 200.
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Twin {
    /// The endpoint's bare SDK call(s): the yardstick of the overhead budget.
    Bare,
    /// Those calls plus the caller's account lookup (revocation, role), made as the endpoint makes it.
    WithAccount,
}

impl Twin {
    pub(crate) fn calls<'a>(
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
pub(crate) fn with_account<'a>(
    function: &str,
    app: &'a App,
    f: &'a Fixture,
    i: usize,
) -> Option<BoxFut<'a>> {
    use shop::db::BatchGet;
    let (t, d) = (&app.config.tables, &app.dynamo);
    let account = move || BatchGet::default().get(&t.users, keys::user(&f.customer_id), true);
    // A checkout's or a quote's one batch: the account, the product, the rates (and the code).
    let priced = move |promo: bool| {
        let batch = account()
            .get(&t.products, keys::product(&f.stocked), false)
            .get(&t.orders, keys::shipping(), false)
            .get(&t.orders, keys::tax(), false);
        if promo {
            batch.get(&t.orders, keys::promotion(), false)
        } else {
            batch
        }
    };
    Some(match function {
        // The lookup runs beside the endpoint's own read(s), as `auth::authenticate_with` does.
        "get-order" | "get-cart" | "list-orders" | "get-shipping" | "get-tax" => {
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
            priced(false).send(d).await.unwrap();
            checkout_transaction(app, f).await;
        }),
        "checkout-quote" => Box::pin(async move {
            priced(true).send(d).await.unwrap();
        }),
        _ => return None,
    })
}

/// The checkout's one transaction as the endpoint writes it: a real order item (copied from a
/// fixture order, so the same size and the same index keys), its idempotency record, the
/// conditional stock decrement and the shopper's capped count of unpaid orders, with the
/// endpoint's conditions. Only the account check is left out.
pub(crate) async fn checkout_transaction(app: &App, f: &Fixture) {
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
        // A shopper of its own each time: the twin is not held to the cap it only pays for.
        .transact_items(
            TransactWriteItem::builder()
                .update(
                    shop::orders::store::count_unpaid(app, &shop::types::UserId::new()).unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Set on the benchmark's own child process when it plays an endpoint's bare Lambda: the path of a
/// file holding its spec (a file, as the fixture outgrows what one environment variable may hold).
pub(crate) const BARE_ENV: &str = "BENCH_BARE_LAMBDA";

/// A process the benchmark started as a bare twin Lambda runs that and nothing else.
pub fn bare_lambda_requested() -> Option<String> {
    std::env::var(BARE_ENV).ok()
}

pub fn run_bare_lambda(spec_file: &str) {
    bare_lambda(&std::fs::read_to_string(spec_file).expect("the bare Lambda's spec"));
}

/// A twin (`Twin::calls`) as a Lambda: built and run exactly like a function (`shop::run`: same
/// telemetry, config, clients, lambda_http runtime on one thread), answering every event with an
/// empty 200. Its latency is what the endpoint would cost with none of our code around those calls,
/// so function / bare twin is our overhead: routing, auth, validation, mapping, serialization.
/// `spec` is `[function, fixture, twin]` as JSON.
pub(crate) fn bare_lambda(spec: &str) {
    let (function, fx, twin): (String, Fixture, Twin) = serde_json::from_str(spec).unwrap();
    let function: &'static str = Box::leak(function.into_boxed_str());
    let fx: &'static Fixture = Box::leak(Box::new(fx));
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            shop::telemetry::init();
            let app = App::load(|k| std::env::var(k).ok()).unwrap();
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
