//! Local-stack chores for `make dev` and deploys: create the tables, the admin account and the
//! sample catalog; publish the storefront to its bucket.
//!
//! Reads the same environment as the functions (see `shop::config::env`), plus
//! `ADMIN_EMAIL` / `ADMIN_PASSWORD` / `ADMIN_TOTP_SECRET` for the seeded admin.

use shop::{
    ApiError, App,
    auth::totp::TotpSecret,
    catalog::{self, CreateProductRequest, NewProduct, pictures::UploadKey},
};

/// `backfill-search`: writes the word index of every product (idempotent), for catalogs that
/// predate it.
pub async fn backfill_search() -> Result<(), Box<dyn std::error::Error>> {
    let app = App::load(|k| std::env::var(k).ok())?;
    let indexed = catalog::backfill_index(app).await.map_err(|e| e.chain())?;
    println!("search index: {indexed} products indexed");
    Ok(())
}

/// `setup`: the tables, the admin account and the sample catalog (idempotent).
pub async fn setup() -> Result<(), Box<dyn std::error::Error>> {
    let app = App::load(|k| std::env::var(k).ok())?;
    shop_tests::create_tables(app).await?;
    shop_tests::seed_rates(app).await?;
    // The bus and the sender exist before anything can publish or mail.
    if app.config.local.events.is_some() {
        shop::platform::bus::create_bus(app.events(), &app.config.events.bus).await?;
    }
    if let (Some(_), Some(from)) = (&app.config.local.ses, &app.config.events.email_from) {
        shop::platform::mail::create_sender(app.ses(), from).await?;
    }
    let email = std::env::var("ADMIN_EMAIL").unwrap_or_else(|_| "admin@shop.local".into());
    let password = std::env::var("ADMIN_PASSWORD").unwrap_or_else(|_| "admin-password".into());
    let created =
        shop::users::ensure_admin(app, &email, &password, "Admin", &admin_totp_secret()?).await?;
    println!(
        "tables ready; admin {email} {}",
        if created { "created" } else { "already exists" }
    );
    let added = seed_catalog(app).await?;
    println!("catalog seeded: {added} new products");
    // Products from an earlier `make dev` may predate the word index.
    let indexed = catalog::backfill_index(app).await.map_err(|e| e.chain())?;
    println!("search index: {indexed} products indexed");
    // Accounts from an earlier `make dev` may predate the customer search.
    let placed = shop::users::store::backfill_email_index(app)
        .await
        .map_err(|e| e.chain())?;
    println!("customer search: {placed} older accounts indexed");
    Ok(())
}

/// The seeded admin's authenticator secret: `ADMIN_TOTP_SECRET`, else scripts/local-env.sh's
/// default (read from the script, which defines it).
fn admin_totp_secret() -> Result<TotpSecret, Box<dyn std::error::Error>> {
    const VAR: &str = "ADMIN_TOTP_SECRET";
    let text = match std::env::var(VAR) {
        Ok(v) => v,
        Err(_) => {
            let path =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/local-env.sh");
            let script = std::fs::read_to_string(path)?;
            let prefix = format!("export {VAR}=\"${{{VAR}:-");
            script
                .lines()
                .find_map(|l| l.strip_prefix(&prefix)?.strip_suffix("}\""))
                .ok_or("scripts/local-env.sh does not define ADMIN_TOTP_SECRET")?
                .to_string()
        }
    };
    TotpSecret::from_base32(&text)
        .ok_or_else(|| format!("{VAR} is not a 20-byte base32 secret").into())
}

/// `totp`: the seeded admin's current sign-in code (what their authenticator app would show).
pub fn totp() -> Result<(), Box<dyn std::error::Error>> {
    let secret = admin_totp_secret()?;
    let now = shop::types::now_epoch_secs();
    let step = shop::auth::totp::step_at(now);
    let left = shop::auth::totp::STEP_SECS - now % shop::auth::totp::STEP_SECS;
    println!("{}", secret.code_at(step));
    eprintln!(
        "valid {left} s more (each code signs in once; the next one is {})",
        secret.code_at(step + 1)
    );
    Ok(())
}

/// `mail`: every email the local SES (moto) accepted, oldest first: sender, recipients, subject
/// and body (moto keeps the HTML part when there is one).
pub async fn mail() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var(shop::config::env::SES_ENDPOINT)?;
    let data: serde_json::Value = reqwest::get(format!(
        "{}/moto-api/data.json",
        endpoint.trim_end_matches('/')
    ))
    .await?
    .json()
    .await?;
    let messages = data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for m in &messages {
        println!(
            "--- {} -> {}\nSubject: {}\n\n{}\n",
            m["source"].as_str().unwrap_or_default(),
            m["destinations"]["ToAddresses"],
            m["subject"].as_str().unwrap_or_default(),
            m["body"].as_str().unwrap_or_default()
        );
    }
    println!("{} email(s)", messages.len());
    Ok(())
}

/// Adds the sample catalog, each product with its picture (drawn by `pictures`) in the images
/// bucket; products whose slug exists already are left as they are.
async fn seed_catalog(app: &App) -> Result<usize, Box<dyn std::error::Error>> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/seed-catalog.json");
    let raw = std::fs::read_to_string(&path)?;
    let items: Vec<CreateProductRequest> = serde_json::from_str(&raw)?;
    let s3 = s3_client().await;
    let mut added = 0;
    for item in items {
        let product = NewProduct::try_from(item)?.product(app.settings.catalog.currency.clone());
        // Drawn only for a product just added: a restart of `make dev` finds them all there.
        let (id, picture) = match shop_tests::put_product(app, product).await {
            Ok(p) => (
                p.id.clone(),
                crate::pictures::draw(&p.name, p.category.as_str()),
            ),
            Err(ApiError::Conflict { .. }) => continue,
            Err(e) => return Err(e.chain().into()),
        };
        added += 1;
        // Uploaded as an admin's picture is: resize-image makes the product's picture from it
        // once the trigger delivers the bucket's event.
        let (upload, mime) = UploadKey::new(&id, &shop::audit::model::tooling(), "image/png")?;
        let key = upload.key();
        s3.put_object()
            .bucket(&app.config.images_bucket)
            .key(&key)
            .content_type(mime)
            .body(aws_sdk_s3::primitives::ByteStream::from(picture))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "upload {key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
    }
    Ok(added)
}

/// What the infrastructure descriptions must agree with (tests/iac reads this).
pub fn manifest() -> serde_json::Value {
    use shop::{config::env, db};
    let tables: Vec<_> = shop::TABLES
        .iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id,
                "env": t.env,
                "pk": db::PK,
                "sk": db::SK,
                "ttl": t.ttl.then_some(db::TTL_ATTR),
                "stream": t.stream.then_some("NEW_AND_OLD_IMAGES"),
                "gsis": t.gsis.iter().map(|g| serde_json::json!({"name": g.name, "pk": g.pk, "sk": g.sk})).collect::<Vec<_>>(),
            })
        })
        .collect();
    // The prefixes the outbox's stream filters must name (tests/iac compares them with Cargo.toml).
    let prefixes = serde_json::json!({
        "orders": [shop::orders::store::ORDER_PREFIX],
        "products": [shop::catalog::store::PRODUCT_PREFIX],
        "users": [
            shop::auth::account::ACCOUNT_PREFIX,
            shop::users::store::RESET_PREFIX,
            shop::users::store::VERIFY_PREFIX,
            shop::users::store::ALERT_PREFIX,
        ],
    });
    let events: Vec<&str> = shop::events::EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect();
    serde_json::json!({ "tables": tables, "env": env::DEPLOYED, "key_prefixes": prefixes, "event_types": events })
}

/// Uploads the storefront exactly as a deploy does: every file of static-site/ with its content
/// type, and a config.json that points the site at `api_url` and at Stripe.js with the
/// publishable key (`STRIPE_PUBLISHABLE_KEY`; `STRIPE_JS_URL` defaults to Stripe's own), and names
/// the seller its receipts show (`SHOP_LEGAL_NAME`, `SHOP_ADDRESS`, `SHOP_TAX_ID`).
pub async fn publish_site(
    bucket: &str,
    api_url: &str,
) -> Result<usize, Box<dyn std::error::Error>> {
    use aws_sdk_s3::primitives::ByteStream;
    let s3 = s3_client().await;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../static-site");
    let mut files = Vec::new();
    collect(&root, &mut files)?;
    let mut site = std::collections::BTreeMap::new();
    for path in files {
        let key = path
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        let body = if key == "config.json" {
            let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
            serde_json::to_vec_pretty(&serde_json::json!({
                "apiUrl": api_url,
                "stripeJsUrl": var("STRIPE_JS_URL").unwrap_or_else(|| "https://js.stripe.com/v3/".into()),
                "stripePublishableKey": var("STRIPE_PUBLISHABLE_KEY"),
                // The seller on receipts: legal name, address lines (separated by `|`), tax id.
                "shop": {
                    "legalName": var("SHOP_LEGAL_NAME"),
                    "address": var("SHOP_ADDRESS").map(|a| a.split('|').map(str::trim).map(String::from).collect::<Vec<_>>()),
                    "taxId": var("SHOP_TAX_ID"),
                },
            }))?
        } else {
            std::fs::read(&path)?
        };
        site.insert(key, body);
    }
    let mut count = 0;
    // Assets first: a page is only published once everything it names is there.
    let mut objects = crate::site::publish(&site);
    objects.sort_by_key(|o| o.cache_control == shop::platform::objects::REVALIDATE);
    for o in objects {
        s3.put_object()
            .bucket(bucket)
            .key(&o.key)
            .content_type(content_type(&o.key))
            .cache_control(o.cache_control)
            .body(ByteStream::from(o.body))
            .send()
            .await
            .map_err(|e| {
                format!(
                    "upload {}: {}",
                    o.key,
                    aws_sdk_s3::error::DisplayErrorContext(e)
                )
            })?;
        count += 1;
    }
    Ok(count)
}

/// The S3 client of the dev tools: the emulator at `S3_ENDPOINT` when set (with its fixed keys),
/// else AWS with the environment's credentials.
async fn s3_client() -> aws_sdk_s3::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(shop::app::https_client());
    let endpoint = std::env::var(shop::config::env::S3_ENDPOINT)
        .ok()
        .filter(|e| !e.is_empty());
    if endpoint.is_some() {
        loader = loader
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "S3RVER", "S3RVER", None, None, "local",
            ));
    }
    let sdk = loader.load().await;
    let mut conf = aws_sdk_s3::config::Builder::from(&sdk);
    if let Some(ep) = endpoint {
        conf = conf.endpoint_url(ep).force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(conf.build())
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// `schedules API_URL`: the dev stack's EventBridge. Every `LOCAL_SCHEDULE_SECONDS` (default 10;
/// AWS runs them on their schedule expression) each scheduled function of the manifest gets its
/// sample scheduled event through `cargo lambda watch`'s invoke endpoint, the path a deployed
/// schedule's invocation takes. Like EventBridge, a tick does not wait for the previous run.
pub async fn schedules(api_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let root = shop_tests::repo_root();
    let jobs: Vec<String> =
        crate::generate::manifest(&std::fs::read_to_string(root.join("Cargo.toml"))?)?
            .into_iter()
            .filter(|f| f.schedule().is_some())
            .map(|f| f.name)
            .collect();
    let every: u64 = std::env::var("LOCAL_SCHEDULE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|s| *s > 0)
        .unwrap_or(10);
    println!("schedules: {} every {every} s", jobs.join(", "));
    let client = reqwest::Client::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(every));
    loop {
        tick.tick().await;
        for job in &jobs {
            let mut event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
                root.join(format!("events/{job}.json")),
            )?)?;
            event["time"] = shop::types::Timestamp::now().to_string().into();
            event["id"] = ulid::Ulid::new().to_string().into();
            let req = client
                .post(format!("{api_url}/2015-03-31/functions/{job}/invocations"))
                .json(&event);
            let job = job.clone();
            tokio::spawn(async move {
                match req.send().await {
                    Ok(r) => {
                        let body = r.text().await.unwrap_or_default();
                        // Quiet when the run found nothing to do.
                        if body.chars().any(|c| c.is_ascii_digit() && c != '0') {
                            println!("schedules: {job} -> {body}");
                        }
                    }
                    Err(e) => eprintln!("schedules: {job} could not be invoked: {e}"),
                }
            });
        }
    }
}
