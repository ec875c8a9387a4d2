//! Card payments through Stripe: paying a PENDING order, the signed webhook that alone marks it
//! PAID, refunds, and the job that lets unpaid reservations lapse.
//! `model` (pure: signatures, settlement rules, idempotency keys) <- `store` (processed events)
//! <- `handlers` (one function per endpoint or job). Orders move through `orders::store`.

pub mod handlers;
pub mod model;
pub mod store;

pub use handlers::{expire_orders, pay_order, payment_webhook};
