//! The two event functions: the outbox publisher (stream records -> events on the bus) and the
//! email consumer (an event from the bus -> at most one email).

use serde_json::{Value, json};

use super::{
    mail::{self, Recipient, Shop},
    model::{EMAILS_SENT, EVENTS_PUBLISHED, Event},
    store::{self, Claim},
    stream::{self, StreamBatch},
};
use crate::{
    app::App,
    error::{ApiError, ApiResult},
    platform::{
        bus::{self, Entry},
        db, mail as ses, metrics,
    },
    users,
};

/// `publish-events` (DynamoDB Streams of the orders, products and users tables): publishes the
/// events of each committed change, in order. Answers with the partial batch failure the event
/// source mapping expects: the first record not fully published, so the mapping retries from it
/// (records before it are done; a record that never decodes goes to the on-failure destination
/// once the mapping's retries are spent, and the records after it then follow).
pub async fn publish_events(app: &'static App, batch: Value) -> ApiResult<Value> {
    let batch: StreamBatch = serde_json::from_value(batch)
        .map_err(|e| ApiError::internal(format!("not a DynamoDB stream batch: {e}")))?;
    let threshold = app.settings.catalog.low_stock_threshold;
    // Each entry with the index of the record it comes from.
    let mut entries: Vec<(usize, Entry)> = Vec::new();
    let mut failed_at: Option<usize> = None;
    for (i, raw) in batch.records.iter().enumerate() {
        match stream::events_of(raw, threshold) {
            Ok(events) => {
                for ev in events {
                    entries.push((i, entry(&ev)?));
                }
            }
            Err(error) => {
                tracing::error!(
                    sequence_number = stream::sequence_number(raw).unwrap_or_default(),
                    %error,
                    "stream record cannot be published"
                );
                failed_at = Some(i);
                break;
            }
        }
    }
    let (records, list): (Vec<usize>, Vec<Entry>) = entries.into_iter().unzip();
    let published = match bus::put_events(app.events(), &app.config.events.bus, &list).await {
        Ok(()) => list.len(),
        Err(undelivered) => {
            let record = records[undelivered.delivered];
            tracing::error!(
                error = %undelivered.error.chain(),
                sequence_number = stream::sequence_number(&batch.records[record]).unwrap_or_default(),
                "events not published; the batch is retried from this record"
            );
            failed_at = Some(failed_at.map_or(record, |f| f.min(record)));
            undelivered.delivered
        }
    };
    metrics::emit(&[(EVENTS_PUBLISHED, published as i64)]);
    let failures: Vec<Value> = failed_at
        .map(|i| {
            let seq = stream::sequence_number(&batch.records[i]).unwrap_or_default();
            json!({ "itemIdentifier": seq })
        })
        .into_iter()
        .collect();
    Ok(json!({ "batchItemFailures": failures }))
}

fn entry(ev: &Event) -> ApiResult<Entry> {
    Ok(Entry {
        source: ev.metadata.kind.source(),
        detail_type: ev.metadata.kind.as_str(),
        detail: serde_json::to_string(ev).map_err(ApiError::internal)?,
    })
}

/// `send-email` (an EventBridge rule's target): the event's email, once per event id. A failed
/// send gives its claim back and fails the invocation, so Lambda's retries (then the DLQ) take it.
pub async fn send_email(app: &'static App, envelope: Value) -> ApiResult<Value> {
    let event: Event = serde_json::from_value(envelope["detail"].clone())
        .map_err(|e| ApiError::internal(format!("not a shop event: {e}")))?;
    let (id, kind) = (&event.metadata.id, event.metadata.kind.as_str());
    let Some(recipient) = mail::recipient(&event) else {
        return Ok(json!({ "sent": false }));
    };
    let to = match recipient {
        Recipient::Operator => match &app.settings.mail.alert_email {
            Some(a) => a.clone(),
            None => {
                tracing::info!(event_id = %id, r#type = kind, "no ALERT_EMAIL configured; alert not mailed");
                return Ok(json!({ "sent": false }));
            }
        },
        Recipient::Customer => {
            let user = event
                .data
                .customer()
                .ok_or_else(|| ApiError::internal(format!("{kind} {id} names no customer")))?;
            // Eventual suffices: the event came through the stream, after the write it reports.
            match users::store::load_user(app, user, db::Consistency::Eventual).await? {
                Some(v) => v.email.to_string(),
                None => {
                    tracing::info!(event_id = %id, r#type = kind, "the customer's account is gone; nothing mailed");
                    return Ok(json!({ "sent": false }));
                }
            }
        }
    };
    let from = app
        .config
        .events
        .email_from
        .as_deref()
        .ok_or(ApiError::Unavailable {
            dependency: "email (EMAIL_FROM is not configured)",
            source: None,
        })?;
    let shop = Shop {
        name: &app.settings.site.store_name,
        site_url: app.settings.site.url.as_deref(),
        link_secret: &app.config.jwt_secret,
    };
    let Some(m) = mail::compose(&event, &to, &shop) else {
        return Ok(json!({ "sent": false }));
    };
    match store::claim(app, id).await? {
        Claim::Claimed => {}
        Claim::AlreadySent => {
            tracing::info!(event_id = %id, r#type = kind, "email already sent for this event");
            return Ok(json!({ "sent": false, "duplicate": true }));
        }
        Claim::InFlight => {
            return Err(ApiError::Unavailable {
                dependency: "email (another delivery of this event is sending it)",
                source: None,
            });
        }
    }
    match ses::send(app.ses(), from, &m.to, &m.subject, &m.text, &m.html).await {
        Ok(message_id) => {
            store::mark_sent(app, id).await?;
            metrics::emit(&[(EMAILS_SENT, 1)]);
            // The address and the body stay out of the logs; the ids find them in SES.
            tracing::info!(event_id = %id, r#type = kind, %message_id, "email sent");
            Ok(json!({ "sent": true, "message_id": message_id }))
        }
        Err(e) => {
            store::release(app, id).await?;
            Err(e)
        }
    }
}
