//! The back office's audit trail: every admin write records who made it, when, what it changed
//! and each changed field before and after, in the same transaction as the change, so the trail
//! never misses a change nor holds one that did not happen. No route writes or deletes an entry;
//! the admins read it newest first (`customers::list_audit`, which names the actors).
//! `model` (pure: the entry and the field diff) <- `store` (the entries' partition).

pub mod model;
pub mod store;

pub use model::{Action, Change, Entry};
