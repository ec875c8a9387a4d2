//! Pricing: where the shop ships and at what price, the tax of each region, shipping addresses,
//! and the one pure function that prices a basket for the quote and the checkout alike.

pub mod address;
pub mod countries;
pub mod quote;
pub mod rates;
