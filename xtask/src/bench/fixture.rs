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
    /// Who logs in: each login opens a session, so logins are spread over accounts of their own
    /// (the customer's would lose its oldest session, the token other functions use).
    pub(crate) login_emails: Vec<String>,
    /// One refresh token per request (sessions spread so no account holds more than it may).
    pub(crate) refresh_tokens: Vec<String>,
    /// One account per request: logging out everywhere ends all of its sessions.
    pub(crate) logout_all_tokens: Vec<String>,
    /// Password-reset and verification links, one per request (each opens once).
    pub(crate) reset_tokens: Vec<String>,
    pub(crate) verify_tokens: Vec<String>,
    /// A signed-in account that stays unverified (resend-verification's caller).
    pub(crate) unverified: String,
    /// The account update-customer disables and enables in turn (disabling ends its sessions, so
    /// it is nobody else's caller).
    pub(crate) disposable: String,
    /// PENDING orders of verified buyers: for pay-order with the buyer's token, for the webhook
    /// with their totals.
    pub(crate) payable_orders: Vec<(String, String)>,
    pub(crate) webhook_orders: Vec<(String, i64)>,
    /// Checkout callers, each placing at most [`ORDERS_PER_BUYER`] orders (the unpaid-order cap):
    /// create-order's, and one per throughput run.
    pub(crate) order_buyers: Vec<String>,
    pub(crate) throughput_buyers: Vec<String>,
    /// A localstripe PaymentMethod of the test card that pays.
    pub(crate) card: String,
    pub(crate) two_factor: TwoFactor,
    /// resize-image's uploads, one per request, each later than the one before (so each becomes
    /// the picture), all of one product of their own.
    pub(crate) uploads: Vec<String>,
    /// render-pages' event: a price change of a product on the site, as the publisher makes it.
    pub(crate) page_event: Value,
}

/// The two-factor functions' pools, one account per request: a code is accepted once per
/// account, so each request is the first its account sees in its step (codes are made at call
/// time, from the secret).
#[derive(Serialize, Deserialize, Default)]
pub(crate) struct TwoFactor {
    /// Every enrolled pool account's authenticator secret (base32).
    secret: String,
    /// Open sign-in steps (login-mfa), each of its own enrolled account.
    steps: Vec<String>,
    /// Signed-in accounts with enrolment started (confirm-totp), with the pending secret.
    pending: Vec<(String, String)>,
    /// Signed-in enrolled accounts (remove-totp).
    enrolled: Vec<String>,
}

impl TwoFactor {
    async fn make(accounts: &Accounts, pool: usize) -> Self {
        use shop::auth::mfa;
        let app = accounts.app;
        let secret = shop::auth::totp::TotpSecret::generate();
        let now = shop::types::now_epoch_secs();
        let (mut steps, mut pending, mut enrolled) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..pool {
            let user = accounts.make(&format!("coded-{k}@bench.local")).await;
            mfa::enrol_with(app, &user, &secret).await.unwrap();
            let item = account_item(app, &user).await;
            // Opened as if an hour from now: the step stays open through the whole benchmark.
            steps.push(
                mfa::open_challenge(app, &user, &item, false, now + 3600)
                    .await
                    .unwrap(),
            );
            let user = accounts.make(&format!("enrolling-{k}@bench.local")).await;
            let started = mfa::begin(app, &user).await.unwrap();
            pending.push((
                signed_in(app, &user, Role::Customer).await,
                started.base32(),
            ));
            let user = accounts.make(&format!("unenrolling-{k}@bench.local")).await;
            mfa::enrol_with(app, &user, &secret).await.unwrap();
            enrolled.push(signed_in(app, &user, Role::Customer).await);
        }
        TwoFactor {
            secret: secret.base32(),
            steps,
            pending,
            enrolled,
        }
    }
}

/// The current code of `secret` (base32).
fn code_now(secret: &str) -> String {
    let secret = shop::auth::totp::TotpSecret::from_base32(secret).unwrap();
    secret.code_at(shop::auth::totp::step_at(shop::types::now_epoch_secs()))
}

/// Below the unpaid-order cap (MAX_UNPAID_ORDERS, at most 100 per shopper).
const ORDERS_PER_BUYER: usize = 90;

/// How many requests each kind of pool serves: most functions', the Stripe-bound ones', and
/// resize-image's (a photo each).
pub(crate) struct Pools {
    pub(crate) requests: usize,
    pub(crate) stripe: usize,
    pub(crate) uploads: usize,
}

pub(crate) async fn fixture(app: &'static App, pools: Pools) -> Fixture {
    let Pools {
        requests: pool,
        stripe: stripe_pool,
        uploads,
    } = pools;
    use shop::users;
    shop_tests::seed_rates(app).await.unwrap();
    let admin = users::store::register(app, new_user("admin@bench.local"), Role::Admin)
        .await
        .unwrap();
    let customer = users::store::register(app, new_user("customer@bench.local"), Role::Customer)
        .await
        .unwrap();
    let (created, doomed) = catalog(app, pool).await;
    let accounts = Accounts::new(app).await;
    let sessions = Sessions::make(&accounts, pool).await;
    let resetter = accounts.make("resetter@bench.local").await;
    let reset_tokens = links(app, shop::users::links::Purpose::Reset, resetter, pool).await;
    let verifier = accounts.make("verifier@bench.local").await;
    let verify_tokens = links(app, shop::users::links::Purpose::Verify, verifier, pool).await;
    let unverified = accounts.make("unverified@bench.local").await;
    let unverified = signed_in(app, &unverified, Role::Customer).await;
    let disposable = accounts.make("disposable@bench.local").await.to_string();
    promotions(app).await;
    // Admin routes need two-factor sign-in on.
    let admin_secret = shop::auth::totp::TotpSecret::generate();
    shop::auth::mfa::enrol_with(app, &admin.id, &admin_secret)
        .await
        .unwrap();
    let admin_token = signed_in(app, &admin.id, Role::Admin).await;
    let two_factor = TwoFactor::make(&accounts, pool).await;
    let customer_token = signed_in(app, &customer.id, Role::Customer).await;
    // A cart of three products and some orders, through the same services the functions use.
    fill_cart(app, &customer_token, &created).await;
    let order_buyers = buyers(app, &accounts, "checkout", pool.div_ceil(ORDERS_PER_BUYER)).await;
    let throughput_buyers = buyers(app, &accounts, "crowd", 3).await;
    let mut orders = Orders {
        accounts: &accounts,
        product: created[3].clone(),
        placed: 0,
        buyer: None,
    };
    // The customer's own orders: what get-order and list-orders read (a full page of 20, and
    // more behind it).
    let mut own = Vec::new();
    for _ in 0..25 {
        own.push(orders.place(Some(&customer_token)).await.0);
    }
    let mut pending_orders = Vec::new();
    for _ in 0..pool {
        pending_orders.push(orders.place(None).await.0);
    }
    let mut payable_orders = Vec::new();
    for _ in 0..stripe_pool {
        let (id, _, token) = orders.place(None).await;
        payable_orders.push((id, token));
    }
    let mut webhook_orders = Vec::new();
    for i in 0..pool {
        let (id, total, _) = orders.place(None).await;
        opened_intent(app, &id, i).await;
        webhook_orders.push((id, total));
    }
    let page_event = site(app, &created[5]).await;
    Fixture {
        admin: admin_token,
        customer: customer_token,
        customer_id: customer.id.to_string(),
        stocked: created[4].clone(),
        products: created,
        order: own[0].clone(),
        pending_orders,
        doomed_products: doomed,
        logout_tokens: sessions.logout,
        login_emails: sessions.login_emails,
        refresh_tokens: sessions.refresh,
        logout_all_tokens: sessions.logout_all,
        order_buyers,
        throughput_buyers,
        reset_tokens,
        verify_tokens,
        unverified,
        disposable,
        payable_orders,
        webhook_orders,
        card: shop_tests::stripe::card(shop_tests::stripe::CARD_OK).await,
        two_factor,
        uploads: pictures(app, &admin.id, uploads).await,
        page_event,
    }
}

/// The most products render-pages reads in a run at the default BENCH_WARM: the thirty, and the
/// 2,035 in [`SCRATCH`] that create-product adds or delete-product has not deleted yet (the
/// doomed pool, made up front), and a few more. Its cold budget counts this many rows.
pub(crate) const CATALOG_ROWS: usize = 2_100;

/// The photo every resize-image request turns into a picture: [`PHOTO`]'s size, as a shop's
/// product photo is uploaded after cropping.
pub(crate) const PHOTO: (u32, u32) = (1600, 1200);

/// `n` uploads of one photo for a product of their own, as an admin's browser posts them; their
/// keys, each upload id later than the one before.
async fn pictures(app: &'static App, admin: &shop::types::UserId, n: usize) -> Vec<String> {
    let product = shop_tests::seed_product(app, new_product("Pictured", 1, SCRATCH))
        .await
        .unwrap();
    let photo = shop_tests::s3::sample_photo(PHOTO.0, PHOTO.1);
    let credentials = app.credentials().await.unwrap();
    let stored = shop::platform::objects::Stored {
        content_type: "image/jpeg",
        cache_control: "no-store",
    };
    let first = ulid::Ulid::new();
    let mut keys = Vec::new();
    for k in 0..n {
        let upload = ulid::Ulid::from_parts(first.timestamp_ms() + k as u64, first.random());
        let key = format!("uploads/{}/{admin}/{upload}.jpg", product.id);
        app.images
            .put(&credentials, &key, photo.clone(), stored)
            .await
            .unwrap();
        keys.push(key);
    }
    keys
}

/// The site as published (the shell in its bucket) and the event of a price change of `product`,
/// which render-pages answers by writing its page, its category, home, the sitemap and robots.txt.
async fn site(app: &'static App, product: &str) -> Value {
    use shop::events::model::{Event, EventType, Payload, ProductData};
    shop_tests::s3::publish_shell(app).await;
    let id = shop::types::ProductId::parse("id", product).unwrap();
    let view = shop::catalog::load_product(app, &id, true)
        .await
        .unwrap()
        .unwrap();
    let data = Payload::Product(ProductData::of(&view));
    serde_json::to_value(Event::new(
        "bench",
        EventType::ProductUpdated,
        shop::types::Timestamp::now(),
        data,
    ))
    .unwrap()
}

/// The code the quote applies and update-promotion edits, and a list of codes as a shop keeps
/// them (a few dozen).
pub(crate) const PROMO: &str = "BENCH-10";

async fn promotions(app: &'static App) {
    for k in 0..30 {
        let code = if k == 0 {
            PROMO.to_string()
        } else {
            format!("SPRING-{k}")
        };
        let req = serde_json::from_value(
            json!({"code": code, "kind": "percent", "value": 10, "max_per_customer": 1000}),
        )
        .unwrap();
        let promo =
            shop::promotions::model::Promotion::create(req, shop::types::Timestamp::now()).unwrap();
        let entry = shop::audit::Entry::new(
            &shop::audit::model::tooling(),
            shop::audit::Action::PromotionCreated,
            &promo.code,
            None,
            Some(&promo),
        )
        .unwrap();
        shop::promotions::store::create(app, &promo, &entry)
            .await
            .unwrap();
    }
}

/// The customer's cart: three products, as the get-cart probe reads it.
async fn fill_cart(app: &'static App, customer: &str, products: &[String]) {
    let cart = json!({"items": [{"product_id": products[0], "quantity": 1}, {"product_id": products[1], "quantity": 2}, {"product_id": products[2], "quantity": 1}]});
    call(
        app,
        shop::orders::put_cart,
        "PUT",
        customer,
        Some(cart),
        &[],
    )
    .await;
}

/// `n` signed-in customers (`<prefix>-<k>@bench.local`): their tokens.
async fn buyers(app: &'static App, accounts: &Accounts, prefix: &str, n: usize) -> Vec<String> {
    let mut tokens = Vec::new();
    for k in 0..n {
        let user = accounts.make(&format!("{prefix}-{k}@bench.local")).await;
        tokens.push(signed_in(app, &user, Role::Customer).await);
    }
    tokens
}

/// Thirty products with stock for every run, and `pool` + 2 for delete-product to delete.
async fn catalog(app: &'static App, pool: usize) -> (Vec<String>, Vec<String>) {
    let mut created = Vec::new();
    for i in 0..30 {
        let name = format!("Bench Product {i:02}");
        let p = shop_tests::seed_product(app, new_product(&name, 1_000_000, BENCH))
            .await
            .unwrap();
        created.push(p.id.to_string());
    }
    let mut doomed = Vec::new();
    for i in 0..pool + 2 {
        let p = shop_tests::seed_product(app, new_product(&format!("Doomed {i:04}"), 1, SCRATCH))
            .await
            .unwrap();
        doomed.push(p.id.to_string());
    }
    (created, doomed)
}

/// Makes customer accounts with one precomputed hash: argon2 per account would take minutes.
struct Accounts {
    app: &'static App,
    hash: String,
}

impl Accounts {
    async fn new(app: &'static App) -> Self {
        let hash = shop::auth::hash_password(new_user("hash@bench.local").password)
            .await
            .unwrap();
        Accounts { app, hash }
    }

    async fn make(&self, email: &str) -> shop::types::UserId {
        let u = new_user(email);
        shop::users::store::create_user(
            self.app,
            u.email,
            u.name,
            self.hash.clone(),
            Role::Customer,
        )
        .await
        .unwrap()
        .id
    }
}

/// The token pools of the session functions. Sessions per account are capped (the oldest ends):
/// pools spread over accounts, which also keeps any one account item as small as a real one.
struct Sessions {
    logout: Vec<String>,
    login_emails: Vec<String>,
    refresh: Vec<String>,
    logout_all: Vec<String>,
}

impl Sessions {
    async fn make(accounts: &Accounts, pool: usize) -> Self {
        let app = accounts.app;
        let (per_account, holders) = (
            shop::auth::session::MAX_SESSIONS,
            pool.div_ceil(shop::auth::session::MAX_SESSIONS),
        );
        let mut logout = Vec::new();
        for k in 0..holders {
            let user = accounts.make(&format!("leaver-{k}@bench.local")).await;
            for _ in 0..per_account {
                logout.push(signed_in(app, &user, Role::Customer).await);
            }
        }
        let login_emails: Vec<String> = (0..holders)
            .map(|k| format!("signer-{k}@bench.local"))
            .collect();
        for email in &login_emails {
            accounts.make(email).await;
        }
        let mut refresh = Vec::new();
        for k in 0..holders {
            let user = accounts.make(&format!("refresher-{k}@bench.local")).await;
            for _ in 0..per_account {
                refresh.push(session(app, &user, Role::Customer).await.refresh_token);
            }
        }
        let mut logout_all = Vec::new();
        for k in 0..pool {
            let user = accounts.make(&format!("everywhere-{k}@bench.local")).await;
            logout_all.push(signed_in(app, &user, Role::Customer).await);
        }
        Sessions {
            logout,
            login_emails,
            refresh,
            logout_all,
        }
    }
}

/// `pool` open links of `purpose` for `user`, one per request (each opens once).
async fn links(
    app: &'static App,
    purpose: shop::users::links::Purpose,
    user: shop::types::UserId,
    pool: usize,
) -> Vec<String> {
    use shop::users::links::{LinkRecord, link_key, link_token};
    let key = link_key(&app.config.jwt_secret, purpose);
    let mut tokens = Vec::new();
    for _ in 0..pool {
        let record = LinkRecord::new(purpose, Some(user.clone()), shop::types::now_epoch_secs());
        shop::users::store::put_link(app, purpose, &record)
            .await
            .unwrap();
        tokens.push(link_token(&key, &record.id, &user));
    }
    tokens
}

/// Places PENDING orders. A shopper may hold only so many unpaid orders (MAX_UNPAID_ORDERS, at
/// most 100): the pools are spread over buyers of their own, verified so they may pay.
struct Orders<'a> {
    accounts: &'a Accounts,
    product: String,
    placed: usize,
    buyer: Option<String>,
}

impl Orders<'_> {
    /// One order of one unit, by `own` or the current pool buyer: `(id, total, buyer's token)`.
    async fn place(&mut self, own: Option<&str>) -> (String, i64, String) {
        let app = self.accounts.app;
        self.placed += 1;
        let token = match (own, &self.buyer) {
            (Some(t), _) => t.to_string(),
            (None, Some(b)) if self.placed % ORDERS_PER_BUYER != 1 => b.clone(),
            (None, _) => {
                let email = format!("buyer-{}@bench.local", self.placed);
                let user = self.accounts.make(&email).await;
                verify(app, &user).await;
                let token = signed_in(app, &user, Role::Customer).await;
                self.buyer = Some(token.clone());
                token
            }
        };
        let body =
            shop_tests::shipped(json!({"items": [{"product_id": self.product, "quantity": 1}]}));
        let key = format!("fixture-{}", self.placed);
        let o = call(
            app,
            shop::orders::create_order,
            "POST",
            &token,
            Some(body),
            &[("idempotency-key", &key)],
        )
        .await;
        let id = o["id"].as_str().unwrap().to_string();
        (id, o["total_cents"].as_i64().unwrap(), token)
    }
}

/// Records on order `id` the intent its webhook names (only such an intent can pay it).
async fn opened_intent(app: &'static App, id: &str, i: usize) {
    let order =
        shop::orders::store::load_order(app, &shop::types::OrderId::from_trusted(id.to_string()))
            .await
            .expect("DynamoDB Local answers")
            .expect("a placed order");
    let attempt = shop::orders::store::Attempt {
        intent: Some(&bench_intent(i)),
        error: None,
        spent: false,
        created: true,
    };
    shop::orders::store::record_payment_attempt(app, &order, attempt)
        .await
        .expect("DynamoDB Local answers");
}

/// Marks `user`'s email verified the way its link does (pay-order needs a verified payer).
async fn verify(app: &'static App, user: &shop::types::UserId) {
    use shop::users::links::{LinkRecord, Purpose};
    let record = LinkRecord::new(
        Purpose::Verify,
        Some(user.clone()),
        shop::types::now_epoch_secs(),
    );
    shop::users::store::put_link(app, Purpose::Verify, &record)
        .await
        .unwrap();
    assert!(
        shop::users::store::complete_verification(app, &record.id, user)
            .await
            .unwrap()
    );
}

pub(crate) fn new_user(email: &str) -> shop::users::NewUser {
    shop::users::NewUser::try_from(shop::users::RegisterRequest {
        email: email.into(),
        password: "bench-password".into(),
        name: "Bench".into(),
    })
    .unwrap()
}

/// The category of the thirty products the probes read; the products that come and go (created,
/// deleted, pictured) are in [`SCRATCH`], so the page render-pages rewrites lists thirty.
pub(crate) const BENCH: &str = "bench";
pub(crate) const SCRATCH: &str = "scratch";

pub(crate) fn new_product(name: &str, stock: i64, category: &str) -> shop::catalog::NewProduct {
    let req: shop::catalog::CreateProductRequest =
        serde_json::from_value(json!({"name": name, "price_cents": 1234, "category": category, "stock": stock, "description": "A product for the benchmark."})).unwrap();
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

pub(crate) fn event_for(function: &str, route: &str, f: &Fixture, i: usize) -> Value {
    match function {
        // Scheduled: the event says only that it is time.
        "expire-orders" => json!({
            "version": "0", "id": ulid::Ulid::new().to_string(), "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2026-12-01T00:00:00Z",
            "region": "us-east-1", "resources": [], "detail": {}
        }),
        // One order placed, as the orders table's stream hands it to the publisher.
        "publish-events" => json!({"Records": [crate::catalogue::order_placed(i, &f.customer_id)]}),
        "send-email" => email_event(f, i),
        // An order paid: the day's counters and one product's, in one transaction.
        "record-sales" => bus_event(crate::catalogue::order_paid(i, &f.customer_id), i),
        "payment-webhook" => webhook_event(route, f, i),
        // A photo uploaded, as the bucket's Object Created event reaches the function.
        "resize-image" => shop_tests::s3::object_created(
            shop_tests::s3::IMAGES_BUCKET,
            &f.uploads[i],
            1,
            "2026-12-01T00:00:00Z",
        ),
        "render-pages" => on_the_bus(f.page_event.clone(), i),
        _ => {
            let call = account_call(function, f, i)
                .or_else(|| catalog_call(function, f, i))
                .or_else(|| order_call(function, f, i))
                .or_else(|| pricing_call(function, f, i))
                .unwrap_or_else(|| panic!("no benchmark event for {function}"));
            call.event(route)
        }
    }
}

/// One request of the benchmark: what `event` turns into API Gateway's event.
struct Call<'a> {
    method: &'static str,
    /// The path requested; `None`: the route itself (it has no parameters).
    path: Option<String>,
    token: Option<&'a str>,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    /// The link endpoints count every request against the client's address: each request comes
    /// from an address of its own (`Some(i)`), as a crowd of shoppers would.
    address: Option<usize>,
}

impl<'a> Call<'a> {
    fn new(method: &'static str) -> Self {
        Call {
            method,
            path: None,
            token: None,
            body: None,
            headers: Vec::new(),
            address: None,
        }
    }

    fn at(mut self, path: String) -> Self {
        self.path = Some(path);
        self
    }

    fn by(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    fn own_address(mut self, i: usize) -> Self {
        self.address = Some(i);
        self
    }

    fn event(self, route: &str) -> Value {
        let headers: Vec<(&str, &str)> =
            self.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let path = self.path.as_deref().unwrap_or(route);
        let ev = event(self.method, route, path, self.token, self.body, &headers);
        match self.address {
            Some(i) => from_address(i, ev),
            None => ev,
        }
    }
}

fn account_call<'a>(function: &str, f: &'a Fixture, i: usize) -> Option<Call<'a>> {
    let post = || Call::new("POST");
    Some(match function {
        "health" => Call::new("GET"),
        "register" => post().json(
            json!({"email": format!("new{i}@bench.local"), "password": "bench-password", "name": "New"}),
        ),
        "login" => post().json(
            json!({"email": f.login_emails[i / shop::auth::session::MAX_SESSIONS], "password": "bench-password"}),
        ),
        "logout" => post().by(&f.logout_tokens[i]),
        "logout-all" => post().by(&f.logout_all_tokens[i]),
        "refresh" => post().json(json!({"refresh_token": f.refresh_tokens[i]})),
        "get-me" => Call::new("GET").by(&f.customer),
        "update-me" => Call::new("PUT")
            .by(&f.customer)
            .json(json!({"name": format!("Bench {i}")})),
        "password-reset" => post()
            .json(json!({"email": "customer@bench.local"}))
            .own_address(i),
        "confirm-password-reset" => post()
            .json(json!({"token": f.reset_tokens[i], "password": format!("a renewed bench secret {i}")}))
            .own_address(i),
        "verify-email" => post()
            .json(json!({"token": f.verify_tokens[i]}))
            .own_address(i),
        "resend-verification" => post().by(&f.unverified).own_address(i),
        "login-mfa" => post().json(
            json!({"mfa_token": f.two_factor.steps[i], "code": code_now(&f.two_factor.secret)}),
        ),
        "enrol-totp" => post()
            .by(&f.customer)
            .json(json!({"current_password": "bench-password"})),
        "confirm-totp" => {
            let (token, secret) = &f.two_factor.pending[i];
            post().by(token).json(json!({"code": code_now(secret)}))
        }
        "remove-totp" => Call::new("DELETE").by(&f.two_factor.enrolled[i]).json(
            json!({"current_password": "bench-password", "code": code_now(&f.two_factor.secret)}),
        ),
        _ => return None,
    })
}

fn catalog_call<'a>(function: &str, f: &'a Fixture, i: usize) -> Option<Call<'a>> {
    let p = |k: usize| f.products[k % f.products.len()].as_str();
    Some(match function {
        "list-products" => Call::new("GET").at("/products?limit=20".into()),
        "get-product" => Call::new("GET").at(format!("/products/{}", p(i))),
        "create-product" => Call::new("POST").by(&f.admin).json(
            json!({"name": format!("Created {i}"), "price_cents": 990, "category": SCRATCH, "stock": 5}),
        ),
        "update-product" => Call::new("PUT")
            .at(format!("/products/{}", p(i)))
            .by(&f.admin)
            .json(json!({"price_cents": 1234})),
        "delete-product" => Call::new("DELETE")
            .at(format!("/products/{}", f.doomed_products[i]))
            .by(&f.admin),
        "product-image" => Call::new("POST")
            .at(format!("/products/{}/image", p(i)))
            .by(&f.admin)
            .json(json!({"content_type": "image/png"})),
        "get-inventory" => Call::new("GET").at(format!(
            "/inventory?ids={},{},{},{},{}",
            p(0),
            p(1),
            p(2),
            p(3),
            p(4)
        )),
        _ => return None,
    })
}

fn order_call<'a>(function: &str, f: &'a Fixture, i: usize) -> Option<Call<'a>> {
    let p = |k: usize| f.products[k % f.products.len()].as_str();
    Some(match function {
        "get-cart" => Call::new("GET").by(&f.customer),
        "put-cart" => Call::new("PUT").by(&f.customer).json(
            json!({"items": [{"product_id": p(0), "quantity": 1}, {"product_id": p(1), "quantity": 2}, {"product_id": p(2), "quantity": 1}]}),
        ),
        "create-order" => Call::new("POST")
            .by(&f.order_buyers[i / ORDERS_PER_BUYER])
            .json(shop_tests::shipped(
                json!({"items": [{"product_id": f.stocked, "quantity": 1}]}),
            ))
            .header("idempotency-key", format!("bench-{}", ulid::Ulid::new())),
        "checkout-quote" => Call::new("POST").by(&f.customer).json(shop_tests::shipped(
            json!({"items": [{"product_id": f.stocked, "quantity": 1}], "promo_code": PROMO}),
        )),
        // The page the storefront's order history asks for.
        "list-orders" => Call::new("GET")
            .at("/orders?limit=10".into())
            .by(&f.customer),
        "get-order" => Call::new("GET")
            .at(format!("/orders/{}", f.order))
            .by(&f.customer),
        "update-order-status" => Call::new("PUT")
            .at(format!("/orders/{}/status", f.pending_orders[i]))
            .by(&f.admin)
            .json(json!({"status": "PAID"})),
        "pay-order" => Call::new("POST")
            .at(format!("/orders/{}/payment", f.payable_orders[i].0))
            .by(&f.payable_orders[i].1)
            .json(json!({"payment_method": f.card})),
        _ => return None,
    })
}

fn pricing_call<'a>(function: &str, f: &'a Fixture, i: usize) -> Option<Call<'a>> {
    // Each replacement is of the version the one before wrote: the seed is version 1, and every
    // invocation gets the next index.
    let edited = format!("\"{}\"", i + 1);
    Some(match function {
        "get-shipping" | "get-tax" => Call::new("GET").by(&f.admin),
        // The dashboard's default: the last 30 days.
        "admin-stats" | "low-stock" => Call::new("GET").by(&f.admin),
        // The first page of today's orders as CSV (2,000 rows: the fixture places thousands today),
        // with their customers' emails.
        "export-orders" => Call::new("GET").by(&f.admin),
        // The customers page's first search: the accounts whose email starts with "c".
        "list-customers" => Call::new("GET")
            .at("/admin/customers?q=c&limit=20".into())
            .by(&f.admin),
        "get-customer" => Call::new("GET")
            .at(format!("/admin/customers/{}", f.customer_id))
            .by(&f.admin),
        // Disable and enable in turn: every request changes the account.
        "update-customer" => Call::new("PUT")
            .at(format!("/admin/customers/{}", f.disposable))
            .by(&f.admin)
            .json(json!({"disabled": i.is_multiple_of(2)})),
        "list-promotions" => Call::new("GET").by(&f.admin),
        // The trail's first page: every write probe above adds to it.
        "list-audit" => Call::new("GET").by(&f.admin),
        "create-promotion" => Call::new("POST").by(&f.admin).json(json!({
            "code": format!("NEW-{i}"), "kind": "fixed", "value": 500,
            "min_subtotal_cents": 2500, "max_redemptions": 100
        })),
        // Raise the limit a step each time: every request changes the code.
        "update-promotion" => Call::new("PUT")
            .at(format!("/admin/promotions/{PROMO}"))
            .by(&f.admin)
            .json(json!({"max_redemptions": 1000 + i})),
        "shipping-countries" => Call::new("GET"),
        "put-shipping" => Call::new("PUT")
            .by(&f.admin)
            .header("if-match", edited)
            .json(
                serde_json::from_str(include_str!("../../../scripts/seed-shipping.json")).unwrap(),
            ),
        "put-tax" => Call::new("PUT")
            .by(&f.admin)
            .header("if-match", edited)
            .json(serde_json::from_str(include_str!("../../../scripts/seed-tax.json")).unwrap()),
        _ => return None,
    })
}

/// Stripe's delivery of webhook order `i`'s success, signed as Stripe signs it.
fn webhook_event(route: &str, f: &Fixture, i: usize) -> Value {
    let (order, total) = &f.webhook_orders[i];
    let body = json!({
        "id": format!("evt_bench_{}", ulid::Ulid::new()),
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": {
            "id": bench_intent(i), "object": "payment_intent", "status": "succeeded",
            "amount": total, "currency": "usd", "metadata": {"order_id": order}
        }}
    })
    .to_string();
    let signature = stripe_signature(&body);
    let mut ev = Call::new("POST")
        .header("stripe-signature", signature)
        .event(route);
    ev["body"] = json!(body);
    ev
}

/// An order's email event: a fresh event id each time, or the marker would make it a duplicate.
fn email_event(f: &Fixture, i: usize) -> Value {
    bus_event(crate::catalogue::order_placed(i, &f.customer_id), i)
}

/// The event of one committed change as a rule's target gets it from the bus, under a fresh id
/// (`i` and the run's), so no consumer's once-per-event marker makes it a duplicate.
fn bus_event(record: Value, i: usize) -> Value {
    let event = shop::events::stream::events_of(&record, 5)
        .unwrap()
        .remove(0);
    on_the_bus(serde_json::to_value(event).unwrap(), i)
}

/// `event` (an [`shop::events::model::Event`]) in the envelope the bus hands a rule's target,
/// under a fresh id.
fn on_the_bus(mut detail: Value, i: usize) -> Value {
    detail["metadata"]["id"] = json!(format!("{:016x}{i:016x}", run_id()));
    let kind = shop::events::EventType::parse(detail["metadata"]["type"].as_str().unwrap())
        .expect("an event type");
    json!({
        "version": "0", "id": ulid::Ulid::new().to_string(), "detail-type": kind.as_str(),
        "source": kind.source(), "account": "123456789012", "time": "2026-12-01T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail": detail
    })
}

/// An access token of a fresh session of `user`, as signing in opens one.
async fn signed_in(app: &'static shop::App, user: &shop::types::UserId, role: Role) -> String {
    session(app, user, role).await.token
}

/// The account item of `user`, as the functions read it.
async fn account_item(app: &'static shop::App, user: &shop::types::UserId) -> shop::db::Item {
    shop::db::get_item(
        &app.dynamo,
        &app.config.tables.users,
        shop::auth::account_key(user.as_str()),
        true,
    )
    .await
    .unwrap()
    .unwrap()
}

/// A fresh session of `user` (access and refresh token), as signing in opens one.
async fn session(
    app: &'static shop::App,
    user: &shop::types::UserId,
    role: Role,
) -> shop::auth::TokenPair {
    let account = account_item(app, user).await;
    shop::auth::session::open(app, user, role, &account, false)
        .await
        .unwrap()
}

/// `ev` as sent from an address of its own (the `i`th of 10.0.0.0/8).
fn from_address(i: usize, mut ev: Value) -> Value {
    ev["requestContext"]["http"]["sourceIp"] = json!(format!(
        "10.{}.{}.{}",
        (i >> 16) & 255,
        (i >> 8) & 255,
        i & 255
    ));
    ev
}

/// The PaymentIntent that pays webhook order `i`.
fn bench_intent(i: usize) -> String {
    format!("pi_bench_{i}")
}

/// `Stripe-Signature` for `body` now, as Stripe signs a delivery.
fn stripe_signature(body: &str) -> String {
    shop_tests::stripe::sign(body)
}

/// Differs between runs, so a run's email event ids never meet an earlier run's markers.
fn run_id() -> u64 {
    static RUN: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *RUN.get_or_init(|| ulid::Ulid::new().random() as u64)
}
