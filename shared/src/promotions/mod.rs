//! Discount codes: the admin creates and limits them, the pricing function applies them, the
//! checkout's transaction counts each use, and a cancelled or lapsed order gives its use back.

pub mod handlers;
pub mod model;
pub mod store;
pub use handlers::{create_promotion, list_promotions, update_promotion};
