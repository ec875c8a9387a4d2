//! The owner's view of the customers: find an account by email, see it with its orders, disable it
//! and enable it again; and the admins' audit trail, with who made each change. It reads and
//! writes only through the users', orders' and audit trail's stores.
//! `model` (pure: the views, the search, the request) <- `handlers`.

pub mod handlers;
pub mod model;

pub use handlers::{get_customer, list_audit, list_customers, update_customer};
