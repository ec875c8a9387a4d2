//! Local-stack chores for `make dev`: create the tables, the admin account and the sample catalog.
//!
//! Reads the same environment as the functions (see `shop::config::env`), plus
//! `ADMIN_EMAIL` / `ADMIN_PASSWORD` for the seeded admin.

use shop::{
    ApiError, App,
    config::Config,
    products::{self, CreateProductRequest, NewProduct},
};

const USAGE: &str =
    "usage: devtool setup   (create tables, admin account and sample catalog; idempotent)";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match std::env::args().nth(1).as_deref() {
        Some("setup") => {}
        Some("manifest") => {
            println!("{}", serde_json::to_string_pretty(&manifest())?);
            return Ok(());
        }
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    }
    let app = App::leaked(Config::from_env()?).await;
    shop::db::create_all(&app.dynamo, &app.config.tables).await?;
    let email = std::env::var("ADMIN_EMAIL").unwrap_or_else(|_| "admin@shop.local".into());
    let password = std::env::var("ADMIN_PASSWORD").unwrap_or_else(|_| "admin-password".into());
    let created = shop::users::ensure_admin(app, &email, &password, "Shop Admin").await?;
    println!(
        "tables ready; admin {email} {}",
        if created { "created" } else { "already exists" }
    );
    let added = seed_catalog(app).await?;
    println!("catalog seeded: {added} new products");
    Ok(())
}

/// Adds the sample catalog; products whose slug exists already are left as they are.
async fn seed_catalog(app: &App) -> Result<usize, Box<dyn std::error::Error>> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/seed-catalog.json");
    let raw = std::fs::read_to_string(&path)?;
    let items: Vec<CreateProductRequest> = serde_json::from_str(&raw)?;
    let mut added = 0;
    for item in items {
        match products::create(app, NewProduct::try_from(item)?).await {
            Ok(_) => added += 1,
            Err(ApiError::Conflict { .. }) => {}
            Err(e) => return Err(e.chain().into()),
        }
    }
    Ok(added)
}

/// What the infrastructure descriptions must agree with (tests/iac reads this).
fn manifest() -> serde_json::Value {
    use shop::{config::env, db};
    let tables: Vec<_> = db::ALL_TABLES
        .iter()
        .map(|t| {
            serde_json::json!({
                "id": t.id,
                "env": t.env,
                "pk": db::PK,
                "sk": db::SK,
                "ttl": t.ttl.then_some(db::TTL_ATTR),
                "gsis": t.gsis.iter().map(|g| serde_json::json!({"name": g.name, "pk": g.pk, "sk": g.sk})).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "tables": tables, "env": env::DEPLOYED })
}
