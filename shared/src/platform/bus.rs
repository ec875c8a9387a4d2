//! EventBridge `PutEvents`: entries in order, in batches of at most ten (the API's limit), the
//! entries EventBridge refused retried with backoff. Nothing is dropped: the caller learns how many
//! leading entries are on the bus and retries the rest (consumers deduplicate on the event id, so
//! an entry put twice is harmless).

use std::time::Duration;

use aws_sdk_eventbridge::{Client, error::DisplayErrorContext, types::PutEventsRequestEntry};

use crate::error::ApiError;

/// The most entries one `PutEvents` call takes.
pub const MAX_BATCH: usize = 10;
/// Tries per entry before the caller is told it failed.
pub const ATTEMPTS: u32 = 4;

/// One entry: EventBridge's `source`, `detail-type` and `detail` (JSON).
#[derive(Debug, Clone)]
pub struct Entry {
    pub source: &'static str,
    pub detail_type: &'static str,
    pub detail: String,
}

/// The failure of [`put_events`]: the first `delivered` entries are on the bus, the rest not.
#[derive(Debug)]
pub struct Undelivered {
    pub delivered: usize,
    pub error: ApiError,
}

fn unavailable(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> ApiError {
    ApiError::Unavailable {
        dependency: "EventBridge",
        source: Some(e.into()),
    }
}

/// Puts `entries` on `bus`, in order.
pub async fn put_events(client: &Client, bus: &str, entries: &[Entry]) -> Result<(), Undelivered> {
    for (n, chunk) in entries.chunks(MAX_BATCH).enumerate() {
        let base = n * MAX_BATCH;
        // Indexes (in `chunk`) still to put.
        let mut pending: Vec<usize> = (0..chunk.len()).collect();
        let mut last_error = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let batch: Vec<PutEventsRequestEntry> = pending
                .iter()
                .map(|&i| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(bus)
                        .source(chunk[i].source)
                        .detail_type(chunk[i].detail_type)
                        .detail(&chunk[i].detail)
                        .build()
                })
                .collect();
            match client.put_events().set_entries(Some(batch)).send().await {
                Ok(out) => {
                    // Results are positional: one per entry sent, an error code on the refused.
                    let refused: Vec<usize> = out
                        .entries()
                        .iter()
                        .zip(&pending)
                        .filter(|(r, _)| r.error_code().is_some())
                        .map(|(r, &i)| {
                            last_error = Some(format!(
                                "entry refused: {} {}",
                                r.error_code().unwrap_or_default(),
                                r.error_message().unwrap_or_default()
                            ));
                            i
                        })
                        .collect();
                    pending = refused;
                }
                Err(e) => last_error = Some(DisplayErrorContext(e).to_string()),
            }
            if pending.is_empty() {
                break;
            }
        }
        if let Some(&first) = pending.iter().min() {
            return Err(Undelivered {
                delivered: base + first,
                error: unavailable(last_error.unwrap_or_default()),
            });
        }
    }
    Ok(())
}

/// Creates the bus (the dev tools and tests do; on AWS the stack does). Succeeds when it exists.
pub async fn create_bus(client: &Client, bus: &str) -> Result<(), String> {
    use aws_sdk_eventbridge::error::ProvideErrorMetadata;
    match client.create_event_bus().name(bus).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
        Err(e) => Err(format!("create bus {bus}: {}", DisplayErrorContext(e))),
    }
}
