//! What every function needs and no domain owns: configuration, logs and metrics, the HTTP edge and
//! the DynamoDB helpers. Nothing here knows of users, products or orders.

pub mod bus;
pub mod config;
pub mod db;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod stripe;
pub mod telemetry;
