//! Carts, checkout and orders.
//! `model` (pure: status machine, pricing) <- `store` (DynamoDB) <- `checkout` (the one
//! transaction) <- `handlers` (one function per endpoint).

pub mod checkout;
pub mod handlers;
pub mod model;
pub mod shipment;
pub mod store;

pub use handlers::{
    checkout_quote, create_order, get_cart, get_order, list_orders, put_cart, update_order_status,
};
pub use model::{Order, OrderStatus};
