//! The owner's sales figures: kept per day from the shop's events (never a Scan of the orders),
//! read back for a range of days; and the orders of a range of days as CSV for accounting.
//! `model` (pure: what an event adds, the summary) <- `store` (sharded counters, once per event)
//! <- `handlers` (the bus consumer and `GET /admin/stats`).

pub mod export;
pub mod handlers;
pub mod model;
pub mod store;

pub use handlers::{admin_stats, export_orders, record_sales};
