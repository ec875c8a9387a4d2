//! The serverless shop's domain crate. Function binaries call [`run`] with one service function;
//! everything else (config, storage, auth, business rules) lives here.

pub mod app;
pub mod auth;
pub mod cart;
pub mod config;
pub mod db;
pub mod error;
pub mod health;
pub mod http;
pub mod metrics;
pub mod orders;
pub mod pagination;
pub mod products;
pub mod telemetry;
pub mod types;
pub mod users;

use std::future::Future;

pub use app::App;
pub use error::{ApiError, ApiResult};
pub use http::Reply;
pub use lambda_http::Request;

/// The whole `main` of a function: read config and build clients once, then serve requests with
/// `handler`. A bad config stops the process at init with a clear message.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static App, Request) -> Fut + Copy + Send,
    Fut: Future<Output = ApiResult<Reply>> + Send,
{
    telemetry::init();
    let config = config::Config::from_env().inspect_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
    })?;
    let app = App::leaked(config);
    lambda_http::run(lambda_http::service_fn(move |req| async move {
        Ok::<_, std::convert::Infallible>(http::dispatch(app, req, handler).await)
    }))
    .await
}
