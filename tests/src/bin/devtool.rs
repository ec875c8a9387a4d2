//! Local-stack chores for `make dev` and the tests: create the tables and seed the admin account.
//!
//! Reads the same environment as the functions (see `shop::config::env`), plus
//! `ADMIN_EMAIL` / `ADMIN_PASSWORD` for the seeded admin.

use shop::{App, config::Config};

const USAGE: &str = "usage: devtool setup   (create tables and the admin account; idempotent)";

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    if cmd != "setup" {
        eprintln!("{USAGE}");
        std::process::exit(2);
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
    Ok(())
}
