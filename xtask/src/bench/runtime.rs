//! A minimal Lambda Runtime API (the part a function talks to), so the benchmark can time init and
//! each invocation exactly as Lambda bills them: from handing out an event to receiving its response.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode, body::Bytes, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::sync::{Notify, mpsc, oneshot};

/// What a finished invocation reports.
#[derive(Debug)]
pub struct Outcome {
    pub duration: Duration,
    pub body: Vec<u8>,
    pub error: bool,
}

#[derive(Default)]
struct State {
    first_poll: Option<Instant>,
    sent: HashMap<String, Instant>,
    waiting: HashMap<String, oneshot::Sender<Outcome>>,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    polled: Arc<Notify>,
    events: Mutex<mpsc::Sender<(String, Vec<u8>)>>,
    queue: Queue,
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let polled = Arc::new(Notify::new());
        let (tx, rx) = channel();
        let queue: Queue = Arc::new(Mutex::new(rx));
        let (st, pl, qu) = (state.clone(), polled.clone(), queue.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (st, pl, qu) = (st.clone(), pl.clone(), qu.clone());
                tokio::spawn(async move {
                    let svc =
                        service_fn(move |req| handle(req, st.clone(), pl.clone(), qu.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        RuntimeApi {
            addr,
            state,
            polled,
            events: Mutex::new(tx),
            queue,
        }
    }

    /// Forgets the previous process (a new one is about to start).
    pub fn reset(&self) {
        let mut s = self.state.lock().unwrap();
        s.first_poll = None;
        s.sent.clear();
        s.waiting.clear();
        // A new queue: a poll from a killed process whose connection is not yet seen closed would
        // otherwise take the next process's first event and lose it. Dropping the old sender ends it.
        let (tx, rx) = channel();
        *self.queue.lock().unwrap() = rx;
        *self.events.lock().unwrap() = tx;
    }

    /// Waits until the function polls for its first event; returns when that happened.
    pub async fn first_poll(&self) -> Instant {
        loop {
            let notified = self.polled.notified();
            if let Some(t) = self.state.lock().unwrap().first_poll {
                return t;
            }
            notified.await;
        }
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: Vec<u8>) -> Outcome {
        let id = ulid::Ulid::new().to_string();
        let (tx, rx) = oneshot::channel();
        self.state.lock().unwrap().waiting.insert(id.clone(), tx);
        let events = self.events.lock().unwrap().clone();
        events.send((id, event)).await.unwrap();
        tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("the function answered")
            .unwrap()
    }
}

type Events = Arc<tokio::sync::Mutex<mpsc::Receiver<(String, Vec<u8>)>>>;
/// The current process's events; `reset` swaps in a new queue.
type Queue = Arc<Mutex<Events>>;

/// One process's event queue: the harness sends, the process's polls take turns receiving.
fn channel() -> (mpsc::Sender<(String, Vec<u8>)>, Events) {
    let (tx, rx) = mpsc::channel(1);
    (tx, Arc::new(tokio::sync::Mutex::new(rx)))
}

fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    state: Arc<Mutex<State>>,
    polled: Arc<Notify>,
    queue: Queue,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if path.ends_with("/invocation/next") {
        // Taken before the poll is reported: the process may be killed and the queue replaced
        // as soon as it is, and this poll must not then wait on the next process's queue.
        let events = queue.lock().unwrap().clone();
        {
            let mut s = state.lock().unwrap();
            if s.first_poll.is_none() {
                s.first_poll = Some(Instant::now());
            }
        }
        polled.notify_waiters();
        let Some((id, event)) = events.lock().await.recv().await else {
            return Ok(reply(StatusCode::GONE, Vec::new()));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 30_000;
        let mut r = reply(StatusCode::OK, event);
        let h = r.headers_mut();
        h.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
        h.insert(
            "lambda-runtime-deadline-ms",
            deadline.to_string().parse().unwrap(),
        );
        h.insert(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench"
                .parse()
                .unwrap(),
        );
        h.insert(
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000;Sampled=0"
                .parse()
                .unwrap(),
        );
        h.insert("content-type", "application/json".parse().unwrap());
        state.lock().unwrap().sent.insert(id, Instant::now());
        return Ok(r);
    }
    // .../invocation/{id}/response | .../invocation/{id}/error | .../init/error
    let parts: Vec<&str> = path.split('/').collect();
    let error = path.ends_with("/error");
    let id = parts
        .iter()
        .rev()
        .nth(1)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let now = Instant::now();
    let mut s = state.lock().unwrap();
    if let (Some(sent), Some(tx)) = (s.sent.remove(&id), s.waiting.remove(&id)) {
        let _ = tx.send(Outcome {
            duration: now - sent,
            body,
            error,
        });
    } else if error {
        eprintln!(
            "function reported an error outside an invocation: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(reply(StatusCode::ACCEPTED, b"{}".to_vec()))
}
