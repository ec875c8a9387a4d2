//! The serverless shop's domain crate. Function binaries call [`run`] with one handler; everything
//! else (config, storage, auth, business rules) lives here.
//!
//! Layers lean one way: each domain's `handlers` -> its `model` (pure) and `store` (DynamoDB) ->
//! `auth` -> `platform` (config, telemetry, metrics, the HTTP edge, DynamoDB helpers). `platform`
//! knows no domain; no module imports another in a circle. [`App`] is the composition root.

pub mod app;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod customers;
pub mod error;
pub mod events;
pub mod health;
pub mod orders;
pub mod payments;
pub mod platform;
pub mod pricing;
pub mod promotions;
pub mod sales;
pub mod settings;
pub mod storefront;
pub mod types;
pub mod users;

use std::future::Future;

pub use app::App;
pub use error::{ApiError, ApiResult};
pub use lambda_http::Request;
pub use platform::{config, db, http, http::Reply, telemetry};

/// Every table of the shop, as the dev tools and tests create it.
pub const TABLES: &[&db::TableDef] = &[
    &users::store::TABLE,
    &catalog::store::TABLE,
    &orders::store::TABLE,
];

/// The deployed name of `def` under `tables`.
pub fn table_name<'a>(tables: &'a config::Tables, def: &db::TableDef) -> &'a str {
    tables.name(def.id)
}

/// Creates every table under the names in `tables` (idempotent).
pub async fn create_tables(
    client: &aws_sdk_dynamodb::Client,
    tables: &config::Tables,
) -> Result<(), String> {
    for def in TABLES {
        db::create_table(client, table_name(tables, def), def).await?;
    }
    Ok(())
}

/// Runs one request through `handler` at the HTTP edge (what `run` does per request; tests and the
/// benchmark call it directly).
pub async fn dispatch<F, Fut>(
    app: &'static App,
    req: Request,
    handler: F,
) -> lambda_http::Response<lambda_http::Body>
where
    F: FnOnce(&'static App, Request) -> Fut,
    Fut: Future<Output = ApiResult<Reply>>,
{
    http::dispatch(&app.config, req, |req| handler(app, req)).await
}

/// What every function does once at init: telemetry, configuration, the clients, and (when
/// configured) the DynamoDB connection.
async fn start() -> Result<&'static App, lambda_http::Error> {
    telemetry::init();
    let app = App::load(|k| std::env::var(k).ok()).inspect_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
    })?;
    if app.config.connect_at_init {
        app.connect().await;
    }
    Ok(app)
}

/// The whole `main` of a function: read config and build clients once, then serve requests with
/// `handler`. A bad config stops the process at init with a clear message.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Copy + Send,
    Fut: Future<Output = ApiResult<Reply>> + Send,
{
    let app = start().await?;
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(dispatch(app, req, handler).await)
    }))
    .await
}

/// The whole `main` of a scheduled function: config and clients once, then `job` per event (the
/// event itself says only that it is time). A failed run is logged once and reported to Lambda
/// as an error; the next tick runs the job again.
pub async fn run_job<F, Fut>(job: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App) -> Fut + Copy + Send,
    Fut: Future<Output = ApiResult<serde_json::Value>> + Send,
{
    use lambda_http::lambda_runtime::{LambdaEvent, run, service_fn};
    // Written out rather than as `run_events` with a closure: that nesting overflows the
    // compiler's layout query depth for the binaries' `main`.
    let app = start().await?;
    run(service_fn(
        move |_: LambdaEvent<serde_json::Value>| async move {
            job(app).await.map_err(|e| {
                tracing::error!(error = %e.chain(), "job failed");
                lambda_http::Error::from(e.code())
            })
        },
    ))
    .await
}

/// The whole `main` of an event consumer (a stream, a rule): config and clients once, then
/// `handler` per event, its answer returned to Lambda (a stream's partial batch failures). A
/// failed event is logged once and reported as an error, so Lambda retries it.
pub async fn run_events<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, serde_json::Value) -> Fut + Copy + Send,
    Fut: Future<Output = ApiResult<serde_json::Value>> + Send,
{
    use lambda_http::lambda_runtime::{LambdaEvent, run, service_fn};
    let app = start().await?;
    run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            handler(app, event.payload).await.map_err(|e| {
                tracing::error!(error = %e.chain(), "event failed");
                lambda_http::Error::from(e.code())
            })
        },
    ))
    .await
}
