//! What every function needs and no domain owns: configuration, logs and metrics, the HTTP edge and
//! the DynamoDB helpers. Nothing here knows of users, products or orders.

pub mod bus;
pub mod config;
pub mod db;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod objects;
pub mod stripe;
pub mod telemetry;

/// Root CAs of the Amazon Trust Services, which every AWS endpoint chains to (see certs/README.md).
pub const AMAZON_ROOTS: &[u8] = include_bytes!("../../certs/amazon-roots.pem");
