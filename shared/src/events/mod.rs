//! Events and email: the outbox publisher that turns committed changes (DynamoDB Streams) into
//! typed events on the bus, and the consumer that mails shoppers and operators about them.
//! `model` (pure: catalogue, change -> events) and `mail` (pure: who gets what) <- `stream`
//! (records -> events) and `store` (emails sent) <- `handlers` (one function each).

pub mod handlers;
pub mod mail;
pub mod model;
pub mod store;
pub mod stream;

pub use handlers::{publish_events, send_email};
pub use model::{Event, EventType};
