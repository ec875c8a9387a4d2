//! `streams API_URL`: the dev stack's event source mappings and event bus delivery, driven
//! through `cargo lambda watch`'s invoke endpoint (the path AWS's triggers take):
//!
//! - per table of the manifest's outbox, a poller of DynamoDB Local's stream that behaves like
//!   an event source mapping: the manifest's filter, batches of `batch_size` in shard order, the
//!   function's partial batch failures honoured (records before the reported one are done, the
//!   batch is retried from it), `retries` retries with backoff, then the failing record goes to
//!   the on-failure destination (`$LOCAL_DLQ_DIR/outbox.jsonl`) and the records after it follow;
//! - per rule of the manifest, an archive on the bus in moto with the rule's event pattern (so
//!   moto matches events exactly as EventBridge would), polled; each new event is invoked on the
//!   rule's target as an asynchronous invocation through [`AsyncQueue`] (a few at a time, two
//!   retries a minute and two minutes later, then `$LOCAL_DLQ_DIR/events.jsonl`);
//! - the images bucket's object-created records (logged by scripts/s3rver/run.cjs) as S3 sends
//!   them to EventBridge, to each upload function whose rule matches, the same asynchronous way.
//!
//! A poller checkpoints the last record it handed on per shard in `$LOCAL_CHECKPOINT_DIR`
//! (default `$LOCAL_DIR/checkpoints`), so a second start on the same data resumes after it
//! instead of publishing every event ever made again. `replay-dead-letters API_URL` sends what the
//! dead-letter files hold through the same invoke path, and keeps what fails again.

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use serde_json::{Value, json};

use crate::{
    async_queue::{self, AsyncQueue, Invoke, Job},
    generate::{self, Function, Outbox, StreamSource},
};

type Res<T> = Result<T, String>;

struct Ctx {
    http: reqwest::Client,
    api: String,
    dynamodb: String,
    dlq: PathBuf,
    checkpoints: PathBuf,
}

/// `$LOCAL_DLQ_DIR`, else `$LOCAL_DIR/dead-letters`.
fn dead_letter_dir() -> PathBuf {
    std::env::var("LOCAL_DLQ_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| local_dir().join("dead-letters"))
}

fn local_dir() -> PathBuf {
    PathBuf::from(std::env::var("LOCAL_DIR").unwrap_or_else(|_| ".local".into()))
}

fn env(k: &str) -> Res<String> {
    std::env::var(k).map_err(|_| format!("{k} is not set"))
}

pub async fn run(api_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let root = shop_tests::repo_root();
    let fns = generate::manifest(&std::fs::read_to_string(root.join("Cargo.toml"))?)?;
    let dlq = dead_letter_dir();
    std::fs::create_dir_all(&dlq)?;
    let checkpoints = std::env::var("LOCAL_CHECKPOINT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| local_dir().join("checkpoints"));
    std::fs::create_dir_all(&checkpoints)?;
    let ctx: &'static Ctx = Box::leak(Box::new(Ctx {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?,
        api: api_url.trim_end_matches('/').to_string(),
        dynamodb: env(shop::config::env::DYNAMODB_ENDPOINT)?,
        dlq,
        checkpoints,
    }));
    let mut tasks = Vec::new();
    for f in &fns {
        let Some(outbox) = f.stream().cloned() else {
            continue;
        };
        for source in outbox.sources.clone() {
            let table = env(&format!("{}_TABLE", source.table.to_uppercase()))?;
            println!("streams: {table} -> {}", f.name);
            let (function, outbox) = (f.name.clone(), outbox.clone());
            tasks.push(tokio::spawn(async move {
                poll_table(ctx, &table, &source, &outbox, &function).await
            }));
        }
    }
    let rules: Vec<(String, Value, String)> = fns
        .iter()
        .flat_map(|f: &Function| {
            f.rules()
                .iter()
                .map(|(r, p)| (r.clone(), p.clone(), f.name.clone()))
        })
        .collect();
    if !rules.is_empty() {
        let events = env(shop::config::env::EVENTS_ENDPOINT)?;
        let bus = std::env::var(shop::config::env::EVENT_BUS_NAME)
            .unwrap_or_else(|_| "shop-events".into());
        for (r, _, target) in &rules {
            println!("rules: {r} on {bus} -> {target}");
        }
        let reserved: HashMap<String, usize> = fns
            .iter()
            .filter_map(|f| Some((f.name.clone(), usize::try_from(f.concurrency?).ok()?)))
            .collect();
        tasks.push(tokio::spawn(async move {
            deliver_rules(ctx, &events, &bus, &rules, &reserved).await
        }));
    }
    let uploads: Vec<(String, String)> = fns
        .iter()
        .filter_map(|f| Some((f.uploads()?.to_string(), f.name.clone())))
        .collect();
    // A stack without an images bucket (the outage tests') has no uploads to deliver.
    if let (false, Ok(bucket)) = (
        uploads.is_empty(),
        std::env::var(shop::config::env::IMAGES_BUCKET),
    ) {
        for (prefix, target) in &uploads {
            println!("uploads: {bucket}/{prefix} -> {target}");
        }
        tasks.push(tokio::spawn(async move {
            deliver_uploads(ctx, &bucket, &uploads).await
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

async fn dynamodb(ctx: &Ctx, target: &str, body: Value) -> Res<Value> {
    shop_tests::events::dynamodb_api(&ctx.http, &ctx.dynamodb, target, body).await
}

/// Invokes `function` with `payload`; its answer, or why it failed (a function error included).
async fn invoke(ctx: &Ctx, function: &str, payload: &Value) -> Res<Value> {
    let r = ctx
        .http
        .post(format!(
            "{}/2015-03-31/functions/{function}/invocations",
            ctx.api
        ))
        .json(payload)
        .send()
        .await
        .map_err(|e| format!("invoke {function}: {e}"))?;
    let ok = r.status().is_success();
    let text = r.text().await.unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !ok || v.get("errorType").is_some() || v.get("errorMessage").is_some() {
        return Err(format!("{function} failed: {v}"));
    }
    Ok(v)
}

fn dead_letter(ctx: &Ctx, file: &str, entry: Value) {
    use std::io::Write;
    let path = ctx.dlq.join(file);
    let line = entry.to_string() + "\n";
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    match written {
        Ok(()) => eprintln!("dead letter -> {}", path.display()),
        Err(e) => eprintln!("dead letter lost ({}): {e}: {line}", path.display()),
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500 << attempt.min(4))
}

/// Polls one table's stream for ever, shard by shard in the order DynamoDB lists them (a child
/// shard after its parent), delivering the records the filter selects.
async fn poll_table(
    ctx: &Ctx,
    table: &str,
    source: &StreamSource,
    outbox: &Outbox,
    function: &str,
) -> Res<()> {
    let arn = stream_arn(ctx, table).await?;
    let checkpoint_file = ctx.checkpoints.join(format!("{table}.json"));
    let last: BTreeMap<String, String> = read_checkpoint(&checkpoint_file);
    let mut poller = Poller {
        ctx,
        table,
        source,
        outbox,
        function,
        high_water: last.values().filter_map(|s| s.parse::<u128>().ok()).max(),
        known: last.keys().cloned().collect(),
        last,
        arn,
        checkpoint_file,
        iterators: HashMap::new(),
        order: Vec::new(),
        quiet: Default::default(),
    };
    let mut listed: Option<tokio::time::Instant> = None;
    loop {
        // Like Lambda's pollers, the shards are listed now and then, not on every read: a new
        // shard only matters once the open one closes, or while there is none yet.
        let due = listed.is_none_or(|at| at.elapsed() >= SHARD_LISTING_INTERVAL);
        if due || !poller.has_open_shard() {
            poller.discover_shards().await;
            listed = Some(tokio::time::Instant::now());
        }
        let mut idle = true;
        for id in poller.order.clone() {
            idle &= poller.read_shard(&id).await;
        }
        if idle {
            tokio::time::sleep(SHARD_POLL_INTERVAL).await;
        }
    }
}

/// Lambda reads each shard of a stream four times a second while it has nothing new.
const SHARD_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How often a poller lists its stream's shards while it has one open to read.
const SHARD_LISTING_INTERVAL: Duration = Duration::from_secs(5);

/// The table's stream, once the table exists and DynamoDB Local answers.
async fn stream_arn(ctx: &Ctx, table: &str) -> Res<String> {
    loop {
        match dynamodb(
            ctx,
            "DynamoDB_20120810.DescribeTable",
            json!({"TableName": table}),
        )
        .await
        {
            Ok(v) => {
                return match v["Table"]["LatestStreamArn"].as_str() {
                    Some(a) => Ok(a.to_string()),
                    None => Err(format!(
                        "{table} has no stream (was it created by `xtask setup`?)"
                    )),
                };
            }
            // The table may not exist yet, or DynamoDB Local may be restarting.
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// One table stream's reader: its shards' iterators and its checkpoint.
struct Poller<'a> {
    ctx: &'a Ctx,
    table: &'a str,
    source: &'a StreamSource,
    outbox: &'a Outbox,
    function: &'a str,
    arn: String,
    checkpoint_file: PathBuf,
    /// Per shard: the last record handed on (from the checkpoint of an earlier run, then this
    /// one's), to start or resume after it with a fresh iterator.
    last: BTreeMap<String, String>,
    /// A shard the checkpoint does not name (DynamoDB Local may list new ids after a restart) is
    /// read from its oldest record, skipping what is not newer than the checkpoint's newest.
    high_water: Option<u128>,
    known: std::collections::HashSet<String>,
    /// Per shard: the iterator to read next (`None` once the shard is closed and drained).
    iterators: HashMap<String, Option<String>>,
    order: Vec<String>,
    quiet: std::collections::HashSet<String>,
}

impl Poller<'_> {
    /// Where to read shard `id` from: after its last record handed on, or its oldest.
    fn at(&self, id: &str) -> Value {
        match self.last.get(id) {
            Some(seq) => {
                json!({"StreamArn": self.arn, "ShardId": id, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq})
            }
            None => {
                json!({"StreamArn": self.arn, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON"})
            }
        }
    }

    async fn iterator(&self, id: &str) -> Res<Value> {
        dynamodb(
            self.ctx,
            "DynamoDBStreams_20120810.GetShardIterator",
            self.at(id),
        )
        .await
    }

    /// Whether a shard is still being read (one not yet closed and drained).
    fn has_open_shard(&self) -> bool {
        self.iterators.values().any(Option::is_some)
    }

    /// Picks up shards the stream lists that are not read yet.
    async fn discover_shards(&mut self) {
        let Ok(d) = dynamodb(
            self.ctx,
            "DynamoDBStreams_20120810.DescribeStream",
            json!({"StreamArn": self.arn}),
        )
        .await
        else {
            return;
        };
        for shard in d["StreamDescription"]["Shards"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let id = shard["ShardId"].as_str().unwrap_or_default().to_string();
            if self.iterators.contains_key(&id) {
                continue;
            }
            let it = match self.iterator(&id).await {
                Ok(it) => it,
                // A checkpoint older than the stream keeps (24 h): from the oldest record.
                Err(_) if self.last.remove(&id).is_some() => continue,
                Err(e) => {
                    eprintln!("streams: {}: {e}", self.table);
                    continue;
                }
            };
            self.iterators
                .insert(id.clone(), it["ShardIterator"].as_str().map(str::to_string));
            self.order.push(id);
        }
    }

    /// Reads one page of shard `id` and delivers what the filter selects; `true` when it had
    /// nothing to deliver.
    async fn read_shard(&mut self, id: &str) -> bool {
        let Some(Some(it)) = self.iterators.get(id).cloned() else {
            return true;
        };
        let page = match dynamodb(
            self.ctx,
            "DynamoDBStreams_20120810.GetRecords",
            json!({"ShardIterator": it, "Limit": 1000}),
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                self.recover(id, &e).await;
                return true;
            }
        };
        let newest = page["Records"]
            .as_array()
            .and_then(|r| r.last())
            .map(|r| seq(r).to_string());
        let handed_on = |r: &Value| {
            let n = seq(r).parse::<u128>().ok();
            !self.known.contains(id) && n.is_some() && n <= self.high_water
        };
        let mut records: Vec<Value> = page["Records"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| self.source.selects(r) && !handed_on(r))
            .map(|mut r| {
                r["eventSourceARN"] = json!(self.arn);
                r
            })
            .collect();
        let idle = records.is_empty();
        while !records.is_empty() {
            let n = records.len().min(self.outbox.batch_size as usize);
            let (ctx, function, arn) = (self.ctx, self.function, &self.arn);
            let done =
                deliver_batch(ctx, function, arn, id, &records[..n], self.outbox.retries).await;
            records.drain(..done);
        }
        // Checkpointed once the page's records are done, so a stop loses none of them.
        if let Some(seq) = newest {
            self.last.insert(id.to_string(), seq);
            write_checkpoint(&self.checkpoint_file, &self.last);
        }
        self.iterators.insert(
            id.to_string(),
            page["NextShardIterator"].as_str().map(str::to_string),
        );
        idle
    }

    /// After a failed read: DynamoDB Local down (try the same iterator again), or an iterator it
    /// no longer honours (taken while the shard was empty, expired, or from before a restart):
    /// resume after the last record handed on.
    async fn recover(&mut self, id: &str, e: &str) {
        if !e.contains("error sending request")
            && let Ok(it) = self.iterator(id).await
        {
            self.iterators.insert(
                id.to_string(),
                it["ShardIterator"].as_str().map(str::to_string),
            );
        }
        // DynamoDB Local answers this for an iterator taken on an empty shard, over and over
        // until records come: said once per shard.
        if !e.contains("TrimmedDataAccess") || self.quiet.insert(id.to_string()) {
            eprintln!("streams: {}: {e}", self.table);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn read_checkpoint(path: &std::path::Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// Written to a temporary file and renamed over the checkpoint: a stop mid-write leaves the
/// previous one whole.
fn write_checkpoint(path: &std::path::Path, last: &BTreeMap<String, String>) {
    let tmp = path.with_extension("json.tmp");
    let written = serde_json::to_vec(last)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        eprintln!("streams: checkpoint {}: {e}", path.display());
    }
}

fn seq(r: &Value) -> &str {
    r["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default()
}

/// Delivers one batch; how many of its leading records are done (published or dead-lettered).
async fn deliver_batch(
    ctx: &Ctx,
    function: &str,
    arn: &str,
    shard: &str,
    batch: &[Value],
    retries: u64,
) -> usize {
    let mut attempt: u32 = 0;
    loop {
        let failed_at = match invoke(ctx, function, &json!({"Records": batch})).await {
            Ok(answer) => {
                let failed = answer["batchItemFailures"].as_array().and_then(|f| {
                    f.iter()
                        .filter_map(|x| x["itemIdentifier"].as_str())
                        .map(|s| batch.iter().position(|r| seq(r) == s).unwrap_or(0))
                        .min()
                });
                match failed {
                    None => return batch.len(),
                    // Checkpoint up to the failure; the rest is the next batch.
                    Some(i) if i > 0 => return i,
                    Some(_) => 0,
                }
            }
            Err(e) => {
                eprintln!("streams: {e}");
                0
            }
        };
        attempt += 1;
        if u64::from(attempt) > retries {
            // What the on-failure destination of a stream mapping receives: where the record is.
            dead_letter(
                ctx,
                OUTBOX_DLQ,
                json!({
                    "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": function, "approximateInvokeCount": attempt},
                    "DDBStreamBatchInfo": {
                        "shardId": shard, "streamArn": arn, "batchSize": 1,
                        "startSequenceNumber": seq(&batch[failed_at]), "endSequenceNumber": seq(&batch[failed_at])
                    },
                    "record": batch[failed_at],
                }),
            );
            return failed_at + 1;
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
}

/// An archive name (at most 48 characters) for rule `i` on `bus`.
fn archive_name(bus: &str, i: usize) -> String {
    format!("{}{i}", archive_prefix(bus))
}

/// What the names of `bus`'s archives start with.
fn archive_prefix(bus: &str) -> String {
    let tail: String = bus
        .chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{tail}-r")
}

/// One call of the EventBridge API (moto's).
fn events_api(
    ctx: &Ctx,
    events: &str,
    target: &str,
    body: Value,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> {
    ctx.http
        .post(events)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSEvents.{target}"))
        // moto tells services apart by the signature's credential scope.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=local/20261201/us-east-1/events/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
}

/// How many events each rule's archive holds (0 for one not made yet); `None` when moto does not
/// answer. Cheap, unlike moto's data dump, which serialises every email and event it keeps.
async fn archive_counts(ctx: &Ctx, events: &str, bus: &str, rules: usize) -> Option<Vec<usize>> {
    let prefix = archive_prefix(bus);
    let r = events_api(ctx, events, "ListArchives", json!({"NamePrefix": prefix}))
        .await
        .ok()?;
    let listed: Value = r.json().await.ok()?;
    let counts = (0..rules)
        .map(|i| {
            let name = archive_name(bus, i);
            listed["Archives"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["ArchiveName"] == name.as_str())
                .and_then(|a| a["EventCount"].as_u64())
                .map_or(0, |n| n as usize)
        })
        .collect();
    Some(counts)
}

/// Makes sure each rule has its archive on the bus (a bus created later is picked up).
async fn ensure_archives(
    ctx: &Ctx,
    events: &str,
    bus: &str,
    rules: &[(String, Value, String)],
    made: &mut [bool],
) {
    for (i, (_, pattern, _)) in rules.iter().enumerate() {
        if made[i] {
            continue;
        }
        let Ok(r) = events_api(ctx, events, "DescribeEventBus", json!({"Name": bus})).await else {
            return;
        };
        let Ok(desc) = r.json::<Value>().await else {
            return;
        };
        let Some(arn) = desc["Arn"].as_str() else {
            return; // no bus yet
        };
        let body = json!({
            "ArchiveName": archive_name(bus, i),
            "EventSourceArn": arn,
            "EventPattern": pattern.to_string(),
        });
        if let Ok(r) = events_api(ctx, events, "CreateArchive", body).await {
            let ok = r.status().is_success();
            let text = r.text().await.unwrap_or_default();
            made[i] = ok || text.contains("already exists");
        }
    }
}

/// Lambda's asynchronous invocation of a rule's target: a few at a time, retried, then the events
/// dead-letter file.
fn async_invocations(ctx: &'static Ctx, concurrency: usize) -> AsyncQueue {
    let invoke: Invoke = Arc::new(move |target, event| {
        Box::pin(async move { invoke(ctx, &target, &event).await.map(|_| ()) })
    });
    AsyncQueue::start(
        concurrency,
        async_queue::retry_delays(),
        invoke,
        Arc::new(move |job: Job, last: String| {
            // What Lambda's on-failure destination receives for an asynchronous invocation.
            dead_letter(
                ctx,
                EVENTS_DLQ,
                json!({
                    "requestContext": {"condition": "RetriesExhausted", "functionArn": job.target, "approximateInvokeCount": job.attempt + 1},
                    "responsePayload": last,
                    "requestPayload": job.event,
                }),
            )
        }),
    )
}

/// The file scripts/s3rver/run.cjs appends the bucket's object-created records to.
const S3_EVENTS: &str = "s3-events.jsonl";

/// Delivers the images bucket's uploads as S3 and EventBridge do on AWS: each object-created
/// record s3rver logged becomes EventBridge's `Object Created` event, and goes to every upload
/// function whose rule (bucket, key prefix) matches it, as an asynchronous invocation. The offset
/// read so far is checkpointed, so a restart does not resize every upload again.
async fn deliver_uploads(ctx: &'static Ctx, bucket: &str, uploads: &[(String, String)]) -> Res<()> {
    let queue = async_invocations(ctx, async_queue::concurrency());
    let log = local_dir().join(S3_EVENTS);
    let checkpoint = ctx.checkpoints.join("s3-events.json");
    let mut done = read_checkpoint(&checkpoint);
    let mut offset: usize = done
        .get(S3_EVENTS)
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    loop {
        if let Ok(bytes) = std::fs::read(&log) {
            if bytes.len() < offset {
                offset = 0; // a new log (the data folder was reset)
            }
            let rest = &bytes[offset..];
            // Whole lines only: s3rver may be mid-append.
            let complete = rest.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            for line in rest[..complete].split(|b| *b == b'\n') {
                let Ok(record) = serde_json::from_slice::<Value>(line) else {
                    continue;
                };
                let event = shop_tests::s3::object_created(
                    record["s3"]["bucket"]["name"].as_str().unwrap_or_default(),
                    record["s3"]["object"]["key"].as_str().unwrap_or_default(),
                    record["s3"]["object"]["size"].as_u64().unwrap_or_default(),
                    record["eventTime"].as_str().unwrap_or_default(),
                );
                for (prefix, target) in uploads {
                    if generate::upload_selects(&event, bucket, prefix) {
                        queue.push("uploads", target, event.clone());
                    }
                }
            }
            if complete > 0 {
                offset += complete;
                done.insert(S3_EVENTS.into(), offset.to_string());
                write_checkpoint(&checkpoint, &done);
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Delivers the events that reach each rule's archive to the rule's target, for ever, through
/// its target's asynchronous-invocation queue: as Lambda's, one per function, at most its reserved
/// concurrency (`reserved`) of them in it at once.
async fn deliver_rules(
    ctx: &'static Ctx,
    events: &str,
    bus: &str,
    rules: &[(String, Value, String)],
    reserved: &HashMap<String, usize>,
) -> Res<()> {
    let mut queues: HashMap<&str, AsyncQueue> = HashMap::new();
    for (_, _, target) in rules {
        let limit = reserved.get(target).copied().unwrap_or(usize::MAX);
        queues
            .entry(target.as_str())
            .or_insert_with(|| async_invocations(ctx, async_queue::concurrency().min(limit)));
    }
    let mut made = vec![false; rules.len()];
    let mut seen: Vec<usize> = vec![0; rules.len()];
    loop {
        ensure_archives(ctx, events, bus, rules, &mut made).await;
        // The archives' events are read (moto's whole data dump) only when one has new ones.
        let counts = archive_counts(ctx, events, bus, rules.len()).await;
        if !counts.is_some_and(|c| c.iter().zip(&seen).any(|(n, s)| n > s)) {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let data: Option<Value> = match ctx
            .http
            .get(format!(
                "{}/moto-api/data.json",
                events.trim_end_matches('/')
            ))
            .send()
            .await
        {
            Ok(r) => r.json().await.ok(),
            Err(_) => None,
        };
        let archives = data
            .as_ref()
            .and_then(|d| d["events"]["Archive"].as_array().cloned())
            .unwrap_or_default();
        for (i, (rule, _, target)) in rules.iter().enumerate() {
            let name = archive_name(bus, i);
            let Some(a) = archives.iter().find(|a| a["name"] == name.as_str()) else {
                continue;
            };
            let list = a["events"].as_array().cloned().unwrap_or_default();
            for event in list.into_iter().skip(seen[i]) {
                seen[i] += 1;
                queues[target.as_str()].push(rule, target, envelope(event));
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The envelope EventBridge sends: moto keeps its own bookkeeping beside it.
fn envelope(mut event: Value) -> Value {
    if let Some(o) = event.as_object_mut() {
        o.remove("ingestion-time");
        if let Some(t) = o.get("time").and_then(Value::as_f64) {
            let at = std::time::UNIX_EPOCH + Duration::from_secs_f64(t.max(0.0));
            o.insert(
                "time".into(),
                json!(humantime::format_rfc3339_seconds(at).to_string()),
            );
        }
    }
    event
}

const EVENTS_DLQ: &str = "events.jsonl";
const OUTBOX_DLQ: &str = "outbox.jsonl";

/// `replay-dead-letters API_URL`: every entry of the dead-letter files invoked once more on its
/// function (an event as it was sent; a stream record as a batch of one). What succeeds leaves the
/// file; what fails again stays, for the next replay.
pub async fn replay(api_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ctx = Ctx {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?,
        api: api_url.trim_end_matches('/').to_string(),
        dynamodb: String::new(),
        dlq: dead_letter_dir(),
        checkpoints: PathBuf::new(),
    };
    replay_from(&ctx).await
}

async fn replay_from(ctx: &Ctx) -> Result<(), Box<dyn std::error::Error>> {
    for file in [EVENTS_DLQ, OUTBOX_DLQ] {
        let path = ctx.dlq.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let (mut kept, mut sent) = (Vec::new(), 0);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let entry: Value = serde_json::from_str(line)?;
            let function = entry["requestContext"]["functionArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let payload = match file {
                EVENTS_DLQ => entry["requestPayload"].clone(),
                _ => json!({"Records": [entry["record"]]}),
            };
            match invoke(ctx, &function, &payload).await {
                Ok(_) => sent += 1,
                Err(e) => {
                    eprintln!("{file}: still failing: {e}");
                    kept.push(line.to_string());
                }
            }
        }
        let rest: String = kept.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&path, rest)?;
        println!("{}: {sent} replayed, {} kept", path.display(), kept.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};
    use hyper::{Request, Response, body::Bytes, server::conn::http1, service::service_fn};
    use hyper_util::rt::TokioIo;
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<(String, Value)>>>;

    /// `cargo lambda watch`'s invoke endpoint: records each invocation; `broken` answers an error.
    async fn invoke_endpoint() -> (String, Seen) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move {
                            let path = req.uri().path().to_string();
                            let body = req.into_body().collect().await?.to_bytes();
                            let payload: Value = serde_json::from_slice(&body).unwrap();
                            log.lock().unwrap().push((path.clone(), payload));
                            let answer = if path.contains("/functions/broken/") {
                                json!({"errorType": "Unavailable", "errorMessage": "still down"})
                            } else {
                                json!(null)
                            };
                            Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(
                                answer.to_string(),
                            ))))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(conn), service)
                        .await;
                });
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn replay_invokes_each_dead_letter_once_and_keeps_only_what_fails_again() {
        let (api, seen) = invoke_endpoint().await;
        let dlq = std::env::temp_dir().join(format!("replay-{}", std::process::id()));
        std::fs::create_dir_all(&dlq).unwrap();
        let event = |function: &str, n: u32| json!({"requestContext": {"functionArn": function}, "requestPayload": {"id": n}});
        let lines = [event("send-email", 1), event("broken", 2)];
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(dlq.join(EVENTS_DLQ), text).unwrap();
        let record = json!({"eventID": "r1", "dynamodb": {}});
        std::fs::write(
            dlq.join(OUTBOX_DLQ),
            json!({"requestContext": {"functionArn": "publish-events"}, "record": record})
                .to_string(),
        )
        .unwrap();
        let ctx = Ctx {
            http: reqwest::Client::new(),
            api,
            dynamodb: String::new(),
            dlq: dlq.clone(),
            checkpoints: PathBuf::new(),
        };

        replay_from(&ctx).await.unwrap();

        let calls = seen.lock().unwrap().clone();
        let path = |f: &str| format!("/2015-03-31/functions/{f}/invocations");
        assert_eq!(
            calls,
            vec![
                (path("send-email"), json!({"id": 1})),
                (path("broken"), json!({"id": 2})),
                (path("publish-events"), json!({"Records": [record]})),
            ]
        );
        let kept = std::fs::read_to_string(dlq.join(EVENTS_DLQ)).unwrap();
        assert_eq!(
            kept,
            format!("{}\n", lines[1]),
            "only the failing one stays"
        );
        assert_eq!(std::fs::read_to_string(dlq.join(OUTBOX_DLQ)).unwrap(), "");
        std::fs::remove_dir_all(&dlq).ok();
    }
}
