//! Pricing: where the shop ships and at what price, the tax of each region, shipping addresses,
//! and the one pure function that prices a basket for the quote and the checkout alike.

pub mod address;
pub mod countries;
pub mod handlers;
pub mod quote;
pub mod rates;
pub mod store;

pub use handlers::{get_shipping, get_tax, put_shipping, put_tax, shipping_countries};
