//! The emails already sent, one marker item per event id (in the users table, expiring by TTL):
//! claimed before sending, marked sent after, so a redelivered event sends nothing.

use crate::{
    app::App,
    error::ApiResult,
    platform::db::{self, Item, PK, TTL_ATTR, UpdateExpr, n, s},
    types::now_epoch_secs,
};

/// How long a sent email is remembered: beyond EventBridge's and Lambda's retry horizons (24 h
/// and 6 h), so any redelivery still finds it.
pub const SENT_MEMORY_SECS: u64 = 7 * 24 * 60 * 60;
/// How long a claim holds before another delivery may take over (an invocation that died
/// mid-send); longer than one send with its retries.
pub const CLAIM_LEASE_SECS: u64 = 60;

const STATE: &str = "state";
const LEASE: &str = "lease_until";
const SENDING: &str = "sending";
const SENT: &str = "sent";

fn mail_key(event_id: &str) -> Item {
    db::key(format!("MAIL#{event_id}"), "MAIL")
}

fn table(app: &App) -> &str {
    &app.config.tables.users
}

#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This delivery sends it.
    Claimed,
    /// Sent before: nothing to do.
    AlreadySent,
    /// Another delivery is sending it right now.
    InFlight,
}

/// Claims the email of `event_id` for this delivery (one conditional write: concurrent deliveries
/// cannot both win).
pub async fn claim(app: &App, event_id: &str) -> ApiResult<Claim> {
    let now = now_epoch_secs();
    let mut u = UpdateExpr::new();
    u.set(STATE, s(SENDING))
        .set(LEASE, n(now + CLAIM_LEASE_SECS))
        .set(TTL_ATTR, n(now + SENT_MEMORY_SECS));
    let (state, lease) = (u.name(STATE), u.name(LEASE));
    let (sending, now_v) = (u.value(s(SENDING)), u.value(n(now)));
    u.condition(format!(
        "attribute_not_exists({PK}) OR ({state} = {sending} AND {lease} < {now_v})"
    ));
    let result = u
        .update_item(&app.dynamo, table(app), mail_key(event_id))
        .send()
        .await;
    if db::applied(result)? {
        return Ok(Claim::Claimed);
    }
    let item = db::get_item(&app.dynamo, table(app), mail_key(event_id), true).await?;
    Ok(match item.as_ref().and_then(|i| db::str_attr(i, STATE)) {
        Some(SENT) => Claim::AlreadySent,
        _ => Claim::InFlight,
    })
}

/// Records the email as sent.
pub async fn mark_sent(app: &App, event_id: &str) -> ApiResult<()> {
    let mut u = UpdateExpr::new();
    u.set(STATE, s(SENT)).remove(LEASE);
    u.update_item(&app.dynamo, table(app), mail_key(event_id))
        .send()
        .await?;
    Ok(())
}

/// Gives the claim back after a failed send, so the retry sends.
pub async fn release(app: &App, event_id: &str) -> ApiResult<()> {
    db::delete(&app.dynamo, table(app), mail_key(event_id)).await
}
