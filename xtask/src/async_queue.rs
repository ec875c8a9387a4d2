//! Lambda's asynchronous invocation, locally: events wait in a queue, at most `concurrency` of
//! them are in a function at once (as a function's reserved concurrency bounds them on AWS), a
//! failed one is retried after the spacing Lambda uses (about a minute, then two), and one that
//! fails every time goes to the dead-letter queue. A burst of events therefore waits its turn
//! instead of landing on `cargo lambda watch` all at once.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

/// One event for one target, and how many times it was tried.
#[derive(Debug, Clone)]
pub struct Job {
    pub rule: String,
    pub target: String,
    pub event: Value,
    pub attempt: u32,
}

pub type Outcome = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
/// Invokes `target` with `event`; `Err` is why it failed.
pub type Invoke = Arc<dyn Fn(String, Value) -> Outcome + Send + Sync>;
/// Receives a job whose retries are exhausted, with the last error.
pub type DeadLetter = Arc<dyn Fn(Job, String) + Send + Sync>;

/// Lambda's spacing between the attempts of an asynchronous invocation: two retries.
pub const LAMBDA_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

/// The spacing from `LOCAL_ASYNC_RETRY_SECONDS` (comma-separated seconds, e.g. `1,2` for a
/// test), else Lambda's.
pub fn retry_delays() -> Vec<Duration> {
    std::env::var("LOCAL_ASYNC_RETRY_SECONDS")
        .ok()
        .and_then(|v| {
            v.split(',')
                .map(|s| s.trim().parse::<f64>().ok().map(Duration::from_secs_f64))
                .collect::<Option<Vec<_>>>()
        })
        .unwrap_or_else(|| LAMBDA_RETRY_DELAYS.to_vec())
}

/// Events in flight at once per queue, from `LOCAL_ASYNC_CONCURRENCY` (default 4).
pub fn concurrency() -> usize {
    std::env::var("LOCAL_ASYNC_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(4)
}

#[derive(Clone)]
pub struct AsyncQueue {
    tx: mpsc::UnboundedSender<Job>,
}

impl AsyncQueue {
    /// Starts `concurrency` workers on the current runtime.
    pub fn start(
        concurrency: usize,
        delays: Vec<Duration>,
        invoke: Invoke,
        dead: DeadLetter,
    ) -> AsyncQueue {
        let (tx, rx) = mpsc::unbounded_channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let delays = Arc::new(delays);
        for _ in 0..concurrency {
            let (rx, tx, delays, invoke, dead) = (
                rx.clone(),
                tx.clone(),
                delays.clone(),
                invoke.clone(),
                dead.clone(),
            );
            tokio::spawn(async move {
                loop {
                    let Some(job) = rx.lock().await.recv().await else {
                        return;
                    };
                    let Err(e) = invoke(job.target.clone(), job.event.clone()).await else {
                        continue;
                    };
                    eprintln!("rules: {}: {e}", job.rule);
                    match delays.get(job.attempt as usize) {
                        // The retry waits outside the workers: it holds no concurrency.
                        Some(delay) => {
                            let (tx, delay) = (tx.clone(), *delay);
                            let next = Job {
                                attempt: job.attempt + 1,
                                ..job
                            };
                            tokio::spawn(async move {
                                tokio::time::sleep(delay).await;
                                let _ = tx.send(next);
                            });
                        }
                        None => dead(job, e),
                    }
                }
            });
        }
        AsyncQueue { tx }
    }

    pub fn push(&self, rule: &str, target: &str, event: Value) {
        let _ = self.tx.send(Job {
            rule: rule.to_string(),
            target: target.to_string(),
            event,
            attempt: 0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    // Real time, scaled down: tokio's paused clock (test-util) would rebuild every crate that
    // depends on tokio for the tests.
    const TEST_DELAYS: [Duration; 2] = [Duration::from_millis(300), Duration::from_millis(600)];

    #[tokio::test]
    async fn a_burst_waits_its_turn_never_more_than_the_concurrency_in_flight() {
        let (now, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let done = Arc::new(AtomicUsize::new(0));
        let (n, m, d) = (now.clone(), max.clone(), done.clone());
        let invoke: Invoke = Arc::new(move |_, _| {
            let (n, m, d) = (n.clone(), m.clone(), d.clone());
            Box::pin(async move {
                let inside = n.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(inside, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                n.fetch_sub(1, Ordering::SeqCst);
                d.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        });
        let q = AsyncQueue::start(4, TEST_DELAYS.to_vec(), invoke, Arc::new(|_, _| {}));
        for i in 0..500 {
            q.push("r", "send-email", serde_json::json!({ "i": i }));
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while done.load(Ordering::SeqCst) < 500 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(done.load(Ordering::SeqCst), 500, "every event delivered");
        assert_eq!(max.load(Ordering::SeqCst), 4, "never more than 4 at once");
    }

    #[test]
    fn lambda_spaces_retries_a_minute_then_two_minutes() {
        assert_eq!(retry_delays(), LAMBDA_RETRY_DELAYS.to_vec());
        assert_eq!(LAMBDA_RETRY_DELAYS.map(|d| d.as_secs()), [60, 120]);
    }

    #[tokio::test]
    async fn a_failed_event_is_retried_after_the_spacing_then_dead_lettered() {
        let tries: Arc<std::sync::Mutex<Vec<Instant>>> = Default::default();
        let t = tries.clone();
        let invoke: Invoke = Arc::new(move |_, event| {
            t.lock().unwrap().push(Instant::now());
            let fails = event["fails"].as_u64().unwrap() as usize;
            let n = t.lock().unwrap().len();
            Box::pin(async move {
                if n <= fails {
                    Err("service_unavailable".into())
                } else {
                    Ok(())
                }
            })
        });
        let dead: Arc<std::sync::Mutex<Vec<(Job, String)>>> = Default::default();
        let dl = dead.clone();
        let q = AsyncQueue::start(
            2,
            TEST_DELAYS.to_vec(),
            invoke,
            Arc::new(move |job, e| dl.lock().unwrap().push((job, e))),
        );
        let start = Instant::now();
        q.push("r", "send-email", serde_json::json!({ "fails": 2 }));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let at: Vec<Duration> = tries.lock().unwrap().iter().map(|t| *t - start).collect();
        assert_eq!(at.len(), 3, "{at:?}");
        // The spacing, not at once (and not much later either).
        let gaps = [at[1] - at[0], at[2] - at[1]];
        assert!(
            gaps[0] >= TEST_DELAYS[0] && gaps[1] >= TEST_DELAYS[1],
            "{at:?}"
        );
        assert!(gaps[1] < TEST_DELAYS[1] * 2, "{at:?}");
        assert!(dead.lock().unwrap().is_empty());

        tries.lock().unwrap().clear();
        q.push("r", "send-email", serde_json::json!({ "fails": 9 }));
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            tries.lock().unwrap().len(),
            3,
            "the event, then two retries"
        );
        let dead = dead.lock().unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].0.attempt, dead[0].1.as_str()),
            (2, "service_unavailable")
        );
    }
}
